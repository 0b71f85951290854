import { describe, expect, it } from 'vitest';
import { denseMask, int, maskDifference, popcount, randomFlips, rng, SMALL } from '../testing/random-patches.js';
import {
  bitsFlipped,
  BONSAI_HYPERPARAMETERS,
  compareFlips,
  compose,
  flipsByTensor,
  inverse,
  isCanonical,
  normalize,
  overlapReport,
  qwen3Shape,
  rowFlipsToGroupFlips,
  sameMask,
  type Flip,
} from './index.js';

const shapes = SMALL.tensors;
const CASES = 300;

describe('normalize against the dense XOR reference', () => {
  it('keeps the exact mask, is canonical and idempotent, on random flip lists', () => {
    const r = rng(1);
    for (let c = 0; c < CASES; c++) {
      const flips = randomFlips(r);
      const n = normalize(flips, shapes);
      expect(maskDifference(denseMask(flips, shapes), denseMask(n, shapes))).toBe(0);
      expect(normalize(n, shapes)).toEqual(n);
      expect(isCanonical(n, shapes)).toBe(true);
      expect([...n].sort(compareFlips)).toEqual(n);
      expect(bitsFlipped(flips, shapes)).toBe(popcount(denseMask(flips, shapes)));
      // without shapes it still keeps the mask (only the row/complement choice is skipped)
      const loose = normalize(flips);
      expect(maskDifference(denseMask(flips, shapes), denseMask(loose, shapes))).toBe(0);
    }
  });

  it('never writes more flips than the input needs, and no duplicates', () => {
    const r = rng(2);
    for (let c = 0; c < CASES; c++) {
      const flips = randomFlips(r);
      const n = normalize(flips, shapes);
      expect(n.length).toBeLessThanOrEqual(flips.length);
      expect(new Set(n.map((f) => JSON.stringify(f))).size).toBe(n.length);
    }
  });

  it('cancels a row flip against all its groups and writes 95 of 96 groups as row + 1 group', () => {
    const big = qwen3Shape(BONSAI_HYPERPARAMETERS['8B']).tensors;
    const t = 'blk.3.ffn_down'; // rows of 12288 weights = 96 groups
    const all: Flip[] = Array.from({ length: 96 }, (_, g) => ({ tensor: t, row: 9, group: g }));
    expect(normalize([{ tensor: t, row: 9 }, ...all], big)).toEqual([]);
    expect(normalize(all, big)).toEqual([{ tensor: t, row: 9 }]);
    const most = all.filter((f) => f.group !== 40);
    expect(normalize(most, big)).toEqual([{ tensor: t, row: 9 }, { tensor: t, row: 9, group: 40 }]);
    // 48 of 96 is a tie: stays as group flips
    expect(normalize(all.slice(0, 48), big)).toHaveLength(48);
    // without the shape a row flip and its groups cannot be merged
    expect(normalize([{ tensor: t, row: 9 }, ...all])).toHaveLength(97);
  });

  it('writes a mostly-flipped group as a group flip plus the bits it must keep', () => {
    const t = 'blk.0.ffn_gate';
    const bits: Flip[] = Array.from({ length: 100 }, (_, b) => ({ tensor: t, row: 1, bit: 128 + b }));
    const n = normalize(bits, shapes);
    expect(n[0]).toEqual({ tensor: t, row: 1, group: 1 });
    expect(n.slice(1).map((f) => f.bit)).toEqual(Array.from({ length: 28 }, (_, i) => 228 + i));
    expect(maskDifference(denseMask(bits, shapes), denseMask(n, shapes))).toBe(0);
  });

  it('refuses flips outside a known shape, naming the flip and the range', () => {
    expect(() => normalize([{ tensor: 'blk.0.ffn_down', row: 0, group: 3 }], shapes)).toThrow(/flips\[0\].*group 3 is out of range.*groups 0\.\.2/);
    expect(() => normalize([{ tensor: 'blk.0.attn_k', row: 128 }], shapes)).toThrow(/rows 0\.\.127/);
  });
});

describe('compose', () => {
  it('is associative, commutative and self-inverse on random patches', () => {
    const r = rng(3);
    for (let c = 0; c < CASES; c++) {
      const a = randomFlips(r);
      const b = randomFlips(r);
      const d = randomFlips(r);
      expect(compose([a, b], shapes)).toEqual(compose([b, a], shapes));
      expect(compose([compose([a, b], shapes), d], shapes)).toEqual(compose([a, compose([b, d], shapes)], shapes));
      expect(compose([a, a], shapes)).toEqual([]);
      expect(compose([a, inverse(a, shapes)], shapes)).toEqual([]);
      expect(compose([a, []], shapes)).toEqual(normalize(a, shapes));
      // composing is XOR of the dense masks
      const xor = denseMask([...a, ...b], shapes);
      expect(maskDifference(xor, denseMask(compose([a, b], shapes), shapes))).toBe(0);
      expect(sameMask(a, normalize(a, shapes), shapes)).toBe(true);
    }
  });
});

describe('views and conversions', () => {
  it('flipsByTensor gives sorted rows and (row, group) / (row, bit) pairs per tensor', () => {
    const r = rng(4);
    for (let c = 0; c < 50; c++) {
      const flips = normalize(randomFlips(r), shapes);
      const by = flipsByTensor(flips);
      let total = 0;
      for (const [name, t] of by) {
        total += t.rows.length + t.groups.length / 2 + t.bits.length / 2;
        expect([...t.rows]).toEqual([...t.rows].sort((x, y) => x - y));
        const rebuilt: Flip[] = [
          ...[...t.rows].map((row) => ({ tensor: name, row })),
          ...Array.from({ length: t.groups.length / 2 }, (_, i) => ({ tensor: name, row: t.groups[2 * i]!, group: t.groups[2 * i + 1]! })),
          ...Array.from({ length: t.bits.length / 2 }, (_, i) => ({ tensor: name, row: t.bits[2 * i]!, bit: t.bits[2 * i + 1]! })),
        ];
        expect(rebuilt.sort(compareFlips)).toEqual(flips.filter((f) => f.tensor === name));
      }
      expect(total).toBe(flips.length);
    }
  });

  it('rowFlipsToGroupFlips expands rows by the real group count and normalizes back', () => {
    const big = qwen3Shape(BONSAI_HYPERPARAMETERS['8B']).tensors;
    const flips: Flip[] = [{ tensor: 'blk.1.ffn_down', row: 5 }, { tensor: 'blk.1.ffn_gate', row: 7 }, { tensor: 'blk.1.ffn_gate', row: 8, group: 2 }];
    const groups = rowFlipsToGroupFlips(flips, big);
    expect(groups.filter((f) => f.tensor === 'blk.1.ffn_down')).toHaveLength(96);
    expect(groups.filter((f) => f.tensor === 'blk.1.ffn_gate')).toHaveLength(33);
    expect(groups.every((f) => f.group !== undefined)).toBe(true);
    expect(normalize(groups, big)).toEqual(normalize(flips, big));
    expect(() => rowFlipsToGroupFlips([{ tensor: 'blk.99.ffn_up', row: 0 }], big)).toThrow(/flips\[0\].*shape of blk\.99\.ffn_up is not known/);
  });

  it('overlapReport finds shared rows and conflicts, and its shared-bit count matches the dense masks', () => {
    const t = 'blk.0.ffn_down';
    const a: Flip[] = [{ tensor: t, row: 0 }, { tensor: t, row: 1, group: 1 }, { tensor: t, row: 2, group: 0 }, { tensor: t, row: 3, bit: 5 }];
    const b: Flip[] = [{ tensor: t, row: 0 }, { tensor: t, row: 1 }, { tensor: t, row: 2, group: 2 }, { tensor: t, row: 3, bit: 5 }, { tensor: t, row: 4 }];
    const report = overlapReport(a, b, shapes);
    expect(report.overlaps.map((o) => [o.row, o.kind, o.conflict, o.sharedBits])).toEqual([
      [0, 'row-row', true, 384],
      [1, 'row-group', true, 128],
      [2, 'same-row', false, 0],
      [3, 'same-row', true, 1],
    ]);
    expect(report.sharedRows).toBe(4);
    expect(report.conflicts).toBe(3);
    const r = rng(5);
    for (let c = 0; c < 100; c++) {
      const x = randomFlips(r);
      const y = randomFlips(r);
      const mx = denseMask(x, shapes);
      const my = denseMask(y, shapes);
      let shared = 0;
      for (const [name, m] of mx) {
        const o = my.get(name);
        if (o) for (let i = 0; i < m.length; i++) shared += m[i]! & o[i]!;
      }
      const rep = overlapReport(x, y, shapes);
      expect(rep.overlaps.reduce((s, o) => s + (o.sharedBits ?? 0), 0)).toBe(shared);
      expect(rep.conflicts > 0).toBe(shared > 0);
      // stacking cancels exactly the shared weights
      expect(bitsFlipped(compose([x, y], shapes), shapes)).toBe(popcount(mx) + popcount(my) - 2 * shared);
    }
    expect(int(r, 1)).toBe(0);
  });
});

describe('large recorded shapes', () => {
  it('normalizes rows of huge tensors by the groups present, and bounds row-to-group expansion', () => {
    const huge = new Map([['blk.0.ffn_up', { rows: 4, cols: 0x7fffff80 }]]);
    const flips: Flip[] = [{ tensor: 'blk.0.ffn_up', row: 1 }, { tensor: 'blk.0.ffn_up', row: 1, group: 7 }, { tensor: 'blk.0.ffn_up', row: 2, group: 9 }];
    expect(normalize(flips, huge)).toEqual(flips);
    expect(bitsFlipped(flips, huge)).toBe(0x7fffff80 - 128 + 128);
    expect(overlapReport(flips, [{ tensor: 'blk.0.ffn_up', row: 1 }], huge).overlaps[0]!.sharedBits).toBe(0x7fffff80 - 128);
    expect(() => rowFlipsToGroupFlips(flips, huge)).toThrow(/more than the limit/);
  });
});
