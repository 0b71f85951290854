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
   * Validation probes held back from the fitness, at the end of the gaps: `targets` validation
   * targets, then `controls` validation controls (see validationFitness). Neither target gain
   * nor control loss counts them. Default none.
   */
  validation?: { targets: number; controls: number };
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

export function controlLoss(gaps: Float64Array, base: Float64Array, nTarget: number, margin = Infinity, tail = 0): number {
  const end = base.length - tail;
  const n = end - nTarget;
  if (n <= 0) return 0;
  let s = 0;
  for (let i = nTarget; i < end; i++) s += Math.max(0, Math.min(base[i]!, margin) - Math.min(gaps[i]!, margin));
  return s / n;
}

/**
 * The fitness of the validation probes (opts.validation: the last probes, targets then
 * controls), by the same rules: mean margin-capped gain of the validation targets minus lambda x
 * the mean control-margin hinge of the validation controls. A flip that only memorizes the probes
 * it was chosen on, or breaks controls it was not checked against, does not raise it. undefined
 * without validation probes, or when `gaps` holds only the targets (a screened evaluation).
 */
export function validationFitness(gaps: Float64Array, base: Float64Array, opts: FitnessOptions): FitnessParts | undefined {
  const v = opts.validation;
  if (!v || v.targets + v.controls === 0 || gaps.length !== base.length) return undefined;
  const m = opts.margin ?? Infinity;
  const t0 = base.length - v.targets - v.controls;
  let gain = 0;
  for (let i = t0; i < t0 + v.targets; i++) gain += Math.min(gaps[i]!, m) - Math.min(base[i]!, m);
  gain = v.targets > 0 ? gain / v.targets : 0;
  const loss = controlLoss(gaps, base, t0 + v.targets, opts.controlMargin);
  return { fitness: gain - opts.lambda * loss, targetGain: gain, controlLoss: loss };
}

export function fitness(gaps: Float64Array, base: Float64Array, nTarget: number, opts: FitnessOptions): FitnessParts {
  const { gain, domainGains } = targetGain(gaps, base, nTarget, opts);
  const loss = controlLoss(gaps, base, nTarget, opts.controlMargin, (opts.validation?.targets ?? 0) + (opts.validation?.controls ?? 0));
  return { fitness: gain - opts.lambda * loss, targetGain: gain, controlLoss: loss, domainGains };
}
