// The genetic operators against plain set arithmetic: XOR crossover is a XOR (mask AND (a XOR b))
// with the mask drawn flip by flip, mutation adds or drops as told, selection keeps the fittest
// and then prefers distant patches; all of it the same for the same generator state.
import { describe, expect, it } from 'vitest';
import { Rng } from '@bankai/search';
import { crossover, hamming, mutate, normalizedHamming, populationDigest, selectDiverse, xorGenomes } from './operators.js';

const randomGenome = (rng: Rng, size: number, n: number) => [...new Set(Array.from({ length: n }, () => rng.int(size)))].sort((a, b) => a - b);

describe('xorGenomes and hamming', () => {
  it('are the symmetric difference of two sorted sets', () => {
    const rng = new Rng(1);
    for (let t = 0; t < 200; t++) {
      const a = randomGenome(rng, 50, rng.int(12));
      const b = randomGenome(rng, 50, rng.int(12));
      const want = [...new Set([...a, ...b])].filter((x) => a.includes(x) !== b.includes(x)).sort((p, q) => p - q);
      expect(xorGenomes(a, b)).toEqual(want);
      expect(hamming(a, b)).toBe(want.length);
      expect(normalizedHamming(a, b)).toBe(a.length + b.length === 0 ? 0 : want.length / (a.length + b.length));
    }
    expect(normalizedHamming([1, 2], [1, 2])).toBe(0);
    expect(normalizedHamming([1], [2])).toBe(1);
  });
});

describe('crossover', () => {
  it('keeps shared flips and takes each differing flip from the parent its mask bit names', () => {
    const rng = new Rng(2);
    for (let t = 0; t < 200; t++) {
      const a = randomGenome(rng, 40, 1 + rng.int(10));
      const b = randomGenome(rng, 40, 1 + rng.int(10));
      const state = rng.state;
      const child = crossover(a, b, rng);
      // the reference: one draw per flip of a XOR b, ascending; bit set -> b's state
      const ref = new Rng(0);
      ref.state = state;
      const mask = xorGenomes(a, b).filter(() => ref.nextFloat() < 0.5);
      expect(child).toEqual(xorGenomes(a, mask));
      expect(rng.state).toEqual(ref.state);
      for (const x of a) if (b.includes(x)) expect(child).toContain(x);
      for (const x of child) expect(a.includes(x) || b.includes(x)).toBe(true);
      // deterministic for the generator's state
      const again = new Rng(0);
      again.state = state;
      expect(crossover(a, b, again)).toEqual(child);
    }
  });

  it('of a patch with itself is the patch, and draws nothing', () => {
    const rng = new Rng(3);
    const s = rng.state;
    expect(crossover([1, 5, 9], [1, 5, 9], rng)).toEqual([1, 5, 9]);
    expect(rng.state).toEqual(s);
  });

  it('mixes both parents over many draws', () => {
    const rng = new Rng(4);
    const a = [0, 1, 2, 3, 4, 5, 6, 7];
    const b = [8, 9, 10, 11, 12, 13, 14, 15];
    let fromA = 0;
    let fromB = 0;
    for (let t = 0; t < 500; t++) {
      const c = crossover(a, b, rng);
      fromA += c.filter((x) => x < 8).length;
      fromB += c.filter((x) => x >= 8).length;
    }
    expect(fromA / 4000).toBeGreaterThan(0.45);
    expect(fromA / 4000).toBeLessThan(0.55);
    expect(fromB / 4000).toBeGreaterThan(0.45);
  });
});

describe('mutate', () => {
  const base = { size: 100, adds: 3, maxFlips: 64 };
  it('drops one flip or adds 1..adds new ones, deterministically', () => {
    const rng = new Rng(5);
    let drops = 0;
    for (let t = 0; t < 300; t++) {
      const g = randomGenome(rng, 100, 1 + rng.int(8));
      const state = rng.state;
      const m = mutate(g, rng, { ...base, dropRate: 0.4 });
      const again = new Rng(0);
      again.state = state;
      expect(mutate(g, again, { ...base, dropRate: 0.4 })).toEqual(m);
      expect([...m].sort((a, b) => a - b)).toEqual(m);
      expect(new Set(m).size).toBe(m.length);
      const d = xorGenomes(g, m);
      if (m.length < g.length) {
        drops++;
        expect(d).toHaveLength(1);
        expect(g).toContain(d[0]);
      } else {
        expect(d.length).toBeGreaterThanOrEqual(1);
        expect(d.length).toBeLessThanOrEqual(3);
        for (const x of d) expect(g).not.toContain(x);
      }
    }
    expect(drops / 300).toBeGreaterThan(0.3);
    expect(drops / 300).toBeLessThan(0.5);
  });

  it('adds from the pool when given one, never drops an empty patch, and keeps to maxFlips', () => {
    const rng = new Rng(6);
    const pool = [7, 17, 27, 37];
    for (let t = 0; t < 100; t++) {
      const m = mutate([], rng, { ...base, dropRate: 1, pool });
      expect(m.length).toBeGreaterThanOrEqual(1);
      for (const x of m) expect(pool).toContain(x);
    }
    // a full pool: nothing left to add
    expect(mutate(pool, rng, { ...base, dropRate: 0, pool })).toEqual(pool);
    for (let t = 0; t < 50; t++) expect(mutate([1, 2, 3, 4], rng, { ...base, dropRate: 0, maxFlips: 4 })).toHaveLength(4);
  });
});

describe('selectDiverse', () => {
  it('takes the fittest first, then trades fitness for distance to the nearest survivor', () => {
    const pool = [
      { genome: [1, 2, 3], fitness: 1.0 },
      { genome: [1, 2, 3, 4], fitness: 0.99 }, // near the best
      { genome: [10, 11], fitness: 0.9 }, // far from it
      { genome: [1, 2, 3], fitness: 1.0 }, // a duplicate of the best
    ];
    expect(selectDiverse(pool, 2, 0).map((x) => x.genome)).toEqual([[1, 2, 3], [1, 2, 3, 4]]);
    // diversity 0.2: 0.99 + 0.2 * 1/7 < 0.9 + 0.2 * 1
    expect(selectDiverse(pool, 2, 0.2).map((x) => x.genome)).toEqual([[1, 2, 3], [10, 11]]);
    // duplicates come after every distinct patch
    expect(selectDiverse(pool, 4, 0.2).map((x) => x.genome)).toEqual([[1, 2, 3], [10, 11], [1, 2, 3, 4], [1, 2, 3]]);
    expect(selectDiverse(pool, 9, 0)).toHaveLength(4);
  });

  it('breaks ties by input order, and its digest names the population', () => {
    const pool = [{ genome: [2], fitness: 0.5 }, { genome: [3], fitness: 0.5 }];
    expect(selectDiverse(pool, 1, 0)[0]!.genome).toEqual([2]);
    expect(populationDigest([[2], [3]])).toBe(populationDigest([[2], [3]]));
    expect(populationDigest([[2], [3]])).not.toBe(populationDigest([[3], [2]]));
    expect(populationDigest([[2, 3]])).not.toBe(populationDigest([[2], [3]]));
  });
});
