// exp and log from IEEE-754 basic operations only (+ - * / and exact bit moves), so Node, Deno and
// Bun give the same bits: their Math.exp / Math.log differ in the last place, which would make
// scores (and so search decisions) depend on the runtime. Within 2 ulps of Math.exp / Math.log (tested).
// Range reduction then series: exp(r) by Taylor to r^13 on |r| <= ln2/2; log by the atanh series
// on a mantissa in [sqrt(1/2), sqrt(2)).

const LN2_HI = 6.93147180369123816490e-1; // ln 2 with its low 32 bits zero: k * LN2_HI is exact for |k| < 2^20
const LN2_LO = 1.90821492927058770002e-10; // ln 2 - LN2_HI
const INV_LN2 = 1.4426950408889634;
const INV_FACT: number[] = [1]; // 1/i!, i = 0..13
for (let i = 1; i <= 13; i++) INV_FACT.push(INV_FACT[i - 1]! / i);
const INV_ODD: number[] = []; // 1/(2i+1), i = 0..12
for (let i = 0; i <= 12; i++) INV_ODD.push(1 / (2 * i + 1));

const view = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [-1022, 1023], exactly. */
function pow2(k: number): number {
  view.setUint32(0, (k + 1023) << 20);
  view.setUint32(4, 0);
  return view.getFloat64(0);
}

function scaleByPow2(y: number, k: number): number {
  if (k > 1023) return y * pow2(1023) * pow2(k - 1023);
  if (k < -1022) return y * pow2(k + 600) * pow2(-600);
  return y * pow2(k);
}

export function exp(x: number): number {
  if (x !== x) return x;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| <= ~0.347
  let p = INV_FACT[13]!;
  for (let i = 12; i >= 0; i--) p = p * r + INV_FACT[i]!;
  return scaleByPow2(p, k);
}

export function log(x: number): number {
  if (x !== x || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return x;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // subnormal: scale by 2^54
    e = -54;
  }
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  e += (hi >>> 20) - 1023;
  view.setUint32(0, (hi & 0x000fffff) | 0x3ff00000);
  let m = view.getFloat64(0); // [1, 2)
  if (m > 1.4142135623730951) {
    m /= 2; // exact
    e += 1;
  }
  const f = m - 1; // exact (Sterbenz)
  const s = f / (2 + f);
  const z = s * s;
  let q = INV_ODD[12]!; // atanh(s)/s = sum z^i / (2i+1)
  for (let i = 11; i >= 0; i--) q = q * z + INV_ODD[i]!;
  return e * LN2_HI + (2 * s * q + e * LN2_LO);
}

/** x^p for x > 0 (p = 1 returns x exactly). */
export function pow(x: number, p: number): number {
  if (p === 1) return x;
  if (p === 0) return 1;
  return exp(p * log(x));
}
