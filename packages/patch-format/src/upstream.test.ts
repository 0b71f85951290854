import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BONSAI_HYPERPARAMETERS,
  binaryLayout,
  checkPatchForModel,
  computeStats,
  decodeBinary,
  encodeBinary,
  formatManifest,
  fromUpstream,
  parseManifest,
  qwen3Shape,
  readPatch,
  toUpstream,
  UPSTREAM_NOMINAL_FLIP_BYTES,
  UPSTREAM_NOMINAL_ROW_BITS,
} from './index.js';

const DIR = fileURLToPath(new URL('../../../test/fixtures/upstream-bankai/patches/', import.meta.url));
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const load = (file: string): Record<string, unknown> => JSON.parse(readFileSync(DIR + file, 'utf8'));
const bonsai8B = qwen3Shape(BONSAI_HYPERPARAMETERS['8B']);
const bonsai17B = qwen3Shape(BONSAI_HYPERPARAMETERS['1.7B']);

type UpFlip = { layer: number; proj: string; row: number; group?: number };
const flipSet = (flips: UpFlip[]): string[] => flips.map((f) => `${f.layer} ${f.proj} ${f.row} ${f.group ?? '-'}`).sort();

describe('upstream fixtures', () => {
  it('covers the eight published files and all three shapes', () => {
    expect(FILES).toHaveLength(8);
    const kinds = FILES.map((f) => readPatch(readFileSync(DIR + f), { file: f }).kind);
    expect(new Set(kinds)).toEqual(new Set(['upstream-v1', 'upstream-unversioned', 'upstream-legacy']));
    expect(kinds[FILES.indexOf('patch_math_v1.json')]).toBe('upstream-legacy');
  });

  for (const file of FILES) {
    it(`${file}: JSON -> manifest -> binary -> manifest -> upstream JSON without loss, valid on Bonsai-8B`, () => {
      const original = load(file);
      const { manifest } = readPatch(readFileSync(DIR + file), { file, model: bonsai8B });
      // manifest text round trip
      const again = parseManifest(formatManifest(manifest), 'round-trip.json');
      expect(again).toEqual(manifest);
      // binary round trip
      const binary = encodeBinary(again);
      const decoded = decodeBinary(binary, 'round-trip.bkp');
      expect(decoded).toEqual(manifest);
      // back to upstream
      const up = toUpstream(decoded) as unknown as Record<string, unknown>;
      expect(flipSet(up.flips as UpFlip[])).toEqual(flipSet(original.flips as UpFlip[]));
      for (const key of ['name', 'description', 'base_model', 'metadata']) expect(up[key]).toEqual(original[key]);
      expect(up.version).toBe(1);
      expect(up.format).toBe('bankai_row_xor_v1');
      const stats = up.stats as Record<string, number>;
      const n = (original.flips as unknown[]).length;
      expect(stats.n_flips).toBe(n);
      expect(stats.size_bytes).toBe(n * UPSTREAM_NOMINAL_FLIP_BYTES);
      // real bits: rows x their real length (these fixtures flip 4096-weight rows and 128-weight groups)
      const rows = (original.flips as UpFlip[]).filter((f) => f.group === undefined).length;
      expect(stats.bits_flipped).toBe(rows * UPSTREAM_NOMINAL_ROW_BITS + (n - rows) * 128);
      const claimed = (original.stats as Record<string, number> | undefined)?.bits_flipped ?? (original.bits_flipped as number | undefined);
      if (claimed !== undefined) expect(stats.bits_flipped).toBe(claimed);
      // and upstream -> ours again gives the same patch
      expect(fromUpstream(JSON.parse(JSON.stringify(up)), { model: bonsai8B }).manifest).toEqual(manifest);
      // validates against the 8B shape
      expect(checkPatchForModel(manifest, bonsai8B).warnings).toEqual(['the patch names no base model sha256, so only tensor shapes were checked']);
      const layout = binaryLayout(manifest);
      console.log(`${file}: ${n} flips, binary ${layout.total} bytes (${(layout.total / n).toFixed(2)} B/flip), flip section ${layout.flips} bytes (${(layout.flips / n).toFixed(2)} B/flip), nominal ${n * UPSTREAM_NOMINAL_FLIP_BYTES}`);
    });
  }

  it('stores the 93-flip patch in at most 3 bytes a flip (tensor table and flips)', () => {
    const { manifest } = readPatch(readFileSync(DIR + 'calculus_generalized_v1.json'), { model: bonsai8B });
    expect(manifest.flips).toHaveLength(93);
    expect(binaryLayout(manifest).flips).toBeLessThanOrEqual(3 * 93);
  });

  it('refuses every fixture on the Bonsai-1.7B shape with the offending flip and the valid range', () => {
    for (const file of FILES) {
      const { manifest } = readPatch(readFileSync(DIR + file), { file });
      let message = '';
      try {
        checkPatchForModel(manifest, bonsai17B, { file });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(file);
      expect(message).toMatch(/flips\[\d+\] \(blk\.\d+\.\w+ row \d+/);
      expect(message).toMatch(/the model has no tensor blk\.34\.\w+ \(the model has blocks 0\.\.27\)|rows 0\.\.6143/);
      // importing with the model refuses too, and names the upstream flip index
      expect(() => readPatch(readFileSync(DIR + file), { file, model: bonsai17B })).toThrow(/flips\[\d+\]/);
    }
    const { manifest } = readPatch(readFileSync(DIR + 'calculus_v1.json'));
    const gate = manifest.flips.find((f) => /^blk\.[0-9]\.ffn_(gate|up)$/.test(f.tensor) && f.row >= 6144)!;
    expect(gate).toBeDefined();
    const t = gate.tensor.replace(/\./g, '\\.');
    expect(() => checkPatchForModel(manifest, bonsai17B)).toThrow(new RegExp(`${t} row ${gate.row}\\): row ${gate.row} is out of range: ${t} has rows 0\\.\\.6143`));
  });
});

describe('upstream validation', () => {
  const base = load('calculus_v1.json');
  const mutate = (edit: (v: Record<string, any>) => void): Record<string, unknown> => {
    const v = structuredClone(base) as Record<string, any>;
    edit(v);
    return v;
  };

  it('names the file, the JSON path and the fix', () => {
    expect(() => fromUpstream(mutate((v) => (v.flips[17].proj = 'gate')), { file: 'x.json' })).toThrow(/^x\.json: flips\[17\]\.proj: unknown projection "gate"\. Fix: use one of q_proj, k_proj/);
    expect(() => fromUpstream(mutate((v) => (v.flips[3].row = -1)))).toThrow(/flips\[3\]\.row: row must be an integer/);
    expect(() => fromUpstream(mutate((v) => (v.flips[3].layr = 1)))).toThrow(/flips\[3\]\.layr: unknown flip field/);
    expect(() => fromUpstream(mutate((v) => (v.stats.n_flips = 71)))).toThrow(/stats\.n_flips: says 71 flips but the file lists 72/);
    expect(() => fromUpstream(mutate((v) => (v.format = 'bankai_row_xor_v2')))).toThrow(/format: unknown upstream format/);
    expect(() => fromUpstream(mutate((v) => v.flips.push({ ...v.flips[5] })))).toThrow(/flips\[72\]: .* repeats flips\[5\]/);
    expect(() => fromUpstream({ flips: 3 })).toThrow(/not an upstream Bankai patch/);
  });

  it('checks down_proj groups against the real row length (96 groups on 8B, not 32)', () => {
    const down = (group: number) => ({ name: 'd', flips: [{ layer: 3, proj: 'down_proj', row: 4095, group }] });
    const ok = fromUpstream(down(95), { model: bonsai8B }).manifest;
    expect(computeStats(ok).bitsFlipped).toBe(128);
    expect(() => fromUpstream(down(96), { model: bonsai8B, file: 'd.json' })).toThrow(/d\.json: flips\[0\]: blk\.3\.ffn_down row 4095 group 96: group 96 is out of range, blk\.3\.ffn_down rows have groups 0\.\.95/);
    expect(() => fromUpstream({ flips: [{ layer: 0, proj: 'gate_proj', row: 1, group: 32 }] }, { model: bonsai8B })).toThrow(/groups 0\.\.31/);
    // a down_proj row flip is 12288 real bits (upstream would say 4096)
    const row = fromUpstream({ flips: [{ layer: 3, proj: 'down_proj', row: 7 }] }, { model: bonsai8B }).manifest;
    expect((toUpstream(row).stats as { bits_flipped: number }).bits_flipped).toBe(12288);
    // without shapes: upstream's nominal figure, documented as such
    const nominal = fromUpstream({ flips: [{ layer: 3, proj: 'down_proj', row: 7 }] }).manifest;
    expect(computeStats(nominal).bitsFlipped).toBeUndefined();
    expect(toUpstream(nominal).stats.bits_flipped).toBe(UPSTREAM_NOMINAL_ROW_BITS);
  });

  it('keeps unknown upstream top-level fields and refuses what upstream cannot express', () => {
    const { manifest } = fromUpstream(mutate((v) => (v.license = 'apache-2.0')));
    expect(toUpstream(manifest).license).toBe('apache-2.0');
    const embd = { ...manifest, flips: [{ tensor: 'token_embd', row: 3 }] };
    expect(() => toUpstream(embd)).toThrow(/flips\[0\]: token_embd row 3 cannot be written as an upstream patch/);
    const bit = { ...manifest, flips: [{ tensor: 'blk.1.ffn_up', row: 3, bit: 9 }] };
    expect(() => toUpstream(bit)).toThrow(/upstream patches have no bit flips/);
  });
});
