// Probes -> token sequences. Answers are tokenized in context: encode(prompt + answer) minus the
// prompt's tokens, so a boundary the tokenizer merges across is scored as the model reads it.

import { splitInContext, type Encoder } from '@bankai/model';
import type { PreparedProbe, Probe, ScoredSequence } from './types.js';

export type { Encoder };

export interface PrepareOptions {
  /** Extra distractors per probe index (e.g. the model's own greedy answer when it is wrong). */
  extraDistractors?: ReadonlyMap<number, readonly string[]>;
}

/**
 * Tokenize probes for one model. Each probe yields one sequence per correct answer (correct, then
 * alternates) and one per distractor; all share the prompt tokens of the `correct` split.
 */
export function prepareProbes(tok: Encoder, probes: readonly Probe[], opts: PrepareOptions = {}): PreparedProbe[] {
  return probes.map((probe, index) => {
    const base = splitInContext(tok, probe.prompt, probe.correct);
    if (base.answer.length === 0) {
      throw new RangeError(`probe ${probe.name}: prompt + correct answer encode to a single token, leaving nothing to score; lengthen the prompt or the answer`);
    }
    const answerTokens = (answer: string): number[] => {
      const s = splitInContext(tok, probe.prompt, answer);
      // same prompt split as the correct answer, so every sequence shares one prefix
      const full = [...s.prompt, ...s.answer];
      const same = base.prompt.every((t, i) => full[i] === t) && full.length > base.prompt.length;
      return same ? full.slice(base.prompt.length) : s.answer;
    };
    const correctTokens = [base.answer, ...(probe.alternates ?? []).map(answerTokens)];
    const distractors = [...(probe.wrong !== undefined ? [probe.wrong] : []), ...(opts.extraDistractors?.get(index) ?? [])];
    const seen = new Set(correctTokens.map((t) => t.join(',')));
    const wrongTokens: number[][] = [];
    for (const d of distractors) {
      const t = answerTokens(d);
      const key = t.join(',');
      if (t.length === 0 || seen.has(key)) continue;
      seen.add(key);
      wrongTokens.push(t);
    }
    const sequences: ScoredSequence[] = [...correctTokens, ...wrongTokens].map((answer) => ({
      tokens: [...base.prompt, ...answer],
      from: base.prompt.length,
    }));
    return { probe, index, promptTokens: base.prompt, correctTokens, wrongTokens, sequences };
  });
}
