// The Strategy interface. A strategy package default-exports one plain object made by
// `defineStrategy({ name, description, options, run })`. `run` receives a SearchContext (the
// candidate space, `evaluate`, `accept`, a seeded RNG, the budget, progress and cancellation)
// and never touches weights. Third-party strategies load by package name or file path.

import type { Rng } from '@bankai/rng';
import type { Candidate, CandidateSpace } from './space.js';

export interface OptionSpec {
  type: 'number' | 'string' | 'boolean';
  default: number | string | boolean;
  help: string;
  choices?: readonly string[];
  /** Numbers: a whole number only. */
  integer?: boolean;
  /** Numbers: the least value allowed. */
  min?: number;
  /** Numbers: the greatest value allowed. */
  max?: number;
}

/** What a number option accepts, in words ("an integer >= 1", "a number in [0, 1]"); undefined: any finite number. */
export function optionRange(spec: OptionSpec): string | undefined {
  if (spec.type !== 'number' || (!spec.integer && spec.min === undefined && spec.max === undefined)) return undefined;
  const what = spec.integer ? 'an integer' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) return `${what} in [${spec.min}, ${spec.max}]`;
  if (spec.min !== undefined) return `${what} >= ${spec.min}`;
  if (spec.max !== undefined) return `${what} <= ${spec.max}`;
  return what;
}

const inRange = (spec: OptionSpec, v: number) =>
  (!spec.integer || Number.isInteger(v)) && (spec.min === undefined || v >= spec.min) && (spec.max === undefined || v <= spec.max);

export type OptionValues<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string;
};

export interface Evaluation {
  /** The flips evaluated, relative to the accepted patch. */
  flips: Candidate[];
  fitness: number;
  targetGain: number;
  controlLoss: number;
  domainGains?: number[];
  /** True when screening rejected it on the targets alone (fitness is then its upper bound). */
  screenedOut: boolean;
  /** Target / control probes correct under teacher forcing with this candidate. */
  targetCorrect: number;
  controlCorrect: number;
  /** Control probes correct (teacher-forced) under the current patch and wrong with this candidate. */
  brokenControls: number;
  /**
   * The fitness of the validation probes (SearchConfig.validation: targets and controls held
   * back from the fitness), by the same rules; undefined without them or when screened out.
   * > 0: the flip helps targets it was not chosen on more than it hurts controls it was not
   * checked against.
   */
  validation?: {
    fitness: number; targetGain: number; controlLoss: number;
    /** The sign-flip standard error of `fitness` (ValidationParts.se): its spread if the flip did nothing for the population the validation probes stand for. */
    se: number;
    /** Validation answers (targets and controls, teacher-forced) right with this candidate and wrong on the accepted patch, and the reverse. */
    fixed: number; broken: number;
    /**
     * With several target domains: per domain (SearchContext.domains order), its validation
     * targets' gain (the fitness rules: weights, objective) and the answers fixed and broken among
     * them (validation controls are in no domain).
     */
    domains?: { targetGain: number; fixed: number; broken: number }[];
  };
  /**
   * Fitness of the patch these flips would make (the accepted patch with them toggled) against
   * the original model: what SearchResult.fitness reports, comparable across steps (fitness is
   * the gain over the accepted patch, and its control hinge does not credit controls a flip set
   * repairs). Undefined when screened out.
   */
  patchFitness?: number;
}

/** First-order predictions for every candidate on top of the accepted patch (SearchContext.firstOrder). */
export interface FirstOrderRanking {
  /**
   * Predicted fitness of each candidate (space index order), by the search's own fitness rules;
   * accepted candidates: -Infinity. With `{ patch: true }`: the predicted patchFitness of toggling
   * each candidate, accepted ones (their removal) included.
   */
  readonly fitness: Float64Array;
  /** Candidate indices by decreasing predicted fitness (ties by index), accepted ones left out (unless `{ patch: true }`). */
  readonly order: Uint32Array;
  /** Predicted change of probe i's gap (targets, then controls) for candidate c. */
  delta(probe: number, candidate: number): number;
  /** Backward passes this ranking took. */
  readonly backwards: number;
}

export interface ProgressEvent {
  iteration: number;
  iterations: number;
  accepted: number;
  fitness: number;
  evaluations: number;
  evalsPerSecond: number;
  etaSeconds: number;
  message?: string;
}

export interface SearchContext<O = Record<string, unknown>> {
  readonly options: O;
  readonly space: CandidateSpace;
  /** The search's seeded generator: draw every random choice from it (checkpointed). */
  readonly rng: Rng;
  readonly budget: { iterations: number };
  /** A flip set is accepted only if its fitness exceeds this (a cost per flip). */
  readonly minGain: number;
  /** Flips accepted so far, in order (SearchConfig.initialPatch first). */
  readonly accepted: readonly Candidate[];
  /** Fitness of the accepted patch against the original model (Evaluation.patchFitness of the empty flip set). */
  readonly fitness: number;
  /** Target domains (joint optimization): names, and target probe indices per domain. */
  readonly domains: readonly { name: string; probes: readonly number[] }[];
  readonly signal: AbortSignal;
  /** Iteration numbers from where the search stands (a resumed search continues); each boundary is checkpointed. */
  steps(): Iterable<number>;
  /**
   * Evaluate flip sets on top of the accepted patch, in parallel; results in input order. A flip
   * set toggles: a flip already in the patch is evaluated as its removal.
   */
  evaluate(flipSets: readonly Candidate[][], opts?: { screen?: boolean }): Promise<Evaluation[]>;
  /**
   * Accept an evaluated flip set into the patch (materialized; baselines move to the new weights):
   * its flips not in the patch are added, those in it are removed. Each step's net change is
   * checkpointed at the step's end.
   */
  accept(e: Evaluation): Promise<void>;
  /**
   * Rank every candidate of the space by its first-order predicted fitness on top of the accepted
   * patch (one backward pass per scored answer of every probe; costs about as much as a few exact
   * evaluations). Predictions are a guide: verify with evaluate() before accepting. `{ patch: true }`
   * ranks toggles instead (accepted candidates as removals) by the predicted fitness of the
   * resulting patch against the original model (Evaluation.patchFitness).
   */
  firstOrder(opts?: { patch?: boolean }): Promise<FirstOrderRanking>;
  /** Whether a candidate is already in the accepted patch. */
  isAccepted(c: Candidate): boolean;
  progress(message?: string): void;
}

export interface Strategy<S extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  readonly name: string;
  readonly description: string;
  readonly options: S;
  run(ctx: SearchContext<OptionValues<S>>): Promise<void>;
}

export class StrategyError extends Error {
  override name = 'StrategyError';
}

export function defineStrategy<S extends Record<string, OptionSpec>>(def: Strategy<S>): Strategy<S> {
  if (!def || typeof def.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(def.name)) {
    throw new StrategyError(`defineStrategy: name must be lower-case letters, digits and dashes, got ${JSON.stringify(def?.name)}`);
  }
  if (typeof def.run !== 'function') throw new StrategyError(`strategy ${def.name}: run must be a function`);
  for (const [k, o] of Object.entries(def.options ?? {})) {
    if (!['number', 'string', 'boolean'].includes(o.type) || typeof o.default !== o.type) {
      throw new StrategyError(`strategy ${def.name}: option ${k} must have a type and a default of that type`);
    }
    if (o.type === 'number' && !inRange(o, o.default as number)) throw new StrategyError(`strategy ${def.name}: option ${k}'s default ${o.default} is not ${optionRange(o)}`);
  }
  return Object.freeze({ ...def, options: Object.freeze({ ...(def.options ?? {}) }) as S });
}

/** Resolve `key=value` strings against a strategy's option specs (unknown keys and bad values are errors). */
export function resolveOptions<S extends Record<string, OptionSpec>>(s: Strategy<S>, given: Record<string, string | number | boolean> = {}): OptionValues<S> {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(s.options)) out[k] = spec.default;
  for (const [k, raw] of Object.entries(given)) {
    const spec = s.options[k];
    if (!spec) {
      const known = Object.keys(s.options).join(', ') || '(none)';
      throw new StrategyError(`strategy ${s.name} has no option "${k}"; its options: ${known}`);
    }
    let v: unknown = raw;
    if (spec.type === 'number') v = typeof raw === 'number' ? raw : Number(raw);
    if (spec.type === 'boolean') v = raw === true || raw === 'true' ? true : raw === false || raw === 'false' ? false : NaN;
    if ((spec.type === 'number' && !Number.isFinite(v)) || (spec.type === 'boolean' && typeof v !== 'boolean')) {
      throw new StrategyError(`strategy ${s.name}: option ${k} must be a ${spec.type}, got "${raw}"`);
    }
    if (spec.type === 'number' && !inRange(spec, v as number)) {
      throw new StrategyError(`strategy ${s.name}: option ${k} must be ${optionRange(spec)}, got "${raw}"`);
    }
    if (spec.choices && !spec.choices.includes(String(v))) {
      throw new StrategyError(`strategy ${s.name}: option ${k} must be one of ${spec.choices.join(', ')}, got "${raw}"`);
    }
    out[k] = v;
  }
  return out as OptionValues<S>;
}

export function isStrategy(x: unknown): x is Strategy {
  return !!x && typeof x === 'object' && typeof (x as Strategy).name === 'string' && typeof (x as Strategy).run === 'function';
}
