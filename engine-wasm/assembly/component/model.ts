// ---- a Qwen3 model inside the component: GGUF bytes -> weights -> forward pass ----
// The same steps as @bankai/model (config.ts, load.ts, qwen3.ts, scoring.ts), calling the same
// AssemblyScript kernels (../ops, ../q8, ../matmul_q1, ../q1, ../dense) in the same order with
// the same arguments, so logits, log-probs and greedy tokens are the same bits.
//
//   x = embd[tokens]
//   per layer:  h = rms(x)*attn_norm;  q,k,v = Wq h, Wk h, Wv h;  q,k = rms_head(q,k)*norms;
//               rope(q,k);  x += Wo attn(q, K, V);  h = rms(x)*ffn_norm;  x += Wd (silu(Wg h) * Wu h)
//   logits = Wout rms(x)*output_norm          (Wout = token_embd when the output is tied)

import { matmulF16, matmulF32 } from '../dense';
import { f16ToF32 } from '../f16';
import { matmulQ1 } from '../matmul_q1';
import { attention, add, rmsNorm, ropeNeox, siluMul } from '../ops';
import { q1Bytes, q1DequantRow, q1PackRows } from '../q1';
import { q8Bytes, quantizeQ8 } from '../q8';
import { fail, failed } from './errors';
import { GGML_F16, GGML_F32, GGML_Q1_0, Gguf, T_ARRAY, T_BOOL, T_STRING, TensorInfo, ggmlTypeName, readGguf, typeName } from './gguf';
import { plog, pexp } from './portable-math';
import { AppliedPatch } from './patch';
import { sha256Hex } from './sha256';
import { Tokenizer, tokenizerFromGguf } from './tokenizer';

const FILE = 'model.gguf';

export class Config {
  nLayer: i32 = 0;
  nEmbd: i32 = 0;
  nFf: i32 = 0;
  nHead: i32 = 0;
  nHeadKv: i32 = 0;
  headDim: i32 = 0;
  ropeDim: i32 = 0;
  ropeFreqBase: f64 = 0;
  rmsEps: f64 = 0;
  contextLength: f64 = 0; // may exceed 2^31 (it only caps the KV cache)
  vocabSize: i32 = 0;
  tiedOutput: bool = false;
}

/** y = x W^T with W (rows, cols): 1-bit in the engine's layout (q1), or dense GGUF bytes. */
export class Linear {
  name: string = '';
  type: u32 = 0;
  rows: i32 = 0;
  cols: i32 = 0;
  ptr: usize = 0;
}

class Layer {
  attnNorm: usize = 0; // (nEmbd) f32
  q: Linear = new Linear(); // (nHead*headDim, nEmbd)
  k: Linear = new Linear(); // (nHeadKv*headDim, nEmbd)
  v: Linear = new Linear();
  qNorm: usize = 0; // (headDim) f32
  kNorm: usize = 0;
  o: Linear = new Linear(); // (nEmbd, nHead*headDim)
  ffnNorm: usize = 0;
  gate: Linear = new Linear(); // (nFf, nEmbd)
  up: Linear = new Linear();
  down: Linear = new Linear(); // (nEmbd, nFf)
}

// ---- config (config.ts readQwen3Config) ----

function cfgFail(msg: string): Config | null {
  fail(`${FILE}: ${msg}`);
  return null;
}

function isNumber(t: u32): bool {
  return t != T_STRING && t != T_ARRAY && t != T_BOOL;
}

function readConfig(g: Gguf): Config | null {
  if (!g.has('general.architecture') || g.get('general.architecture').type != T_STRING || g.get('general.architecture').str != 'qwen3') {
    const v = g.has('general.architecture') ? g.get('general.architecture') : null;
    const shown = v === null ? 'missing' : v.type == T_STRING ? `"${v.str.slice(0, 64)}"` : v.type == T_ARRAY ? 'an array' : v.num.toString();
    return cfgFail(`general.architecture is ${shown}; Bankai runs Qwen3 models (general.architecture = "qwen3"), such as PrismML's Bonsai.`);
  }
  const c = new Config();
  const keys = ['embedding_length', 'attention.head_count', 'attention.key_length', 'attention.value_length', 'attention.head_count_kv',
    'block_count', 'feed_forward_length', 'rope.dimension_count', 'rope.freq_base', 'attention.layer_norm_rms_epsilon', 'context_length'];
  const vals = new Array<f64>(keys.length);
  const present = new Array<bool>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const key = 'qwen3.' + keys[i];
    present[i] = g.has(key);
    if (!present[i]) continue;
    const v = g.get(key);
    if (!isNumber(v.type) || !isFinite(v.num) || v.num <= 0) {
      const shown = v.type == T_ARRAY ? 'an array' : v.type == T_STRING ? v.str : v.num.toString();
      return cfgFail(`metadata key ${key} = ${shown} is not a positive number.`);
    }
    vals[i] = v.num;
  }
  const required = ['embedding_length', 'attention.head_count', 'block_count', 'feed_forward_length'];
  for (let i = 0; i < keys.length; i++) {
    if (!present[i] && required.includes(keys[i])) return cfgFail(`metadata key qwen3.${keys[i]} is missing; it is required for a Qwen3 model.`);
  }
  const nEmbd = vals[0], nHead = vals[1];
  const headDim = present[2] ? vals[2] : nEmbd / nHead;
  const valueLength = present[3] ? vals[3] : headDim;
  const nHeadKv = present[4] ? vals[4] : nHead;
  const ints = [nEmbd, nHead, headDim, valueLength, nHeadKv, vals[5], vals[6], present[7] ? vals[7] : headDim, present[10] ? vals[10] : 2048];
  const intKeys = [0, 1, 2, 3, 4, 5, 6, 7, 10];
  for (let i = 0; i < ints.length; i++) {
    if (ints[i] != Math.floor(ints[i]) || ints[i] > 9007199254740991) return cfgFail(`metadata key qwen3.${keys[intKeys[i]]} = ${ints[i]} is not an integer.`);
    // the context length only caps the KV cache (min(512, it)); every other size must match tensors
    if (ints[i] > 0x7fffffff && intKeys[i] != 10) return cfgFail(`metadata key qwen3.${keys[intKeys[i]]} = ${ints[i]} is too large for this engine.`);
  }
  if (valueLength != headDim) return cfgFail(`qwen3.attention.value_length (${valueLength}) != key_length (${headDim}); Qwen3 uses one head size.`);
  if (nHead % nHeadKv != 0) return cfgFail(`head_count ${nHead} is not a multiple of head_count_kv ${nHeadKv}.`);
  if (!g.byName.has('token_embd.weight')) return cfgFail('tensor token_embd.weight is missing.');
  const embd = g.byName.get('token_embd.weight');
  c.nEmbd = <i32>nEmbd;
  c.nHead = <i32>nHead;
  c.headDim = <i32>headDim;
  c.nHeadKv = <i32>nHeadKv;
  c.nLayer = <i32>vals[5];
  c.nFf = <i32>vals[6];
  c.ropeDim = <i32>(present[7] ? vals[7] : headDim);
  c.ropeFreqBase = present[8] ? vals[8] : 10000;
  c.rmsEps = present[9] ? vals[9] : 1e-6;
  c.contextLength = present[10] ? vals[10] : 2048;
  c.tiedOutput = !g.byName.has('output.weight');
  if (c.nLayer > g.tensors.length) {
    return cfgFail(`qwen3.block_count is ${c.nLayer} but the file has only ${g.tensors.length} tensors; the metadata is corrupt: export the model again.`);
  }
  if (embd.dims.length < 2) return cfgFail(`tensor token_embd.weight has ${embd.dims.length} dimension; it must be [n_embd, vocab].`);
  c.vocabSize = embd.rows;
  if (embd.cols != c.nEmbd) return cfgFail(`token_embd.weight has ${embd.cols} columns but embedding_length is ${c.nEmbd}.`);
  if (c.ropeDim > c.headDim || c.ropeDim % 2 != 0) return cfgFail(`rope.dimension_count ${c.ropeDim} must be even and <= head size ${c.headDim}.`);
  return c;
}

/** Expected (name, ne0, ne1) of every tensor, ne1 = 0 for vectors (config.ts qwen3TensorShapes). */
class Shapes {
  names: Array<string> = [];
  ne0: Array<i32> = [];
  ne1: Array<i32> = [];
  add(n: string, a: i32, b: i32): void {
    this.names.push(n);
    this.ne0.push(a);
    this.ne1.push(b);
  }
}

function expectedShapes(c: Config): Shapes {
  const qDim = c.nHead * c.headDim, kvDim = c.nHeadKv * c.headDim;
  const s = new Shapes();
  s.add('token_embd.weight', c.nEmbd, c.vocabSize);
  s.add('output_norm.weight', c.nEmbd, 0);
  if (!c.tiedOutput) s.add('output.weight', c.nEmbd, c.vocabSize);
  for (let l = 0; l < c.nLayer; l++) {
    const b = `blk.${l}.`;
    s.add(b + 'attn_norm.weight', c.nEmbd, 0);
    s.add(b + 'attn_q.weight', c.nEmbd, qDim);
    s.add(b + 'attn_k.weight', c.nEmbd, kvDim);
    s.add(b + 'attn_v.weight', c.nEmbd, kvDim);
    s.add(b + 'attn_output.weight', qDim, c.nEmbd);
    s.add(b + 'attn_q_norm.weight', c.headDim, 0);
    s.add(b + 'attn_k_norm.weight', c.headDim, 0);
    s.add(b + 'ffn_norm.weight', c.nEmbd, 0);
    s.add(b + 'ffn_gate.weight', c.nEmbd, c.nFf);
    s.add(b + 'ffn_up.weight', c.nEmbd, c.nFf);
    s.add(b + 'ffn_down.weight', c.nFf, c.nEmbd);
  }
  return s;
}

function checkTensors(g: Gguf, c: Config): bool {
  const s = expectedShapes(c);
  const names = s.names, ne0 = s.ne0, ne1 = s.ne1;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (!g.byName.has(name)) return fail(`${FILE}: tensor "${name}" is missing; a ${c.nLayer}-layer Qwen3 model needs it.`);
    const t = g.byName.get(name);
    const isNorm = ne1[i] == 0;
    const wantDims = isNorm ? 1 : 2;
    const same = t.dims.length == wantDims && t.dims[0] == <u64>ne0[i] && (isNorm || t.dims[1] == <u64>ne1[i]);
    if (!same) {
      let shape = '';
      for (let d = 0; d < t.dims.length; d++) shape += (d > 0 ? ',' : '') + t.dims[d].toString();
      return fail(`${FILE}: tensor "${name}" at byte ${t.infoAt} has shape [${shape}] but the metadata implies [${isNorm ? ne0[i].toString() : `${ne0[i]},${ne1[i]}`}] (ne0 first).`);
    }
    const ok = isNorm ? t.type == GGML_F32 || t.type == GGML_F16 : t.type == GGML_Q1_0 || t.type == GGML_F32 || t.type == GGML_F16;
    if (!ok) {
      return fail(`${FILE}: tensor "${name}" at byte ${t.infoAt} is ${ggmlTypeName(t.type)}; Bankai runs ${isNorm ? 'F32/F16 norms' : 'Q1_0 (1-bit), F32 or F16 weights'}.`);
    }
  }
  return true;
}

// ---- the model ----

// @ts-ignore: decorator
@inline function f32At(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

export class Model {
  config: Config = new Config();
  tokenizer: Tokenizer = new Tokenizer();
  sha256: string = '';
  nTensors: i32 = 0;
  embd: Linear = new Linear();
  output: Linear = new Linear();
  outputNorm: usize = 0;
  layers: Array<Layer> = [];
  /** Every 1-bit weight by patch tensor name (blk.3.ffn_gate, token_embd, output). */
  oneBit: Map<string, Linear> = new Map();
  /** Heap blocks this model owns (freed by free()). */
  private blocks: Array<usize> = [];
  // runner (qwen3.ts layoutRunner): scratch and KV cache
  maxBatch: i32 = 0;
  maxContext: i32 = 0;
  pos: i32 = 0;
  x: usize = 0; // (maxBatch, nEmbd) f32 residual stream
  h: usize = 0; // (maxBatch, max(nEmbd, qDim)) f32
  xq: usize = 0; // Q8_0 activations of (maxBatch, widest)
  q: usize = 0; // (maxBatch, qDim)
  k: usize = 0; // (maxBatch, kvDim)
  v: usize = 0;
  gate: usize = 0; // (maxBatch, nFf)
  up: usize = 0;
  attnScratch: usize = 0; // (maxContext)
  kCache: usize = 0; // (nLayer, maxContext, kvDim)
  vCache: usize = 0;
  logits: usize = 0; // (maxBatch, vocab)
  /** (cols, rows) of every tensor of the file by patch name (without `.weight`). */
  shapes: Map<string, StaticArray<i32>> = new Map();
  /** Applied patches, most recent last (patch.ts). */
  patches: Array<AppliedPatch> = [];

  alloc(bytes: usize): usize {
    const p = heap.alloc(bytes);
    this.blocks.push(p);
    return p;
  }

  free(): void {
    for (let i = 0; i < this.blocks.length; i++) heap.free(this.blocks[i]);
    this.blocks = [];
  }

  // ---- loading (load.ts) ----

  private linear(g: Gguf, base: usize, name: string): Linear {
    const t = g.byName.get(name);
    const lin = new Linear();
    lin.name = name.endsWith('.weight') ? name.slice(0, name.length - 7) : name;
    lin.type = t.type;
    lin.rows = t.rows;
    lin.cols = t.cols;
    const src = base + <usize>(g.dataOffset + t.offset);
    if (t.type == GGML_Q1_0) {
      lin.ptr = this.alloc(q1Bytes(lin.rows, lin.cols));
      q1PackRows(lin.ptr, lin.rows, lin.cols, 0, lin.rows, src);
      this.oneBit.set(lin.name, lin);
    } else {
      lin.ptr = this.alloc(<usize>t.nBytes);
      memory.copy(lin.ptr, src, <usize>t.nBytes);
    }
    return lin;
  }

  private norm(g: Gguf, base: usize, name: string): usize {
    const t = g.byName.get(name);
    const n = t.cols;
    const p = this.alloc(<usize>n * 4);
    const src = base + <usize>(g.dataOffset + t.offset);
    for (let i = 0; i < n; i++) {
      store<f32>(p + (<usize>i << 2), t.type == GGML_F32 ? load<f32>(src + (<usize>i << 2)) : f16ToF32(<u32>load<u16>(src + (<usize>i << 1))));
    }
    return p;
  }

  /** Loads the GGUF file at (base, len); null with the error recorded when it is malformed. */
  static load(base: usize, len: usize): Model | null {
    const g = readGguf(base, len, FILE);
    if (g === null) return null;
    const tok = tokenizerFromGguf(g, FILE);
    if (tok === null) return null;
    const c = readConfig(g);
    if (c === null) return null;
    if (!checkTensors(g, c)) return null;
    if (tok.vocabSize > c.vocabSize) {
      fail(`${FILE}: tokenizer.ggml.tokens has ${tok.vocabSize} tokens but token_embd.weight has ${c.vocabSize} rows. Fix: the tokenizer and the weights are from different models: export the model again`);
      return null;
    }
    const m = new Model();
    m.config = c;
    m.tokenizer = tok;
    m.nTensors = g.tensors.length;
    for (let i = 0; i < g.tensors.length; i++) {
      const t = g.tensors[i];
      const shape = new StaticArray<i32>(2);
      shape[0] = t.cols;
      shape[1] = t.rows;
      m.shapes.set(t.name.endsWith('.weight') ? t.name.slice(0, t.name.length - 7) : t.name, shape);
    }
    // runner sizes first: refuse a shape whose buffers cannot fit a 32-bit memory
    m.maxContext = <i32>min(512.0, c.contextLength);
    m.maxBatch = min(64, m.maxContext);
    const qDim = c.nHead * c.headDim, kvDim = c.nHeadKv * c.headDim;
    const widest = max(c.nEmbd, max(qDim, c.nFf));
    const B = <f64>m.maxBatch;
    const runnerBytes = 4 * (B * c.nEmbd + B * max(c.nEmbd, qDim) + B * qDim + 2 * B * kvDim + 2 * B * c.nFf + m.maxContext +
      2.0 * c.nLayer * m.maxContext * kvDim + B * c.vocabSize) + B * widest * 10;
    if (runnerBytes + <f64>len * 1.3 > 3.5e9) {
      fail(`${FILE}: this shape needs ${Math.round((runnerBytes + <f64>len * 1.3) / 1e6)} MB, more than a 32-bit WebAssembly memory holds.`);
      return null;
    }
    m.sha256 = sha256Hex(base, len);
    m.embd = m.linear(g, base, 'token_embd.weight');
    for (let l = 0; l < c.nLayer; l++) {
      const b = `blk.${l}.`;
      const L = new Layer();
      L.attnNorm = m.norm(g, base, b + 'attn_norm.weight');
      L.q = m.linear(g, base, b + 'attn_q.weight');
      L.k = m.linear(g, base, b + 'attn_k.weight');
      L.v = m.linear(g, base, b + 'attn_v.weight');
      L.qNorm = m.norm(g, base, b + 'attn_q_norm.weight');
      L.kNorm = m.norm(g, base, b + 'attn_k_norm.weight');
      L.o = m.linear(g, base, b + 'attn_output.weight');
      L.ffnNorm = m.norm(g, base, b + 'ffn_norm.weight');
      L.gate = m.linear(g, base, b + 'ffn_gate.weight');
      L.up = m.linear(g, base, b + 'ffn_up.weight');
      L.down = m.linear(g, base, b + 'ffn_down.weight');
      m.layers.push(L);
    }
    m.outputNorm = m.norm(g, base, 'output_norm.weight');
    m.output = c.tiedOutput ? m.embd : m.linear(g, base, 'output.weight');
    const f4 = (n: i32): usize => <usize>n * 4;
    m.x = m.alloc(f4(m.maxBatch * c.nEmbd));
    m.h = m.alloc(f4(m.maxBatch * max(c.nEmbd, qDim)));
    m.xq = m.alloc(q8Bytes(m.maxBatch, widest));
    m.q = m.alloc(f4(m.maxBatch * qDim));
    m.k = m.alloc(f4(m.maxBatch * kvDim));
    m.v = m.alloc(f4(m.maxBatch * kvDim));
    m.gate = m.alloc(f4(m.maxBatch * c.nFf));
    m.up = m.alloc(f4(m.maxBatch * c.nFf));
    m.attnScratch = m.alloc(f4(m.maxContext));
    m.kCache = m.alloc(<usize>c.nLayer * <usize>m.maxContext * <usize>kvDim * 4);
    m.vCache = m.alloc(<usize>c.nLayer * <usize>m.maxContext * <usize>kvDim * 4);
    m.logits = m.alloc(f4(m.maxBatch) * <usize>c.vocabSize);
    return m;
  }

  // ---- forward (qwen3.ts Qwen3Runner) ----

  /** Checks tokens for forward(); false with the error recorded. */
  checkTokens(tokens: StaticArray<i32>, what: string): bool {
    const n = tokens.length;
    if (n == 0) return fail(`${what}: no tokens`);
    if (n > this.maxContext) {
      return fail(`${what}: ${n} positions exceed this model's context of ${this.maxContext}; pass at most ${this.maxContext} tokens.`);
    }
    for (let i = 0; i < n; i++) {
      const t = tokens[i];
      if (t < 0 || t >= this.config.vocabSize) {
        return fail(`${what}: token ${<u32>t} at index ${i} is outside the vocabulary (0..${this.config.vocabSize - 1})`);
      }
    }
    return true;
  }

  /** Runs tokens[from, to) at the current position (one batch); logits of rows logitsFrom.. of the batch. */
  forwardBatch(tokens: StaticArray<i32>, from: i32, to: i32, logitsFrom: i32): void {
    const c = this.config;
    const n = to - from;
    for (let i = 0; i < n; i++) this.embedRow(tokens[from + i], this.x + <usize>i * <usize>c.nEmbd * 4);
    this.runLayers(n);
    this.pos += n;
    this.outputHead(n, logitsFrom);
  }

  private runLayers(n: i32): void {
    const c = this.config;
    const pos0 = this.pos;
    const qDim = c.nHead * c.headDim;
    const kvDim = c.nHeadKv * c.headDim;
    const eps = <f32>c.rmsEps;
    const freq = <f32>c.ropeFreqBase;
    const scale = <f32>(1 / Math.sqrt(<f64>c.headDim));
    for (let l = 0; l < c.nLayer; l++) {
      const lw = this.layers[l];
      rmsNorm(this.x, n, c.nEmbd, lw.attnNorm, eps, this.h);
      this.quantizeFor3(lw.q, lw.k, lw.v, this.h, n, c.nEmbd);
      this.matmul(lw.q, this.h, n, this.q);
      this.matmul(lw.k, this.h, n, this.k);
      this.matmul(lw.v, this.h, n, this.v);
      rmsNorm(this.q, n * c.nHead, c.headDim, lw.qNorm, eps, this.q);
      rmsNorm(this.k, n * c.nHeadKv, c.headDim, lw.kNorm, eps, this.k);
      ropeNeox(this.q, n, c.nHead, c.headDim, pos0, freq, c.ropeDim);
      ropeNeox(this.k, n, c.nHeadKv, c.headDim, pos0, freq, c.ropeDim);
      const kc = this.kCache + <usize>l * <usize>this.maxContext * <usize>kvDim * 4;
      const vc = this.vCache + <usize>l * <usize>this.maxContext * <usize>kvDim * 4;
      memory.copy(kc + <usize>pos0 * <usize>kvDim * 4, this.k, <usize>n * <usize>kvDim * 4);
      memory.copy(vc + <usize>pos0 * <usize>kvDim * 4, this.v, <usize>n * <usize>kvDim * 4);
      attention(this.q, kc, vc, n, pos0, c.nHead, c.nHeadKv, c.headDim, scale, this.h, this.attnScratch);
      this.quantizeFor3(lw.o, lw.o, lw.o, this.h, n, qDim);
      this.matmul(lw.o, this.h, n, this.q);
      add(this.x, this.q, n * c.nEmbd, this.x);
      rmsNorm(this.x, n, c.nEmbd, lw.ffnNorm, eps, this.h);
      this.quantizeFor3(lw.gate, lw.up, lw.up, this.h, n, c.nEmbd);
      this.matmul(lw.gate, this.h, n, this.gate);
      this.matmul(lw.up, this.h, n, this.up);
      siluMul(this.gate, this.up, n * c.nFf, this.gate);
      this.quantizeFor3(lw.down, lw.down, lw.down, this.gate, n, c.nFf);
      this.matmul(lw.down, this.gate, n, this.h);
      add(this.x, this.h, n * c.nEmbd, this.x);
    }
  }

  private outputHead(n: i32, logitsFrom: i32): void {
    const c = this.config;
    if (logitsFrom == n) return;
    const m = n - logitsFrom;
    const xs = this.x + <usize>logitsFrom * <usize>c.nEmbd * 4;
    rmsNorm(xs, m, c.nEmbd, this.outputNorm, <f32>c.rmsEps, this.h);
    this.quantizeFor3(this.output, this.output, this.output, this.h, m, c.nEmbd);
    this.matmul(this.output, this.h, m, this.logits);
  }

  private embedRow(t: i32, dst: usize): void {
    const c = this.config;
    const em = this.embd;
    if (em.type == GGML_Q1_0) q1DequantRow(em.ptr, em.rows, em.cols, t, dst);
    else if (em.type == GGML_F32) memory.copy(dst, em.ptr + <usize>t * <usize>c.nEmbd * 4, <usize>c.nEmbd * 4);
    else {
      const src = em.ptr + <usize>t * <usize>c.nEmbd * 2;
      for (let j = 0; j < c.nEmbd; j++) store<f32>(dst + (<usize>j << 2), f16ToF32(<u32>load<u16>(src + (<usize>j << 1))));
    }
  }

  private quantizeFor3(a: Linear, b: Linear, c: Linear, x: usize, n: i32, cols: i32): void {
    if (a.type == GGML_Q1_0 || b.type == GGML_Q1_0 || c.type == GGML_Q1_0) quantizeQ8(x, n, cols, this.xq);
  }

  private matmul(lin: Linear, x: usize, n: i32, y: usize): void {
    if (lin.type == GGML_Q1_0) matmulQ1(lin.ptr, lin.rows, lin.cols, this.xq, n, y, 0, lin.rows, 0, 0, 0, 0);
    else if (lin.type == GGML_F32) matmulF32(lin.ptr, lin.rows, lin.cols, x, n, y);
    else matmulF16(lin.ptr, lin.rows, lin.cols, x, n, y);
  }

  // ---- scoring and generation (scoring.ts) ----

  /** (n, vocab) natural-log softmax after each token into out (checked tokens). */
  logprobs(tokens: StaticArray<i32>, out: usize): void {
    const V = this.config.vocabSize;
    const n = tokens.length;
    this.pos = 0;
    for (let start = 0; start < n; start += this.maxBatch) {
      const end = min(n, start + this.maxBatch);
      this.forwardBatch(tokens, start, end, 0);
      for (let r = 0; r < end - start; r++) {
        logSoftmaxRow(this.logits + <usize>r * <usize>V * 4, V, out + <usize>(start + r) * <usize>V * 4);
      }
    }
  }

  /** Greedy tokens after `prompt` (Model.generate: stops at an end-of-generation token or after
   *  the token that contains a newline). null with the error recorded. */
  generate(prompt: string, maxTokens: u32): Array<i32> | null {
    const ids = this.tokenizer.encode(prompt);
    const out = new Array<i32>();
    if (ids.length > this.maxContext) {
      fail(`the prompt has ${ids.length} tokens but the context holds ${this.maxContext}. Fix: shorten the prompt`);
      return null;
    }
    if (ids.length == 0) {
      fail('generate: the prompt needs at least one token');
      return null;
    }
    const V = this.config.vocabSize;
    const prompt32 = StaticArray.fromArray(ids);
    this.pos = 0;
    const room = this.maxContext - ids.length;
    for (let start = 0; start < ids.length; start += this.maxBatch) {
      const end = min(ids.length, start + this.maxBatch);
      this.forwardBatch(prompt32, start, end, end == ids.length ? end - start - 1 : end - start);
    }
    let row = this.logits; // logits of the last position
    const one = new StaticArray<i32>(1);
    const limit = min(<i64>maxTokens, <i64>room + 1);
    const piece = new Array<u8>();
    let n: i64 = 0;
    while (n < limit) {
      const next = argmax(row, V);
      if (this.tokenizer.isEog(next)) break;
      out.push(next);
      n++;
      piece.length = 0;
      this.tokenizer.pieceBytes(next, piece);
      if (piece.includes(0x0a)) break;
      if (n >= <i64>maxTokens || this.pos >= this.maxContext) break;
      one[0] = next;
      this.forwardBatch(one, 0, 1, 0);
      row = this.logits;
    }
    return out;
  }
}

/** logits row -> row - logSumExp(row), with the portable exp/log in f64 (scoring.ts logSumExp). */
function logSoftmaxRow(row: usize, V: i32, out: usize): void {
  let mx: f64 = -Infinity;
  for (let j = 0; j < V; j++) {
    const v = <f64>f32At(row, j);
    if (v > mx) mx = v;
  }
  let sum: f64 = 0;
  for (let j = 0; j < V; j++) sum += pexp(<f64>f32At(row, j) - mx);
  const lse = mx + plog(sum);
  for (let j = 0; j < V; j++) store<f32>(out + (<usize>j << 2), <f32>(<f64>f32At(row, j) - lse));
}

function argmax(row: usize, V: i32): i32 {
  let best = 0;
  for (let j = 1; j < V; j++) if (f32At(row, j) > f32At(row, best)) best = j;
  return best;
}
