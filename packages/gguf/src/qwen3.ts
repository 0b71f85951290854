// ---------------------------------------------------------------------------------------------
// The Qwen3 tensor plan: the one place that names the tensors of a Qwen3 GGUF (llama.cpp's
// LLM_ARCH_QWEN3 names, as gguf-py's constants.py lists them per architecture), says which
// projection or norm each is and gives its shape in terms of the hyper-parameters.
// Readers, writers, generators, patch shapes and the search all build their lists from it.
// ---------------------------------------------------------------------------------------------

/** The seven 1-bit linear projections of a block (the model's field names for them). */
export type Qwen3Projection = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
/** The four RMSNorm weights of a block. */
export type Qwen3BlockNorm = 'attnNorm' | 'qNorm' | 'kNorm' | 'ffnNorm';
export type Qwen3BlockKey = Qwen3Projection | Qwen3BlockNorm;

/** The hyper-parameters tensor shapes depend on. */
export interface Qwen3ShapeDims {
  readonly nEmbd: number;
  readonly nFf: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  /** key_length = value_length; may differ from nEmbd / nHead. */
  readonly headDim: number;
  readonly vocab: number;
}

/** Whole-model dims: the shape dims, the block count, and whether the output head is token_embd. */
export interface Qwen3PlanDims extends Qwen3ShapeDims {
  readonly nLayer: number;
  /** true: no `output` tensor; logits use token_embd (tied embeddings). */
  readonly tied: boolean;
}

/** A Bonsai model's hyper-parameters: the plan's dims and the header values a file of its shape carries. */
export interface BonsaiShape extends Qwen3PlanDims {
  readonly contextLength: number;
  readonly ropeFreqBase: number;
  readonly rmsEps: number;
}

/**
 * PrismML Bonsai 1.7B / 4B / 8B (Qwen3, every linear Q1_0): the one home of their shapes, which
 * patch-format's BONSAI_HYPERPARAMETERS and model-gen's bonsai-* presets are built from. Read real
 * values from the GGUF when you have it.
 */
export const BONSAI_SHAPES = {
  '1.7B': { nLayer: 28, nEmbd: 2048, nFf: 6144, nHead: 16, nHeadKv: 8, headDim: 128, vocab: 151936, tied: true, contextLength: 32768, ropeFreqBase: 1e6, rmsEps: 1e-6 },
  '4B': { nLayer: 36, nEmbd: 2560, nFf: 9728, nHead: 32, nHeadKv: 8, headDim: 128, vocab: 151936, tied: true, contextLength: 32768, ropeFreqBase: 1e6, rmsEps: 1e-6 },
  '8B': { nLayer: 36, nEmbd: 4096, nFf: 12288, nHead: 32, nHeadKv: 8, headDim: 128, vocab: 151936, tied: false, contextLength: 32768, ropeFreqBase: 1e6, rmsEps: 1e-6 },
} as const satisfies Record<string, BonsaiShape>;
export type BonsaiSize = keyof typeof BONSAI_SHAPES;

/** A linear tensor is [nIn, nOut] (GGUF ne0 first: nIn weights a row, nOut rows); a norm is [n]. */
export type Qwen3TensorShape = readonly [number] | readonly [number, number];

export interface Qwen3BlockTensor {
  /** Block-local GGUF name (`attn_q`); the tensor is `blk.<layer>.<local>.weight`. */
  readonly local: string;
  readonly key: Qwen3BlockKey;
  /** 'linear': a 1-bit projection (Q1_0 in Bonsai); 'norm': an F32 RMSNorm weight. */
  readonly kind: 'linear' | 'norm';
  readonly shape: (d: Qwen3ShapeDims) => Qwen3TensorShape;
}

const qDim = (d: Qwen3ShapeDims) => d.nHead * d.headDim;
const kvDim = (d: Qwen3ShapeDims) => d.nHeadKv * d.headDim;

/** The tensors of one block, in forward order (the order the forward pass uses them). */
export const QWEN3_BLOCK_TENSORS = [
  { local: 'attn_norm', key: 'attnNorm', kind: 'norm', shape: (d) => [d.nEmbd] },
  { local: 'attn_q', key: 'q', kind: 'linear', shape: (d) => [d.nEmbd, qDim(d)] },
  { local: 'attn_k', key: 'k', kind: 'linear', shape: (d) => [d.nEmbd, kvDim(d)] },
  { local: 'attn_v', key: 'v', kind: 'linear', shape: (d) => [d.nEmbd, kvDim(d)] },
  { local: 'attn_q_norm', key: 'qNorm', kind: 'norm', shape: (d) => [d.headDim] },
  { local: 'attn_k_norm', key: 'kNorm', kind: 'norm', shape: (d) => [d.headDim] },
  { local: 'attn_output', key: 'o', kind: 'linear', shape: (d) => [qDim(d), d.nEmbd] },
  { local: 'ffn_norm', key: 'ffnNorm', kind: 'norm', shape: (d) => [d.nEmbd] },
  { local: 'ffn_gate', key: 'gate', kind: 'linear', shape: (d) => [d.nEmbd, d.nFf] },
  { local: 'ffn_up', key: 'up', kind: 'linear', shape: (d) => [d.nEmbd, d.nFf] },
  { local: 'ffn_down', key: 'down', kind: 'linear', shape: (d) => [d.nFf, d.nEmbd] },
] as const satisfies readonly Qwen3BlockTensor[];

/** The block-local names of the projections (`attn_q` ... `ffn_down`). */
export type Qwen3ProjectionTensor = Extract<(typeof QWEN3_BLOCK_TENSORS)[number], { kind: 'linear' }>['local'];
/** The block-local names of the norms (`attn_norm` ... `ffn_norm`). */
export type Qwen3NormTensor = Extract<(typeof QWEN3_BLOCK_TENSORS)[number], { kind: 'norm' }>['local'];

/** The model-level tensors (no `.weight` suffix). */
export const QWEN3_TOKEN_EMBD = 'token_embd';
export const QWEN3_OUTPUT_NORM = 'output_norm';
export const QWEN3_OUTPUT = 'output';
/** The suffix every Qwen3 GGUF tensor name carries (patch files name tensors without it). */
export const WEIGHT_SUFFIX = '.weight';

/** The projections of a block in forward order: q, k, v, o, gate, up, down. */
export const QWEN3_PROJECTIONS: readonly Qwen3Projection[] = (QWEN3_BLOCK_TENSORS as readonly Qwen3BlockTensor[])
  .filter((t) => t.kind === 'linear')
  .map((t) => t.key as Qwen3Projection);

/** The block-local GGUF name of each projection (`q` -> `attn_q`). */
export const QWEN3_PROJECTION_TENSOR: Readonly<Record<Qwen3Projection, Qwen3ProjectionTensor>> = Object.freeze(
  Object.fromEntries((QWEN3_BLOCK_TENSORS as readonly Qwen3BlockTensor[]).filter((t) => t.kind === 'linear').map((t) => [t.key, t.local])) as Record<
    Qwen3Projection,
    Qwen3ProjectionTensor
  >,
);

const BY_LOCAL = new Map<string, Qwen3BlockTensor>(QWEN3_BLOCK_TENSORS.map((t) => [t.local, t]));
const BY_KEY = new Map<string, Qwen3BlockTensor>(QWEN3_BLOCK_TENSORS.map((t) => [t.key, t]));

/** The plan entry of a block-local name (`ffn_gate`), or undefined when Qwen3 blocks have no such tensor. */
export function qwen3BlockTensor(local: string): Qwen3BlockTensor | undefined {
  return BY_LOCAL.get(local);
}

/** The plan entry of a block field (`gate`, `attnNorm`). */
export function qwen3BlockTensorOf(key: Qwen3BlockKey): Qwen3BlockTensor {
  return BY_KEY.get(key)!;
}

/** The projection a block-local name is (`attn_output` -> `o`), or undefined for norms and other names. */
export function qwen3ProjectionOf(local: string): Qwen3Projection | undefined {
  const t = BY_LOCAL.get(local);
  return t?.kind === 'linear' ? (t.key as Qwen3Projection) : undefined;
}

/** `blk.<layer>.<local>` (patch-style, no `.weight`). */
export function qwen3BlockName(layer: number, local: string): string {
  return `blk.${layer}.${local}`;
}

export interface Qwen3PlannedTensor {
  /** Name without the `.weight` suffix (`blk.3.ffn_gate`, `token_embd`), as patch files write it. */
  readonly tensor: string;
  /** The GGUF tensor name: tensor + `.weight`. */
  readonly name: string;
  /** The block, for block tensors. */
  readonly layer?: number;
  /** The block field (`gate`), or 'embd' / 'outputNorm' / 'output' for the model-level tensors. */
  readonly key: Qwen3BlockKey | 'embd' | 'outputNorm' | 'output';
  /** token_embd and output are 1-bit linear [nEmbd, vocab] tensors. */
  readonly kind: 'linear' | 'norm';
  readonly shape: Qwen3TensorShape;
}

/**
 * Every tensor of a Qwen3 model with these dims, in file order: token_embd, each block's tensors
 * in forward order, output_norm, then output unless tied.
 */
export function qwen3Tensors(d: Qwen3PlanDims): Qwen3PlannedTensor[] {
  const at = (tensor: string, rest: Omit<Qwen3PlannedTensor, 'tensor' | 'name'>): Qwen3PlannedTensor => ({
    tensor, name: tensor + WEIGHT_SUFFIX, ...rest,
  });
  const out = [at(QWEN3_TOKEN_EMBD, { key: 'embd', kind: 'linear', shape: [d.nEmbd, d.vocab] })];
  for (let layer = 0; layer < d.nLayer; layer++) {
    for (const t of QWEN3_BLOCK_TENSORS as readonly Qwen3BlockTensor[]) out.push(at(qwen3BlockName(layer, t.local), { layer, key: t.key, kind: t.kind, shape: t.shape(d) }));
  }
  out.push(at(QWEN3_OUTPUT_NORM, { key: 'outputNorm', kind: 'norm', shape: [d.nEmbd] }));
  if (!d.tied) out.push(at(QWEN3_OUTPUT, { key: 'output', kind: 'linear', shape: [d.nEmbd, d.vocab] }));
  return out;
}
