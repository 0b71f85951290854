import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesSource, dequantizeQ1_0, GGML_TYPE, memorySink, readGguf } from '@bankai/gguf';
import { generateQwen3, presetOptions, qwen3TensorPlan, type PresetName } from '@bankai/model-gen';
import { Rng } from '@bankai/rng';
import {
  bakePatch,
  bitFlip,
  bitsFlipped,
  BONSAI_HYPERPARAMETERS,
  checkPatchForModel,
  computeStats,
  createManifest,
  diffModels,
  groupFlip,
  modelShapeOf,
  normalize,
  q1BitPosition,
  qwen3Shape,
  readPatch,
  rowFlip,
  verifyPatchedModel,
  xorQ1RowBytes,
  type ModelShape,
  type PatchManifest,
  type TensorShape,
} from './index.js';
import { randomModelFlips } from '../testing/random-patches.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/upstream-bankai/patches/', import.meta.url));
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const PROVENANCE = { tool: 'bankai-test' };

/** A model's shape from model-gen's tensor plan (no file): linears are Q1_0, norms F32. */
function planShape(preset: PresetName): ModelShape {
  const tensors = new Map<string, TensorShape>();
  for (const t of qwen3TensorPlan(presetOptions(preset))) {
    tensors.set(t.name.replace(/\.weight$/, ''), { rows: t.shape[1] ?? 1, cols: t.shape[0], type: t.kind === 'linear' ? GGML_TYPE.Q1_0 : GGML_TYPE.F32 });
  }
  return { tensors };
}

async function generate(preset: PresetName, seed: number): Promise<Uint8Array> {
  const sink = memorySink();
  await generateQwen3(presetOptions(preset, { seed }), sink);
  return sink.bytes();
}

async function bake(base: Uint8Array, manifest: PatchManifest, opts: { force?: boolean; sha256?: string } = {}): Promise<Uint8Array> {
  const sink = memorySink();
  await bakePatch(bytesSource(base, 'base.gguf'), manifest, sink, opts);
  return sink.bytes();
}


function popcountDiff(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) for (let x = a[i]! ^ b[i]!; x; x &= x - 1) n++;
  return n;
}

describe('Q1_0 row bytes', () => {
  it('a bit flip negates exactly weight j of the dequantized row (hand-made blocks)', () => {
    const rng = new Rng(11, 1);
    const groups = 3;
    const row = new Uint8Array(groups * 18);
    for (let i = 0; i < row.length; i++) row[i] = rng.nextU32() & 0xff;
    for (let g = 0; g < groups; g++) { row[g * 18] = 0x00; row[g * 18 + 1] = 0x3c; } // d = 1.0
    const before = dequantizeQ1_0(row);
    for (const j of [0, 1, 7, 8, 127, 128, 200, 383]) {
      const flipped = row.slice();
      xorQ1RowBytes(flipped, { bits: [j] });
      const after = dequantizeQ1_0(flipped);
      for (let k = 0; k < groups * 128; k++) expect(after[k]).toBe(k === j ? -before[k]! : before[k]);
    }
    // the position formula itself: block j>>7, byte 2 + ((j&127)>>3), bit j&7
    expect(q1BitPosition(0)).toEqual({ byte: 2, mask: 1 });
    expect(q1BitPosition(135)).toEqual({ byte: 18 + 2, mask: 128 });
    expect(q1BitPosition(136)).toEqual({ byte: 18 + 3, mask: 1 });
  });

  it('row and group flips negate every weight of the row / group and never touch a scale', () => {
    const rng = new Rng(12, 1);
    const row = new Uint8Array(4 * 18);
    for (let i = 0; i < row.length; i++) row[i] = rng.nextU32() & 0xff;
    for (let g = 0; g < 4; g++) { row[g * 18] = 0x00; row[g * 18 + 1] = 0x38; }
    const before = dequantizeQ1_0(row);
    const r = row.slice();
    xorQ1RowBytes(r, { row: true });
    expect(Array.from(dequantizeQ1_0(r))).toEqual(Array.from(before, (x) => -x));
    const g = row.slice();
    xorQ1RowBytes(g, { groups: [2] });
    const after = dequantizeQ1_0(g);
    for (let k = 0; k < 512; k++) expect(after[k]).toBe(k >= 256 && k < 384 ? -before[k]! : before[k]);
  });
});

describe('upstream fixtures on the Bonsai shapes (from model-gen)', () => {
  const shape8B = planShape('bonsai-8b');
  const shape17B = planShape('bonsai-1.7b');

  it('the model-gen plan and the hyperparameter shape agree', () => {
    expect(shape8B.tensors).toEqual(qwen3Shape(BONSAI_HYPERPARAMETERS['8B']).tensors);
    expect(shape17B.tensors).toEqual(qwen3Shape(BONSAI_HYPERPARAMETERS['1.7B']).tensors);
  });

  for (const file of FIXTURES) {
    it(`${file} validates on Bonsai-8B; on 1.7B it is refused exactly when a flip is out of range`, () => {
      const { manifest } = readPatch(readFileSync(DIR + file), { file, model: shape8B });
      expect(checkPatchForModel(manifest, shape8B).warnings).toHaveLength(1); // no sha256 recorded
      // independent range check on the 1.7B plan: layer, rows of the tensor
      const raw = JSON.parse(readFileSync(DIR + file, 'utf8')) as { flips: { layer: number; proj: string; row: number }[] };
      const rowsOf: Record<string, number> = { gate_proj: 6144, up_proj: 6144, down_proj: 2048, q_proj: 2048, k_proj: 1024, v_proj: 1024, o_proj: 2048 };
      const outOfRange = raw.flips.some((f) => f.layer >= 28 || f.row >= rowsOf[f.proj]!);
      const upstream = readPatch(readFileSync(DIR + file), { file }).manifest; // no shapes recorded
      if (outOfRange) {
        expect(() => checkPatchForModel(upstream, shape17B)).toThrow(/do not fit this model.*(has rows 0\.\.|has blocks 0\.\.27)/);
      } else {
        expect(() => checkPatchForModel(upstream, shape17B)).not.toThrow();
      }
    });
  }

  it('at least one fixture is out of range on 1.7B', () => {
    const refused = FIXTURES.filter((file) => {
      const m = readPatch(readFileSync(DIR + file), { file }).manifest;
      try {
        checkPatchForModel(m, shape17B);
        return false;
      } catch {
        return true;
      }
    });
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe('diff, bake and verify on generated models', () => {
  it('modelShapeOf reads {rows: ne1, cols: ne0, type} of every tensor', async () => {
    const base = await generate('small', 5);
    const shape = modelShapeOf(await readGguf(bytesSource(base)), 'ab'.repeat(32));
    expect(shape.tensors).toEqual(planShape('small').tensors);
    expect(shape.sha256).toBe('ab'.repeat(32));
  });

  for (const seed of [1, 2, 3]) {
    it(`bake then diff returns the original patch; the output differs only in the flipped bits (seed ${seed})`, async () => {
      const base = await generate('small', 5);
      const shape = modelShapeOf(await readGguf(bytesSource(base)));
      const flips = randomModelFlips(shape, seed, 40, 7);
      const manifest = createManifest({ provenance: PROVENANCE, flips, model: shape });
      const copy = base.slice();
      const baked = await bake(base, manifest);
      expect(base).toEqual(copy); // the input is never modified
      expect(baked.length).toBe(base.length);
      const bits = bitsFlipped(flips, shape.tensors)!;
      expect(bits).toBeGreaterThan(0);
      expect(popcountDiff(base, baked)).toBe(bits); // byte-identical except the flipped bits
      const diff = await diffModels(bytesSource(base, 'base'), bytesSource(baked, 'baked'));
      expect(diff.flips).toEqual(manifest.flips);
      expect(diff.hamming).toBe(bits);
      const v = await verifyPatchedModel(bytesSource(base), bytesSource(baked), manifest);
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
      expect(v.actualBits).toBe(computeStats(manifest).bitsFlipped);
    });
  }

  it('diff emits row, group and bit flips as the bytes demand', async () => {
    const base = await generate('small', 6);
    const shape = modelShapeOf(await readGguf(bytesSource(base)));
    const flips = normalize([rowFlip('blk.1.ffn_down', 3), groupFlip('blk.2.ffn_down', 4, 5), bitFlip('output', 9, 130)], shape.tensors);
    const baked = await bake(base, createManifest({ provenance: PROVENANCE, flips, model: shape }));
    const diff = await diffModels(bytesSource(base), bytesSource(baked));
    expect(diff.flips).toEqual([rowFlip('blk.1.ffn_down', 3), groupFlip('blk.2.ffn_down', 4, 5), bitFlip('output', 9, 130)]);
    expect(Object.fromEntries(diff.hammingByTensor)).toEqual({ 'blk.1.ffn_down': 768, 'blk.2.ffn_down': 128, output: 1 });
    // a model against itself: no flips
    expect((await diffModels(bytesSource(base), bytesSource(base))).flips).toEqual([]);
  });

  it('verify fails, naming the tensor, on a file baked from a different patch', async () => {
    const base = await generate('small', 5);
    const shape = modelShapeOf(await readGguf(bytesSource(base)));
    const claimed = createManifest({ provenance: PROVENANCE, flips: [rowFlip('blk.0.ffn_gate', 10), groupFlip('blk.3.attn_q', 2, 1)], model: shape });
    const other = createManifest({ provenance: PROVENANCE, flips: [rowFlip('blk.0.ffn_gate', 10), groupFlip('blk.3.attn_q', 2, 0)], model: shape });
    const baked = await bake(base, other);
    const v = await verifyPatchedModel(bytesSource(base), bytesSource(baked), claimed);
    expect(v.ok).toBe(false);
    expect(v.problems).toHaveLength(1); // same Hamming distance, wrong group
    expect(v.problems[0]).toMatch(/^blk\.3\.attn_q: .* 256 weights disagree in 1 row\(s\) \(rows 2\)/);
    expect(v.tensors.find((t) => t.tensor === 'blk.0.ffn_gate')!.mismatchedBits).toBe(0);
    // a different number of bits: the Hamming distance is reported too
    const fewer = createManifest({ provenance: PROVENANCE, flips: [rowFlip('blk.0.ffn_gate', 10)], model: shape });
    const w = await verifyPatchedModel(bytesSource(base), bytesSource(baked), fewer);
    expect(w.problems[0]).toBe(`Hamming distance ${256 + 128} between the files, but the manifest claims 256 bits flipped`);
    expect(w.problems[1]).toMatch(/^blk\.3\.attn_q: the manifest flips 0 weights, the file differs from its base in 128/);
  });

  it('diff refuses different scales (naming tensor, row and group) and different non-1-bit tensors', async () => {
    const base = await generate('small', 5);
    const header = await readGguf(bytesSource(base));
    const gate = header.tensors.find((t) => t.name === 'blk.1.ffn_gate.weight')!;
    const scaled = base.slice();
    scaled[gate.offset + 7 * gate.rowBytes + 18 * 1] ^= 1; // row 7, group 1, low byte of d
    await expect(diffModels(bytesSource(base), bytesSource(scaled, 'scaled.gguf'))).rejects.toThrow(/scaled\.gguf: byte \d+: blk\.1\.ffn_gate row 7 group 1: the fp16 scales differ/);
    const norm = header.tensors.find((t) => t.name === 'blk.2.ffn_norm.weight')!;
    const normed = base.slice();
    normed[norm.offset + 12] ^= 4;
    await expect(diffModels(bytesSource(base), bytesSource(normed, 'n.gguf'))).rejects.toThrow(/tensor blk\.2\.ffn_norm\.weight \(F32, not 1-bit\) differs at byte 12/);
    const other = await generate('tiny', 5);
    await expect(diffModels(bytesSource(base), bytesSource(other, 'tiny.gguf'))).rejects.toThrow(/token_embd\.weight is Q1_0 \[256, 2048\] in memory but Q1_0 \[128, 512\] in tiny\.gguf/);
  });

  it('diff gives up on unrelated models instead of building a huge patch', async () => {
    const a = await generate('small', 5);
    const b = a.slice();
    const header = await readGguf(bytesSource(a));
    // flip half the bits of every qs byte of token_embd: random-looking, not a small patch
    const t = header.tensors.find((x) => x.name === 'token_embd.weight')!;
    for (let i = t.offset; i < t.offset + t.nBytes; i += 18) for (let k = 2; k < 18; k++) b[i + k] ^= 0x55;
    await expect(diffModels(bytesSource(a), bytesSource(b, 'b.gguf'), { maxFlips: 1000 })).rejects.toThrow(/differ in more than 1000 flips \(at token_embd\)/);
  });

  it('bake checks the fingerprint first: a wrong sha256 refuses unless forced, out-of-range flips always refuse', async () => {
    const base = await generate('small', 5);
    const shape = modelShapeOf(await readGguf(bytesSource(base)));
    const m = createManifest({ provenance: PROVENANCE, base: { sha256: '0'.repeat(64) }, flips: [rowFlip('blk.0.attn_k', 1)], model: shape });
    await expect(bake(base, m, { sha256: '1'.repeat(64) })).rejects.toThrow(/the patch was made for another model: base\.sha256 is 0{64} but the model file's sha256 is 1{64}/);
    const forced = await bake(base, m, { sha256: '1'.repeat(64), force: true });
    expect(popcountDiff(base, forced)).toBe(256);
    const tooFar = createManifest({ provenance: PROVENANCE, flips: [rowFlip('blk.9.attn_k', 1)] });
    await expect(bake(base, tooFar, { force: true })).rejects.toThrow(/blk\.9\.attn_k row 1\): the model has no tensor blk\.9\.attn_k \(the model has blocks 0\.\.3\)/);
  });
});
