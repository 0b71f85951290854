// A SequenceScorer on one Qwen3Runner (the main thread's Model, or any runner with virtual flips
// set): each sequence is scored whole from an empty cache, so a score does not depend on what was
// scored before it or on how sequences are batched.

import { scoreRows, type Model, type Qwen3Runner } from '@bankai/model';
import type { ScoredSequence, SequenceScorer, SequenceScores } from './types.js';

/** Scores on `model.runner` (the model's current weights, patches applied included). */
export function modelScorer(model: Pick<Model, 'runner'>): SequenceScorer {
  return runnerScorer(model.runner);
}

export function runnerScorer(runner: Qwen3Runner): SequenceScorer {
  return { score: (seqs) => seqs.map((s) => scoreSequence(runner, s)) };
}

/**
 * log p(tokens[i] | tokens[..i-1]) and the argmax prediction for i = from .. n-1: one forward of
 * tokens[0..n-2] with logits from position from-1; log-softmax accumulated in f64.
 */
export function scoreSequence(runner: Qwen3Runner, seq: ScoredSequence): SequenceScores {
  const { tokens, from } = seq;
  const n = tokens.length;
  if (!(Number.isInteger(from) && from >= 1 && from < n)) {
    throw new RangeError(`scoreSequence: from = ${from} must be in 1..${n - 1} (a sequence of ${n} tokens scores at least its last token after at least one)`);
  }
  if (n - 1 > runner.layout.maxContext) {
    throw new RangeError(`scoreSequence: ${n} tokens need ${n - 1} positions, more than the runner's context of ${runner.layout.maxContext}; shorten the probe`);
  }
  runner.rewind(0);
  // (n - from, V) f32: row j predicts tokens[from + j]
  const logits = runner.forward(tokens.slice(0, n - 1), from - 1);
  const m = n - from;
  const out = { logprobs: new Float64Array(m), argmax: new Int32Array(m), margin: new Float64Array(m) };
  scoreRows(logits, runner.config.vocabSize, tokens.slice(from), out, 0);
  return out;
}
