import { describe, expect, it } from 'vitest';
import { hash32, Rng, SplitMix32 } from './rng.js';

// Plain BigInt reference of xoshiro128** (64-bit arithmetic masked to 32 bits), independent of
// the Math.imul tricks in rng.ts.
function referenceXoshiro(state: [number, number, number, number], n: number): number[] {
  const M = 0xffffffffn;
  let [a, b, c, d] = state.map(BigInt) as [bigint, bigint, bigint, bigint];
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((b * 5n) & M, 7n) * 9n) & M));
    const t = (b << 9n) & M;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11n);
  }
  return out;
}

describe('Rng', () => {
  it('matches a BigInt reference of xoshiro128** from the same state', () => {
    const rng = new Rng(42, 7);
    const state = rng.state;
    const want = referenceXoshiro(state, 1000);
    const got = Array.from({ length: 1000 }, () => rng.nextU32());
    expect(got).toEqual(want);
  });

  it('is deterministic per (seed, stream) and differs across them', () => {
    const take = (seed: number, stream: number) => {
      const r = new Rng(seed, stream);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(take(1, 2)).toEqual(take(1, 2));
    expect(take(1, 2)).not.toEqual(take(1, 3));
    expect(take(1, 2)).not.toEqual(take(2, 2));
  });

  it('has uniform floats in [0,1) with a sane mean', () => {
    const r = new Rng(9);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.nextFloat();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01);
  });

  it('hashes names with FNV-1a', () => {
    expect(hash32('')).toBe(0x811c9dc5);
    expect(hash32('a')).toBe(0xe40c292c); // published FNV-1a test vector
  });

  it('resumes exactly from a saved state, and int(n) stays in range', () => {
    const a = new Rng(5);
    for (let i = 0; i < 17; i++) a.nextU32();
    const b = new Rng(999);
    b.state = a.state;
    expect(Array.from({ length: 50 }, () => b.int(7))).toEqual(Array.from({ length: 50 }, () => a.int(7)));
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[a.int(7)]++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(() => (b.state = [0, 0, 0, 0])).toThrow(/not all zero/);
  });

  it('shuffles in place as Fisher-Yates from the end with j = int(i + 1): a permutation, the same per seed', () => {
    const n = 40;
    const got = new Rng(11).shuffle(Array.from({ length: n }, (_, i) => i));
    expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    // the draws it is defined by, replayed on the generator's twin as a list of transpositions
    const twin = new Rng(11);
    const want = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = twin.int(i + 1);
      want.splice(i, 1, want.splice(j, 1, want[i]!)[0]!);
    }
    expect(got).toEqual(want);
    expect(new Rng(12).shuffle(Array.from({ length: n }, (_, i) => i))).not.toEqual(got);
    const items = ['a'];
    expect(new Rng(1).shuffle(items)).toBe(items);
  });
});

describe('SplitMix32 (the corpora\'s generator)', () => {
  // a plain reference in BigInt arithmetic: state += golden gamma; two xor-shift-multiply rounds
  function reference(seed: number, n: number): number[] {
    const M = (1n << 32n) - 1n;
    let s = BigInt(seed >>> 0);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      s = (s + 0x9e3779b9n) & M;
      let z = s;
      z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M;
      z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M;
      out.push(Number(z ^ (z >> 16n)));
    }
    return out;
  }

  it('is the SplitMix32 stream, for any 32-bit seed', () => {
    for (const seed of [0, 1, 7, 0x7fffffff, 0xffffffff, -1, 123456789]) {
      const r = new SplitMix32(seed);
      expect(Array.from({ length: 64 }, () => r.nextU32()), `seed ${seed}`).toEqual(reference(seed, 64));
    }
  });

  it('draws inclusive integer ranges without bias, picks and shuffles deterministically', () => {
    const r = new SplitMix32(5);
    const counts = new Map<number, number>();
    for (let i = 0; i < 30000; i++) {
      const x = r.int(-1, 1);
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([-1, 0, 1]);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(400);
    const a = new SplitMix32(9).shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new SplitMix32(9).shuffle([1, 2, 3, 4, 5, 6, 7, 8])).toEqual(a);
    expect([...a].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => new SplitMix32(1).int(2, 1)).toThrow(RangeError);
    expect(() => new SplitMix32(1.5)).toThrow(RangeError);
  });
});
