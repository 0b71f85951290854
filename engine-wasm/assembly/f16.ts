// ---- IEEE fp16 <-> f32 conversions (scalar, bit-exact) ----
// f16ToF32Bits is exact for all 65536 inputs (NaN payloads kept), and f32ToF16Bits inverts it,
// so weights stored as f32 unpack to the exact GGUF fp16 bytes.

// fp16 bits -> f32 bits (exact: every fp16 value is an f32 value).
export function f16ToF32Bits(h: u32): u32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp == 0x1f) return sign | 0x7f800000 | (mant << 13); // inf / NaN (payload kept)
  if (exp == 0) {
    if (mant == 0) return sign; // +-0
    // subnormal: value = mant * 2^-24; normalize so bit 10 is set
    const s = clz<u32>(mant) - 21;
    mant = (mant << s) & 0x3ff;
    return sign | ((113 - s) << 23) | (mant << 13);
  }
  return sign | ((exp + 112) << 23) | (mant << 13);
}

// @ts-ignore: decorator
@inline export function f16ToF32(h: u32): f32 {
  return reinterpret<f32>(f16ToF32Bits(h));
}

// f32 bits -> fp16 bits, round to nearest, ties to even (what F16C's vcvtps2ph does in llama.cpp).
export function f32ToF16Bits(f: u32): u32 {
  const sign = (f >> 16) & 0x8000;
  const exp = (f >> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp == 0xff) {
    if (mant == 0) return sign | 0x7c00; // inf
    const payload = mant >> 13;
    return sign | 0x7c00 | (payload != 0 ? payload : 0x200); // NaN stays NaN
  }
  if (exp >= 113) {
    // normal fp16 range (may round up into inf, which is the right answer)
    if (exp >= 143) return sign | 0x7c00;
    let h = ((exp - 112) << 10) | (mant >> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1) != 0)) h += 1;
    return sign | h;
  }
  // fp16 subnormal (or zero): quantum 2^-24; value / 2^-24 = m24 >> (126 - exp)
  const s = 126 - exp;
  if (s > 24) return sign;
  const m24 = mant | 0x800000;
  let r = m24 >> s;
  const rest = m24 & ((1 << s) - 1);
  const half: u32 = 1 << (s - 1);
  if (rest > half || (rest == half && (r & 1) != 0)) r += 1;
  return sign | r;
}

// @ts-ignore: decorator
@inline export function roundToF16(x: f32): f32 {
  return f16ToF32(f32ToF16Bits(reinterpret<u32>(x)));
}
