// Fitness of a candidate against the CURRENT baseline (recomputed after every accepted flip):
//   target gain  = aggregate over target probes of (gap - baseline gap): mean or min over probes;
//                  with several domains (joint), the mean or min over domains of each domain's mean
//   control loss = mean over control probes of max(0, baseline gap - gap)     (hinge; with a
//                  control margin M: max(0, min(baseline, M) - min(gap, M)), so a control only
//                  costs when it falls below M: a safely right answer may move within its lead)
//   fitness      = target gain - lambda * control loss
// Screening scores targets alone: the gain bounds the fitness from above (the loss is >= 0), so
// a candidate whose gain is <= the acceptance threshold is rejected exactly, never slackly.
//
// The `accuracy` objective scores answers, not gaps: each probe counts sigmoid(gap / T), the
// probability-like weight of "this answer is right" (a gap > 0 is exactly a right answer under
// the competitor metric), and every term is a SUM over probes, in expected answers:
//   target gain  = sum over targets of s(gap) - s(base)    (a fixed answer ~ +1, a broken one ~ -1)
//   control loss = sum over controls of max(0, s(base) - s(gap))
// so a flip that nudges many deep failures while it breaks a few right answers of the same skill
// loses, and answers far from the boundary (deep failures, safe wins) barely count. Margins do
// not apply. With domains, each domain's sum, then their mean or min.

export type Aggregate = 'mean' | 'min';
export const OBJECTIVES = ['gap', 'accuracy'] as const;
export type Objective = (typeof OBJECTIVES)[number];
/** Default temperature of the accuracy objective, in logits of the gap. */
export const DEFAULT_TEMPERATURE = 1;
/** The least fitness gain a flip must bring, per objective: 0.02 of a mean gap (gap), a quarter of an expected answer (accuracy). */
export const DEFAULT_MIN_GAIN: Readonly<Record<Objective, number>> = { gap: 0.02, accuracy: 0.25 };

export interface FitnessOptions {
  lambda: number;
  aggregate: Aggregate;
  /**
   * Target gaps count up to this margin: min(gap, margin) - min(base, margin), so the search
   * spends its flips on probes that are wrong or barely right, not on inflating won ones.
   * Infinity (default): plain gap differences.
   */
  margin?: number;
  /** Control gaps count only below this margin (see controlLoss); Infinity (default): every decrease costs. */
  controlMargin?: number;
  /**
   * Validation probes held back from the fitness, at the end of the gaps: `targets` validation
   * targets, then `controls` validation controls (see validationFitness). Neither target gain
   * nor control loss counts them. Default none.
   */
  validation?: { targets: number; controls: number };
  /** Target probe indices per domain: the gain is then the mean (or min) of the per-domain means, so every domain weighs the same. */
  domains?: readonly (readonly number[])[];
  /** 'gap' (default): margin-capped gap differences, means over probes; 'accuracy': expected answers (see above). */
  objective?: Objective;
  /** The accuracy objective's temperature T (default DEFAULT_TEMPERATURE). */
  temperature?: number;
  /**
   * A weight per target probe: the fitness targets first (nTarget), then the validation targets
   * (see stratumWeights). Default: every target weighs 1.
   */
  targetWeights?: Float64Array;
}

/**
 * Target weights that make right and wrong answers count in the proportion of the population
 * the targets stand for: a target set that holds mostly failures (a search set picked for them)
 * otherwise over-counts fixes against the right answers a flip breaks, which on held-out prompts
 * outnumber them. With `passRate` p of the population answered right and, in a group of n
 * targets, r right and w wrong ones (`right`, at the original model): each right target weighs
 * p n / r, each wrong one (1 - p) n / w, so the group's weights still sum to n. A group with no
 * right or no wrong targets keeps weights 1. `groups`: index ranges [start, end) weighed apart
 * (the fitness targets and the validation targets).
 */
export function stratumWeights(right: ArrayLike<number>, passRate: number, groups: readonly (readonly [number, number])[]): Float64Array {
  if (!(passRate > 0 && passRate < 1)) throw new RangeError(`pass rate must be in (0, 1), got ${passRate}`);
  const w = new Float64Array(right.length).fill(1);
  for (const [a, b] of groups) {
    let r = 0;
    for (let i = a; i < b; i++) r += right[i] ? 1 : 0;
    const n = b - a;
    if (r === 0 || r === n) continue;
    for (let i = a; i < b; i++) w[i] = right[i] ? (passRate * n) / r : ((1 - passRate) * n) / (n - r);
  }
  return w;
}

// e^x from + - * / alone, which IEEE-754 makes exact on every engine: Math.exp may differ in its
// last bit between V8 (Node, Deno) and JavaScriptCore (Bun), and the same seed must give the same
// patch, fitness for fitness, on all three. Cody-Waite reduction x = k ln2 + r (|r| <= ln2 / 2), a
// degree-13 Taylor polynomial for e^r (truncation < 2e-17 relative), and 2^k built from its bits.
const LN2_HI = 0.6931471803691238; // ln 2 in its high 32 bits: k * LN2_HI is exact for |k| < 2^20
const LN2_LO = 1.9082149292705877e-10;
const INV_LN2 = 1.4426950408889634;
const TAYLOR = Array.from({ length: 14 }, (_, n) => 1 / Array.from({ length: n }, (_, i) => i + 1).reduce((a, b) => a * b, 1));
const pow2Bits = new DataView(new ArrayBuffer(8));
function pow2(k: number): number {
  pow2Bits.setUint32(0, (k + 1023) << 20);
  pow2Bits.setUint32(4, 0);
  return pow2Bits.getFloat64(0);
}
/** e^x, bit-identical on every JavaScript engine (see above); |relative error| < 1e-15. */
export function portableExp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709) return Infinity;
  if (x < -708) return 0; // (subnormal results: 0 is as good for a sigmoid)
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO;
  let p = TAYLOR[13]!;
  for (let n = 12; n >= 0; n--) p = p * r + TAYLOR[n]!;
  return p * pow2(k);
}
const sigmoid = (x: number) => 1 / (1 + portableExp(-x));

/** How one probe's gap counts: itself capped at `cap` (gap), or s(gap / T) (accuracy). */
function scorer(opts: Pick<FitnessOptions, 'objective' | 'temperature'>, cap: number): (gap: number) => number {
  if (opts.objective === 'accuracy') {
    const t = opts.temperature ?? DEFAULT_TEMPERATURE;
    return (x) => sigmoid(x / t);
  }
  return (x) => Math.min(x, cap);
}
/** Per-probe terms are averaged (gap) or summed (accuracy: expected answers). */
const norm = (opts: Pick<FitnessOptions, 'objective'>, n: number) => (opts.objective === 'accuracy' ? 1 : Math.max(1, n));

export interface FitnessParts {
  fitness: number;
  targetGain: number;
  controlLoss: number;
  /** Mean gain per domain (when domains are given). */
  domainGains?: number[];
}

export function targetGain(gaps: Float64Array, base: Float64Array, nTarget: number, opts: FitnessOptions): { gain: number; domainGains?: number[] } {
  const s = scorer(opts, opts.margin ?? Infinity);
  const w = opts.targetWeights;
  const delta = w ? (i: number) => w[i]! * (s(gaps[i]!) - s(base[i]!)) : (i: number) => s(gaps[i]!) - s(base[i]!);
  if (opts.domains && opts.domains.length > 0) {
    const domainGains = opts.domains.map((idx) => idx.reduce((acc, i) => acc + delta(i), 0) / norm(opts, idx.length));
    const gain = opts.aggregate === 'min' ? Math.min(...domainGains) : domainGains.reduce((a, b) => a + b, 0) / domainGains.length;
    return { gain, domainGains };
  }
  if (nTarget === 0) return { gain: 0 };
  if (opts.aggregate === 'min') {
    let worst = Infinity;
    for (let i = 0; i < nTarget; i++) worst = Math.min(worst, delta(i));
    return { gain: worst };
  }
  let sum = 0;
  for (let i = 0; i < nTarget; i++) sum += delta(i);
  return { gain: sum / norm(opts, nTarget) };
}

/** The control hinge over probes nTarget .. length - tail (margin: the gap objective's control margin). */
export function controlLoss(gaps: Float64Array, base: Float64Array, nTarget: number, margin = Infinity, tail = 0, opts: Pick<FitnessOptions, 'objective' | 'temperature'> = {}): number {
  const end = base.length - tail;
  const n = end - nTarget;
  if (n <= 0) return 0;
  return hinges(gaps, base, nTarget, end, margin, opts).sum / norm(opts, n);
}

/** The control hinges max(0, s(base) - s(gap)) of probes [from, to): their sum, and the sum of (scale x hinge)^2. */
function hinges(gaps: Float64Array, base: Float64Array, from: number, to: number, margin: number, opts: Pick<FitnessOptions, 'objective' | 'temperature'>, scale = 1): { sum: number; squares: number } {
  const s = scorer(opts, margin);
  let sum = 0;
  let squares = 0;
  for (let i = from; i < to; i++) {
    const h = Math.max(0, s(base[i]!) - s(gaps[i]!));
    sum += h;
    squares += (scale * h) ** 2;
  }
  return { sum, squares };
}

/** validationFitness's parts, with the spread a flip of no effect would give them. */
export interface ValidationParts extends FitnessParts {
  /**
   * The sign-flip standard error of `fitness`: the square root of the sum of every validation
   * probe's squared term (its weighted gain, or lambda x its control hinge, over the objective's
   * normalization). If a flip's effect on each probe were as likely positive as negative (the flip
   * does nothing for the population the probes were drawn from), the fitness would have mean 0 and
   * this standard deviation; fitness / se is the test statistic validationPValue reads.
   */
  se: number;
}

/**
 * The fitness of the validation probes (opts.validation: the last probes, targets then
 * controls), by the same rules: mean margin-capped gain of the validation targets minus lambda x
 * the mean control-margin hinge of the validation controls. A flip that only memorizes the probes
 * it was chosen on, or breaks controls it was not checked against, does not raise it. undefined
 * without validation probes, or when `gaps` holds only the targets (a screened evaluation).
 */
export function validationFitness(gaps: Float64Array, base: Float64Array, opts: FitnessOptions): ValidationParts | undefined {
  const v = opts.validation;
  if (!v || v.targets + v.controls === 0 || gaps.length !== base.length) return undefined;
  const s = scorer(opts, opts.margin ?? Infinity);
  const t0 = base.length - v.targets - v.controls;
  const nFit = opts.targetWeights ? opts.targetWeights.length - v.targets : 0;
  const nt = norm(opts, v.targets);
  let gain = 0;
  let squares = 0;
  for (let i = t0; i < t0 + v.targets; i++) {
    const term = ((opts.targetWeights?.[nFit + i - t0] ?? 1) * (s(gaps[i]!) - s(base[i]!))) / nt;
    gain += term;
    squares += term * term;
  }
  // the controls' terms, lambda x hinge over the normalization; their mean hinge is the loss
  const c0 = t0 + v.targets;
  const nC = base.length - c0;
  const nc = norm(opts, nC);
  const h = hinges(gaps, base, c0, base.length, opts.controlMargin ?? Infinity, opts, opts.lambda / nc);
  const loss = nC > 0 ? h.sum / nc : 0;
  return { fitness: gain - opts.lambda * loss, targetGain: gain, controlLoss: loss, se: Math.sqrt(squares + h.squares) };
}

export function fitness(gaps: Float64Array, base: Float64Array, nTarget: number, opts: FitnessOptions): FitnessParts {
  const { gain, domainGains } = targetGain(gaps, base, nTarget, opts);
  const loss = controlLoss(gaps, base, nTarget, opts.controlMargin, (opts.validation?.targets ?? 0) + (opts.validation?.controls ?? 0), opts);
  return { fitness: gain - opts.lambda * loss, targetGain: gain, controlLoss: loss, domainGains };
}

/**
 * The chance that a standard normal exceeds z, from + - * / and portableExp alone (the same bits
 * on every engine): erfc by its classic Chebyshev-fitted form (Numerical Recipes' erfcc), relative
 * error below 1.2e-7 everywhere, which is far finer than any bar it is compared against.
 */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const poly = -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * portableExp(poly);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * The one-sided p-value of a validation fitness under the sign-flip null (ValidationParts.se):
 * how likely a flip that does nothing for the population the validation probes were drawn from
 * reaches this fitness, by the normal approximation. 1 when no validation probe moved.
 */
export function validationPValue(v: Pick<ValidationParts, 'fitness' | 'se'>): number {
  return v.se > 0 ? normalUpperTail(v.fitness / v.se) : 1;
}

/**
 * The selection-corrected validation bar of the guided and joint strategies' `validation-alpha`:
 * a candidate judged when its step has judged `judged` candidates passes when its validation
 * p-value (validationPValue) is at most alpha / judged. alpha 0: no bar, everything passes.
 */
export function clearsSelectionBar(v: Pick<ValidationParts, 'fitness' | 'se'>, alpha: number, judged: number): boolean {
  return alpha === 0 || validationPValue(v) <= alpha / judged;
}
