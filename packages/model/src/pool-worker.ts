// Worker side of ScoringPool: one engine instance on the shared memory, one runner.
import { workerData } from 'node:worker_threads';
import { createEngine } from '@bankai/engine-wasm';
import { Qwen3Runner } from './qwen3.js';
import { scoreRows } from './scoring.js';
import type { PoolWorkerInit, SequenceScore, SequenceScoreTask } from './pool.js';

const init = workerData as PoolWorkerInit;
const runnerPromise = (async () => {
  const index = Atomics.add(init.claim, 0, 1);
  const layout = init.layouts[index];
  if (!layout) throw new Error(`pool worker ${index}: no runner layout (the pool laid out ${init.layouts.length})`);
  const engine = await createEngine({ module: init.module, memory: init.memory });
  return new Qwen3Runner(engine, init.weights, layout);
})();

export default async function scoreTask(task: SequenceScoreTask): Promise<SequenceScore[]> {
  const runner = await runnerPromise;
  const V = runner.config.vocabSize;
  return task.seqs.map((seq) => {
    runner.rewind(0);
    const logits = runner.forward(seq.slice(0, -1), 0);
    const lp = new Float64Array(seq.length - 1);
    scoreRows(logits, V, seq.slice(1), { logprobs: lp }, 0);
    return { logprob: lp.reduce((a, b) => a + b, 0), tokenLogprobs: lp };
  });
}
