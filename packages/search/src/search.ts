// The search driver: prepares probes, starts the evaluator, runs a strategy in a SearchContext,
// materializes accepted flips, keeps baselines current, and checkpoints every step so a killed
// search resumes to the same result an uninterrupted one gives.

import { xorFlips, type Model } from '@bankai/model';
import { matchProbe, prepareProbes, type Metric, type PreparedProbe, type Probe } from '@bankai/probes';
import { Evaluator, scoredSequences, type EvalResult, type EvalTask } from './evaluator.js';
import { fitness, stratumWeights, targetGain, validationFitness, type Aggregate, type FitnessOptions, type Objective } from './fitness.js';
import { FirstOrderModel } from './first-order.js';
import { hash32, Rng } from '@bankai/rng';
import { CandidateSpace, MLP_PROJECTIONS, SearchOptionError, type Candidate, type Granularity, type Projection } from './space.js';
import { resolveOptions, StrategyError, type Evaluation, type FirstOrderRanking, type ProgressEvent, type SearchContext, type Strategy } from './strategy.js';

/** Appends one JSON record to the checkpoint log, durably, before returning. */
export interface CheckpointSink {
  append(record: CheckpointRecord): void;
}

export interface SearchConfig {
  strategy: string;
  strategyOptions: Record<string, unknown>;
  seed: number;
  iterations: number;
  layers: number[];
  projs: Projection[];
  granularity: Granularity;
  metric: Metric;
  lambda: number;
  aggregate: Aggregate;
  minGain: number;
  /**
   * Most control probes a flip set may break (teacher-forced answer correct before, wrong after);
   * past it the candidate is rejected whatever its gain. Undefined: no limit.
   */
  maxBrokenControls?: number;
  /** Target gaps count up to this margin (see FitnessOptions.margin); undefined: no cap. */
  targetMargin?: number;
  /** Control gaps count only below this margin (see FitnessOptions.controlMargin); undefined: no cap. */
  controlMargin?: number;
  /** What the fitness counts (FitnessOptions.objective): 'gap' (undefined) or 'accuracy' (expected answers). */
  objective?: Objective;
  /** The accuracy objective's temperature (FitnessOptions.temperature). */
  temperature?: number;
  /**
   * The fraction of the targets' population the model answers right: targets are weighed so that
   * right and wrong ones count in that proportion (stratumWeights), in the fitness and in the
   * validation targets apart. Undefined: every target weighs 1.
   */
  passRate?: number;
  /**
   * A pass rate per target domain (by name): each domain's targets are weighed apart, with its
   * own rate (stratumWeights over that domain's fitness targets, and its validation targets
   * apart), so a joint search weighs every domain as its own search with its own natural sample
   * does. A domain not named falls back to `passRate` (or weights 1).
   */
  domainPassRates?: Record<string, number>;
  /**
   * Split each target domain's validation targets apart (validationSplit of the domain's own
   * targets, same seed), so a domain's validation targets in a joint search are exactly those its
   * own search held back with the same seed. With one domain this is the usual split. Default:
   * one split over all targets.
   */
  validationByDomain?: boolean;
  ownAnswerDistractors: boolean;
  /**
   * Fraction of the targets and of the controls held back from the fitness as validation (a
   * seeded split of each): every evaluation reports their fitness (Evaluation.validation), and
   * strategies that use it accept only flips it rewards. Undefined or 0: none.
   */
  validation?: number;
  /**
   * The patch the search starts from (e.g. the XOR stack of per-domain patches), every flip in
   * the search space: materialized after the original model's baseline and before the current
   * one, counted as accepted (a strategy may remove its flips), and recorded in the start record,
   * so a resume is exact. The fitness is still measured against the original model.
   */
  initialPatch?: Candidate[];
  /** Fingerprints of what is searched: a log from another model or probe set cannot be resumed. */
  modelSha256?: string;
  probesSha256?: string;
}

export type CheckpointRecord =
  | { type: 'start'; version: 1; config: SearchConfig }
  | {
    type: 'step'; iteration: number; rng: number[];
    /** Flips this step added to the patch (in the order it holds them). */
    accepted: Candidate[];
    /** Flips this step removed from the patch (absent when none). */
    removed?: Candidate[];
    fitness: number; evaluations: number;
  }
  | {
    /**
     * One final before/after table of the finished search (greedy generation), appended after
     * the last step by `bankai search`: ignored on resume, read by `bankai report`.
     */
    type: 'evaluation'; group: 'target' | 'heldout' | 'control' | 'heldout-control';
    n: number; correctBefore: number; correctAfter: number; fixed: number; broken: number; net: number;
    /** The random-patch null of the patch's size, when one was measured. */
    null?: { patches: number; flips: number; medianNet: number; maxNet: number; p: number };
  };

export interface SearchInput {
  model: Model;
  /** Target probes, each with the domain it belongs to (joint optimization), e.g. its file or category. */
  target: { probe: Probe; domain: string }[];
  control: Probe[];
  strategy: Strategy;
  config: SearchConfig;
  workers: number;
  checkpoint?: CheckpointSink;
  /** Records of an earlier, killed run of the same search (its checkpoint log). */
  resume?: CheckpointRecord[];
  onProgress?: (e: ProgressEvent) => void;
  /** Progress of the phases before the first step: own answers, residual caching, baselines. */
  onPhase?: (e: PhaseEvent) => void;
  signal?: AbortSignal;
  /** Cache each probe's residual stream at the first searched layer (default true; false recomputes every layer: benchmarks). Results are identical either way. */
  residualCache?: boolean;
  /**
   * Engine bytes for residual caches at the searched layers above the first (default
   * DEFAULT_LAYER_CACHE_BYTES; 0: only the first layer's). A candidate whose lowest flip is in
   * layer L resumes from the nearest cache at or below L; an accept recomputes the caches above
   * its lowest layer. Results are identical with any budget.
   */
  layerCacheBytes?: number;
  /** EvaluatorOptions.capture: 'plain' caches every sequence whole on one worker (benchmarks: the saving off). */
  residualCapture?: 'shared' | 'plain';
  /**
   * Cache the MLP stage of searched layers within what layerCacheBytes leaves after the residual
   * caches (default true; false: benchmarks, the saving off). Results are identical either way.
   */
  mlpCache?: boolean;
}

/** Default budget of SearchInput.layerCacheBytes: 1 GiB. */
export const DEFAULT_LAYER_CACHE_BYTES = 1 << 30;

/**
 * Which searched layers get a residual cache: always the first, then, while each costs
 * `bytesPerLayer` within `budgetBytes`, the layer that saves the most recomputed layers (the
 * widest gap above the nearest cache below it; ties: the lower layer). Ascending.
 */
export function chooseCacheLayers(layers: readonly number[], bytesPerLayer: number, budgetBytes: number): number[] {
  const sorted = [...new Set(layers)].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const chosen = [sorted[0]!];
  let left = budgetBytes;
  const rest = sorted.slice(1);
  while (rest.length > 0 && left >= bytesPerLayer) {
    let best = -1;
    let bestGap = 0;
    for (let i = 0; i < rest.length; i++) {
      const below = Math.max(...chosen.filter((c) => c < rest[i]!));
      const gap = rest[i]! - below;
      if (gap > bestGap) {
        best = i;
        bestGap = gap;
      }
    }
    chosen.push(rest.splice(best, 1)[0]!);
    left -= bytesPerLayer;
  }
  return chosen.sort((a, b) => a - b);
}

/** What the evaluator caches: residuals at the inputs of `cacheLayers`, MLP stages of `mlpLayers`. */
export interface LayerCachePlan {
  cacheLayers: number[];
  mlpLayers: number[];
}

/**
 * The evaluator's caches for a search, within `budgetBytes` (SearchInput.layerCacheBytes): the
 * residual caches of chooseCacheLayers first (they save whole layers), then, while the budget
 * lasts, the MLP stage of searched layers, highest first (where an evaluation is shortest, the
 * layer's own attention and gate / up are the largest part of it), when MLP projections are searched.
 * `residualBytes` / `stageBytes`: one layer's cache of each kind.
 */
export function planLayerCaches(opts: {
  layers: readonly number[]; projs: readonly Projection[]; residualBytes: number; stageBytes: number; budgetBytes: number; mlpCache?: boolean;
}): LayerCachePlan {
  const cacheLayers = chooseCacheLayers(opts.layers, opts.residualBytes, opts.budgetBytes);
  let left = opts.budgetBytes - (cacheLayers.length - 1) * opts.residualBytes;
  const mlpLayers: number[] = [];
  if (opts.mlpCache !== false && opts.projs.some((p) => MLP_PROJECTIONS.includes(p))) {
    for (const l of [...new Set(opts.layers)].sort((a, b) => b - a)) {
      if (left < opts.stageBytes) break;
      mlpLayers.push(l);
      left -= opts.stageBytes;
    }
  }
  return { cacheLayers, mlpLayers: mlpLayers.sort((a, b) => a - b) };
}

/** A phase before the first step: `done` of `total` units (probes, sequences) after `seconds`. */
export interface PhaseEvent {
  phase: 'own answers' | 'residual cache' | 'baselines';
  done: number;
  total: number;
  seconds: number;
}

/** Where a search's time went (seconds). */
export interface SearchTiming {
  /** Probe preparation, own answers, residual cache, worker start-up and baselines. */
  prepare: number;
  /** Exact candidate evaluations (ctx.evaluate), baselines after accepts included. */
  evaluation: number;
  /** First-order rankings (ctx.firstOrder). */
  firstOrder: number;
  /** Recomputing the residual caches above an accepted flip's layer (part of evaluation). */
  cacheRefresh: number;
  /** Everything else (the strategy's own work, checkpoints). */
  other: number;
}

export interface SearchResult {
  flips: Candidate[];
  /** Cumulative fitness of the patch against the original model. */
  fitness: number;
  /** The same for SearchConfig.initialPatch (0 without one): where the search started. */
  initialFitness: number;
  targetGain: number;
  controlLoss: number;
  /** Gaps of every probe (targets then controls) before and after. */
  baseGaps: Float64Array;
  finalGaps: Float64Array;
  baseCorrect: Uint8Array;
  finalCorrect: Uint8Array;
  /** The probes in gap order: fitness targets, fitness controls, validation targets, validation controls. */
  prepared: { target: PreparedProbe[]; control: PreparedProbe[]; validation: { target: PreparedProbe[]; control: PreparedProbe[] } };
  /** Steps that changed the patch: the flips each added (and removed, when any). */
  history: { iteration: number; flips: Candidate[]; removed?: Candidate[]; fitness: number }[];
  evaluations: number;
  /** Backward passes run for first-order rankings (ctx.firstOrder); their seconds are timing.firstOrder. */
  backwards: number;
  timing: SearchTiming;
  /** What the evaluator cached (SearchInput.layerCacheBytes): residuals at the inputs of these layers, the MLP stages of those. */
  caches: LayerCachePlan;
  seconds: number;
  stoppedEarly: boolean;
}

/**
 * The model's own greedy answer for each probe where it is neither right nor the file's
 * distractor: the gap must also beat what the model actually says, or a fixed pairwise gap can
 * turn into a third wrong answer.
 */
export function ownAnswers(model: Model, probes: readonly Probe[], onProbe?: (done: number) => void): Map<number, string[]> {
  const out = new Map<number, string[]>();
  probes.forEach((p, i) => {
    // as long as the longest answer the probe knows, plus room to say something else
    const longest = Math.max(...[p.correct, ...(p.alternates ?? []), ...(p.wrong !== undefined ? [p.wrong] : [])].map((a) => model.encode(a).length));
    const text = model.generate(p.prompt, { maxTokens: Math.min(24, 2 * longest + 2) }).text;
    if (text.trim() !== '' && matchProbe(p, text).verdict === 'other') out.set(i, [text]);
    onProbe?.(i + 1);
  });
  return out;
}

/**
 * Indices of the `fraction` of n probes held back as validation: a seeded shuffle on its own
 * stream (`what` names the list, so targets and controls split independently; the search's RNG
 * is untouched).
 */
export function validationSplit(n: number, fraction: number, seed: number, what = 'targets'): Set<number> {
  if (!(fraction >= 0 && fraction < 1)) throw new SearchOptionError(`--validation must be a fraction in [0, 1), got ${fraction}`);
  const k = Math.round(n * fraction);
  if (k === 0) return new Set();
  if (n - k < 1) throw new SearchOptionError(`--validation ${fraction} of ${n} ${what} leaves none for the fitness; give more probes or a smaller fraction`);
  const idx = new Rng(hash32(`validation:${what}:${seed}`)).shuffle(Array.from({ length: n }, (_, i) => i));
  return new Set(idx.slice(0, k));
}

const key = (c: Candidate) => `${c.tensor}:${c.row}:${c.group ?? -1}`;

/**
 * The validation split of SearchConfig.validationByDomain: each domain's targets (by position in
 * `domains`, one name per target) split by validationSplit(that domain's count, fraction, seed),
 * mapped back to target indices. One domain: validationSplit(n, fraction, seed) itself.
 */
export function validationByDomain(domains: readonly string[], fraction: number, seed: number): Set<number> {
  const byName = new Map<string, number[]>();
  domains.forEach((d, i) => {
    const idx = byName.get(d);
    if (idx) idx.push(i);
    else byName.set(d, [i]);
  });
  const held = new Set<number>();
  for (const [name, idx] of byName) {
    let split: Set<number>;
    try {
      split = validationSplit(idx.length, fraction, seed);
    } catch (e) {
      if (e instanceof SearchOptionError) throw new SearchOptionError(`domain ${name}: ${e.message}`);
      throw e;
    }
    for (const j of split) held.add(idx[j]!);
  }
  return held;
}

/**
 * stratumWeights per domain: `right` holds the fitness targets (the first nFit) then the
 * validation targets, `domainOf` their domains; each domain's fitness targets and its validation
 * targets are weighed apart with its pass rate (`rateOf`; undefined: weights 1).
 */
export function domainStratumWeights(right: ArrayLike<number>, domainOf: readonly string[], nFit: number, rateOf: (domain: string) => number | undefined): Float64Array {
  const w = new Float64Array(right.length).fill(1);
  for (const name of new Set(domainOf)) {
    const rate = rateOf(name);
    if (rate === undefined) continue;
    for (const [a, b] of [[0, nFit], [nFit, right.length]] as const) {
      const idx: number[] = [];
      for (let i = a; i < b; i++) if (domainOf[i] === name) idx.push(i);
      const sub = stratumWeights(idx.map((i) => right[i]!), rate, [[0, idx.length]]);
      idx.forEach((i, k) => (w[i] = sub[k]!));
    }
  }
  return w;
}

/** Each domain's gain on its validation targets (gaps[v0 ..], domain index per target, -1: none), by the fitness rules (weights, objective). */
function validationDomainGains(gaps: Float64Array, base: Float64Array, v0: number, domainOf: readonly number[], nDomains: number, opts: FitnessOptions): number[] {
  const idx: number[][] = Array.from({ length: nDomains }, () => []);
  domainOf.forEach((d, k) => {
    if (d >= 0) idx[d]!.push(k);
  });
  const w = opts.targetWeights;
  const nFit = w ? w.length - domainOf.length : 0;
  return idx.map((ks) => {
    if (ks.length === 0) return 0;
    // the same per-probe terms as targetGain, on this domain's validation targets alone
    const g = Float64Array.from(ks, (k) => gaps[v0 + k]!);
    const b = Float64Array.from(ks, (k) => base[v0 + k]!);
    return targetGain(g, b, ks.length, { ...opts, domains: undefined, validation: undefined, aggregate: 'mean', targetWeights: w ? Float64Array.from(ks, (k) => w[nFit + k]!) : undefined }).gain;
  });
}

/** The patch after a step: its removed flips taken out, its added ones appended (how a resume replays the log). */
function applyStep(patch: readonly Candidate[], added: readonly Candidate[], removed: readonly Candidate[]): Candidate[] {
  const gone = new Set(removed.map(key));
  return [...patch.filter((c) => !gone.has(key(c))), ...added];
}

function sameConfig(a: SearchConfig, b: SearchConfig): string | undefined {
  for (const k of Object.keys({ ...a, ...b }) as (keyof SearchConfig)[]) {
    if (k === 'iterations') continue; // a resumed search may run longer
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `${k}: log has ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`;
  }
  return undefined;
}

export async function runSearch(input: SearchInput): Promise<SearchResult> {
  const t0 = performance.now();
  const { model, config } = input;
  const space = new CandidateSpace(model, { layers: config.layers, projs: config.projs, granularity: config.granularity });
  const strategyOptions = resolveOptions(input.strategy, config.strategyOptions as Record<string, string>);
  if (config.passRate !== undefined && !(config.passRate > 0 && config.passRate < 1)) throw new SearchOptionError(`--pass-rate must be a fraction in (0, 1), got ${config.passRate}`);
  for (const [d, p] of Object.entries(config.domainPassRates ?? {})) {
    if (!(p > 0 && p < 1)) throw new SearchOptionError(`pass rate of domain ${d} must be a fraction in (0, 1), got ${p}`);
    if (!input.target.some((t) => t.domain === d)) throw new SearchOptionError(`pass rate given for domain ${d}, which no target belongs to`);
  }

  // ---- probes: targets get the model's own wrong answer as a distractor ----
  const targetProbes = input.target.map((t) => t.probe);
  // (the competitor metric scores every other token already: no distractor needed)
  const phase = (name: PhaseEvent['phase'], total: number) => (done: number) =>
    input.onPhase?.({ phase: name, done, total, seconds: (performance.now() - t0) / 1000 });
  const extra = config.ownAnswerDistractors && config.metric !== 'competitor'
    ? ownAnswers(model, targetProbes, phase('own answers', targetProbes.length))
    : new Map<number, string[]>();
  const allTarget = prepareProbes(model.tokenizer, targetProbes, { extraDistractors: extra });
  // validation: seeded subsets of the targets and of the controls, scored last and kept out of the fitness
  const held = config.validationByDomain ? validationByDomain(input.target.map((t) => t.domain), config.validation ?? 0, config.seed) : validationSplit(allTarget.length, config.validation ?? 0, config.seed);
  const target = allTarget.filter((_, i) => !held.has(i));
  const allControl = prepareProbes(model.tokenizer, input.control);
  const heldControl = validationSplit(allControl.length, config.validation ?? 0, config.seed, 'controls');
  const control = allControl.filter((_, i) => !heldControl.has(i));
  const validation = { target: allTarget.filter((_, i) => held.has(i)), control: allControl.filter((_, i) => heldControl.has(i)) };
  const scored = [...target, ...control, ...validation.target, ...validation.control];
  const fitDomains = input.target.filter((_, i) => !held.has(i));
  const heldDomains = input.target.filter((_, i) => held.has(i)).map((t) => t.domain);
  const domainNames = [...new Set(fitDomains.map((t) => t.domain))];
  const domains = domainNames.map((name) => ({ name, probes: fitDomains.flatMap((t, i) => (t.domain === name ? [i] : [])) }));
  const domainIndex = new Map(domains.map((d, k) => [d.name, k]));
  // each validation target's domain, as an index into `domains` (-1: a domain with no fit targets)
  const heldDomainIndex = heldDomains.map((n) => domainIndex.get(n) ?? -1);
  const fitOpts: FitnessOptions = {
    lambda: config.lambda,
    aggregate: config.aggregate,
    margin: config.targetMargin,
    controlMargin: config.controlMargin,
    objective: config.objective,
    temperature: config.temperature,
    validation: { targets: validation.target.length, controls: validation.control.length },
    domains: domains.length > 1 ? domains.map((d) => d.probes) : undefined,
  };

  // ---- resume: replay the log's accepted flips, RNG state and iteration ----
  const rng = new Rng(config.seed);
  const initial = config.initialPatch ?? [];
  {
    const seen = new Set<string>();
    for (const c of initial) {
      if (space.indexOf(c) < 0) throw new StrategyError(`initial patch: ${key(c)} is not in the search space (layers ${config.layers.join(',')}, ${config.projs.join(',')} ${config.granularity}s)`);
      if (seen.has(key(c))) throw new StrategyError(`initial patch: ${key(c)} appears twice (XOR them away first)`);
      seen.add(key(c));
    }
  }
  let accepted: Candidate[] = [...initial];
  const history: SearchResult['history'] = [];
  let startIteration = 0;
  let evaluationsBefore = 0;
  if (input.resume && input.resume.length > 0) {
    const start = input.resume[0]!;
    if (start.type !== 'start') throw new StrategyError('checkpoint log: the first record is not a start record');
    const diff = sameConfig(start.config, config);
    if (diff) throw new StrategyError(`checkpoint log belongs to a different search (${diff}); start a new one or pass the same options`);
    for (const r of input.resume.slice(1)) {
      if (r.type !== 'step') continue;
      accepted = applyStep(accepted, r.accepted, r.removed ?? []);
      if (r.accepted.length || r.removed?.length) history.push({ iteration: r.iteration, flips: r.accepted, ...(r.removed?.length ? { removed: r.removed } : {}), fitness: r.fitness });
      rng.state = r.rng;
      startIteration = r.iteration + 1;
      evaluationsBefore = r.evaluations;
    }
  } else {
    input.checkpoint?.append({ type: 'start', version: 1, config });
  }

  // the sequences the metric scores are cached (the competitor metric: correct answers only)
  const cachedOf = (p: PreparedProbe) => (input.residualCapture === 'plain' ? p.sequences.length : scoredSequences(p, config.metric));
  const nSeq = scored.reduce((n, p) => n + cachedOf(p), 0);
  const cachedTokens = scored.reduce((n, p) => n + p.sequences.slice(0, cachedOf(p)).reduce((m, s) => m + s.tokens.length - 1, 0), 0);
  const { cacheLayers, mlpLayers } = input.residualCache === false
    ? { cacheLayers: [0], mlpLayers: [] }
    : planLayerCaches({
      layers: config.layers, projs: config.projs, residualBytes: cachedTokens * model.config.nEmbd * 4,
      stageBytes: cachedTokens * (model.config.nEmbd + model.config.nFf) * 4, budgetBytes: input.layerCacheBytes ?? DEFAULT_LAYER_CACHE_BYTES,
      mlpCache: input.mlpCache,
    });
  const evaluator = await Evaluator.create(model, target, scored.slice(target.length), {
    workers: input.workers, metric: config.metric, firstLayer: cacheLayers[0]!, cacheLayers, mlpLayers,
    onSequence: phase('residual cache', nSeq), capture: input.residualCapture,
  });
  const lowestLayer = (flips: readonly Candidate[]) => Math.min(...flips.map((c) => Number(/^blk\.(\d+)\./.exec(c.tensor)![1])));
  let refreshSeconds = 0;
  let evaluationSeconds = 0;
  const evaluate = async (tasks: EvalTask[]): Promise<EvalResult[]> => {
    const te = performance.now();
    try {
      return await evaluator.evaluate(tasks);
    } finally {
      evaluationSeconds += (performance.now() - te) / 1000;
    }
  };
  // candidate evaluations (baselines are not counted: a resumed search counts as an uninterrupted one)
  let evaluations = evaluationsBefore;
  let applied = false;
  let firstOrderModel: FirstOrderModel | undefined;
  let backwards = 0;
  let firstOrderSeconds = 0;
  try {
    phase('baselines', 1)(0);
    const [original] = await evaluator.evaluate([{ flips: [], part: 'all' }]);
    xorFlips(model, accepted);
    applied = true;
    if (accepted.length > 0) await evaluator.refresh(lowestLayer(accepted)); // (resumed or initial flips; part of the preparation)
    // with nothing accepted yet the current model is the original: the same baseline, bit for bit
    let [base] = accepted.length === 0 ? [original] : await evaluator.evaluate([{ flips: [], part: 'all' }]);
    phase('baselines', 1)(1);
    const prepareSeconds = (performance.now() - t0) / 1000;
    const base0 = original!;
    if (config.passRate !== undefined || config.domainPassRates !== undefined) {
      // strata from the original model's answers; fit targets first, then the validation targets
      const t0 = target.length + control.length;
      const right = Uint8Array.from([...base0.correct.subarray(0, target.length), ...base0.correct.subarray(t0, t0 + validation.target.length)]);
      if (config.domainPassRates === undefined) fitOpts.targetWeights = stratumWeights(right, config.passRate!, [[0, target.length], [target.length, right.length]]);
      else fitOpts.targetWeights = domainStratumWeights(right, [...fitDomains.map((t) => t.domain), ...heldDomains], target.length, (d) => config.domainPassRates![d] ?? config.passRate);
    }
    let current = fitness(base!.gaps, base0.gaps, target.length, fitOpts);
    let initialFitness = 0;
    if (initial.length > 0) {
      if (accepted.length === initial.length && accepted.every((c, i) => key(c) === key(initial[i]!))) initialFitness = current.fitness;
      else {
        // resumed past a change of the patch: the initial patch is the accepted one toggled back
        const now = new Set(accepted.map(key));
        const was = new Set(initial.map(key));
        const back = [...accepted.filter((c) => !was.has(key(c))), ...initial.filter((c) => !now.has(key(c)))];
        const [r] = await evaluator.evaluate([{ flips: back, part: 'all' }]);
        initialFitness = fitness(r!.gaps, base0.gaps, target.length, fitOpts).fitness;
      }
    }
    const acceptedKeys = new Set(accepted.map(key));
    // the patch as the current step found it (a step's net change is checkpointed at its end)
    let stepStart: Candidate[] = [];
    let inFlight = 0;
    let stoppedEarly = false;
    const signal = input.signal ?? new AbortController().signal;

    const toEvaluation = (flips: Candidate[], r: EvalResult, screenedOut: boolean): Evaluation => {
      const nT = target.length;
      // screened: targets only, so the control loss is 0 and the fitness is its upper bound
      const f = fitness(r.gaps, screenedOut ? base!.gaps.subarray(0, nT) : base!.gaps, nT, fitOpts);
      let targetCorrect = 0;
      let controlCorrect = 0;
      let brokenControls = 0;
      for (let i = 0; i < r.correct.length; i++) {
        if (r.correct[i]) {
          if (i < nT) targetCorrect++;
          else if (i < nT + control.length) controlCorrect++;
        } else if (i >= nT && i < nT + control.length && base!.correct[i]) brokenControls++;
      }
      if (!screenedOut && config.maxBrokenControls !== undefined && brokenControls > config.maxBrokenControls) f.fitness = -Infinity;
      const v = screenedOut ? undefined : validationFitness(r.gaps, base!.gaps, fitOpts);
      // validation answers (teacher-forced) this candidate fixes and breaks, in all and per target domain
      let vFixed = 0;
      let vBroken = 0;
      const perDomain = v && domains.length > 1 ? domains.map(() => ({ targetGain: 0, fixed: 0, broken: 0 })) : undefined;
      if (v) {
        const v0 = nT + control.length;
        for (let i = v0; i < r.correct.length; i++) {
          const d = perDomain && i < v0 + heldDomains.length ? perDomain[heldDomainIndex[i - v0]!] : undefined;
          if (r.correct[i] && !base!.correct[i]) {
            vFixed++;
            if (d) d.fixed++;
          } else if (!r.correct[i] && base!.correct[i]) {
            vBroken++;
            if (d) d.broken++;
          }
        }
        if (perDomain) {
          const g = validationDomainGains(r.gaps, base!.gaps, v0, heldDomainIndex, domains.length, fitOpts);
          perDomain.forEach((d, k) => (d.targetGain = g[k]!));
        }
      }
      const pf = screenedOut ? undefined : fitness(r.gaps, base0.gaps, nT, fitOpts).fitness;
      return {
        flips, ...f, screenedOut, targetCorrect, controlCorrect, brokenControls,
        ...(v ? { validation: { fitness: v.fitness, targetGain: v.targetGain, controlLoss: v.controlLoss, se: v.se, fixed: vFixed, broken: vBroken, ...(perDomain ? { domains: perDomain } : {}) } } : {}),
        ...(pf !== undefined ? { patchFitness: pf } : {}),
      };
    };

    const emit = (iteration: number, message?: string) => {
      const secs = (performance.now() - t0) / 1000;
      const evals = evaluations - evaluationsBefore;
      const done = iteration + 1 - startIteration;
      const left = config.iterations - iteration - 1;
      input.onProgress?.({
        iteration, iterations: config.iterations, accepted: accepted.length, fitness: current.fitness,
        evaluations: evaluations, evalsPerSecond: evals / Math.max(secs, 1e-9),
        etaSeconds: done > 0 ? (secs / done) * left : NaN, message,
      });
    };

    /** Checkpoints step `it`: its net change (flips added in patch order, flips removed); the patch
     *  is put in the order a resume rebuilds it in (removed and re-added flips keep their place). */
    const endStep = (it: number) => {
      if (inFlight) throw new StrategyError('a strategy must await its evaluations before the next step');
      const was = new Set(stepStart.map(key));
      const added = accepted.filter((c) => !was.has(key(c)));
      const removed = stepStart.filter((c) => !acceptedKeys.has(key(c)));
      accepted = applyStep(stepStart, added, removed);
      input.checkpoint?.append({ type: 'step', iteration: it, rng: rng.state, accepted: added, ...(removed.length ? { removed } : {}), fitness: current.fitness, evaluations: evaluations });
      if (added.length || removed.length) history.push({ iteration: it, flips: added, ...(removed.length ? { removed } : {}), fitness: current.fitness });
      emit(it);
    };

    const ctx: SearchContext<Record<string, unknown>> = {
      options: strategyOptions,
      space,
      rng,
      budget: { iterations: config.iterations },
      minGain: config.minGain,
      get accepted() {
        return accepted;
      },
      get fitness() {
        return current.fitness;
      },
      domains,
      signal,
      *steps() {
        for (let it = startIteration; it < config.iterations; it++) {
          if (signal.aborted) {
            stoppedEarly = true;
            return;
          }
          stepStart = [...accepted];
          let finished = false;
          try {
            yield it;
            finished = true;
          } finally {
            // a strategy that breaks out of the loop after accepting in this step still gets the
            // step checkpointed (a resume must rebuild the same patch); an unchanged one needs none
            const changed = accepted.length !== stepStart.length || accepted.some((c, i) => key(c) !== key(stepStart[i]!));
            if (finished || (changed && inFlight === 0)) endStep(it);
          }
        }
      },
      async evaluate(flipSets, opts = {}) {
        for (const fs of flipSets) {
          for (const c of fs) {
            if (space.indexOf(c) < 0) throw new StrategyError(`candidate ${key(c)} is not in the search space`);
          }
        }
        inFlight++;
        evaluations += flipSets.length;
        try {
          if (!opts.screen) {
            const rs = await evaluate(flipSets.map((flips) => ({ flips: [...flips], part: 'all' as const })));
            return rs.map((r, i) => toEvaluation([...flipSets[i]!], r, false));
          }
          // screening: targets first; only candidates whose target gain could pass see the controls
          const screened = await evaluate(flipSets.map((flips) => ({ flips: [...flips], part: 'target' as const })));
          const out: Evaluation[] = screened.map((r, i) => toEvaluation([...flipSets[i]!], r, true));
          const pass = out.flatMap((e, i) => (e.fitness > config.minGain ? [i] : []));
          const full = await evaluate(pass.map((i) => ({ flips: [...flipSets[i]!], part: 'all' as const })));
          pass.forEach((i, k) => {
            out[i] = toEvaluation([...flipSets[i]!], full[k]!, false);
          });
          return out;
        } finally {
          inFlight--;
        }
      },
      async accept(e) {
        if (inFlight) throw new StrategyError('accept() while evaluations are running');
        if (e.screenedOut) throw new StrategyError('accept(): this candidate was screened out; evaluate it without screening first');
        const seen = new Set<string>();
        for (const c of e.flips) {
          if (seen.has(key(c))) throw new StrategyError(`accept(): ${key(c)} appears twice in the flip set`);
          seen.add(key(c));
        }
        // a flip already in the patch is removed (XOR toggles it back), any other one is added
        xorFlips(model, e.flips);
        if (e.flips.length > 0) {
          const tr = performance.now();
          refreshSeconds += await evaluator.refresh(lowestLayer(e.flips));
          evaluationSeconds += (performance.now() - tr) / 1000;
        }
        firstOrderModel?.update(e.flips);
        for (const c of e.flips) {
          const k = key(c);
          if (acceptedKeys.delete(k)) accepted = accepted.filter((a) => key(a) !== k);
          else {
            acceptedKeys.add(k);
            accepted.push(c);
          }
        }
        [base] = await evaluate([{ flips: [], part: 'all' }]);
        current = fitness(base!.gaps, base0.gaps, target.length, fitOpts);
      },
      async firstOrder(opts = {}): Promise<FirstOrderRanking> {
        if (inFlight) throw new StrategyError('firstOrder() while evaluations are running');
        firstOrderModel ??= new FirstOrderModel(model, space, scored, config.metric, evaluator);
        const fx = await firstOrderModel.compute();
        backwards += fx.backwards;
        firstOrderSeconds += fx.seconds;
        const { size, nProbes, deltas } = fx;
        const baseGaps = base!.gaps;
        // patch: every candidate toggled (accepted ones removed), scored against the original model
        const against = opts.patch ? base0.gaps : baseGaps;
        const predicted = new Float64Array(nProbes);
        const fit = new Float64Array(size);
        for (let c = 0; c < size; c++) {
          if (!opts.patch && acceptedKeys.has(key(space.candidate(c)))) {
            fit[c] = -Infinity;
            continue;
          }
          for (let i = 0; i < nProbes; i++) predicted[i] = baseGaps[i]! + deltas[i * size + c]!;
          fit[c] = fitness(predicted, against, target.length, fitOpts).fitness;
        }
        const order = Uint32Array.from({ length: size }, (_, i) => i)
          .filter((c) => fit[c] !== -Infinity)
          .sort((a, b) => fit[b]! - fit[a]! || a - b);
        return { fitness: fit, order, delta: (i, c) => deltas[i * size + c]!, backwards: fx.backwards };
      },
      isAccepted: (c) => acceptedKeys.has(key(c)),
      progress: (message) => emit(Math.max(startIteration - 1, 0), message),
    };

    await input.strategy.run(ctx as SearchContext<never>);
    const final = base!;
    return {
      flips: [...accepted],
      fitness: current.fitness,
      initialFitness,
      targetGain: current.targetGain,
      controlLoss: current.controlLoss,
      baseGaps: base0.gaps,
      finalGaps: final.gaps,
      baseCorrect: base0.correct,
      finalCorrect: final.correct,
      prepared: { target, control, validation },
      history,
      evaluations: evaluations,
      backwards,
      timing: (() => {
        const total = (performance.now() - t0) / 1000;
        return { prepare: prepareSeconds, evaluation: evaluationSeconds, firstOrder: firstOrderSeconds, cacheRefresh: refreshSeconds, other: Math.max(0, total - prepareSeconds - evaluationSeconds - firstOrderSeconds) };
      })(),
      seconds: (performance.now() - t0) / 1000,
      stoppedEarly,
      caches: { cacheLayers, mlpLayers },
    };
  } finally {
    firstOrderModel?.release(); // laid out after the evaluator: freed first
    await evaluator.destroy();
    // the caller gets the model back as it was; the patch is in the result
    if (applied) xorFlips(model, accepted);
  }
}
