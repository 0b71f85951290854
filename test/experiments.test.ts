// @bankai/experiments' single-row measurements on the shipped tiny model: a virtual single-row
// flip moves the mean target gap exactly as flipping the row in the weights does, the top rows
// are the largest-scale rows of the space, and the draws are the same for a seed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model, snapshotWeights, weightsHamming, xorFlips } from '@bankai/model';
import { modelScorer, prepareProbes, scoreProbes, tinyProbeSpec } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { CandidateSpace, Rng, scaleOrder } from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';
import { randomIndices, runLayerMap, runScaleRatio, singleFlipEffects } from '@bankai/experiments';

const load = () => Model.load(bytesSource(new Uint8Array(readFileSync(modelPath)), modelPath));
const probes = async () => (await readProbeFile(tinyProbeSpec('addition', 'SEARCH'))).probes.slice(0, 12);

describe('single-row flip effects', () => {
  it('equal the change of the mean gap when the row is flipped in the weights, which are left untouched', async () => {
    const model = await load();
    const ps = await probes();
    const space = new CandidateSpace(model, { layers: [0, 3], projs: ['gate', 'down', 'q'], granularity: 'row' });
    const picks = randomIndices(space.size, 4, new Rng(9)).map((i) => space.candidate(i));
    const before = snapshotWeights(model);
    const { baseGap, deltas } = await singleFlipEffects(model, ps, [picks], { workers: 2 });
    expect(weightsHamming(before, model).bits).toBe(0);
    const meanGap = () => {
      const s = scoreProbes(modelScorer(model), prepareProbes(model.tokenizer, ps), 'seq_logprob');
      return s.reduce((a, x) => a + x.gap, 0) / s.length;
    };
    expect(baseGap).toBeCloseTo(meanGap(), 4);
    picks.forEach((c, k) => {
      xorFlips(model, [c]);
      const real = meanGap() - baseGap;
      xorFlips(model, [c]);
      expect(deltas[0]![k]).toBeCloseTo(real, 4);
    });
    expect(deltas[0]!.some((d) => Math.abs(d) > 1e-3)).toBe(true);
  });

  it('scale ratio: top rows are the largest-scale rows, draws are the same for a seed and differ between seeds', async () => {
    const model = await load();
    const ps = await probes();
    const opts = { k: 4, seeds: [1, 2], layers: [2, 3], projs: ['up' as const], workers: 1, resamples: 200 };
    const r = await runScaleRatio(model, ps, opts);
    const space = new CandidateSpace(model, { layers: [2, 3], projs: ['up'], granularity: 'row' });
    const order = scaleOrder(space);
    const top = r.groups.find((g) => g.label === 'top')!;
    expect(top.scales).toEqual(Array.from(order.subarray(0, 4), (i) => space.scale(i)));
    const random = r.groups.filter((g) => g.label === 'random');
    expect(random.map((g) => g.seed)).toEqual([1, 2]);
    expect(random[0]!.deltas).not.toEqual(random[1]!.deltas);
    expect(r.groups.filter((g) => g.label === 'matched').every((g) => g.projs.every((p) => p === 'up'))).toBe(true);
    const again = await runScaleRatio(model, ps, { ...opts, workers: 2 });
    expect(again).toEqual(r);
    if (r.ratio !== null) {
      expect(r.ci.lo).toBeLessThanOrEqual(r.ratio * 1.5);
      expect(r.ci.hi).toBeGreaterThanOrEqual(r.ratio / 1.5);
    }
  });

  it('layer map: one entry per layer, each the ratio of its mean effect to the all-layer rows', async () => {
    const model = await load();
    const r = await runLayerMap(model, await probes(), { k: 3, seeds: [1], projs: ['gate'], workers: 1, resamples: 200 });
    expect(r.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3]);
    for (const l of r.layers) {
      expect(l.deltas).toHaveLength(3);
      expect(l.meanAbs).toBeCloseTo(l.deltas.reduce((s, d) => s + Math.abs(d), 0) / 3, 12);
      if (l.ratio !== null) expect(l.ratio).toBeCloseTo(l.meanAbs / r.reference.meanAbs, 12);
    }
  });
});
