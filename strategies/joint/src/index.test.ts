// The joint strategy's held-out-proxy rule (validationPasses) on hand-made validation results:
// drops may not lower the validation fitness, moves that add a flip must raise it past their cost,
// no move may break more validation answers than it fixes (or fewer than validation-net fixes
// beyond), and no domain may lose more than domain-loss of its validation answers.
import { describe, expect, it } from 'vitest';
import type { Evaluation } from '@bankai/search';
import { jointValidationFitness, moveKind, RefusalTally, validationPasses, validationRefusals } from './index.js';

type V = NonNullable<Evaluation['validation']>;
const v = (over: Partial<V>): V => ({ fitness: 0, targetGain: 0, controlLoss: 0, se: 0, fixed: 0, broken: 0, ...over });

describe('jointValidationFitness', () => {
  it('is the validation fitness with one domain, and the mean of the domains\' gains minus the control term with several', () => {
    expect(jointValidationFitness(v({ fitness: 0.7, targetGain: 1 }))).toBe(0.7);
    // pooled gain 3 (2 + 1), fitness 2.5: the control term is 0.5; the mean of the domains is 1.5
    const x = v({ fitness: 2.5, targetGain: 3, domains: [{ targetGain: 2, fixed: 0, broken: 0 }, { targetGain: 1, fixed: 0, broken: 0 }] });
    expect(jointValidationFitness(x)).toBeCloseTo(1.0, 12);
  });
});

describe('validationPasses', () => {
  const two = (a: [number, number], b: [number, number], gain = [0.1, 0.1]) => v({
    fitness: gain[0]! + gain[1]!, targetGain: gain[0]! + gain[1]!, fixed: a[0] + b[0], broken: a[1] + b[1],
    domains: [{ targetGain: gain[0]!, fixed: a[0], broken: a[1] }, { targetGain: gain[1]!, fixed: b[0], broken: b[1] }],
  });
  it('lets a drop keep the validation fitness, and asks a move that adds a flip to raise it past the threshold', () => {
    expect(validationPasses(v({ fitness: 0 }), 0, 'drop', 0, 0)).toBe(true);
    expect(validationPasses(v({ fitness: -1e-9 }), 0, 'drop', 0, 0)).toBe(false);
    expect(validationPasses(v({ fitness: 0.25 }), 0.25, 'add', 0, 0)).toBe(false);
    expect(validationPasses(v({ fitness: 0.26 }), 0.25, 'add', 0, 0)).toBe(true);
    expect(validationPasses(v({ fitness: 0 }), 0, 'swap', 0, 0)).toBe(false);
  });
  it('refuses a move that breaks more validation answers than it fixes, or fewer than validation-net fixes beyond', () => {
    expect(validationPasses(v({ fitness: 1, fixed: 1, broken: 2 }), 0, 'drop', 0, -1)).toBe(false);
    expect(validationPasses(v({ fitness: 1, fixed: 2, broken: 2 }), 0, 'drop', 0, -1)).toBe(true);
    expect(validationPasses(v({ fitness: 1, fixed: 2, broken: 2 }), 0, 'drop', 1, -1)).toBe(false);
  });
  it('refuses a move that costs one domain validation answers, even when another gains more, unless domain-loss allows it', () => {
    const trade = two([0, 1], [3, 0]); // domain 0 loses one answer, domain 1 gains three
    expect(validationPasses(trade, 0, 'drop', 0, 0)).toBe(false);
    expect(validationPasses(trade, 0, 'drop', 0, 1)).toBe(true);
    expect(validationPasses(trade, 0, 'drop', 0, -1)).toBe(true);
    expect(validationPasses(two([1, 1], [1, 0]), 0, 'drop', 0, 0)).toBe(true);
  });
  it('weighs the domains as the objective does: a move whose mean domain gain falls is refused', () => {
    // pooled gain +0.1, but the control term 0.2 takes the mean domain gain (0.05) below 0
    const x = v({ fitness: -0.1, targetGain: 0.1, domains: [{ targetGain: 0.3, fixed: 0, broken: 0 }, { targetGain: -0.2, fixed: 0, broken: 0 }] });
    expect(validationPasses(x, 0, 'drop', 0, -1)).toBe(false);
  });
});

describe('validationRefusals', () => {
  it('names every rule a move fails, and none when it passes', () => {
    const loses = v({ fitness: 0.1, fixed: 0, broken: 2, domains: [{ targetGain: 0.1, fixed: 0, broken: 2 }] });
    expect(validationRefusals(loses, 0.25, 'add', 0, 0)).toEqual(['validation fitness', 'validation net', 'domain loss']);
    expect(validationRefusals(loses, 0.25, 'drop', -2, 2)).toEqual([]);
    expect(validationRefusals(loses, 0, 'add', 0, -1)).toEqual(['validation net']);
  });
});

describe('RefusalTally', () => {
  it('counts the moves that raise nothing apart, and per rule those that raise the fitness and are refused', () => {
    const t = new RefusalTally();
    expect(t.toString()).toBe('0 judged: 0 do not raise the patch fitness past their cost');
    t.add(false, ['domain loss']); // raises nothing: its rules are not what refused it
    t.add(true, ['domain loss', 'validation fitness']);
    t.add(true, ['domain loss']);
    t.add(true, []);
    expect(t.judged).toBe(4);
    expect(t.toString()).toBe('4 judged: 1 does not raise the patch fitness past their cost; of the 3 that do, refused by domain loss 2, validation fitness 1');
  });
});

describe('moveKind', () => {
  it('names drops, adds and swaps by the flips already in the patch', () => {
    const a = { tensor: 'blk.0.ffn_up.weight', row: 1 };
    const b = { tensor: 'blk.0.ffn_up.weight', row: 2 };
    const inPatch = (c: { row: number }) => c.row === 1;
    expect(moveKind([a], inPatch)).toBe('drop');
    expect(moveKind([b], inPatch)).toBe('add');
    expect(moveKind([a, b], inPatch)).toBe('swap');
  });
});
