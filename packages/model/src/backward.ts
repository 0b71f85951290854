// ---------------------------------------------------------------------------------------------
// Qwen3 backward pass: d(objective)/d(activation) at every projection output, for first-order
// predictions of what a flip does (the search ranks every candidate by them).
//
// The forward is the engine's own (Qwen3Runner with a ForwardTape: the same activations, bit for
// bit, that an evaluation sees); the backward runs down to `fromLayer` in plain f64 arithmetic on
// f32 buffers, with the transposed products on the engine's SIMD matmulF32 over dequantized,
// transposed weights. Q8_0 rounding of matmul inputs is passed straight through.
//
//   output head:  dh = dlogits . Wout            dx = rmsBackward(x, output_norm, dh)
//   per layer, from the top:
//     x' = xMid + down(act)        d_down = dx;   d_act = d_down . Wd
//     act = silu(gate) * up        d_gate = d_act * up * silu'(gate);  d_up = d_act * silu(gate)
//     hFfn = rms(xMid) * ffn_norm  dxMid = dx + rmsBackward(xMid, ffn_norm, d_gate . Wg + d_up . Wu)
//     xMid = x + o(attn)           d_o = dxMid;   d_attn = d_o . Wo
//     attn = softmax(q k^T / sqrt(hd)) v        -> d_qRope, d_kRope, d_v (causal, GQA)
//     qRope = rope(rms_head(q) * q_norm)        -> d_q (RoPE transposed, per-head RMS backward); k alike
//     hAttn = rms(x) * attn_norm   dx = dxMid + rmsBackward(x, attn_norm, d_q . Wq + d_k . Wk + d_v . Wv)
//
// A flip negates one output channel of one projection (a row) or one group's partial sum of it,
// so with y the projection's output and g = d(objective)/dy, a row flip's first-order effect is
// sum over tokens of g * (-2 y): see ProjectionGradient and rowEffects / groupEffects.
//
// Only basic IEEE operations and the portable exp are used, so gradients are the same bits on
// Node, Deno and Bun.
// ---------------------------------------------------------------------------------------------

import type { Engine } from '@bankai/engine-wasm';
import { f16ToF32, Q1_0_BLOCK } from '@bankai/gguf';
import type { Qwen3Config } from './config.js';
import { exp } from './portable-math.js';
import { layoutRunner, Qwen3Runner, type Linear, type ModelWeights, type RunnerLayout, type TapePoint } from './qwen3.js';

/** The projections a backward pass reports, as in LayerWeights. */
export const BACKWARD_PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type BackwardProjection = (typeof BACKWARD_PROJECTIONS)[number];

/**
 * d(objective)/d(logits) at one position: the logits row after token `position` (it predicts
 * tokens[position + 1]); sparse (token ids with weights) or a dense (vocab) row.
 */
export type OutputSeed =
  | { position: number; tokens: readonly number[]; weights: readonly number[] }
  | { position: number; dense: Float32Array };

/** One projection's output, its gradient and its input, for the n tokens of a sequence. */
export interface ProjectionGradient {
  layer: number;
  proj: BackwardProjection;
  n: number;
  rows: number;
  cols: number;
  /** (n, rows) the projection's output as the forward computed it. */
  y: Float32Array;
  /** (n, rows) d(objective)/dy. */
  dy: Float32Array;
  /** (n, cols) the projection's input (before Q8_0 rounding). */
  x: Float32Array;
}

export interface BackwardOptions {
  /** Lowest layer the backward reaches (the first searched layer); default 0. */
  fromLayer?: number;
  /** Longest sequence (tokens) a call takes. */
  maxTokens: number;
  /** Most bytes of engine memory the transposed weights may take (default 2 GiB). */
  maxBytes?: number;
  /** Threads that each run a Qwen3Backward on this layout (slot 0..slots-1); default 1. */
  slots?: number;
}

export class BackwardError extends Error {
  override name = 'BackwardError';
}

/**
 * What a backward pass reads, laid out once by the owner of the engine memory (plain data: it
 * can be posted to worker threads, each of which runs a Qwen3Backward on its own slot).
 */
export interface BackwardLayout {
  fromLayer: number;
  maxTokens: number;
  /** Per projection of layers >= fromLayer: W^T dequantized, (cols, rows) f32. */
  transposed: { name: string; ptr: number }[];
  /** RoPE's cos / sin as the engine computes them: (maxTokens, ropeDim/2) each. */
  ropeCos: Float32Array;
  ropeSin: Float32Array;
  /** Per thread: a runner (scratch and KV cache for maxTokens), two (maxTokens, widest) f32 buffers, one (nEmbd) f32 row. */
  slots: { runner: RunnerLayout; dy: number; dx: number; row: number }[];
  /** The engine arena before this layout: releaseBackward() resets to it. */
  mark: number;
  /** Unique per layout made by this thread (a worker keeps its Qwen3Backward while the id stays the same). */
  id: number;
}

let layouts = 0;

const widestOf = (c: Qwen3Config) => Math.max(c.nEmbd, c.nHead * c.headDim, c.nFf);

/** Lays out the transposed weights of layers [fromLayer, nLayer) and `slots` scratch slots. */
export function layoutBackward(engine: Engine, weights: ModelWeights, opts: BackwardOptions): BackwardLayout {
  const c = weights.config;
  const fromLayer = opts.fromLayer ?? 0;
  const slots = opts.slots ?? 1;
  if (!(Number.isInteger(fromLayer) && fromLayer >= 0 && fromLayer < c.nLayer)) {
    throw new RangeError(`backward: fromLayer ${fromLayer} outside 0..${c.nLayer - 1}`);
  }
  if (!(Number.isInteger(opts.maxTokens) && opts.maxTokens >= 1 && opts.maxTokens <= c.contextLength)) {
    throw new RangeError(`backward: maxTokens ${opts.maxTokens} outside 1..${c.contextLength}`);
  }
  if (!(Number.isInteger(slots) && slots >= 1)) throw new RangeError(`backward: slots must be a positive integer, got ${slots}`);
  let bytes = 0;
  for (let l = fromLayer; l < c.nLayer; l++) for (const p of BACKWARD_PROJECTIONS) bytes += weights.layers[l]![p].rows * weights.layers[l]![p].cols * 4;
  const maxBytes = opts.maxBytes ?? 2 ** 31;
  if (bytes > maxBytes) {
    throw new BackwardError(
      `backward: layers ${fromLayer}..${c.nLayer - 1} need ${(bytes / 2 ** 30).toFixed(2)} GiB of transposed f32 weights, ` +
        `more than the ${(maxBytes / 2 ** 30).toFixed(2)} GiB allowed; search fewer (later) layers.`,
    );
  }
  const e = engine;
  const mark = e.mark();
  const maxTokens = opts.maxTokens;
  const transposed: BackwardLayout['transposed'] = [];
  for (let l = fromLayer; l < c.nLayer; l++) {
    for (const p of BACKWARD_PROJECTIONS) {
      const lin = weights.layers[l]![p];
      const t = { name: lin.name, ptr: e.alloc(lin.rows * lin.cols * 4) };
      transposed.push(t);
      fillTransposed(e, lin, t.ptr, 0, lin.rows);
    }
  }
  const widest = widestOf(c);
  const slotList = Array.from({ length: slots }, () => ({
    runner: layoutRunner(e, c, { maxBatch: maxTokens, maxContext: maxTokens }),
    dy: e.alloc(maxTokens * widest * 4),
    dx: e.alloc(maxTokens * widest * 4),
    row: e.alloc(c.nEmbd * 4),
  }));
  // RoPE's cos / sin exactly as the engine computes them: rotate (1, 0) pairs (in slot 0's scratch)
  const half = c.ropeDim / 2;
  const probe = slotList[0]!.dx;
  const v = e.f32(probe, maxTokens * c.headDim);
  v.fill(0);
  for (let t = 0; t < maxTokens; t++) for (let j = 0; j < half; j++) v[t * c.headDim + j] = 1;
  e.ropeNeox(probe, maxTokens, 1, c.headDim, 0, c.ropeFreqBase, c.ropeDim);
  const r = e.f32(probe, maxTokens * c.headDim);
  const ropeCos = new Float32Array(maxTokens * half);
  const ropeSin = new Float32Array(maxTokens * half);
  for (let t = 0; t < maxTokens; t++) {
    for (let j = 0; j < half; j++) {
      ropeCos[t * half + j] = r[t * c.headDim + j]!;
      ropeSin[t * half + j] = r[t * c.headDim + half + j]!;
    }
  }
  return { fromLayer, maxTokens, transposed, ropeCos, ropeSin, slots: slotList, mark, id: ++layouts };
}

/** Frees what layoutBackward laid out (and everything laid out after it). */
export function releaseBackward(engine: Engine, layout: BackwardLayout): void {
  engine.reset(layout.mark);
}

/**
 * The weights of `tensor` (e.g. `blk.3.ffn_gate`) changed in these rows (accepted flips):
 * refresh its transposed copy (owner thread, between backward passes). Tensors below fromLayer
 * are ignored; the output head must not change while a layout is in use.
 */
export function updateBackwardRows(engine: Engine, weights: ModelWeights, layout: BackwardLayout, tensor: string, rows: Iterable<number>): void {
  const t = layout.transposed.find((x) => x.name === tensor);
  if (!t) return;
  const lin = linearByName(weights, tensor);
  for (const r of rows) fillTransposed(engine, lin, t.ptr, r, r + 1);
}

function linearByName(weights: ModelWeights, name: string): Linear {
  for (const lw of weights.layers) for (const p of BACKWARD_PROJECTIONS) if (lw[p].name === name) return lw[p];
  throw new RangeError(`backward: no projection named ${name}`);
}

/** Rows [r0, r1) of `lin` dequantized into columns of its transposed copy at `ptr` (owner thread: allocates scratch). */
function fillTransposed(e: Engine, lin: Linear, ptr: number, r0: number, r1: number): void {
  const mark = e.mark();
  try {
    const tmp = e.alloc(lin.cols * 4);
    for (let r = r0; r < r1; r++) {
      const row = dequantRow(e, lin, r, tmp);
      const wt = e.f32(ptr, lin.rows * lin.cols);
      for (let j = 0; j < lin.cols; j++) wt[j * lin.rows + r] = row[j]!;
    }
  } finally {
    e.reset(mark);
  }
}

/** Row r of a linear as f32 (q1: dequantized into `tmp`, (cols) f32 of engine memory). */
function dequantRow(e: Engine, lin: Linear, r: number, tmp: number): Float32Array {
  if (lin.kind === 'q1') {
    e.q1DequantRow(lin.tensor, r, tmp);
    return e.f32(tmp, lin.cols);
  }
  if (lin.kind === 'f32') return e.f32(lin.ptr + r * lin.cols * 4, lin.cols);
  const h = e.u16(lin.ptr + r * lin.cols * 2, lin.cols);
  return Float32Array.from(h, (b) => f16ToF32(b));
}

/** Dequantized output-head rows kept between calls (floats): the whole head of small models. */
const HEAD_CACHE_FLOATS = 1 << 24;

/** A backward pass on one slot of a BackwardLayout: allocates nothing in engine memory. */
export class Qwen3Backward {
  readonly config: Qwen3Config;
  readonly fromLayer: number;
  readonly maxTokens: number;
  private readonly runner: Qwen3Runner;
  private readonly transposed = new Map<string, number>();
  private readonly tape = new Map<string, Float32Array>();
  private readonly slot: BackwardLayout['slots'][number];
  private readonly headRows = new Map<number, Float32Array>();

  constructor(
    readonly engine: Engine,
    readonly weights: ModelWeights,
    readonly layout: BackwardLayout,
    slot = 0,
  ) {
    const s = layout.slots[slot];
    if (!s) throw new RangeError(`backward: slot ${slot} outside the layout's ${layout.slots.length}`);
    this.slot = s;
    this.config = weights.config;
    this.fromLayer = layout.fromLayer;
    this.maxTokens = layout.maxTokens;
    this.runner = new Qwen3Runner(engine, weights, s.runner);
    for (const t of layout.transposed) this.transposed.set(t.name, t.ptr);
  }

  /**
   * Forward `tokens` (from position 0, with the tape on), then backward from the seeds that
   * `seeds` returns for the logits of rows logitsFrom..n-1 ((n - logitsFrom, vocab) f32), calling
   * `visit` for every projection of layers >= fromLayer, from the top layer down.
   */
  backward(
    tokens: readonly number[],
    logitsFrom: number,
    seeds: (logits: Float32Array) => OutputSeed[],
    visit: (g: ProjectionGradient) => void,
    /**
     * The tokens' residual stream at the input of `fromLayer` ((n, nEmbd) f32, e.g. an
     * evaluator's cache, captured on the current weights): the forward starts there instead of
     * at the embeddings (the same numbers: nothing below fromLayer enters a gradient).
     */
    residual?: number,
  ): void {
    const c = this.config;
    const n = tokens.length;
    if (n < 1 || n > this.maxTokens) throw new RangeError(`backward: ${n} tokens, this backward takes 1..${this.maxTokens}`);
    const E = c.nEmbd;
    const r = this.runner;
    r.rewind(0);
    this.tape.clear();
    r.setTape({
      fromLayer: this.fromLayer,
      record: (layer, point, ptr, len) => {
        this.tape.set(`${layer}.${point}`, this.engine.f32(ptr, len).slice());
      },
    });
    let logits: Float32Array;
    try {
      logits = (residual === undefined ? r.forward(tokens, logitsFrom) : r.forwardFromResidual(residual, n, this.fromLayer, logitsFrom)).slice();
    } finally {
      r.setTape(undefined);
      r.rewind(0);
    }
    // ---- output head ----
    const dx = new Float32Array(n * E);
    const xf = this.taped(c.nLayer, 'x');
    for (const s of seeds(logits)) {
      if (!(Number.isInteger(s.position) && s.position >= logitsFrom && s.position < n)) {
        throw new RangeError(`backward: seed position ${s.position} outside the logits rows ${logitsFrom}..${n - 1}`);
      }
      const dh = new Float64Array(E);
      const add = (v: number, wgt: number) => {
        if (wgt === 0) return;
        const row = this.headRow(v);
        for (let j = 0; j < E; j++) dh[j] += wgt * row[j]!;
      };
      if ('dense' in s) for (let v = 0; v < s.dense.length; v++) add(v, s.dense[v]!);
      else s.tokens.forEach((v, i) => add(v, s.weights[i]!));
      rmsBackwardRow(xf, s.position * E, E, this.f32Weights(this.weights.outputNorm, E), c.rmsEps, dh, dx);
    }
    // ---- layers, top down ----
    for (let l = c.nLayer - 1; l >= this.fromLayer; l--) this.layerBackward(l, n, dx, visit);
  }

  private layerBackward(l: number, n: number, dx: Float32Array, visit: (g: ProjectionGradient) => void): void {
    const c = this.config;
    const lw = this.weights.layers[l]!;
    const E = c.nEmbd;
    const F = c.nFf;
    const D = c.headDim;
    const qDim = c.nHead * D;
    const kvDim = c.nHeadKv * D;
    const t = (p: TapePoint) => this.taped(l, p);
    const report = (proj: BackwardProjection, dy: Float32Array, x: Float32Array) => {
      const lin = lw[proj];
      visit({ layer: l, proj, n, rows: lin.rows, cols: lin.cols, y: t(proj), dy, x });
    };
    // ---- feed-forward ----
    const dDown = dx.slice(0, n * E);
    report('down', dDown, t('act'));
    const dAct = this.matmulT(lw.down, dDown, n);
    const gate = t('gate');
    const up = t('up');
    const dGate = new Float32Array(n * F);
    const dUp = new Float32Array(n * F);
    for (let i = 0; i < n * F; i++) {
      const g = gate[i]!;
      const sig = 1 / (1 + exp(-g));
      dUp[i] = dAct[i]! * g * sig;
      dGate[i] = dAct[i]! * up[i]! * (sig + g * sig * (1 - sig));
    }
    const hFfn = t('hFfn');
    report('gate', dGate, hFfn);
    report('up', dUp, hFfn);
    const dhFfn = addArrays(this.matmulT(lw.gate, dGate, n), this.matmulT(lw.up, dUp, n));
    const xMid = t('xMid');
    const ffnNorm = this.f32Weights(lw.ffnNorm, E);
    for (let i = 0; i < n; i++) rmsBackwardRow(xMid, i * E, E, ffnNorm, c.rmsEps, f64Row(dhFfn, i * E, E), dx);
    // dx now holds d(xMid)
    // ---- attention ----
    const dO = dx.slice(0, n * E);
    report('o', dO, t('attn'));
    const dAttn = this.matmulT(lw.o, dO, n);
    const qr = t('qRope');
    const kr = t('kRope');
    const v = t('v');
    const dq = new Float32Array(n * qDim);
    const dk = new Float32Array(n * kvDim);
    const dv = new Float32Array(n * kvDim);
    attentionBackward(qr, kr, v, dAttn, n, c.nHead, c.nHeadKv, D, Math.fround(1 / Math.sqrt(D)), dq, dk, dv);
    this.ropeBackward(dq, n, c.nHead);
    this.ropeBackward(dk, n, c.nHeadKv);
    const qNorm = this.f32Weights(lw.qNorm, D);
    const kNorm = this.f32Weights(lw.kNorm, D);
    const q = t('q');
    const k = t('k');
    const dqRaw = new Float32Array(n * qDim);
    const dkRaw = new Float32Array(n * kvDim);
    for (let i = 0; i < n * c.nHead; i++) rmsBackwardRow(q, i * D, D, qNorm, c.rmsEps, f64Row(dq, i * D, D), dqRaw);
    for (let i = 0; i < n * c.nHeadKv; i++) rmsBackwardRow(k, i * D, D, kNorm, c.rmsEps, f64Row(dk, i * D, D), dkRaw);
    const hAttn = t('hAttn');
    report('q', dqRaw, hAttn);
    report('k', dkRaw, hAttn);
    report('v', dv, hAttn);
    const dhAttn = addArrays(addArrays(this.matmulT(lw.q, dqRaw, n), this.matmulT(lw.k, dkRaw, n)), this.matmulT(lw.v, dv, n));
    const x = t('x');
    const attnNorm = this.f32Weights(lw.attnNorm, E);
    for (let i = 0; i < n; i++) rmsBackwardRow(x, i * E, E, attnNorm, c.rmsEps, f64Row(dhAttn, i * E, E), dx);
  }

  /** In place: the transpose of NEOX RoPE at positions 0..n-1 on (n, nHeads, headDim). */
  private ropeBackward(d: Float32Array, n: number, nHeads: number): void {
    const c = this.config;
    const half = c.ropeDim / 2;
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < nHeads; h++) {
        const base = (t * nHeads + h) * c.headDim;
        for (let j = 0; j < half; j++) {
          const cs = this.layout.ropeCos[t * half + j]!;
          const sn = this.layout.ropeSin[t * half + j]!;
          const d0 = d[base + j]!;
          const d1 = d[base + half + j]!;
          d[base + j] = cs * d0 + sn * d1;
          d[base + half + j] = cs * d1 - sn * d0;
        }
      }
    }
  }

  /** dX (n, cols) = dY (n, rows) . W, on the engine's SIMD matmul over W^T. */
  private matmulT(lin: Linear, dy: Float32Array, n: number): Float32Array {
    const wt = this.transposed.get(lin.name)!;
    const e = this.engine;
    e.f32(this.slot.dy, n * lin.rows).set(dy);
    e.matmulF32(wt, lin.cols, lin.rows, this.slot.dy, n, this.slot.dx);
    return e.f32(this.slot.dx, n * lin.cols).slice();
  }

  /** Row r of a projection of layers >= fromLayer, dequantized (from the transposed copy). */
  weightRow(tensor: string, r: number): Float32Array {
    const wt = this.transposed.get(tensor);
    if (wt === undefined) throw new RangeError(`backward: ${tensor} is not a projection of layers ${this.fromLayer}..${this.config.nLayer - 1}`);
    const { rows, cols } = linearByName(this.weights, tensor);
    const w = this.engine.f32(wt, rows * cols);
    const out = new Float32Array(cols);
    for (let j = 0; j < cols; j++) out[j] = w[j * rows + r]!;
    return out;
  }

  /** Row v of the output head, dequantized into this slot's row buffer (cached up to HEAD_CACHE_FLOATS). */
  private headRow(v: number): Float32Array {
    let row = this.headRows.get(v);
    if (!row) {
      row = dequantRow(this.engine, this.weights.output, v, this.slot.row).slice();
      if (this.headRows.size * this.config.nEmbd < HEAD_CACHE_FLOATS) this.headRows.set(v, row);
    }
    return row;
  }

  private f32Weights(ptr: number, n: number): Float32Array {
    return this.engine.f32(ptr, n);
  }

  private taped(layer: number, point: TapePoint): Float32Array {
    const v = this.tape.get(`${layer}.${point}`);
    if (!v) throw new Error(`backward: the forward recorded no ${point} for layer ${layer}`);
    return v;
  }
}

// ---- plain pieces ------------------------------------------------------------------------------

function addArrays(a: Float32Array, b: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
  return a;
}

function f64Row(a: Float32Array, at: number, len: number): Float64Array {
  return Float64Array.from(a.subarray(at, at + len));
}

/**
 * y = x * r * w with r = 1/sqrt(mean(x^2) + eps), for one row of x at `at`: adds dL/dx to
 * dx[at..] given dy = dL/dy.  dx_i += r w_i dy_i - x_i r^3 / dim * sum_k w_k dy_k x_k
 */
function rmsBackwardRow(x: Float32Array, at: number, dim: number, w: Float32Array, eps: number, dy: Float64Array, dx: Float32Array): void {
  let ss = 0;
  for (let i = 0; i < dim; i++) ss += x[at + i]! * x[at + i]!;
  const r = 1 / Math.sqrt(ss / dim + eps);
  let dot = 0;
  for (let i = 0; i < dim; i++) dot += w[i]! * dy[i]! * x[at + i]!;
  const k = (r * r * r * dot) / dim;
  for (let i = 0; i < dim; i++) dx[at + i] = dx[at + i]! + r * w[i]! * dy[i]! - x[at + i]! * k;
}

/**
 * Causal GQA attention backward at positions 0..n-1. q (n, nHead, D), k / v (n, nKv, D), dOut
 * (n, nHead, D); adds into dq, dk, dv. Probabilities are recomputed with the portable exp.
 */
export function attentionBackward(
  q: Float32Array, k: Float32Array, v: Float32Array, dOut: Float32Array, n: number,
  nHead: number, nKv: number, D: number, scale: number,
  dq: Float32Array, dk: Float32Array, dv: Float32Array,
): void {
  const group = nHead / nKv;
  const p = new Float64Array(n);
  const dp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < nHead; h++) {
      const qi = (i * nHead + h) * D;
      const kvh = Math.floor(h / group) * D;
      let m = -Infinity;
      for (let j = 0; j <= i; j++) {
        const kj = j * nKv * D + kvh;
        let s = 0;
        for (let d = 0; d < D; d++) s += q[qi + d]! * k[kj + d]!;
        p[j] = s * scale;
        if (p[j]! > m) m = p[j]!;
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) {
        p[j] = exp(p[j]! - m);
        sum += p[j]!;
      }
      let pdp = 0;
      for (let j = 0; j <= i; j++) {
        p[j] = p[j]! / sum;
        const vj = j * nKv * D + kvh;
        let s = 0;
        for (let d = 0; d < D; d++) s += dOut[qi + d]! * v[vj + d]!;
        dp[j] = s;
        pdp += p[j]! * s;
      }
      for (let j = 0; j <= i; j++) {
        const kj = j * nKv * D + kvh;
        const ds = p[j]! * (dp[j]! - pdp) * scale;
        for (let d = 0; d < D; d++) {
          dv[kj + d] = dv[kj + d]! + p[j]! * dOut[qi + d]!;
          dq[qi + d] = dq[qi + d]! + ds * k[kj + d]!;
          dk[kj + d] = dk[kj + d]! + ds * q[qi + d]!;
        }
      }
    }
  }
}

/** First-order effect of negating each output channel (row) of a projection: sum_t dy * (-2 y). */
export function rowEffects(g: ProjectionGradient, out: Float64Array = new Float64Array(g.rows), sign = 1): Float64Array {
  for (let t = 0; t < g.n; t++) {
    const o = t * g.rows;
    for (let r = 0; r < g.rows; r++) out[r] = out[r]! - sign * 2 * g.dy[o + r]! * g.y[o + r]!;
  }
  return out;
}

/**
 * First-order effect of negating one 128-weight group of a row: flipping (r, gi) changes
 * y[t, r] by -2 * sum over the group's columns of W[r, j] x[t, j]. `rowWeights(r)` gives row r
 * dequantized. out: (rows, groups).
 */
export function groupEffects(
  g: ProjectionGradient,
  rowWeights: (r: number) => Float32Array,
  out: Float64Array = new Float64Array(g.rows * (g.cols / Q1_0_BLOCK)),
  sign = 1,
): Float64Array {
  const groups = g.cols / Q1_0_BLOCK;
  for (let r = 0; r < g.rows; r++) {
    const w = rowWeights(r);
    for (let t = 0; t < g.n; t++) {
      const a = g.dy[t * g.rows + r]!;
      if (a === 0) continue;
      const xo = t * g.cols;
      for (let gi = 0; gi < groups; gi++) {
        let s = 0;
        for (let j = gi * Q1_0_BLOCK; j < (gi + 1) * Q1_0_BLOCK; j++) s += w[j]! * g.x[xo + j]!;
        out[r * groups + gi] = out[r * groups + gi]! - sign * 2 * a * s;
      }
    }
  }
  return out;
}
