// The Q1_0 parity check against llama.cpp, shared by the generated models and the shipped tiny
// model. llama.cpp rounds every activation to Q8_0; where an activation lies within float error
// of a rounding halfway point, an engine with another summation order may round it the other
// way, which moves later log-probs by 1e-3..1e-1. So a sequence whose log-probs differ by more
// than 1e-4 must have such a near-halfway activation at or before the first differing position
// (every Q8_0 input our engine quantizes is recorded), and the top token must agree wherever
// llama.cpp's top-2 margin exceeds the difference. Design errors (bit order, scales, rope, no
// Q8_0) differ by 0.2..18 at every position and fail this.
import type { Model } from '@bankai/model';
import { llamaLogprobs } from './client.js';

/** Max |ours - llama| over the vocabulary at each position. */
export function positionDiffs(ours: Float32Array, ref: Float32Array[], V: number): number[] {
  return ref.map((row, i) => {
    let m = 0;
    for (let j = 0; j < V; j++) m = Math.max(m, Math.abs(ours[i * V + j]! - row[j]!));
    return m;
  });
}

function top2(row: ArrayLike<number>): [number, number] {
  let a = 0;
  let b = -1;
  for (let j = 1; j < row.length; j++) {
    if (row[j]! > row[a]!) [a, b] = [j, a];
    else if (b < 0 || row[j]! > row[b]!) b = j;
  }
  return [a, row[a]! - row[b]!];
}

/**
 * Wrap the engine's Q8_0 quantizer to record, per token position, whether any quantized value
 * x*id lay within `tol` of a rounding halfway point (k + 0.5), as llama.cpp computes it
 * (d = amax/127 in f32, id = 1/d). Returns the positions and a function that unwraps it.
 */
function recordNearHalfway(model: Model, tol = 2e-4): { positions: Set<number>; restore(): void } {
  const e = model.engine;
  const positions = new Set<number>();
  const original = e.quantizeQ8;
  e.quantizeQ8 = (x: number, n: number, cols: number, out: number) => {
    const v = e.f32(x, n * cols).slice();
    const pos0 = model.runner.pos;
    for (let r = 0; r < n; r++) {
      for (let b = 0; b < cols; b += 32) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(v[r * cols + b + j]!));
        if (amax === 0) continue;
        const id = Math.fround(1 / Math.fround(amax / 127));
        for (let j = 0; j < 32; j++) {
          const s = Math.fround(v[r * cols + b + j]! * id);
          if (Math.abs(Math.abs(s - Math.trunc(s)) - 0.5) < tol) positions.add(pos0 + r);
        }
      }
    }
    original.call(e, x, n, cols, out);
  };
  return { positions, restore: () => void (e.quantizeQ8 = original) };
}

export interface Q1ParityResult {
  /** Sequences within 1e-4 at every position and vocabulary entry. */
  agreeing: number;
  /** The largest |difference| anywhere. */
  raw: number;
  /** Median over all positions of the per-position max |difference| (design errors move every position). */
  median: number;
  unexplained: string[];
  topMismatch: string[];
}

export async function checkQ1Parity(model: Model, path: string, seqs: number[][]): Promise<Q1ParityResult> {
  const V = model.config.vocabSize;
  const ref = await llamaLogprobs(path, seqs);
  const halfway = recordNearHalfway(model);
  const r: Q1ParityResult = { agreeing: 0, raw: 0, median: 0, unexplained: [], topMismatch: [] };
  const all: number[] = [];
  try {
    for (let s = 0; s < seqs.length; s++) {
      halfway.positions.clear();
      const ours = model.logprobs(seqs[s]!);
      const d = positionDiffs(ours, ref[s]!, V);
      r.raw = Math.max(r.raw, ...d);
      all.push(...d);
      const first = d.findIndex((x) => x > 1e-4);
      if (first < 0) r.agreeing++;
      else if (![...halfway.positions].some((p) => p <= first)) {
        r.unexplained.push(`seq ${s}: position ${first} differs by ${d[first]!.toExponential(2)} with no near-halfway activation at or before it`);
      }
      for (let i = 0; i < seqs[s]!.length; i++) {
        const [refTop, margin] = top2(ref[s]![i]!);
        const [ourTop] = top2(ours.subarray(i * V, (i + 1) * V));
        if (ourTop !== refTop && margin > 2 * d[i]!) r.topMismatch.push(`seq ${s} pos ${i}: top ${ourTop} vs ${refTop} (margin ${margin})`);
      }
    }
  } finally {
    halfway.restore();
  }
  all.sort((a, b) => a - b);
  r.median = all[all.length >> 1] ?? 0;
  return r;
}
