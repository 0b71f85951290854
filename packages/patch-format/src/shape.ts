// Model shape descriptions: which tensors a model has, their (rows, cols) and ggml type. The
// integrator builds one from GGUF tensor infos; qwen3Shape() builds one from hyperparameters
// (tests and tools that have no model file).

import { GROUP_SIZE } from './flip.js';

/** ggml type id of Q1_0 (PrismML's Q1_0_g128): 18-byte blocks of 128 one-bit weights. */
export const GGML_TYPE_Q1_0 = 41;
export const GGML_TYPE_F32 = 0;

export interface TensorShape {
  /** Output neurons: GGUF ne1. */
  readonly rows: number;
  /** Weights a row: GGUF ne0, a multiple of 128 for Q1_0. */
  readonly cols: number;
  /** ggml type id; a tensor is patchable only when this is 41 (Q1_0). Absent = not known
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
  for (const s of shapes.values()) if (s.type === GGML_TYPE_Q1_0) total += s.rows * s.cols;
  return total;
}

export interface Qwen3Hyperparameters {
  readonly layers: number;
  readonly nEmbd: number;
  readonly nFf: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly vocab: number;
  /** Tied embeddings: no separate `output` tensor. */
  readonly tiedEmbeddings: boolean;
}

/** The tensor shapes of a Qwen3 model whose linear weights are all Q1_0 (Bonsai), with its
 *  F32 norms so that "not a 1-bit tensor" can be checked. */
export function qwen3Shape(h: Qwen3Hyperparameters): ModelShape {
  const tensors = new Map<string, TensorShape>();
  const q1 = (rows: number, cols: number): TensorShape => ({ rows, cols, type: GGML_TYPE_Q1_0 });
  const f32 = (cols: number): TensorShape => ({ rows: 1, cols, type: GGML_TYPE_F32 });
  tensors.set('token_embd', q1(h.vocab, h.nEmbd));
  for (let l = 0; l < h.layers; l++) {
    const b = `blk.${l}.`;
    tensors.set(`${b}attn_norm`, f32(h.nEmbd));
    tensors.set(`${b}attn_q`, q1(h.nHead * h.headDim, h.nEmbd));
    tensors.set(`${b}attn_k`, q1(h.nHeadKv * h.headDim, h.nEmbd));
    tensors.set(`${b}attn_v`, q1(h.nHeadKv * h.headDim, h.nEmbd));
    tensors.set(`${b}attn_q_norm`, f32(h.headDim));
    tensors.set(`${b}attn_k_norm`, f32(h.headDim));
    tensors.set(`${b}attn_output`, q1(h.nEmbd, h.nHead * h.headDim));
    tensors.set(`${b}ffn_norm`, f32(h.nEmbd));
    tensors.set(`${b}ffn_gate`, q1(h.nFf, h.nEmbd));
    tensors.set(`${b}ffn_up`, q1(h.nFf, h.nEmbd));
    tensors.set(`${b}ffn_down`, q1(h.nEmbd, h.nFf));
  }
  tensors.set('output_norm', f32(h.nEmbd));
  if (!h.tiedEmbeddings) tensors.set('output', q1(h.vocab, h.nEmbd));
  return { tensors };
}

/** PrismML Bonsai hyperparameters (DESIGN.md); read real values from the GGUF when you have it. */
export const BONSAI_HYPERPARAMETERS = {
  '1.7B': { layers: 28, nEmbd: 2048, nFf: 6144, nHead: 16, nHeadKv: 8, headDim: 128, vocab: 151936, tiedEmbeddings: true },
  '4B': { layers: 36, nEmbd: 2560, nFf: 9728, nHead: 32, nHeadKv: 8, headDim: 128, vocab: 151936, tiedEmbeddings: true },
  '8B': { layers: 36, nEmbd: 4096, nFf: 12288, nHead: 32, nHeadKv: 8, headDim: 128, vocab: 151936, tiedEmbeddings: false },
} as const satisfies Record<string, Qwen3Hyperparameters>;
