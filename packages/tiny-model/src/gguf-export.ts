// ---------------------------------------------------------------------------------------------
// GGUF export of the trained tiny model. train/train.py writes the tensors exactly as its forward
// used them (Q1_0 blocks: fp16 d = mean |w| per 128-group, bit = w >= 0; norms F32) into
// tensors.bin with an index tensors.json; this file checks that index against the architecture
// and builds the GGUF write spec (Qwen3 + gpt2/qwen2 tokenizer metadata) for @bankai/gguf.
// ---------------------------------------------------------------------------------------------

import { GGML_TYPE, meta, Q1_0_BLOCK, Q1_0_BYTES, qwen3Tensors, type GgufTensorSpec, type GgufValue, type GgufWriteSpec } from '@bankai/gguf';
import type { TokenizerMetadata } from './vocab.js';

export interface TinyConfig {
  n_layer: number;
  n_embd: number;
  n_head: number;
  n_head_kv: number;
  head_dim: number;
  n_ff: number;
  context: number;
  vocab: number;
  rope_base: number;
  rms_eps: number;
}

export interface TensorIndexEntry {
  name: string;
  type: 'Q1_0' | 'F32';
  /** ne0 first. */
  shape: number[];
  offset: number;
  nbytes: number;
}

/** tensors.json as train/train.py writes it. */
export interface TensorIndex {
  config: TinyConfig;
  tensors: TensorIndexEntry[];
}

export interface ExportInfo {
  name: string;
  /** Free-form provenance written as bankai.tiny.* keys. */
  trainSteps: number;
  trainSeed: number;
  corpusSeed: number;
}

/** The tensors (name, type, shape ne0 first) a Qwen3 GGUF with this config holds, in file order:
 *  the Qwen3 tensor plan of @bankai/gguf (an untied output head), Q1_0 linears and F32 norms. */
export function expectedTensors(c: TinyConfig): Array<Pick<TensorIndexEntry, 'name' | 'type' | 'shape'>> {
  const plan = qwen3Tensors({
    nLayer: c.n_layer, nEmbd: c.n_embd, nFf: c.n_ff, nHead: c.n_head, nHeadKv: c.n_head_kv, headDim: c.head_dim, vocab: c.vocab, tied: false,
  });
  return plan.map((t) => ({ name: t.name, type: t.kind === 'linear' ? 'Q1_0' : 'F32', shape: [...t.shape] }));
}

function tensorBytes(type: 'Q1_0' | 'F32', shape: readonly number[]): number {
  return type === 'F32' ? shape[0]! * 4 : (shape[0]! / Q1_0_BLOCK) * Q1_0_BYTES * shape[1]!;
}

/** Checks tensors.json against the architecture and the size of tensors.bin; throws naming the
 *  tensor and field. */
export function checkTensorIndex(index: TensorIndex, binBytes: number, file = 'tensors.json'): void {
  const c = index.config;
  for (const [k, v] of Object.entries(c))
    if (typeof v !== 'number' || !(v > 0)) throw new Error(`${file}: config.${k} = ${v} is not a positive number; re-run train/train.py`);
  for (const [k, v] of [['n_embd', c.n_embd], ['n_head*head_dim', c.n_head * c.head_dim], ['n_ff', c.n_ff]] as const)
    if (v % Q1_0_BLOCK !== 0) throw new Error(`${file}: config ${k} = ${v} is an input dim of a 1-bit weight and must be a multiple of ${Q1_0_BLOCK}`);
  const want = expectedTensors(c);
  if (index.tensors.length !== want.length)
    throw new Error(`${file}: ${index.tensors.length} tensors, expected ${want.length} for ${c.n_layer} layers; re-run train/train.py`);
  want.forEach((w, i) => {
    const t = index.tensors[i]!;
    const where = `${file}: tensors[${i}] (${t.name})`;
    if (t.name !== w.name) throw new Error(`${where}: expected tensor ${w.name} here`);
    if (t.type !== w.type) throw new Error(`${where}: type ${t.type}, expected ${w.type}`);
    if (t.shape.join(',') !== w.shape.join(',')) throw new Error(`${where}: shape [${t.shape}], expected [${w.shape}]`);
    if (w.type === 'Q1_0' && w.shape[0]! % Q1_0_BLOCK !== 0)
      throw new Error(`${where}: input dim ${w.shape[0]} is not a multiple of ${Q1_0_BLOCK}; change the config`);
    const n = tensorBytes(w.type, w.shape);
    if (t.nbytes !== n) throw new Error(`${where}: nbytes ${t.nbytes}, expected ${n}`);
    if (!(t.offset >= 0 && t.offset + t.nbytes <= binBytes))
      throw new Error(`${where}: bytes [${t.offset}, ${t.offset + t.nbytes}) fall outside tensors.bin (${binBytes} bytes); re-run train/train.py`);
  });
}

/** The GGUF write spec: Qwen3 metadata as llama.cpp's qwen3 loader reads it, the tokenizer, the
 *  tensors in tensors.json order (Q1_0 linears, F32 norms). */
export function tinyGgufSpec(index: TensorIndex, bin: Uint8Array, tok: TokenizerMetadata, info: ExportInfo): GgufWriteSpec {
  checkTensorIndex(index, bin.length);
  const c = index.config;
  if (tok.tokens.length !== c.vocab) throw new Error(`tokenizer: ${tok.tokens.length} tokens but the model's vocab is ${c.vocab}`);
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', meta.string('qwen3')],
    ['general.name', meta.string(info.name)],
    ['general.alignment', meta.u32(32)],
    ['general.file_type', meta.u32(40)], // LLAMA_FTYPE_MOSTLY_Q1_0
    ['general.quantization_version', meta.u32(2)],
    ['qwen3.block_count', meta.u32(c.n_layer)],
    ['qwen3.context_length', meta.u32(c.context)],
    ['qwen3.embedding_length', meta.u32(c.n_embd)],
    ['qwen3.feed_forward_length', meta.u32(c.n_ff)],
    ['qwen3.attention.head_count', meta.u32(c.n_head)],
    ['qwen3.attention.head_count_kv', meta.u32(c.n_head_kv)],
    ['qwen3.attention.key_length', meta.u32(c.head_dim)],
    ['qwen3.attention.value_length', meta.u32(c.head_dim)],
    ['qwen3.attention.layer_norm_rms_epsilon', meta.f32(c.rms_eps)],
    ['qwen3.rope.freq_base', meta.f32(c.rope_base)],
    ['tokenizer.ggml.model', meta.string(tok.model)],
    ['tokenizer.ggml.pre', meta.string(tok.pre)],
    ['tokenizer.ggml.tokens', meta.strings(tok.tokens)],
    ['tokenizer.ggml.token_type', meta.i32s(tok.tokenTypes)],
    ['tokenizer.ggml.merges', meta.strings(tok.merges)],
    ['tokenizer.ggml.bos_token_id', meta.u32(tok.bosId)],
    ['tokenizer.ggml.eos_token_id', meta.u32(tok.eosId)],
    ['tokenizer.ggml.eot_token_id', meta.u32(tok.eotId)],
    ['tokenizer.ggml.padding_token_id', meta.u32(tok.paddingId)],
    ['tokenizer.ggml.add_bos_token', meta.bool(tok.addBos)],
    ['bankai.tiny.train_steps', meta.u32(info.trainSteps)],
    ['bankai.tiny.train_seed', meta.u32(info.trainSeed)],
    ['bankai.tiny.corpus_seed', meta.u32(info.corpusSeed)],
  ];
  const tensors: GgufTensorSpec[] = index.tensors.map((t) => ({
    name: t.name,
    type: t.type === 'Q1_0' ? GGML_TYPE.Q1_0 : GGML_TYPE.F32,
    shape: t.shape,
    data: bin.subarray(t.offset, t.offset + t.nbytes), // Q1_0: (ne1, ne0/128) blocks of 18 bytes; F32: (ne0,) f32
  }));
  return { metadata, tensors };
}
