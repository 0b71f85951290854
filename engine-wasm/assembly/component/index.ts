// ---- entry of bankai-engine.component.wasm: the canonical ABI of wit/engine.wit, by hand ----
// AssemblyScript has no component bindings generator, so this file is the guest side of the
// canonical ABI for the one interface `bankai:engine/engine` (the build renames these exports
// to their canonical names, see scripts/build-component.mjs):
//   - cabi_realloc: the host allocates argument lists and strings in this memory with it; the
//     callee (here) owns and frees them after the call.
//   - results that do not fit one flat value (strings, lists, result<>) are written to a return
//     area allocated here; its pointer is returned, and cabi_post_* frees what it points to
//     once the host has read it.
//   - result<T, string>: byte 0 = 0 (ok) / 1 (err), payload at offset 4 (u32, or ptr + len).
//   - list<list<f32>>: (n) (ptr, len) pairs, each pointing at len f32.
//   - resource model: the rep is the address of a Model; own<model> handles come from
//     [resource-new]model, and a borrow<model> arrives as the rep itself. [dtor]model frees it.

import { clearError, failed, takeError } from './errors';
import { Model } from './model';
import { applyPatch, revertPatch } from './patch';
import { repairUtf8 } from './utf8';

// @ts-ignore: decorator
@external('[export]bankai:engine/engine', '[resource-new]model')
declare function resourceNew(rep: i32): i32;

// ---- memory owned by the host's calls ----

/** Blocks of the current call's return value, freed by cabi_post_* (or at the next call). */
const pending = new Array<usize>();
/** Live models by rep (also keeps them reachable for the garbage collector). */
const models = new Map<usize, Model>();

export function cabi_realloc(old: usize, oldSize: usize, align: usize, size: usize): usize {
  // heap blocks are 16-aligned, enough for every canonical ABI type
  if (old != 0) return heap.realloc(old, size);
  return heap.alloc(size);
}

export function cabi_post(ret: usize): void {
  while (pending.length > 0) heap.free(pending.pop());
}

function retAlloc(size: usize): usize {
  const p = heap.alloc(size);
  pending.push(p);
  return p;
}

function begin(): void {
  cabi_post(0);
  clearError();
}

function retBytes(buf: ArrayBuffer, area: usize, at: usize): void {
  const n = <usize>buf.byteLength;
  const p = retAlloc(n);
  memory.copy(p, changetype<usize>(buf), n);
  store<u32>(area + at, <u32>p);
  store<u32>(area + at + 4, <u32>n);
}

function retString(s: string, area: usize, at: usize): void {
  retBytes(String.UTF8.encode(s, false), area, at);
}

/** result<_, string>::err(message of the recorded error) */
function retErr(): usize {
  const a = retAlloc(12);
  store<u8>(a, 1);
  retString(takeError(), a, 4);
  return a;
}

function model(rep: usize): Model {
  return models.get(rep);
}

/** The u32 list argument as i32 (ids above 2^31 stay out of range), freed. */
function takeU32s(ptr: usize, len: usize): StaticArray<i32> {
  const out = new StaticArray<i32>(<i32>len);
  memory.copy(changetype<usize>(out), ptr, len * 4);
  heap.free(ptr);
  return out;
}

function takeString(ptr: usize, len: usize): string {
  const s = String.UTF8.decodeUnsafe(ptr, len, false);
  heap.free(ptr);
  return s;
}

// ---- [static]model.load: func(gguf: list<u8>) -> result<model, string> ----
export function model_load(ptr: usize, len: usize): usize {
  begin();
  const m = Model.load(ptr, len);
  heap.free(ptr);
  if (m === null || failed()) {
    if (m !== null) m.free();
    return retErr();
  }
  const rep = changetype<usize>(m);
  models.set(rep, m);
  const a = retAlloc(12);
  store<u8>(a, 0);
  store<i32>(a + 4, resourceNew(<i32>rep));
  return a;
}

// ---- [dtor]model ----
export function model_drop(rep: usize): void {
  if (!models.has(rep)) return;
  models.get(rep).free();
  models.delete(rep);
}

// ---- [method]model.info: func() -> string ----
export function model_info(rep: usize): usize {
  begin();
  const m = model(rep);
  const c = m.config;
  let oneBitWeights: u64 = 0;
  const names = m.oneBit.keys();
  for (let i = 0; i < names.length; i++) {
    const lin = m.oneBit.get(names[i]);
    oneBitWeights += <u64>lin.rows * <u64>lin.cols;
  }
  const json = `{"architecture":"qwen3","config":{"nLayer":${c.nLayer},"nEmbd":${c.nEmbd},"nFf":${c.nFf},"nHead":${c.nHead},` +
    `"nHeadKv":${c.nHeadKv},"headDim":${c.headDim},"ropeDim":${c.ropeDim},"ropeFreqBase":${c.ropeFreqBase},"rmsEps":${c.rmsEps},` +
    `"contextLength":${<i64>c.contextLength},"vocabSize":${c.vocabSize},"tiedOutput":${c.tiedOutput ? 'true' : 'false'}},` +
    `"tensors":${m.nTensors},"oneBitTensors":${names.length},"oneBitWeights":${oneBitWeights},"vocab":${m.tokenizer.vocabSize},` +
    `"maxContext":${m.maxContext},"sha256":"${m.sha256}","patches":${m.patches.length}}`;
  const a = retAlloc(8);
  retString(json, a, 0);
  return a;
}

// ---- [method]model.tokenize: func(text: string) -> list<u32> ----
export function model_tokenize(rep: usize, ptr: usize, len: usize): usize {
  begin();
  const ids = model(rep).tokenizer.encode(takeString(ptr, len));
  const a = retAlloc(8);
  const p = retAlloc(<usize>ids.length * 4);
  for (let i = 0; i < ids.length; i++) store<i32>(p + (<usize>i << 2), ids[i]);
  store<u32>(a, <u32>p);
  store<u32>(a + 4, <u32>ids.length);
  return a;
}

// ---- [method]model.detokenize: func(tokens: list<u32>) -> result<string, string> ----
export function model_detokenize(rep: usize, ptr: usize, len: usize): usize {
  begin();
  const m = model(rep);
  const ids = takeU32s(ptr, len);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= m.tokenizer.vocabSize) {
      clearError();
      const e = `detokenize: token ${<u32>ids[i]} at index ${i} is outside the vocabulary (0..${m.tokenizer.vocabSize - 1})`;
      const a = retAlloc(12);
      store<u8>(a, 1);
      retString(e, a, 4);
      return a;
    }
  }
  const bytes = m.tokenizer.decodeBytes(ids);
  const a = retAlloc(12);
  store<u8>(a, 0);
  retBytes(repairUtf8(bytes.dataStart, <usize>bytes.length), a, 4);
  return a;
}

// ---- [method]model.logprobs: func(tokens: list<u32>) -> result<list<list<f32>>, string> ----
export function model_logprobs(rep: usize, ptr: usize, len: usize): usize {
  begin();
  const m = model(rep);
  const ids = takeU32s(ptr, len);
  if (!m.checkTokens(ids, 'logprobs')) return retErr();
  const n = ids.length, V = m.config.vocabSize;
  const rows = retAlloc(<usize>n * 8); // (n) (ptr, len)
  const data = retAlloc(<usize>n * <usize>V * 4); // (n, vocab) f32
  m.logprobs(ids, data);
  for (let i = 0; i < n; i++) {
    store<u32>(rows + <usize>i * 8, <u32>(data + <usize>i * <usize>V * 4));
    store<u32>(rows + <usize>i * 8 + 4, <u32>V);
  }
  const a = retAlloc(12);
  store<u8>(a, 0);
  store<u32>(a + 4, <u32>rows);
  store<u32>(a + 8, <u32>n);
  return a;
}

// ---- [method]model.generate: func(prompt: string, max-tokens: u32) -> result<string, string> ----
export function model_generate(rep: usize, ptr: usize, len: usize, maxTokens: u32): usize {
  begin();
  const m = model(rep);
  const tokens = m.generate(takeString(ptr, len), maxTokens);
  if (tokens === null) return retErr();
  const bytes = m.tokenizer.decodeBytes(StaticArray.fromArray(tokens));
  const text = repairUtf8(bytes.dataStart, <usize>bytes.length);
  // the text before the first newline (a newline byte is never part of a repaired sequence)
  const u8s = Uint8Array.wrap(text);
  const nl = u8s.indexOf(0x0a);
  const a = retAlloc(12);
  store<u8>(a, 0);
  retBytes(nl >= 0 ? text.slice(0, nl) : text, a, 4);
  return a;
}

// ---- [method]model.apply-patch: func(patch: list<u8>) -> result<u32, string> ----
export function model_apply_patch(rep: usize, ptr: usize, len: usize): usize {
  begin();
  const m = model(rep);
  const flips = applyPatch(m, ptr, len);
  heap.free(ptr);
  if (flips < 0 || failed()) return retErr();
  const a = retAlloc(12); // the size of result<u32, string>
  store<u8>(a, 0);
  store<u32>(a + 4, <u32>flips);
  return a;
}

// ---- [method]model.revert-patch: func() -> result<_, string> ----
export function model_revert_patch(rep: usize): usize {
  begin();
  if (!revertPatch(model(rep))) return retErr();
  const a = retAlloc(12);
  store<u8>(a, 0);
  return a;
}
