// Worker threads (piscina) that run Qwen3 on ONE copy of the weights: every worker instantiates
// the same engine module on the model's shared memory and runs its own Qwen3Runner (scratch + KV
// cache laid out here, by the owner of the memory, one layout a slot; a worker claims its slot
// with claimRunner, runner-slot.ts). RunnerPool is that scaffold for any worker module (the search
// evaluator's included); ScoringPool scores token sequences on it. A sequence is always scored
// whole by one runner, so results do not depend on the worker count.

import { Piscina } from 'piscina';
import type { Model } from './model.js';
import type { RunnerPoolInit } from './runner-slot.js';

export type { RunnerPoolInit } from './runner-slot.js';

export interface RunnerPoolOptions<X extends object> {
  workers: number;
  /** Slots beyond `workers`: a crashed worker's replacement (piscina starts one) claims a fresh one. Default 0. */
  spares?: number;
  /** The layout of every slot's runner. */
  maxContext: number;
  maxBatch?: number;
  /** The worker module: its default export runs one task; it builds its runner with claimRunner. */
  worker: URL;
  /** More workerData, laid out in the engine after the runners, given the slot count (per-slot regions, caches). */
  extra?: (slots: number) => X;
}

/** A piscina pool whose workers each run a Qwen3Runner on the model's shared weights. */
export class RunnerPool<Task = unknown, Result = unknown, X extends object = object> {
  private constructor(
    private readonly piscina: Piscina,
    readonly workers: number,
    /** Slots laid out: workers + spares. */
    readonly slots: number,
    readonly init: RunnerPoolInit & X,
    private readonly release: () => void,
  ) {}

  /** Lays out the slots' runners (and `extra`) in the model's engine and starts the workers. */
  static create<Task, Result, X extends object = object>(model: Model, opts: RunnerPoolOptions<X>): RunnerPool<Task, Result, X> {
    const n = opts.workers;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`workers must be a positive integer, got ${n}`);
    const slots = n + (opts.spares ?? 0);
    const mark = model.engine.mark();
    const layouts = Array.from({ length: slots }, () => model.layoutRunner({ maxContext: opts.maxContext, maxBatch: opts.maxBatch }));
    const init = {
      module: model.engine.module,
      memory: model.engine.memory,
      weights: model.weights,
      layouts,
      claim: new Int32Array(new SharedArrayBuffer(4)),
      ...(opts.extra?.(slots) ?? ({} as X)),
    } as RunnerPoolInit & X;
    const piscina = new Piscina({ filename: opts.worker.href, minThreads: n, maxThreads: n, idleTimeout: Infinity, workerData: init });
    return new RunnerPool<Task, Result, X>(piscina, n, slots, init, () => model.engine.reset(mark));
  }

  /** Runs one task on whichever worker is free. */
  run(task: Task): Promise<Result> {
    return this.piscina.run(task) as Promise<Result>;
  }

  /** Called when the pool itself fails (a worker that cannot start, an uncaught error in one). */
  onError(listener: (err: unknown) => void): void {
    this.piscina.on('error', listener);
  }

  /** Stops the workers and frees the runners' (and extra's) engine memory; destroy pools in reverse order of creation. */
  async destroy(): Promise<void> {
    await this.piscina.destroy();
    this.release();
  }
}

export interface SequenceScoreTask {
  seqs: number[][];
}

/** Per sequence: log p(token i+1 | tokens 0..i) for every i (length n-1), and their sum. */
export interface SequenceScore {
  logprob: number;
  tokenLogprobs: Float64Array;
}

/** The workerData of ScoringPool's workers. */
export type PoolWorkerInit = RunnerPoolInit;

export class ScoringPool {
  private constructor(private readonly pool: RunnerPool<SequenceScoreTask, SequenceScore[]>) {}

  get workers(): number {
    return this.pool.workers;
  }

  static async create(model: Model, opts: { workers: number; maxContext?: number; maxBatch?: number }): Promise<ScoringPool> {
    const n = opts.workers;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`ScoringPool: workers must be a positive integer, got ${n}`);
    return new ScoringPool(RunnerPool.create<SequenceScoreTask, SequenceScore[]>(model, {
      workers: n,
      maxContext: opts.maxContext ?? model.runner.layout.maxContext,
      maxBatch: opts.maxBatch,
      worker: new URL('./pool-worker.js', import.meta.url),
    }));
  }

  /** Score each sequence (teacher forcing over all its positions) on whichever worker is free. */
  async scoreSequences(seqs: number[][]): Promise<SequenceScore[]> {
    const results = await Promise.all(seqs.map((s) => this.pool.run({ seqs: [s] })));
    return results.flat();
  }

  /** Stop the workers and free the runners' engine memory (destroy pools in reverse order of creation). */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
