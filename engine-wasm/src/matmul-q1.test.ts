import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, type FlipSet, type Q1Tensor } from './index.js';
import { bitDiff, f16Value, matmulQ1Js, randomF32, randomQ1, rng } from './test-util.js';

let e: Engine;
beforeAll(async () => {
  e = await createEngine();
});

interface Case { t: Q1Tensor; gguf: Uint8Array; xq: number; n: number; q: Int8Array; d: Float32Array }

function setup(rows: number, cols: number, n: number, seed: number): Case {
  const rand = rng(seed);
  const gguf = randomQ1(rows, cols, rand);
  const layout = e.q1Layout(rows, cols);
  const t = e.q1Place(layout, e.alloc(layout.bytes));
  const src = e.alloc(gguf.length);
  e.u8(src, gguf.length).set(gguf);
  e.q1PackRows(t, 0, rows, src);
  const x = e.alloc(n * cols * 4);
  e.writeF32(x, randomF32(n * cols, rand, 2));
  const xq = e.alloc(e.q8Bytes(n, cols));
  e.quantizeQ8(x, n, cols, xq);
  return { t, gguf, xq, n, q: e.q8Quants(xq, n, cols).slice(), d: e.q8Scales(xq, n, cols).slice() };
}

function run(c: Case, fast: boolean, flips?: FlipSet, row0 = 0, row1 = c.t.rows): Float32Array {
  const y = e.alloc(c.n * c.t.rows * 4);
  e.fill(y, c.n * c.t.rows, 12345);
  if (fast) e.matmulQ1(c.t, c.xq, c.n, y, flips, row0, row1);
  else e.matmulQ1Ref(c.t, c.xq, c.n, y, flips, row0, row1);
  return e.f32(y, c.n * c.t.rows).slice();
}

describe('matmulQ1', () => {
  it('reference == plain JS from GGUF bytes (llama.cpp generic order), bit for bit', () => {
    const mark = e.mark();
    const c = setup(19, 256, 2, 20);
    const want = matmulQ1Js(c.gguf, 19, 256, c.q, c.d, 2);
    expect(bitDiff(run(c, false), want, 19)).toBe('');
    e.reset(mark);
  });

  it('fast == reference bit for bit on random inputs (tiles, edge rows, batches)', () => {
    const shapes: [number, number, number][] = [[16, 128, 1], [64, 512, 3], [37, 384, 2], [5, 128, 4], [160, 1024, 5], [48, 2048, 4]];
    shapes.forEach(([rows, cols, n], i) => {
      const mark = e.mark();
      const c = setup(rows, cols, n, 100 + i);
      const diff = bitDiff(run(c, true), run(c, false), rows);
      expect(diff, `shape ${rows}x${cols}, n=${n}`).toBe('');
      e.reset(mark);
    });
  });

  it('fast == reference when the columns are split into chunks (small table budget)', () => {
    for (const budget of [1024, 3 * 1024 * 2]) {
      e.exports.setQ1LutBudget(budget);
      const mark = e.mark();
      const c = setup(48, 1024, 3, 200 + budget);
      const pairs: [number, number][] = [[4, 2], [33, 7]];
      const flips = e.writeFlips([1], pairs);
      expect(bitDiff(run(c, true), run(c, false), 48), `budget ${budget}`).toBe('');
      expect(bitDiff(run(c, true, flips), run(c, false, flips), 48), `budget ${budget}, flips`).toBe('');
      e.reset(mark);
    }
    e.exports.setQ1LutBudget(0xffffffff);
  });

  it('fast == reference at the integer extremes (|q| = 127 everywhere, all-ones / all-zeros rows)', () => {
    const mark = e.mark();
    const rows = 32, cols = 256, n = 2;
    const gguf = randomQ1(rows, cols, rng(90));
    for (let r = 0; r < 8; r++) for (let g = 0; g < 2; g++) gguf.fill(r % 2 ? 0xff : 0x00, (r * 2 + g) * 18 + 2, (r * 2 + g) * 18 + 18);
    const t = e.q1Place(e.q1Layout(rows, cols), e.alloc(e.q1Layout(rows, cols).bytes));
    const src = e.alloc(gguf.length);
    e.u8(src, gguf.length).set(gguf);
    e.q1PackRows(t, 0, rows, src);
    const x = e.alloc(n * cols * 4);
    e.writeF32(x, Array.from({ length: n * cols }, (_, i) => (i < cols ? 1 : (i % 3 ? -1 : 1))));
    const xq = e.alloc(e.q8Bytes(n, cols));
    e.quantizeQ8(x, n, cols, xq);
    const q = e.q8Quants(xq, n, cols).slice(), d = e.q8Scales(xq, n, cols).slice();
    expect(q.every((v) => Math.abs(v) === 127)).toBe(true);
    const c: Case = { t, gguf, xq, n, q, d };
    const fast = run(c, true);
    expect(bitDiff(fast, run(c, false), rows)).toBe('');
    expect(bitDiff(fast, matmulQ1Js(gguf, rows, cols, q, d, n), rows)).toBe('');
    // token 0 (all +127): an all-ones row sums to +sum_b d_b * 4 * dx * 4064 (isum at its maximum),
    // an all-zeros row to the negative of its own
    const dv = new DataView(gguf.buffer);
    const dScale = (r: number) => [0, 1].reduce((a, g) => a + f16Value(dv.getUint16((r * 2 + g) * 18, true)), 0);
    expect(fast[1] / (dScale(1) * 4 * d[0] * 4064)).toBeCloseTo(1, 6);
    expect(fast[0] / (dScale(0) * 4 * d[0] * -4064)).toBeCloseTo(1, 6);
    e.reset(mark);
  });

  it('a row range computes only those rows', () => {
    const mark = e.mark();
    const c = setup(50, 256, 2, 30);
    const full = run(c, false);
    const part = run(c, true, undefined, 7, 41);
    for (let t = 0; t < 2; t++) {
      for (let r = 0; r < 50; r++) {
        const want = r >= 7 && r < 41 ? full[t * 50 + r] : 12345;
        expect(part[t * 50 + r], `token ${t} row ${r}`).toBe(want);
      }
    }
    e.reset(mark);
  });

  it('virtual row flips == materialized xorRows, bit for bit (fast and reference)', () => {
    const mark = e.mark();
    const c = setup(48, 256, 2, 40);
    const rows = [3, 17, 17, 40, 47]; // 17 twice cancels
    const flips = e.writeFlips(rows, []);
    const virtFast = run(c, true, flips);
    const virtRef = run(c, false, flips);
    const list = e.alloc(rows.length * 4);
    e.i32(list, rows.length).set(rows);
    e.xorRows(c.t, list, rows.length);
    const mat = run(c, true);
    e.xorRows(c.t, list, rows.length);
    expect(bitDiff(virtFast, mat, 48)).toBe('');
    expect(bitDiff(virtRef, mat, 48)).toBe('');
    expect(bitDiff(run(c, true), virtFast, 48)).not.toBe(''); // flips really changed something
    e.reset(mark);
  });

  it('virtual group flips == materialized xorGroups (exact here: isum is negated in the sum)', () => {
    const mark = e.mark();
    const c = setup(40, 384, 3, 50);
    const pairs: [number, number][] = [[33, 2], [2, 0], [2, 1], [17, 1], [17, 1], [39, 0]];
    const flips = e.writeFlips([2, 39], pairs);
    const virtFast = run(c, true, flips);
    const virtRef = run(c, false, flips);
    const plist = e.alloc(pairs.length * 8);
    e.i32(plist, pairs.length * 2).set(pairs.flat());
    const rlist = e.alloc(8);
    e.i32(rlist, 2).set([2, 39]);
    e.xorGroups(c.t, plist, pairs.length);
    e.xorRows(c.t, rlist, 2);
    const mat = run(c, true);
    const matRef = run(c, false);
    e.xorGroups(c.t, plist, pairs.length);
    e.xorRows(c.t, rlist, 2);
    expect(bitDiff(mat, matRef, 40)).toBe('');
    expect(bitDiff(virtFast, mat, 40)).toBe('');
    expect(bitDiff(virtRef, mat, 40)).toBe('');
    const js = matmulQ1Js(c.gguf, 40, 384, c.q, c.d, 3, [2, 39], pairs);
    expect(bitDiff(virtFast, js, 40)).toBe('');
    e.reset(mark);
  });

  it('rejects unsorted flip pairs and out-of-range flips', () => {
    const mark = e.mark();
    const c = setup(16, 128, 1, 60);
    const y = e.alloc(64);
    const bad = e.writeFlips([], [[1, 0], [2, 0]]);
    e.i32(bad.pairsPtr, 4).set([2, 0, 1, 0]);
    expect(() => e.matmulQ1(c.t, c.xq, 1, y, bad)).toThrow(/sorted/);
    expect(() => e.matmulQ1(c.t, c.xq, 1, y, e.writeFlips([16], []))).toThrow(/outside the tensor's 16 rows/);
    e.reset(mark);
  });
});
