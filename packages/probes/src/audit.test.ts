import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';
import { auditProbes, rankOf } from './audit.js';
import { tinyModelPath } from './builtin.js';
import { prepareProbes } from './prepare.js';

let model: Model;
beforeAll(async () => {
  model = await Model.load(bytesSource(new Uint8Array(readFileSync(tinyModelPath)), tinyModelPath));
});

const kinds = (a: { flags: { kind: string }[] }) => a.flags.map((f) => f.kind).sort();

describe('auditProbes on the tiny model', () => {
  it('flags probes built to be dead, merge at the boundary, lack or miss a distractor', () => {
    const ask = 'Q: is 91 prime? A:';
    const said = model.generate(ask, { maxTokens: 8 }).text;
    const probes = [
      { name: 'dead', prompt: ask, correct: ' no', wrong: ' no' },
      { name: 'boundary', prompt: 'Q: what is the capital of Sainia? A: ', correct: 'Shoulnan', wrong: 'Sainia' },
      { name: 'nodistractor', prompt: ask, correct: ' no' },
      { name: 'unlikely', prompt: ask, correct: said, wrong: ' Zebra' },
      { name: 'toolong', prompt: 'Q: ' + 'what is 1+1? '.repeat(20) + 'A:', correct: ' 2', wrong: ' 3' },
    ];
    const r = auditProbes(model, probes, { maxTokens: 8 });
    const by = Object.fromEntries(r.probes.map((a) => [a.probe.name, a]));
    expect(kinds(by.dead!)).toContain('dead');
    expect(by.dead!.flags.find((f) => f.kind === 'dead')!.message).toMatch(/tokenizes in context to the same tokens/);
    expect(kinds(by.boundary!)).toContain('boundary');
    expect(by.boundary!.flags.filter((f) => f.kind === 'boundary')).toHaveLength(2); // correct and wrong
    expect(by.boundary!.flags[0]!.message).toMatch(/^correct "Shoulnan" merges with the prompt/);
    expect(kinds(by.nodistractor!)).toEqual(['no-distractor']);
    expect(by.nodistractor!.gap).toBeUndefined();
    // the model's own answer is "correct" here, so its distractor ' Zebra' is never considered
    expect(by.unlikely!.verdict).toBe('correct');
    expect(by.unlikely!.distractorRank).toBeGreaterThan(10);
    expect(kinds(by.unlikely!)).toEqual(['distractor-rank']);
    expect(kinds(by.toolong!)).toEqual(['too-long']);
    // distractor-not-said depends on what the model answers: exactly the wrong-answered probes with a distractor
    const notSaid = r.probes.filter((a) => a.verdict === 'other' && a.probe.wrong !== undefined).length;
    expect(r.counts).toMatchObject({ dead: 1, boundary: 1, 'distractor-not-said': notSaid, 'no-distractor': 1, 'too-long': 1 });
    // the made-up distractors may be out of the top 10 too, depending on the trained model
    expect(r.counts['distractor-rank']).toBeGreaterThanOrEqual(1);
    // the counts are the per-probe flags tallied
    for (const [k, n] of Object.entries(r.counts)) expect(r.probes.filter((a) => kinds(a).includes(k as never)).length, k).toBe(n);
    // the greedy answer is reported as generated
    expect(by.dead!.greedy).toBe(said);
  });

  it('reports the model\'s greedy answer and flags a distractor the model does not say', () => {
    const ask = 'Q: what is 23*7? A:';
    const said = model.generate(ask, { maxTokens: 8 }).text;
    const neither = said.trim() === '1' ? ' 2' : ' 1';
    const r = auditProbes(model, [{ name: 'm', prompt: ask, correct: ' 99999', wrong: neither }], { maxTokens: 8 });
    expect(r.probes[0]!.greedy).toBe(said);
    expect(r.probes[0]!.verdict).toBe('other');
    expect(kinds(r.probes[0]!)).toContain('distractor-not-said');
  });

  it('ranks are taken where the distractor departs from the answer, against the full log-softmax', () => {
    const probe = { name: 'a', prompt: 'Q: what is 92+30? A:', correct: ' 122', wrong: ' 128' };
    const [p] = prepareProbes(model, [probe]);
    const r = auditProbes(model, [probe], { maxTokens: 8 }).probes[0]!;
    // " 1 2 2" vs " 1 2 8": they share the space and two digits
    const shared = p!.correctTokens[0]!.findIndex((t, j) => t !== p!.wrongTokens[0]![j]);
    expect(r.departsAt).toBe(shared);
    const ctx = [...p!.promptTokens, ...p!.correctTokens[0]!.slice(0, shared)];
    const V = model.config.vocabSize;
    const row = model.logprobs(ctx).subarray((ctx.length - 1) * V, ctx.length * V);
    expect(r.correctRank).toBe(rankOf(row, p!.correctTokens[0]![shared]!));
    expect(r.distractorRank).toBe(rankOf(row, p!.wrongTokens[0]![shared]!));
    // seq_logprob gap equals model.score difference
    const gap = model.score(probe.prompt, probe.correct).logprob - model.score(probe.prompt, probe.wrong).logprob;
    expect(r.gap).toBeCloseTo(gap, 6);
  });

  it('under token_gap, answers sharing their first token are dead', () => {
    const probe = { name: 'a', prompt: 'Q: what is 92+30? A:', correct: ' 122', wrong: ' 128' };
    const [p] = prepareProbes(model, [probe]);
    expect(p!.correctTokens[0]![0]).toBe(p!.wrongTokens[0]![0]); // the space
    expect(kinds(auditProbes(model, [probe], { maxTokens: 8 }).probes[0]!)).not.toContain('dead');
    const r = auditProbes(model, [probe], { maxTokens: 8, metric: 'token_gap' }).probes[0]!;
    expect(r.tokenGap).toBe(0);
    expect(r.flags.find((f) => f.kind === 'dead')!.message).toMatch(/^under token_gap: the answer and the distractor both start with " "/);
  });

  it('rankOf counts strictly higher scores', () => {
    expect(rankOf([0.5, 2, 1, 2], 1)).toBe(1);
    expect(rankOf([0.5, 2, 1, 2], 2)).toBe(3);
    expect(rankOf([0.5, 2, 1, 2], 0)).toBe(4);
  });
});
