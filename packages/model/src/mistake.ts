// The model's most probable wrong continuation of a prompt, given the right answer: the
// distractor the shipped probe files use where the model answers correctly (a port of the
// training script's likely_mistake, packages/tiny-model/train/train.py, to the engine).
//
//   1. Teacher-force prompt + answer (the answer tokenized in context).
//   2. At each answer position j, the best token other than the answer's own, scored with the
//      log-prob of the answer prefix before it: log p(a_0..a_{j-1}) + log p(t | ..a_{j-1}).
//   3. Take the best (j, t) (the first on ties), then continue greedily to the newline.

import type { Model } from './model.js';
import { argmax, generateGreedy, splitInContext } from './scoring.js';

export interface LikelyMistakeOptions {
  /** Most tokens generated after the departing token (default 24, as the training script). */
  maxTokens?: number;
}

/** The text of the model's most probable continuation of `prompt` that departs from `answer`
 *  (cut at the newline; as generated, with its leading space). */
export function likelyMistake(model: Model, prompt: string, answer: string, opts: LikelyMistakeOptions = {}): string {
  const { prompt: p, answer: a } = splitInContext(model.tokenizer, prompt, answer);
  if (a.length === 0) throw new RangeError(`likelyMistake: the answer ${JSON.stringify(answer)} adds no tokens to the prompt`);
  const vocab = model.config.vocabSize;
  const logp = model.logprobs([...p, ...a]); // (p + a, vocab) log-softmax after each token
  let best = -Infinity;
  let bestAt = 0;
  let bestTok = 0;
  let prefix = 0; // log p(a_0..a_{j-1} | prompt)
  for (let j = 0; j < a.length; j++) {
    const row = logp.subarray((p.length - 1 + j) * vocab, (p.length + j) * vocab);
    const own = row[a[j]!]!;
    row[a[j]!] = -Infinity; // the best token other than the answer's own
    const t = argmax(row);
    row[a[j]!] = own;
    if (prefix + row[t]! > best) {
      best = prefix + row[t]!;
      bestAt = j;
      bestTok = t;
    }
    prefix += own;
  }
  const head = [...a.slice(0, bestAt), bestTok];
  const isNewline = (ids: readonly number[]) => model.decode(ids.slice(-1)).includes('\n');
  const tail = isNewline(head) ? [] : generateGreedy(model.runner, [...p, ...head], {
    maxTokens: opts.maxTokens ?? 24,
    stopTokens: [...model.tokenizer.eogIds],
    stopWhen: isNewline,
  });
  model.runner.rewind(0);
  const text = model.decode([...head, ...tail]);
  const nl = text.indexOf('\n');
  return nl >= 0 ? text.slice(0, nl) : text;
}
