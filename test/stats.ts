// Statistics the cross-package tests share.

/** Spearman rank correlation (ties broken by index: the data here are continuous). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ranks = (x: readonly number[]) => {
    const r = new Float64Array(x.length);
    x.map((v, k) => [v, k] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]).forEach(([, k], j) => (r[k] = j));
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const m = (a.length - 1) / 2;
  let s = 0, sa = 0, sb = 0;
  for (let k = 0; k < a.length; k++) {
    s += (ra[k]! - m) * (rb[k]! - m);
    sa += (ra[k]! - m) ** 2;
    sb += (rb[k]! - m) ** 2;
  }
  return s / Math.sqrt(sa * sb);
}
