// Qwen3 hyper-parameters, read entirely from GGUF metadata (nothing assumed from the name).

import { QWEN3_OUTPUT, QWEN3_TOKEN_EMBD, qwen3Tensors, WEIGHT_SUFFIX } from '@bankai/gguf';

const EMBD = QWEN3_TOKEN_EMBD + WEIGHT_SUFFIX;
const OUTPUT = QWEN3_OUTPUT + WEIGHT_SUFFIX;

export interface Qwen3Config {
  architecture: string;
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  headDim: number; // `key_length`: not always nEmbd / nHead (Bonsai 4B: 2560 / 32 != 128)
  ropeDim: number; // rotated dimensions per head (`rope.dimension_count`, default headDim)
  ropeFreqBase: number;
  rmsEps: number;
  contextLength: number;
  vocabSize: number;
  tiedOutput: boolean; // no `output.weight`: logits use token_embd
}

export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

/** Metadata as plain values (`@bankai/gguf`'s typed values unwrapped), by key. */
export type MetadataLookup = (key: string) => unknown;

export function readQwen3Config(
  md: MetadataLookup,
  tensors: { name: string; shape: readonly number[] }[],
  file = 'model',
): Qwen3Config {
  const arch = md('general.architecture');
  if (arch !== 'qwen3') {
    throw new ModelConfigError(
      `${file}: general.architecture is ${typeof arch === 'string' ? JSON.stringify(arch.slice(0, 64)) : typeof arch === 'object' ? 'an array' : String(arch)}; Bankai runs Qwen3 models ` +
        `(general.architecture = "qwen3"), such as PrismML's Bonsai.`,
    );
  }
  const num = (key: string, fallback?: number): number => {
    const v = md(`${arch}.${key}`);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ModelConfigError(`${file}: metadata key ${arch}.${key} is missing; it is required for a Qwen3 model.`);
    }
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
      throw new ModelConfigError(`${file}: metadata key ${arch}.${key} = ${typeof v === 'object' ? 'an array' : String(v)} is not a positive number.`);
    }
    return n;
  };
  // sizes and counts: integers (they size buffers and loops), the layer count bounded by the
  // tensors the file has (a corrupt count must not build a billion-entry tensor plan)
  const int = (key: string, fallback?: number): number => {
    const n = num(key, fallback);
    if (!Number.isSafeInteger(n)) throw new ModelConfigError(`${file}: metadata key ${arch}.${key} = ${n} is not an integer.`);
    return n;
  };
  const nEmbd = int('embedding_length');
  const nHead = int('attention.head_count');
  const headDim = int('attention.key_length', nEmbd / nHead);
  const valueLength = int('attention.value_length', headDim);
  if (valueLength !== headDim) {
    throw new ModelConfigError(`${file}: ${arch}.attention.value_length (${valueLength}) != key_length (${headDim}); Qwen3 uses one head size.`);
  }
  const nHeadKv = int('attention.head_count_kv', nHead);
  if (nHead % nHeadKv !== 0) {
    throw new ModelConfigError(`${file}: head_count ${nHead} is not a multiple of head_count_kv ${nHeadKv}.`);
  }
  const embd = tensors.find((t) => t.name === EMBD);
  if (!embd) throw new ModelConfigError(`${file}: tensor ${EMBD} is missing.`);
  const cfg: Qwen3Config = {
    architecture: arch,
    nLayer: int('block_count'),
    nEmbd,
    nFf: int('feed_forward_length'),
    nHead,
    nHeadKv,
    headDim,
    ropeDim: int('rope.dimension_count', headDim),
    ropeFreqBase: num('rope.freq_base', 10000),
    rmsEps: num('attention.layer_norm_rms_epsilon', 1e-6),
    contextLength: int('context_length', 2048),
    vocabSize: embd.shape[1]!,
    tiedOutput: !tensors.some((t) => t.name === OUTPUT),
  };
  if (cfg.nLayer > tensors.length) {
    throw new ModelConfigError(`${file}: ${arch}.block_count is ${cfg.nLayer} but the file has only ${tensors.length} tensors; the metadata is corrupt: export the model again.`);
  }
  if (embd.shape.length < 2) throw new ModelConfigError(`${file}: tensor ${EMBD} has shape [${embd.shape}]; it must be [n_embd, vocab].`);
  if (!(embd.shape[1]! >= 1)) throw new ModelConfigError(`${file}: tensor ${EMBD} has 0 rows: the vocabulary is empty; export the model again.`);
  if (embd.shape[0] !== nEmbd) {
    throw new ModelConfigError(`${file}: ${EMBD} has ${embd.shape[0]} columns but embedding_length is ${nEmbd}.`);
  }
  if (cfg.ropeDim > headDim || cfg.ropeDim % 2 !== 0) {
    throw new ModelConfigError(`${file}: rope.dimension_count ${cfg.ropeDim} must be even and <= head size ${headDim}.`);
  }
  return cfg;
}

/** Expected tensor shapes (ne0 first) of a Qwen3 model, in file order (the Qwen3 tensor plan of
 *  @bankai/gguf); the loader checks every tensor against them. */
export function qwen3TensorShapes(c: Qwen3Config): Map<string, number[]> {
  const plan = qwen3Tensors({ ...c, vocab: c.vocabSize, tied: c.tiedOutput });
  return new Map(plan.map((t) => [t.name, [...t.shape]]));
}
