// The shipped probe sets: upstream probe JSON shape; search/eval probes are held-out prompts the
// model never saw; controls come from other skills; HELDOUT is every held-out example the search
// set does not hold, TRAIN the train-split sample; every distractor is the model's own mistake.
import { describe, expect, it } from 'vitest';
import { readJson, readText, SHIPPED_MODELS, type ShippedModel } from './test-models.js';

interface Probe {
  name: string;
  category: string;
  prompt: string;
  correct: string;
  wrong: string;
}

const cases: Array<[string, string, ShippedModel]> = SHIPPED_MODELS.flatMap((m) => m.skills.map((s) => [m.preset, s, m] as [string, string, ShippedModel]));

describe.each(cases)('%s: probes/%s.json', (_preset, skill, m) => {
  const SKILLS = m.skills;
  const splits = readJson(m, 'data/splits.json');
  const trainTxt = readText(m, 'data/train.txt');
  // what the shipped file says under our engine (scripts/eval-engine.mjs; checked by engine-accuracy.test.ts)
  const record = readJson(m, 'model/eval-engine.json');
  const file = readJson(m, `probes/${skill}.json`);
  const maxEval = m.probes.max_eval ?? Infinity;
  const up = skill.toUpperCase();
  const sets: Record<string, Probe[]> = file.sets;
  const heldout = new Map<string, { answer: string }>(splits.skills[skill].heldout.map((e: { prompt: string; answer: string }) => [e.prompt, e]));
  const greedyByPrompt = new Map<string, string>();
  for (const s of SKILLS)
    for (const split of ['train', 'heldout'])
      splits.skills[s][split].forEach((e: { prompt: string }, i: number) => greedyByPrompt.set(e.prompt, record.greedy[`${s}/${split}`][i]));

  it('has search, eval, control, held-out and train sets in the upstream shape', () => {
    expect(Object.keys(sets)).toEqual([`${up}_SEARCH`, `${up}_EVAL`, `${up}_CONTROL`, `${up}_HELDOUT`, `${up}_TRAIN`]);
    for (const probes of Object.values(sets)) {
      expect(probes.length).toBeGreaterThanOrEqual(16);
      for (const p of probes) {
        expect(Object.keys(p).sort()).toEqual(['category', 'correct', 'name', 'prompt', 'wrong']);
        expect(p.prompt.endsWith('A:')).toBe(true);
        expect(p.correct.startsWith(' ')).toBe(true);
        expect(p.wrong.trim().length).toBeGreaterThan(0);
        expect(p.wrong).not.toBe(p.correct);
        expect(p.wrong).not.toContain('\n');
      }
    }
    const names = Object.values(sets).flat().map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('searches and evaluates on held-out prompts only, disjointly', () => {
    const search = sets[`${up}_SEARCH`]!;
    const evalSet = sets[`${up}_EVAL`]!;
    for (const p of [...search, ...evalSet]) {
      expect(p.category).toBe(skill);
      expect(heldout.get(p.prompt)?.answer, p.prompt).toBe(p.correct);
      expect(trainTxt.includes(p.prompt), p.prompt).toBe(false);
    }
    const searchPrompts = new Set(search.map((p) => p.prompt));
    expect(evalSet.filter((p) => searchPrompts.has(p.prompt))).toEqual([]);
  });

  it('controls on other skills the model answers correctly', () => {
    const control = sets[`${up}_CONTROL`]!;
    expect(new Set(control.map((p) => p.category)).size).toBe(SKILLS.length - 1);
    for (const p of control) {
      expect(p.category).not.toBe(skill);
      expect(greedyByPrompt.get(p.prompt), p.prompt).toBe(p.correct);
    }
  });

  it('HELDOUT holds every held-out example not in SEARCH, in split order; EVAL is part of it, probe for probe', () => {
    const searchPrompts = new Set(sets[`${up}_SEARCH`]!.map((p) => p.prompt));
    const held = sets[`${up}_HELDOUT`]!;
    const expected = splits.skills[skill].heldout.filter((e: { prompt: string }) => !searchPrompts.has(e.prompt));
    expect(held.map((p) => [p.prompt, p.correct])).toEqual(expected.map((e: { prompt: string; answer: string }) => [e.prompt, e.answer]));
    expect(held.map((p) => p.name)).toEqual(held.map((_, i) => `${skill}_heldout_${i}`));
    const byPrompt = new Map(held.map((p) => [p.prompt, p]));
    for (const p of sets[`${up}_EVAL`]!) expect({ ...byPrompt.get(p.prompt), name: p.name }, p.prompt).toEqual(p);
    for (const p of held) {
      expect(p.category).toBe(skill);
      expect(trainTxt.includes(p.prompt), p.prompt).toBe(false);
    }
    if (skill === 'addition' && m.preset === 'tiny') expect(held.length).toBe(152);
    // issue 14: bankai-small's EVAL sets use (nearly) all of a 400-prompt held-out split
    if (m.probes.max_eval === null) expect(sets[`${up}_EVAL`]!.length).toBeGreaterThanOrEqual(300);
  });

  it('TRAIN holds the train-split examples of data/splits.json, in order', () => {
    const train = sets[`${up}_TRAIN`]!;
    expect(train.map((p) => [p.prompt, p.correct])).toEqual(splits.skills[skill].train.map((e: { prompt: string; answer: string }) => [e.prompt, e.answer]));
    for (const p of train) expect(trainTxt.includes(`${p.prompt}${p.correct}\n`), p.prompt).toBe(true);
  });

  it('uses the model greedy output as the distractor wherever the model fails (HELDOUT and TRAIN too, where it says something)', () => {
    for (const p of [...sets[`${up}_HELDOUT`]!, ...sets[`${up}_TRAIN`]!]) {
      const g = greedyByPrompt.get(p.prompt)!;
      if (g !== p.correct && g.trim() !== '') expect(p.wrong, p.prompt).toBe(g);
    }
  });

  it('uses the model greedy output as the distractor wherever the model fails', () => {
    let failing = 0;
    for (const p of [...sets[`${up}_SEARCH`]!, ...sets[`${up}_EVAL`]!]) {
      const g = greedyByPrompt.get(p.prompt);
      if (g !== p.correct) {
        expect(p.wrong, p.prompt).toBe(g);
        failing++;
      }
    }
    // the model's held-out failures (with a non-empty output) all land in search or eval: failures are dealt first
    const heldoutFailures = record.greedy[`${skill}/heldout`].filter((g: string, i: number) => g !== splits.skills[skill].heldout[i].answer && g.trim() !== '').length;
    expect(failing).toBe(Math.min(heldoutFailures, m.probes.max_search + maxEval));
  });
});
