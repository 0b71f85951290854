// GGUF file -> weights in engine memory. Tensor data streams chunk by chunk through one small
// staging buffer and is repacked into the engine's own 1-bit layout: the file is never held
// twice, and the weights exist once, in the engine's (shareable) memory.

import type { Engine } from '@bankai/engine-wasm';
import {
  GGML_TYPE,
  GgufError,
  f16ToF32,
  plainValue,
  QWEN3_BLOCK_TENSORS,
  QWEN3_OUTPUT,
  QWEN3_OUTPUT_NORM,
  QWEN3_TOKEN_EMBD,
  qwen3BlockName,
  WEIGHT_SUFFIX,
  type Qwen3BlockKey,
  readTensorChunks,
  type ByteSource,
  type GgufFile,
  type GgufTensorInfo,
} from '@bankai/gguf';
import { qwen3TensorShapes, readQwen3Config, type Qwen3Config } from './config.js';
import type { LayerWeights, Linear, ModelWeights } from './qwen3.js';
import { Tokenizer } from './tokenizer.js';

const STAGING_BYTES = 4 << 20;

/** Plain metadata lookup over a parsed header (undefined when the key is absent). */
export function metadataLookup(header: GgufFile): (key: string) => unknown {
  return (key) => (header.has(key) ? plainValue(header.get(key)) : undefined);
}

export function readModelConfig(header: GgufFile): Qwen3Config {
  return readQwen3Config(metadataLookup(header), header.tensors, header.file);
}

export function tokenizerFromHeader(header: GgufFile): Tokenizer {
  const md = metadataLookup(header);
  const need = (key: string): unknown => {
    const v = md(key);
    if (v === undefined) {
      throw new GgufError(`${header.file}: metadata key "${key}" is missing: the file has no tokenizer Bankai can use ` +
        '(a byte-level BPE "gpt2" tokenizer, as Qwen3 models ship).', header.file);
    }
    return v;
  };
  // an id is an integer-typed scalar; anything else (a string, an array) is reported as it is
  const optNum = (key: string): number | undefined => {
    const v = md(key);
    if (v === undefined) return undefined;
    return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : (v as number);
  };
  return Tokenizer.fromMetadata({
    model: need('tokenizer.ggml.model') as string,
    pre: (md('tokenizer.ggml.pre') as string | undefined) ?? 'default',
    tokens: need('tokenizer.ggml.tokens') as string[],
    tokenTypes: md('tokenizer.ggml.token_type') as number[] | undefined,
    merges: need('tokenizer.ggml.merges') as string[],
    bosId: optNum('tokenizer.ggml.bos_token_id'),
    eosId: optNum('tokenizer.ggml.eos_token_id'),
    eotId: optNum('tokenizer.ggml.eot_token_id'),
  }, header.file);
}

/** Check every tensor's presence, shape and type before any weight is read. */
function checkTensors(header: GgufFile, c: Qwen3Config): Map<string, GgufTensorInfo> {
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  for (const [name, shape] of qwen3TensorShapes(c)) {
    const t = byName.get(name);
    if (!t) throw new GgufError(`${header.file}: tensor "${name}" is missing; a ${c.nLayer}-layer Qwen3 model needs it.`, header.file);
    const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
    if (!same) {
      throw new GgufError(
        `${header.file}: tensor "${name}" has shape [${t.shape}] but the metadata implies [${shape}] (ne0 first).`,
        header.file, t.infoOffset,
      );
    }
    const isNorm = shape.length === 1;
    const ok = isNorm
      ? t.type === GGML_TYPE.F32 || t.type === GGML_TYPE.F16
      : t.type === GGML_TYPE.Q1_0 || t.type === GGML_TYPE.F32 || t.type === GGML_TYPE.F16;
    if (!ok) {
      throw new GgufError(
        `${header.file}: tensor "${name}" is ${t.typeName}; Bankai runs ${isNorm ? 'F32/F16 norms' : 'Q1_0 (1-bit), F32 or F16 weights'}.`,
        header.file, t.infoOffset,
      );
    }
  }
  return byName;
}

/** Stream one weight matrix into engine memory (1-bit: repacked into the engine's layout). */
async function loadLinear(e: Engine, src: ByteSource, t: GgufTensorInfo, staging: number): Promise<Linear> {
  const rows = t.shape[1]!;
  const cols = t.shape[0]!;
  const name = t.name.replace(/\.weight$/, '');
  if (t.type === GGML_TYPE.Q1_0) {
    const tensor = e.q1Place(e.q1Layout(rows, cols), e.alloc(e.q1Layout(rows, cols).bytes));
    for await (const chunk of readTensorChunks(src, t, { chunkBytes: STAGING_BYTES })) {
      e.u8(staging, chunk.bytes.length).set(chunk.bytes);
      e.q1PackRows(tensor, chunk.rowStart, chunk.rowCount, staging);
    }
    return { name, kind: 'q1', rows, cols, tensor };
  }
  const ptr = e.alloc(t.nBytes);
  for await (const chunk of readTensorChunks(src, t, { chunkBytes: STAGING_BYTES })) {
    e.u8(ptr + chunk.byteOffset, chunk.bytes.length).set(chunk.bytes);
  }
  return { name, kind: t.type === GGML_TYPE.F32 ? 'f32' : 'f16', rows, cols, ptr };
}

/** A norm vector as f32 in engine memory (F16 files are widened). */
async function loadNorm(e: Engine, src: ByteSource, t: GgufTensorInfo): Promise<number> {
  const n = t.shape[0]!;
  const ptr = e.alloc(n * 4);
  const bytes = new Uint8Array(t.nBytes);
  for await (const chunk of readTensorChunks(src, t)) bytes.set(chunk.bytes, chunk.byteOffset);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = e.f32(ptr, n);
  for (let i = 0; i < n; i++) out[i] = t.type === GGML_TYPE.F32 ? dv.getFloat32(i * 4, true) : f16ToF32(dv.getUint16(i * 2, true));
  return ptr;
}

export interface LoadProgress {
  tensor: string;
  done: number;
  total: number;
}

/**
 * Engine bytes loadWeights takes for this header (the 1-bit tensors in the engine's layout, norms
 * as f32, the staging buffer), from the header alone: sizes a run before any weight is read.
 */
export function weightEngineBytes(header: GgufFile, q1Bytes: (rows: number, cols: number) => number): number {
  const c = readModelConfig(header);
  const byName = checkTensors(header, c);
  const al = (b: number) => Math.ceil(b / 64) * 64;
  let bytes = al(STAGING_BYTES + Math.max(...header.tensors.map((t) => t.rowBytes)));
  for (const name of qwen3TensorShapes(c).keys()) {
    const t = byName.get(name)!;
    if (t.shape.length === 1) bytes += al(t.shape[0]! * 4);
    else if (t.type === GGML_TYPE.Q1_0) bytes += al(q1Bytes(t.shape[1]!, t.shape[0]!));
    else bytes += al(t.nBytes);
  }
  return bytes;
}

/** Load every Qwen3 weight of `src` into `engine`'s memory. */
export async function loadWeights(
  engine: Engine,
  src: ByteSource,
  header: GgufFile,
  onProgress?: (p: LoadProgress) => void,
): Promise<ModelWeights> {
  const c = readModelConfig(header);
  const byName = checkTensors(header, c);
  // one staging buffer for the whole load (a chunk holds whole rows: up to one row past the target)
  const staging = engine.alloc(STAGING_BYTES + Math.max(...header.tensors.map((t) => t.rowBytes)));
  const total = byName.size;
  let done = 0;
  const tensor = (name: string) => {
    onProgress?.({ tensor: name, done: done++, total });
    return byName.get(name)!;
  };
  const linear = (name: string) => loadLinear(engine, src, tensor(name), staging);
  const norm = (name: string) => loadNorm(engine, src, tensor(name));

  // every tensor in the Qwen3 plan's file order (token_embd, blocks in forward order, output_norm, output)
  const embd = await linear(QWEN3_TOKEN_EMBD + WEIGHT_SUFFIX);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayer; l++) {
    const layer: Partial<Record<Qwen3BlockKey, Linear | number>> = {};
    for (const t of QWEN3_BLOCK_TENSORS) {
      const name = qwen3BlockName(l, t.local) + WEIGHT_SUFFIX;
      layer[t.key] = t.kind === 'linear' ? await linear(name) : await norm(name);
    }
    layers.push(layer as LayerWeights);
  }
  const outputNorm = await norm(QWEN3_OUTPUT_NORM + WEIGHT_SUFFIX);
  const output = c.tiedOutput ? embd : await linear(QWEN3_OUTPUT + WEIGHT_SUFFIX);
  onProgress?.({ tensor: '', done: total, total });
  return { config: c, embd, layers, outputNorm, output };
}
