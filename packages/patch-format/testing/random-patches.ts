// Test helpers (not shipped): a seeded generator, random flip lists on a small Qwen3-shaped
// model, and the plain reference for what a flip list means: a dense XOR mask.

import { normalize, qwen3Shape, type Flip, type ModelShape, type TensorShapes } from '../src/index.js';
import { Rng } from '@bankai/rng';

/** Uniform floats in [0, 1) from the project's seeded generator: failures reproduce. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextFloat();
}

export function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

/** A small model: 2 blocks, rows of 256 weights (2 groups), ffn_down rows of 384 (3 groups),
 *  so random flips collide often (cancellations, row vs groups). */
export const SMALL: ModelShape = qwen3Shape({ layers: 2, nEmbd: 256, nFf: 384, nHead: 2, nHeadKv: 1, headDim: 128, vocab: 8, tiedEmbeddings: false });

export function oneBitTensors(model: ModelShape): string[] {
  return [...model.tensors].filter(([, s]) => s.type === 41).map(([n]) => n);
}

/** Random flips: rows, groups (sometimes every group of a row) and bits, with repeats. */
export function randomFlips(r: () => number, model: ModelShape = SMALL, n = 1 + int(r, 30)): Flip[] {
  const names = oneBitTensors(model);
  const flips: Flip[] = [];
  for (let i = 0; i < n; i++) {
    const tensor = names[int(r, names.length)]!;
    const s = model.tensors.get(tensor)!;
    const row = int(r, Math.min(s.rows, 6));
    const kind = r();
    if (kind < 0.35) flips.push({ tensor, row });
    else if (kind < 0.7) flips.push({ tensor, row, group: int(r, s.cols / 128) });
    else if (kind < 0.8) for (let g = 0; g < s.cols / 128; g++) flips.push({ tensor, row, group: g });
    else flips.push({ tensor, row, bit: int(r, s.cols) });
  }
  return flips;
}

/** Rows the reference masks cover (random flips stay below it). */
const MASK_ROWS = 8;

/** Reference: the dense XOR mask a flip list means, one byte a weight, per tensor (first
 *  MASK_ROWS rows only, to keep the tests light). */
export function denseMask(flips: readonly Flip[], shapes: TensorShapes): Map<string, Uint8Array> {
  const masks = new Map<string, Uint8Array>();
  for (const f of flips) {
    const s = shapes.get(f.tensor)!;
    let m = masks.get(f.tensor);
    if (f.row >= MASK_ROWS) throw new Error(`denseMask covers rows 0..${MASK_ROWS - 1} only`);
    if (!m) masks.set(f.tensor, (m = new Uint8Array(MASK_ROWS * s.cols))); // (MASK_ROWS, cols) 0/1
    const base = f.row * s.cols;
    if (f.group !== undefined) for (let b = 0; b < 128; b++) m[base + f.group * 128 + b]! ^= 1;
    else if (f.bit !== undefined) m[base + f.bit]! ^= 1;
    else for (let b = 0; b < s.cols; b++) m[base + b]! ^= 1;
  }
  return masks;
}

/** Weights set in the masks of `a` that differ from `b` (0 = same mask). */
export function maskDifference(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): number {
  let diff = 0;
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(name);
    const y = b.get(name);
    const n = Math.max(x?.length ?? 0, y?.length ?? 0);
    for (let i = 0; i < n; i++) if ((x?.[i] ?? 0) !== (y?.[i] ?? 0)) diff++;
  }
  return diff;
}

export function popcount(masks: Map<string, Uint8Array>): number {
  let n = 0;
  for (const m of masks.values()) for (const v of m) n += v;
  return n;
}

/**
 * A seeded random patch over a model's 1-bit tensors (anywhere in them): row flips, group flips,
 * a few single bits, and nearly-whole groups (all bits but one) that the canonical form
 * rewrites; normalized. `only` picks the tensors.
 */
export function randomModelFlips(shape: ModelShape, seed: number, n: number, stream: number, only?: (tensor: string) => boolean): Flip[] {
  const rng = new Rng(seed, stream);
  const pick = (k: number) => rng.nextU32() % k;
  const q1 = [...shape.tensors].filter(([name, s]) => s.type === 41 && (only?.(name) ?? true));
  const flips: Flip[] = [];
  for (let i = 0; i < n; i++) {
    const [tensor, s] = q1[pick(q1.length)]!;
    const row = pick(s.rows);
    const kind = pick(4);
    if (kind === 0) flips.push({ tensor, row });
    else if (kind === 1) flips.push({ tensor, row, group: pick(s.cols / 128) });
    else if (kind === 2) for (let k = 0; k < 1 + pick(5); k++) flips.push({ tensor, row, bit: pick(s.cols) });
    else {
      const g = pick(s.cols / 128);
      const skip = pick(128);
      for (let b = 0; b < 128; b++) if (b !== skip) flips.push({ tensor, row, bit: g * 128 + b });
    }
  }
  return normalize(flips, shape.tensors);
}
