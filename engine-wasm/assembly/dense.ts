// ---- dense weights (non-1-bit files): y (n, rows) = x (n, cols) . W^T ----
// W is (rows, cols) row-major, f32 or raw fp16 bits. Accumulation: four f32x4 partial sums over
// 16-column steps, reduced at the end, then a scalar tail (float rounding differs from a plain loop
// only in summation order).

import { f16ToF32, roundToF16 } from './f16';

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

export function matmulF32(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize): void {
  const c16 = cols & ~15;
  for (let t = 0; t < n; t++) {
    const xr = x + <usize>t * <usize>cols * 4;
    for (let r = 0; r < rows; r++) {
      const wr = w + <usize>r * <usize>cols * 4;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let c = 0; c < c16; c += 16) {
        const o = <usize>c << 2;
        s0 = f32x4.add(s0, f32x4.mul(v128.load(xr + o), v128.load(wr + o)));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(xr + o, 16), v128.load(wr + o, 16)));
        s2 = f32x4.add(s2, f32x4.mul(v128.load(xr + o, 32), v128.load(wr + o, 32)));
        s3 = f32x4.add(s3, f32x4.mul(v128.load(xr + o, 48), v128.load(wr + o, 48)));
      }
      let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
      for (let c = c16; c < cols; c++) s += load<f32>(xr + (<usize>c << 2)) * load<f32>(wr + (<usize>c << 2));
      store<f32>(y + (<usize>t * <usize>rows + <usize>r) * 4, s);
    }
  }
}

// 4 fp16 values (bits zero-extended in i32 lanes) -> f32x4, exact (subnormals, inf, NaN included)
// @ts-ignore: decorator
@inline function f16x4ToF32(h: v128): v128 {
  const em = v128.and(h, i32x4.splat(0x7fff));
  // exponent+mantissa shifted into f32 position, then scaled by 2^112 (exact, handles subnormals)
  let v = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(reinterpret<f32>(0x77800000)));
  // inf / NaN: force the f32 exponent to all ones, keep the payload
  const special = i32x4.ge_s(em, i32x4.splat(0x7c00));
  v = v128.bitselect(v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000)), v, special);
  return v128.or(v, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

// 4 f32 -> nearest fp16 values (ties to even) as f32: llama.cpp converts activations to fp16
// before an F16 dot. Normal range: round the mantissa bits to 10; below 2^-14: (a + 0.5) - 0.5
// rounds to a multiple of 2^-24; at or above 65520: inf. (NaN stays NaN.)
// @ts-ignore: decorator
@inline function roundF16x4(x: v128): v128 {
  const signBit = i32x4.splat(0x80000000);
  const sign = v128.and(x, signBit);
  const a = v128.andnot(x, signBit);
  const lsb = v128.and(i32x4.shr_u(a, 13), i32x4.splat(1));
  const normal = v128.and(i32x4.add(i32x4.add(a, i32x4.splat(0xfff)), lsb), i32x4.splat(0xffffe000));
  const tiny = f32x4.sub(f32x4.add(a, f32x4.splat(0.5)), f32x4.splat(0.5));
  let r = v128.bitselect(tiny, normal, i32x4.lt_s(a, i32x4.splat(0x38800000)));      // a < 2^-14
  const over = v128.and(i32x4.ge_s(a, i32x4.splat(0x477ff000)), i32x4.le_s(a, i32x4.splat(0x7f800000)));
  r = v128.bitselect(i32x4.splat(0x7f800000), r, over);
  r = v128.bitselect(a, r, i32x4.gt_s(a, i32x4.splat(0x7f800000))); // NaN unchanged
  return v128.or(r, sign);
}

// W (rows, cols) fp16 bits. Like llama.cpp, x is rounded to fp16 first (in registers; x itself
// is not modified), then products and sums are f32.
export function matmulF16(w: usize, rows: i32, cols: i32, x: usize, n: i32, y: usize): void {
  const c8 = cols & ~7;
  for (let t = 0; t < n; t++) {
    const xr = x + <usize>t * <usize>cols * 4;
    for (let r = 0; r < rows; r++) {
      const wr = w + <usize>r * <usize>cols * 2;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      for (let c = 0; c < c8; c += 8) {
        const x0 = roundF16x4(v128.load(xr + (<usize>c << 2)));
        const x1 = roundF16x4(v128.load(xr + (<usize>c << 2), 16));
        s0 = f32x4.add(s0, f32x4.mul(x0, f16x4ToF32(v128.load16x4_u(wr + (<usize>c << 1)))));
        s1 = f32x4.add(s1, f32x4.mul(x1, f16x4ToF32(v128.load16x4_u(wr + (<usize>c << 1), 8))));
      }
      let s = hsum(f32x4.add(s0, s1));
      for (let c = c8; c < cols; c++) {
        s += roundToF16(load<f32>(xr + (<usize>c << 2))) * f16ToF32(<u32>load<u16>(wr + (<usize>c << 1)));
      }
      store<f32>(y + (<usize>t * <usize>rows + <usize>r) * 4, s);
    }
  }
}

// out[i] = x[i] rounded to the nearest fp16 value (ties to even), as f32.
export function roundF16(x: usize, len: i32, out: usize): void {
  for (let i = 0; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, roundToF16(load<f32>(x + o)));
  }
}
