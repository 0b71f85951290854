// The stacking study: does one joint patch do better than stacking per-domain patches by XOR?
// Per seed:
//   own     search each domain alone on its targets (the shared controls guard the rest)
//   stack   the XOR of the domain patches (a flip two patches share cancels)
//   joint   the joint strategy on every domain's targets at once, started from the stack
//           (SearchConfig.initialPatch), so it can only repair it on the search objective
// then, on probes no search saw, greedy generation per domain (its held-out probes) and on the
// other skills' held-out probes, each arm next to a random-patch null: K random patches with the
// arm's flip count over the search's space (patch-eval.ts: randomPatch from Rng(null seed) in
// order, as `bankai eval --null K --null-seed S` draws them). And where stacking cancels: every
// flip of the domain patches, measured exactly on the joint search objective (what it does to
// each domain's mean gain in the stack), conflicts (helps one domain, costs another) flagged.

import { xorFlips, type Model } from '@bankai/model';
import { evaluateGeneration, type GenerationResult, type Probe } from '@bankai/probes';
import { Rng } from '@bankai/rng';
import type { Aggregate } from './fitness.js';
import { samplePassRate } from './pass-rate.js';
import { countChanges, DEFAULT_NULL_PATCHES, randomPatch, summarizeNull, type ChangeCounts } from './patch-eval.js';
import { runSearch, type CheckpointRecord, type CheckpointSink, type SearchConfig, type SearchResult } from './search.js';
import { CandidateSpace, type Candidate } from './space.js';
import { defineStrategy, type Evaluation, type ProgressEvent, type Strategy } from './strategy.js';
import { spread, type Spread } from './stats.js';
import type { GroupOutcome } from './study.js';

export interface StackDomain {
  name: string;
  /** What the domain's own search, and the joint search, optimize. */
  target: Probe[];
  /** The domain's probes no search sees: its row of the table. */
  heldout: Probe[];
  /**
   * A natural sample of the domain (prompts in the model's own mix of right and wrong answers,
   * e.g. its training examples), as `bankai search --sample` takes it: added to the domain's
   * targets in its own search and in the joint one, and unless `passRate` is given its greedy
   * accuracy (samplePassRate) is the domain's pass rate. Optional.
   */
  sample?: Probe[];
  /**
   * The domain's pass rate (SearchConfig.passRate in its own search, domainPassRates in the
   * joint one); default: the sample's, or none (every target weighs 1).
   */
  passRate?: number;
}

export interface StackStrategy {
  strategy: Strategy;
  /** Strategy options (`key=value` as strings, or typed values). */
  options?: Record<string, string | number | boolean>;
  /** Its searches' step budget (SearchConfig.iterations); default: the study config's. */
  iterations?: number;
}

export interface StackStudyInput {
  model: Model;
  /** Two or more. */
  domains: StackDomain[];
  /** Controls every search guards. */
  control: Probe[];
  /** Held-out probes of the other skills (collateral damage); optional. */
  other?: Probe[];
  /** The strategy each domain is searched with alone. */
  single: StackStrategy;
  /** The strategy of the joint patch; it starts from the stack (its initial patch). */
  joint: StackStrategy;
  /**
   * Shared by every search; strategy, seed and initial patch are set per search, and the pass
   * rates per domain (StackDomain.passRate or its sample's; `passRate` here: the rate of a domain
   * with neither). The joint search (and the study's
   * exact measurements on its objective) splits validation per domain
   * (SearchConfig.validationByDomain): each domain's validation targets are those its own search
   * held back, so the joint search's held-out proxy holds nothing a domain patch was chosen on.
   */
  config: Omit<SearchConfig, 'strategy' | 'strategyOptions' | 'seed' | 'initialPatch' | 'domainPassRates' | 'validationByDomain'>;
  /**
   * How the joint search trades a domain's gain against the controls. The joint fitness averages
   * the domains' gains, so with the config's lambda a flip's effect on one domain counts 1/D of
   * what it counts in that domain's own search against the same control loss, and the joint
   * search re-judges every flip at another exchange rate. 'domain' (default): lambda and min-gain
   * divided by D, so the joint fitness is (sum of the domains' gains - lambda x control loss) / D
   * and a flip's answers weigh against the controls as in its own domain's search. 'mean': the
   * config's lambda and min-gain as they are (the study before).
   */
  jointTradeoff?: 'domain' | 'mean';
  /**
   * How the joint fitness combines the domains' gains: 'mean' (default; every domain weighs the
   * same) or 'min' (the worst-off domain's gain: a move that takes from a domain doing well to give
   * back to one the stack costs is accepted when it raises the lower of the two). Only the joint
   * search and its objective change; each domain's own search is the same.
   */
  jointAggregate?: Aggregate;
}

/** One search of the study: a domain alone, or the joint one. */
export interface StackSearchId {
  kind: 'alone' | 'joint';
  /** The domain, for kind 'alone'. */
  domain?: string;
  seed: number;
}

export interface StackStudyOptions {
  seeds: readonly number[];
  workers: number;
  /** K random patches per null (default 20, as `bankai eval`). */
  nullPatches?: number;
  /** The null's seed; default: each run's own seed. */
  nullSeed?: number;
  /** Most tokens of greedy generation per probe (default 32). */
  maxTokens?: number;
  /** Every search's evaluator cache budget (SearchInput.layerCacheBytes; results are the same for any size). */
  layerCacheBytes?: number;
  /** A checkpoint sink, and the records of an earlier killed run, per search: a killed study resumes. */
  checkpoints?: (id: StackSearchId) => { sink?: CheckpointSink; resume?: CheckpointRecord[] };
  onProgress?: (message: string) => void;
  onSearchProgress?: (id: StackSearchId, e: ProgressEvent) => void;
  /** Each seed's run as it finishes (a long study can save what it has). */
  onRun?: (run: StackRun) => void;
  signal?: AbortSignal;
}

export const STACK_ARMS = ['own', 'stack', 'joint'] as const;
/** own: the domain's own patch; stack: the XOR of all domain patches; joint: the joint patch. */
export type StackArm = (typeof STACK_ARMS)[number];

export interface StackPatch {
  flips: Candidate[];
  /** Fitness on the joint search objective (every domain's targets, the controls) against the original model. */
  fitness: number;
  /** Each domain's mean gain on that objective (domain order). */
  domainGains: number[];
  /** Candidate evaluations and seconds of the search that found it (0 for the stack). */
  evaluations: number;
  seconds: number;
  stoppedEarly: boolean;
}

/** A flip of some domain patch, measured exactly on the joint search objective. */
export interface StackFlip {
  flip: Candidate;
  /** Domains whose own patch flips it. */
  from: string[];
  /** False when an even number of the domain patches flip it: the XOR stack cancels it. */
  inStack: boolean;
  inJoint: boolean;
  /**
   * Per domain: what the flip does to that domain's mean gain in the stack: the stack with it
   * minus the stack without it (a cancelled flip: what adding it back would do).
   */
  effect: number[];
  /** It helps some domain by more than the threshold and costs another more than that. */
  conflict: boolean;
}

export interface StackCancellation {
  /** Every flip of a domain patch, in stack order, cancelled ones after. */
  flips: StackFlip[];
  /** Effects within +-threshold (the search's minimum gain) count as none. */
  threshold: number;
  /** Per domain: its mean gain from its own patch alone, in the stack and in the joint patch; the stack's flips that cost it; its own flips the stack cancels. */
  domains: { name: string; alone: number; stacked: number; joint: number; costlyFlips: number; cancelledFlips: number }[];
}

export interface StackOutcome extends GroupOutcome {
  /** Flips of the patch measured. */
  flips: number;
}

/** One domain's held-out probes under each arm, and under every domain's own patch. */
export interface StackHeldout extends Record<StackArm, StackOutcome> {
  /**
   * Every domain's own patch (domain order) on this domain's held-out probes; byOwn[d] of domain d
   * is its `own`. What another domain's patch does here is what stacking it costs this domain
   * before any repair, in answers rather than on the objective.
   */
  byOwn: StackOutcome[];
}

export interface StackRun {
  seed: number;
  /** Per domain, in domain order. */
  own: StackPatch[];
  stack: StackPatch;
  joint: StackPatch;
  /** The joint search's fitness at its start (the stack's, by the joint search itself). */
  jointInitialFitness: number;
  /** Per domain: each arm on the domain's held-out probes, against its null. */
  heldout: StackHeldout[];
  /** The other skills' held-out probes: each domain's own patch (domain order), the stack, the joint patch. */
  other?: { own: StackOutcome[]; stack: StackOutcome; joint: StackOutcome };
  cancellation: StackCancellation;
}

export interface StackCell {
  /** A domain name, or OTHER_SKILLS for the other skills' held-out probes. */
  domain: string;
  arm: StackArm;
  n: number;
  correctBefore: number;
  flips: Spread;
  net: Spread;
  fixed: Spread;
  broken: Spread;
  nullMedianNet: Spread;
  nullMaxNet: Spread;
  /** Runs whose net beats the null's maximum. */
  beatsNullMax: number;
  /** The arm's patch on the joint search objective (own: the domain's own patch), and this domain's gain there. */
  fitness: Spread;
  domainGain?: Spread;
}

export const OTHER_SKILLS = '(other skills)';

export interface StackStudyResult {
  domains: string[];
  /** Each domain's pass rate (its own or its sample's; undefined: weights 1) and its sample's size and right answers. */
  passRates: { passRate?: number; sample: number; sampleRight?: number }[];
  seeds: number[];
  nullPatches: number;
  /** undefined: each run's own seed. */
  nullSeed?: number;
  runs: StackRun[];
  /** Per domain (then the other skills), per arm, over the seeds. */
  cells: StackCell[];
  /** The joint patch against the naive stack, per domain, over the seeds. */
  verdict: StackVerdict;
  seconds: number;
}

/** The joint patch against the naive stack on held-out probes, per domain over the runs. */
export interface StackVerdict {
  domains: {
    domain: string;
    /** Mean over the runs of the joint patch's held-out net minus the stack's. */
    jointMinusStack: number;
    /** Runs in which the domain's own patch beat its null's maximum. */
    ownAboveNullMax: number;
    /** Mean over the runs and the other domains of their own patch's held-out net on this domain (StackHeldout.byOwn). */
    othersOwnNet: number;
  }[];
  /** The joint patch's mean net is >= the stack's on every domain. */
  neverWorse: boolean;
  /** Domains where the joint patch's mean net is above the stack's and the domain's own patch beat its null's maximum in some run. */
  betterWhereOwnBeatsNull: string[];
}

const key = (c: Candidate) => `${c.tensor}:${c.row}:${c.group ?? -1}`;

/**
 * The XOR stack of patches: every flip an odd number of them hold, in first-seen order (a flip
 * two of them share cancels): the mask compose() of @bankai/patch-format gives, on candidates.
 */
export function xorStack(patches: readonly (readonly Candidate[])[]): Candidate[] {
  const count = new Map<string, { c: Candidate; n: number }>();
  for (const p of patches) {
    for (const c of p) {
      const e = count.get(key(c));
      if (e) e.n++;
      else count.set(key(c), { c, n: 1 });
    }
  }
  return [...count.values()].filter((e) => e.n % 2 === 1).map((e) => e.c);
}

/** A strategy that only evaluates the given flip sets (against the original model) and keeps their evaluations. */
function measuring(sets: readonly Candidate[][], out: Evaluation[]): Strategy {
  return defineStrategy({
    name: 'stack-measure',
    description: 'evaluates given flip sets once (the stacking study\'s exact measurements)',
    options: {},
    async run(ctx) {
      for (const _ of ctx.steps()) {
        out.push(...(sets.length ? await ctx.evaluate(sets.map((s) => [...s])) : []));
        break;
      }
    },
  }) as Strategy;
}

export async function runStackStudy(input: StackStudyInput, opts: StackStudyOptions): Promise<StackStudyResult> {
  const t0 = performance.now();
  const { model, domains, config } = input;
  if (domains.length < 2) throw new RangeError(`runStackStudy: give two or more domains, got ${domains.length}`);
  if (new Set(domains.map((d) => d.name)).size !== domains.length) throw new RangeError('runStackStudy: domain names must differ');
  if (opts.seeds.length === 0) throw new RangeError('runStackStudy: no seeds');
  const K = opts.nullPatches ?? DEFAULT_NULL_PATCHES;
  if (!Number.isInteger(K) || K < 0) throw new RangeError(`runStackStudy: nullPatches must be an integer >= 0, got ${K}`);
  for (const [name, s] of [['single', input.single], ['joint', input.joint]] as const) {
    if (s.iterations !== undefined && !(Number.isInteger(s.iterations) && s.iterations >= 1)) {
      throw new RangeError(`runStackStudy: ${name}.iterations must be an integer >= 1, got ${s.iterations}`);
    }
  }
  const maxTokens = opts.maxTokens ?? 32;
  const say = opts.onProgress ?? (() => undefined);
  const other = input.other ?? [];

  // ---- greedy generation on every probe no search sees: the domains' held-out sets, then the others ----
  const groups = [...domains.map((d) => d.heldout), other];
  const starts = [0];
  for (const g of groups) starts.push(starts[starts.length - 1]! + g.length);
  const evalProbes = groups.flat();
  const generations = (flips: readonly Candidate[]): GenerationResult[] => {
    xorFlips(model, flips);
    try {
      return evaluateGeneration(model, evalProbes, { maxTokens }).results;
    } finally {
      xorFlips(model, flips);
    }
  };
  const before = generations([]);
  /** Fixed / broken per group (domains, then other). */
  const counts = (after: GenerationResult[]): ChangeCounts[] =>
    groups.map((_, g) => countChanges(before.slice(starts[g], starts[g + 1]).map((b, i) => ({ before: b, after: after[starts[g]! + i]! }))));
  const space = new CandidateSpace(model, { layers: config.layers, projs: config.projs, granularity: config.granularity });
  const nulls = new Map<string, ChangeCounts[][]>();
  const nullOf = (size: number, seed: number): ChangeCounts[][] => {
    const k = `${size}:${seed}`;
    let n = nulls.get(k);
    if (!n) {
      say(`null: ${K} random ${size}-flip patches (seed ${seed})`);
      const rng = new Rng(seed);
      n = Array.from({ length: K }, () => counts(generations(randomPatch(space, size, rng))));
      nulls.set(k, n);
    }
    return n;
  };
  const outcomes = (flips: readonly Candidate[], seed: number): StackOutcome[] => {
    const own = counts(generations(flips));
    const nul = nullOf(flips.length, opts.nullSeed ?? seed);
    return own.map((c, g) => ({ ...c, flips: flips.length, null: summarizeNull(c.net, flips.length, nul.map((x) => x[g]!)) }));
  };

  // ---- each domain's natural sample and pass rate, as `bankai search --sample` sets them ----
  const passRates = domains.map((d) => {
    const sample = d.sample ?? [];
    if (d.passRate !== undefined && !(d.passRate > 0 && d.passRate < 1)) throw new RangeError(`runStackStudy: domain ${d.name}: passRate must be in (0, 1), got ${d.passRate}`);
    const given = d.passRate ?? (sample.length === 0 ? config.passRate : undefined);
    if (given !== undefined || sample.length === 0) return { ...(given !== undefined ? { passRate: given } : {}), sample: sample.length };
    const r = samplePassRate(model, sample, { maxTokens });
    say(`${d.name}: sample ${r.right} of ${r.n} right, pass rate ${r.passRate.toFixed(3)}`);
    return { passRate: r.passRate, sample: r.n, sampleRight: r.right };
  });
  const targetsOf = (ds: readonly StackDomain[]) => ds.flatMap((d) => [...d.target, ...(d.sample ?? [])].map((probe) => ({ probe, domain: d.name })));
  const rateOf = (name: string) => passRates[domains.findIndex((d) => d.name === name)]!.passRate;
  /** The joint objective's configuration: every domain's pass rate, validation split per domain. */
  const jointRates = Object.fromEntries(domains.flatMap((d) => (rateOf(d.name) !== undefined ? [[d.name, rateOf(d.name)!]] : [])));
  const tradeoff = input.jointTradeoff ?? 'domain';
  if (tradeoff !== 'domain' && tradeoff !== 'mean') throw new RangeError(`runStackStudy: jointTradeoff must be domain or mean, got ${String(tradeoff)}`);
  const per = tradeoff === 'domain' ? domains.length : 1;
  const jointAggregate = input.jointAggregate ?? 'mean';
  if (jointAggregate !== 'mean' && jointAggregate !== 'min') throw new RangeError(`runStackStudy: jointAggregate must be mean or min, got ${String(jointAggregate)}`);
  const jointConfig = {
    ...config, aggregate: jointAggregate, lambda: config.lambda / per, minGain: config.minGain / per, validationByDomain: true,
    ...(Object.keys(jointRates).length ? { domainPassRates: jointRates } : {}),
  };

  const control = input.control;
  const cache = opts.layerCacheBytes !== undefined ? { layerCacheBytes: opts.layerCacheBytes } : {};
  const search = async (id: StackSearchId, target: StackDomain[], s: StackStrategy, initialPatch?: Candidate[]): Promise<SearchResult> => {
    const cp = opts.checkpoints?.(id);
    const rate = id.kind === 'alone' ? rateOf(id.domain!) : undefined;
    return runSearch({
      model,
      target: targetsOf(target),
      control,
      strategy: s.strategy,
      config: {
        ...(id.kind === 'joint' ? jointConfig : config), ...(rate !== undefined ? { passRate: rate } : {}),
        seed: id.seed, strategy: s.strategy.name, strategyOptions: { ...(s.options ?? {}) }, ...(initialPatch ? { initialPatch } : {}),
        ...(s.iterations !== undefined ? { iterations: s.iterations } : {}),
      },
      workers: opts.workers,
      ...cache,
      checkpoint: cp?.sink,
      resume: cp?.resume,
      onProgress: opts.onSearchProgress ? (e) => opts.onSearchProgress!(id, e) : undefined,
      signal: opts.signal,
    });
  };

  const runs: StackRun[] = [];
  for (const seed of opts.seeds) {
    const alone: SearchResult[] = [];
    for (const d of domains) {
      say(`seed ${seed}: searching ${d.name} alone (${input.single.strategy.name})`);
      alone.push(await search({ kind: 'alone', domain: d.name, seed }, [d], input.single));
    }
    const stack = xorStack(alone.map((r) => r.flips));
    say(`seed ${seed}: searching all ${domains.length} domains jointly (${input.joint.strategy.name}) from the ${stack.length}-flip stack`);
    const jr = await search({ kind: 'joint', seed }, domains, input.joint, stack);

    // ---- exact measurements on the joint objective, against the original model ----
    const all = [...new Map(alone.flatMap((r) => r.flips).map((c) => [key(c), c])).values()];
    const stackKeys = new Set(stack.map(key));
    const cancelled = all.filter((c) => !stackKeys.has(key(c)));
    const without = (c: Candidate) => stack.filter((x) => key(x) !== key(c));
    const sets: Candidate[][] = [...alone.map((r) => r.flips), stack, jr.flips, ...stack.map(without), ...cancelled.map((c) => [...stack, c])];
    const measured: Evaluation[] = [];
    await runSearch({
      model,
      target: targetsOf(domains),
      control,
      strategy: measuring(sets, measured),
      config: { ...jointConfig, seed, strategy: 'stack-measure', strategyOptions: {}, iterations: 1 },
      workers: opts.workers,
      ...cache,
    });
    const D = domains.length;
    const gains = (e: Evaluation) => e.domainGains ?? new Array<number>(D).fill(e.targetGain);
    const patchOf = (flips: Candidate[], e: Evaluation, r?: SearchResult): StackPatch => ({
      flips, fitness: e.patchFitness!, domainGains: gains(e),
      evaluations: r?.evaluations ?? 0, seconds: r?.seconds ?? 0, stoppedEarly: r?.stoppedEarly ?? false,
    });
    const own = alone.map((r, i) => patchOf(r.flips, measured[i]!, r));
    const stackPatch = patchOf(stack, measured[D]!);
    const joint = patchOf(jr.flips, measured[D + 1]!, jr);
    const threshold = config.minGain;
    const jointKeys = new Set(jr.flips.map(key));
    const flipInfo = (c: Candidate, effect: number[], inStack: boolean): StackFlip => ({
      flip: c,
      from: domains.filter((_, i) => alone[i]!.flips.some((x) => key(x) === key(c))).map((d) => d.name),
      inStack, inJoint: jointKeys.has(key(c)), effect,
      conflict: effect.some((x) => x > threshold) && effect.some((x) => x < -threshold),
    });
    const stackGains = stackPatch.domainGains;
    const flips: StackFlip[] = [
      ...stack.map((c, j) => flipInfo(c, stackGains.map((g, d) => g - gains(measured[D + 2 + j]!)[d]!), true)),
      ...cancelled.map((c, j) => flipInfo(c, gains(measured[D + 2 + stack.length + j]!).map((g, d) => g - stackGains[d]!), false)),
    ];
    const cancellation: StackCancellation = {
      flips, threshold,
      domains: domains.map((d, i) => ({
        name: d.name, alone: own[i]!.domainGains[i]!, stacked: stackGains[i]!, joint: joint.domainGains[i]!,
        costlyFlips: flips.filter((f) => f.inStack && f.effect[i]! < -threshold).length,
        cancelledFlips: flips.filter((f) => !f.inStack && f.from.includes(d.name)).length,
      })),
    };

    // ---- held-out generation, each arm against its null ----
    say(`seed ${seed}: held-out generation (own patches, the ${stack.length}-flip stack, the ${jr.flips.length}-flip joint patch)`);
    const ownOut = own.map((p) => outcomes(p.flips, seed));
    const stackOut = outcomes(stack, seed);
    const jointOut = outcomes(jr.flips, seed);
    runs.push({
      seed, own, stack: stackPatch, joint, jointInitialFitness: jr.initialFitness,
      heldout: domains.map((_, i) => ({ own: ownOut[i]![i]!, stack: stackOut[i]!, joint: jointOut[i]!, byOwn: ownOut.map((o) => o[i]!) })),
      ...(other.length ? { other: { own: ownOut.map((o) => o[D]!), stack: stackOut[D]!, joint: jointOut[D]! } } : {}),
      cancellation,
    });
    opts.onRun?.(runs[runs.length - 1]!);
    say(`seed ${seed}: fitness own ${own.map((p) => p.fitness.toFixed(4)).join(' / ')}, stack ${stackPatch.fitness.toFixed(4)}, joint ${joint.fitness.toFixed(4)}`);
  }
  const names = domains.map((d) => d.name);
  return {
    domains: names, passRates, seeds: [...opts.seeds], nullPatches: K, ...(opts.nullSeed !== undefined ? { nullSeed: opts.nullSeed } : {}),
    runs, cells: stackCells(names, runs), verdict: stackVerdict(names, runs), seconds: (performance.now() - t0) / 1000,
  };
}

/** Whether an arm's held-out net beats its null's maximum (StackCell.beatsNullMax, StackVerdict's ownAboveNullMax). */
const beatsNullMax = (o: StackOutcome) => o.net > o.null.maxNet;

/**
 * The joint patch against the naive stack (StackStudyResult.verdict): per domain the mean of
 * joint - stack held-out net over the runs (integer differences summed, then divided: equal nets
 * give exactly 0), whether it is >= 0 on every domain, and where it is > 0 on a domain whose own
 * patch beat its null's maximum in some run.
 */
export function stackVerdict(domains: readonly string[], runs: readonly StackRun[]): StackVerdict {
  if (runs.length === 0) throw new RangeError('stackVerdict: no runs');
  const ds = domains.map((domain, d) => ({
    domain,
    jointMinusStack: runs.reduce((s, r) => s + r.heldout[d]!.joint.net - r.heldout[d]!.stack.net, 0) / runs.length,
    ownAboveNullMax: runs.filter((r) => beatsNullMax(r.heldout[d]!.own)).length,
    othersOwnNet: runs.reduce((s, r) => s + r.heldout[d]!.byOwn.reduce((t, o, i) => t + (i === d ? 0 : o.net), 0), 0) / (runs.length * (domains.length - 1)),
  }));
  return {
    domains: ds,
    neverWorse: ds.every((x) => x.jointMinusStack >= 0),
    betterWhereOwnBeatsNull: ds.filter((x) => x.jointMinusStack > 0 && x.ownAboveNullMax > 0).map((x) => x.domain),
  };
}

/** The study's cells (per domain, then the other skills, per arm, over the runs): StackStudyResult.cells of these runs. */
export function stackCells(domains: readonly string[], runs: readonly StackRun[]): StackCell[] {
  const cell = (domain: string, arm: StackArm, os: StackOutcome[], patches: StackPatch[], d?: number): StackCell => ({
    domain, arm, n: os[0]!.n, correctBefore: os[0]!.correctBefore,
    flips: spread(os.map((o) => o.flips)),
    net: spread(os.map((o) => o.net)),
    fixed: spread(os.map((o) => o.fixed)),
    broken: spread(os.map((o) => o.broken)),
    nullMedianNet: spread(os.map((o) => o.null.medianNet)),
    nullMaxNet: spread(os.map((o) => o.null.maxNet)),
    beatsNullMax: os.filter(beatsNullMax).length,
    fitness: spread(patches.map((p) => p.fitness)),
    ...(d !== undefined ? { domainGain: spread(patches.map((p) => p.domainGains[d]!)) } : {}),
  });
  const cells: StackCell[] = [];
  domains.forEach((name, d) => {
    cells.push(cell(name, 'own', runs.map((r) => r.heldout[d]!.own), runs.map((r) => r.own[d]!), d));
    cells.push(cell(name, 'stack', runs.map((r) => r.heldout[d]!.stack), runs.map((r) => r.stack), d));
    cells.push(cell(name, 'joint', runs.map((r) => r.heldout[d]!.joint), runs.map((r) => r.joint), d));
  });
  if (runs[0]?.other) {
    // the other skills under each domain's own patch: the mean over domains and runs
    const ownOther = runs.flatMap((r) => r.other!.own);
    cells.push(cell(OTHER_SKILLS, 'own', ownOther, runs.flatMap((r) => r.own)));
    cells.push(cell(OTHER_SKILLS, 'stack', runs.map((r) => r.other!.stack), runs.map((r) => r.stack)));
    cells.push(cell(OTHER_SKILLS, 'joint', runs.map((r) => r.other!.joint), runs.map((r) => r.joint)));
  }
  return cells;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const signed = (x: number, f = f1) => `${x >= 0 ? '+' : ''}${f(x)}`;
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');

/** The study as Markdown: the held-out table (each arm against its null), the search objective, and where stacking cancels. */
export function formatStackStudy(r: StackStudyResult): string {
  const many = r.seeds.length > 1;
  const range = (s: Spread) => (many ? ` (${s.min}..${s.max})` : '');
  const lines = [
    `| domain (held-out probes) | arm | flips | correct before | fixed / broken | net${many ? ' (mean, range)' : ''} | null median / max | above null max |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const armName: Record<StackArm, string> = { own: 'own patch', stack: 'naive XOR stack', joint: 'joint patch' };
  for (const c of r.cells) {
    lines.push(`| ${c.domain} | ${c.domain === OTHER_SKILLS && c.arm === 'own' ? 'each own patch' : armName[c.arm]} | ${f1(c.flips.mean)} | ${c.correctBefore}/${c.n} | ` +
      `${f1(c.fixed.mean)} / ${f1(c.broken.mean)} | ${signed(c.net.mean)}${range(c.net)} | ${signed(c.nullMedianNet.mean)} / ${signed(c.nullMaxNet.mean)} | ${c.beatsNullMax}/${c.domain === OTHER_SKILLS && c.arm === 'own' ? r.runs.length * r.domains.length : r.runs.length} |`);
  }
  lines.push('', `| search objective (joint, against the original model) | ${r.domains.map((d) => `${d} own`).join(' | ')} | stack | joint |`,
    `| --- | ${r.domains.map(() => '---').join(' | ')} | --- | --- |`);
  for (const run of r.runs) {
    lines.push(`| seed ${run.seed}: fitness | ${run.own.map((p) => f3(p.fitness)).join(' | ')} | ${f3(run.stack.fitness)} | ${f3(run.joint.fitness)} |`);
  }
  lines.push('', '| where stacking cancels (mean gain on the objective) | alone | in the stack | in the joint patch | stack flips that cost it | own flips the stack cancels |', '| --- | --- | --- | --- | --- | --- |');
  r.domains.forEach((name, d) => {
    const ds = r.runs.map((x) => x.cancellation.domains[d]!);
    const m = (f: (x: (typeof ds)[number]) => number) => ds.reduce((s, x) => s + f(x), 0) / ds.length;
    lines.push(`| ${name} | ${signed(m((x) => x.alone), f3)} | ${signed(m((x) => x.stacked), f3)} | ${signed(m((x) => x.joint), f3)} | ${f1(m((x) => x.costlyFlips))} | ${f1(m((x) => x.cancelledFlips))} |`);
  });
  const conflicts = r.runs.reduce((s, x) => s + x.cancellation.flips.filter((f) => f.conflict).length, 0);
  const total = r.runs.reduce((s, x) => s + x.cancellation.flips.length, 0);
  const rates = r.domains.map((d, i) => {
    const p = r.passRates?.[i];
    return `${d} ${p?.passRate !== undefined ? p.passRate.toFixed(3) : 'none'}${p?.sample ? ` (sample: ${p.sampleRight ?? '?'} of ${p.sample} right)` : ''}`;
  });
  lines.push('', `${r.seeds.length} seed(s) (${r.seeds.join(', ')}); pass rates ${rates.join(', ')}; nulls of ${r.nullPatches} random patches with each arm's flip count (null seed ${r.nullSeed ?? 'of each run'}); ` +
    `${conflicts} of ${total} domain-patch flips conflict (help one domain, cost another more than ${r.runs[0]?.cancellation.threshold ?? 0}).`);
  const v = r.verdict;
  const beat = v.domains.filter((x) => x.ownAboveNullMax > 0).map((x) => x.domain);
  lines.push('', `joint - stack held-out net${many ? ' (mean over seeds)' : ''}: ${v.domains.map((x) => `${x.domain} ${signed(x.jointMinusStack)}`).join(', ')}; ` +
    `joint >= stack on every domain: ${v.neverWorse ? 'yes' : 'no'}; own patches above their null's max in some run: ${beat.length ? beat.join(', ') : 'none'}; ` +
    `joint better where they are: ${v.betterWhereOwnBeatsNull.length ? v.betterWhereOwnBeatsNull.join(', ') : 'none'}.`);
  lines.push('', `held-out net under the other domains' own patches${many ? ' (mean over seeds)' : ''}: ${v.domains.map((x) => `${x.domain} ${signed(x.othersOwnNet)}`).join(', ')} ` +
    '(what each domain loses to another\'s patch before the stack or the repair).');
  return lines.join('\n');
}
