import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from './fp16.js';
import { Rng } from '@bankai/rng';

// Plain reference: every finite half, sorted by value; the nearest one wins, ties go to the
// even bit pattern. Independent of the bit tricks in fp16.ts.
function halfTable(): { values: Float64Array; bits: Uint16Array } {
  const pairs: Array<[number, number]> = [];
  for (let h = 0; h < 0x10000; h++) {
    const exp = (h >> 10) & 0x1f;
    if (exp === 0x1f) continue;
    const mant = h & 0x3ff;
    const mag = exp === 0 ? mant / 1024 * 2 ** -14 : (1 + mant / 1024) * 2 ** (exp - 15);
    if (h === 0x8000) continue; // keep +0 only; sign of zero handled separately
    pairs.push([h & 0x8000 ? -mag : mag, h]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  return { values: Float64Array.from(pairs, (p) => p[0]), bits: Uint16Array.from(pairs, (p) => p[1]) };
}
const table = halfTable();
const MAX_HALF = 65504;

function referenceF32ToF16(x: number): number {
  const xf = Math.fround(x);
  if (Number.isNaN(xf)) return 0x7e00;
  const sign = xf < 0 || Object.is(xf, -0) ? 0x8000 : 0;
  // beyond max + half an ulp (2^4 at the top binade) rounds to infinity
  if (Math.abs(xf) >= MAX_HALF + 16) return sign | 0x7c00;
  const { values, bits } = table;
  let lo = 0;
  let hi = values.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= xf) lo = mid;
    else hi = mid;
  }
  const dLo = Math.abs(xf - values[lo]!);
  const dHi = Math.abs(values[hi]! - xf);
  let pick: number;
  if (dLo < dHi) pick = lo;
  else if (dHi < dLo) pick = hi;
  else pick = (bits[lo]! & 1) === 0 ? lo : hi;
  const h = bits[pick]!;
  return (h & 0x7fff) === 0 ? sign : h; // zero keeps the input's sign
}

/** Uniform floats in [0, 1) from the project's seeded generator: failures reproduce. */
function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextFloat();
}

describe('fp16', () => {
  it('round-trips every half bit pattern exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16ToF32(h);
      if (Number.isNaN(v)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        continue;
      }
      expect(f32ToF16(v)).toBe(h);
    }
  });

  it('decodes hand-picked patterns', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x0400)).toBe(2 ** -14);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
  });

  it('rounds ties to even and overflows to infinity', () => {
    // 1 + 2^-11 is exactly between 1 (0x3c00, even) and 1 + 2^-10 (0x3c01)
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3*2^-11 is between 0x3c01 (odd) and 0x3c02 (even)
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal -> even (0)
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(1);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  });

  it('matches the nearest-value reference on random floats of every magnitude', () => {
    const rnd = mulberry32(1234);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let checked = 0;
    for (let i = 0; i < 200_000; i++) {
      // random exponent in the half range and beyond, random mantissa and sign
      const exp = 127 - 30 + Math.floor(rnd() * 50);
      u[0] = ((rnd() < 0.5 ? 1 : 0) << 31) | (exp << 23) | Math.floor(rnd() * 0x800000);
      const x = f[0]!;
      const got = f32ToF16(x);
      const want = referenceF32ToF16(x);
      if (got !== want) throw new Error(`x=${x}: got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
      checked++;
    }
    expect(checked).toBe(200_000);
  });
});
