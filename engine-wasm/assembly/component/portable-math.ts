// ---- exp and log from IEEE-754 basic operations: @bankai/model's portable-math.ts, ported ----
// The TS engine computes every log-softmax with these (not the runtime's Math.exp/Math.log), so
// the component must perform exactly the same f64 operations in the same order to give the same
// bits. Constants and loops are those of portable-math.ts; JS's Math.round (ties towards +inf)
// is spelled out, since wasm's nearest rounds ties to even.

const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INV_LN2: f64 = 1.4426950408889634;
const INV_FACT = new StaticArray<f64>(14); // 1/i!, i = 0..13
const INV_ODD = new StaticArray<f64>(13); // 1/(2i+1), i = 0..12
INV_FACT[0] = 1;
for (let i = 1; i <= 13; i++) INV_FACT[i] = INV_FACT[i - 1] / <f64>i;
for (let i = 0; i <= 12; i++) INV_ODD[i] = 1 / <f64>(2 * i + 1);

// @ts-ignore: decorator
@inline function pow2(k: i32): f64 {
  return reinterpret<f64>(<u64>(k + 1023) << 52);
}

function scaleByPow2(y: f64, k: i32): f64 {
  if (k > 1023) return y * pow2(1023) * pow2(k - 1023);
  if (k < -1022) return y * pow2(k + 600) * pow2(-600);
  return y * pow2(k);
}

/** JS Math.round: the nearest integer, ties towards +infinity. */
// @ts-ignore: decorator
@inline function jsRound(x: f64): f64 {
  const f = Math.floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

export function pexp(x: f64): f64 {
  if (x != x) return x;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = jsRound(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO;
  let p = INV_FACT[13];
  for (let i = 12; i >= 0; i--) p = p * r + INV_FACT[i];
  return scaleByPow2(p, <i32>k);
}

export function plog(x: f64): f64 {
  if (x != x || x < 0) return NaN;
  if (x == 0) return -Infinity;
  if (x == Infinity) return x;
  let e: i32 = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984;
    e = -54;
  }
  const bits = reinterpret<u64>(x);
  const hi = <u32>(bits >> 32);
  e += <i32>(hi >>> 20) - 1023;
  let m = reinterpret<f64>((<u64>((hi & 0x000fffff) | 0x3ff00000) << 32) | (bits & 0xffffffff));
  if (m > 1.4142135623730951) {
    m /= 2;
    e += 1;
  }
  const f = m - 1;
  const s = f / (2 + f);
  const z = s * s;
  let q = INV_ODD[12];
  for (let i = 11; i >= 0; i--) q = q * z + INV_ODD[i];
  return <f64>e * LN2_HI + (2 * s * q + <f64>e * LN2_LO);
}
