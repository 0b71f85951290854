// Probe metrics from sequence scores.
//   seq_logprob (default): best correct answer's summed log-prob minus the best distractor's.
//   token_gap (legacy, reproduces the upstream paper): at the last prompt position, the log-prob
//     (equivalently logit) of the correct answer's first token minus the distractor's first token.
//   competitor: for the best correct answer, the smallest margin over its tokens of the answer
//     token's logit over the strongest other token's, teacher-forced: > 0 exactly when teacher
//     forcing reproduces that answer token for token, whatever the model would say instead (so
//     turning one wrong answer into another wrong one never counts). Distractors are not scored.
// Without a distractor, seq_logprob is the correct answer's log-prob itself.

import type { Metric, PreparedProbe, SequenceScores } from './types.js';

const sum = (a: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

/** Scores of one probe's sequences, in `prepared.sequences` order. */
export function probeGap(p: PreparedProbe, scores: readonly SequenceScores[], metric: Metric = 'seq_logprob'): number {
  const nc = p.correctTokens.length;
  const nw = p.wrongTokens.length;
  if (metric === 'competitor') {
    if (scores.length < nc) throw new RangeError(`probe ${p.probe.name}: ${scores.length} scores for ${nc} correct answers`);
    return competitorGap(p, scores).gap;
  }
  if (scores.length !== nc + nw) throw new RangeError(`probe ${p.probe.name}: ${scores.length} scores for ${nc + nw} sequences`);
  if (metric === 'token_gap') {
    if (nw === 0) return scores[0]!.logprobs[0]!;
    return scores[0]!.logprobs[0]! - scores[nc]!.logprobs[0]!;
  }
  let best = -Infinity;
  for (let i = 0; i < nc; i++) best = Math.max(best, sum(scores[i]!.logprobs));
  if (nw === 0) return best;
  let worst = -Infinity;
  for (let i = nc; i < nc + nw; i++) worst = Math.max(worst, sum(scores[i]!.logprobs));
  return best - worst;
}

/** Whether teacher-forced argmax reproduces some correct answer token for token. */
export function teacherForcedCorrect(p: PreparedProbe, scores: readonly SequenceScores[]): boolean {
  for (let i = 0; i < p.correctTokens.length; i++) {
    const s = scores[i]!;
    const answer = p.correctTokens[i]!;
    if (answer.every((t, j) => s.argmax[j] === t)) return true;
  }
  return false;
}

/**
 * The `competitor` gap and where it sits: the correct answer (index into correctTokens) with the
 * largest smallest margin, and the answer position of that smallest margin.
 */
export function competitorGap(p: PreparedProbe, scores: readonly SequenceScores[]): { gap: number; answer: number; position: number } {
  let best = { gap: -Infinity, answer: 0, position: 0 };
  for (let i = 0; i < p.correctTokens.length; i++) {
    const m = scores[i]!.margin;
    if (!m) throw new RangeError(`probe ${p.probe.name}: the competitor metric needs margins in the scores (scoreRows with out.margin)`);
    let worst = Infinity;
    let at = 0;
    for (let j = 0; j < m.length; j++) {
      if (m[j]! < worst) {
        worst = m[j]!;
        at = j;
      }
    }
    if (worst > best.gap) best = { gap: worst, answer: i, position: at };
  }
  return best;
}
