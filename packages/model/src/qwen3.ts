// ---------------------------------------------------------------------------------------------
// Qwen3 forward pass on the Bankai engine: one file, top to bottom.
//
//   x = embd[tokens]
//   per layer:  h = rms(x)*attn_norm;  q,k,v = Wq h, Wk h, Wv h;  q,k = rms_head(q,k)*norms;
//               rope(q,k);  x += Wo attn(q, K, V);  h = rms(x)*ffn_norm;  x += Wd (silu(Wg h) * Wu h)
//   logits = Wout rms(x)*output_norm          (Wout = token_embd when the output is tied)
//
// Weights live once in the engine's shared memory (`ModelWeights`: plain data, can be posted to
// worker threads). Each thread owns a `Qwen3Runner`: its scratch buffers and KV cache, laid out
// by the host. 1-bit matmuls quantize their input to Q8_0 first, as llama.cpp's CPU path does.
// ---------------------------------------------------------------------------------------------

import type { Engine, FlipSet, Q1Tensor } from '@bankai/engine-wasm';
import { f16ToF32, type Qwen3BlockKey } from '@bankai/gguf';
import type { Qwen3Config } from './config.js';

type Ptr = number;

/** A weight matrix y = x W^T with W (rows, cols): 1-bit in the engine's layout, or dense GGUF bytes. */
export type Linear =
  | { name: string; kind: 'q1'; rows: number; cols: number; tensor: Q1Tensor }
  | { name: string; kind: 'f32' | 'f16'; rows: number; cols: number; ptr: Ptr };

/** One block's weights, a field per tensor of the Qwen3 plan (@bankai/gguf QWEN3_BLOCK_TENSORS). */
export interface LayerWeights extends Record<Qwen3BlockKey, Linear | Ptr> {
  attnNorm: Ptr; // (nEmbd) f32
  q: Linear; // (nHead*headDim, nEmbd)
  k: Linear; // (nHeadKv*headDim, nEmbd)
  v: Linear; // (nHeadKv*headDim, nEmbd)
  qNorm: Ptr; // (headDim) f32
  kNorm: Ptr; // (headDim) f32
  o: Linear; // (nEmbd, nHead*headDim)
  ffnNorm: Ptr; // (nEmbd) f32
  gate: Linear; // (nFf, nEmbd)
  up: Linear; // (nFf, nEmbd)
  down: Linear; // (nEmbd, nFf)
}

export interface ModelWeights {
  config: Qwen3Config;
  embd: Linear; // (vocab, nEmbd)
  layers: LayerWeights[];
  outputNorm: Ptr; // (nEmbd) f32
  output: Linear; // (vocab, nEmbd): token_embd itself when tied
}

/** Scratch and KV cache of one runner (plain data: a worker rebuilds its runner from it). */
export interface RunnerLayout {
  maxBatch: number; // tokens per forward call
  maxContext: number; // KV cache positions
  x: Ptr; // (maxBatch, nEmbd) f32 residual stream
  h: Ptr; // (maxBatch, max(nEmbd, qDim)) f32 normed input / attention output
  xq: Ptr; // Q8_0 activations of (maxBatch, max(nEmbd, qDim, nFf))
  q: Ptr; // (maxBatch, qDim) f32
  k: Ptr; // (maxBatch, kvDim) f32
  v: Ptr; // (maxBatch, kvDim) f32
  gate: Ptr; // (maxBatch, nFf) f32
  up: Ptr; // (maxBatch, nFf) f32
  attnScratch: Ptr; // (maxContext) f32
  kCache: Ptr; // (nLayer, maxContext, kvDim) f32
  vCache: Ptr; // (nLayer, maxContext, kvDim) f32
  logits: Ptr; // (maxBatch, vocab) f32
}

/** Virtual flips per tensor name (`blk.3.ffn_gate`), evaluated without touching weights. */
export type VirtualFlips = ReadonlyMap<string, FlipSet>;

/**
 * A layer's feed-forward input for n tokens, what a candidate that changes only that layer's
 * MLP (and layers above) starts from: the residual stream after the layer's attention (xMid,
 * (n, nEmbd) f32) and the input of its ffn_down, silu(gate) * up (act, (n, nFf) f32).
 */
export interface MlpStage {
  xMid: Ptr;
  act: Ptr;
}

/** A stop of captureResiduals: the residual at the input of `layer` to `dst`, or that layer's MLP stage. */
export type CaptureStop = { layer: number; dst: Ptr } | { layer: number; mlp: MlpStage };

/** The rows a flip set touches (whole-row flips and the rows of group flips), ascending, without repeats. */
function flippedRows(e: Engine, f: FlipSet | undefined): number[] {
  if (!f) return [];
  const rows = new Set<number>(e.i32(f.rowsPtr, f.nRows));
  const pairs = e.i32(f.pairsPtr, f.nPairs * 2);
  for (let i = 0; i < f.nPairs; i++) rows.add(pairs[2 * i]!);
  return [...rows].sort((a, b) => a - b);
}

/**
 * What a forward pass can record for a backward pass (see backward.ts), per layer, for the n
 * tokens of a batch; each a (n, width) f32 buffer in engine memory, valid only during the call.
 */
export type TapePoint =
  | 'x' //        (n, nEmbd) residual stream at the layer's input
  | 'q' | 'k' | 'v' //  (n, qDim | kvDim) projection outputs, before the Q/K norms
  | 'qRope' | 'kRope' // (n, qDim | kvDim) after the Q/K norms and RoPE (what attention reads)
  | 'attn' //     (n, qDim) attention output, the input of attn_output
  | 'o' //        (n, nEmbd) attn_output's output
  | 'xMid' //     (n, nEmbd) residual stream after attention
  | 'hFfn' //     (n, nEmbd) normed input of ffn_gate / ffn_up
  | 'gate' | 'up' // (n, nFf) projection outputs
  | 'act' //      (n, nFf) silu(gate) * up, the input of ffn_down
  | 'down' //     (n, nEmbd) ffn_down's output
  | 'hAttn'; //   (n, nEmbd) normed input of attn_q/k/v

/** Receives tape points of layers >= `fromLayer` (and the final residual as layer nLayer, point 'x'). */
export interface ForwardTape {
  fromLayer: number;
  record(layer: number, point: TapePoint, ptr: Ptr, len: number): void;
}

/** Bytes of each buffer of a RunnerLayout (what layoutRunner allocates), for sizing a run before it starts. */
export function runnerBufferBytes(
  c: Qwen3Config,
  q8Bytes: (n: number, cols: number) => number,
  opts: { maxBatch?: number; maxContext?: number } = {},
): Omit<RunnerLayout, 'maxBatch' | 'maxContext'> & { maxBatch: number; maxContext: number } {
  const maxContext = Math.min(opts.maxContext ?? 512, c.contextLength);
  const maxBatch = Math.min(opts.maxBatch ?? 64, maxContext);
  const qDim = c.nHead * c.headDim;
  const kvDim = c.nHeadKv * c.headDim;
  const widest = Math.max(c.nEmbd, qDim, c.nFf);
  return {
    maxBatch,
    maxContext,
    x: maxBatch * c.nEmbd * 4,
    h: maxBatch * Math.max(c.nEmbd, qDim) * 4,
    xq: q8Bytes(maxBatch, widest),
    q: maxBatch * qDim * 4,
    k: maxBatch * kvDim * 4,
    v: maxBatch * kvDim * 4,
    gate: maxBatch * c.nFf * 4,
    up: maxBatch * c.nFf * 4,
    attnScratch: maxContext * 4,
    kCache: c.nLayer * maxContext * kvDim * 4,
    vCache: c.nLayer * maxContext * kvDim * 4,
    logits: maxBatch * c.vocabSize * 4,
  };
}

/** Engine bytes layoutRunner takes for these options (each buffer 64-byte aligned). */
export function runnerBytes(c: Qwen3Config, q8Bytes: (n: number, cols: number) => number, opts: { maxBatch?: number; maxContext?: number } = {}): number {
  const { maxBatch: _b, maxContext: _c, ...buffers } = runnerBufferBytes(c, q8Bytes, opts);
  return Object.values(buffers).reduce((sum, b) => sum + Math.ceil(b / 64) * 64, 0);
}

export function layoutRunner(
  engine: Engine,
  c: Qwen3Config,
  opts: { maxBatch?: number; maxContext?: number } = {},
): RunnerLayout {
  const { maxBatch, maxContext, ...bytes } = runnerBufferBytes(c, (n, cols) => engine.q8Bytes(n, cols), opts);
  const a = (b: number) => engine.alloc(b);
  return {
    maxBatch,
    maxContext,
    x: a(bytes.x),
    h: a(bytes.h),
    xq: a(bytes.xq),
    q: a(bytes.q),
    k: a(bytes.k),
    v: a(bytes.v),
    gate: a(bytes.gate),
    up: a(bytes.up),
    attnScratch: a(bytes.attnScratch),
    kCache: a(bytes.kCache),
    vCache: a(bytes.vCache),
    logits: a(bytes.logits),
  };
}

export class Qwen3Runner {
  readonly config: Qwen3Config;
  /** Positions already in the KV cache. */
  pos = 0;
  private flips: VirtualFlips = new Map();
  private tape: ForwardTape | undefined;

  constructor(
    readonly engine: Engine,
    readonly weights: ModelWeights,
    readonly layout: RunnerLayout,
  ) {
    this.config = weights.config;
  }

  /** Forget the KV cache (or keep its first `pos` positions, e.g. a shared prompt prefix). */
  rewind(pos = 0): void {
    if (pos < 0 || pos > this.pos) throw new RangeError(`rewind(${pos}): cache holds ${this.pos} positions`);
    this.pos = pos;
  }

  /** Evaluate with these flips applied virtually (an empty map: the weights as they are). */
  setVirtualFlips(flips: VirtualFlips): void {
    this.flips = flips;
  }

  /** Record activations for a backward pass (undefined: stop recording). */
  setTape(tape: ForwardTape | undefined): void {
    this.tape = tape;
  }

  /**
   * Append `tokens` at the current position and run them through the model. Returns the logits
   * of tokens[logitsFrom..] ((n - logitsFrom, vocab) f32; default all of them; `n - 1`: only the
   * last; `n`: none, which skips the output head). The view is valid until the next call.
   */
  forward(tokens: ArrayLike<number>, logitsFrom = 0): Float32Array {
    const c = this.config;
    const n = tokens.length;
    if (n === 0) throw new RangeError('forward: no tokens');
    if (!(logitsFrom >= 0 && logitsFrom <= n)) throw new RangeError(`forward: logitsFrom ${logitsFrom} outside 0..${n}`);
    if (this.pos + n > this.layout.maxContext) {
      throw new RangeError(
        `forward: ${this.pos + n} positions exceed this runner's context of ${this.layout.maxContext}; ` +
          `create the model with a larger maxContext (the file allows ${c.contextLength}).`,
      );
    }
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize) {
        throw new RangeError(`forward: token ${t} at index ${i} is outside the vocabulary (0..${c.vocabSize - 1})`);
      }
    }
    const B = this.layout.maxBatch;
    if (n <= B) return this.forwardBatch(Array.from(tokens), logitsFrom);
    const out = new Float32Array((n - logitsFrom) * c.vocabSize);
    for (let start = 0; start < n; start += B) {
      const chunk = Array.prototype.slice.call(tokens, start, Math.min(n, start + B)) as number[];
      const from = Math.min(Math.max(logitsFrom - start, 0), chunk.length);
      const logits = this.forwardBatch(chunk, from);
      if (from < chunk.length) out.set(logits, (start + from - logitsFrom) * c.vocabSize);
    }
    return out;
  }

  private forwardBatch(tokens: number[], logitsFrom: number): Float32Array {
    const { config: c, layout: L } = this;
    // x = embd[tokens]                                             x: (n, nEmbd)
    for (let i = 0; i < tokens.length; i++) this.embedRow(tokens[i]!, L.x + i * c.nEmbd * 4);
    this.runLayers(tokens.length, 0, c.nLayer);
    this.pos += tokens.length;
    return this.outputHead(tokens.length, logitsFrom);
  }

  // ---- incremental evaluation: a flip in layer L changes nothing before L ----------------------

  /**
   * From an empty cache, run `tokens` through layers [0, layer) and copy the residual stream at
   * the input of `layer` to `dst` ((n, nEmbd) f32). The cache is left empty.
   */
  captureResidual(tokens: readonly number[], layer: number, dst: Ptr): void {
    const { engine: e, config: c, layout: L } = this;
    const n = tokens.length;
    this.checkIncremental(n, layer);
    this.rewind(0);
    for (let i = 0; i < n; i++) this.embedRow(tokens[i]!, L.x + i * c.nEmbd * 4);
    this.runLayers(n, 0, layer);
    e.f32(dst, n * c.nEmbd).set(e.f32(L.x, n * c.nEmbd));
  }

  /**
   * The residual streams at the inputs of several layers in one pass, for n tokens at positions
   * pos0..pos0+n-1: from `src` ((n, nEmbd) f32, the residual at the input of layer `from`; or,
   * with `src` undefined and `from` 0, the embeddings of `tokens`), run up to each stop's layer
   * (ascending, all >= `from`) and copy the residual there to its `dst`. With pos0 > 0 the KV
   * cache must hold positions [0, pos0) of layers `from` and up from an earlier call (a shared
   * prompt). The same float operations as one forward pass, so each copy equals
   * captureResidual(tokens, stop.layer) bit for bit. The KV cache then holds [0, pos0 + n).
   */
  captureResiduals(tokens: readonly number[], from: number, src: Ptr | undefined, stops: readonly CaptureStop[], pos0 = 0): void {
    const { engine: e, config: c, layout: L } = this;
    const n = tokens.length;
    this.checkIncremental(n, from);
    if (!(Number.isInteger(pos0) && pos0 >= 0 && pos0 + n <= L.maxContext)) {
      throw new RangeError(`captureResiduals: positions ${pos0}..${pos0 + n - 1} exceed the context of ${L.maxContext}`);
    }
    this.pos = pos0;
    if (src === undefined) {
      if (from !== 0) throw new RangeError(`captureResiduals: no residual given for layer ${from}`);
      for (let i = 0; i < n; i++) this.embedRow(tokens[i]!, L.x + i * c.nEmbd * 4);
    } else e.f32(L.x, n * c.nEmbd).set(e.f32(src, n * c.nEmbd));
    let at = from;
    for (const s of stops) {
      this.checkIncremental(n, s.layer);
      if (s.layer < at) throw new RangeError(`captureResiduals: stops must ascend from layer ${from}, got ${s.layer} after ${at}`);
      this.runLayers(n, at, s.layer);
      at = s.layer;
      if (!('mlp' in s)) {
        e.f32(s.dst, n * c.nEmbd).set(e.f32(L.x, n * c.nEmbd));
        continue;
      }
      // run the stop's layer itself, recording its MLP stage on the way
      if (s.layer >= c.nLayer) throw new RangeError(`captureResiduals: no layer ${s.layer} to record an MLP stage of`);
      const saved = this.tape;
      const { xMid, act } = s.mlp;
      this.tape = {
        fromLayer: s.layer,
        record: (l, point, ptr, len) => {
          if (l !== s.layer) return;
          if (point === 'xMid') e.f32(xMid, len).set(e.f32(ptr, len));
          else if (point === 'act') e.f32(act, len).set(e.f32(ptr, len));
        },
      };
      try {
        this.runLayers(n, s.layer, s.layer + 1);
      } finally {
        this.tape = saved;
      }
      at = s.layer + 1;
    }
    this.pos = pos0 + n;
  }

  /**
   * forwardFromResidual from the feed-forward half of `layer`: `stage` holds the layer's MLP
   * stage for these n tokens (captured by captureResiduals with the weights as they are, no
   * virtual flips). The virtual flips may touch this layer's ffn_gate / ffn_up / ffn_down and any
   * layer above, never its attention: only the flipped rows of gate and up are recomputed (the
   * other rows of silu(gate) * up come from the stage), then ffn_down and the layers above run
   * as usual. The same float operations, so the logits equal forwardFromResidual from the
   * layer's input residual bit for bit; the layer's own KV cache is left untouched (nothing
   * above it reads it).
   */
  forwardFromMlp(stage: MlpStage, n: number, layer: number, logitsFrom: number, pos0 = 0): Float32Array {
    const { engine: e, config: c, layout: L } = this;
    this.checkIncremental(n, layer);
    if (layer >= c.nLayer) throw new RangeError(`forwardFromMlp: layer ${layer} outside 0..${c.nLayer - 1}`);
    this.rewind(pos0);
    if (pos0 + n > L.maxContext) throw new RangeError(`forwardFromMlp: positions ${pos0}..${pos0 + n - 1} exceed the context of ${L.maxContext}`);
    const lw = this.weights.layers[layer]!;
    for (const lin of [lw.q, lw.k, lw.v, lw.o]) {
      if (this.flips.has(lin.name)) throw new RangeError(`forwardFromMlp: ${lin.name} has virtual flips; evaluate from the layer's input residual`);
    }
    e.f32(L.x, n * c.nEmbd).set(e.f32(stage.xMid, n * c.nEmbd));
    e.f32(L.gate, n * c.nFf).set(e.f32(stage.act, n * c.nFf));
    const gateFlips = this.flips.get(lw.gate.name);
    const upFlips = this.flips.get(lw.up.name);
    const rows = [...new Set([...flippedRows(e, gateFlips), ...flippedRows(e, upFlips)])];
    if (rows.length > 0) {
      if (lw.gate.kind !== 'q1' || lw.up.kind !== 'q1') throw new RangeError(`forwardFromMlp: ${lw.gate.name} and ${lw.up.name} must be 1-bit`);
      e.rmsNorm(L.x, n, c.nEmbd, lw.ffnNorm, c.rmsEps, L.h);
      this.quantizeFor([lw.gate, lw.up], L.h, n, c.nEmbd);
      const g = L.attnScratch; // (n) f32: one row's gate outputs (maxBatch <= maxContext)
      for (const r of rows) {
        // act[t, r] = silu(gate[t, r]) * up[t, r] with this candidate's flips, as siluMul computes it
        e.matmulQ1(lw.gate.tensor, L.xq, n, L.up, gateFlips, r, r + 1);
        const up = e.f32(L.up, n * c.nFf);
        const gr = e.f32(g, n);
        for (let t = 0; t < n; t++) gr[t] = up[t * c.nFf + r]!;
        e.matmulQ1(lw.up.tensor, L.xq, n, L.up, upFlips, r, r + 1);
        for (let t = 0; t < n; t++) e.siluMul(g + t * 4, L.up + (t * c.nFf + r) * 4, 1, L.gate + (t * c.nFf + r) * 4);
      }
    }
    this.quantizeFor([lw.down], L.gate, n, c.nFf);
    this.matmul(lw.down, L.gate, n, L.h);
    e.add(L.x, L.h, n * c.nEmbd, L.x);
    this.runLayers(n, layer + 1, c.nLayer);
    this.pos = pos0 + n;
    return this.outputHead(n, logitsFrom);
  }

  /**
   * Evaluate n tokens at positions pos0..pos0+n-1 whose residual stream at the input of `layer`
   * was captured in `src` ((n, nEmbd) f32): layers [layer, nLayer) and the output head for
   * tokens logitsFrom..n-1. The cache keeps positions [0, pos0) of earlier calls (a shared
   * prompt); layers below `layer` are never run. Equals forward(tokens, logitsFrom) exactly when
   * nothing before `layer` changed.
   */
  forwardFromResidual(src: Ptr, n: number, layer: number, logitsFrom: number, pos0 = 0): Float32Array {
    const { engine: e, config: c, layout: L } = this;
    this.checkIncremental(n, layer);
    this.rewind(pos0);
    if (pos0 + n > L.maxContext) throw new RangeError(`forwardFromResidual: positions ${pos0}..${pos0 + n - 1} exceed the context of ${L.maxContext}`);
    e.f32(L.x, n * c.nEmbd).set(e.f32(src, n * c.nEmbd));
    this.runLayers(n, layer, c.nLayer);
    this.pos = pos0 + n;
    return this.outputHead(n, logitsFrom);
  }

  private checkIncremental(n: number, layer: number): void {
    if (!(Number.isInteger(layer) && layer >= 0 && layer <= this.config.nLayer)) {
      throw new RangeError(`layer ${layer} outside 0..${this.config.nLayer}`);
    }
    if (n < 1 || n > this.layout.maxBatch) throw new RangeError(`${n} tokens: incremental evaluation takes 1..${this.layout.maxBatch} tokens (one batch)`);
  }

  /** Layers [l0, l1) over the n tokens in x at positions pos..pos+n-1. */
  private runLayers(n: number, l0: number, l1: number): void {
    const { engine: e, config: c, layout: L, weights: w } = this;
    const pos0 = this.pos;
    const qDim = c.nHead * c.headDim;
    const kvDim = c.nHeadKv * c.headDim;
    for (let l = l0; l < l1; l++) {
      const lw = w.layers[l]!;
      const tape = this.tape && l >= this.tape.fromLayer ? this.tape : undefined;
      // ---- attention ----
      tape?.record(l, 'x', L.x, n * c.nEmbd);
      e.rmsNorm(L.x, n, c.nEmbd, lw.attnNorm, c.rmsEps, L.h);
      tape?.record(l, 'hAttn', L.h, n * c.nEmbd);
      this.quantizeFor([lw.q, lw.k, lw.v], L.h, n, c.nEmbd);
      this.matmul(lw.q, L.h, n, L.q); //                              q: (n, nHead, headDim)
      this.matmul(lw.k, L.h, n, L.k); //                              k: (n, nHeadKv, headDim)
      this.matmul(lw.v, L.h, n, L.v); //                              v: (n, nHeadKv, headDim)
      tape?.record(l, 'q', L.q, n * qDim);
      tape?.record(l, 'k', L.k, n * kvDim);
      tape?.record(l, 'v', L.v, n * kvDim);
      e.rmsNorm(L.q, n * c.nHead, c.headDim, lw.qNorm, c.rmsEps, L.q);
      e.rmsNorm(L.k, n * c.nHeadKv, c.headDim, lw.kNorm, c.rmsEps, L.k);
      e.ropeNeox(L.q, n, c.nHead, c.headDim, pos0, c.ropeFreqBase, c.ropeDim);
      e.ropeNeox(L.k, n, c.nHeadKv, c.headDim, pos0, c.ropeFreqBase, c.ropeDim);
      tape?.record(l, 'qRope', L.q, n * qDim);
      tape?.record(l, 'kRope', L.k, n * kvDim);
      // append k, v to this layer's cache                          cache: (maxContext, kvDim)
      const kc = L.kCache + l * L.maxContext * kvDim * 4;
      const vc = L.vCache + l * L.maxContext * kvDim * 4;
      e.f32(kc + pos0 * kvDim * 4, n * kvDim).set(e.f32(L.k, n * kvDim));
      e.f32(vc + pos0 * kvDim * 4, n * kvDim).set(e.f32(L.v, n * kvDim));
      e.attention(L.q, kc, vc, n, pos0, c.nHead, c.nHeadKv, c.headDim, 1 / Math.sqrt(c.headDim), L.h, L.attnScratch);
      tape?.record(l, 'attn', L.h, n * qDim);
      this.quantizeFor([lw.o], L.h, n, qDim);
      this.matmul(lw.o, L.h, n, L.q); //                              (n, nEmbd) into q's buffer
      tape?.record(l, 'o', L.q, n * c.nEmbd);
      e.add(L.x, L.q, n * c.nEmbd, L.x);
      tape?.record(l, 'xMid', L.x, n * c.nEmbd);
      // ---- feed-forward (SwiGLU) ----
      e.rmsNorm(L.x, n, c.nEmbd, lw.ffnNorm, c.rmsEps, L.h);
      tape?.record(l, 'hFfn', L.h, n * c.nEmbd);
      this.quantizeFor([lw.gate, lw.up], L.h, n, c.nEmbd);
      this.matmul(lw.gate, L.h, n, L.gate); //                        (n, nFf)
      this.matmul(lw.up, L.h, n, L.up); //                            (n, nFf)
      tape?.record(l, 'gate', L.gate, n * c.nFf);
      tape?.record(l, 'up', L.up, n * c.nFf);
      e.siluMul(L.gate, L.up, n * c.nFf, L.gate);
      tape?.record(l, 'act', L.gate, n * c.nFf);
      this.quantizeFor([lw.down], L.gate, n, c.nFf);
      this.matmul(lw.down, L.gate, n, L.h); //                        (n, nEmbd)
      tape?.record(l, 'down', L.h, n * c.nEmbd);
      e.add(L.x, L.h, n * c.nEmbd, L.x);
    }
    if (this.tape && l1 === c.nLayer) this.tape.record(c.nLayer, 'x', L.x, n * c.nEmbd);
  }

  /** logits = Wout rms(x) * output_norm for tokens logitsFrom..n-1 of the batch in x. */
  private outputHead(n: number, logitsFrom: number): Float32Array {
    const { engine: e, config: c, layout: L, weights: w } = this;
    if (logitsFrom === n) return new Float32Array(0);
    const m = n - logitsFrom; //                                     logits: (m, vocab)
    const xs = L.x + logitsFrom * c.nEmbd * 4;
    e.rmsNorm(xs, m, c.nEmbd, w.outputNorm, c.rmsEps, L.h);
    this.quantizeFor([w.output], L.h, m, c.nEmbd);
    this.matmul(w.output, L.h, m, L.logits);
    return e.f32(L.logits, m * c.vocabSize);
  }

  /** Write token `t`'s embedding row, dequantized to f32, at `dst`. */
  private embedRow(t: number, dst: Ptr): void {
    const { engine: e, config: c } = this;
    const em = this.weights.embd;
    if (em.kind === 'q1') e.q1DequantRow(em.tensor, t, dst);
    else if (em.kind === 'f32') e.f32(dst, c.nEmbd).set(e.f32(em.ptr + t * c.nEmbd * 4, c.nEmbd));
    else {
      const src = e.u16(em.ptr + t * c.nEmbd * 2, c.nEmbd);
      const out = e.f32(dst, c.nEmbd);
      for (let j = 0; j < c.nEmbd; j++) out[j] = f16ToF32(src[j]!);
    }
  }

  /** 1-bit matmuls read Q8_0 activations: quantize `x` once for all the linears that share it. */
  private quantizeFor(lins: Linear[], x: Ptr, n: number, cols: number): void {
    if (lins.some((lin) => lin.kind === 'q1')) this.engine.quantizeQ8(x, n, cols, this.layout.xq);
  }

  private matmul(lin: Linear, x: Ptr, n: number, y: Ptr): void {
    const e = this.engine;
    if (lin.kind === 'q1') e.matmulQ1(lin.tensor, this.layout.xq, n, y, this.flips.get(lin.name));
    else if (lin.kind === 'f32') e.matmulF32(lin.ptr, lin.rows, lin.cols, x, n, y);
    else e.matmulF16(lin.ptr, lin.rows, lin.cols, x, n, y);
  }
}
