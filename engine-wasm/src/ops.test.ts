import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from './index.js';
import { f16Bits, f16Round, f16Value, f32, randomF32, rng } from './test-util.js';

let e: Engine;
beforeAll(async () => {
  e = await createEngine();
});

function put(a: ArrayLike<number>): number {
  const p = e.alloc(a.length * 4);
  e.writeF32(p, a);
  return p;
}

/** max |a-b| / max(1, |b|) over the arrays */
function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

describe('f32 ops vs plain JS', () => {
  it('rmsNorm: f64 sum of f32 squares, f32 scale, (x*scale)*w, in place too', () => {
    const rand = rng(1);
    const n = 3, dim = 200, eps = 1e-6;
    const x = randomF32(n * dim, rand, 4), w = randomF32(dim, rand, 2);
    const want = new Float32Array(n * dim);
    for (let t = 0; t < n; t++) {
      let sum = 0;
      for (let i = 0; i < dim; i++) sum += f32(x[t * dim + i] * x[t * dim + i]);
      const scale = f32(1 / f32(Math.sqrt(f32(f32(sum / dim) + f32(eps)))));
      for (let i = 0; i < dim; i++) want[t * dim + i] = f32(f32(x[t * dim + i] * scale) * w[i]);
    }
    const mark = e.mark();
    const xp = put(x), wp = put(w), out = e.alloc(n * dim * 4);
    e.rmsNorm(xp, n, dim, wp, eps, out);
    expect(Array.from(e.f32(out, n * dim))).toEqual(Array.from(want));
    e.rmsNorm(xp, n, dim, wp, eps, xp);
    expect(Array.from(e.f32(xp, n * dim))).toEqual(Array.from(want));
    e.reset(mark);
  });

  it('ropeNeox: pairs (j, j+half), theta = pos * base^(-2j/ropeDim), dims past ropeDim untouched', () => {
    const rand = rng(2);
    const n = 3, nHeads = 2, headDim = 16, ropeDim = 12, pos0 = 5, base = 10000;
    const x = randomF32(n * nHeads * headDim, rand);
    const want = Float32Array.from(x);
    const half = ropeDim / 2;
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < nHeads; h++) {
        for (let j = 0; j < half; j++) {
          const theta = (pos0 + t) * base ** (-2 * j / ropeDim);
          const o = (t * nHeads + h) * headDim;
          const x0 = x[o + j], x1 = x[o + j + half];
          want[o + j] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
          want[o + j + half] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
        }
      }
    }
    const mark = e.mark();
    const xp = put(x);
    e.ropeNeox(xp, n, nHeads, headDim, pos0, base, ropeDim);
    const got = e.f32(xp, x.length);
    expect(maxRelErr(got, want)).toBeLessThan(1e-5);
    for (let t = 0; t < n; t++) for (let h = 0; h < nHeads; h++) for (let d = ropeDim; d < headDim; d++) {
      const i = (t * nHeads + h) * headDim + d;
      expect(got[i]).toBe(x[i]);
    }
    e.reset(mark);
  });

  it('attention: causal, GQA head mapping, softmax over scaled scores', () => {
    const rand = rng(3);
    const n = 3, pos0 = 4, nHead = 4, nKv = 2, hd = 8, ctx = pos0 + n, scale = 1 / Math.sqrt(hd);
    const q = randomF32(n * nHead * hd, rand), k = randomF32(ctx * nKv * hd, rand), v = randomF32(ctx * nKv * hd, rand);
    const want = new Float32Array(n * nHead * hd);
    for (let i = 0; i < n; i++) for (let h = 0; h < nHead; h++) {
      const kvh = Math.floor(h / (nHead / nKv));
      const len = pos0 + i + 1;
      const s: number[] = [];
      for (let j = 0; j < len; j++) {
        let d = 0;
        for (let c = 0; c < hd; c++) d += q[(i * nHead + h) * hd + c] * k[(j * nKv + kvh) * hd + c];
        s.push(d * scale);
      }
      const m = Math.max(...s);
      const ex = s.map((z) => Math.exp(z - m));
      const sum = ex.reduce((a, b) => a + b, 0);
      for (let c = 0; c < hd; c++) {
        let o = 0;
        for (let j = 0; j < len; j++) o += (ex[j] / sum) * v[(j * nKv + kvh) * hd + c];
        want[(i * nHead + h) * hd + c] = o;
      }
    }
    const mark = e.mark();
    const out = e.alloc(want.length * 4);
    e.attention(put(q), put(k), put(v), n, pos0, nHead, nKv, hd, scale, out, e.alloc(ctx * 4));
    expect(maxRelErr(e.f32(out, want.length), want)).toBeLessThan(1e-5);
    e.reset(mark);
  });

  it('softmax and logSoftmax rows', () => {
    const rand = rng(4);
    const n = 2, dim = 50;
    const x = randomF32(n * dim, rand, 8);
    const sm: number[] = [], lsm: number[] = [];
    for (let t = 0; t < n; t++) {
      const row = Array.from(x.slice(t * dim, (t + 1) * dim));
      const m = Math.max(...row);
      const sum = row.reduce((a, z) => a + Math.exp(z - m), 0);
      for (const z of row) { sm.push(Math.exp(z - m) / sum); lsm.push(z - m - Math.log(sum)); }
    }
    const mark = e.mark();
    const out = e.alloc(n * dim * 4);
    const xp = put(x);
    e.logSoftmax(xp, n, dim, out);
    expect(maxRelErr(e.f32(out, n * dim), lsm)).toBeLessThan(1e-6);
    e.softmax(xp, n, dim);
    expect(maxRelErr(e.f32(xp, n * dim), sm)).toBeLessThan(1e-6);
    e.reset(mark);
  });

  it('siluMul, add, mul, scale, copy, fill', () => {
    const rand = rng(5);
    const len = 37;
    const a = randomF32(len, rand, 6), b = randomF32(len, rand, 3);
    const mark = e.mark();
    const ap = put(a), bp = put(b), out = e.alloc(len * 4);
    e.siluMul(ap, bp, len, out);
    expect(maxRelErr(e.f32(out, len), Array.from(a, (g, i) => (g / (1 + Math.exp(-g))) * b[i]))).toBeLessThan(1e-6);
    e.add(ap, bp, len, out);
    expect(Array.from(e.f32(out, len))).toEqual(Array.from(a, (z, i) => f32(z + b[i])));
    e.mul(ap, bp, len, out);
    expect(Array.from(e.f32(out, len))).toEqual(Array.from(a, (z, i) => f32(z * b[i])));
    e.scale(ap, len, 0.5, out);
    expect(Array.from(e.f32(out, len))).toEqual(Array.from(a, (z) => f32(z * 0.5)));
    e.copy(ap, out, len * 4);
    expect(Array.from(e.f32(out, len))).toEqual(Array.from(a));
    e.fill(out, len, -2.5);
    expect(Array.from(e.f32(out, len)).every((z) => z === -2.5)).toBe(true);
    e.reset(mark);
  });
});

describe('dense matmuls vs plain JS', () => {
  it('matmulF32', () => {
    const rand = rng(6);
    const rows = 7, cols = 35, n = 3;
    const w = randomF32(rows * cols, rand), x = randomF32(n * cols, rand);
    const want: number[] = [];
    for (let t = 0; t < n; t++) for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += x[t * cols + c] * w[r * cols + c];
      want.push(s);
    }
    const mark = e.mark();
    const y = e.alloc(n * rows * 4);
    e.matmulF32(put(w), rows, cols, put(x), n, y);
    expect(maxRelErr(e.f32(y, n * rows), want)).toBeLessThan(1e-5);
    e.reset(mark);
  });

  it('matmulF16 decodes fp16 weights (incl. subnormals) and matches JS with x rounded to fp16', () => {
    const rand = rng(7);
    const rows = 5, cols = 43, n = 2;
    const wv = randomF32(rows * cols, rand, 2).map((v) => f16Round(v));
    wv[3] = f16Value(0x0001); wv[4] = f16Value(0x03ff); wv[5] = 65504;
    const x = randomF32(n * cols, rand, 3);
    const want: number[] = [];
    for (let t = 0; t < n; t++) for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += f16Round(x[t * cols + c]) * wv[r * cols + c];
      want.push(s);
    }
    const mark = e.mark();
    const wp = e.alloc(rows * cols * 2);
    e.u16(wp, rows * cols).set(Array.from(wv, (v) => f16Bits(v)));
    const y = e.alloc(n * rows * 4);
    e.matmulF16(wp, rows, cols, put(x), n, y);
    expect(maxRelErr(e.f32(y, n * rows), want)).toBeLessThan(1e-5);
    e.reset(mark);
  });

  it('matmulF16 rounds each activation to the nearest fp16 exactly (identity weights)', () => {
    const rand = rng(9);
    const dim = 64;
    // ties (1 + 2^-11 -> 1, 1 + 3*2^-11 -> 1 + 2^-9), subnormal range, near-max, random magnitudes
    const x = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 3 * 2 ** -25, 2 ** -25, 5e-6, -7e-7, 65519, -65500];
    while (x.length < dim) x.push(f32((rand() * 2 - 1) * 2 ** (Math.floor(rand() * 30) - 15)));
    const mark = e.mark();
    const wp = e.alloc(dim * dim * 2);
    const eye = e.u16(wp, dim * dim);
    eye.fill(0);
    for (let i = 0; i < dim; i++) eye[i * dim + i] = f16Bits(1);
    const y = e.alloc(dim * 4);
    e.matmulF16(wp, dim, dim, put(x), 1, y);
    expect(Array.from(e.f32(y, dim))).toEqual(x.map((v) => f16Round(f32(v))));
    e.reset(mark);
  });

  it('roundF16 matches the plain fp16 rounding', () => {
    const rand = rng(8);
    const x = randomF32(1000, rand, 100);
    const mark = e.mark();
    const out = e.alloc(4000);
    e.roundF16(put(x), 1000, out);
    expect(Array.from(e.f32(out, 1000))).toEqual(Array.from(x, (v) => f16Round(v)));
    e.reset(mark);
  });
});
