// Fitness rules on hand-made gaps: margins on targets and controls, validation targets kept out
// of the fitness, the seeded validation split.
import { describe, expect, it } from 'vitest';
import { controlLoss, fitness, validationGain } from './fitness.js';
import { validationSplit } from './search.js';

const g = (...x: number[]) => Float64Array.from(x);

describe('fitness', () => {
  // layout: 2 targets, 2 controls, 1 validation target
  const base = g(-1, 3, 5, 1, -2);
  const opts = { lambda: 2, aggregate: 'mean' as const, margin: 2, controlMargin: 2, validationCount: 1 };

  it('caps target gains at the margin and counts control losses only below the control margin', () => {
    // target 0: -1 -> 1 (+2); target 1: 3 -> 9 (capped: 0); control 0: 5 -> 3 (above the margin: free);
    // control 1: 1 -> 0 (loss 1); validation: ignored by the fitness
    const f = fitness(g(1, 9, 3, 0, -9), base, 2, opts);
    expect(f.targetGain).toBe(1);
    expect(f.controlLoss).toBe(0.5);
    expect(f.fitness).toBe(0);
    // without the control margin, control 0's drop of 2 costs too
    expect(controlLoss(g(1, 9, 3, 0, -9), base, 2, Infinity, 1)).toBe(1.5);
    // without validation, the last probe is a control
    expect(controlLoss(g(1, 9, 3, 0, -9), base, 2, 2, 0)).toBeCloseTo((0 + 1 + 7) / 3, 12);
  });

  it('reports the validation gain, margin-capped, only for full evaluations', () => {
    expect(validationGain(g(0, 0, 5, 1, 1), base, opts)).toBe(3);
    expect(validationGain(g(0, 0, 5, 1, 7), base, opts)).toBe(4); // -2 -> 7 counts up to 2
    expect(validationGain(g(0, 0), base, opts)).toBeUndefined(); // screened: targets only
    expect(validationGain(g(0, 0, 5, 1, 7), base, { ...opts, validationCount: 0 })).toBeUndefined();
  });

  it('splits the targets by seed, reproducibly, with the asked fraction', () => {
    const a = validationSplit(48, 0.33, 1);
    expect(a.size).toBe(16);
    expect([...validationSplit(48, 0.33, 1)]).toEqual([...a]);
    expect([...validationSplit(48, 0.33, 2)]).not.toEqual([...a]);
    for (const i of a) expect(i >= 0 && i < 48).toBe(true);
    expect(validationSplit(48, 0, 1).size).toBe(0);
    expect(() => validationSplit(48, 1, 1)).toThrow(/fraction in \[0, 1\)/);
    expect(() => validationSplit(1, 0.6, 1)).toThrow(/leaves none/);
  });
});
