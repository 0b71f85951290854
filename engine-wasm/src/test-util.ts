// Plain JS references and helpers shared by the engine tests (not part of the package build).

import { Rng } from '@bankai/rng';

/** Uniform floats in [0, 1) from the project's seeded generator: failures reproduce. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextFloat();
}

export const f32 = Math.fround;

/** Round half to even on an exactly representable double. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** fp16 bits -> value (plain arithmetic decode). */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** value -> nearest fp16 value (ties to even), plain arithmetic. */
export function f16Round(v: number): number {
  if (Number.isNaN(v) || !Number.isFinite(v)) return v;
  const a = Math.abs(v);
  if (a >= 65520) return Math.sign(v) * Infinity;
  let quantum: number;
  if (a < 2 ** -14) quantum = 2 ** -24;
  else quantum = 2 ** (Math.floor(Math.log2(a)) - 10);
  // guard log2 rounding at exact powers of two
  if (a >= 2 ** -14 && a / quantum >= 2048) quantum *= 2;
  if (a >= 2 ** -14 && a / quantum < 1024) quantum /= 2;
  const r = roundHalfEven(a / quantum) * quantum;
  return v < 0 || Object.is(v, -0) ? -r : r;
}

/** value (already an fp16 value) -> fp16 bits */
export function f16Bits(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  const exp = a / 2 ** e >= 2 ? e + 1 : a / 2 ** e < 1 ? e - 1 : e;
  return sign | ((exp + 15) << 10) | Math.round((a / 2 ** exp - 1) * 1024);
}

/** llama.cpp's x86 quantize_row_q8_0 on one row: returns quants and fp16-rounded scales. */
export function quantizeQ8Ref(x: Float32Array): { q: Int8Array; d: Float32Array } {
  const q = new Int8Array(x.length);
  const d = new Float32Array(x.length / 32);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const db = f32(amax / 127);
    const id = amax !== 0 ? f32(127 / amax) : 0;
    d[b] = f16Round(db);
    for (let j = 0; j < 32; j++) q[b * 32 + j] = roundHalfEven(f32(x[b * 32 + j] * id));
  }
  return { q, d };
}

/**
 * Reference Q1_0 x Q8_0 matmul straight from GGUF bytes (rows*groups blocks of 18 bytes), in
 * llama.cpp's generic order with f32 rounding after every operation. Group flips negate isum.
 */
export function matmulQ1Js(gguf: Uint8Array, rows: number, cols: number, q: Int8Array, d: Float32Array, n: number,
  flipRows: number[] = [], flipPairs: [number, number][] = []): Float32Array {
  const groups = cols / 128;
  const dv = new DataView(gguf.buffer, gguf.byteOffset, gguf.byteLength);
  const y = new Float32Array(n * rows);
  const rowNeg = (r: number) => flipRows.filter((x) => x === r).length % 2 === 1;
  const grpNeg = (r: number, g: number) => flipPairs.filter(([a, b]) => a === r && b === g).length % 2 === 1;
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let sumf = 0;
      for (let b = 0; b < groups; b++) {
        const off = (r * groups + b) * 18;
        const db = f16Value(dv.getUint16(off, true));
        let acc = 0;
        for (let k = 0; k < 4; k++) {
          let isum = 0;
          for (let j = 0; j < 32; j++) {
            const w = b * 128 + k * 32 + j;
            const bit = (gguf[off + 2 + ((k * 32 + j) >> 3)] >> (j & 7)) & 1;
            const qv = q[t * cols + w];
            isum += bit ? qv : -qv;
          }
          if (grpNeg(r, b)) isum = -isum;
          acc = f32(acc + f32(d[t * (cols / 32) + b * 4 + k] * isum));
        }
        sumf = f32(sumf + f32(db * acc));
      }
      y[t * rows + r] = rowNeg(r) ? -sumf : sumf;
    }
  }
  return y;
}

/** Random GGUF Q1_0 bytes with sane scales (d in [1e-3, 0.1)). */
export function randomQ1(rows: number, cols: number, rand: () => number): Uint8Array {
  const groups = cols / 128;
  const out = new Uint8Array(rows * groups * 18);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < rows * groups; i++) {
    dv.setUint16(i * 18, f16Bits(f16Round(1e-3 + rand() * 0.099)), true);
    for (let j = 0; j < 16; j++) out[i * 18 + 2 + j] = (rand() * 256) | 0;
  }
  return out;
}

export function randomF32(n: number, rand: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

/** Describes where two f32 arrays differ bit-wise: count, first rows, bits flipped (XOR popcount). */
export function bitDiff(a: Float32Array, b: Float32Array, rowLen: number): string {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i]) {
      count++;
      if (bad.length < 8) {
        let x = (ua[i] ^ ub[i]) >>> 0, bits = 0;
        while (x) { bits += x & 1; x >>>= 1; }
        bad.push(`[token ${Math.floor(i / rowLen)}, row ${i % rowLen}] ${a[i]} vs ${b[i]} (${bits} bits differ)`);
      }
    }
  }
  return count === 0 ? '' : `${count} of ${a.length} outputs differ: ${bad.join('; ')}`;
}
