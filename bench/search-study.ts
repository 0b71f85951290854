// Study (not a test): held-out fixes of the paper's greedy search, the guided search with the gap
// objective (the previous default) and with the accuracy objective (the default) on a shipped model
// (--model tiny, the default, or small), each against a random-patch null of the same size, over
// several seeds.
// Per skill: search on SKILL_SEARCH with the demo's controls (SKILL_CONTROL + every other skill's
// SEARCH set); evaluate in greedy generation on SKILL_HELDOUT (every held-out example the search
// never saw), on fresh prompts generated here (outside every split and probe file, where the skill
// has any), and on every other skill's HELDOUT set. The numbers come from runStudy in
// @bankai/search; this script only builds the inputs and prints.
// --targets search+train adds the skill's TRAIN set (train-split examples, up to 200) to the
// search's targets: more data for the same search, nothing held out is touched.
// --controls demo (the skill's CONTROL set and every other skill's SEARCH set, as `bankai demo`) or
// control (the CONTROL set only: 6 per other skill, cheaper on a larger model); --heldout-max and
// --other-max cap the evaluation groups (the first N of a skill's HELDOUT set, the first N of each
// other skill's) to size a study on a larger model.
// --arms accuracy is the guided search with the accuracy objective (`bankai search`'s default): it
// searches on the skill's --guard too (a natural sample: train = the skill's TRAIN set, as `bankai
// demo` passes --sample; heldout:F = a seeded fraction F of HELDOUT, which the held-out group then
// leaves out; fresh:N = N fresh prompts of their own seed, none of the evaluation's), whose greedy
// accuracy (rule of succession) is its pass rate (--pass-rate guard|none|P).
// --arms evolution is the evolutionary strategy on the accuracy arm's objective, sample and guards
// (`bankai search --strategy evolution`), --evo-iters steps (default 15: 15 x 31 evaluations, about
// what greedy's 60 steps of 8 cost), --evo-opt its options.
// Usage: npx tsx bench/search-study.ts [--model tiny|small] [--skills addition,primality,derivative,multiplication]
//          [--targets search|search+train] [--seeds 1,2,3,4,5] [--null 10] [--fresh 200] [--workers 2]
//          [--arms greedy,guided,accuracy,evolution] [--controls demo|control] [--heldout-max N] [--other-max N]
//          [--layers all|4-7] [--iters N (guided; greedy gets 1.5x)] [--json out.json]
//          [--guard none|train|heldout:F|fresh:N] [--guard-role target|control] [--pass-rate guard|none|P]
//          [--temperature 1] [--lambda 1] [--min-gain 0.25] [--validation-net 0] [--opt k=v,...]   (the accuracy arm;
//          --opt: guided strategy options, e.g. depth=8) [--evo-iters 15] [--evo-opt k=v,...]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { shippedModel, shippedProbeSpec, type Probe, type ShippedModelName } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { DEFAULT_MIN_GAIN, formatStudy, parseLayers, runStudy, samplePassRate, type SearchConfig, type StudyArm, type StudySkill } from '@bankai/search';
import greedy from '@bankai/strategy-greedy';
import evolution from '@bankai/strategy-evolution';
import guided from '@bankai/strategy-guided';
import { FreshPromptsError, freshProbes, type SkillName } from '@bankai/tiny-model';
import { freshSample, parseStudyOptions, splitHeldout, STUDY_FRESH } from './study-configs.js';
import { helpAndExit } from './usage.js';

helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    skills: { type: 'string', default: 'addition,primality,derivative,multiplication' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    null: { type: 'string', default: '10' },
    fresh: { type: 'string', default: String(STUDY_FRESH.count) },
    'fresh-seed': { type: 'string', default: String(STUDY_FRESH.seed) },
    workers: { type: 'string', default: '2' },
    arms: { type: 'string', default: 'greedy,guided,accuracy' },
    targets: { type: 'string', default: 'search' },
    model: { type: 'string', default: 'tiny' },
    controls: { type: 'string', default: 'demo' },
    'heldout-max': { type: 'string' },
    'other-max': { type: 'string' },
    layers: { type: 'string', default: 'all' },
    iters: { type: 'string', default: '40' },
    guard: { type: 'string', default: 'none' },
    'guard-role': { type: 'string', default: 'target' },
    lambda: { type: 'string' },
    'validation-net': { type: 'string', default: '0' },
    opt: { type: 'string', default: '' },
    'evo-iters': { type: 'string', default: '15' },
    'evo-opt': { type: 'string', default: '' },
    'pass-rate': { type: 'string', default: 'guard' },
    'min-gain': { type: 'string' },
    temperature: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const armOpts = parseStudyOptions('--opt', args.opt);
const evoOpts = parseStudyOptions('--evo-opt', args['evo-opt']);
const shipped = shippedModel(args.model);
const probes = async (skill: SkillName, set: 'SEARCH' | 'CONTROL' | 'HELDOUT' | 'TRAIN'): Promise<Probe[]> =>
  (await readProbeFile(shippedProbeSpec(shipped.name as ShippedModelName, skill, set))).probes;
const cap = (flag: string | undefined) => (flag === undefined ? Infinity : Number(flag));
const heldoutMax = cap(args['heldout-max']);
const otherMax = cap(args['other-max']);
if (args.controls !== 'demo' && args.controls !== 'control') throw new Error(`--controls: demo or control, got ${args.controls}`);

const src = await fileSource(shipped.modelPath);
const model = await Model.load(src);
await src.close();
// the demo's search space (every layer, the MLP projections); the old greedy exactly as `bankai demo` runs it
const iters = Number(args.iters);
const common = { iterations: Math.round(1.5 * iters), layers: parseLayers(args.layers, model.config.nLayer), projs: ['gate', 'up', 'down'], granularity: 'row', aggregate: 'mean', minGain: 0.02, targetMargin: 2 } as const;
const accuracyConfig = (skill: StudySkill): Omit<SearchConfig, 'seed'> => ({
  ...(passRates.get(skill.name) !== undefined ? { passRate: passRates.get(skill.name) } : {}),
  ...common, projs: [...common.projs], layers: [...common.layers], iterations: iters, strategy: 'guided', strategyOptions: { 'validation-net': args['validation-net'], ...armOpts },
  metric: 'competitor', maxBrokenControls: 0, validation: 0.33, ownAnswerDistractors: false,
  objective: 'accuracy', temperature: Number(args.temperature), lambda: args.lambda !== undefined ? Number(args.lambda) : 1, minGain: args['min-gain'] !== undefined ? Number(args['min-gain']) : DEFAULT_MIN_GAIN.accuracy, targetMargin: undefined,
});
const ARMS: Record<string, StudyArm> = {
  greedy: {
    name: 'greedy (the paper\'s)', strategy: greedy,
    config: { ...common, projs: [...common.projs], layers: [...common.layers], strategy: 'greedy', strategyOptions: {}, metric: 'seq_logprob', lambda: 1, maxBrokenControls: 0, ownAnswerDistractors: true },
  },
  // `bankai search`'s defaults (and the demo's): the guided search scoring answers (expected right
  // answers, sigmoid of the gap) instead of gaps, on the skill's guard too
  accuracy: { name: 'guided, accuracy objective (default)', strategy: guided, guard: true, config: accuracyConfig },
  // the same objective, sample and guards, searched by evolution
  evolution: {
    name: 'evolution, accuracy objective', strategy: evolution, guard: true,
    config: (skill) => ({ ...accuracyConfig(skill), iterations: Number(args['evo-iters']), strategy: 'evolution', strategyOptions: { ...evoOpts } }),
  },
  // `bankai search`'s previous defaults
  guided: {
    name: 'guided, gap objective (previous default)', strategy: guided,
    config: {
      ...common, projs: [...common.projs], layers: [...common.layers], iterations: iters, strategy: 'guided', strategyOptions: {},
      metric: 'competitor', lambda: 1, maxBrokenControls: 0, validation: 0.33, ownAnswerDistractors: false,
    } satisfies Omit<SearchConfig, 'seed'>,
  },
};

// --guard heldout:F moves a seeded fraction F of the skill's HELDOUT set (the model's own mix of right
// and wrong answers) into the search's targets, so the search sees answers it must keep; the held-out
// group is then the rest. --guard train adds the skill's TRAIN set instead (trained prompts).
const guardMatch = /^(none|train|heldout:(0?\.\d+)|fresh:(\d+))$/.exec(args.guard);
if (!guardMatch) throw new Error(`--guard: none, train, heldout:F (0 < F < 1) or fresh:N, got ${args.guard}`);
function splitGuard(heldout: Probe[]): { guard: Probe[]; rest: Probe[] } {
  if (!guardMatch![2]) return { guard: [], rest: heldout }; // (fresh:N and train take nothing from HELDOUT)
  const { sample, rest } = splitHeldout(heldout, Number(guardMatch![2]));
  return { guard: sample, rest };
}
if (args['guard-role'] !== 'target' && args['guard-role'] !== 'control') throw new Error(`--guard-role: target or control, got ${args['guard-role']}`);
const asControl = args['guard-role'] === 'control';
if (args.targets !== 'search' && args.targets !== 'search+train') throw new Error(`--targets: search or search+train, got ${args.targets}`);
const skills: StudySkill[] = [];
const passRates = new Map<string, number | undefined>();
for (const name of list(args.skills) as SkillName[]) {
  if (!shipped.skills.includes(name)) throw new Error(`--skills: the ${shipped.name} model has no skill ${name}; one of ${shipped.skills.join(', ')}`);
  const others = shipped.skills.filter((s) => s !== name);
  let fresh: Probe[] = [];
  try {
    fresh = freshProbes(name, Number(args.fresh), Number(args['fresh-seed']), undefined, { preset: shipped.corpusPreset });
  } catch (e) {
    if (!(e instanceof FreshPromptsError)) throw e;
  }
  const { guard, rest } = args.guard === 'train' ? { guard: await probes(name, 'TRAIN'), rest: await probes(name, 'HELDOUT') } : splitGuard(await probes(name, 'HELDOUT'));
  if (guardMatch[3]) {
    // N fresh prompts of their own seed, none of them one of the evaluation's fresh prompts
    guard.push(...freshSample(name, Number(guardMatch[3]), shipped.corpusPreset, fresh, Number(args['fresh-seed'])));
  }
  // the accuracy arm weighs right and wrong targets as the guard (a natural sample) mixes them
  const { right, passRate: guardRate } = samplePassRate(model, guard);
  passRates.set(name, args['pass-rate'] === 'none' ? undefined : args['pass-rate'] === 'guard' ? (guard.length > 0 ? guardRate : undefined) : Number(args['pass-rate']));
  const passRate = passRates.get(name);
  process.stderr.write(`${name}: guard ${guard.length} probes (${args['guard-role']}s, ${right} right), held-out ${rest.length}, pass rate ${passRate ?? '-'}\n`);
  skills.push({
    name,
    target: [...(await probes(name, 'SEARCH')), ...(args.targets === 'search+train' ? await probes(name, 'TRAIN') : [])],
    guard: asControl ? [] : guard,
    control: [...(await probes(name, 'CONTROL')), ...(args.controls === 'demo' ? (await Promise.all(others.map((o) => probes(o, 'SEARCH')))).flat() : []), ...(asControl ? guard : [])],
    heldout: rest.slice(0, heldoutMax),
    fresh,
    other: (await Promise.all(others.map(async (o) => (await probes(o, 'HELDOUT')).slice(0, otherMax)))).flat(),
  });
}
const arms = list(args.arms).map((a) => {
  const arm = ARMS[a];
  if (!arm) throw new Error(`--arms: unknown arm ${a}; use ${Object.keys(ARMS).join(', ')}`);
  return arm;
});
const result = await runStudy(model, skills, arms, {
  seeds: list(args.seeds).map(Number), nullPatches: Number(args.null), workers: Number(args.workers),
  onProgress: (m) => process.stderr.write(`${m}\n`),
});
console.log(formatStudy(result));
console.log(`\n${result.seconds.toFixed(0)} s in all`);
if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 1));
