import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource, GGML_TYPE, memorySink } from '@bankai/gguf';
import { generateQwen3, presetOptions } from '@bankai/model-gen';
import { Rng } from '@bankai/rng';
import {
  bakePatch,
  bitsFlipped,
  createManifest,
  groupFlip,
  normalize,
  rowFlip,
  type Flip,
} from '@bankai/patch-format';
import { Model } from './model.js';
import { applyPatch, modelShape, oneBitTensors, snapshotWeights, weightsHamming } from './patching.js';
import { randomModelFlips } from '../../patch-format/testing/random-patches.js';

const PROVENANCE = { tool: 'bankai-test' };
let base: Uint8Array;

beforeAll(async () => {
  const sink = memorySink();
  await generateQwen3(presetOptions('small', { seed: 21 }), sink);
  base = sink.bytes();
});

const load = (bytes: Uint8Array) => Model.load(bytesSource(bytes), { maxContext: 32 });


describe('applyPatch / revert', () => {
  for (const seed of [1, 2, 3]) {
    it(`apply flips exactly the patch's bits (= the baked file) and revert restores every bit (seed ${seed})`, async () => {
      const model = await load(base);
      const shape = modelShape(model);
      const flips = randomModelFlips(shape, seed, 60, 3);
      const kinds = new Set(flips.map((f) => (f.group !== undefined ? 'group' : f.bit !== undefined ? 'bit' : 'row')));
      expect(kinds).toEqual(new Set(['row', 'group', 'bit']));
      const manifest = createManifest({ provenance: PROVENANCE, flips, model: shape });
      const before = snapshotWeights(model);

      const applied = applyPatch(model, manifest);
      const bits = bitsFlipped(flips, shape.tensors)!;
      expect(applied.bitsFlipped).toBe(bits);
      expect(applied.flips).toBe(flips.length);
      expect(applied.micros).toBeGreaterThanOrEqual(0);
      const moved = weightsHamming(before, model);
      expect(moved.bits).toBe(bits);
      expect(moved.scalesDiffer).toEqual([]);
      for (const [tensor, n] of moved.byTensor) expect(n).toBe(bitsFlipped(flips.filter((f) => f.tensor === tensor), shape.tensors));

      // the engine now holds exactly what the baked file holds
      const sink = memorySink();
      await bakePatch(bytesSource(base), manifest, sink);
      const baked = await load(sink.bytes());
      expect(weightsHamming(model, baked).bits).toBe(0);

      applied.revert();
      const after = weightsHamming(before, model);
      expect(after.bits).toBe(0);
      expect(after.scalesDiffer).toEqual([]);
      expect(() => applied.revert()).toThrow(/already reverted/);
    });
  }

  it('validates before any bit moves: wrong fingerprint refuses unless forced, out-of-range flips always refuse', async () => {
    const model = await load(base);
    const shape = modelShape(model, 'a'.repeat(64));
    const before = snapshotWeights(model);
    const manifest = createManifest({ provenance: PROVENANCE, base: { sha256: 'b'.repeat(64) }, flips: [rowFlip('blk.1.ffn_up', 5)], model: shape });
    expect(() => applyPatch(model, manifest, { sha256: 'a'.repeat(64), file: 'p.json' })).toThrow(/p\.json: base: the patch was made for another model: base\.sha256 is b{64} but the model file's sha256 is a{64}.*--force/);
    expect(weightsHamming(before, model).bits).toBe(0);
    const forced = applyPatch(model, manifest, { sha256: 'a'.repeat(64), force: true });
    expect(forced.warnings).toEqual([`--force: base.sha256 is ${'b'.repeat(64)} but the model file's sha256 is ${'a'.repeat(64)}`]);
    expect(weightsHamming(before, model).bits).toBe(256);
    forced.revert();
    // without a sha256 the fingerprint is not checked, and the caller is told
    expect(applyPatch(model, manifest).warnings).toEqual(['the model file sha256 was not computed, so the patch fingerprint was not checked']);

    const outside = createManifest({ provenance: PROVENANCE, flips: [rowFlip('blk.1.ffn_up', 5), groupFlip('blk.0.ffn_down', 1, 6)] });
    const now = snapshotWeights(model);
    expect(() => applyPatch(model, outside, { force: true })).toThrow(/flips\[0\] \(blk\.0\.ffn_down row 1 group 6\): group 6 is out of range: blk\.0\.ffn_down rows have groups 0\.\.5/);
    expect(weightsHamming(now, model).bits).toBe(0);
  });

  it('lists every 1-bit tensor once (untied output included)', async () => {
    const model = await load(base);
    const names = [...oneBitTensors(model.weights).keys()];
    const o = presetOptions('small');
    expect(names).toHaveLength(1 + 7 * o.nLayer + 1);
    expect(names[0]).toBe('token_embd');
    expect(names.at(-1)).toBe('output');
  });
});

describe('virtual flips agree with applied flips', () => {
  const tokens = [5, 77, 300, 12, 9, 1000, 42, 7];

  async function compare(flips: Flip[]): Promise<{ virtual: Float32Array; applied: Float32Array; plain: Float32Array }> {
    const model = await load(base);
    const e = model.engine;
    const plain = model.logprobs(tokens).slice();
    const byTensor = new Map<string, { rows: number[]; groups: [number, number][] }>();
    for (const f of flips) {
      let t = byTensor.get(f.tensor);
      if (!t) byTensor.set(f.tensor, (t = { rows: [], groups: [] }));
      if (f.group !== undefined) t.groups.push([f.row, f.group]);
      else t.rows.push(f.row);
    }
    model.runner.setVirtualFlips(new Map([...byTensor].map(([name, t]) => [name, e.writeFlips(t.rows, t.groups)])));
    const virtual = model.logprobs(tokens).slice();
    model.runner.setVirtualFlips(new Map());
    const manifest = createManifest({ provenance: PROVENANCE, flips, model: modelShape(model) });
    const applied = applyPatch(model, manifest);
    const patched = model.logprobs(tokens).slice();
    applied.revert();
    expect(model.logprobs(tokens)).toEqual(plain); // and revert restores the outputs exactly
    return { virtual, applied: patched, plain };
  }

  it('row flips: bit-identical log-probs', async () => {
    const shape = modelShape(await load(base));
    const rng = new Rng(4, 4);
    const blockTensors = [...shape.tensors.keys()].filter((n) => n.startsWith('blk.') && shape.tensors.get(n)!.type === GGML_TYPE.Q1_0);
    const flips = normalize(Array.from({ length: 24 }, () => {
      const t = blockTensors[rng.nextU32() % blockTensors.length]!;
      return rowFlip(t, rng.nextU32() % shape.tensors.get(t)!.rows);
    }).concat([rowFlip('output', 17)]), shape.tensors);
    const r = await compare(flips);
    expect(r.applied).not.toEqual(r.plain);
    expect(r.virtual).toEqual(r.applied);
  });

  it('group flips: bit-identical log-probs', async () => {
    const shape = modelShape(await load(base));
    const flips = normalize([groupFlip('blk.0.ffn_down', 3, 2), groupFlip('blk.1.attn_q', 40, 1), groupFlip('blk.3.ffn_gate', 700, 0), groupFlip('output', 11, 1)], shape.tensors);
    const r = await compare(flips);
    expect(r.applied).not.toEqual(r.plain);
    expect(r.virtual).toEqual(r.applied);
  });
});

