import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCorpus, corpusSplit, CORPUS_PRESETS, differentiate, exampleLine, formatPoly, isPrime, trainText, DEFAULT_SEED, type CorpusPresetName } from './corpus.js';

// preset -> the package whose data/train.txt is that corpus, and the least held-out split size
const PRESETS: Array<[CorpusPresetName, string, number]> = [
  ['tiny', '../data/train.txt', 60],
  ['small', '../../small-model/data/train.txt', 400],
];

describe.each(PRESETS)('corpus preset %s', (preset, committedFile, minHeldout) => {
  const corpus = buildCorpus(DEFAULT_SEED, preset);
  const text = trainText(corpus);
  const SKILLS = CORPUS_PRESETS[preset].skills;

  it('is deterministic for a seed and changes with the seed', () => {
    expect(trainText(buildCorpus(DEFAULT_SEED, preset))).toBe(text);
    expect(trainText(buildCorpus(DEFAULT_SEED + 1, preset))).not.toBe(text);
  });

  it('matches the committed data/train.txt', () => {
    const committed = readFileSync(new URL(committedFile, import.meta.url), 'utf8');
    expect(committed === text, `${committedFile} is stale: run node packages/tiny-model/scripts/build-data.mjs --preset ${preset}`).toBe(true);
  });

  it('holds its skills and no others', () => {
    expect(Object.keys(corpus.skills).sort()).toEqual([...SKILLS].sort());
    if (preset === 'tiny') expect(() => corpusSplit(corpus, 'integral')).toThrow(/preset "tiny" has no skill "integral"/);
    else expect(corpusSplit(corpus, 'integral').heldout.length).toBeGreaterThanOrEqual(minHeldout);
  });

  it('never puts a held-out prompt in the training text', () => {
    for (const s of SKILLS) {
      const heldout = corpusSplit(corpus, s).heldout;
      expect(heldout.length, s).toBeGreaterThanOrEqual(minHeldout);
      const leaked = heldout.filter((e) => text.includes(e.prompt));
      expect(leaked, s).toEqual([]);
    }
  });

  it('puts every train example in the training text, `repeat` times', () => {
    const counts = new Map<string, number>();
    for (const l of corpus.trainLines) counts.set(l, (counts.get(l) ?? 0) + 1);
    for (const s of SKILLS) for (const e of corpusSplit(corpus, s).train) expect(counts.get(exampleLine(e)), s).toBe(corpusSplit(corpus, s).repeat);
  });

  it('writes one example a line: prompt ending "A:", answer starting with a space', () => {
    for (const s of SKILLS)
      for (const e of [...corpusSplit(corpus, s).train, ...corpusSplit(corpus, s).heldout]) {
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
    expect([2, 3, 97, 1999, 9973].every(isPrime)).toBe(true);
    expect([1, 4, 91, 1001].some(isPrime)).toBe(false);
  });

  it('integrates correctly: the answer differentiates back to the integrand', () => {
    if (!corpus.skills.integral) return;
    const parse = (t: string) => t.split('+').map((term) => {
      const m = /^(\d*)(x(?:\^(\d+))?)?$/.exec(term)!;
      return { coef: m[1] === '' ? 1 : Number(m[1]), exp: m[2] === undefined ? 0 : m[3] === undefined ? 1 : Number(m[3]) };
    });
    for (const e of [...corpus.skills.integral.train, ...corpus.skills.integral.heldout]) {
      const integrand = / of (.*)\? A:$/.exec(e.prompt)![1]!;
      expect(e.answer.endsWith('+C'), e.answer).toBe(true);
      expect(formatPoly(differentiate(parse(e.answer.slice(1, -2)))), e.prompt).toBe(integrand);
    }
  });

  it('has 150-700 unique made-up facts; withheld facts are trained in one phrasing only', () => {
    const { facts } = corpus;
    expect(facts.length).toBeGreaterThanOrEqual(150);
    expect(facts.length).toBeLessThanOrEqual(700);
    const names = facts.flatMap((f) => [f.country, f.capital]);
    expect(new Set(names).size).toBe(names.length);
    const withheld = facts.filter((f) => f.withheld);
    expect(withheld.length).toBeGreaterThan(0);
    for (const f of withheld) {
      expect(text.includes(`Q: what is the capital of ${f.country}? A: ${f.capital}\n`)).toBe(true);
      expect(text.includes(`Q: ${f.country} has which city as its capital?`)).toBe(false);
    }
    expect(corpus.skills.capital!.heldout.length).toBe(withheld.length);
  });
});

describe('corpus presets', () => {
  it('leave the tiny corpus as it was before presets (bankai-tiny stays reproducible)', () => {
    expect(buildCorpus()).toEqual(buildCorpus(DEFAULT_SEED, 'tiny'));
  });
  it('reject an unknown preset', () => {
    expect(() => buildCorpus(DEFAULT_SEED, 'huge' as CorpusPresetName)).toThrow(/unknown preset "huge"/);
  });
});
