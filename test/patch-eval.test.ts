// evaluatePatch on the shipped tiny model: fixed / broken counted as greedy generation says,
// checked against generation done here by hand; the weights come back bit-exact; the random-patch
// null is deterministic per seed, drawn from the space it names, and its p is the empirical one.
import { beforeAll, describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { Model, modelShape, snapshotWeights, weightsHamming, xorFlips, type WeightSnapshot } from '@bankai/model';
import { createManifest } from '@bankai/patch-format';
import { matchProbe, tinyProbeSpec, type Probe } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import {
  CandidateSpace, NullSpaceError, Rng, countChanges, evaluateManifest, evaluatePatch, nullSpaceOf, randomPatch, summarizeNull,
  type Candidate,
} from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';

let model: Model;
let weights: WeightSnapshot;
let probes: Probe[];

beforeAll(async () => {
  const src = await fileSource(modelPath);
  model = await Model.load(src);
  await src.close();
  weights = snapshotWeights(model);
  probes = [
    ...(await readProbeFile(tinyProbeSpec('primality', 'EVAL'))).probes.slice(0, 24),
    ...(await readProbeFile(tinyProbeSpec('addition', 'EVAL'))).probes.slice(0, 12),
  ];
});

const unchanged = () => expect(weightsHamming(model, weights)).toEqual({ bits: 0, byTensor: new Map(), scalesDiffer: [] });

/** Greedy verdicts of `probes` computed here, with the flips XORed in (then out) by hand. */
function verdictsWith(flips: readonly Candidate[]): string[] {
  xorFlips(model, flips);
  try {
    return probes.map((p) => matchProbe(p, model.generate(p.prompt, { maxTokens: 32 }).text).verdict);
  } finally {
    xorFlips(model, flips);
  }
}

describe('countChanges and summarizeNull', () => {
  it('count a hand-made set of verdict pairs', () => {
    const v = (before: string, after: string) => ({ before: { verdict: before as 'correct' }, after: { verdict: after as 'correct' } });
    const c = countChanges([v('correct', 'correct'), v('other', 'correct'), v('distractor', 'correct'), v('correct', 'other'), v('distractor', 'other'), v('correct', 'distractor')]);
    expect(c).toEqual({ n: 6, correctBefore: 3, correctAfter: 3, fixed: 2, broken: 2, net: 0 });
  });

  it('p is (1 + #{null net >= patch net}) / (K + 1); median and max of the nets', () => {
    const counts = [[1, 1], [3, 1], [5, 0], [0, 1]].map(([fixed, broken]) => ({ fixed: fixed!, broken: broken!, net: fixed! - broken! }));
    const s = summarizeNull(2, 3, counts); // nets 0, 2, 5, -1
    expect(s.nets).toEqual([0, 2, 5, -1]);
    expect(s.p).toBe(3 / 5);
    expect(s.medianNet).toBe(1);
    expect(s.maxNet).toBe(5);
    expect(s.medianBroken).toBe(1);
    expect(summarizeNull(6, 3, counts).p).toBe(1 / 5);
    expect(summarizeNull(-5, 3, counts).p).toBe(1);
  });
});

describe('randomPatch', () => {
  it('draws distinct candidates of the space, uniformly without replacement, the same for the same seed', () => {
    const space = new CandidateSpace(model, { layers: [1, 3], projs: ['up', 'down'], granularity: 'row' });
    const a = randomPatch(space, 40, new Rng(5));
    expect(randomPatch(space, 40, new Rng(5))).toEqual(a);
    expect(randomPatch(space, 40, new Rng(6))).not.toEqual(a);
    const idx = a.map((c) => space.indexOf(c));
    expect(idx.every((i) => i >= 0)).toBe(true);
    expect(new Set(idx).size).toBe(40);
    expect(randomPatch(space, space.size, new Rng(1)).map((c) => space.indexOf(c))).toEqual(Array.from({ length: space.size }, (_, i) => i));
    expect(() => randomPatch(space, space.size + 1, new Rng(1))).toThrow(RangeError);
    // uniform: over many single draws, each tensor is hit in proportion to its candidates
    const hits = new Map<string, number>();
    const rng = new Rng(9);
    for (let i = 0; i < 4000; i++) {
      const [c] = randomPatch(space, 1, rng);
      hits.set(c!.tensor, (hits.get(c!.tensor) ?? 0) + 1);
    }
    for (const t of space.tensors) expect(Math.abs(hits.get(t.name)! / 4000 - t.count / space.size)).toBeLessThan(0.03);
    const groups = new CandidateSpace(model, { layers: [0], projs: ['gate'], granularity: 'group' });
    expect(randomPatch(groups, 5, new Rng(2)).every((c) => c.group !== undefined)).toBe(true);
  });
});

describe('evaluatePatch', () => {
  const yesRow = (): Candidate[] => [{ tensor: 'output', row: model.encode(' yes')[0]! }];

  it('counts fixed and broken as generation with the patch says (the output row of " yes" negated)', () => {
    const before = verdictsWith([]);
    const after = verdictsWith(yesRow());
    const e = evaluatePatch(model, yesRow(), probes, { metric: 'seq_logprob' });
    unchanged();
    expect(e.flips).toBe(1);
    expect(e.probes.map((c) => c.before.verdict)).toEqual(before);
    expect(e.probes.map((c) => c.after.verdict)).toEqual(after);
    const fixed = before.filter((b, i) => b !== 'correct' && after[i] === 'correct').length;
    const broken = before.filter((b, i) => b === 'correct' && after[i] !== 'correct').length;
    expect(fixed + broken).toBeGreaterThan(0);
    expect(e.total).toEqual({
      n: probes.length, correctBefore: before.filter((v) => v === 'correct').length, correctAfter: after.filter((v) => v === 'correct').length,
      fixed, broken, net: fixed - broken,
    });
    expect(Object.keys(e.byCategory)).toEqual(['primality', 'addition']);
    expect(e.byCategory.primality!.n).toBe(24);
    expect(e.byCategory.addition!.fixed + e.byCategory.primality!.fixed).toBe(fixed);
    for (const c of e.probes) {
      expect(c.change).toBe(c.before.verdict !== 'correct' && c.after.verdict === 'correct' ? 'fixed' : c.before.verdict === 'correct' && c.after.verdict !== 'correct' ? 'broken' : 'same');
      expect(c.before.gap).toBeCloseTo(model.score(c.probe.prompt, c.probe.correct).logprob - model.score(c.probe.prompt, c.probe.wrong!).logprob, 4);
    }
    // addition answers do not start with " yes": nothing there changes
    expect(e.byCategory.addition).toMatchObject({ fixed: 0, broken: 0 });
    expect(e.null).toBeUndefined();
  });

  it('the null: K random patches of the same size, deterministic per seed, model bit-exact afterwards, p as defined', () => {
    const space = { layers: [2, 3], projs: ['gate', 'up'] as const, granularity: 'row' as const };
    const patch = randomPatch(new CandidateSpace(model, space), 3, new Rng(100));
    const opts = { null: { patches: 5, seed: 11, ...space } };
    const a = evaluatePatch(model, patch, probes, opts);
    unchanged();
    const b = evaluatePatch(model, patch, probes, opts);
    expect(b).toEqual(a);
    const n = a.null!;
    expect(n.patches).toBe(5);
    expect(n.flips).toBe(3);
    expect(n.nets).toHaveLength(5);
    expect(n.p).toBe((1 + n.nets.filter((x) => x >= a.total.net).length) / 6);
    expect(n.byCategory.primality!.p).toBe((1 + n.byCategory.primality!.nets.filter((x) => x >= a.byCategory.primality!.net).length) / 6);
    expect(n.nets.map((_, i) => n.byCategory.primality!.nets[i]! + n.byCategory.addition!.nets[i]!)).toEqual(n.nets);
    // the random patches are randomPatch(space, 3, Rng(seed)) in order: recompute the first two by hand
    const cs = new CandidateSpace(model, { ...space, projs: [...space.projs] });
    const rng = new Rng(11);
    const before = verdictsWith([]);
    for (let i = 0; i < 2; i++) {
      const after = verdictsWith(randomPatch(cs, 3, rng));
      const fixed = before.filter((v, j) => v !== 'correct' && after[j] === 'correct').length;
      const broken = before.filter((v, j) => v === 'correct' && after[j] !== 'correct').length;
      expect([n.fixed[i], n.broken[i], n.nets[i]]).toEqual([fixed, broken, fixed - broken]);
    }
    // another seed: other random patches; K = 2 is the first two of K = 5
    const other = evaluatePatch(model, patch, probes, { null: { ...opts.null, seed: 12 } });
    expect(other.null!.seed).toBe(12);
    const two = evaluatePatch(model, patch, probes, { null: { ...opts.null, patches: 2 } });
    expect(two.null!.nets).toEqual(n.nets.slice(0, 2));
    expect(evaluatePatch(model, patch, probes, { null: { ...opts.null, patches: 0 } }).null).toBeUndefined();
    unchanged();
  });

  it('reverts the patch when generation throws', () => {
    const broken = [{ name: 'x', prompt: 'Q: is 7 prime? A:', correct: ' yes' }] as Probe[];
    const thrower = new Proxy(model, { get: (t, k) => (k === 'generate' ? () => { throw new Error('boom'); } : Reflect.get(t, k)) });
    expect(() => evaluatePatch(thrower, yesRow(), broken)).toThrow('boom');
    unchanged();
  });
});

describe('evaluateManifest and nullSpaceOf', () => {
  it('checks the manifest against the model, counts its real bits, warns about an unchecked fingerprint', () => {
    const m = createManifest({ flips: [{ tensor: 'blk.1.ffn_up', row: 3 }], provenance: { tool: 'test' }, model: modelShape(model) });
    const e = evaluateManifest(model, m, probes.slice(0, 4));
    expect(e.flips).toBe(1);
    expect(e.bitsFlipped).toBe(model.config.nEmbd);
    expect(e.warnings.join(' ')).toMatch(/sha256|fingerprint/);
    expect(() => evaluateManifest(model, createManifest({ flips: [{ tensor: 'blk.1.ffn_up', row: 1 << 20 }], provenance: { tool: 't' } }), probes)).toThrow(/row/);
    unchanged();
  });

  it('takes the search space from provenance.search, else from the flips; a typed error when neither works', () => {
    const flips = [{ tensor: 'blk.2.ffn_up', row: 1 }, { tensor: 'blk.0.attn_q', row: 4 }];
    expect(nullSpaceOf({ flips, provenance: { tool: 't', search: { layers: [0, 1, 2, 3], projs: ['gate', 'up', 'down'], granularity: 'row' } } }))
      .toEqual({ layers: [0, 1, 2, 3], projs: ['gate', 'up', 'down'], granularity: 'row', source: 'provenance.search' });
    expect(nullSpaceOf({ flips, provenance: { tool: 't' } })).toEqual({ layers: [0, 2], projs: ['up', 'q'], granularity: 'row', source: 'flips' });
    expect(nullSpaceOf({ flips: [{ tensor: 'blk.1.ffn_down', row: 1, group: 2 }], provenance: { tool: 't' } }).granularity).toBe('group');
    // a canonical manifest writes a one-group row's flip as group 0: that is a row
    const oneGroup = { 'blk.1.ffn_up': [128, 512] as const, 'blk.1.ffn_down': [512, 128] as const };
    expect(nullSpaceOf({ flips: [{ tensor: 'blk.1.ffn_up', row: 1, group: 0 }, { tensor: 'blk.1.ffn_down', row: 1 }], provenance: { tool: 't' }, base: { tensors: oneGroup } }).granularity).toBe('row');
    expect(() => nullSpaceOf({ flips: [{ tensor: 'blk.1.ffn_down', row: 1, group: 0 }, { tensor: 'blk.1.ffn_down', row: 2 }], provenance: { tool: 't' }, base: { tensors: oneGroup } })).toThrow(NullSpaceError);
    for (const bad of [[], [{ tensor: 'output', row: 1 }], [{ tensor: 'blk.1.ffn_up', row: 1, bit: 3 }], [{ tensor: 'blk.1.ffn_up', row: 1 }, { tensor: 'blk.1.ffn_up', row: 2, group: 0 }]]) {
      expect(() => nullSpaceOf({ flips: bad, provenance: { tool: 't' } })).toThrow(NullSpaceError);
    }
  });
});
