import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';
import { tinyModelPath } from './builtin.js';
import { countByCategory, evaluateGeneration, scoreProbes } from './evaluate.js';
import { probeGap, teacherForcedCorrect } from './metric.js';
import { splitInContext } from '@bankai/model';
import { prepareProbes } from './prepare.js';
import type { PreparedProbe, SequenceScores } from './types.js';

let model: Model;
beforeAll(async () => {
  model = await Model.load(bytesSource(new Uint8Array(readFileSync(tinyModelPath)), tinyModelPath));
});

describe('prepareProbes (tiny model tokenizer)', () => {
  it('tokenizes answers in context: encode(prompt + answer) minus the prompt', () => {
    const prompt = 'Q: what is 92+30? A:';
    const [p] = prepareProbes(model, [{ name: 'a', prompt, correct: ' 122', wrong: ' 12', alternates: [' 0122'] }]);
    expect(p!.promptTokens).toEqual(model.encode(prompt));
    const full = model.encode(prompt + ' 122');
    expect(p!.correctTokens[0]).toEqual(full.slice(p!.promptTokens.length));
    expect(p!.correctTokens[1]).toEqual(model.encode(prompt + ' 0122').slice(p!.promptTokens.length));
    expect(p!.wrongTokens).toEqual([model.encode(prompt + ' 12').slice(p!.promptTokens.length)]);
    // one sequence per correct answer, then per distractor, all from the end of the prompt
    expect(p!.sequences.map((s) => s.tokens)).toEqual([' 122', ' 0122', ' 12'].map((a) => model.encode(prompt + a)));
    expect(p!.sequences.every((s) => s.from === p!.promptTokens.length)).toBe(true);
  });

  it('a boundary the tokenizer merges: the prompt keeps only the tokens shared with prompt + answer', () => {
    const prompt = 'Q: what is the capital of Sainia? A: ';
    const promptIds = model.encode(prompt);
    const full = model.encode(prompt + 'Shoulnan');
    // the trailing space merges into the answer's first token
    expect(full.slice(0, promptIds.length)).not.toEqual(promptIds);
    const [p] = prepareProbes(model, [{ name: 'c', prompt, correct: 'Shoulnan', wrong: 'Paris' }]);
    expect(p!.promptTokens).toEqual(promptIds.slice(0, -1));
    expect(p!.correctTokens[0]).toEqual(full.slice(promptIds.length - 1));
    expect(model.decode(p!.correctTokens[0]!)).toBe(' Shoulnan');
    expect(model.decode(p!.wrongTokens[0]!)).toBe(' Paris');
    expect(p!.sequences[1]!.tokens).toEqual(model.encode(prompt + 'Paris'));
    expect(splitInContext(model, prompt, 'Shoulnan')).toEqual({ prompt: promptIds.slice(0, -1), answer: full.slice(promptIds.length - 1) });
  });

  it('drops a distractor that tokenizes like a correct answer, and adds extra distractors once', () => {
    const probes = [{ name: 'a', prompt: 'Q: is 91 prime? A:', correct: ' no', wrong: ' no' }];
    const [p] = prepareProbes(model, probes, { extraDistractors: new Map([[0, [' yes', ' yes', ' no']]]) });
    expect(p!.wrongTokens.map((t) => model.decode(t))).toEqual([' yes']);
    const [q] = prepareProbes(model, probes);
    expect(q!.wrongTokens).toEqual([]);
    expect(q!.sequences).toHaveLength(1);
  });
});

/** A prepared probe with made-up tokens: 2 correct answers (2 and 1 tokens), 2 distractors. */
function handMade(): PreparedProbe {
  const probe = { name: 'h', prompt: 'p', correct: ' a', wrong: ' b', alternates: [' c'] };
  const promptTokens = [1, 2];
  const correctTokens = [[10, 11], [12]];
  const wrongTokens = [[20], [21, 22]];
  const sequences = [...correctTokens, ...wrongTokens].map((a) => ({ tokens: [...promptTokens, ...a], from: 2 }));
  return { probe, index: 0, promptTokens, correctTokens, wrongTokens, sequences };
}
const sc = (lp: number[], am: number[]): SequenceScores => ({ logprobs: Float64Array.from(lp), argmax: Int32Array.from(am) });

describe('metrics on hand-made scores', () => {
  const p = handMade();
  const scores = [sc([-1, -2], [10, 99]), sc([-2.5], [12]), sc([-0.5], [20]), sc([-4, -0.25], [21, 22])];

  it('seq_logprob: best correct sum minus best distractor sum', () => {
    // correct: max(-3, -2.5) = -2.5; wrong: max(-0.5, -4.25) = -0.5
    expect(probeGap(p, scores, 'seq_logprob')).toBe(-2);
    expect(probeGap(p, scores)).toBe(-2);
  });

  it('token_gap: first token of the answer minus first token of the distractor', () => {
    expect(probeGap(p, scores, 'token_gap')).toBe(-1 - -0.5);
  });

  it('without a distractor, seq_logprob is the best correct log-prob', () => {
    const q = { ...p, wrongTokens: [], sequences: p.sequences.slice(0, 2) };
    expect(probeGap(q, scores.slice(0, 2))).toBe(-2.5);
    expect(() => probeGap(q, scores)).toThrow(/4 scores for 2 sequences/);
  });

  it('teacher-forced correctness: some correct answer reproduced token for token', () => {
    expect(teacherForcedCorrect(p, scores)).toBe(true); // the alternate [12]
    expect(teacherForcedCorrect(p, [sc([-1, -2], [10, 99]), sc([-2.5], [13]), ...scores.slice(2)])).toBe(false);
  });

  it('scoreProbes splits one scorer call per probe and applies the metric', () => {
    const q = { ...handMade(), index: 1 };
    const calls: number[] = [];
    const scorer = {
      score(seqs: readonly { tokens: number[] }[]) {
        calls.push(seqs.length);
        // log-prob -(last token)/10 per scored token, argmax always 0
        return seqs.map((s) => sc(s.tokens.slice(2).map((t) => -t / 10), s.tokens.slice(2).map(() => 0)));
      },
    };
    const r = scoreProbes(scorer, [p, q], 'seq_logprob');
    expect(calls).toEqual([8]);
    // correct: max(-(1.0+1.1), -1.2) = -1.2; wrong: max(-2.0, -(2.1+2.2)) = -2.0
    expect(r.map((x) => x.gap)).toEqual([-1.2 + 2.0, -1.2 + 2.0].map((g) => expect.closeTo(g, 12)));
    expect(r[1]!.prepared).toBe(q);
    expect(r[0]!.teacherForcedCorrect).toBe(false);
    expect(scoreProbes(scorer, [p], 'token_gap')[0]!.gap).toBeCloseTo(-1.0 + 2.0, 12);
    expect(() => scoreProbes({ score: () => [] }, [p])).toThrow(/returned 0 scores for 4 sequences/);
  });
});

describe('evaluateGeneration', () => {
  it('judges each output with the matcher and counts per category', () => {
    const outputs: Record<string, string> = { a: ' 122', b: ' 12', c: ' 7', d: ' yes.' };
    const gen = { generate: (prompt: string) => ({ text: outputs[prompt]! }) };
    const probes = [
      { name: '1', category: 'add', prompt: 'a', correct: ' 122', wrong: ' 12' },
      { name: '2', category: 'add', prompt: 'b', correct: ' 122', wrong: ' 12' },
      { name: '3', category: 'add', prompt: 'c', correct: ' 8', wrong: ' 9' },
      { name: '4', prompt: 'd', correct: ' yes', wrong: ' no' },
    ];
    const e = evaluateGeneration(gen, probes);
    expect(e.results.map((r) => r.verdict)).toEqual(['correct', 'distractor', 'other', 'correct']);
    expect(e.summary).toEqual({ n: 4, correct: 2, distractor: 1, other: 1, accuracy: 0.5 });
    expect(e.byCategory).toEqual({
      add: { n: 3, correct: 1, distractor: 1, other: 1, accuracy: 1 / 3 },
      '(none)': { n: 1, correct: 1, distractor: 0, other: 0, accuracy: 1 },
    });
    expect(countByCategory([])).toEqual({});
  });

  it('on the tiny model equals model.generate judged by hand', () => {
    const probes = [{ name: 'x', prompt: 'Q: is 91 prime? A:', correct: ' no', wrong: ' yes' }];
    const e = evaluateGeneration(model, probes, { maxTokens: 8 });
    const text = model.generate('Q: is 91 prime? A:', { maxTokens: 8 }).text;
    expect(e.results[0]!.output).toBe(text);
    expect(e.results[0]!.verdict).toBe(text.trim() === 'no' ? 'correct' : text.trim() === 'yes' ? 'distractor' : 'other');
  });
});
