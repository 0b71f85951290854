// Fresh prompts: from the corpus's distribution, in no train or held-out split of the shipped
// corpus (hence in no probe file), distinct, deterministic per seed; a typed error for skills
// with none left.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCorpus, corpusSplit, DEFAULT_SEED, differentiate, formatPoly, isPrime, SKILLS, type SkillName } from './corpus.js';
import { FreshPromptsError, freshCapacity, freshExamples, freshProbes, ruleMistake } from './fresh.js';
import { PROBE_SKILLS, probePath } from './paths.js';

const corpus = buildCorpus();
const used = new Set(SKILLS.flatMap((s) => [...corpusSplit(corpus, s).train, ...corpusSplit(corpus, s).heldout].map((e) => e.prompt)));
const trainTxt = readFileSync(new URL('../data/train.txt', import.meta.url), 'utf8');
const probeFilePrompts = new Set(PROBE_SKILLS.flatMap((s) => Object.values(JSON.parse(readFileSync(probePath(s), 'utf8')).sets as Record<string, { prompt: string }[]>).flat().map((p) => p.prompt)));
const FRESH: SkillName[] = ['addition', 'comparison', 'derivative', 'second_derivative'];

describe('freshExamples', () => {
  it.each(FRESH)('%s: 200 distinct prompts outside every train and held-out split, deterministic per seed', (skill) => {
    const a = freshExamples(skill, 200, 7);
    expect(a).toHaveLength(200);
    expect(new Set(a.map((e) => e.prompt)).size).toBe(200);
    for (const e of a) {
      expect(e.skill).toBe(skill);
      expect(used.has(e.prompt), e.prompt).toBe(false);
      expect(probeFilePrompts.has(e.prompt), e.prompt).toBe(false);
      expect(trainTxt.includes(`${e.prompt} `), e.prompt).toBe(false);
    }
    expect(freshExamples(skill, 200, 7)).toEqual(a);
    expect(freshExamples(skill, 200, 8)).not.toEqual(a);
    expect(freshExamples(skill, 50, 7)).toEqual(a.slice(0, 50));
  });

  it('keeps the corpus\'s prompt forms and computes the answers', () => {
    for (const e of freshExamples('addition', 100, 1)) {
      const [, a, b] = /^Q: what is (\d+)\+(\d+)\? A:$/.exec(e.prompt)!;
      expect(Number(a)).toBeLessThanOrEqual(999);
      expect(e.answer).toBe(` ${Number(a) + Number(b)}`);
    }
    for (const e of freshExamples('comparison', 100, 1)) {
      const [, a, b] = /^Q: which is larger, (\d+) or (\d+)\? A:$/.exec(e.prompt)!;
      expect(a).not.toBe(b);
      expect(e.answer).toBe(` ${Math.max(Number(a), Number(b))}`);
    }
    for (const e of freshExamples('second_derivative', 50, 1)) expect(e.prompt).toMatch(/^Q: second derivative of [^?]+\? A:$/);
    // the derivative generator is the corpus's: the same form of polynomials
    const heads = new Set(corpus.skills.derivative.train.map((e) => e.prompt.replace(/\d+/g, 'N')));
    const fresh = freshExamples('derivative', 200, 3).map((e) => e.prompt.replace(/\d+/g, 'N'));
    expect(fresh.filter((h) => heads.has(h)).length).toBeGreaterThan(150);
  });

  it('throws a typed error for skills with no unused prompts, and when asked for more than are left', () => {
    for (const skill of ['multiplication', 'capital', 'primality'] as const) {
      expect(freshCapacity(skill)).toBe(0);
      let err: unknown;
      try {
        freshExamples(skill, 10, 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FreshPromptsError);
      expect((err as FreshPromptsError).skill).toBe(skill);
      expect((err as FreshPromptsError).message).toMatch(new RegExp(`^${skill} has no fresh prompts: `));
    }
    expect(freshCapacity('comparison')).toBe(9900 - 3200);
    expect(freshCapacity('addition')).toBe(1_000_000 - 12_200);
    expect(() => freshExamples('comparison', 6701, 1)).toThrow(/comparison has 6700 fresh prompts, fewer than the 6701 asked for/);
    // every fresh comparison prompt there is, each once
    const all = freshExamples('comparison', 6700, 2);
    expect(new Set(all.map((e) => e.prompt)).size).toBe(6700);
  });
});

describe('freshProbes', () => {
  it('gives each probe its answer and a plausible wrong one (a rule, or the distractor passed in)', () => {
    const probes = freshProbes('addition', 20, 7);
    expect(probes[0]).toMatchObject({ name: 'addition_fresh_0', category: 'addition' });
    for (const p of probes) {
      expect(p.wrong).not.toBe(p.correct);
      expect(Math.abs(Number(p.wrong) - Number(p.correct))).toBeGreaterThanOrEqual(10);
    }
    expect(freshProbes('addition', 3, 7, (e) => `${e.answer}0`).map((p) => p.wrong)).toEqual(probes.slice(0, 3).map((p) => `${p.correct}0`));
    for (const skill of FRESH) for (const p of freshProbes(skill, 50, 1)) expect(p.wrong, p.prompt).not.toBe(p.correct);
  });

  it('rule mistakes: a dropped carry, the smaller number, the other answer, a forgotten power rule', () => {
    const ex = (skill: SkillName, prompt: string, answer: string) => ({ skill, prompt, answer });
    expect(ruleMistake(ex('addition', 'Q: what is 956+874? A:', ' 1830'))).toBe(' 1820');
    expect(ruleMistake(ex('addition', 'Q: what is 248+450? A:', ' 698'))).toBe(' 708');
    expect(ruleMistake(ex('comparison', 'Q: which is larger, 47 or 52? A:', ' 52'))).toBe(' 47');
    expect(ruleMistake(ex('primality', 'Q: is 91 prime? A:', ' no'))).toBe(' yes');
    expect(isPrime(91)).toBe(false);
    expect(ruleMistake(ex('derivative', 'Q: derivative of 3x^4+2x? A:', ' 12x^3+2'))).toBe(' 3x^3+2');
    expect(ruleMistake(ex('derivative', 'Q: derivative of 5x+3? A:', ' 5'))).toBe(' 5x');
    const poly = [{ coef: 2, exp: 4 }, { coef: 1, exp: 2 }];
    expect(ruleMistake(ex('second_derivative', 'Q: second derivative of 2x^4+x^2? A:', ` ${formatPoly(differentiate(differentiate(poly)))}`))).toBe(' 8x^3+2x');
  });
});

describe('fresh prompts of the small preset (bankai-small)', () => {
  const small = buildCorpus(DEFAULT_SEED, 'small');
  const usedSmall = new Set(small.skillNames.flatMap((s) => [...corpusSplit(small, s).train, ...corpusSplit(small, s).heldout].map((e) => e.prompt)));
  it.each(['addition', 'comparison', 'derivative', 'second_derivative', 'integral'] as SkillName[])('%s: outside the small corpus, distinct, seeded', (skill) => {
    const a = freshExamples(skill, 100, 5, { preset: 'small' });
    expect(freshExamples(skill, 100, 5, { preset: 'small' })).toEqual(a);
    expect(new Set(a.map((e) => e.prompt)).size).toBe(100);
    for (const e of a) {
      expect(usedSmall.has(e.prompt), e.prompt).toBe(false);
      expect(e.skill).toBe(skill);
    }
    expect(freshCapacity(skill, { preset: 'small' })).toBeGreaterThan(1000);
  });
  it('has none for multiplication, primality and capital, and integral only in presets that train it', () => {
    for (const s of ['multiplication', 'primality', 'capital'] as SkillName[]) expect(() => freshExamples(s, 1, 1, { preset: 'small' })).toThrow(FreshPromptsError);
    expect(freshCapacity('integral')).toBe(0);
    expect(() => freshExamples('integral', 1, 1)).toThrow(/unknown skill "integral"/);
  });
});
