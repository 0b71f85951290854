import {
  BONSAI_SHAPES, f32ToF16, GGML_TYPE, meta, Q1_0_BLOCK, Q1_0_BYTES, QWEN3_BLOCK_TENSORS, qwen3Tensors, writeGguf,
  type ByteSink, type Qwen3BlockKey, type Qwen3PlannedTensor, type GgufTensorSpec, type GgufValue, type GgufWriteResult, type GgufWriteSpec,
} from '@bankai/gguf';
import { hash32, Rng } from '@bankai/rng';
import { buildTestVocab } from './vocab.js';

// ---------------------------------------------------------------------------------------------
// Qwen3 GGUF test models with random 1-bit weights, in any shape, streamed tensor by tensor.
// The 'f32' / 'f16' variants are the SAME model with each 1-bit weight stored as +-d, so
// llama.cpp can check the architecture without quantizing anything.
// ---------------------------------------------------------------------------------------------

export interface Qwen3Dims {
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  /** key_length = value_length; may differ from nEmbd / nHead. */
  headDim: number;
  vocab: number;
  contextLength: number;
  ropeFreqBase: number;
  rmsEps: number;
}

export type WeightFormat = 'q1_0' | 'f32' | 'f16';

export interface Qwen3GenOptions extends Qwen3Dims {
  seed: number;
  /** true: output shares token_embd (no output.weight). */
  tied: boolean;
  weights: WeightFormat;
  /** general.name (default "bankai-random-qwen3"). */
  name?: string;
}

export const PRESETS = {
  /** 2 layers, head_dim 64 with n_embd/n_head = 32 (exercises key_length), vocab 512. */
  tiny: { nLayer: 2, nEmbd: 128, nFf: 256, nHead: 4, nHeadKv: 2, headDim: 64, vocab: 512,
    contextLength: 512, ropeFreqBase: 1e6, rmsEps: 1e-6, tied: true },
  /** 4 layers, 256 wide, vocab 2048, untied. */
  small: { nLayer: 4, nEmbd: 256, nFf: 768, nHead: 4, nHeadKv: 2, headDim: 128, vocab: 2048,
    contextLength: 2048, ropeFreqBase: 1e6, rmsEps: 1e-6, tied: false },
  // the Bonsai shapes live in @bankai/gguf (BONSAI_SHAPES)
  'bonsai-1.7b': BONSAI_SHAPES['1.7B'],
  'bonsai-4b': BONSAI_SHAPES['4B'],
  'bonsai-8b': BONSAI_SHAPES['8B'],
} as const satisfies Record<string, Qwen3Dims & { tied: boolean }>;
export type PresetName = keyof typeof PRESETS;

/** A preset's dims with `seed` / `weights` and any overrides applied. */
export function presetOptions(
  preset: PresetName, overrides: Partial<Qwen3GenOptions> = {},
): Qwen3GenOptions {
  const p = PRESETS[preset];
  if (!p) throw new RangeError(`unknown preset "${preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  return { ...p, seed: 1, weights: 'q1_0', name: `bankai-random-${preset}`, ...overrides };
}

/** What a tensor holds: a 1-bit linear weight (n_in = ne0) or an RMSNorm weight. */
export interface TensorPlan {
  name: string;
  kind: 'linear' | 'norm';
  /** ne0 first: linear [n_in, n_out], norm [n]. */
  shape: [number] | [number, number];
}

/**
 * model-gen's file order of a block's tensors: the Qwen3 plan's forward order but with attn_output
 * beside attn_q/k/v (the order model-gen has always written; keeping it keeps every generated
 * file, and so the base sha256 a patch on one records, byte-identical).
 */
const BLOCK_FILE_ORDER: readonly Qwen3BlockKey[] = ['attnNorm', 'q', 'k', 'v', 'o', 'qNorm', 'kNorm', 'ffnNorm', 'gate', 'up', 'down'];
if (BLOCK_FILE_ORDER.length !== QWEN3_BLOCK_TENSORS.length || !QWEN3_BLOCK_TENSORS.every((t) => BLOCK_FILE_ORDER.includes(t.key))) {
  throw new Error('model-gen: BLOCK_FILE_ORDER is not an order of the Qwen3 plan\'s block tensors');
}

/** The tensors of the model, in file order (names and shapes from the Qwen3 plan of @bankai/gguf). */
export function qwen3TensorPlan(o: Qwen3Dims & { tied: boolean }): TensorPlan[] {
  const rank = (t: Qwen3PlannedTensor) => BLOCK_FILE_ORDER.indexOf(t.key as Qwen3BlockKey);
  const all = qwen3Tensors(o);
  const blocks = all.filter((t) => t.layer !== undefined).sort((a, b) => a.layer! - b.layer! || rank(a) - rank(b));
  const model = all.filter((t) => t.layer === undefined); // token_embd, output_norm, output
  return [model[0]!, ...blocks, ...model.slice(1)].map((t) => ({ name: t.name, kind: t.kind, shape: [...t.shape] as TensorPlan['shape'] }));
}

/** The 1-bit tensors whose input dim (ne0) is `dim` of the plan, for messages (`attn_q, ffn_gate`). */
function inputsOf(dim: 'nEmbd' | 'qDim' | 'nFf'): string {
  // distinct primes tell the dims apart: nHead * headDim = 55 is the attention width
  const probe = { nEmbd: 2, nFf: 3, nHead: 5, nHeadKv: 7, headDim: 11, vocab: 13, nLayer: 1, tied: true };
  const want = { nEmbd: 2, qDim: 55, nFf: 3 }[dim];
  return qwen3Tensors(probe).filter((t) => t.kind === 'linear' && t.shape[0] === want).map((t) => (t.layer === undefined ? t.tensor : t.tensor.slice('blk.0.'.length))).join(', ');
}

/** Throws a RangeError naming every dimension that is not usable (1-bit inputs need a multiple of Q1_0_BLOCK). */
export function validateQwen3Options(o: Qwen3GenOptions): void {
  const problems: string[] = [];
  const ints: Array<keyof Qwen3Dims> = ['nLayer', 'nEmbd', 'nFf', 'nHead', 'nHeadKv', 'headDim', 'vocab', 'contextLength'];
  for (const k of ints) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 1) problems.push(`${k} = ${o[k]} must be a positive integer`);
  }
  if (problems.length === 0) {
    if (o.nHead % o.nHeadKv !== 0) problems.push(`nHead ${o.nHead} must be a multiple of nHeadKv ${o.nHeadKv}`);
    if (o.headDim % 2 !== 0) problems.push(`headDim ${o.headDim} must be even (RoPE rotates pairs)`);
    if (o.nEmbd % Q1_0_BLOCK !== 0) problems.push(`nEmbd ${o.nEmbd} is the input dim of ${inputsOf('nEmbd')} and must be a multiple of ${Q1_0_BLOCK}`);
    if ((o.nHead * o.headDim) % Q1_0_BLOCK !== 0) problems.push(`nHead*headDim ${o.nHead * o.headDim} is the input dim of ${inputsOf('qDim')} and must be a multiple of ${Q1_0_BLOCK}`);
    if (o.nFf % Q1_0_BLOCK !== 0) problems.push(`nFf ${o.nFf} is the input dim of ${inputsOf('nFf')} and must be a multiple of ${Q1_0_BLOCK}`);
    if (o.vocab < 259) problems.push(`vocab ${o.vocab} must be at least 259 (256 bytes + 3 special tokens)`);
  }
  if (!(o.ropeFreqBase > 0)) problems.push(`ropeFreqBase ${o.ropeFreqBase} must be > 0`);
  if (!(o.rmsEps > 0)) problems.push(`rmsEps ${o.rmsEps} must be > 0`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) problems.push(`seed ${o.seed} must be a u32`);
  if (o.weights !== 'q1_0' && o.weights !== 'f32' && o.weights !== 'f16') problems.push(`weights "${o.weights}" must be q1_0, f32 or f16`);
  if (problems.length > 0) throw new RangeError(`invalid Qwen3 model options: ${problems.join('; ')}`);
}

const FILE_TYPE: Record<WeightFormat, number> = { f32: 0, f16: 1, q1_0: 40 }; // LLAMA_FTYPE_*
const LINEAR_TYPE: Record<WeightFormat, number> = { f32: GGML_TYPE.F32, f16: GGML_TYPE.F16, q1_0: GGML_TYPE.Q1_0 };
const CHUNK_BYTES = 1 << 20;

/**
 * Random 1-bit rows of a linear tensor, in the requested storage. Every row's blocks draw, in
 * order: d = fp16(U(0.5, 1.5) / sqrt(n_in)), then 4 x u32 of bits (bit 1 = +d, LSB first).
 * The stream depends only on (seed, tensor name), so all formats hold the same values.
 */
export function* linearTensorChunks(
  seed: number, name: string, nIn: number, nOut: number, format: WeightFormat, chunkBytes = CHUNK_BYTES,
): Generator<Uint8Array> {
  const rng = new Rng(seed, hash32(name));
  const blocksPerRow = nIn / Q1_0_BLOCK;
  const rowBytes = format === 'q1_0' ? blocksPerRow * Q1_0_BYTES : nIn * (format === 'f32' ? 4 : 2);
  const rowsPerChunk = Math.max(1, Math.floor(chunkBytes / rowBytes));
  const invSqrt = 1 / Math.sqrt(nIn);
  const words = new Uint32Array(4);
  for (let row0 = 0; row0 < nOut; row0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, nOut - row0);
    const out = new Uint8Array(rows * rowBytes);
    const f32 = format === 'f32' ? new Float32Array(out.buffer) : undefined;
    const u16 = format === 'f16' ? new Uint16Array(out.buffer) : undefined;
    let o = 0; // block index within the chunk
    for (let r = 0; r < rows; r++) {
      for (let blk = 0; blk < blocksPerRow; blk++, o++) {
        const dBits = f32ToF16(rng.uniform(0.5, 1.5) * invSqrt);
        for (let w = 0; w < 4; w++) words[w] = rng.nextU32();
        if (format === 'q1_0') {
          const p = o * Q1_0_BYTES;
          out[p] = dBits & 0xff;
          out[p + 1] = dBits >>> 8;
          for (let k = 0; k < 16; k++) out[p + 2 + k] = (words[k >> 2]! >>> ((k & 3) * 8)) & 0xff;
        } else {
          const base = o * Q1_0_BLOCK;
          const dPos = f32 ? decodeHalf(dBits) : 0;
          for (let j = 0; j < Q1_0_BLOCK; j++) {
            const bit = (words[j >> 5]! >>> (j & 31)) & 1;
            if (f32) f32[base + j] = bit ? dPos : -dPos;
            else u16![base + j] = bit ? dBits : dBits | 0x8000;
          }
        }
      }
    }
    yield out;
  }
}

function decodeHalf(h: number): number {
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  return exp === 0 ? mant * 2 ** -24 : (1024 + mant) * 2 ** (exp - 25);
}

/** A norm weight: n floats uniform in [0.8, 1.2) (float32), so a missing or wrong norm shows. */
export function normTensorBytes(seed: number, name: string, n: number): Uint8Array {
  const rng = new Rng(seed, hash32(name));
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(0.8, 1.2);
  return new Uint8Array(v.buffer);
}

/** GGUF metadata as llama.cpp's qwen3 loader and gpt2/qwen2 tokenizer expect. */
export function qwen3Metadata(o: Qwen3GenOptions): Array<[string, GgufValue]> {
  const v = buildTestVocab(o.vocab);
  return [
    ['general.architecture', meta.string('qwen3')],
    ['general.name', meta.string(o.name ?? 'bankai-random-qwen3')],
    ['general.alignment', meta.u32(32)],
    ['general.file_type', meta.u32(FILE_TYPE[o.weights])],
    ['general.quantization_version', meta.u32(2)],
    ['qwen3.block_count', meta.u32(o.nLayer)],
    ['qwen3.context_length', meta.u32(o.contextLength)],
    ['qwen3.embedding_length', meta.u32(o.nEmbd)],
    ['qwen3.feed_forward_length', meta.u32(o.nFf)],
    ['qwen3.attention.head_count', meta.u32(o.nHead)],
    ['qwen3.attention.head_count_kv', meta.u32(o.nHeadKv)],
    ['qwen3.attention.key_length', meta.u32(o.headDim)],
    ['qwen3.attention.value_length', meta.u32(o.headDim)],
    ['qwen3.attention.layer_norm_rms_epsilon', meta.f32(o.rmsEps)],
    ['qwen3.rope.freq_base', meta.f32(o.ropeFreqBase)],
    ['tokenizer.ggml.model', meta.string('gpt2')],
    ['tokenizer.ggml.pre', meta.string('qwen2')],
    ['tokenizer.ggml.tokens', meta.strings(v.tokens)],
    ['tokenizer.ggml.token_type', meta.i32s(v.tokenTypes)],
    ['tokenizer.ggml.merges', meta.strings(v.merges)],
    ['tokenizer.ggml.eos_token_id', meta.u32(v.imEnd)],
    ['tokenizer.ggml.padding_token_id', meta.u32(v.endOfText)],
    ['tokenizer.ggml.bos_token_id', meta.u32(v.endOfText)],
    ['tokenizer.ggml.add_bos_token', meta.bool(false)],
    ['bankai.model_gen.seed', meta.u32(o.seed)],
    ['bankai.model_gen.weights', meta.string(o.weights)],
  ];
}

/** The full write spec; tensor data is produced lazily while writing. */
export function qwen3WriteSpec(o: Qwen3GenOptions): GgufWriteSpec {
  validateQwen3Options(o);
  const tensors: GgufTensorSpec[] = qwen3TensorPlan(o).map((t) => {
    if (t.kind === 'norm') {
      return { name: t.name, type: GGML_TYPE.F32, shape: t.shape, data: () => [normTensorBytes(o.seed, t.name, t.shape[0])] };
    }
    const [nIn, nOut] = t.shape as [number, number];
    return {
      name: t.name, type: LINEAR_TYPE[o.weights], shape: t.shape,
      data: () => linearTensorChunks(o.seed, t.name, nIn, nOut, o.weights),
    };
  });
  return { metadata: qwen3Metadata(o), tensors };
}

/** Generates the model into `sink`, tensor by tensor (memory stays at ~1 MiB of weights). */
export async function generateQwen3(o: Qwen3GenOptions, sink: ByteSink): Promise<GgufWriteResult> {
  return writeGguf(sink, qwen3WriteSpec(o));
}
