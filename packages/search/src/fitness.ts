// Fitness of a candidate against the CURRENT baseline (recomputed after every accepted flip):
//   target gain  = aggregate over target probes of (gap - baseline gap): mean or min over probes;
//                  with several domains (joint), the mean or min over domains of each domain's mean
//   control loss = mean over control probes of max(0, baseline gap - gap)     (hinge; with a
//                  control margin M: max(0, min(baseline, M) - min(gap, M)), so a control only
//                  costs when it falls below M: a safely right answer may move within its lead)
//   fitness      = target gain - lambda * control loss
// Screening scores targets alone: the gain bounds the fitness from above (the loss is >= 0), so
// a candidate whose gain is <= the acceptance threshold is rejected exactly, never slackly.

export type Aggregate = 'mean' | 'min';

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
   * The last this-many probes are validation targets (held back from the fitness, see
   * validationGain): neither target gain nor control loss counts them. Default 0.
   */
  validationCount?: number;
  /** Target probe indices per domain: the gain is then the mean (or min) of the per-domain means, so every domain weighs the same. */
  domains?: readonly (readonly number[])[];
}

export interface FitnessParts {
  fitness: number;
  targetGain: number;
  controlLoss: number;
  /** Mean gain per domain (when domains are given). */
  domainGains?: number[];
}

export function targetGain(gaps: Float64Array, base: Float64Array, nTarget: number, opts: FitnessOptions): { gain: number; domainGains?: number[] } {
  const m = opts.margin ?? Infinity;
  const delta = (i: number) => Math.min(gaps[i]!, m) - Math.min(base[i]!, m);
  if (opts.domains && opts.domains.length > 0) {
    const domainGains = opts.domains.map((idx) => idx.reduce((s, i) => s + delta(i), 0) / Math.max(1, idx.length));
    const gain = opts.aggregate === 'min' ? Math.min(...domainGains) : domainGains.reduce((a, b) => a + b, 0) / domainGains.length;
    return { gain, domainGains };
  }
  if (nTarget === 0) return { gain: 0 };
  if (opts.aggregate === 'min') {
    let worst = Infinity;
    for (let i = 0; i < nTarget; i++) worst = Math.min(worst, delta(i));
    return { gain: worst };
  }
  let s = 0;
  for (let i = 0; i < nTarget; i++) s += delta(i);
  return { gain: s / nTarget };
}

export function controlLoss(gaps: Float64Array, base: Float64Array, nTarget: number, margin = Infinity, validationCount = 0): number {
  const end = base.length - validationCount;
  const n = end - nTarget;
  if (n <= 0) return 0;
  let s = 0;
  for (let i = nTarget; i < end; i++) s += Math.max(0, Math.min(base[i]!, margin) - Math.min(gaps[i]!, margin));
  return s / n;
}

/**
 * Mean gain of the validation targets (the last `opts.validationCount` probes), margin-capped as
 * target gains are: a flip that helps only the probes it was chosen on does not raise it.
 * undefined when there are none (or when `gaps` holds only the targets: a screened evaluation).
 */
export function validationGain(gaps: Float64Array, base: Float64Array, opts: FitnessOptions): number | undefined {
  const nV = opts.validationCount ?? 0;
  if (nV === 0 || gaps.length !== base.length) return undefined;
  const m = opts.margin ?? Infinity;
  let s = 0;
  for (let i = base.length - nV; i < base.length; i++) s += Math.min(gaps[i]!, m) - Math.min(base[i]!, m);
  return s / nV;
}

export function fitness(gaps: Float64Array, base: Float64Array, nTarget: number, opts: FitnessOptions): FitnessParts {
  const { gain, domainGains } = targetGain(gaps, base, nTarget, opts);
  const loss = controlLoss(gaps, base, nTarget, opts.controlMargin, opts.validationCount);
  return { fitness: gain - opts.lambda * loss, targetGain: gain, controlLoss: loss, domainGains };
}
