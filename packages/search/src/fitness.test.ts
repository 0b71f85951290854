// Fitness rules on hand-made gaps: margins on targets and controls, validation targets kept out
// of the fitness, the seeded validation split.
import { describe, expect, it } from 'vitest';
import { controlLoss, fitness, validationFitness } from './fitness.js';
import { validationSplit } from './search.js';

const g = (...x: number[]) => Float64Array.from(x);

describe('fitness', () => {
  // layout: 2 targets, 2 controls, 1 validation target, 1 validation control
  const base = g(-1, 3, 5, 1, -2, 1);
  const opts = { lambda: 2, aggregate: 'mean' as const, margin: 2, controlMargin: 2, validation: { targets: 1, controls: 1 } };

  it('caps target gains at the margin and counts control losses only below the control margin', () => {
    // target 0: -1 -> 1 (+2); target 1: 3 -> 9 (capped: 0); control 0: 5 -> 3 (above the margin: free);
    // control 1: 1 -> 0 (loss 1); validation: ignored by the fitness
    const f = fitness(g(1, 9, 3, 0, -9, -9), base, 2, opts);
    expect(f.targetGain).toBe(1);
    expect(f.controlLoss).toBe(0.5);
    expect(f.fitness).toBe(0);
    // without the control margin, control 0's drop of 2 costs too
    expect(controlLoss(g(1, 9, 3, 0, -9, -9), base, 2, Infinity, 2)).toBe(1.5);
    // without validation, the last two probes are controls
    expect(controlLoss(g(1, 9, 3, 0, -9, -9), base, 2, 2, 0)).toBeCloseTo((0 + 1 + 7 + 10) / 4, 12);
  });

  it('scores the validation probes by the fitness rules, only for full evaluations', () => {
    // validation target -2 -> 1 (+3); validation control 1 -> 1: no loss
    expect(validationFitness(g(0, 0, 5, 1, 1, 1), base, opts)).toEqual({ fitness: 3, targetGain: 3, controlLoss: 0 });
    // target -2 -> 7 counts up to the margin (+4); control 1 -> 0 costs lambda x 1
    expect(validationFitness(g(0, 0, 5, 1, 7, 0), base, opts)).toEqual({ fitness: 2, targetGain: 4, controlLoss: 1 });
    expect(validationFitness(g(0, 0), base, opts)).toBeUndefined(); // screened: targets only
    expect(validationFitness(g(0, 0, 5, 1, 7, 0), base, { ...opts, validation: undefined })).toBeUndefined();
  });

  it('splits the targets by seed, reproducibly, with the asked fraction', () => {
    const a = validationSplit(48, 0.33, 1);
    expect(a.size).toBe(16);
    expect([...validationSplit(48, 0.33, 1)]).toEqual([...a]);
    expect([...validationSplit(48, 0.33, 2)]).not.toEqual([...a]);
    for (const i of a) expect(i >= 0 && i < 48).toBe(true);
    expect(validationSplit(48, 0, 1).size).toBe(0);
    expect(() => validationSplit(48, 1, 1)).toThrow(/--validation must be a fraction in \[0, 1\)/);
    expect(() => validationSplit(1, 0.6, 1)).toThrow(/1 targets leaves none/);
    // targets and controls split on their own streams
    expect([...validationSplit(48, 0.33, 1, 'controls')]).not.toEqual([...a]);
  });
});
