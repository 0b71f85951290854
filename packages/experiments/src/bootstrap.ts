// Percentile-bootstrap confidence intervals, seeded with the project's generator so an interval
// is the same bits on every runtime and every rerun. Hand-written (a few lines): the statistics
// libraries on npm use Math.random, which would make a stored result irreproducible.
//
//   meanCi(xs)          resample xs with replacement B times; the 2.5% / 97.5% quantiles of the means
//   ratioCi(a, b)       a and b resampled independently; quantiles of mean(a) / mean(b)
//   diffCi(a, b)        the same for mean(a) - mean(b) (unpaired)
// Quantiles are the order statistics floor(0.025 (B-1)) and ceil(0.975 (B-1)) of the sorted
// resampled statistics. With n values there are at most n^n distinct resamples: with 3 seeds the
// interval is coarse, and the report says how many units it was resampled over.

import { Rng } from '@bankai/rng';

export interface Interval {
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  /** Resamples (default 2000). */
  resamples?: number;
  /** Seed of the resampling generator (default 1). */
  seed?: number;
}

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length);

function resamplesOf(opts: BootstrapOptions): number {
  const b = opts.resamples ?? 2000;
  if (!Number.isInteger(b) || b < 10) throw new RangeError(`bootstrap: resamples must be an integer >= 10, got ${b}`);
  return b;
}

function resample(xs: readonly number[], rng: Rng): number[] {
  return Array.from({ length: xs.length }, () => xs[rng.int(xs.length)]!);
}

function quantiles(stats: number[]): Interval {
  const finite = stats.filter(Number.isFinite).sort((x, y) => x - y);
  if (finite.length === 0) return { lo: NaN, hi: NaN };
  const B = finite.length;
  return { lo: finite[Math.floor(0.025 * (B - 1))]!, hi: finite[Math.ceil(0.975 * (B - 1))]! };
}

function check(name: string, xs: readonly number[]): void {
  if (xs.length === 0) throw new RangeError(`bootstrap: ${name} is empty`);
  for (const x of xs) if (!Number.isFinite(x)) throw new RangeError(`bootstrap: ${name} holds ${x}; only finite numbers can be resampled`);
}

/** 95% percentile-bootstrap interval of the mean of xs. */
export function meanCi(xs: readonly number[], opts: BootstrapOptions = {}): Interval {
  check('xs', xs);
  const rng = new Rng(opts.seed ?? 1);
  return quantiles(Array.from({ length: resamplesOf(opts) }, () => mean(resample(xs, rng))));
}

/** 95% percentile-bootstrap interval of mean(a) / mean(b), a and b resampled independently
 *  (resamples whose mean(b) is 0 are dropped; NaN bounds when every one is). */
export function ratioCi(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): Interval {
  check('a', a);
  check('b', b);
  const rng = new Rng(opts.seed ?? 1);
  return quantiles(Array.from({ length: resamplesOf(opts) }, () => {
    const mb = mean(resample(b, rng));
    const ma = mean(resample(a, rng));
    return mb === 0 ? NaN : ma / mb;
  }));
}

/** 95% percentile-bootstrap interval of mean(a) - mean(b), a and b resampled independently. */
export function diffCi(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): Interval {
  check('a', a);
  check('b', b);
  const rng = new Rng(opts.seed ?? 1);
  return quantiles(Array.from({ length: resamplesOf(opts) }, () => mean(resample(a, rng)) - mean(resample(b, rng))));
}
