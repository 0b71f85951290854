import { describe, expect, it } from 'vitest';
import {
  BONSAI_HYPERPARAMETERS,
  checkPatchForModel,
  computeStats,
  createManifest,
  formatManifest,
  parseManifest,
  qwen3Shape,
  readPatch,
  sha256Hex,
} from './index.js';

const bonsai8B = qwen3Shape(BONSAI_HYPERPARAMETERS['8B']);
const fileSha = sha256Hex(new TextEncoder().encode('pretend gguf'));
const model = { ...bonsai8B, sha256: fileSha };

function sample() {
  return createManifest({
    name: 'demo',
    provenance: { tool: 'bankai', toolVersion: '0.1.0', strategy: 'greedy', seed: 7, metric: 'seq_logprob', fitness: 0.25, options: { lambda: 2, layers: [1, 2] } },
    flips: [
      { tensor: 'blk.2.ffn_down', row: 10 },
      { tensor: 'blk.1.ffn_gate', row: 5, group: 3 },
      { tensor: 'blk.1.attn_k', row: 1000, bit: 7 },
      { tensor: 'output', row: 151935 },
    ],
    model,
  });
}

describe('manifest', () => {
  it('records shapes, fingerprint and true stats, in canonical order', () => {
    const m = sample();
    expect(m.base.sha256).toBe(fileSha);
    expect(m.base.tensors).toEqual({ 'blk.1.attn_k': [4096, 1024], 'blk.1.ffn_gate': [4096, 12288], 'blk.2.ffn_down': [12288, 4096], output: [4096, 151936] });
    expect(m.flips.map((f) => f.tensor)).toEqual(['blk.1.attn_k', 'blk.1.ffn_gate', 'blk.2.ffn_down', 'output']);
    const stats = computeStats(m);
    expect(stats).toMatchObject({ flips: 4, rowFlips: 2, groupFlips: 1, bitFlips: 1, tensors: 4, bitsFlipped: 12288 + 128 + 1 + 4096 });
    expect(stats.fractionOfModel).toBeCloseTo(stats.bitsFlipped! / m.base.oneBitWeights!, 15);
    const text = formatManifest(m);
    expect(Object.keys(JSON.parse(text))).toEqual(['format', 'version', 'name', 'base', 'provenance', 'stats', 'flips']);
    expect(text).toContain('\n    {"tensor": "blk.2.ffn_down", "row": 10},\n');
    expect(parseManifest(text)).toEqual(m);
    expect(formatManifest(parseManifest(text))).toBe(text);
  });

  it('refuses bad manifests with the JSON path and a fix', () => {
    const good = JSON.parse(formatManifest(sample()));
    const bad = (edit: (v: any) => void) => {
      const v = structuredClone(good);
      edit(v);
      return JSON.stringify(v);
    };
    expect(() => parseManifest(bad((v) => (v.stats.bitsFlipped += 1)), 'p.json')).toThrow(/^p\.json: stats: says .* but the flips give .*Fix: remove "stats"/);
    expect(() => parseManifest(bad((v) => v.flips.push(v.flips[1])))).toThrow(/flips\[4\]: .* repeats flips\[1\]/);
    expect(() => parseManifest(bad((v) => (v.flips[2].row = 4096)))).toThrow(/flips\[2\]: .*row 4096 is out of range, blk\.2\.ffn_down has rows 0\.\.4095/);
    expect(() => parseManifest(bad((v) => (v.flips[0].tensor = 'blk.1.attn_k.weight')))).toThrow(/flips\[0\]\.tensor: tensor 'blk\.1\.attn_k\.weight' carries the '\.weight' suffix\. Fix: write 'blk\.1\.attn_k'/);
    expect(() => parseManifest(bad((v) => (v.version = 2)))).toThrow(/version: version 2 is not supported/);
    expect(() => parseManifest(bad((v) => (v.extra = 1)))).toThrow(/extra: unknown manifest field/);
    expect(() => parseManifest(bad((v) => delete v.provenance.tool))).toThrow(/provenance\.tool: must be a non-empty string/);
    expect(() => parseManifest(bad((v) => (v.base.sha256 = 'ABC')))).toThrow(/base\.sha256: must be 64 lowercase hex/);
    expect(() => parseManifest('{"format": ')).toThrow(/not valid JSON/);
  });

  it('normalizes XOR-redundant flips but keeps their meaning', () => {
    const m = createManifest({
      provenance: { tool: 't' },
      flips: [{ tensor: 'blk.0.ffn_up', row: 1 }, ...Array.from({ length: 32 }, (_, g) => ({ tensor: 'blk.0.ffn_up', row: 1, group: g })), { tensor: 'blk.0.ffn_up', row: 2 }],
      model: bonsai8B,
    });
    expect(m.flips).toEqual([{ tensor: 'blk.0.ffn_up', row: 2 }]);
  });
});

describe('checkPatchForModel', () => {
  it('accepts a matching model and refuses another fingerprint unless forced', () => {
    const m = sample();
    expect(checkPatchForModel(m, model).warnings).toEqual([]);
    const other = { ...model, sha256: sha256Hex(new TextEncoder().encode('another gguf')) };
    expect(() => checkPatchForModel(m, other, { file: 'p.json' })).toThrow(/^p\.json: base: the patch was made for another model: base\.sha256 is [0-9a-f]{64} but the model file's sha256 is [0-9a-f]{64}\. Fix: .*force/);
    const forced = checkPatchForModel(m, other, { force: true });
    expect(forced.warnings).toHaveLength(1);
    expect(forced.warnings[0]).toMatch(/^--force: base\.sha256 is/);
    expect(checkPatchForModel(m, bonsai8B).warnings).toEqual(['the model file sha256 was not computed, so the patch fingerprint was not checked']);
  });

  it('refuses recorded shapes that differ from the model even when the sha256 is unknown, unless forced', () => {
    const m = sample();
    const bigger = qwen3Shape({ ...BONSAI_HYPERPARAMETERS['8B'], nFf: 14336 });
    expect(() => checkPatchForModel(m, bigger)).toThrow(/base\.tensors\.blk\.1\.ffn_gate is \[4096, 12288\] but the model's is \[4096, 14336\]/);
    expect(checkPatchForModel(m, bigger, { force: true }).warnings.some((w) => w.startsWith('--force: base.tensors.blk.1.ffn_gate'))).toBe(true);
  });

  it('never forces a flip outside the model, and refuses non-1-bit tensors', () => {
    const m = createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.0.attn_norm', row: 0 }, { tensor: 'blk.40.ffn_up', row: 0 }] });
    let message = '';
    try {
      checkPatchForModel(m, bonsai8B, { force: true });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/flips\[0\]: 2 of 2 flips do not fit this model/);
    expect(message).toContain('flips[0] (blk.0.attn_norm row 0): blk.0.attn_norm is ggml type 0, not Q1_0 (41)');
    expect(message).toContain('flips[1] (blk.40.ffn_up row 0): the model has no tensor blk.40.ffn_up (the model has blocks 0..35)');
  });

  it('can require a fingerprint', () => {
    const { manifest } = readPatch('{"flips": [{"layer": 1, "proj": "up_proj", "row": 3}]}');
    expect(() => checkPatchForModel(manifest, model, { requireFingerprint: true })).toThrow(/base\.sha256: the patch names no base model sha256/);
    expect(checkPatchForModel(manifest, model, { requireFingerprint: true, force: true }).warnings[0]).toMatch(/^--force: /);
  });
});

describe('stackPatches', () => {
  it('XORs patches on the same base and refuses different bases', async () => {
    const { stackPatches } = await import('./index.js');
    const a = sample();
    const b = createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.2.ffn_down', row: 10 }, { tensor: 'blk.3.ffn_up', row: 1 }], model });
    const s = stackPatches([a, b], { provenance: { tool: 'bankai', strategy: 'stack' } });
    expect(s.flips.map((f) => f.tensor)).toEqual(['blk.1.attn_k', 'blk.1.ffn_gate', 'blk.3.ffn_up', 'output']);
    expect(s.base.sha256).toBe(fileSha);
    expect(stackPatches([a, a], { provenance: { tool: 't' } }).flips).toEqual([]);
    const other = createManifest({ provenance: { tool: 't' }, base: { sha256: sha256Hex(Uint8Array.of(1)) }, flips: [] });
    expect(() => stackPatches([a, other], { provenance: { tool: 't' } })).toThrow(/patches\[1\]\.base\.sha256: patches 0 and 1 were made for different model files/);
  });
});
