// Study (not a test): a search study's patches judged again on many more fresh prompts than the
// study drew. A study's fresh group (search-study.ts --fresh, 200 prompts) sees an effect of a few
// percent only through its noise; this script takes the patches a study saved (search-study.ts
// --json FILE) and evaluates each one in greedy generation on N new fresh prompts of the skill
// (outside every split and probe file, their own seed, none of the study's fresh prompts or its
// fresh:N sample), next to K random patches of the same size over the study's space (every layer,
// gate/up/down rows). The counts come from evaluatePatch in @bankai/search.
// Usage: npx tsx bench/fresh-recheck.ts --study FILE.json [--model tiny|small] [--fresh 2000]
//          [--fresh-seed 31337] [--null 10] [--null-seed 1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { shippedModel } from '@bankai/probes';
import { evaluatePatch, spread, type StudyResult } from '@bankai/search';
import { freshProbes, type SkillName } from '@bankai/tiny-model';
import { freshSample, STUDY_FRESH, studyConfig } from './study-configs.js';
import { helpAndExit } from './usage.js';

helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    study: { type: 'string' },
    model: { type: 'string', default: 'tiny' },
    fresh: { type: 'string', default: '2000' },
    'fresh-seed': { type: 'string', default: '31337' },
    null: { type: 'string', default: '10' },
    'null-seed': { type: 'string', default: '1' },
  },
});
if (!args.study) throw new Error('--study FILE.json: the --json output of bench/search-study.ts');
const study = JSON.parse(readFileSync(args.study, 'utf8')) as StudyResult;
const shipped = shippedModel(args.model);
const src = await fileSource(shipped.modelPath);
const model = await Model.load(src);
await src.close();
const preset = shipped.corpusPreset;
const n = Number(args.fresh);
// the studies' search space (every layer, gate/up/down rows): the null's
const space = studyConfig('default', 1, model.config.nLayer);
for (const cell of study.cells) {
  const skill = cell.skill as SkillName;
  // none of the study's own fresh prompts, nor of a fresh:N sample it may have searched on (up to 1,000)
  const studyFresh = freshProbes(skill, STUDY_FRESH.count, STUDY_FRESH.seed, undefined, { preset });
  const used = new Set([...studyFresh, ...freshSample(skill, 1000, preset, studyFresh)].map((p) => p.prompt));
  const probes = freshProbes(skill, n + used.size, Number(args['fresh-seed']), undefined, { preset }).filter((p) => !used.has(p.prompt)).slice(0, n);
  console.log(`\n## ${skill} / ${cell.arm}: ${probes.length} fresh prompts (seed ${args['fresh-seed']}), nulls of ${args.null} random patches of each run's size\n`);
  console.log('| seed | flips | fixed / broken | net | null median / max | p | failing fixed |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const nets: number[] = [];
  let above = 0;
  for (const run of cell.runs) {
    const e = evaluatePatch(model, run.flips, probes, {
      null: { patches: Number(args.null), seed: Number(args['null-seed']), layers: space.layers, projs: space.projs, granularity: space.granularity },
    });
    const t = e.total;
    const nu = e.null!;
    nets.push(t.net);
    if (t.net > nu.maxNet) above++;
    console.log(`| ${run.seed} | ${run.flips.length} | ${t.fixed} / ${t.broken} | ${t.net >= 0 ? '+' : ''}${t.net} | ${nu.medianNet} / ${nu.maxNet} | ${nu.p.toFixed(2)} | ${t.fixed} of ${t.n - t.correctBefore} |`);
  }
  const s = spread(nets);
  console.log(`\nnet ${s.mean >= 0 ? '+' : ''}${s.mean.toFixed(1)} (${s.min}..${s.max}), ${above} of ${cell.runs.length} runs above their null's max`);
}
