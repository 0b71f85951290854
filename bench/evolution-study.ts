// Study (not a test): the evolutionary strategy against greedy and random on the same budget of
// exact evaluations, on the shipped tiny model, each patch against a random-patch null of its
// size. One search configuration for all three: `bankai search`'s (--config default: competitor
// metric, the accuracy objective at temperature 1, lambda 1, --min-gain 0.25, --max-broken 0,
// validation 0.33, the skill's TRAIN set as its natural sample, whose greedy accuracy is the pass
// rate) or the previous one (--config gap: margins 2, lambda 2, --max-broken 1, min-gain 0.02, no
// sample); greedy and random run --iters steps of --batch
// candidates, evolution as many steps as that budget buys (population - 1 + generations x children
// evaluations a step). The numbers come from runStudy in @bankai/search.
// Usage: npx tsx bench/evolution-study.ts [--skills addition,capital] [--seeds 1,2,3,4,5] [--iters 60]
//          [--batch 8] [--null 10] [--workers 2] [--config default|gap] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { tinyProbeSpec, TINY_PROBE_SKILLS, type Probe } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { formatStudy, runStudy, samplePassRate, spread, type StudyArm, type StudySkill } from '@bankai/search';
import evolution from '@bankai/strategy-evolution';
import greedy from '@bankai/strategy-greedy';
import random from '@bankai/strategy-random';
import { modelPath, type SkillName } from '@bankai/tiny-model';
import { studyConfig, studyConfigName } from './study-configs.js';
import { helpAndExit } from './usage.js';

helpAndExit(import.meta.url);

const { values: args } = parseArgs({
  options: {
    skills: { type: 'string', default: 'addition,capital' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    iters: { type: 'string', default: '60' },
    batch: { type: 'string', default: '8' },
    null: { type: 'string', default: '10' },
    workers: { type: 'string', default: '2' },
    config: { type: 'string', default: 'default' },
    json: { type: 'string' },
  },
});

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const probes = async (skill: SkillName, set: 'SEARCH' | 'CONTROL' | 'HELDOUT' | 'TRAIN'): Promise<Probe[]> => (await readProbeFile(tinyProbeSpec(skill, set))).probes;
const iters = Number(args.iters);
const batch = Number(args.batch);
// evolution's defaults: population 8, 3 generations of 8 children: 7 + 24 evaluations a step
const evoPerStep = 8 - 1 + 3 * 8;
// as many steps as greedy's and random's budget buys (at least one)
const evoSteps = Math.max(1, Math.round((iters * batch) / evoPerStep));
const configName = studyConfigName(args.config);
const withSample = configName === 'default';
const base = studyConfig(configName, iters);
// each skill's pass rate: its sample's greedy accuracy (as `bankai search --sample` sets it)
const passRates = new Map<string, number>();
const config = (skill: StudySkill) => ({ ...base, ...(passRates.has(skill.name) ? { passRate: passRates.get(skill.name)! } : {}) });
const arms: StudyArm[] = [
  { name: `greedy (${iters} x ${batch})`, strategy: greedy, guard: withSample, config: (k) => ({ ...config(k), strategy: 'greedy', strategyOptions: { batch } }) },
  { name: `random (${iters} x ${batch})`, strategy: random, guard: withSample, config: (k) => ({ ...config(k), strategy: 'random', strategyOptions: { batch } }) },
  {
    name: `evolution (${evoSteps} x ${evoPerStep})`, strategy: evolution, guard: withSample,
    config: (k) => ({ ...config(k), iterations: evoSteps, strategy: 'evolution', strategyOptions: {} }),
  },
];

const src = await fileSource(modelPath);
const model = await Model.load(src);
await src.close();
const skills: StudySkill[] = [];
for (const name of list(args.skills) as SkillName[]) {
  if (!(TINY_PROBE_SKILLS as readonly string[]).includes(name)) throw new Error(`--skills: unknown skill ${name}`);
  const others = TINY_PROBE_SKILLS.filter((s) => s !== name);
  const guard = withSample ? await probes(name, 'TRAIN') : [];
  if (withSample) {
    const r = samplePassRate(model, guard);
    passRates.set(name, r.passRate);
    process.stderr.write(`${name}: sample ${r.right} of ${r.n} right, pass rate ${r.passRate.toFixed(3)}\n`);
  }
  skills.push({
    name,
    target: await probes(name, 'SEARCH'),
    guard,
    control: [...(await probes(name, 'CONTROL')), ...(await Promise.all(others.map((o) => probes(o, 'SEARCH')))).flat()],
    heldout: await probes(name, 'HELDOUT'),
    fresh: [],
    other: (await Promise.all(others.map((o) => probes(o, 'HELDOUT')))).flat(),
  });
}
const result = await runStudy(model, skills, arms, {
  seeds: list(args.seeds).map(Number), nullPatches: Number(args.null), workers: Number(args.workers),
  onProgress: (m) => process.stderr.write(`${m}\n`),
});
console.log(formatStudy(result));
console.log('\n| skill | arm | fitness reached (mean, range) | evaluations (mean) |\n| --- | --- | --- | --- |');
for (const c of result.cells) {
  const f = spread(c.runs.map((r) => r.fitness));
  console.log(`| ${c.skill} | ${c.arm} | ${f.mean.toFixed(3)} (${f.min.toFixed(3)}..${f.max.toFixed(3)}) | ${c.evaluations.mean.toFixed(0)} |`);
}
console.log(`\n${result.seconds.toFixed(0)} s in all`);
if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 1));
