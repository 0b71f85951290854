// The model card's accuracy table, recomputed with our engine (@bankai/model), must equal the card
// exactly (inference is deterministic) and the recorded engine outputs (model/eval-engine.json).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';
import { accuracyTable, percent, SPLITS } from './accuracy.js';
import { SKILLS } from './corpus.js';
import { modelPath } from './paths.js';

const card = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const splits = JSON.parse(readFileSync(new URL('../data/splits.json', import.meta.url), 'utf8'));
const recorded = JSON.parse(readFileSync(new URL('../model/eval-engine.json', import.meta.url), 'utf8'));

describe('accuracy table with the engine', () => {
  it('recomputes the card exactly', async () => {
    const model = await Model.load(bytesSource(new Uint8Array(readFileSync(modelPath)), modelPath));
    const table = accuracyTable(splits, (p) => model.generate(p, { maxTokens: 24 }).text);
    for (const skill of SKILLS) {
      const row = new RegExp(`^\\| ${skill} \\| ([\\d.]+%) \\| ([\\d.]+%) \\|`, 'm').exec(card);
      expect(row, `README.md has no accuracy row for ${skill}`).not.toBeNull();
      SPLITS.forEach((split, i) => {
        const key = `${skill}/${split}`;
        expect(row![i + 1], `${key} in README.md`).toBe(percent(table.correct[key]!, table.total[key]!));
        expect(table.greedy[key], key).toEqual(recorded.greedy[key]);
      });
    }
  });
});
