// Model shape descriptions: which tensors a model has, their (rows, cols) and ggml type. The
// integrator builds one from GGUF tensor infos; qwen3Shape() builds one from hyperparameters
// (tests and tools that have no model file).

import { BONSAI_SHAPES, GGML_TYPE, qwen3Tensors, type BonsaiShape, type BonsaiSize, type Qwen3ShapeDims } from '@bankai/gguf';
import { GROUP_SIZE } from './flip.js';

/** ggml type id of Q1_0 (PrismML's Q1_0_g128), read from the type table of @bankai/gguf
 *  (GGML_TYPE.Q1_0); kept as a name of this package's API. */
export const GGML_TYPE_Q1_0: number = GGML_TYPE.Q1_0;
/** ggml type id of F32 (GGML_TYPE.F32 of @bankai/gguf). */
export const GGML_TYPE_F32: number = GGML_TYPE.F32;

export interface TensorShape {
  /** Output neurons: GGUF ne1. */
  readonly rows: number;
  /** Weights a row: GGUF ne0, a multiple of 128 for Q1_0. */
  readonly cols: number;
  /** ggml type id; a tensor is patchable only when this is GGML_TYPE_Q1_0. Absent = not known
   *  (shapes recorded in a manifest carry no type). */
  readonly type?: number;
}

/** Tensor shapes by name. Names may be given with or without the `.weight` suffix. */
export type TensorShapes = ReadonlyMap<string, TensorShape>;

export interface ModelShape {
  readonly tensors: TensorShapes;
  /** sha256 (hex) of the GGUF file, when computed. */
  readonly sha256?: string;
}

export function lookupShape(shapes: TensorShapes | undefined, tensor: string): TensorShape | undefined {
  if (!shapes) return undefined;
  return shapes.get(tensor) ?? shapes.get(`${tensor}.weight`);
}

export function groupsPerRow(shape: TensorShape): number {
  return Math.floor(shape.cols / GROUP_SIZE);
}

/** Total 1-bit weights of a model (sum of rows x cols over its Q1_0 tensors). */
export function oneBitWeightCount(shapes: TensorShapes): number {
  let total = 0;
  for (const s of shapes.values()) if (s.type === GGML_TYPE.Q1_0) total += s.rows * s.cols;
  return total;
}

/** The tensor-shape dims of @bankai/gguf's plan, with upstream's names for the block count and tying. */
export interface Qwen3Hyperparameters extends Qwen3ShapeDims {
  readonly layers: number;
  /** Tied embeddings: no separate `output` tensor. */
  readonly tiedEmbeddings: boolean;
}

/** The tensor shapes of a Qwen3 model whose linear weights are all Q1_0 (Bonsai), with its
 *  F32 norms so that "not a 1-bit tensor" can be checked; names and shapes from the Qwen3 tensor
 *  plan of @bankai/gguf (qwen3Tensors), in its order. */
export function qwen3Shape(h: Qwen3Hyperparameters): ModelShape {
  const tensors = new Map<string, TensorShape>();
  const plan = qwen3Tensors({ ...h, nLayer: h.layers, tied: h.tiedEmbeddings });
  for (const t of plan) {
    // GGUF shapes are ne0 first: a linear is [cols, rows], a norm one row of [cols]
    const [cols, rows = 1] = t.shape;
    tensors.set(t.tensor, { rows, cols, type: t.kind === 'linear' ? GGML_TYPE.Q1_0 : GGML_TYPE.F32 });
  }
  return { tensors };
}

/** PrismML Bonsai 1.7B / 4B / 8B shapes, from @bankai/gguf's BONSAI_SHAPES (their one home) in this
 *  package's field names; read real values from the GGUF when you have it. */
const bonsai = (b: BonsaiShape): Qwen3Hyperparameters => ({
  layers: b.nLayer, nEmbd: b.nEmbd, nFf: b.nFf, nHead: b.nHead, nHeadKv: b.nHeadKv, headDim: b.headDim, vocab: b.vocab, tiedEmbeddings: b.tied,
});
export const BONSAI_HYPERPARAMETERS: Readonly<Record<BonsaiSize, Qwen3Hyperparameters>> = {
  '1.7B': bonsai(BONSAI_SHAPES['1.7B']),
  '4B': bonsai(BONSAI_SHAPES['4B']),
  '8B': bonsai(BONSAI_SHAPES['8B']),
};
