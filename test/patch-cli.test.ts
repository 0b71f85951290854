// The patch commands end to end: the built `bankai` bin on a generated model and the upstream
// fixtures, its outputs checked against the libraries, and friendly errors on bad input.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GGML_TYPE, readGguf } from '@bankai/gguf';
import { fileSource } from '@bankai/gguf/node';
import { Model, applyPatch } from '@bankai/model';
import { presetOptions } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
import {
  bitFlip,
  bitsFlipped,
  compose,
  createManifest,
  formatManifest,
  groupFlip,
  modelShapeOf,
  overlapReport,
  readPatch,
  rowFlip,
  type Flip,
  type ModelShape,
  type PatchManifest,
} from '@bankai/patch-format';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/upstream-bankai/patches/', import.meta.url));
let dir: string;
let modelPath: string;
let shape: ModelShape;
let sha256: string;

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const at = (name: string) => join(dir, name);

function writeManifest(name: string, flips: Flip[], base: { sha256?: string } = { sha256 }): string {
  const path = at(name);
  writeFileSync(path, formatManifest(createManifest({ name, provenance: { tool: 'bankai-test' }, base, flips, model: { tensors: shape.tensors } })));
  return path;
}

const PATCH_A: Flip[] = [rowFlip('blk.0.ffn_gate', 3), groupFlip('blk.1.ffn_down', 7, 4), bitFlip('blk.2.attn_v', 9, 200), rowFlip('output', 44)];
const PATCH_B: Flip[] = [rowFlip('blk.0.ffn_gate', 3), groupFlip('blk.3.attn_q', 100, 1)];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-patch-cli-'));
  modelPath = at('small.gguf');
  await writeQwen3File(modelPath, presetOptions('small', { seed: 9 }));
  const src = await fileSource(modelPath);
  sha256 = sha(modelPath);
  shape = modelShapeOf(await readGguf(src), sha256);
  await src.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bankai patch commands', () => {
  it('every command lists every flag in --help', async () => {
    const { commands } = await import('@bankai/cli');
    for (const name of ['patch-info', 'patch-convert', 'patch-stack', 'patch-diff', 'patch-verify', 'patch-sign', 'apply', 'bake']) {
      const r = bankai(name, '--help');
      expect(r.code).toBe(0);
      for (const flag of Object.keys(commands[name]!.flags)) expect(r.stdout).toContain(`--${flag}`);
    }
  });

  it('patch-info: flips by kind and tensor, real bits with --model, and overlaps of several patches', () => {
    const a = writeManifest('a.json', PATCH_A);
    const b = writeManifest('b.json', PATCH_B);
    const r = bankai('patch-info', '--patch', a, '--patch', b, '--model', modelPath, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.patches[0].flips).toEqual({ total: 4, rows: 2, groups: 1, bits: 1, tensors: 4 });
    expect(j.patches[0].bitsFlipped).toBe(bitsFlipped(PATCH_A, shape.tensors));
    expect(j.patches[0].bitsFlipped).toBe(256 + 128 + 1 + 256);
    const total = [...shape.tensors.values()].filter((s) => s.type === GGML_TYPE.Q1_0).reduce((n, s) => n + s.rows * s.cols, 0);
    expect(j.patches[0].fractionOfModel).toBeCloseTo(641 / total, 12);
    expect(j.patches[0].fingerprint).toBe('matches the model');
    expect(j.patches[0].signature).toEqual({ signed: false, ok: false });
    expect(j.patches[0].tensors.find((t: { tensor: string }) => t.tensor === 'blk.1.ffn_down')).toEqual({ tensor: 'blk.1.ffn_down', rows: 0, groups: 1, bits: 0, bitsFlipped: 128 });
    const lib = overlapReport(PATCH_A, PATCH_B, shape.tensors);
    expect(j.overlaps).toHaveLength(1);
    expect(j.overlaps[0]).toMatchObject({ sharedRows: lib.sharedRows, conflicts: lib.conflicts });
    expect(j.overlaps[0].rows).toEqual([{ tensor: 'blk.0.ffn_gate', row: 3, kind: 'row-row', conflict: true, sharedBits: 256 }]);
    // text form names the overlap
    expect(bankai('patch-info', '--patch', a, '--patch', b).stdout).toContain('1 shared row(s), 1 conflicting');
  });

  it('patch-info on an upstream fixture without a model: counts, and bits unknown for row flips', () => {
    const r = bankai('patch-info', '--patch', join(FIXTURES, 'calculus_generalized_v1.json'), '--json');
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout).patches[0];
    expect(p.format).toBe('upstream-v1');
    expect(p.flips.total).toBe(93);
    expect(p.bitsFlipped).toBeUndefined();
  });

  it('patch-convert: upstream -> binary -> manifest -> upstream keeps every flip', () => {
    const src = join(FIXTURES, 'calculus_attn_v1.json');
    const bkp = at('attn.bkp');
    let r = bankai('patch-convert', '--patch', src, '--out', bkp);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/binary, \d+ bytes, 85 flips \(\d+\.\d\d bytes a flip\) \(from upstream-unversioned\)/);
    const json = at('attn.json');
    expect(bankai('patch-convert', '--patch', bkp, '--out', json).code).toBe(0);
    const up = at('attn-up.json');
    expect(bankai('patch-convert', '--patch', json, '--out', up, '--as', 'upstream').code).toBe(0);
    const original = readPatch(readFileSync(src)).manifest;
    expect(readPatch(readFileSync(bkp)).manifest.flips).toEqual(original.flips);
    expect(readPatch(readFileSync(json)).manifest).toEqual(readPatch(readFileSync(bkp)).manifest);
    expect(readPatch(readFileSync(up)).kind).toBe('upstream-v1');
    expect(readPatch(readFileSync(up)).manifest.flips).toEqual(original.flips);
    // an existing output is refused unless --overwrite
    r = bankai('patch-convert', '--patch', src, '--out', bkp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*attn\.bkp: file exists/);
    expect(bankai('patch-convert', '--patch', src, '--out', bkp, '--overwrite').code).toBe(0);
  });

  it('patch-convert --model records the sha256 and shapes; out-of-range flips are refused with the valid range', () => {
    const plain = writeManifest('plain.json', PATCH_A, {});
    const out = at('recorded.json');
    expect(bankai('patch-convert', '--patch', plain, '--model', modelPath, '--out', out).code).toBe(0);
    const m = readPatch(readFileSync(out)).manifest;
    expect(m.base.sha256).toBe(sha256);
    expect(m.base.tensors['blk.1.ffn_down']).toEqual([768, 256]);
    // an 8B upstream fixture does not fit the small model
    const r = bankai('patch-convert', '--patch', join(FIXTURES, 'calculus_v1.json'), '--model', modelPath, '--out', at('x.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*calculus_v1\.json: flips\[\d+\]: blk\.\d+\.ffn_\w+ row \d+: row \d+ is out of range, blk\.\d+\.ffn_\w+ has rows 0\.\.767/);
    expect(r.stderr).not.toContain('    at ');
  });

  it('bake, then diff returns the patch, verify passes; the input is never modified', () => {
    const patch = writeManifest('bake-a.json', PATCH_A);
    const out = at('baked-a.gguf');
    const before = sha(modelPath);
    let r = bankai('bake', '--model', modelPath, '--patch', patch, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('641 bits flipped in 4 rows');
    expect(sha(modelPath)).toBe(before);
    const diff = at('diff.json');
    r = bankai('patch-diff', '--base', modelPath, '--patched', out, '--out', diff);
    expect(r.code).toBe(0);
    const d = readPatch(readFileSync(diff)).manifest;
    expect(d.flips).toEqual(readPatch(readFileSync(patch)).manifest.flips);
    expect(d.base.sha256).toBe(sha256);
    r = bankai('patch-verify', '--base', modelPath, '--patched', out, '--patch', patch);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: the patched file is the base with exactly this patch applied');
    // the diff as a patch verifies too, and the binary form as well
    expect(bankai('patch-verify', '--base', modelPath, '--patched', out, '--patch', diff).code).toBe(0);
    expect(sha(modelPath)).toBe(before);
  });

  it('verify fails (exit 1) naming the tensor on a file baked from a different patch', () => {
    const a = writeManifest('ver-a.json', PATCH_A);
    const b = writeManifest('ver-b.json', PATCH_B);
    const out = at('baked-b.gguf');
    expect(bankai('bake', '--model', modelPath, '--patch', b, '--out', out).code).toBe(0);
    const r = bankai('patch-verify', '--base', modelPath, '--patched', out, '--patch', a, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(false);
    expect(j.problems.join('\n')).toMatch(/blk\.3\.attn_q: the manifest flips 0 weights, the file differs from its base in 128/);
    expect(j.problems.join('\n')).toMatch(/blk\.1\.ffn_down: the manifest flips 128 weights, the file differs from its base in 0/);
    expect(r.stderr).toMatch(/^error: verify failed: /);
  });

  it('bake refuses a wrong fingerprint unless --force, never writes over the input, and refuses an existing output', () => {
    const wrong = writeManifest('wrong.json', PATCH_B, { sha256: 'f'.repeat(64) });
    let r = bankai('bake', '--model', modelPath, '--patch', wrong, '--out', at('w.gguf'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*wrong\.json: base: the patch was made for another model: base\.sha256 is f{64}/);
    r = bankai('bake', '--model', modelPath, '--patch', wrong, '--out', at('w.gguf'), '--force');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^warning: --force: base\.sha256 is f{64} but the model file's sha256 is [0-9a-f]{64}/);
    r = bankai('bake', '--model', modelPath, '--patch', wrong, '--out', at('w.gguf'), '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/w\.gguf: file exists/);
    // a patch without a fingerprint (e.g. upstream JSON) bakes, and the output says it was not checked
    r = bankai('bake', '--model', modelPath, '--patch', writeManifest('nosha.json', PATCH_B, {}), '--out', at('nosha.gguf'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^warning: the patch names no base model sha256, so only tensor shapes were checked/);
    const before = sha(modelPath);
    r = bankai('bake', '--model', modelPath, '--patch', wrong, '--out', modelPath, '--force', '--overwrite');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*output is the input file/);
    expect(sha(modelPath)).toBe(before);
  });

  it('apply prints generation before and after, equal to the library, and the apply / revert time', async () => {
    const patch = writeManifest('apply.json', PATCH_A.concat([rowFlip('blk.3.ffn_down', 1), rowFlip('blk.2.ffn_up', 5)]));
    const r = bankai('apply', '--model', modelPath, '--patch', patch, '--prompt', 'The answer is', '--max-tokens', '6', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const src = await fileSource(modelPath);
    const model = await Model.load(src, { maxContext: 64 });
    await src.close();
    const manifest: PatchManifest = readPatch(readFileSync(patch)).manifest;
    expect(j.before).toBe(model.generate('The answer is', { maxTokens: 6 }).text);
    const applied = applyPatch(model, manifest, { sha256 });
    expect(j.after).toBe(model.generate('The answer is', { maxTokens: 6 }).text);
    applied.revert();
    expect(j.revertRestored).toBe(true);
    expect(j.flips).toBe(6);
    expect(j.warnings).toEqual([]);
    expect(j.applyMicros).toBeGreaterThan(0);
    expect(j.revertMicros).toBeGreaterThan(0);
    const text = bankai('apply', '--model', modelPath, '--patch', patch, '--prompt', 'The answer is', '--max-tokens', '6');
    expect(text.stdout).toMatch(/^before: The answer is/m);
    expect(text.stdout).toMatch(/^after: {2}The answer is/m);
    expect(text.stdout).toMatch(/applied 6 flips \([\d,]+ bits\) in [\d.]+ us, reverted in [\d.]+ us; after revert the generation is the same as before/);
  });

  it('apply refuses a wrong fingerprint unless --force, and says so when forced', () => {
    const wrong = writeManifest('apply-wrong.json', PATCH_B, { sha256: 'e'.repeat(64) });
    let r = bankai('apply', '--model', modelPath, '--patch', wrong, '--prompt', 'Hi');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*the patch was made for another model.*pass force \(--force\)/);
    r = bankai('apply', '--model', modelPath, '--patch', wrong, '--prompt', 'Hi', '--force');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^warning: --force: base\.sha256 is e{64}/);
  });

  it('patch-stack XORs patches (A + A = nothing) and reports overlaps', () => {
    const a = writeManifest('s-a.json', PATCH_A);
    const b = writeManifest('s-b.json', PATCH_B);
    const ab = at('ab.json');
    let r = bankai('patch-stack', '--patch', a, '--patch', b, '--out', ab);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 shared row(s), 1 conflicting');
    expect(readPatch(readFileSync(ab)).manifest.flips).toEqual(compose([PATCH_A, PATCH_B], shape.tensors));
    const aa = at('aa.bkp');
    r = bankai('patch-stack', '--patch', a, '--patch', a, '--out', aa);
    expect(r.code).toBe(0);
    expect(readPatch(readFileSync(aa)).manifest.flips).toEqual([]);
    r = bankai('patch-stack', '--patch', a, '--out', at('one.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: bankai patch-stack: pass at least two --patch files/);
  });

  it('patch-sign: a signed patch verifies, a tampered one does not, an untrusted key is reported', () => {
    const patch = writeManifest('to-sign.json', PATCH_A);
    const key = at('signing.key');
    const signed = at('signed.json');
    let r = bankai('patch-sign', '--patch', patch, '--key', key, '--new-key', '--out', signed);
    expect(r.code).toBe(0);
    const pub = /public key ([0-9a-f]{64})/.exec(r.stdout)![1]!;
    let info = JSON.parse(bankai('patch-info', '--patch', signed, '--trusted-key', pub, '--json').stdout).patches[0];
    expect(info.signature).toMatchObject({ signed: true, ok: true, publicKey: pub, trusted: true });
    // tamper: change one flip's row
    const text = readFileSync(signed, 'utf8').replace('"row": 44', '"row": 45');
    writeFileSync(at('tampered.json'), text);
    info = JSON.parse(bankai('patch-info', '--patch', at('tampered.json'), '--json').stdout).patches[0];
    expect(info.signature.ok).toBe(false);
    expect(info.signature.reason).toMatch(/changed after it was signed/);
    info = JSON.parse(bankai('patch-info', '--patch', signed, '--trusted-key', 'ab'.repeat(32), '--json').stdout).patches[0];
    expect(info.signature).toMatchObject({ ok: false, trusted: false });
    // --new-key never replaces a key
    r = bankai('patch-sign', '--patch', patch, '--key', key, '--new-key', '--out', at('s2.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/key file exists/);
    writeFileSync(at('bad.key'), 'not a key\n');
    r = bankai('patch-sign', '--patch', patch, '--key', at('bad.key'), '--out', at('s3.json'));
    expect(r.stderr).toMatch(/^error: .*bad\.key: not an ed25519 secret key/);
  });

  it('friendly errors: missing files, missing flags, a patch that is not a patch', () => {
    let r = bankai('bake', '--model', at('nope.gguf'), '--patch', at('nope.json'), '--out', at('o.gguf'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${at('nope.gguf')}: no such file (--model). Check the path.\n`);
    r = bankai('apply', '--model', modelPath, '--patch', join(FIXTURES, 'calculus_v1.json'));
    expect(r.stderr).toMatch(/^error: bankai apply: --prompt is required/);
    writeFileSync(at('junk.json'), '{"hello": 1}');
    r = bankai('patch-info', '--patch', at('junk.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*junk\.json: not a patch/);
    r = bankai('patch-diff', '--base', modelPath, '--patched', join(FIXTURES, 'calculus_v1.json'), '--out', at('d.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*calculus_v1\.json/);
    expect(r.stderr).not.toContain('internal error');
  });
});
