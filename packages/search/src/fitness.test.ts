// Fitness rules on hand-made gaps: margins on targets and controls, validation targets kept out
// of the fitness, the seeded validation split.
import { describe, expect, it } from 'vitest';
import { clearsSelectionBar, controlLoss, fitness, normalUpperTail, portableExp, stratumWeights, validationFitness, validationPValue } from './fitness.js';
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
    expect(validationFitness(g(0, 0, 5, 1, 1, 1), base, opts)).toEqual({ fitness: 3, targetGain: 3, controlLoss: 0, se: 3 });
    // target -2 -> 7 counts up to the margin (+4); control 1 -> 0 costs lambda x 1
    expect(validationFitness(g(0, 0, 5, 1, 7, 0), base, opts)).toEqual({ fitness: 2, targetGain: 4, controlLoss: 1, se: Math.sqrt(4 ** 2 + (2 * 1) ** 2) });
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

  describe('the accuracy objective', () => {
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const acc = { lambda: 1, aggregate: 'mean' as const, objective: 'accuracy' as const, temperature: 1, validation: { targets: 1, controls: 1 } };

    it('sums expected answers: a fixed target counts about +1, a broken control about -1, margins do not apply', () => {
      // targets: -6 -> 6 (fixed), 4 -> 5 (a safe win grows: almost nothing); controls: 6 -> -6 (broken), -2 -> -3 (a failure gets worse: a little)
      const b = g(-6, 4, 6, -2, 0, 0);
      const f = fitness(g(6, 5, -6, -3, 9, -9), b, 2, { ...acc, margin: 2, controlMargin: 2 });
      expect(f.targetGain).toBeCloseTo(sig(6) - sig(-6) + sig(5) - sig(4), 12);
      expect(f.targetGain).toBeGreaterThan(0.99);
      expect(f.controlLoss).toBeCloseTo(sig(6) - sig(-6) + sig(-2) - sig(-3), 12);
      expect(f.fitness).toBeCloseTo(f.targetGain - f.controlLoss, 12);
      // the temperature sharpens it toward a count
      expect(fitness(g(6, 5, -6, -3, 9, -9), b, 2, { ...acc, temperature: 0.01 }).fitness).toBeCloseTo(0, 6);
    });

    it('scores validation probes in answers too', () => {
      const b = g(0, 0, 0, 0, -5, 5);
      const v = validationFitness(g(0, 0, 0, 0, 5, -5), b, acc)!;
      expect(v.targetGain).toBeCloseTo(sig(5) - sig(-5), 12);
      expect(v.controlLoss).toBeCloseTo(sig(5) - sig(-5), 12);
      expect(v.fitness).toBeCloseTo(0, 12);
      // the spread of a no-effect flip: each probe's term, squared, summed (lambda 1)
      expect(v.se).toBeCloseTo(Math.SQRT2 * (sig(5) - sig(-5)), 12);
    });

    it('gives the validation fitness the sign-flip standard error of its per-probe terms, weights and lambda included', () => {
      // 3 validation targets (weights 1, 2, 0.5), 2 validation controls, lambda 3, after 1 fit target
      const opts3 = { ...acc, lambda: 3, validation: { targets: 3, controls: 2 }, targetWeights: g(1, 1, 2, 0.5) };
      const b = g(0, -1, 2, 0, 1, 1);
      const x = g(0, 1, 1, 3, 0, 4);
      const v = validationFitness(x, b, opts3)!;
      const t = [1 * (sig(1) - sig(-1)), 2 * (sig(1) - sig(2)), 0.5 * (sig(3) - sig(0))];
      const c = [3 * (sig(1) - sig(0)), 0]; // the second control rose: no hinge
      expect(v.fitness).toBeCloseTo(t[0]! + t[1]! + t[2]! - c[0]!, 12);
      expect(v.se).toBeCloseTo(Math.sqrt([...t, ...c].reduce((a, y) => a + y * y, 0)), 12);
    });
  });

  describe('stratum weights', () => {
    it('weigh right and wrong targets as the population mixes them, each group apart, summing to its size', () => {
      // group 0: 1 right, 3 wrong, population 75% right; group 1: all wrong (kept at 1)
      const w = stratumWeights([1, 0, 0, 0, 0, 0], 0.75, [[0, 4], [4, 6]]);
      expect([...w]).toEqual([3, 1 / 3, 1 / 3, 1 / 3, 1, 1]);
      expect(w.subarray(0, 4).reduce((a, b) => a + b, 0)).toBeCloseTo(4, 12);
      expect(() => stratumWeights([1], 1, [[0, 1]])).toThrow(/pass rate/);
    });

    it('turn a fix of many failures that breaks a few right answers into the loss it is on the population', () => {
      // 3 failures fixed, 1 right answer broken, in a set of 4 drawn failures-first from a skill the model gets 90% right
      const b = g(-5, -5, -5, 5);
      const after = g(5, 5, 5, -5);
      const plain = fitness(after, b, 4, { lambda: 1, aggregate: 'mean', objective: 'accuracy' });
      expect(plain.fitness).toBeGreaterThan(1.9);
      const weighted = fitness(after, b, 4, { lambda: 1, aggregate: 'mean', objective: 'accuracy', targetWeights: stratumWeights([0, 0, 0, 1], 0.9, [[0, 4]]) });
      expect(weighted.fitness).toBeLessThan(-3);
    });
  });
});

describe('portableExp', () => {
  it('is e^x to within 1e-15 relative on random and edge inputs (+ - * / only: bit-identical on every engine)', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const xs = [0, -0, 1, -1, 0.5, Math.LN2, -Math.LN2, 1e-12, -1e-12, 700, -700, 708, -708];
    for (let i = 0; i < 20000; i++) xs.push((rand() - 0.5) * 200);
    for (const x of xs) {
      const e = Math.exp(x);
      expect(Math.abs(portableExp(x) - e) / e, `x = ${x}`).toBeLessThan(1e-15);
    }
    expect(portableExp(0)).toBe(1);
    expect(portableExp(800)).toBe(Infinity);
    expect(portableExp(-800)).toBe(0);
    expect(portableExp(NaN)).toBeNaN();
  });

  describe('the validation p-value', () => {
    it('is the standard normal upper tail of fitness / se (tabulated values), 1 when nothing moved', () => {
      // Phi(-z) from tables: 0.5, 0.158655, 0.0249979, 0.00134990, 2.86652e-7
      for (const [z, p] of [[0, 0.5], [1, 0.158655254], [1.96, 0.0249978951], [3, 0.0013498980], [5, 2.8665157e-7]] as const) {
        expect(normalUpperTail(z) / p).toBeCloseTo(1, 6);
        expect(normalUpperTail(-z)).toBeCloseTo(1 - p, 7);
      }
      expect(validationPValue({ fitness: 2, se: 1 })).toBeCloseTo(0.0227501319, 8);
      expect(validationPValue({ fitness: -2, se: 1 })).toBeCloseTo(1 - 0.0227501319, 8);
      expect(validationPValue({ fitness: 0, se: 0 })).toBe(1);
    });

    it('clears the selection bar at p <= alpha / judged; alpha 0 is no bar', () => {
      const v = { fitness: 2, se: 1 }; // p = 0.02275
      expect(clearsSelectionBar(v, 0.2, 8)).toBe(true); // 0.025
      expect(clearsSelectionBar(v, 0.2, 9)).toBe(false); // 0.0222
      expect(clearsSelectionBar({ fitness: -5, se: 1 }, 0, 64)).toBe(true);
    });
  });
});
