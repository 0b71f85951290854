// The card's float-control row says what train/float-control.json recorded (train/float-control.py:
// the 1-bit and the float checkpoint on the same fixed batches, the float run's greedy accuracy).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHIPPED_MODELS } from './test-models.js';

const SKILL_WORDS: Record<string, string> = { second_derivative: 'second derivative', capital: 'capital' };

describe.each(SHIPPED_MODELS.map((m) => [m.preset, m] as const))('the %s model card', (_preset, m) => {
  it('states the float control as recorded: both losses on the fixed batches and every skill\'s float held-out accuracy', () => {
    const record = JSON.parse(readFileSync(new URL('train/float-control.json', m.dir), 'utf8')) as {
      accuracy_torch_greedy: Record<string, number>;
      loss_40_fixed_batches: { one_bit: number; float: number; gap: number };
    };
    const card = readFileSync(new URL('README.md', m.dir), 'utf8');
    const row = card.split('\n').find((l) => l.startsWith('| float control |'));
    expect(row, 'a "| float control |" row in the card').toBeDefined();
    const loss = record.loss_40_fixed_batches;
    expect(row).toContain(`loss ${loss.float.toFixed(3)} vs ${loss.one_bit.toFixed(3)}`);
    expect(row).toContain(`**${(loss.one_bit - loss.float).toFixed(3)} nats/token**`);
    for (const skill of m.skills) {
      const acc = record.accuracy_torch_greedy[`${skill}/heldout`];
      expect(acc, `${skill}/heldout in the record`).toBeTypeOf('number');
      expect(row).toContain(`${SKILL_WORDS[skill] ?? skill} ${(100 * acc!).toFixed(1)}%`);
    }
  });
});
