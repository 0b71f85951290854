// The candidate space: chosen layers x projections x rows (or (row, group) pairs) of the model's
// 1-bit tensors, each candidate with its scale (a row: mean d over its groups; a group: its d),
// indexed 0..size-1 so strategies can sample, rank and walk it.

import { Q1_0_BLOCK, QWEN3_PROJECTION_TENSOR, qwen3BlockName, type Qwen3Projection } from '@bankai/gguf';
import type { Model } from '@bankai/model';
import type { GroupFlip, RowFlip } from '@bankai/patch-format';

/** The projections a search may flip (the Qwen3 plan's projections of @bankai/gguf), in the
 *  search's candidate order: MLP first. The order numbers the candidates, so it is part of every
 *  seeded search's result. */
export const PROJECTIONS = ['gate', 'up', 'down', 'q', 'k', 'v', 'o'] as const satisfies readonly Qwen3Projection[];
export type Projection = (typeof PROJECTIONS)[number];
/** The feed-forward projections: a candidate of these (in its lowest layer) can start from that layer's MLP stage. */
export const MLP_PROJECTIONS: readonly Projection[] = ['gate', 'up', 'down'];

export type Granularity = 'row' | 'group';

/** A search option that cannot work on this model (layers, projections, validation): names the option and the fix. */
export class SearchOptionError extends RangeError {
  override name = 'SearchOptionError';
}

/** One flip: a whole row, or one 128-weight group of a row, as in patch files (`blk.3.ffn_gate`). */
export type Candidate = RowFlip | GroupFlip;

export interface SpaceTensor {
  name: string;
  layer: number;
  proj: Projection;
  rows: number;
  cols: number;
  groups: number;
  /** First candidate index of this tensor. */
  offset: number;
  /** Candidates in this tensor: rows, or rows * groups. */
  count: number;
  /** (rows) or (rows, groups) candidate scales. */
  scales: Float32Array;
}

export interface SpaceOptions {
  layers: readonly number[];
  projs: readonly Projection[];
  granularity: Granularity;
}

export class CandidateSpace {
  readonly tensors: readonly SpaceTensor[];
  readonly size: number;
  readonly granularity: Granularity;
  /** The first searched layer: every probe's residual stream is cached there. */
  readonly firstLayer: number;

  constructor(model: Model, opts: SpaceOptions) {
    const c = model.config;
    if (opts.layers.length === 0) throw new SearchOptionError('search space: no layers chosen');
    if (opts.projs.length === 0) throw new SearchOptionError('search space: no projections chosen');
    const layers = [...new Set(opts.layers)].sort((a, b) => a - b);
    for (const l of layers) {
      if (!Number.isInteger(l) || l < 0 || l >= c.nLayer) throw new SearchOptionError(`search space: layer ${l} is outside 0..${c.nLayer - 1}`);
    }
    for (const p of opts.projs) {
      if (!PROJECTIONS.includes(p)) throw new SearchOptionError(`search space: unknown projection "${p}"; use ${PROJECTIONS.join(', ')}`);
    }
    const projs = PROJECTIONS.filter((p) => opts.projs.includes(p));
    const e = model.engine;
    const tensors: SpaceTensor[] = [];
    let offset = 0;
    for (const layer of layers) {
      for (const proj of projs) {
        const lin = model.weights.layers[layer]![proj];
        if (lin.kind !== 'q1') {
          throw new SearchOptionError(`search space: ${qwen3BlockName(layer, QWEN3_PROJECTION_TENSOR[proj])} is ${lin.kind.toUpperCase()}, not 1-bit; patches flip Q1_0 weights only`);
        }
        const groups = lin.cols / Q1_0_BLOCK;
        const count = opts.granularity === 'row' ? lin.rows : lin.rows * groups;
        const scales = new Float32Array(count);
        if (opts.granularity === 'row') {
          for (let r = 0; r < lin.rows; r++) scales[r] = e.q1RowScale(lin.tensor, r);
        } else {
          const row = new Float32Array(lin.cols);
          const mark = e.mark();
          try {
            const tmp = e.alloc(lin.cols * 4); // (cols) f32: one dequantized row, freed below
            for (let r = 0; r < lin.rows; r++) {
              e.q1DequantRow(lin.tensor, r, tmp);
              row.set(e.f32(tmp, lin.cols));
              for (let g = 0; g < groups; g++) scales[r * groups + g] = Math.abs(row[g * Q1_0_BLOCK]!);
            }
          } finally {
            e.reset(mark);
          }
        }
        tensors.push({ name: qwen3BlockName(layer, QWEN3_PROJECTION_TENSOR[proj]), layer, proj, rows: lin.rows, cols: lin.cols, groups, offset, count, scales });
        offset += count;
      }
    }
    this.tensors = tensors;
    this.size = offset;
    this.granularity = opts.granularity;
    this.firstLayer = layers[0]!;
  }

  private locate(index: number): [SpaceTensor, number] {
    if (!(Number.isInteger(index) && index >= 0 && index < this.size)) throw new RangeError(`candidate ${index} outside 0..${this.size - 1}`);
    let lo = 0;
    let hi = this.tensors.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.tensors[mid]!.offset <= index) lo = mid;
      else hi = mid - 1;
    }
    const t = this.tensors[lo]!;
    return [t, index - t.offset];
  }

  candidate(index: number): Candidate {
    const [t, k] = this.locate(index);
    return this.granularity === 'row' ? { tensor: t.name, row: k } : { tensor: t.name, row: Math.floor(k / t.groups), group: k % t.groups };
  }

  scale(index: number): number {
    const [t, k] = this.locate(index);
    return t.scales[k]!;
  }

  /** Index of a candidate, or -1 when it is not in the space. */
  indexOf(c: Candidate): number {
    const t = this.tensors.find((x) => x.name === c.tensor);
    if (!t || c.row < 0 || c.row >= t.rows) return -1;
    if (this.granularity === 'row') return c.group === undefined ? t.offset + c.row : -1;
    if (c.group === undefined || c.group < 0 || c.group >= t.groups) return -1;
    return t.offset + c.row * t.groups + c.group;
  }
}

export function parseLayers(spec: string, nLayer: number): number[] {
  if (spec === 'all') return Array.from({ length: nLayer }, (_, i) => i);
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?$/.exec(part);
    if (!m) throw new SearchOptionError(`--layers: "${part}" is not a layer or range (e.g. 0,2,5-7 or all)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let l = Math.min(a, b); l <= Math.max(a, b); l++) out.push(l < 0 ? nLayer + l : l);
  }
  return out;
}
