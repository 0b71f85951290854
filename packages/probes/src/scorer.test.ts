import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';
import { tinyModelPath } from './builtin.js';
import { prepareProbes } from './prepare.js';
import { modelScorer, scoreSequence } from './scorer.js';

let model: Model;
beforeAll(async () => {
  model = await Model.load(bytesSource(new Uint8Array(readFileSync(tinyModelPath)), tinyModelPath));
});

/** Portable LCG for test inputs. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('modelScorer', () => {
  it('equals model.score on probe answers tokenized in context (log-probs and argmax)', () => {
    const probes = [
      { name: 'a', prompt: 'Q: what is 92+30? A:', correct: ' 122', wrong: ' 12' },
      { name: 'b', prompt: 'Q: is 91 prime? A:', correct: ' no', wrong: ' yes' },
      { name: 'c', prompt: 'Q: what is the capital of Sainia? A: ', correct: 'Shoulnan', wrong: 'Paris' },
    ];
    const prepared = prepareProbes(model, probes);
    const scorer = modelScorer(model);
    for (const p of prepared) {
      const scores = scorer.score(p.sequences);
      expect(scores).toHaveLength(2);
      for (const [i, answer] of [p.probe.correct, p.probe.wrong!].entries()) {
        const ref = model.score(p.probe.prompt, answer);
        expect(p.sequences[i]!.tokens).toEqual([...ref.promptTokens, ...ref.answerTokens]);
        const got = scores[i]!;
        expect(got.logprobs).toHaveLength(ref.tokenLogprobs.length);
        for (let j = 0; j < ref.tokenLogprobs.length; j++) {
          expect(got.logprobs[j]).toBeCloseTo(ref.tokenLogprobs[j]!, 9);
          expect(got.argmax[j] === ref.answerTokens[j]).toBe(ref.greedyMatch[j]);
        }
      }
    }
  });

  it('equals the full log-softmax of model.logprobs on random sequences and score positions', () => {
    const r = rng(7);
    const V = model.config.vocabSize;
    for (let trial = 0; trial < 8; trial++) {
      const n = 2 + Math.floor(r() * 30);
      const tokens = Array.from({ length: n }, () => Math.floor(r() * V));
      const from = 1 + Math.floor(r() * (n - 1));
      const got = scoreSequence(model.runner, { tokens, from });
      const lp = model.logprobs(tokens); // (n, V): row i predicts token i+1
      for (let i = from; i < n; i++) {
        const row = lp.subarray((i - 1) * V, i * V);
        expect(got.logprobs[i - from]).toBeCloseTo(row[tokens[i]!]!, 5);
        let best = 0;
        for (let k = 1; k < V; k++) if (row[k]! > row[best]!) best = k;
        expect(row[got.argmax[i - from]!]).toBe(row[best]);
      }
    }
  });

  it('does not depend on what was scored before (each sequence from an empty cache)', () => {
    const seq = { tokens: model.encode('Q: what is 23*7? A: 161'), from: 10 };
    const alone = modelScorer(model).score([seq])[0]!;
    const after = modelScorer(model).score([{ tokens: model.encode('Q: is 7 prime? A: yes'), from: 3 }, seq])[1]!;
    expect(Array.from(after.logprobs)).toEqual(Array.from(alone.logprobs));
  });

  it('rejects bad ranges and sequences longer than the context, with the fix', () => {
    expect(() => scoreSequence(model.runner, { tokens: [1, 2, 3], from: 0 })).toThrow(/from = 0 must be in 1\.\.2/);
    expect(() => scoreSequence(model.runner, { tokens: [1, 2, 3], from: 3 })).toThrow(RangeError);
    const long = Array.from({ length: model.runner.layout.maxContext + 2 }, () => 65);
    expect(() => scoreSequence(model.runner, { tokens: long, from: 1 })).toThrow(/more than the runner's context of \d+; shorten the probe/);
  });
});
