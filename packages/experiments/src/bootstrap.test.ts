import { describe, expect, it } from 'vitest';
import { diffCi, mean, meanCi, ratioCi } from './bootstrap.js';
import { Rng } from '@bankai/rng';

const sample = (n: number, seed: number, shift = 0) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => shift + rng.int(1000) / 100);
};

describe('bootstrap intervals', () => {
  it('are the same for a seed, differ for another, and hold the sample mean', () => {
    const xs = sample(40, 7);
    const a = meanCi(xs, { seed: 3 });
    expect(meanCi(xs, { seed: 3 })).toEqual(a);
    expect(meanCi(xs, { seed: 4 })).not.toEqual(a);
    expect(a.lo).toBeLessThan(mean(xs));
    expect(a.hi).toBeGreaterThan(mean(xs));
    expect(a.lo).toBeGreaterThanOrEqual(Math.min(...xs));
    expect(a.hi).toBeLessThanOrEqual(Math.max(...xs));
  });

  it('narrow as the sample grows, and collapse on constant data', () => {
    const w = (n: number) => {
      const i = meanCi(sample(n, 11), { resamples: 1000 });
      return i.hi - i.lo;
    };
    expect(w(400)).toBeLessThan(w(25) / 2);
    expect(meanCi([2.5, 2.5, 2.5])).toEqual({ lo: 2.5, hi: 2.5 });
  });

  it('ratio and difference intervals cover the true scale and shift of two samples from one distribution', () => {
    const b = sample(200, 5);
    const a = sample(200, 6).map((x) => 3 * x);
    const r = ratioCi(a, b);
    expect(r.lo).toBeLessThan(3);
    expect(r.hi).toBeGreaterThan(3);
    const d = diffCi(sample(200, 8, 10), b);
    expect(d.lo).toBeLessThan(10);
    expect(d.hi).toBeGreaterThan(10);
    // a ratio over a sample that never moves has no interval
    const none = ratioCi([1, 2], [0, 0]);
    expect(Number.isNaN(none.lo) && Number.isNaN(none.hi)).toBe(true);
  });

  it('refuse empty or non-finite input and too few resamples', () => {
    expect(() => meanCi([])).toThrow(/empty/);
    expect(() => meanCi([1, NaN])).toThrow(/finite/);
    expect(() => meanCi([1, 2], { resamples: 3 })).toThrow(/resamples/);
  });
});
