// The parallel evaluator. Worker threads (a RunnerPool of @bankai/model) share ONE copy of the weights in the engine's
// shared memory; each evaluates a candidate flip set virtually (the shared weights never change
// while tasks run), on top of the accepted patch, which the owner materializes by XOR between
// batches. Every probe sequence's residual stream is cached once at the first searched layer, so
// a candidate only recomputes the layers from there on; with `cacheLayers`, also at other searched
// layers, so a candidate whose lowest flip is in layer L resumes from the cache nearest below L
// (caches above a layer whose weights changed are recomputed by refresh()); with `mlpLayers`, also
// each such layer's MLP stage (the residual after its attention and silu(gate) * up), so a
// candidate whose lowest flips are in that layer's gate / up / down skips the layer's attention and
// recomputes only its flipped rows of gate and up. A candidate is always evaluated whole
// by one worker in a fixed order, so results do not depend on the number of workers.

import type { Engine } from '@bankai/engine-wasm';
import { RunnerPool, type MlpStage, type Model, type RunnerPoolInit } from '@bankai/model';
import type { Metric, PreparedProbe } from '@bankai/probes';
import type { FirstOrderChunk, FirstOrderTask } from './first-order.js';
import type { Candidate } from './space.js';

/** Which probes a task scores: the targets only (screening), or all of them. */
export type EvalPart = 'target' | 'all';

export interface SequenceRef {
  tokens: number[];
  from: number;
  /** (tokens.length - 1, nEmbd) f32 residual at the input of the first searched layer. */
  residual: number;
  /** The same at the input of each of EvaluatorWorkerInit.cacheLayers (residuals[0] = residual); empty (and residual 0) for a sequence the metric never scores. */
  residuals: number[];
  /** The MLP stage of each of EvaluatorWorkerInit.mlpLayers, rows as the residuals'; empty where residuals are. */
  stages: MlpStage[];
}

/** The evaluator's part of its workers' data (RunnerPool adds the engine, weights, layouts and claim counter). */
export interface EvaluatorWorkerData {
  /** One flip region per slot (a slot's worker writes its candidates' flips there). */
  flipRegions: { ptr: number; bytes: number }[];
  firstLayer: number;
  /** Ascending layers whose input residual is cached, cacheLayers[0] = firstLayer. */
  cacheLayers: number[];
  /** Ascending layers whose MLP stage is cached (each >= firstLayer). */
  mlpLayers: number[];
  metric: Metric;
  probes: PreparedProbe[]; // targets first, then controls
  nTarget: number;
  /** Every probe's sequences, concatenated in `probes` order, each probe's in its own order: probe
   *  i's are the probes[i].sequences.length entries after those of probes 0..i-1 (eval-worker's seqStart). */
  sequences: SequenceRef[];
}

export type EvaluatorWorkerInit = RunnerPoolInit & EvaluatorWorkerData;

export interface EvalTask {
  flips: Candidate[];
  part: EvalPart;
}

/** Worker task: cache the residuals of these probes' scored sequences at the cached layers above cacheLayers[from] (-1: all, from the embeddings). */
export interface CaptureTask {
  kind: 'capture';
  probes: number[];
  from: number;
  /** Every sequence whole, from position 0 (EvaluatorOptions.capture 'plain'). */
  plain: boolean;
}

/** How many of a probe's sequences (the first ones) a metric scores: the competitor metric scores the correct answers only. */
export function scoredSequences(p: PreparedProbe, metric: Metric): number {
  return metric === 'competitor' ? p.correctTokens.length : p.sequences.length;
}

export interface EvalResult {
  /** Gap per probe (targets, then controls when part = 'all'). */
  gaps: Float64Array;
  /** Teacher-forced correctness per probe (1/0), same order. */
  correct: Uint8Array;
}

export interface EvaluatorOptions {
  workers: number;
  metric: Metric;
  /** Residuals are cached at the input of this layer: no candidate may flip anything below it. */
  firstLayer: number;
  /**
   * More layers (above firstLayer) whose input residual is cached too: a candidate resumes from
   * the nearest cache at or below its lowest flip's layer. Results are identical with or without.
   */
  cacheLayers?: readonly number[];
  /**
   * Layers (>= firstLayer) whose MLP stage is cached too: a candidate whose lowest flipped layer
   * is one of them and flips nothing of that layer's attention starts from the stage. Each costs
   * (nEmbd + nFf) f32 per cached token. Results are identical with or without.
   */
  mlpLayers?: readonly number[];
  /** Called after each probe sequence's residual is cached (done so far). */
  onSequence?: (done: number) => void;
  /**
   * How residuals are cached: 'shared' (default) caches the sequences the metric scores, each
   * probe's prompt once, on all workers; 'plain' caches every sequence whole, one after another on
   * one worker (benchmarks: the saving switched off). Results are identical either way.
   */
  capture?: 'shared' | 'plain';
}

export class Evaluator {
  /** Tasks run again after their worker died (piscina replaces the worker). */
  retries = 0;

  /** Rejects when the pool itself fails (e.g. a worker cannot load): pending tasks fail with it, never hang. */
  private readonly failed: Promise<never>;

  private constructor(
    private readonly pool: RunnerPool<EvalTask | FirstOrderTask | CaptureTask, unknown, EvaluatorWorkerData>,
    readonly workers: number,
    /** Worker slots laid out (workers + spares for replaced workers): a worker's slot indexes per-thread layouts. */
    readonly slots: number,
    readonly nTarget: number,
    readonly nControl: number,
    /** The engine arena before this evaluator's residuals and runners, restored by destroy(). */
    private readonly release: () => void,
    /** Ascending cached layers (the first is firstLayer). */
    readonly cacheLayers: readonly number[],
    /** Ascending layers whose MLP stage is cached. */
    readonly mlpLayers: readonly number[],
    /** Per probe: how many of its sequences (the first ones) the caches hold. */
    private readonly nScored: readonly number[],
    private readonly plainCapture: boolean,
  ) {
    this.failed = new Promise<never>((_, reject) => {
      pool.onError((err: unknown) => reject(new Error(`evaluator worker failed: ${(err as Error)?.message ?? String(err)}`)));
    });
    this.failed.catch(() => undefined);
  }

  /**
   * Lay out worker runners, start the workers and have them cache every scored sequence's
   * residual at `firstLayer` (and `cacheLayers`), with the weights as they are now: layers below
   * firstLayer must never change afterwards.
   */
  static async create(model: Model, target: PreparedProbe[], control: PreparedProbe[], opts: EvaluatorOptions): Promise<Evaluator> {
    const { workers, firstLayer } = opts;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
    const e: Engine = model.engine;
    const mark = e.mark();
    const probes = [...target, ...control];
    const maxLen = Math.max(1, ...probes.flatMap((p) => p.sequences.map((s) => s.tokens.length)));
    if (maxLen > model.config.contextLength) {
      throw new RangeError(`a probe is ${maxLen} tokens long, more than the model's context of ${model.config.contextLength}`);
    }
    const cacheLayers = [...new Set([firstLayer, ...(opts.cacheLayers ?? [])])].sort((a, b) => a - b);
    const mlpLayers = [...new Set(opts.mlpLayers ?? [])].sort((a, b) => a - b);
    for (const l of [...cacheLayers, ...mlpLayers]) {
      if (!(Number.isInteger(l) && l >= firstLayer && l < model.config.nLayer)) throw new RangeError(`cache layer ${l} outside ${firstLayer}..${model.config.nLayer - 1}`);
    }
    // residual buffers for the sequences the metric scores (the competitor metric: the correct
    // answers only; the others are never run)
    const sequences: SequenceRef[] = [];
    let nCaptured = 0;
    const plain = opts.capture === 'plain';
    const nScored = probes.map((p) => (plain ? p.sequences.length : scoredSequences(p, opts.metric)));
    for (const [i, p] of probes.entries()) {
      const scored = nScored[i]!;
      p.sequences.forEach((s, k) => {
        // the last token is only ever predicted: the residual of tokens[0..n-2] is all a score needs
        const rows = s.tokens.length - 1;
        const residuals = k < scored ? cacheLayers.map(() => e.alloc(rows * model.config.nEmbd * 4)) : []; // each (n - 1, nEmbd) f32
        const stages = k < scored ? mlpLayers.map(() => ({ xMid: e.alloc(rows * model.config.nEmbd * 4), act: e.alloc(rows * model.config.nFf * 4) })) : [];
        if (k < scored) nCaptured++;
        sequences.push({ tokens: s.tokens, from: s.from, residual: residuals[0] ?? 0, residuals, stages });
      });
    }
    // two spare slots: a crashed worker's replacement claims a fresh one
    const flipBytes = 1 << 16;
    const pool = RunnerPool.create<EvalTask | FirstOrderTask | CaptureTask, unknown, EvaluatorWorkerData>(model, {
      workers,
      spares: 2,
      maxContext: maxLen,
      maxBatch: maxLen,
      worker: new URL('./eval-worker.js', import.meta.url),
      extra: (slots) => ({
        flipRegions: Array.from({ length: slots }, () => ({ ptr: e.alloc(flipBytes), bytes: flipBytes })),
        firstLayer,
        cacheLayers,
        mlpLayers,
        metric: opts.metric,
        probes,
        nTarget: target.length,
        sequences,
      }),
    });
    const slots = pool.slots;
    const ev = new Evaluator(pool, workers, slots, target.length, control.length, () => e.reset(mark), cacheLayers, mlpLayers, nScored, plain);
    try {
      await ev.capture(-1, opts.onSequence, nCaptured);
    } catch (err) {
      await ev.destroy();
      throw err;
    }
    return ev;
  }

  /**
   * Recompute the caches above cacheLayers[k] from it, and the MLP stages at or above it (k = -1:
   * every cache, from the embeddings), probe by probe across the workers (each probe's prompt once, its answers on top).
   */
  private async capture(k: number, onSequence?: (done: number) => void, total = 0): Promise<void> {
    const nProbes = this.nScored.length;
    // enough chunks to balance the workers, each a contiguous run of probes
    const per = this.plainCapture ? nProbes : Math.max(1, Math.ceil(nProbes / (this.workers * 4)));
    const chunks: CaptureTask[] = [];
    for (let i = 0; i < nProbes; i += per) chunks.push({ kind: 'capture', probes: Array.from({ length: Math.min(per, nProbes - i) }, (_, j) => i + j), from: k, plain: this.plainCapture });
    let done = 0;
    await Promise.all(chunks.map(async (t) => {
      await this.runTask<null>(t);
      done += t.probes.reduce((n, i) => n + this.nScored[i]!, 0);
      if (total > 0) onSequence?.(done);
    }));
  }

  /**
   * The weights of `layer` (and maybe above) changed between batches (an accepted flip): recompute
   * every cache above it and every MLP stage at or above it from the nearest cache at or below
   * it, on the workers. A change below
   * firstLayer is not allowed (that cache is never recomputed). Returns the seconds it took.
   */
  async refresh(layer: number): Promise<number> {
    const t0 = performance.now();
    if (layer < this.cacheLayers[0]!) throw new RangeError(`refresh(${layer}): below the first cached layer ${this.cacheLayers[0]}`);
    let k = 0; // the cache at cacheLayers[k] <= layer stays valid
    while (k + 1 < this.cacheLayers.length && this.cacheLayers[k + 1]! <= layer) k++;
    if (k + 1 === this.cacheLayers.length && !this.mlpLayers.some((l) => l >= layer)) return 0;
    await this.capture(k);
    return (performance.now() - t0) / 1000;
  }

  /** Evaluate flip sets (relative to the accepted patch); results in input order. */
  async evaluate(tasks: readonly EvalTask[]): Promise<EvalResult[]> {
    return Promise.all(tasks.map((t) => this.runTask(t)));
  }

  /** First-order effects of probe chunks (see first-order.ts), one task per chunk; results in input order. */
  async firstOrder(tasks: readonly FirstOrderTask[]): Promise<FirstOrderChunk[]> {
    return Promise.all(tasks.map((t) => this.runTask<FirstOrderChunk>(t)));
  }

  private async runTask<R = EvalResult>(task: EvalTask | FirstOrderTask | CaptureTask): Promise<R> {
    // a crashed worker is replaced by piscina; its task is retried once here
    const run = () => Promise.race([this.pool.run(task) as Promise<R>, this.failed]);
    try {
      return await run();
    } catch (err) {
      if (err instanceof RangeError || (err as Error).message.startsWith('evaluator worker failed')) throw err;
      this.retries++;
      return await run();
    }
  }

  /**
   * Stop the workers and free the engine memory this evaluator laid out (residual cache, worker
   * runners): a long-lived process can run search after search. Destroy evaluators in the reverse
   * order of their creation.
   */
  async destroy(): Promise<void> {
    await this.pool.destroy();
    this.release();
  }
}
