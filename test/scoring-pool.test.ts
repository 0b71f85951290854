// The scoring pool (worker threads on one copy of the weights) scores like the model itself,
// whatever the worker count.
import { describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { Model, scoreContinuation, ScoringPool } from '@bankai/model';
import { modelPath } from '@bankai/tiny-model';

describe('ScoringPool', () => {
  it('gives the log-probs of scoreContinuation on 1 and 2 workers, and frees its memory', async () => {
    const src = await fileSource(modelPath);
    const model = await Model.load(src);
    await src.close();
    const seqs = ['Q: what is 12+30? A: 42', 'Q: is 91 prime? A: no', 'Q: which is larger, 47 or 52? A: 52'].map((t) => model.encode(t));
    const arena = model.engine.mark();
    const want = seqs.map((s) => scoreContinuation(model.runner, s.slice(0, 1), s.slice(1)).tokenLogprobs);
    for (const workers of [1, 2]) {
      const pool = await ScoringPool.create(model, { workers });
      try {
        const got = await pool.scoreSequences(seqs);
        expect(got.map((g) => Array.from(g.tokenLogprobs))).toEqual(want);
        expect(got.map((g) => g.logprob)).toEqual(want.map((w) => w.reduce((a, b) => a + b, 0)));
      } finally {
        await pool.destroy();
      }
      expect(model.engine.mark()).toBe(arena);
    }
  });
});
