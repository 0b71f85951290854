// ---- Q8_0 activations in the engine's layout ----
// For n rows of `cols` f32 values (cols % 32 == 0), one buffer of q8Bytes(n, cols) bytes:
//   qs   at 0:             (n, cols) int8                       round-half-even(x * 127/amax)
//   d    at n*cols:        (n, cols/32) f32                     fp16(amax/127) widened to f32
//   lut  at q8LutOffset:   (n, cols/4, 2, 16) bytes             per 4 activations, the 16 partial
//        sums T[idx] = sum_i (bit i of idx ? +q_i : -q_i) as int16, split into 16 low bytes then
//        16 high bytes (the fast 1-bit kernel looks both up with i8x16.swizzle).
// This follows llama.cpp's x86 quantize_row_q8_0: d = amax/127, id = amax ? 127/amax : 0,
// q = nearest-even(x * id), d stored as fp16.

import { f32ToF16Bits, f16ToF32 } from './f16';

export function q8ScalesOffset(n: i32, cols: i32): usize {
  return <usize>n * <usize>cols;
}

export function q8LutOffset(n: i32, cols: i32): usize {
  const end = q8ScalesOffset(n, cols) + (<usize>n * <usize>(cols >> 5)) * 4;
  return (end + 15) & ~<usize>15;
}

export function q8Bytes(n: i32, cols: i32): usize {
  return q8LutOffset(n, cols) + <usize>n * <usize>(cols >> 2) * 32;
}

// Quantizes x (n, cols) f32 into out (q8Bytes(n, cols) bytes) and builds the lookup tables.
export function quantizeQ8(x: usize, n: i32, cols: i32, out: usize): void {
  const qs = out;
  const ds = out + q8ScalesOffset(n, cols);
  const blocks = <usize>n * <usize>(cols >> 5);
  for (let b: usize = 0; b < blocks; b++) {
    const xp = x + b * 128;
    const v0 = v128.load(xp), v1 = v128.load(xp, 16), v2 = v128.load(xp, 32), v3 = v128.load(xp, 48);
    const v4 = v128.load(xp, 64), v5 = v128.load(xp, 80), v6 = v128.load(xp, 96), v7 = v128.load(xp, 112);
    let m = f32x4.max(
      f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3))),
      f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))),
    );
    const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)),
      max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const d: f32 = amax / 127.0;
    const id: f32 = amax != 0 ? <f32>127.0 / amax : 0;
    store<f32>(ds + b * 4, f16ToF32(f32ToF16Bits(reinterpret<u32>(d))));
    const vid = f32x4.splat(id);
    const q0 = quant4(v0, vid), q1 = quant4(v1, vid), q2 = quant4(v2, vid), q3 = quant4(v3, vid);
    const q4 = quant4(v4, vid), q5 = quant4(v5, vid), q6 = quant4(v6, vid), q7 = quant4(v7, vid);
    const qp = qs + b * 32;
    v128.store(qp, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    v128.store(qp, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q4, q5), i16x8.narrow_i32x4_s(q6, q7)), 16);
  }
  buildLut(out, n, cols);
}

// nearest-even(x * id) as i32x4 (|x * id| <= 127 by construction)
// @ts-ignore: decorator
@inline function quant4(v: v128, vid: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v, vid)));
}

// Builds the (n, cols/4) lookup tables from the int8 quants already in `q8`.
export function buildLut(q8: usize, n: i32, cols: i32): void {
  const lut = q8 + q8LutOffset(n, cols);
  const quads = <usize>n * <usize>(cols >> 2);
  // sign of activation i in table entry idx (bit i of idx set -> +), entries 0..7
  const s0 = i16x8(-1, 1, -1, 1, -1, 1, -1, 1);
  const s1 = i16x8(-1, -1, 1, 1, -1, -1, 1, 1);
  const s2 = i16x8(-1, -1, -1, -1, 1, 1, 1, 1);
  for (let g: usize = 0; g < quads; g++) {
    const qp = q8 + g * 4;
    const base = i16x8.add(
      i16x8.add(i16x8.mul(i16x8.splat(load<i8>(qp)), s0), i16x8.mul(i16x8.splat(load<i8>(qp, 1)), s1)),
      i16x8.mul(i16x8.splat(load<i8>(qp, 2)), s2),
    );
    const a3 = i16x8.splat(load<i8>(qp, 3));
    const lo8 = i16x8.sub(base, a3); // entries 0..7 (bit 3 clear)
    const hi8 = i16x8.add(base, a3); // entries 8..15
    const tp = lut + g * 32;
    v128.store(tp, i8x16.shuffle(lo8, hi8, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    v128.store(tp, i8x16.shuffle(lo8, hi8, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), 16);
  }
}
