// The registry: the upstream paper's findings as named experiments. Each one measures a value
// over seeds, puts a 95% percentile-bootstrap interval on it, reads it against a null (random
// patches of the same size, or the unpatched model), and states the rule that turns the interval
// into a verdict. The measurements are the existing studies of @bankai/search (runStudy,
// runRobustness) and the single-row effects of row-effects.ts; this file only sizes, calls and
// judges them.
//
//   robustness        random single-bit flips: perplexity change at upstream's share of the weights
//   scale-ratio       high-scale rows vs random rows: effect on the target gap
//   layer-map         which layer's rows move the target most, each layer vs rows over all layers
//   heldout-fix       the default search's held-out net vs its random-patch null
//   attention-vs-mlp  a search over attention projections: held-out net over its null
//   row-vs-group      a search over 128-weight groups: held-out net over its null
//   probe-count       48 vs 6 target probes: held-out net over the null
//   collateral        the default search's net on every other skill's held-out probes
//   stack-vs-joint    two domains: the naive XOR stack of their patches vs the joint patch
//
// Everything is seeded: the same inputs, sizes and seeds give the same result on 1 or N workers.

import type { Model } from '@bankai/model';
import type { Probe } from '@bankai/probes';
import { oneBitWeights, runRobustness, runStackStudy, runStudy, type SearchConfig, type StudyArm, type StudyCell, type StudySkill } from '@bankai/search';
import guided from '@bankai/strategy-guided';
import joint from '@bankai/strategy-joint';
import { diffCi, mean, meanCi, type Interval } from './bootstrap.js';
import { runLayerMap, runScaleRatio } from './row-effects.js';
import type { ExperimentResult, Verdict } from './schema.js';
import type { VegaLiteSpec } from './plots.js';

// ---- inputs and sizes ---------------------------------------------------------------------------

/** One skill's probe sets (the shipped models' probe files: SKILL_SEARCH, _CONTROL, _HELDOUT, _TRAIN). */
export interface SkillProbes {
  name: string;
  search: Probe[];
  control: Probe[];
  heldout: Probe[];
  /** Train-split examples (may be empty): the probe-count experiment draws extra targets from them. */
  train: Probe[];
}

export interface ExperimentInputs {
  model: Model;
  modelSha256: string;
  skills: SkillProbes[];
  /** The skill searched by the search experiments (one of skills). */
  skill: string;
  /** The second domain of the stacking experiment (default: the first other skill). */
  stackWith?: string;
}

export interface ExperimentSizes {
  seeds: number[];
  workers: number;
  /** Bootstrap resamples. */
  bootstrap: number;
  /** Search steps of every search. */
  iterations: number;
  /** Random patches per null. */
  nullPatches: number;
  /** First N of the searched skill's held-out probes. */
  heldoutMax: number;
  /** First N of each other skill's held-out probes. */
  otherMax: number;
  /** Rows per group (scale ratio) and per layer (layer map) and seed. */
  rows: number;
  /** Robustness patch sizes, as multiples of upstream's share of the weights (500K of 8B). */
  robustnessMultiples: number[];
  /** Held-out probes per skill for the robustness text and answers. */
  perSkill: number;
  /** Most greedy tokens per answer. */
  maxTokens: number;
  /** The small and the large target set of the probe-count experiment. */
  probeCounts: [number, number];
}

/** Sizes of a full run (`quick: false`) or of `--quick` (what CI runs: a few minutes on the tiny model). */
export function defaultSizes(opts: { quick?: boolean; seeds?: number; workers?: number } = {}): ExperimentSizes {
  const quick = opts.quick === true;
  const n = opts.seeds ?? (quick ? 3 : 5);
  if (!Number.isInteger(n) || n < (quick ? 3 : 1)) throw new RangeError(`seeds: an integer >= ${quick ? 3 : 1}${quick ? ' (--quick keeps at least 3)' : ''}, got ${opts.seeds}`);
  return {
    seeds: Array.from({ length: n }, (_, i) => i + 1),
    workers: opts.workers ?? 1,
    bootstrap: quick ? 1000 : 4000,
    iterations: quick ? 4 : 40,
    nullPatches: quick ? 5 : 10,
    heldoutMax: quick ? 60 : 1000,
    otherMax: quick ? 20 : 1000,
    rows: quick ? 16 : 64,
    robustnessMultiples: quick ? [1, 10, 100] : [1, 10, 100, 1000],
    perSkill: quick ? 15 : 40,
    maxTokens: quick ? 16 : 32,
    probeCounts: [6, 48],
  };
}

// ---- the registry -------------------------------------------------------------------------------

export interface ExperimentContext {
  inputs: ExperimentInputs;
  sizes: ExperimentSizes;
  say(message: string): void;
  /** runStudy for one skill and arm over sizes.seeds, memoized by key within a run (experiments share searches). */
  study(key: string, skill: StudySkill, arm: StudyArm): Promise<StudyCell>;
}

/** What an experiment's run returns; the runner adds name, title, claim, metric, seconds and key. */
export type ExperimentMeasurement = Pick<ExperimentResult, 'value' | 'ci' | 'seeds' | 'null' | 'verdict' | 'rule' | 'table' | 'details'>;

export interface Experiment {
  name: string;
  title: string;
  claim: ExperimentResult['claim'];
  metric: ExperimentResult['metric'];
  /** What it does, in a paragraph (the report prints it). */
  doc: string;
  run(ctx: ExperimentContext): Promise<ExperimentMeasurement>;
  /** The experiment's plot (Vega-Lite) from its stored result. */
  plot(r: ExperimentResult): VegaLiteSpec;
}

const nullable = (x: number | null | undefined): number | null => (x === undefined || x === null || !Number.isFinite(x) ? null : x);
const ciOf = (i: Interval, resamples: number, over: string): ExperimentResult['ci'] =>
  ({ lo: nullable(i.lo), hi: nullable(i.hi), level: 0.95, method: 'percentile bootstrap', resamples, over });

/** Verdict of an interval against a claim that the value exceeds `threshold`: agrees when the whole
 *  interval is above it, disagrees when the whole interval is at or below `disagreeAtMost`. */
function above(ci: Interval, threshold: number, disagreeAtMost = threshold): Verdict {
  if (!Number.isFinite(ci.lo) || !Number.isFinite(ci.hi)) return 'inconclusive';
  if (ci.lo > threshold) return 'agrees';
  if (ci.hi <= disagreeAtMost) return 'disagrees';
  return 'inconclusive';
}

/** An experiment that cannot run on these inputs or sizes: says which and why. */
export class ExperimentOptionError extends RangeError {
  override name = 'ExperimentOptionError';
}

function skillOf(inputs: ExperimentInputs): { skill: SkillProbes; others: SkillProbes[] } {
  const skill = inputs.skills.find((s) => s.name === inputs.skill);
  if (!skill) throw new ExperimentOptionError(`experiments: no probes for skill "${inputs.skill}"; one of ${inputs.skills.map((s) => s.name).join(', ')}`);
  return { skill, others: inputs.skills.filter((s) => s !== skill) };
}

/** The skill as runStudy sees it, with the first `targets` of SEARCH + TRAIN as the search's targets. */
function studySkill(inputs: ExperimentInputs, sizes: ExperimentSizes, targets: number): StudySkill {
  const { skill, others } = skillOf(inputs);
  const pool = [...skill.search, ...skill.train];
  if (pool.length === 0) throw new ExperimentOptionError(`skill ${skill.name} has no SEARCH or TRAIN probes to search on`);
  const n = Math.min(targets, pool.length); // a smaller probe file: every probe it has
  return {
    name: `${skill.name} (${n} targets)`,
    target: pool.slice(0, n),
    control: skill.control,
    heldout: skill.heldout.slice(0, sizes.heldoutMax),
    fresh: [],
    other: others.flatMap((o) => o.heldout.slice(0, sizes.otherMax)),
  };
}

type ArmName = 'mlp-rows' | 'attention-rows' | 'mlp-groups';
function arm(model: Model, sizes: ExperimentSizes, name: ArmName): StudyArm & { config: Omit<SearchConfig, 'seed'> } {
  const config: Omit<SearchConfig, 'seed'> = {
    strategy: 'guided', strategyOptions: {}, iterations: sizes.iterations,
    layers: Array.from({ length: model.config.nLayer }, (_, i) => i),
    projs: name === 'attention-rows' ? ['q', 'k', 'v', 'o'] : ['gate', 'up', 'down'],
    granularity: name === 'mlp-groups' ? 'group' : 'row',
    metric: 'competitor', lambda: 1, aggregate: 'mean', minGain: 0.02, targetMargin: 2, maxBrokenControls: 0, validation: 0.33, ownAnswerDistractors: false,
  };
  return { name, strategy: guided, config };
}

/** The default search (guided, MLP rows) on the large target set: shared by several experiments. */
async function defaultCell(ctx: ExperimentContext): Promise<StudyCell> {
  const t = ctx.sizes.probeCounts[1];
  return ctx.study(`${t}/mlp-rows`, studySkill(ctx.inputs, ctx.sizes, t), arm(ctx.inputs.model, ctx.sizes, 'mlp-rows'));
}

/** Per run of a cell, on one group: net, the null's median net, and their difference. */
function excess(cell: StudyCell, group: 'heldout' | 'other') {
  return cell.runs.map((r) => {
    const g = r.groups[group]!;
    return { seed: r.seed, flips: r.flips.length, fixed: g.fixed, broken: g.broken, net: g.net, nullMedian: g.null.medianNet, nullMax: g.null.maxNet, excess: g.net - g.null.medianNet };
  });
}

const armPlot = (title: string): ((r: ExperimentResult) => VegaLiteSpec) => (r) => ({
  title,
  data: { values: r.table },
  layer: [
    { mark: { type: 'rule', color: '#888', strokeDash: [4, 3] }, encoding: { y: { datum: 0 } } },
    { mark: { type: 'point', filled: true, size: 70 }, encoding: {
      x: { field: 'arm', type: 'nominal', title: null, axis: { labelAngle: 0 } },
      y: { field: 'excess', type: 'quantitative', title: 'held-out net minus null median (per seed)' },
      color: { field: 'arm', type: 'nominal', legend: null },
      tooltip: [{ field: 'seed' }, { field: 'net' }, { field: 'nullMedian' }, { field: 'flips' }],
    } },
    { mark: { type: 'tick', thickness: 3, size: 40, color: 'black' }, encoding: { x: { field: 'arm', type: 'nominal' }, y: { aggregate: 'mean', field: 'excess', type: 'quantitative' } } },
  ],
  width: 320, height: 220,
});

/** An arm's held-out excess over its null, against the default search (for attention and group flips). */
function armExperiment(name: string, title: string, armName: ArmName, claim: ExperimentResult['claim'], what: string): Experiment {
  return {
    name, title, claim,
    metric: { name: `${what} search: mean held-out net minus its null's median net`, unit: 'probes' },
    doc: `Searches the target skill with the default guided search restricted to ${what} (same steps, controls and validation), ` +
      'and with the default space (MLP rows), over every seed; each patch is judged in greedy generation on the held-out probes ' +
      'against random patches of its own size from its own space. The value is the first arm\'s mean excess over its null.',
    async run(ctx) {
      const t = ctx.sizes.probeCounts[1];
      const base = excess(await defaultCell(ctx), 'heldout');
      const cell = await ctx.study(`${t}/${armName}`, studySkill(ctx.inputs, ctx.sizes, t), arm(ctx.inputs.model, ctx.sizes, armName));
      const mine = excess(cell, 'heldout');
      const ci = meanCi(mine.map((m) => m.excess), { resamples: ctx.sizes.bootstrap });
      const verdict: Verdict = !Number.isFinite(ci.lo) ? 'inconclusive' : ci.hi <= 0 ? 'agrees' : ci.lo > 0 ? 'disagrees' : 'inconclusive';
      return {
        value: mean(mine.map((m) => m.excess)), ci: ciOf(ci, ctx.sizes.bootstrap, 'seeds'), seeds: [...ctx.sizes.seeds],
        null: { description: `median net of ${ctx.sizes.nullPatches} random patches of each run's size from the same space`, value: mean(mine.map((m) => m.nullMedian)) },
        verdict,
        rule: `the claim is that ${what} flips do not help: agrees when the interval's upper bound is <= 0 (no better than random patches), disagrees when its lower bound is > 0, else inconclusive`,
        table: [...mine.map((m) => ({ arm: armName, ...m })), ...base.map((m) => ({ arm: 'mlp-rows (default)', ...m }))],
        details: { defaultArmMeanExcess: mean(base.map((m) => m.excess)), meanFlips: mean(mine.map((m) => m.flips)) },
      };
    },
    plot: armPlot(`${title}: held-out net over the random-patch null`),
  };
}

export const EXPERIMENTS: readonly Experiment[] = [
  {
    name: 'robustness',
    title: 'Random bit flips and perplexity',
    claim: { text: '500K random bit flips (0.006% of the weights) change perplexity by less than 1%', source: 'upstream robustness experiment (Bonsai 8B)', value: 1 },
    metric: { name: 'perplexity change at upstream\'s share of the weights (500K / 8B)', unit: '%' },
    doc: 'Flips N single bits drawn uniformly over every 1-bit weight (embedding and output head included), measures the mean next-token ' +
      'NLL on held-out lines of every skill (prompt + answer) and the greedy answers on the same probes, and flips them back; N is ' +
      'upstream\'s share of the weights (500K of 8B) times 1, 10, 100 (and 1000), each over every seed.',
    async run(ctx) {
      const { model } = ctx.inputs;
      const oneBit = oneBitWeights(model);
      const matched = Math.max(1, Math.round((oneBit * 500_000) / 8e9));
      const bits = ctx.sizes.robustnessMultiples.map((m) => Math.min(oneBit, m * matched));
      const probes = ctx.inputs.skills.flatMap((s) => s.heldout.slice(0, ctx.sizes.perSkill));
      const r = runRobustness(model, { bits, seeds: ctx.sizes.seeds, text: probes.map((p) => p.prompt + p.correct), probes, maxTokens: ctx.sizes.maxTokens, onProgress: ctx.say });
      const at = r.points[0]!.runs.map((x) => 100 * x.perplexityChange);
      const ci = meanCi(at, { resamples: ctx.sizes.bootstrap });
      return {
        value: mean(at), ci: ciOf(ci, ctx.sizes.bootstrap, 'seeds'), seeds: [...ctx.sizes.seeds],
        null: { description: 'the unpatched model (perplexity change 0 by definition)', value: 0 },
        verdict: !Number.isFinite(ci.lo) ? 'inconclusive' : ci.hi < 1 ? 'agrees' : ci.lo >= 1 ? 'disagrees' : 'inconclusive',
        rule: 'agrees when the interval\'s upper bound is below +1%, disagrees when its lower bound is at or above +1%, else inconclusive',
        table: r.points.flatMap((p) => p.runs.map((x) => ({
          bits: x.bits, share: p.fraction, seed: x.seed, perplexityChangePct: 100 * x.perplexityChange, answersChanged: x.answers.fixed + x.answers.broken, answersBroken: x.answers.broken,
        }))),
        details: {
          oneBitWeights: oneBit, matchedBits: matched, basePerplexity: r.basePerplexity, textTokens: r.textTokens, probes: r.probes,
          meanAnswersChangedAtMatched: mean(r.points[0]!.runs.map((x) => x.answers.fixed + x.answers.broken)),
          points: r.points.map((p) => ({ bits: p.bits, meanPerplexityChange: p.perplexityChange.mean, meanAnswersChanged: p.changed.mean })),
        },
      };
    },
    plot: (r) => ({
      title: 'Perplexity change per random bits (each point a seed; line: mean)',
      data: { values: r.table },
      layer: [
        { mark: { type: 'rule', color: '#c33', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
        { mark: { type: 'point', opacity: 0.6 }, encoding: { x: { field: 'bits', type: 'quantitative', scale: { type: 'log' }, title: 'random bits flipped' }, y: { field: 'perplexityChangePct', type: 'quantitative', title: 'perplexity change (%)' } } },
        { mark: { type: 'line', point: true }, encoding: { x: { field: 'bits', type: 'quantitative', scale: { type: 'log' } }, y: { aggregate: 'mean', field: 'perplexityChangePct', type: 'quantitative' } } },
      ],
      width: 360, height: 220,
    }),
  },
  {
    name: 'scale-ratio',
    title: 'High-scale rows vs random rows',
    claim: { text: 'flipping high-scale rows moves the target 3.88x more than flipping random rows', source: 'upstream scale-ranking experiment (Bonsai 8B)', value: 3.88 },
    metric: { name: 'mean |change of the mean target gap| of the top-scale rows / of random rows', unit: 'ratio' },
    doc: 'Flips each of the K largest-scale MLP rows alone, and K uniformly random rows of the same space per seed, on the searched ' +
      'skill\'s SEARCH probes (seq_logprob gap, virtual flips on the unpatched model), and compares the mean absolute change of the mean ' +
      'target gap; "matched" rows are random rows of the same tensor as each top row. The interval resamples the single-row effects ' +
      '(top and random independently).',
    async run(ctx) {
      const { model } = ctx.inputs;
      const r = await runScaleRatio(model, skillOf(ctx.inputs).skill.search, {
        k: ctx.sizes.rows, seeds: ctx.sizes.seeds, layers: Array.from({ length: model.config.nLayer }, (_, i) => i), projs: ['gate', 'up', 'down'],
        workers: ctx.sizes.workers, resamples: ctx.sizes.bootstrap,
      });
      const claimed = 3.88;
      const verdict: Verdict = !Number.isFinite(r.ci.lo) ? 'inconclusive' : r.ci.lo > 1 && r.ci.hi >= claimed / 2 ? 'agrees' : r.ci.hi < claimed / 2 ? 'disagrees' : 'inconclusive';
      const rows = (label: string) => r.groups.filter((g) => g.label === label).flatMap((g) => g.deltas.map(Math.abs));
      const table = (['top', 'random', 'matched'] as const).map((label) => {
        const d = rows(label);
        const ci = meanCi(d, { resamples: ctx.sizes.bootstrap });
        return { group: label, rows: d.length, meanAbs: mean(d), lo: ci.lo, hi: ci.hi, meanScale: mean(r.groups.filter((g) => g.label === label).flatMap((g) => g.scales)) };
      });
      return {
        value: r.ratio, ci: ciOf(r.ci, ctx.sizes.bootstrap, `single-row effects (${ctx.sizes.rows} top rows, ${ctx.sizes.rows} random rows per seed)`), seeds: [...ctx.sizes.seeds],
        null: { description: 'random rows of the same space (ratio 1: scale does not matter)', value: 1 },
        verdict,
        rule: `agrees when the interval is above 1 and reaches at least half the claimed ${claimed}x; disagrees when its upper bound is below ${claimed / 2}x (the claimed effect is excluded), else inconclusive`,
        table,
        details: { baseGap: r.baseGap, spaceRows: r.spaceSize, matchedRatio: r.matchedRatio, matchedCi: r.matchedCi, perSeed: r.perSeed },
      };
    },
    plot: (r) => ({
      title: 'Mean |change of the target gap| per single-row flip (95% CI)',
      data: { values: r.table },
      layer: [
        { mark: 'bar', encoding: { x: { field: 'group', type: 'nominal', title: null, sort: ['top', 'random', 'matched'], axis: { labelAngle: 0 } }, y: { field: 'meanAbs', type: 'quantitative', title: 'mean |delta gap| (nats)' }, color: { field: 'group', type: 'nominal', legend: null } } },
        { mark: { type: 'errorbar', ticks: true }, encoding: { x: { field: 'group', type: 'nominal', sort: ['top', 'random', 'matched'] }, y: { field: 'lo', type: 'quantitative', title: 'mean |delta gap| (nats)' }, y2: { field: 'hi' } } },
      ],
      width: 280, height: 220,
    }),
  },
  {
    name: 'layer-map',
    title: 'Layer map: which layer\'s flips move the target most',
    claim: { text: 'the last layer matters most: its flips move the target more than other layers\'', source: 'upstream experiments 2 and 15 (layer sweeps)' },
    metric: { name: 'mean |change of the target gap| of last-layer rows / of rows drawn over all layers', unit: 'ratio' },
    doc: 'Flips K random MLP rows of each layer alone (per seed), and K rows drawn over every layer as the reference, on the searched ' +
      'skill\'s SEARCH probes, and compares each layer\'s mean absolute change of the mean target gap with the reference\'s.',
    async run(ctx) {
      const r = await runLayerMap(ctx.inputs.model, skillOf(ctx.inputs).skill.search, {
        k: ctx.sizes.rows, seeds: ctx.sizes.seeds, projs: ['gate', 'up', 'down'], workers: ctx.sizes.workers, resamples: ctx.sizes.bootstrap,
      });
      const last = r.layers.at(-1)!;
      const best = r.layers.reduce((a, b) => (b.meanAbs > a.meanAbs ? b : a));
      const others = r.layers.slice(0, -1);
      let verdict: Verdict = 'inconclusive';
      if (best === last && last.ci.lo > 1 && others.every((o) => o.ci.hi < last.ci.hi)) verdict = 'agrees';
      else if (last.ci.hi < 1 || others.some((o) => o.ci.lo > last.ci.hi)) verdict = 'disagrees';
      return {
        value: last.ratio, ci: ciOf(last.ci, ctx.sizes.bootstrap, `single-row effects (${ctx.sizes.rows} rows per layer and seed)`), seeds: [...ctx.sizes.seeds],
        null: { description: 'rows drawn uniformly over every layer (ratio 1)', value: 1 },
        verdict,
        rule: 'agrees when the last layer has the largest mean effect and its interval is above 1; disagrees when its interval is below 1 or ' +
          'another layer\'s interval lies wholly above the last layer\'s; else inconclusive',
        table: r.layers.map((l) => ({ layer: l.layer, meanAbs: l.meanAbs, ratio: l.ratio, lo: nullable(l.ci.lo), hi: nullable(l.ci.hi) })),
        details: { baseGap: r.baseGap, referenceMeanAbs: r.reference.meanAbs, largestLayer: best.layer },
      };
    },
    plot: (r) => ({
      title: 'Per layer: effect of its rows / rows over all layers (95% CI)',
      data: { values: r.table },
      layer: [
        { mark: { type: 'rule', color: '#888', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
        { mark: { type: 'bar' }, encoding: { x: { field: 'layer', type: 'ordinal', axis: { labelAngle: 0 } }, y: { field: 'ratio', type: 'quantitative', title: 'ratio to random rows over all layers' } } },
        { mark: { type: 'errorbar', ticks: true }, encoding: { x: { field: 'layer', type: 'ordinal' }, y: { field: 'lo', type: 'quantitative', title: 'ratio to random rows over all layers' }, y2: { field: 'hi' } } },
      ],
      width: 300, height: 220,
    }),
  },
  {
    name: 'heldout-fix',
    title: 'Held-out fixes beyond the random-patch null',
    claim: { text: 'a searched patch fixes held-out prompts it never saw (corrected exp 12: 5 of 16 failing fixed, 0 broken)', source: 'upstream experiment 12 (corrected)' },
    metric: { name: 'default search: mean held-out net (fixed - broken) minus its null\'s median net', unit: 'probes' },
    doc: 'The default search (guided, MLP rows, the large target set, the skill\'s CONTROL probes as guards) over every seed; each patch ' +
      'in greedy generation on the skill\'s held-out probes against random patches of its size from the same space.',
    async run(ctx) {
      const runs = excess(await defaultCell(ctx), 'heldout');
      const ci = meanCi(runs.map((r) => r.excess), { resamples: ctx.sizes.bootstrap });
      return {
        value: mean(runs.map((r) => r.excess)), ci: ciOf(ci, ctx.sizes.bootstrap, 'seeds'), seeds: [...ctx.sizes.seeds],
        null: { description: `median net of ${ctx.sizes.nullPatches} random patches of each run's size`, value: mean(runs.map((r) => r.nullMedian)) },
        verdict: above(ci, 0),
        rule: 'agrees when the interval\'s lower bound is > 0 (the patch beats random patches of its size), disagrees when its upper bound is <= 0, else inconclusive',
        table: runs.map((r) => ({ arm: 'mlp-rows (default)', ...r })),
        details: { fixed: runs.reduce((s, r) => s + r.fixed, 0), broken: runs.reduce((s, r) => s + r.broken, 0), meanFlips: mean(runs.map((r) => r.flips)) },
      };
    },
    plot: armPlot('Held-out net over the random-patch null, per seed'),
  },
  armExperiment('attention-vs-mlp', 'Attention flips vs MLP flips', 'attention-rows',
    { text: 'flipping attention rows does not help (exps 10, 11)', source: 'upstream experiments 10 and 11' }, 'attention-row (q, k, v, o)'),
  armExperiment('row-vs-group', 'Group flips vs row flips', 'mlp-groups',
    { text: 'flipping single 128-weight groups does not help', source: 'upstream experiments 10 and 11' }, 'MLP 128-weight-group'),
  {
    name: 'probe-count',
    title: 'Probe count: 6 vs 48 target probes',
    claim: { text: '6 probes memorize, many diverse probes generalize to held-out prompts', source: 'upstream probe-count experiment (6 vs 60 probes)' },
    metric: { name: 'held-out excess over the null with the large target set minus with the small one (paired by seed)', unit: 'probes' },
    doc: 'The default search with the first 6 and with the first 48 of the skill\'s SEARCH + TRAIN probes as targets, over every seed; ' +
      'each patch\'s held-out net minus its null\'s median; the value is the mean per-seed difference (large - small).',
    async run(ctx) {
      const [small, wanted] = ctx.sizes.probeCounts;
      const { skill } = skillOf(ctx.inputs);
      const large = Math.min(wanted, skill.search.length + skill.train.length);
      if (large <= small) throw new ExperimentOptionError(`probe-count: skill ${skill.name} has ${large} SEARCH + TRAIN probes; it needs more than ${small}`);
      const big = excess(await defaultCell(ctx), 'heldout');
      const few = excess(await ctx.study(`${small}/mlp-rows`, studySkill(ctx.inputs, ctx.sizes, small), arm(ctx.inputs.model, ctx.sizes, 'mlp-rows')), 'heldout');
      const diffs = big.map((b, i) => b.excess - few[i]!.excess);
      const ci = meanCi(diffs, { resamples: ctx.sizes.bootstrap });
      return {
        value: mean(diffs), ci: ciOf(ci, ctx.sizes.bootstrap, 'seeds (paired differences)'), seeds: [...ctx.sizes.seeds],
        null: { description: 'each run\'s own random-patch null (median net) is subtracted before the difference', value: 0, ci: diffCi(big.map((b) => b.nullMedian), few.map((f) => f.nullMedian), { resamples: ctx.sizes.bootstrap }) },
        verdict: above(ci, 0, 0),
        rule: `agrees when the interval of (${large}-probe excess - ${small}-probe excess) is above 0, disagrees when it is at or below 0, else inconclusive`,
        table: [...few.map((r) => ({ arm: `${small} targets`, ...r })), ...big.map((r) => ({ arm: `${large} targets`, ...r }))],
        details: { smallMeanExcess: mean(few.map((r) => r.excess)), largeMeanExcess: mean(big.map((r) => r.excess)) },
      };
    },
    plot: armPlot('Held-out net over the null: small vs large target set'),
  },
  {
    name: 'collateral',
    title: 'Collateral damage on the other skills',
    claim: { text: 'a patch leaves the other skills intact (0 broken; "no degradation" on other tasks)', source: 'upstream experiment 12 and the GSM8K-style no-degradation check' },
    metric: { name: 'default search: mean net (fixed - broken) on every other skill\'s held-out probes', unit: 'probes' },
    doc: 'The default search\'s patches (the heldout-fix experiment\'s) in greedy generation on the held-out probes of every other skill, ' +
      'next to random patches of the same size.',
    async run(ctx) {
      const runs = excess(await defaultCell(ctx), 'other');
      const nets = runs.map((r) => r.net);
      const ci = meanCi(nets, { resamples: ctx.sizes.bootstrap });
      return {
        value: mean(nets), ci: ciOf(ci, ctx.sizes.bootstrap, 'seeds'), seeds: [...ctx.sizes.seeds],
        null: { description: `median net of ${ctx.sizes.nullPatches} random patches of each run's size on the same probes`, value: mean(runs.map((r) => r.nullMedian)) },
        verdict: !Number.isFinite(ci.lo) ? 'inconclusive' : ci.lo >= 0 ? 'agrees' : ci.hi < 0 ? 'disagrees' : 'inconclusive',
        rule: 'agrees when the interval\'s lower bound is >= 0 (no net loss on other skills), disagrees when its upper bound is < 0, else inconclusive',
        table: runs.flatMap((r) => [
          { seed: r.seed, what: 'patch fixed', count: r.fixed }, { seed: r.seed, what: 'patch broken', count: r.broken },
          { seed: r.seed, what: 'null median net', count: r.nullMedian }, { seed: r.seed, what: 'patch net', count: r.net },
        ]),
        details: { otherSkills: ctx.inputs.skills.length - 1, meanBroken: mean(runs.map((r) => r.broken)), meanFixed: mean(runs.map((r) => r.fixed)) },
      };
    },
    plot: (r) => ({
      title: 'Other skills: fixed, broken and net per seed, with the null',
      data: { values: r.table },
      mark: 'bar',
      encoding: {
        x: { field: 'seed', type: 'ordinal', axis: { labelAngle: 0 } },
        xOffset: { field: 'what', type: 'nominal' },
        y: { field: 'count', type: 'quantitative', title: 'probes' },
        color: { field: 'what', type: 'nominal', title: null },
      },
      width: 320, height: 220,
    }),
  },
  {
    name: 'stack-vs-joint',
    title: 'Naive XOR stacking vs one joint patch',
    claim: { text: 'stacking patches by XOR is exact but partially cancels; a joint patch over both domains should beat the stack', source: 'upstream stacking experiment' },
    metric: { name: 'held-out net of the joint patch minus the naive stack\'s, summed over both domains (paired by seed)', unit: 'probes' },
    doc: 'Searches each of two skills alone (the default guided search; the other skills\' first SEARCH probes as controls), stacks the two ' +
      'patches by XOR, and lets the joint strategy repair the stack on both domains at once (runStackStudy); each arm in greedy ' +
      'generation on each domain\'s held-out probes against random patches of its size.',
    async run(ctx) {
      const { skill, others } = skillOf(ctx.inputs);
      const second = ctx.inputs.stackWith ? others.find((o) => o.name === ctx.inputs.stackWith) : others[0];
      if (!second) throw new ExperimentOptionError(`stack-vs-joint: no second skill ${ctx.inputs.stackWith ?? ''} beside ${skill.name}`);
      const rest = others.filter((o) => o !== second);
      const { config } = arm(ctx.inputs.model, ctx.sizes, 'mlp-rows');
      const { strategy: _s, strategyOptions: _o, ...shared } = config;
      const r = await runStackStudy({
        model: ctx.inputs.model,
        domains: [skill, second].map((d) => ({ name: d.name, target: d.search, heldout: d.heldout.slice(0, ctx.sizes.heldoutMax) })),
        control: rest.flatMap((o) => o.search.slice(0, 6)),
        other: rest.flatMap((o) => o.heldout.slice(0, ctx.sizes.otherMax)),
        single: { strategy: guided },
        joint: { strategy: joint },
        config: shared,
      }, { seeds: ctx.sizes.seeds, workers: ctx.sizes.workers, nullPatches: ctx.sizes.nullPatches, maxTokens: ctx.sizes.maxTokens, onProgress: ctx.say });
      const sum = (run: (typeof r.runs)[number], arm: 'stack' | 'joint', f: (o: (typeof run.heldout)[number]['stack']) => number) => run.heldout.reduce((a, d) => a + f(d[arm]), 0);
      const diffs = r.runs.map((run) => sum(run, 'joint', (o) => o.net) - sum(run, 'stack', (o) => o.net));
      const ci = meanCi(diffs, { resamples: ctx.sizes.bootstrap });
      return {
        value: mean(diffs), ci: ciOf(ci, ctx.sizes.bootstrap, 'seeds (paired differences)'), seeds: [...ctx.sizes.seeds],
        null: { description: 'the stack\'s own random-patch null: median net of random patches of its size, summed over both domains', value: mean(r.runs.map((run) => sum(run, 'stack', (o) => o.null.medianNet))) },
        verdict: above(ci, 0),
        rule: 'agrees when the interval of (joint net - stack net) is above 0, disagrees when its upper bound is <= 0, else inconclusive',
        table: r.runs.flatMap((run) => (['own', 'stack', 'joint'] as const).flatMap((a) => run.heldout.map((d, i) => ({
          seed: run.seed, arm: a, domain: r.domains[i]!, flips: d[a].flips, net: d[a].net, nullMedian: d[a].null.medianNet, excess: d[a].net - d[a].null.medianNet,
        })))),
        details: { domains: r.domains, stackFlips: mean(r.runs.map((run) => run.stack.flips.length)), jointFlips: mean(r.runs.map((run) => run.joint.flips.length)) },
      };
    },
    plot: (r) => ({
      title: 'Held-out net over the null per domain: each domain alone, the XOR stack, the joint patch',
      data: { values: r.table },
      layer: [
        { mark: { type: 'rule', color: '#888', strokeDash: [4, 3] }, encoding: { y: { datum: 0 } } },
        { mark: { type: 'point', filled: true, size: 60 }, encoding: {
          x: { field: 'arm', type: 'nominal', sort: ['own', 'stack', 'joint'], title: null, axis: { labelAngle: 0 } },
          y: { field: 'excess', type: 'quantitative', title: 'held-out net minus null median (per seed)' },
          color: { field: 'domain', type: 'nominal' }, xOffset: { field: 'domain', type: 'nominal' },
        } },
      ],
      width: 320, height: 220,
    }),
  },
];

export const EXPERIMENT_NAMES: readonly string[] = EXPERIMENTS.map((e) => e.name);

export function experimentByName(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
