// The model card's accuracy table, recomputed with our engine (@bankai/model), must equal the card
// exactly (inference is deterministic) and the recorded engine outputs (model/eval-engine.json).
// The tiny model's whole table is recomputed; bankai-small's card is checked against its recorded
// outputs and a seeded eighth of those outputs is regenerated (the whole table is ~5,000 greedy
// generations on 8 layers: scripts/eval-engine.mjs --preset small regenerates it).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';
import { percent, SPLITS } from './accuracy.js';
import { readJson, readText, SHIPPED_MODELS } from './test-models.js';

describe.each(SHIPPED_MODELS)('accuracy table of preset $preset with the engine', (m) => {
  const card = readText(m, 'README.md');
  const splits = readJson(m, 'data/splits.json');
  const recorded = readJson(m, 'model/eval-engine.json');

  it('the card equals the recorded engine outputs', () => {
    for (const skill of m.skills) {
      const row = new RegExp(`^\\| ${skill} \\| ([\\d.]+%) \\| ([\\d.]+%) \\|`, 'm').exec(card);
      expect(row, `README.md has no accuracy row for ${skill}`).not.toBeNull();
      SPLITS.forEach((split, i) => {
        const key = `${skill}/${split}`;
        const rows: Array<{ answer: string }> = splits.skills[skill][split];
        const outs: string[] = recorded.greedy[key];
        expect(outs.length, key).toBe(rows.length);
        const correct = outs.filter((o, j) => o === rows[j]!.answer).length;
        expect(row![i + 1], `${key} in README.md`).toBe(percent(correct, rows.length));
        expect(recorded.correct[key], key).toBe(correct);
      });
    }
  });

  it(m.fullTable ? 'regenerates every recorded output' : 'regenerates a seeded eighth of the recorded outputs', async () => {
    const model = await Model.load(bytesSource(new Uint8Array(readFileSync(m.modelPath)), m.modelPath));
    let checked = 0;
    for (const skill of m.skills)
      for (const split of SPLITS) {
        const key = `${skill}/${split}`;
        const rows: Array<{ prompt: string }> = splits.skills[skill][split];
        rows.forEach((e, j) => {
          if (!m.fullTable && (j * 7 + skill.length) % 8 !== 0) return;
          expect(model.generate(e.prompt, { maxTokens: 24 }).text, `${key} #${j}: ${e.prompt}`).toBe(recorded.greedy[key][j]);
          checked++;
        });
      }
    expect(checked).toBeGreaterThan(m.fullTable ? 2000 : 400);
  });
});
