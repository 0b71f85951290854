// Benchmark (not a test): how well first-order predictions rank flips on the shipped tiny model,
// against exact evaluations in the same run (measureFirstOrder in @bankai/search): Spearman of
// predicted vs exact gap changes, how many of the best-predicted are among the exactly best, the
// exact gain of the best-predicted against random candidates, and what a ranking of the whole
// space costs in exact evaluations.
// Usage: npx tsx bench/first-order.ts [--skill addition] [--workers 2] [--top 16] [--random 48]
import { parseArgs } from 'node:util';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { prepareProbes, tinyProbeSpec, TINY_PROBE_SKILLS, type Metric } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { CandidateSpace, Evaluator, measureFirstOrder, type Granularity, type Projection } from '@bankai/search';
import { modelPath, type SkillName } from '@bankai/tiny-model';
import { helpAndExit } from './usage.js';

helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    skill: { type: 'string', default: 'addition' },
    workers: { type: 'string', default: '2' },
    top: { type: 'string', default: '16' },
    random: { type: 'string', default: '48' },
  },
});
const skill = args.skill as SkillName;
const src = await fileSource(modelPath);
const model = await Model.load(src);
await src.close();
const target = prepareProbes(model.tokenizer, (await readProbeFile(tinyProbeSpec(skill, 'SEARCH'))).probes);
const others = TINY_PROBE_SKILLS.filter((s) => s !== skill);
const control = prepareProbes(model.tokenizer, (await Promise.all(others.map(async (o) => (await readProbeFile(tinyProbeSpec(o, 'SEARCH'))).probes.slice(0, 12)))).flat());
const cases: [Granularity, Metric, Projection[]][] = [
  ['row', 'competitor', ['gate', 'up', 'down']],
  ['row', 'seq_logprob', ['gate', 'up', 'down']],
  ['row', 'competitor', ['q', 'k', 'v', 'o']],
  ['group', 'competitor', ['down']],
];
console.log(`first-order rankings on the tiny model: ${target.length} ${skill} targets, ${control.length} controls, layers 0-3, ${args.workers} workers\n`);
console.log('| space | metric | candidates | Spearman per probe | Spearman target mean | top-16 overlap | exact gain top / random | ranking s | exact eval s | ranking = evals |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [granularity, metric, projs] of cases) {
  const space = new CandidateSpace(model, { layers: [0, 1, 2, 3], projs, granularity });
  const ev = await Evaluator.create(model, target, control, { workers: Number(args.workers), metric, firstLayer: 0 });
  try {
    const a = await measureFirstOrder(model, space, [...target, ...control], target.length, metric, ev, { top: Number(args.top), random: Number(args.random) });
    console.log(`| ${projs.join(',')} ${granularity}s | ${metric} | ${a.size} | ${a.perProbe.toFixed(2)} | ${a.targetMean.toFixed(2)} | ${a.topOverlap}/${a.top} | ${a.topGain.toFixed(3)} / ${a.randomGain.toFixed(3)} | ${a.firstOrderSeconds.toFixed(2)} | ${a.evaluationSeconds.toFixed(3)} | ${(a.firstOrderSeconds / a.evaluationSeconds).toFixed(1)} |`);
  } finally {
    await ev.destroy();
  }
}
