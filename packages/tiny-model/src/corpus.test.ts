import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCorpus, differentiate, exampleLine, formatPoly, isPrime, SKILLS, trainText, DEFAULT_SEED } from './corpus.js';

const corpus = buildCorpus();
const text = trainText(corpus);

describe('corpus', () => {
  it('is deterministic for a seed and changes with the seed', () => {
    expect(trainText(buildCorpus(DEFAULT_SEED))).toBe(text);
    expect(trainText(buildCorpus(DEFAULT_SEED + 1))).not.toBe(text);
  });

  it('matches the committed data/train.txt', () => {
    const committed = readFileSync(new URL('../data/train.txt', import.meta.url), 'utf8');
    expect(committed === text, 'data/train.txt is stale: run node packages/tiny-model/scripts/build-data.mjs').toBe(true);
  });

  it('never puts a held-out prompt in the training text', () => {
    for (const s of SKILLS) {
      const heldout = corpus.skills[s].heldout;
      expect(heldout.length, s).toBeGreaterThanOrEqual(60);
      const leaked = heldout.filter((e) => text.includes(e.prompt));
      expect(leaked, s).toEqual([]);
    }
  });

  it('puts every train example in the training text, `repeat` times', () => {
    const counts = new Map<string, number>();
    for (const l of corpus.trainLines) counts.set(l, (counts.get(l) ?? 0) + 1);
    for (const s of SKILLS) for (const e of corpus.skills[s].train) expect(counts.get(exampleLine(e)), s).toBe(corpus.skills[s].repeat);
  });

  it('writes one example a line: prompt ending "A:", answer starting with a space', () => {
    for (const s of SKILLS)
      for (const e of [...corpus.skills[s].train, ...corpus.skills[s].heldout]) {
        expect(e.prompt).toMatch(/^Q: [^\n]*\? A:$/);
        expect(e.answer).toMatch(/^ [^\s][^\n]*$/);
      }
  });

  it('computes correct answers', () => {
    for (const e of [...corpus.skills.addition.train, ...corpus.skills.addition.heldout]) {
      const [, a, b] = /(\d+)\+(\d+)/.exec(e.prompt)!;
      expect(Number(e.answer)).toBe(Number(a) + Number(b));
    }
    for (const e of [...corpus.skills.multiplication.train, ...corpus.skills.multiplication.heldout]) {
      const [, a, b] = /(\d+)\*(\d+)/.exec(e.prompt)!;
      expect(Number(e.answer)).toBe(Number(a) * Number(b));
    }
    for (const e of corpus.skills.comparison.heldout) {
      const [, a, b] = /(\d+) or (\d+)/.exec(e.prompt)!;
      expect(Number(e.answer)).toBe(Math.max(Number(a), Number(b)));
    }
    expect(formatPoly(differentiate([{ coef: 3, exp: 4 }, { coef: 1, exp: 1 }, { coef: 5, exp: 0 }]))).toBe('12x^3+1');
    expect(formatPoly(differentiate(differentiate([{ coef: 1, exp: 2 }, { coef: 7, exp: 1 }])))).toBe('2');
    expect(formatPoly(differentiate([{ coef: 4, exp: 0 }]))).toBe('0');
    expect(corpus.skills.derivative.heldout.some((e) => e.answer === ' 2x+1' || e.answer.includes('x^'))).toBe(true);
  });

  it('balances primality yes/no in both splits and answers it correctly', () => {
    for (const list of [corpus.skills.primality.train, corpus.skills.primality.heldout]) {
      const yes = list.filter((e) => e.answer === ' yes').length;
      expect(yes * 2).toBe(list.length);
      for (const e of list) expect(e.answer === ' yes').toBe(isPrime(Number(/is (\d+) prime/.exec(e.prompt)![1])));
    }
    expect([2, 3, 97, 1999].every(isPrime)).toBe(true);
    expect([1, 4, 91, 1001].some(isPrime)).toBe(false);
  });

  it('has 150-300 unique made-up facts; withheld facts are trained in one phrasing only', () => {
    const { facts } = corpus;
    expect(facts.length).toBeGreaterThanOrEqual(150);
    expect(facts.length).toBeLessThanOrEqual(300);
    const names = facts.flatMap((f) => [f.country, f.capital]);
    expect(new Set(names).size).toBe(names.length);
    const withheld = facts.filter((f) => f.withheld);
    expect(withheld.length).toBeGreaterThan(0);
    for (const f of withheld) {
      expect(text.includes(`Q: what is the capital of ${f.country}? A: ${f.capital}\n`)).toBe(true);
      expect(text.includes(`Q: ${f.country} has which city as its capital?`)).toBe(false);
    }
    expect(corpus.skills.capital.heldout.length).toBe(withheld.length);
  });
});
