// Distractors from the model: likelyMistake (the engine port of train.py's likely_mistake) agrees
// with the training forward's record in the shipped probe files wherever the model answers
// right, up to the near-ties float activations decide differently; modelDistractor follows the
// probe files' rule (the model's own wrong answer, else its most probable wrong continuation).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { Model, likelyMistake } from '@bankai/model';
import { matchProbe, modelDistractor, withModelDistractors, type Probe } from '@bankai/probes';
import { PROBE_SKILLS, probePath } from '@bankai/tiny-model';

let model: Model;
beforeAll(async () => {
  const src = await fileSource((await import('@bankai/tiny-model')).modelPath);
  model = await Model.load(src);
  await src.close();
});

const setOf = (skill: string, set: string): Probe[] => JSON.parse(readFileSync(probePath(skill as never), 'utf8')).sets[`${skill.toUpperCase()}_${set}`];

describe('likelyMistake', () => {
  it('matches the training record\'s likely mistake on >= 90% of the probes the model answers right', () => {
    let same = 0;
    let n = 0;
    for (const skill of PROBE_SKILLS) {
      for (const p of [...setOf(skill, 'SEARCH'), ...setOf(skill, 'EVAL')]) {
        if (model.generate(p.prompt, { maxTokens: 24 }).text !== p.correct) continue;
        const m = likelyMistake(model, p.prompt, p.correct);
        expect(m).not.toBe(p.correct);
        n++;
        if (m === p.wrong) same++;
      }
    }
    expect(n).toBeGreaterThan(300);
    expect(same / n).toBeGreaterThan(0.9);
  });
});

describe('modelDistractor', () => {
  it('is the model\'s own answer where it is wrong, its likely mistake where it is right', () => {
    const probes = setOf('addition', 'EVAL').slice(0, 24);
    let wrong = 0;
    for (const p of probes) {
      const said = model.generate(p.prompt, { maxTokens: 24 }).text;
      const d = modelDistractor(model, p)!;
      if (matchProbe(p, said).verdict !== 'correct') {
        wrong++;
        expect(d).toEqual({ wrong: said, source: 'greedy' });
      } else {
        expect(d).toEqual({ wrong: likelyMistake(model, p.prompt, p.correct), source: 'likely-mistake' });
      }
      expect(matchProbe(p, d.wrong).verdict).not.toBe('correct');
    }
    expect(wrong).toBeGreaterThan(0);
    const replaced = withModelDistractors(model, probes.map((p) => ({ ...p, wrong: ' 0' })));
    expect(replaced.map((p) => p.wrong)).toEqual(probes.map((p) => modelDistractor(model, p)!.wrong));
  });
});
