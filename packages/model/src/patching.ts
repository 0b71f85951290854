// Patches on a loaded model: validate against the model's real shapes and fingerprint first,
// then XOR every flip into the engine's weights in place. Revert is the same XOR. Workers that
// share the engine memory see the patched weights at once; nothing is copied.
//
//   row flips    engine.xorRows    (every bit of a row: the output neuron is negated)
//   group flips  engine.xorGroups  (the 128 bits of one (row, group))
//   bit flips    q1UnpackRows -> flip weight j (block j>>7, byte 2 + ((j&127)>>3), bit j&7) -> q1PackRows

import type { Engine, Q1Tensor } from '@bankai/engine-wasm';
import { Q1_0_BYTES, Q1_0_SCALE_BYTES, QWEN3_PROJECTIONS } from '@bankai/gguf';
import {
  bitsFlipped,
  checkPatchForModel,
  flipsByTensor,
  modelShapeOf,
  normalize,
  PatchFormatError,
  xorQ1RowBytes,
  type Flip,
  type ModelShape,
  type PatchManifest,
} from '@bankai/patch-format';
import type { Model } from './model.js';
import type { Linear, ModelWeights } from './qwen3.js';

// ---- the model's 1-bit tensors ------------------------------------------------------------------

/** Every 1-bit weight of the model by name (`blk.3.ffn_gate`, `token_embd`, `output`); a tied
 *  output is token_embd itself and appears once. */
export function oneBitTensors(weights: ModelWeights): Map<string, Q1Tensor> {
  const out = new Map<string, Q1Tensor>();
  const add = (lin: Linear) => {
    if (lin.kind === 'q1') out.set(lin.name, lin.tensor);
  };
  add(weights.embd);
  for (const l of weights.layers) for (const p of QWEN3_PROJECTIONS) add(l[p]);
  add(weights.output);
  return out;
}

/** The model's shape for patch validation: every tensor of its GGUF header ({rows: ne1,
 *  cols: ne0, type}) and the file's sha256 when the caller knows it. */
export function modelShape(model: Model, sha256?: string): ModelShape {
  return modelShapeOf(model.header, sha256);
}

// ---- apply / revert ---------------------------------------------------------------------------

export interface ApplyOptions {
  /** Apply even when the patch's fingerprint (base sha256 / recorded shapes) does not match;
   *  the mismatch is returned as a warning. Flips outside the model are never forced. */
  force?: boolean;
  /** sha256 of the model's GGUF file, to check the patch's fingerprint (without it: a warning). */
  sha256?: string;
  /** Patch file label for messages. */
  file?: string;
  /** Refuse an unsigned patch. A patch that carries a signature is applied only when it holds
   *  (under `trustedKeys`, when given), unless `force`, which makes that a warning. */
  requireSignature?: boolean;
  /** Accept only signatures by these public keys (hex or 32 bytes). */
  trustedKeys?: readonly (string | Uint8Array)[];
}

export interface AppliedPatch {
  /** Microseconds the in-place XOR took (validation and planning excluded). */
  readonly micros: number;
  /** Flips applied (canonical form for the model's shapes). */
  readonly flips: number;
  /** Weights flipped (the Hamming distance from the unpatched model). */
  readonly bitsFlipped: number;
  /** Fingerprint warnings (forced mismatches, unchecked fingerprints). */
  readonly warnings: readonly string[];
  /** Undoes the patch (the same XOR); returns its time in microseconds. Only once. */
  revert(): { micros: number };
}

/** One tensor's flips, ready for the engine: (n) rows, (n, 2) (row, group) pairs, and the bit
 *  flips of each row. */
interface TensorPlan {
  tensor: Q1Tensor;
  rows: Int32Array;
  pairs: Int32Array;
  bits: Map<number, number[]>;
}

/**
 * Validates the patch against the model (its signature when it carries one, every flip inside a
 * 1-bit tensor of the model, the fingerprint; signature and fingerprint unless forced), then XORs all its flips into the weights in place. The runner's
 * KV cache is cleared (it held states of the old weights). Returns the time and a revert().
 */
export function applyPatch(model: Model, manifest: PatchManifest, opts: ApplyOptions = {}): AppliedPatch {
  const shape = modelShape(model, opts.sha256);
  const { warnings } = checkPatchForModel(manifest, shape, { force: opts.force, file: opts.file, requireSignature: opts.requireSignature, trustedKeys: opts.trustedKeys });
  const flips = normalize(manifest.flips, shape.tensors);
  const plans = planXor(model, flips, opts.file);
  const micros = xorPlans(model.engine, plans);
  model.runner.rewind(0);
  let applied = true;
  return {
    micros,
    flips: flips.length,
    bitsFlipped: bitsFlipped(flips, shape.tensors) ?? 0,
    warnings,
    revert() {
      if (!applied) throw new RangeError('revert: this patch was already reverted');
      applied = false;
      const t = xorPlans(model.engine, plans);
      model.runner.rewind(0);
      return { micros: t };
    },
  };
}

/** Per tensor: the engine tensor and its row list, (row, group) pairs and bit flips by row. */
function planXor(model: Model, flips: readonly Flip[], file?: string): TensorPlan[] {
  const tensors = oneBitTensors(model.weights);
  const plans: TensorPlan[] = [];
  for (const [name, tf] of flipsByTensor(flips)) {
    const tensor = tensors.get(name);
    if (!tensor) {
      // checkPatchForModel accepted it, so the header says Q1_0 but the engine holds it otherwise
      throw new PatchFormatError(`${name} is not a 1-bit weight of the loaded model`, { file, fix: 'load the model with its 1-bit weights' });
    }
    const bits = new Map<number, number[]>();
    for (let i = 0; i < tf.bits.length; i += 2) {
      const list = bits.get(tf.bits[i]!);
      if (list) list.push(tf.bits[i + 1]!);
      else bits.set(tf.bits[i]!, [tf.bits[i + 1]!]);
    }
    plans.push({ tensor, rows: Int32Array.from(tf.rows), pairs: Int32Array.from(tf.groups), bits });
  }
  return plans;
}

/**
 * XOR flips into the loaded weights in place, without the validation applyPatch does first (the
 * caller vouches for them: e.g. the search, whose candidates come from the model's own shapes).
 * The same call reverts. Returns microseconds.
 */
export function xorFlips(model: Model, flips: readonly Flip[]): number {
  const micros = xorPlans(model.engine, planXor(model, flips));
  model.runner.rewind(0);
  return micros;
}

/** XORs every plan into engine memory; returns microseconds. Scratch lists live in the engine
 *  arena only for the call (mark / reset). */
function xorPlans(e: Engine, plans: readonly TensorPlan[]): number {
  const mark = e.mark();
  try {
    // scratch: the largest row list, pair list and one unpacked row, allocated up front
    let maxRows = 0;
    let maxPairs = 0;
    let maxRowBytes = 0;
    for (const p of plans) {
      maxRows = Math.max(maxRows, p.rows.length);
      maxPairs = Math.max(maxPairs, p.pairs.length);
      if (p.bits.size > 0) maxRowBytes = Math.max(maxRowBytes, p.tensor.groups * Q1_0_BYTES);
    }
    const rowsPtr = e.alloc(maxRows * 4, 8); // (n) int32 rows
    const pairsPtr = e.alloc(maxPairs * 4, 8); // (n, 2) int32 (row, group)
    const rowPtr = e.alloc(maxRowBytes, 16); // (groups) Q1_0 blocks: one GGUF row
    const t0 = performance.now();
    for (const p of plans) {
      if (p.rows.length > 0) {
        e.i32(rowsPtr, p.rows.length).set(p.rows);
        e.xorRows(p.tensor, rowsPtr, p.rows.length);
      }
      if (p.pairs.length > 0) {
        e.i32(pairsPtr, p.pairs.length).set(p.pairs);
        e.xorGroups(p.tensor, pairsPtr, p.pairs.length / 2);
      }
      for (const [row, bits] of p.bits) {
        e.q1UnpackRows(p.tensor, row, 1, rowPtr);
        xorQ1RowBytes(e.u8(rowPtr, p.tensor.groups * Q1_0_BYTES), { bits });
        e.q1PackRows(p.tensor, row, 1, rowPtr);
      }
    }
    return (performance.now() - t0) * 1000;
  } finally {
    e.reset(mark);
  }
}

// ---- comparing weights --------------------------------------------------------------------------

/** The GGUF Q1_0 bytes of every 1-bit tensor: (rows, cols/128) blocks of 18 bytes each. */
export type WeightSnapshot = ReadonlyMap<string, Uint8Array>;

/** Rows per unpack step when reading weights back out of the engine. */
const UNPACK_ROWS = 256;

/** The exact GGUF bytes of one 1-bit tensor, read back from the engine's layout. */
export function q1TensorBytes(model: Model, name: string): Uint8Array {
  const t = oneBitTensors(model.weights).get(name);
  if (!t) throw new RangeError(`q1TensorBytes: the model has no 1-bit tensor ${name}`);
  const e = model.engine;
  const rowBytes = t.groups * Q1_0_BYTES;
  const out = new Uint8Array(t.rows * rowBytes); // (rows, groups) Q1_0 blocks
  const mark = e.mark();
  try {
    const buf = e.alloc(UNPACK_ROWS * rowBytes, 16);
    for (let r = 0; r < t.rows; r += UNPACK_ROWS) {
      const n = Math.min(UNPACK_ROWS, t.rows - r);
      e.q1UnpackRows(t, r, n, buf);
      out.set(e.u8(buf, n * rowBytes), r * rowBytes);
    }
  } finally {
    e.reset(mark);
  }
  return out;
}

/** A copy of every 1-bit tensor's GGUF bytes (tests and small models: it holds them all). */
export function snapshotWeights(model: Model): WeightSnapshot {
  const out = new Map<string, Uint8Array>();
  for (const name of oneBitTensors(model.weights).keys()) out.set(name, q1TensorBytes(model, name));
  return out;
}

export interface WeightsHamming {
  /** Weights whose sign bit differs, in total and per tensor (only tensors that differ). */
  readonly bits: number;
  readonly byTensor: ReadonlyMap<string, number>;
  /** Tensors whose fp16 scales differ somewhere (a patch never changes a scale). */
  readonly scalesDiffer: readonly string[];
}

const POPCOUNT8 = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});

/** Sign-bit Hamming distance between the 1-bit weights of two models (or snapshots) of the
 *  same shapes, tensor by tensor. */
export function weightsHamming(a: Model | WeightSnapshot, b: Model | WeightSnapshot): WeightsHamming {
  const names = (x: Model | WeightSnapshot) => [...(isSnapshot(x) ? x.keys() : oneBitTensors(x.weights).keys())];
  const bytesOf = (x: Model | WeightSnapshot, name: string) => (isSnapshot(x) ? x.get(name) : q1TensorBytes(x, name));
  const byTensor = new Map<string, number>();
  const scalesDiffer: string[] = [];
  let total = 0;
  const na = names(a);
  const nb = new Set(names(b));
  if (na.length !== nb.size || !na.every((n) => nb.has(n))) {
    throw new RangeError(`weightsHamming: the models have different 1-bit tensors (${na.length} vs ${nb.size})`);
  }
  for (const name of na) {
    const x = bytesOf(a, name)!;
    const y = bytesOf(b, name)!;
    if (x.length !== y.length) throw new RangeError(`weightsHamming: ${name} has ${x.length} bytes in one model and ${y.length} in the other`);
    let bits = 0;
    let scales = false;
    for (let blk = 0; blk < x.length; blk += Q1_0_BYTES) {
      if (x[blk] !== y[blk] || x[blk + 1] !== y[blk + 1]) scales = true;
      for (let i = blk + Q1_0_SCALE_BYTES; i < blk + Q1_0_BYTES; i++) bits += POPCOUNT8[x[i]! ^ y[i]!]!;
    }
    if (bits > 0) byTensor.set(name, bits);
    if (scales) scalesDiffer.push(name);
    total += bits;
  }
  return { bits: total, byTensor, scalesDiffer };
}

function isSnapshot(x: Model | WeightSnapshot): x is WeightSnapshot {
  return x instanceof Map;
}
