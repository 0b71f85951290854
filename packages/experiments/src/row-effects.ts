// Single-row flip effects: how far does flipping one row (alone, on the unpatched model) move
// the mean target gap? The measurement behind two of the paper's findings:
//
//   scale ratio   the K rows of largest scale (mean fp16 d over the row's groups) against K rows
//                 drawn uniformly from the same space, and against "matched" rows (for each top row
//                 another random row of the same tensor: same layers and projections in the same
//                 proportions, so only the scale differs). Upstream (Bonsai 8B): 3.88x.
//   layer map     K random rows of each layer against K rows drawn over every layer.
//
// Each row is a virtual flip in the search Evaluator (the shared weights never change), so the
// effects are exact, deterministic and the same on any worker count.

import type { Model } from '@bankai/model';
import { prepareProbes, type Metric, type Probe } from '@bankai/probes';
import { CandidateSpace, Evaluator, Rng, scaleOrder, type Candidate, type Projection } from '@bankai/search';
import { mean, ratioCi, type BootstrapOptions, type Interval } from './bootstrap.js';

export interface RowEffectOptions {
  workers: number;
  /** Gap metric (default seq_logprob, as the paper's search). */
  metric?: Metric;
}

/**
 * The mean target gap of the unpatched model, and for each group of candidates the change of the
 * mean gap when each candidate is flipped alone (same shape as `groups`).
 */
export async function singleFlipEffects(model: Model, probes: readonly Probe[], groups: readonly (readonly Candidate[])[], opts: RowEffectOptions): Promise<{ baseGap: number; deltas: number[][] }> {
  if (probes.length === 0) throw new RangeError('singleFlipEffects: no target probes');
  const target = prepareProbes(model.tokenizer, [...probes]);
  const firstLayer = Math.min(...groups.flat().map((c) => Number(/^blk\.(\d+)\./.exec(c.tensor)?.[1] ?? 0)), model.config.nLayer - 1);
  const ev = await Evaluator.create(model, target, [], { workers: opts.workers, metric: opts.metric ?? 'seq_logprob', firstLayer });
  try {
    const meanGap = (g: Float64Array) => g.reduce((s, x) => s + x, 0) / g.length;
    const [b] = await ev.evaluate([{ flips: [], part: 'target' }]);
    const baseGap = meanGap(b!.gaps);
    const deltas: number[][] = [];
    for (const group of groups) {
      const rs = await ev.evaluate(group.map((c) => ({ flips: [c], part: 'target' as const })));
      deltas.push(rs.map((r) => meanGap(r.gaps) - baseGap));
    }
    return { baseGap, deltas };
  } finally {
    await ev.destroy();
  }
}

/** `k` distinct candidate indices of the space, uniform (rejection on repeats), avoiding `exclude`. */
export function randomIndices(size: number, k: number, rng: Rng, exclude: ReadonlySet<number> = new Set()): number[] {
  if (k > size - exclude.size) throw new RangeError(`randomIndices: ${k} of a space of ${size} (${exclude.size} excluded)`);
  const out: number[] = [];
  const picked = new Set<number>(exclude);
  while (out.length < k) {
    const i = rng.int(size);
    if (!picked.has(i)) {
      picked.add(i);
      out.push(i);
    }
  }
  return out;
}

export interface ScaleRatioOptions extends RowEffectOptions, BootstrapOptions {
  /** Rows per group. */
  k: number;
  seeds: readonly number[];
  layers: readonly number[];
  projs: readonly Projection[];
}

export interface RowGroupEffects {
  label: 'top' | 'random' | 'matched';
  /** Seed the rows were drawn with (top: every seed, the rows are the same). */
  seed: number | null;
  scales: number[];
  /** The projection of each row. */
  projs: Projection[];
  /** Change of the mean target gap per row, in draw order. */
  deltas: number[];
}

export interface ScaleRatioResult {
  baseGap: number;
  spaceSize: number;
  groups: RowGroupEffects[];
  /** mean |delta| of the top rows / of the random rows (pooled over seeds), null when no random row moved the gap. */
  ratio: number | null;
  ci: Interval;
  matchedRatio: number | null;
  matchedCi: Interval;
  /** The same ratio per seed (top rows against that seed's random rows). */
  perSeed: { seed: number; ratio: number | null; matchedRatio: number | null }[];
}

const abs = (xs: readonly number[]) => xs.map(Math.abs);
const ratioOf = (a: readonly number[], b: readonly number[]) => (mean(b) > 0 ? mean(a) / mean(b) : null);

/** High-scale rows against random and matched random rows (see the file comment). */
export async function runScaleRatio(model: Model, probes: readonly Probe[], opts: ScaleRatioOptions): Promise<ScaleRatioResult> {
  const space = new CandidateSpace(model, { layers: opts.layers, projs: opts.projs, granularity: 'row' });
  if (!(Number.isInteger(opts.k) && opts.k >= 2)) throw new RangeError(`scale ratio: k must be an integer >= 2, got ${opts.k}`);
  if (3 * opts.k > space.size) throw new RangeError(`scale ratio: k = ${opts.k}, but the space has only ${space.size} rows; pick k <= ${Math.floor(space.size / 3)}`);
  const top = Array.from(scaleOrder(space).subarray(0, opts.k));
  const inTop = new Set(top);
  const draws = opts.seeds.map((seed) => {
    const random = randomIndices(space.size, opts.k, new Rng(1_000_003 * seed + 1));
    const rng = new Rng(1_000_003 * seed + 2);
    const taken = new Set<number>(inTop);
    const matched = top.map((i) => {
      const t = space.tensors.find((x) => i >= x.offset && i < x.offset + x.count)!;
      let j: number;
      do j = t.offset + rng.int(t.count);
      while (taken.has(j));
      taken.add(j);
      return j;
    });
    return { seed, random, matched };
  });
  const lists = [top, ...draws.flatMap((d) => [d.random, d.matched])];
  const { baseGap, deltas } = await singleFlipEffects(model, probes, lists.map((l) => l.map((i) => space.candidate(i))), opts);
  const scales = (l: number[]) => l.map((i) => space.scale(i));
  const projs = (l: number[]) => l.map((i) => space.tensors.find((x) => i >= x.offset && i < x.offset + x.count)!.proj);
  const groups: RowGroupEffects[] = [{ label: 'top', seed: null, scales: scales(top), projs: projs(top), deltas: deltas[0]! }];
  draws.forEach((d, s) => {
    groups.push({ label: 'random', seed: d.seed, scales: scales(d.random), projs: projs(d.random), deltas: deltas[1 + 2 * s]! });
    groups.push({ label: 'matched', seed: d.seed, scales: scales(d.matched), projs: projs(d.matched), deltas: deltas[2 + 2 * s]! });
  });
  const dTop = abs(deltas[0]!);
  const pooled = (label: 'random' | 'matched') => abs(groups.filter((g) => g.label === label).flatMap((g) => g.deltas));
  return {
    baseGap,
    spaceSize: space.size,
    groups,
    ratio: ratioOf(dTop, pooled('random')),
    ci: ratioCi(dTop, pooled('random'), opts),
    matchedRatio: ratioOf(dTop, pooled('matched')),
    matchedCi: ratioCi(dTop, pooled('matched'), opts),
    perSeed: draws.map((d, s) => ({ seed: d.seed, ratio: ratioOf(dTop, abs(deltas[1 + 2 * s]!)), matchedRatio: ratioOf(dTop, abs(deltas[2 + 2 * s]!)) })),
  };
}

export interface LayerMapOptions extends RowEffectOptions, BootstrapOptions {
  /** Random rows per layer and seed (and over all layers, the reference). */
  k: number;
  seeds: readonly number[];
  projs: readonly Projection[];
}

export interface LayerMapResult {
  baseGap: number;
  /** Per layer: mean |delta| of its rows (pooled over seeds), the ratio to the all-layer rows and its CI. */
  layers: { layer: number; meanAbs: number; ratio: number | null; ci: Interval; deltas: number[] }[];
  /** Rows drawn uniformly over every layer: the reference. */
  reference: { meanAbs: number; deltas: number[] };
}

/** Which layer's single-row flips move the target most, each layer against rows drawn over all layers. */
export async function runLayerMap(model: Model, probes: readonly Probe[], opts: LayerMapOptions): Promise<LayerMapResult> {
  const n = model.config.nLayer;
  const all = new CandidateSpace(model, { layers: Array.from({ length: n }, (_, i) => i), projs: opts.projs, granularity: 'row' });
  const perLayer = Array.from({ length: n }, (_, l) => new CandidateSpace(model, { layers: [l], projs: opts.projs, granularity: 'row' }));
  const lists: Candidate[][] = [];
  for (const seed of opts.seeds) {
    lists.push(randomIndices(all.size, opts.k, new Rng(2_000_003 * seed)).map((i) => all.candidate(i)));
    perLayer.forEach((sp, l) => lists.push(randomIndices(sp.size, Math.min(opts.k, sp.size), new Rng(2_000_003 * seed + 1 + l)).map((i) => sp.candidate(i))));
  }
  const { baseGap, deltas } = await singleFlipEffects(model, probes, lists, opts);
  const stride = n + 1;
  const reference = opts.seeds.flatMap((_, s) => deltas[s * stride]!);
  const refAbs = abs(reference);
  const layers = perLayer.map((_, l) => {
    const d = opts.seeds.flatMap((_, s) => deltas[s * stride + 1 + l]!);
    return { layer: l, meanAbs: mean(abs(d)), ratio: ratioOf(abs(d), refAbs), ci: ratioCi(abs(d), refAbs, opts), deltas: d };
  });
  return { baseGap, layers, reference: { meanAbs: mean(refAbs), deltas: reference } };
}
