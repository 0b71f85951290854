import { describe, expect, it } from 'vitest';
import { exp, log, pow } from './portable-math.js';

/** Distance in units in the last place between two doubles of the same sign. */
function ulps(a: number, b: number): number {
  const v = new DataView(new ArrayBuffer(16));
  v.setFloat64(0, a);
  v.setFloat64(8, b);
  return Number(v.getBigInt64(0) - v.getBigInt64(8) < 0n ? v.getBigInt64(8) - v.getBigInt64(0) : v.getBigInt64(0) - v.getBigInt64(8));
}

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

describe('portable exp/log', () => {
  it('are within 2 ulps of Math.exp / Math.log on random inputs over their ranges', () => {
    let worstExp = 0;
    let worstLog = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = (rand() - 0.5) * 1400; // [-700, 700]
      worstExp = Math.max(worstExp, ulps(exp(x), Math.exp(x)));
      const y = Math.pow(2, (rand() - 0.5) * 2000) * (1 + rand());
      worstLog = Math.max(worstLog, ulps(log(y), Math.log(y)));
      const s = rand() * 30; // the log-softmax range
      worstExp = Math.max(worstExp, ulps(exp(-s), Math.exp(-s)));
    }
    expect(worstExp).toBeLessThanOrEqual(2);
    expect(worstLog).toBeLessThanOrEqual(2);
  });

  it('handles the edges', () => {
    expect(exp(0)).toBe(1);
    expect(exp(-Infinity)).toBe(0);
    expect(exp(800)).toBe(Infinity);
    expect(exp(-800)).toBe(0);
    expect(Number.isNaN(exp(NaN))).toBe(true);
    expect(log(1)).toBe(0);
    expect(log(0)).toBe(-Infinity);
    expect(log(Infinity)).toBe(Infinity);
    expect(Number.isNaN(log(-1))).toBe(true);
    expect(ulps(log(5e-324), Math.log(5e-324))).toBeLessThanOrEqual(1);
    expect(pow(0.37, 1)).toBe(0.37);
    expect(ulps(pow(2.5, 0.5), Math.sqrt(2.5))).toBeLessThanOrEqual(2);
  });
});
