// Random bit-flip robustness (@bankai/search runRobustness) on the shipped tiny model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model, snapshotWeights, weightsHamming, xorFlips } from '@bankai/model';
import { readProbeFile } from '@bankai/probes/node';
import { tinyProbeSpec } from '@bankai/probes';
import { Rng } from '@bankai/rng';
import { modelPath } from '@bankai/tiny-model';
import { meanNll, randomBitFlips, runRobustness } from '@bankai/search';

const load = () => Model.load(bytesSource(new Uint8Array(readFileSync(modelPath)), modelPath));

describe('random bit-flip robustness', () => {
  it('draws distinct in-range bits, the same for a seed, and flipping them twice restores the weights', async () => {
    const model = await load();
    const a = randomBitFlips(model, 500, new Rng(3));
    expect(randomBitFlips(model, 500, new Rng(3))).toEqual(a);
    expect(randomBitFlips(model, 500, new Rng(4))).not.toEqual(a);
    expect(new Set(a.map((f) => `${f.tensor}/${f.row}/${f.bit}`)).size).toBe(500);
    const before = snapshotWeights(model);
    xorFlips(model, a);
    expect(weightsHamming(before, model).bits).toBe(500);
    xorFlips(model, a);
    expect(weightsHamming(before, model).bits).toBe(0);
    expect(() => randomBitFlips(model, -1, new Rng(1))).toThrow(RangeError);
  });

  it('measures nothing for 0 bits, something for many, and leaves the model as it found it', async () => {
    const model = await load();
    const probes = (await readProbeFile(tinyProbeSpec('addition', 'EVAL'))).probes.slice(0, 12);
    const text = probes.map((p) => p.prompt + p.correct);
    const base = meanNll(model, text);
    const before = snapshotWeights(model);
    const r = runRobustness(model, { bits: [0, 20_000], seeds: [1, 2], text, probes });
    expect(weightsHamming(before, model).bits).toBe(0);
    expect(r.baseNll).toBe(base.nll);
    const [none, many] = r.points;
    expect(none!.perplexityChange.max).toBe(0);
    expect(none!.changed.max).toBe(0);
    expect(many!.fraction).toBeCloseTo(20_000 / r.oneBitWeights, 12);
    expect(Math.abs(many!.perplexityChange.mean)).toBeGreaterThan(0);
    expect(many!.runs.map((x) => x.seed)).toEqual([1, 2]);
  });
});
