// Worker side of ScoringPool: one engine instance on the shared memory, one runner (claimRunner).
import { workerData } from 'node:worker_threads';
import { claimRunner } from './runner-slot.js';
import { scoreRows } from './scoring.js';
import type { PoolWorkerInit, SequenceScore, SequenceScoreTask } from './pool.js';

const claimed = claimRunner(workerData as PoolWorkerInit, 'pool worker');

export default async function scoreTask(task: SequenceScoreTask): Promise<SequenceScore[]> {
  const { runner } = await claimed;
  const V = runner.config.vocabSize;
  return task.seqs.map((seq) => {
    runner.rewind(0);
    const logits = runner.forward(seq.slice(0, -1), 0);
    const lp = new Float64Array(seq.length - 1);
    scoreRows(logits, V, seq.slice(1), { logprobs: lp }, 0);
    return { logprob: lp.reduce((a, b) => a + b, 0), tokenLogprobs: lp };
  });
}
