// Study (not a test): naive XOR stacking against one joint patch on the shipped tiny model, with
// two and three domains over several seeds, each arm against a random-patch null of its size.
// Per domain set: each domain is searched alone on SKILL_SEARCH with `bankai search`'s defaults
// (guided, competitor metric, margins 2, lambda 2, --max-broken 1, validation 0.33, 40 steps), the
// other skills' SEARCH sets as controls; the domain patches are XOR-stacked; the joint strategy
// repairs the stack on every domain's targets at once. Held-out: each domain's SKILL_HELDOUT set
// (every held-out example no search saw) and the other skills' HELDOUT sets. The numbers come
// from runStackStudy in @bankai/search; this script only builds the inputs and prints.
// Usage: npx tsx bench/stack-study.ts [--sets "addition,capital;addition,capital,multiplication"]
//          [--seeds 1,2,3,4,5] [--null 10] [--iters 40] [--workers 2] [--joint-opt k=v,...] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { tinyProbeSpec, TINY_PROBE_SKILLS, type Probe } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { formatStackStudy, runStackStudy, type StackStudyInput, type StackStudyResult } from '@bankai/search';
import guided from '@bankai/strategy-guided';
import joint from '@bankai/strategy-joint';
import { modelPath, type SkillName } from '@bankai/tiny-model';

const { values: args } = parseArgs({
  options: {
    sets: { type: 'string', default: 'addition,capital;addition,capital,multiplication' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    null: { type: 'string', default: '10' },
    iters: { type: 'string', default: '40' },
    workers: { type: 'string', default: '2' },
    'joint-opt': { type: 'string', default: '' },
    json: { type: 'string' },
  },
});

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const probes = async (skill: SkillName, set: 'SEARCH' | 'HELDOUT'): Promise<Probe[]> => (await readProbeFile(tinyProbeSpec(skill, set))).probes;
const jointOptions = Object.fromEntries(list(args['joint-opt']).map((kv) => kv.split('=') as [string, string]));

// `bankai search`'s defaults (the demo's), with --margin 2 as in the issue's measurement
const config: StackStudyInput['config'] = {
  iterations: Number(args.iters), layers: [0, 1, 2, 3], projs: ['gate', 'up', 'down'], granularity: 'row', metric: 'competitor',
  lambda: 2, aggregate: 'mean', minGain: 0.02, targetMargin: 2, controlMargin: 2, maxBrokenControls: 1, validation: 0.33,
  ownAnswerDistractors: false,
};

const src = await fileSource(modelPath);
const model = await Model.load(src);
await src.close();
const results: StackStudyResult[] = [];
for (const set of args.sets.split(';')) {
  const names = list(set) as SkillName[];
  for (const n of names) if (!(TINY_PROBE_SKILLS as readonly string[]).includes(n)) throw new Error(`--sets: unknown skill ${n}`);
  const others = TINY_PROBE_SKILLS.filter((s) => !names.includes(s));
  const r = await runStackStudy({
    model,
    domains: await Promise.all(names.map(async (name) => ({ name, target: await probes(name, 'SEARCH'), heldout: await probes(name, 'HELDOUT') }))),
    control: (await Promise.all(others.map((o) => probes(o, 'SEARCH')))).flat(),
    other: (await Promise.all(others.map((o) => probes(o, 'HELDOUT')))).flat(),
    single: { strategy: guided },
    joint: { strategy: joint, options: jointOptions },
    config,
  }, {
    seeds: list(args.seeds).map(Number), workers: Number(args.workers), nullPatches: Number(args.null),
    onProgress: (m) => process.stderr.write(`[${names.join('+')}] ${m}\n`),
  });
  results.push(r);
  console.log(`\n## ${names.join(' + ')} (controls: ${others.join(', ')} SEARCH sets)\n`);
  console.log(formatStackStudy(r));
  // the issue's goal: joint >= naive on every domain in the mean, better on at least one
  const cell = (d: string, arm: string) => r.cells.find((c) => c.domain === d && c.arm === arm)!;
  console.log(`\njoint - stack held-out net (mean over seeds): ${names.map((d) => `${d} ${(cell(d, 'joint').net.mean - cell(d, 'stack').net.mean).toFixed(1)}`).join(', ')}`);
  console.log(`${r.seconds.toFixed(0)} s`);
}
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 1));
