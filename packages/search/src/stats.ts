// Small statistics the studies and benchmarks report: spread over runs, rank correlation.

export interface Spread {
  mean: number;
  min: number;
  max: number;
  /** Sample standard deviation (n - 1). */
  sd: number;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { mean: 0, min: 0, max: 0, sd: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, min: Math.min(...xs), max: Math.max(...xs), sd };
}

/** Spearman rank correlation of two equally long series (ties broken by position: continuous data). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) throw new RangeError(`spearman: two series of the same length >= 2, got ${a.length} and ${b.length}`);
  const ranks = (x: readonly number[]) => {
    const r = new Float64Array(x.length);
    x.map((v, k) => [v, k] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]).forEach(([, k], j) => (r[k] = j));
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const m = (a.length - 1) / 2;
  let s = 0;
  let sa = 0;
  let sb = 0;
  for (let k = 0; k < a.length; k++) {
    s += (ra[k]! - m) * (rb[k]! - m);
    sa += (ra[k]! - m) ** 2;
    sb += (rb[k]! - m) ** 2;
  }
  return s / Math.sqrt(sa * sb);
}
