import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from './index.js';
import { f16Bits, f16Round, f16Value, quantizeQ8Ref, randomF32, rng } from './test-util.js';

let e: Engine;
beforeAll(async () => {
  e = await createEngine();
});

describe('fp16 conversions', () => {
  it('f16 -> f32 is exact and f32 -> f16 inverts it for all 65536 bit patterns', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const fbits = e.exports.f16ToF32Bits(h) >>> 0;
      const v = new Float32Array(new Uint32Array([fbits]).buffer)[0];
      const want = f16Value(h);
      const valueOk = Number.isNaN(want) ? Number.isNaN(v) : Object.is(v, want);
      const back = e.exports.f32ToF16Bits(fbits) >>> 0;
      if (!valueOk || back !== h) bad.push(`0x${h.toString(16)} -> ${v} -> 0x${back.toString(16)}`);
    }
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it('f32 -> f16 rounds to nearest, ties to even, matching a plain reference', () => {
    const rand = rng(1);
    const cases: number[] = [65504, 65519.99, 65520, 1e9, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -26,
      1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20, 0, -0, 1 / 3];
    for (let i = 0; i < 20000; i++) {
      const mag = 2 ** (Math.floor(rand() * 50) - 30);
      cases.push(Math.fround((rand() * 2 - 1) * mag));
    }
    for (const c of cases) {
      for (const v of [c, -c]) {
        const fv = Math.fround(v);
        const bits = new Uint32Array(new Float32Array([fv]).buffer)[0];
        const got = f16Value(e.exports.f32ToF16Bits(bits) >>> 0);
        expect(Object.is(got, f16Round(fv)), `f32ToF16(${fv}) = ${got}, want ${f16Round(fv)}`).toBe(true);
      }
    }
  });
});

describe('quantizeQ8', () => {
  function run(x: Float32Array, n: number, cols: number) {
    const mark = e.mark();
    const xp = e.alloc(x.length * 4);
    e.writeF32(xp, x);
    const out = e.alloc(e.q8Bytes(n, cols));
    e.quantizeQ8(xp, n, cols, out);
    const res = { q: e.q8Quants(out, n, cols).slice(), d: e.q8Scales(out, n, cols).slice(), lut: e.u8(out + (e.q8Bytes(n, cols) - n * cols * 8), n * cols * 8).slice() };
    e.reset(mark);
    return res;
  }

  it('matches the plain llama.cpp reference on random rows', () => {
    const rand = rng(2);
    const n = 3, cols = 512;
    const x = randomF32(n * cols, rand, 3);
    const got = run(x, n, cols);
    const want = quantizeQ8Ref(x);
    expect(Array.from(got.q)).toEqual(Array.from(want.q));
    expect(Array.from(got.d)).toEqual(Array.from(want.d));
  });

  it('rounds halfway cases to even and gives zero blocks d = 0, q = 0', () => {
    // block 0: amax 127 -> id = 1 exactly, so x*id hits .5 exactly
    const x = new Float32Array(96);
    x[0] = 127;
    const halves = [0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, 126.5, -126.5];
    halves.forEach((h, i) => { x[1 + i] = h; });
    // block 1: amax 63.5 -> id = 2, 1.25 * 2 = 2.5 -> 2
    x[32] = 63.5; x[33] = 1.25; x[34] = -1.75; x[35] = 0.25;
    // block 2: all zeros
    const got = run(x, 1, 96);
    expect(Array.from(got.q.slice(0, 11))).toEqual([127, 0, 2, 2, 4, 0, -2, -2, -4, 126, -126]);
    expect(Array.from(got.q.slice(32, 36))).toEqual([127, 2, -4, 0]);
    expect(got.d[0]).toBe(f16Round(Math.fround(127 / 127)));
    expect(got.d[1]).toBe(f16Round(Math.fround(63.5 / 127)));
    expect(got.d[2]).toBe(0);
    expect(Array.from(got.q.slice(64, 96)).every((v) => v === 0)).toBe(true);
  });

  it('stores d as the fp16-rounded amax/127', () => {
    const x = new Float32Array(32);
    x[5] = 1.2345678;
    const got = run(x, 1, 32);
    const d = Math.fround(x[5] / 127);
    expect(got.d[0]).toBe(f16Value(f16Bits(f16Round(d))));
    expect(got.d[0]).not.toBe(d); // really rounded
  });

  it('builds lookup tables T[idx] = sum of +-q over each quad of activations', () => {
    const rand = rng(3);
    const n = 2, cols = 128;
    const x = randomF32(n * cols, rand, 10);
    x[7] = 10; // force a full-range quad
    const got = run(x, n, cols);
    const bad: string[] = [];
    for (let g = 0; g < (n * cols) / 4; g++) {
      for (let idx = 0; idx < 16; idx++) {
        let want = 0;
        for (let i = 0; i < 4; i++) want += (idx >> i) & 1 ? got.q[g * 4 + i] : -got.q[g * 4 + i];
        const lo = got.lut[g * 32 + idx];
        const hi = (got.lut[g * 32 + 16 + idx] << 24) >> 24;
        if (lo + hi * 256 !== want) bad.push(`quad ${g} idx ${idx}: ${lo + hi * 256} != ${want}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('rejects bad shapes with a clear message', () => {
    expect(() => e.q8Bytes(1, 48)).toThrow(/multiple of 32/);
    expect(() => e.quantizeQ8(e.byteLength - 4, 1, 32, 0)).toThrow(/outside engine memory/);
  });
});
