// Study (not a test): naive XOR stacking against one joint patch on a shipped model (tiny by default), with
// two and three domains over several seeds, each arm against a random-patch null of its size.
// Per domain set: each domain is searched alone with `bankai search`'s defaults (--config default:
// guided, competitor metric, the accuracy objective at temperature 1, lambda 1, --min-gain 0.25,
// --max-broken 0, validation 0.33, 40 steps) on SKILL_SEARCH plus its natural sample SKILL_TRAIN
// (as `bankai demo` passes --sample; its greedy accuracy is the domain's pass rate), the other
// skills' SEARCH sets as controls; the domain patches are XOR-stacked; the joint strategy repairs
// the stack on every domain's targets and sample at once, each domain weighed with its own pass
// rate and against the controls as in its own search (jointTradeoff 'domain'), its held-out proxy
// each domain's own validation split. --config gap is the previous
// configuration (gap objective, margins 2, lambda 2, --max-broken 1, min-gain 0.02, no sample,
// each domain weighed 1/D against the controls in the joint search).
// Held-out: each domain's SKILL_HELDOUT set (every held-out example no search saw) and the other
// skills' HELDOUT sets. The numbers come from runStackStudy in @bankai/search; this script only
// builds the inputs and prints.
// Usage: npx tsx bench/stack-study.ts [--sets "addition,capital;addition,capital,multiplication"]
//          [--seeds 1,2,3,4,5] [--null 10] [--iters 40] [--workers 2] [--config default|gap]
//          [--opt k=v,...] [--joint-strategy joint|evolution] [--joint-iters N] [--joint-opt k=v,...]
//          [--joint-aggregate mean|min] [--model tiny|small]
//          [--sample train|heldout:F|fresh:N[,...]] [--controls search|control]
//          [--other-max N] [--json out.json]
// --model small runs the study on bankai-small (every layer searched); --sample heldout:F gives each
// domain a seeded fraction F of its HELDOUT set as its natural sample instead of its TRAIN set (the
// held-out group is the rest), fresh:N N fresh prompts (where the skill has them); a comma list
// gives each domain of a set its own (e.g. --sets addition,primality --sample fresh:400,heldout:0.25); --controls control takes the domains' CONTROL sets (6 probes per
// other skill) instead of the other skills' SEARCH sets; --other-max caps each other skill's HELDOUT.
// A domain of --sets is a skill or a part of one, SKILL:PART (the parts of SKILL_PARTS in
// study-configs.ts: addition:sum-lt-1000 and addition:sum-ge-1000, two halves of addition whose
// patches' flips cost each other): the part's SEARCH,
// HELDOUT and sample prompts.
// --opt passes guided-strategy options to every domain's own search (e.g. validation-alpha=0.2),
// --joint-strategy evolution evolves the joint patch from the stack (a population seeded with it,
// elitist: never below its fitness) instead of repairing it move by move, --joint-iters gives the
// joint search its own step budget (default --iters), --joint-opt passes that strategy's options
// to the joint search, whose messages (e.g. why the joint repair stopped) go to stderr; --joint-aggregate min makes the joint
// fitness the worst-off domain's gain instead of the mean (StackStudyInput.jointAggregate).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { shippedModel, shippedProbeSpec, type Probe, type ShippedModelName } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { formatStackStudy, runStackStudy, type StackRun, type StackStudyResult } from '@bankai/search';
import guided from '@bankai/strategy-guided';
import evolution from '@bankai/strategy-evolution';
import joint from '@bankai/strategy-joint';
import { freshProbes, type SkillName } from '@bankai/tiny-model';
import { freshSample, parseStudyOptions, splitHeldout, STUDY_FRESH, studyConfig, studyConfigName, studyDomain } from './study-configs.js';
import { helpAndExit } from './usage.js';

helpAndExit(import.meta.url);

const { values: args } = parseArgs({
  options: {
    sets: { type: 'string', default: 'addition,capital;addition,capital,multiplication' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    null: { type: 'string', default: '10' },
    iters: { type: 'string', default: '40' },
    workers: { type: 'string', default: '2' },
    opt: { type: 'string', default: '' },
    'joint-strategy': { type: 'string', default: 'joint' },
    'joint-iters': { type: 'string' },
    'joint-opt': { type: 'string', default: '' },
    'joint-aggregate': { type: 'string', default: 'mean' },
    config: { type: 'string', default: 'default' },
    model: { type: 'string', default: 'tiny' },
    sample: { type: 'string', default: 'train' },
    controls: { type: 'string', default: 'search' },
    'other-max': { type: 'string' },
    json: { type: 'string' },
  },
});

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const shipped = shippedModel(args.model);
const probes = async (skill: SkillName, set: 'SEARCH' | 'CONTROL' | 'HELDOUT' | 'TRAIN'): Promise<Probe[]> =>
  (await readProbeFile(shippedProbeSpec(shipped.name as ShippedModelName, skill, set))).probes;
// each domain's natural sample: its TRAIN set (trained prompts, as `bankai demo` passes --sample),
// heldout:F, a seeded fraction F of its HELDOUT set (held-out prompts: the model's mix of right and
// wrong answers where training did not reach), the domain's held-out group then being the rest, or
// fresh:N, N fresh prompts (outside every split; the sample search-study.ts --guard fresh:N draws).
// One spec for every domain, or one per domain of each set, comma-separated, in the set's order.
const sampleSpecs = list(args.sample);
for (const spec of sampleSpecs) {
  if (!/^(train|heldout:0?\.\d+|fresh:[1-9]\d*)$/.test(spec)) throw new Error(`--sample: train, heldout:F (0 < F < 1) or fresh:N, got ${spec}`);
}
if (args.controls !== 'search' && args.controls !== 'control') throw new Error(`--controls: search or control, got ${args.controls}`);
const otherMax = args['other-max'] === undefined ? Infinity : Number(args['other-max']);
// A domain is a skill, or a part of one (SKILL:PART, SKILL_PARTS in study-configs.ts: e.g.
// addition:sum-lt-1000), whose probes, sample and held-out prompts are those of the part.
type StudyDomain = ReturnType<typeof studyDomain>;
const setProbes = async (d: StudyDomain, set: 'SEARCH' | 'HELDOUT' | 'TRAIN') => (await probes(d.skill, set)).filter(d.keep);
async function domainProbes(d: StudyDomain, spec: string): Promise<{ sample: Probe[]; heldout: Probe[] }> {
  const heldout = await setProbes(d, 'HELDOUT');
  const [kind, value] = spec.split(':');
  if (kind === 'train') return { sample: await setProbes(d, 'TRAIN'), heldout };
  if (kind === 'fresh') {
    const evaluated = freshProbes(d.skill, STUDY_FRESH.count, STUDY_FRESH.seed, undefined, { preset: shipped.corpusPreset });
    return { sample: freshSample(d.skill, Number(value), shipped.corpusPreset, evaluated, STUDY_FRESH.seed, d.keep), heldout };
  }
  const { sample, rest } = splitHeldout(heldout, Number(value));
  return { sample, heldout: rest };
}
// the other skills' SEARCH sets (--controls search), or the domains' CONTROL sets (6 per other
// skill: cheaper on the small model) less the domains' own probes
async function controlsOf(names: readonly SkillName[], others: readonly SkillName[]): Promise<Probe[]> {
  if (args.controls === 'search') return (await Promise.all(others.map((o) => probes(o, 'SEARCH')))).flat();
  const seen = new Set<string>();
  return (await Promise.all(names.map((n) => probes(n, 'CONTROL')))).flat()
    .filter((p) => !(names as readonly string[]).includes(p.category ?? '') && !seen.has(p.name) && (seen.add(p.name), true));
}
const jointStrategies = { joint, evolution } as const;
const jointStrategy = jointStrategies[args['joint-strategy'] as keyof typeof jointStrategies];
if (!jointStrategy) throw new Error(`--joint-strategy: one of ${Object.keys(jointStrategies).join(', ')}, got ${args['joint-strategy']}`);
const ownOptions = parseStudyOptions('--opt', args.opt);
const jointOptions = parseStudyOptions('--joint-opt', args['joint-opt']);

// `bankai search`'s defaults with each domain's TRAIN set as its sample (below), or the previous configuration
const configName = studyConfigName(args.config);
const withSample = configName === 'default';

const src = await fileSource(shipped.modelPath);
const model = await Model.load(src);
await src.close();
const config = studyConfig(configName, Number(args.iters), model.config.nLayer);
const results: StackStudyResult[] = [];
const partial: StackRun[] = [];
for (const set of args.sets.split(';')) {
  const names = list(set);
  if (sampleSpecs.length !== 1 && sampleSpecs.length !== names.length) throw new Error(`--sample: one spec, or one per domain (${names.length} in ${set}), got ${sampleSpecs.length}`);
  const specs = sampleSpecs.length === 1 ? names.map(() => sampleSpecs[0]!) : sampleSpecs;
  const domains = names.map((n) => studyDomain(n, shipped.skills));
  const skills = [...new Set(domains.map((d) => d.skill))];
  const others = shipped.skills.filter((s) => !skills.includes(s));
  const r = await runStackStudy({
    model,
    domains: await Promise.all(domains.map(async (d, i) => {
      const { sample, heldout } = withSample ? await domainProbes(d, specs[i]!) : { sample: [], heldout: await setProbes(d, 'HELDOUT') };
      return { name: names[i]!, target: await setProbes(d, 'SEARCH'), heldout, ...(withSample ? { sample } : {}) };
    })),
    control: await controlsOf(skills, others),
    other: (await Promise.all(others.map(async (o) => (await probes(o, 'HELDOUT')).slice(0, otherMax)))).flat(),
    single: { strategy: guided, options: ownOptions },
    joint: { strategy: jointStrategy, options: jointOptions, ...(args['joint-iters'] ? { iterations: Number(args['joint-iters']) } : {}) },
    config,
    // the previous study weighed each domain 1/D against the controls in the joint search
    jointTradeoff: configName === 'gap' ? 'mean' : 'domain',
    jointAggregate: args['joint-aggregate'] as 'mean' | 'min',
  }, {
    seeds: list(args.seeds).map(Number), workers: Number(args.workers), nullPatches: Number(args.null),
    onProgress: (m) => process.stderr.write(`[${names.join('+')}] ${m}\n`),
    onSearchProgress: (id, e) => {
      if (id.kind === 'joint' && e.message) process.stderr.write(`[${names.join('+')}] seed ${id.seed} joint: ${e.message}\n`);
    },
    // a long study saves each seed's run as it finishes (--json FILE.partial)
    onRun: (run) => {
      partial.push(run);
      if (args.json) writeFileSync(`${args.json}.partial`, JSON.stringify({ done: results, set: names, runs: partial }, null, 1));
    },
  });
  partial.length = 0;
  results.push(r);
  console.log(`\n## ${names.join(' + ')} (${shipped.name} model, --config ${configName}, --sample ${args.sample}${args.opt ? `, --opt ${args.opt}` : ''}${args['joint-strategy'] !== 'joint' ? `, --joint-strategy ${args['joint-strategy']}` : ''}${args['joint-iters'] ? `, --joint-iters ${args['joint-iters']}` : ''}${args['joint-opt'] ? `, --joint-opt ${args['joint-opt']}` : ''}${args['joint-aggregate'] !== 'mean' ? `, --joint-aggregate ${args['joint-aggregate']}` : ''}; controls: ${others.join(', ')} ${args.controls === 'search' ? 'SEARCH sets' : 'probes of the domains\' CONTROL sets'})\n`);
  console.log(formatStackStudy(r));
  // the issue's goal: joint >= naive on every domain in the mean, better on at least one where the own patches beat the null
  const v = r.verdict;
  console.log(`\ngoal (joint >= stack on every domain in the mean, better on one where the own patches beat the null): ${v.neverWorse && v.betterWhereOwnBeatsNull.length > 0 ? 'met' : 'not met'}`);
  console.log(`${r.seconds.toFixed(0)} s`);
}
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 1));
