// A search's time and memory before it runs (`bankai search --dry-run`): the work the evaluator
// will do is counted from the model's shape (GGUF header only), the probes' token counts, the
// searched layers and the residual caches exactly as runSearch lays them out; the seconds per unit
// of work come from a short measurement of the engine on this machine (calibrateEngine: one
// random layer of the model's shape and a slice of its output head), not from constants.

import { createEngine, type Engine, type Q1Tensor } from '@bankai/engine-wasm';
import {
  QWEN3_BLOCK_TENSORS, QWEN3_OUTPUT, QWEN3_PROJECTIONS, QWEN3_TOKEN_EMBD, qwen3BlockName, qwen3BlockTensorOf, type Qwen3BlockKey,
} from '@bankai/gguf';
import {
  BACKWARD_PROJECTIONS, layoutRunner, Qwen3Runner, readModelConfig, runnerBytes, scoreRows, tokenizerFromHeader, weightEngineBytes,
  type LayerWeights, type Linear, type ModelWeights, type Qwen3Config,
} from '@bankai/model';
import { prepareProbes, type Metric, type PreparedProbe, type Probe } from '@bankai/probes';
import { Rng } from '@bankai/rng';
import { scoredSequences } from './evaluator.js';
import { DEFAULT_LAYER_CACHE_BYTES, planLayerCaches } from './search.js';
import { MLP_PROJECTIONS, type Projection } from './space.js';

/** Seconds per unit of work, measured on this machine (calibrateEngine): CPU seconds where the runtime reports them, so they hold for a worker with a core of its own. */
export interface EngineCalibration {
  /** Seconds one layer takes over a batch of n tokens (from position 0), at these n, ascending. */
  layerSeconds: { n: number; seconds: number }[];
  /** Seconds of the output head (the whole vocabulary) per position. */
  headSecondsPerPosition: number;
  /** Seconds per scored position of scoring its logits in JS (scoreRows): argmax and margin, and the log-softmax the metrics other than competitor add. */
  scoring: { margin: number; logprob: number };
  /** Seconds per multiply-add of the dense f32 matmul (the backward pass's transposed weights). */
  f32SecondsPerMac: number;
  /** The share of a layer's seconds that a run from its MLP stage takes (ffn_down and the rest, no flips; at the largest batch). */
  mlpStageShare: number;
  /** The engine build measured ('simd' | 'relaxed-simd'). */
  variant: string;
  /** Seconds the calibration itself took. */
  seconds: number;
}

export interface CalibrateOptions {
  /** Batch sizes to time one layer at (default 1, 8, 32). */
  batches?: number[];
  /** Timed runs per measurement; the fastest counts (default 3). */
  repeats?: number;
  /** Rows of the output head to time (default min(vocab, 8192)); scaled to the vocabulary. */
  headRows?: number;
}

/** A random 1-bit matrix in the engine's layout: random bits, scales 0.01. */
function randomQ1(e: Engine, name: string, rows: number, cols: number, rng: Rng): Linear {
  const layout = e.q1Layout(rows, cols);
  const ptr = e.alloc(layout.bytes);
  const words = e.i32(ptr, layout.bytes >> 2);
  for (let i = 0; i < words.length; i++) words[i] = rng.int(0x7fffffff) ^ (rng.int(2) << 31);
  e.f32(ptr + layout.rowsPadded * (cols / 8), layout.rowsPadded * layout.groups).fill(0.01); // the scales
  const tensor: Q1Tensor = e.q1Place(layout, ptr);
  return { name, kind: 'q1', rows, cols, tensor };
}

// CPU seconds of this thread where the runtime tells them (Node, Deno, Bun: process.cpuUsage),
// so other processes on a shared machine do not inflate the calibration; else wall time.
const cpuUsage = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process?.cpuUsage;
const now = (): number => {
  if (cpuUsage) {
    const u = cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  return performance.now() / 1000;
};

/** The fastest of `runs` timings of f, each repeating f until it has taken 20 ms (timer resolution). */
const best = (runs: number, f: () => void): number => {
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = now();
    let k = 0;
    do {
      f();
      k++;
    } while (now() - t < 0.02);
    min = Math.min(min, (now() - t) / k);
  }
  return min;
};

/**
 * Times the engine on this machine for a model of shape `c`: one random layer of that shape at a
 * few batch sizes, a slice of the output head, and the dense f32 matmul. A fresh engine (its
 * memory is dropped afterwards); about 30 MB and well under a second for the Bonsai-8B shape.
 */
export async function calibrateEngine(c: Qwen3Config, opts: CalibrateOptions = {}): Promise<EngineCalibration> {
  const t0 = performance.now();
  const batches = [...new Set(opts.batches ?? [1, 8, 32])].sort((a, b) => a - b);
  const repeats = opts.repeats ?? 3;
  const headRows = Math.min(c.vocabSize, opts.headRows ?? 8192);
  const e = await createEngine();
  const rng = new Rng(1);
  const ones = (n: number) => {
    const p = e.alloc(n * 4);
    e.f32(p, n).fill(1);
    return p;
  };
  // one block of the model's shape, tensor by tensor in the Qwen3 plan's order: 1-bit linears
  // (ne0 = cols first) random, norms all ones
  const block: Partial<Record<Qwen3BlockKey, Linear | number>> = {};
  for (const t of QWEN3_BLOCK_TENSORS) {
    const [cols, rows] = t.shape({ ...c, vocab: c.vocabSize });
    block[t.key] = t.kind === 'linear' ? randomQ1(e, qwen3BlockName(0, t.local), rows!, cols, rng) : ones(cols);
  }
  const layer = block as LayerWeights;
  // 64 embedding rows of small random floats (the measured tokens are 0..63)
  const embdPtr = e.alloc(64 * c.nEmbd * 4);
  const embdRows = e.f32(embdPtr, 64 * c.nEmbd);
  for (let i = 0; i < embdRows.length; i++) embdRows[i] = (rng.int(2001) - 1000) / 10000;
  const config: Qwen3Config = { ...c, nLayer: 1, vocabSize: headRows };
  const weights: ModelWeights = {
    config,
    embd: { name: QWEN3_TOKEN_EMBD, kind: 'f32', rows: 64, cols: c.nEmbd, ptr: embdPtr },
    layers: [layer],
    outputNorm: ones(c.nEmbd),
    output: randomQ1(e, QWEN3_OUTPUT, headRows, c.nEmbd, rng),
  };
  const maxN = batches[batches.length - 1]!;
  const runner = new Qwen3Runner(e, weights, layoutRunner(e, config, { maxBatch: maxN, maxContext: maxN }));
  const tokens = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) % 64);
  const run = (n: number, logitsFrom: number) => () => {
    runner.rewind(0);
    runner.forward(tokens(n), logitsFrom);
  };
  run(maxN, maxN)(); // warm-up
  const layerSeconds = batches.map((n) => ({ n, seconds: best(repeats, run(n, n)) }));
  const withHead = best(repeats, run(maxN, 0));
  // the layer from its MLP stage (what a candidate in that layer's gate / up / down runs)
  const stage = { xMid: e.alloc(maxN * c.nEmbd * 4), act: e.alloc(maxN * c.nFf * 4) };
  runner.captureResiduals(tokens(maxN), 0, undefined, [{ layer: 0, mlp: stage }]);
  const fromStage = best(repeats, () => runner.forwardFromMlp(stage, maxN, 0, maxN));
  const mlpStageShare = Math.min(1, fromStage / layerSeconds[layerSeconds.length - 1]!.seconds);
  // scoring one position's logits over the whole vocabulary (random logits)
  const row = new Float32Array(c.vocabSize);
  for (let i = 0; i < row.length; i++) row[i] = (rng.int(2001) - 1000) / 100;
  const one = { logprobs: new Float64Array(1), argmax: new Int32Array(1), margin: new Float64Array(1) };
  const margin = best(repeats, () => scoreRows(row, c.vocabSize, [1], { argmax: one.argmax, margin: one.margin }, 0));
  const logprob = Math.max(0, best(repeats, () => scoreRows(row, c.vocabSize, [1], one, 0)) - margin);
  const headSecondsPerPosition = Math.max(0, withHead - layerSeconds[layerSeconds.length - 1]!.seconds) / maxN * (c.vocabSize / headRows);
  // dense f32: (1024, nEmbd) weights against 16 rows
  const rows = 1024;
  const w = e.alloc(rows * c.nEmbd * 4);
  const x = e.alloc(16 * c.nEmbd * 4);
  const y = e.alloc(16 * rows * 4);
  e.f32(w, rows * c.nEmbd).fill(0.5);
  e.f32(x, 16 * c.nEmbd).fill(0.25);
  const f32SecondsPerMac = best(repeats, () => e.matmulF32(w, rows, c.nEmbd, x, 16, y)) / (rows * c.nEmbd * 16);
  return { layerSeconds, headSecondsPerPosition, scoring: { margin, logprob }, f32SecondsPerMac, mlpStageShare, variant: e.variant, seconds: (performance.now() - t0) / 1000 };
}

/** (rows, cols) of each 1-bit projection of a layer. */
function projShapes(c: Qwen3Config): Record<Projection, [number, number]> {
  const out = {} as Record<Projection, [number, number]>;
  for (const p of QWEN3_PROJECTIONS) {
    const [cols, rows] = qwen3BlockTensorOf(p).shape({ ...c, vocab: c.vocabSize }); // ne0 first
    out[p] = [rows!, cols];
  }
  return out;
}

/** Seconds of one layer over n tokens: piecewise linear between the measured batches, linear past them. */
export function layerSecondsAt(cal: EngineCalibration, n: number): number {
  const pts = cal.layerSeconds;
  if (pts.length === 1) return (pts[0]!.seconds / pts[0]!.n) * n;
  let i = 0;
  while (i + 2 < pts.length && pts[i + 1]!.n < n) i++;
  const a = pts[i]!;
  const b = pts[i + 1]!;
  const s = a.seconds + ((b.seconds - a.seconds) / (b.n - a.n)) * (n - a.n);
  return Math.max(s, (Math.min(a.seconds / a.n, b.seconds / b.n)) * n * 0.5);
}

/** What a search will do, as the estimate counts it (shared by both inputs). */
export interface SearchPlan {
  layers: readonly number[];
  workers: number;
  metric: Metric;
  iterations: number;
  /** Exact evaluations per step (e.g. the guided strategy's `verify`, greedy's `batch`). */
  evaluationsPerStep: number;
  /** The strategy ranks candidates by backward passes every step (guided). */
  firstOrder: boolean;
  /** The searched projections (default gate, up, down: `bankai search`'s). */
  projs?: readonly Projection[];
  /** The model's own answers are generated as distractors (not with the competitor metric). */
  ownAnswers: boolean;
  /** As SearchInput.layerCacheBytes / residualCache / mlpCache. */
  layerCacheBytes?: number;
  residualCache?: boolean;
  mlpCache?: boolean;
  /** The model's own runner (Model.load's maxContext, default 512). */
  maxContext?: number;
}

export interface SearchEstimateInput extends SearchPlan {
  config: Qwen3Config;
  /** Engine bytes of the model's weights (weightEngineBytes of the header). */
  weightBytes: number;
  /** Every scored probe: fitness and validation targets, then controls (prepared as the search prepares them). */
  target: readonly PreparedProbe[];
  control: readonly PreparedProbe[];
  /** Engine bytes for q1 tensors and Q8 activations (engine.q1Layout / engine.q8Bytes). */
  q8Bytes: (n: number, cols: number) => number;
  calibration: EngineCalibration;
}

export interface SearchEstimate {
  /** Layers whose input residual is cached (as runSearch chooses them). */
  cacheLayers: number[];
  /** Layers whose MLP stage is cached (as runSearch chooses them). */
  mlpLayers: number[];
  counts: { probes: number; sequences: number; cachedTokens: number; scoredPositions: number };
  seconds: {
    /** Own-answer generation (an upper bound: every answer runs to its length cap). */
    ownAnswers: number;
    residualCache: number;
    baselines: number;
    /** Everything before the first step (model load excluded). */
    firstStep: number;
    /** One exact evaluation of a candidate whose lowest flip is in each searched layer. */
    perEvaluation: { layer: number; seconds: number }[];
    /** Mean over the candidate space (weighted by its candidates per layer). */
    meanEvaluation: number;
    /** One round of first-order rankings (0 without). */
    firstOrder: number;
    /** One step: first-order rankings plus evaluationsPerStep exact evaluations over the workers. */
    perStep: number;
    total: number;
  };
  memory: { weights: number; runners: number; residualCaches: number; mlpStages: number; backward: number; total: number };
  /** What the figures leave out or where the run will fail. */
  notes: string[];
}

const ENGINE_MAX_BYTES = 2 ** 32;
/** Default BackwardOptions.maxBytes of @bankai/model. */
const BACKWARD_MAX_BYTES = 2 ** 31;

/** The time and memory a search will take, counted as runSearch and the evaluator do the work. */
export function estimateSearch(input: SearchEstimateInput): SearchEstimate {
  const c = input.config;
  const cal = input.calibration;
  const probes = [...input.target, ...input.control];
  const notes: string[] = [];
  const layer = (n: number) => layerSecondsAt(cal, n);
  // the output head and scoring its logits (the competitor metric needs no log-softmax: eval-worker)
  const head = (m: number) => (cal.headSecondsPerPosition + cal.scoring.margin + (input.metric === 'competitor' ? 0 : cal.scoring.logprob)) * m;
  // the evaluator caches the sequences the metric scores, each probe's prompt once
  const scoredOf = (p: PreparedProbe) => p.sequences.slice(0, scoredSequences(p, input.metric));
  const nSeq = probes.reduce((n, p) => n + scoredOf(p).length, 0);
  const cachedTokens = probes.reduce((n, p) => n + scoredOf(p).reduce((m, s) => m + s.tokens.length - 1, 0), 0);
  const maxLen = Math.max(1, ...probes.flatMap((p) => p.sequences.map((s) => s.tokens.length)));
  const layers = [...new Set(input.layers)].sort((a, b) => a - b);
  const first = layers[0] ?? 0;
  const projs = input.projs ?? MLP_PROJECTIONS;
  const { cacheLayers, mlpLayers } = input.residualCache === false
    ? { cacheLayers: [0], mlpLayers: [] }
    : planLayerCaches({
      layers, projs, residualBytes: cachedTokens * c.nEmbd * 4, stageBytes: cachedTokens * (c.nEmbd + c.nFf) * 4,
      budgetBytes: input.layerCacheBytes ?? DEFAULT_LAYER_CACHE_BYTES, mlpCache: input.mlpCache,
    });
  const top = cacheLayers[cacheLayers.length - 1]!;

  // ---- one exact evaluation from layer L (or its MLP stage): per probe the prompt, then each scored answer on top ----
  const scoredPositions = probes.reduce((n, p) => n + 1 + scoredOf(p).reduce((m, q) => m + Math.max(0, q.tokens.length - p.promptTokens.length - 1), 0), 0);
  const evaluationFrom = (L: number, stage: boolean) => {
    const layersRun = (n: number) => layer(n) * (stage ? cal.mlpStageShare + c.nLayer - L - 1 : c.nLayer - L);
    let s = 0;
    for (const p of probes) {
      const from = p.promptTokens.length;
      s += layersRun(from) + head(1);
      for (const q of scoredOf(p)) {
        const m = q.tokens.length - from;
        if (m > 1) s += layersRun(m - 1) + head(m - 1);
      }
    }
    return s;
  };
  // where the evaluator starts a candidate whose lowest flip is in layer L (in its MLP or not): as eval-worker chooses
  const startOf = (L: number, mlp: boolean) => {
    const residual = cacheLayers.filter((x) => x <= L).pop() ?? cacheLayers[0]!;
    const stage = mlpLayers.filter((x) => x >= residual && (mlp ? x <= L : x < L)).pop();
    return stage === undefined ? evaluationFrom(residual, false) : evaluationFrom(stage, true);
  };
  // a layer's candidates by projection, weighed by their rows
  const shapes = projShapes(c);
  const rowsOf = (ps: readonly Projection[]) => ps.reduce((n, p) => n + shapes[p][0], 0);
  const mlpRows = rowsOf(projs.filter((p) => MLP_PROJECTIONS.includes(p)));
  const allRows = Math.max(1, rowsOf(projs));
  const perEvaluation = layers.map((L) => ({ layer: L, seconds: (mlpRows * startOf(L, true) + (allRows - mlpRows) * startOf(L, false)) / allRows }));
  const baselineEval = startOf(Infinity, true);
  // every searched layer holds the same candidates (the same projections), so the mean is unweighted
  const meanEvaluation = perEvaluation.reduce((s, e) => s + e.seconds, 0) / Math.max(1, perEvaluation.length);

  // ---- before the first step ----
  let ownAnswers = 0;
  if (input.ownAnswers && input.metric !== 'competitor') {
    for (const p of input.target) {
      const longest = Math.max(...p.correctTokens.map((t) => t.length), ...p.wrongTokens.map((t) => t.length));
      const cap = Math.min(24, 2 * longest + 2);
      ownAnswers += layer(p.promptTokens.length) * c.nLayer + head(1) + cap * (layer(1) * c.nLayer + head(1));
    }
  }
  // the prompt once, then each scored answer on top of it, through the layers below the top cache (or through the top MLP stage's layer), over the workers
  const captured = Math.max(top, ...mlpLayers.map((l) => l + 1));
  let residualCache = 0;
  for (const p of probes) {
    const from = p.promptTokens.length;
    residualCache += layer(from) * captured;
    for (const s of scoredOf(p)) if (s.tokens.length - 1 > from) residualCache += layer(s.tokens.length - 1 - from) * captured;
  }
  residualCache /= input.workers;
  // the original model's baseline (the current one equals it until a flip is accepted)
  const baselines = baselineEval;
  const firstStep = ownAnswers + residualCache + baselines;

  // ---- first-order rankings: a forward from the first layer and a backward over f32 transposed weights ----
  let firstOrder = 0;
  let backwardBytes = 0;
  if (input.firstOrder) {
    const macsPerToken = BACKWARD_PROJECTIONS.reduce((n, p) => n + shapes[p][0] * shapes[p][1], 0);
    for (const p of probes) {
      for (const s of scoredOf(p)) {
        const n = s.tokens.length - 1;
        firstOrder += layer(n) * (c.nLayer - first) + head(n - p.promptTokens.length + 1) + macsPerToken * n * (c.nLayer - first) * cal.f32SecondsPerMac;
      }
    }
    firstOrder /= input.workers;
    backwardBytes = (c.nLayer - first) * macsPerToken * 4 + (input.workers + 1) * (runnerBytes(c, input.q8Bytes, { maxBatch: maxLen, maxContext: maxLen }) + 2 * maxLen * Math.max(c.nEmbd, c.nHead * c.headDim, c.nFf) * 4);
    if ((c.nLayer - first) * macsPerToken * 4 > BACKWARD_MAX_BYTES) {
      notes.push(`the guided strategy's backward pass needs ${gib((c.nLayer - first) * macsPerToken * 4)} of transposed f32 weights for layers ${first}..${c.nLayer - 1}, more than the 2 GiB it allows: search fewer, later layers or another strategy`);
    }
  }
  const rounds = Math.ceil(input.evaluationsPerStep / input.workers);
  const perStep = firstOrder + rounds * meanEvaluation;
  const total = firstStep + input.iterations * perStep;

  // ---- memory: weights, the model's runner, the evaluator's capture runner and worker slots, caches ----
  const modelRunner = runnerBytes(c, input.q8Bytes, { maxContext: input.maxContext ?? 512 });
  const evalRunner = runnerBytes(c, input.q8Bytes, { maxBatch: maxLen, maxContext: maxLen });
  const runners = modelRunner + evalRunner * (1 + input.workers + 2) + (input.workers + 2) * (1 << 16);
  const residualCaches = cachedTokens * c.nEmbd * 4 * cacheLayers.length;
  const mlpStages = cachedTokens * (c.nEmbd + c.nFf) * 4 * mlpLayers.length;
  const totalBytes = input.weightBytes + runners + residualCaches + mlpStages + backwardBytes;
  if (totalBytes > ENGINE_MAX_BYTES) {
    const fix = backwardBytes > residualCaches + mlpStages ? 'search fewer, later layers (the backward pass) or another strategy' : 'lower --layer-cache-mb or search fewer layers';
    notes.push(`the engine's memory is at most 4 GiB; this search needs ${gib(totalBytes)}: ${fix}`);
  }
  if (input.ownAnswers && input.metric !== 'competitor') notes.push('own answers are an upper bound (every answer generated to its length cap)');
  notes.push('model loading and worker start-up are not included; the seconds are CPU seconds of a worker with a core of its own (on a shared machine, expect more)');
  return {
    cacheLayers,
    mlpLayers,
    counts: { probes: probes.length, sequences: nSeq, cachedTokens, scoredPositions },
    seconds: { ownAnswers, residualCache, baselines, firstStep, perEvaluation, meanEvaluation, firstOrder, perStep, total },
    memory: { weights: input.weightBytes, runners, residualCaches, mlpStages, backward: backwardBytes, total: totalBytes },
    notes,
  };
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/** A parsed GGUF header (readGguf of @bankai/gguf). */
type GgufFile = Parameters<typeof readModelConfig>[0];

export interface HeaderEstimateInput extends SearchPlan {
  /** The model file's parsed header (readGguf): no weight is read. */
  header: GgufFile;
  target: readonly Probe[];
  control: readonly Probe[];
  /** A calibration to reuse (default: calibrateEngine on the header's shape now). */
  calibration?: EngineCalibration;
}

/**
 * estimateSearch from a GGUF header and probe files: the shape and tokenizer come from the header,
 * the probes are prepared as runSearch prepares them (without own answers: those need the model),
 * and the engine is calibrated on this machine unless a calibration is given.
 */
export async function estimateSearchFromHeader(input: HeaderEstimateInput): Promise<SearchEstimate & { calibration: EngineCalibration }> {
  const config = readModelConfig(input.header);
  const tokenizer = tokenizerFromHeader(input.header);
  const engine = await createEngine();
  const weightBytes = weightEngineBytes(input.header, (rows, cols) => engine.q1Layout(rows, cols).bytes);
  const calibration = input.calibration ?? (await calibrateEngine(config));
  const est = estimateSearch({
    ...input,
    config,
    weightBytes,
    target: prepareProbes(tokenizer, input.target),
    control: prepareProbes(tokenizer, input.control),
    q8Bytes: (n, cols) => engine.q8Bytes(n, cols),
    calibration,
  });
  return { ...est, calibration };
}

const mib = (b: number) => `${Math.round(b / 2 ** 20).toLocaleString('en-US')} MiB`;
const secs = (s: number) => (s >= 100 ? `${Math.round(s)} s` : `${s.toPrecision(2)} s`);

/** The estimate as lines of text (what `bankai search --dry-run` prints). */
export function formatSearchEstimate(e: SearchEstimate, cal?: EngineCalibration): string[] {
  const s = e.seconds;
  const m = e.memory;
  const lines = [
    `probes: ${e.counts.probes} (${e.counts.sequences} sequences, ${e.counts.cachedTokens} tokens cached per layer, ${e.counts.scoredPositions} scored positions per evaluation)`,
    `residual caches at layers ${e.cacheLayers.join(',')}${e.mlpLayers.length ? `; MLP stages at layers ${e.mlpLayers.join(',')}` : ''}`,
    `time to the first step: ${secs(s.firstStep)} (own answers ${secs(s.ownAnswers)}, residual cache ${secs(s.residualCache)}, baselines ${secs(s.baselines)}; model load not included)`,
    `one exact evaluation: ${s.perEvaluation.map((x) => `layer ${x.layer} ${secs(x.seconds)}`).join(', ')}; mean ${secs(s.meanEvaluation)}`,
    ...(s.firstOrder > 0 ? [`first-order rankings: ${secs(s.firstOrder)} a step`] : []),
    `one step: ${secs(s.perStep)}; the whole search: ${secs(s.total)}`,
    `engine memory: ${mib(m.total)} (weights ${mib(m.weights)}, runners ${mib(m.runners)}, residual caches ${mib(m.residualCaches)}${m.mlpStages ? `, MLP stages ${mib(m.mlpStages)}` : ''}${m.backward ? `, backward ${mib(m.backward)}` : ''}); the process adds its own ~100 MiB`,
  ];
  if (cal) {
    const last = cal.layerSeconds[cal.layerSeconds.length - 1]!;
    lines.push(`calibrated on this machine in ${secs(cal.seconds)} (${cal.variant}): one layer ${(1000 * last.seconds / last.n).toFixed(2)} ms a token at batch ${last.n}, ${(1000 * cal.layerSeconds[0]!.seconds / cal.layerSeconds[0]!.n).toFixed(2)} ms at batch ${cal.layerSeconds[0]!.n}; output head ${(1000 * cal.headSecondsPerPosition).toFixed(2)} ms a position`);
  }
  for (const n of e.notes) lines.push(`note: ${n}`);
  return lines;
}
