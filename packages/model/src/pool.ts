// A pool of worker threads (piscina) that score token sequences in parallel on ONE copy of the
// weights: every worker instantiates the same engine module on the model's shared memory and
// runs its own Qwen3Runner (scratch + KV cache laid out here, by the owner of the memory).
// A sequence is always scored whole by one runner, so results do not depend on the worker count.

import { Piscina } from 'piscina';
import type { Model } from './model.js';
import type { ModelWeights, RunnerLayout } from './qwen3.js';

export interface PoolWorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  weights: ModelWeights;
  layouts: RunnerLayout[];
  /** Shared counter: each worker claims the next free layout. */
  claim: Int32Array;
}

export interface SequenceScoreTask {
  seqs: number[][];
}

/** Per sequence: log p(token i+1 | tokens 0..i) for every i (length n-1), and their sum. */
export interface SequenceScore {
  logprob: number;
  tokenLogprobs: Float64Array;
}

export class ScoringPool {
  private constructor(
    private readonly piscina: Piscina,
    readonly workers: number,
    /** Restores the engine arena as it was before this pool laid out its runners. */
    private readonly release: () => void,
  ) {}

  static async create(model: Model, opts: { workers: number; maxContext?: number; maxBatch?: number }): Promise<ScoringPool> {
    const n = opts.workers;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`ScoringPool: workers must be a positive integer, got ${n}`);
    const mark = model.engine.mark();
    const layouts = Array.from({ length: n }, () =>
      model.layoutRunner({ maxContext: opts.maxContext ?? model.runner.layout.maxContext, maxBatch: opts.maxBatch }),
    );
    const init: PoolWorkerInit = {
      module: model.engine.module,
      memory: model.engine.memory,
      weights: model.weights,
      layouts,
      claim: new Int32Array(new SharedArrayBuffer(4)),
    };
    const piscina = new Piscina({
      filename: new URL('./pool-worker.js', import.meta.url).href,
      minThreads: n,
      maxThreads: n,
      idleTimeout: Infinity,
      workerData: init,
    });
    return new ScoringPool(piscina, n, () => model.engine.reset(mark));
  }

  /** Score each sequence (teacher forcing over all its positions) on whichever worker is free. */
  async scoreSequences(seqs: number[][]): Promise<SequenceScore[]> {
    const results = await Promise.all(seqs.map((s) => this.piscina.run({ seqs: [s] } satisfies SequenceScoreTask)));
    return results.flat() as SequenceScore[];
  }

  /** Stop the workers and free the runners' engine memory (destroy pools in reverse order of creation). */
  async destroy(): Promise<void> {
    await this.piscina.destroy();
    this.release();
  }
}
