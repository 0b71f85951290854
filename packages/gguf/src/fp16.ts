// ---------------------------------------------------------------------------------------------
// IEEE 754 binary16 <-> binary32, exact round-to-nearest-even (what GGML_FP32_TO_FP16 does).
// ---------------------------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * Rounds `x` to float32 first (ggml's inputs are float32), then to the nearest binary16, ties to
 * even. Returns the 16-bit pattern. Overflow gives +-Infinity, NaN stays a quiet NaN.
 */
export function f32ToF16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 127 + 15; // half exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // normal: keep 10 mantissa bits, round on the 13 dropped ones (carry may reach Inf: correct)
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  // subnormal or zero: value = m24 * 2^(e-25) where m24 carries the implicit bit
  const shift = 14 - e; // >= 14
  if (shift > 25 || exp === 0) return sign; // below half the smallest subnormal (f32 subnormals too)
  const m24 = mant | 0x800000;
  let h = m24 >>> shift;
  const rest = m24 & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** The float value of a binary16 bit pattern (exact: every half is a float32). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** fp16(x) as a number: the float32 value after rounding through binary16. */
export function roundToF16(x: number): number {
  return f16ToF32(f32ToF16(x));
}
