import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BONSAI_HYPERPARAMETERS, formatManifest, qwen3Shape, sha256Hex } from './index.js';
import { readPatchFile, sha256File, writeFileAtomic, writePatchFile } from './node.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/upstream-bankai/patches/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'patch-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const model = qwen3Shape(BONSAI_HYPERPARAMETERS['8B']);

describe('node entry', () => {
  it('reads upstream JSON and writes manifest, binary and upstream files that read back the same', async () => {
    const source = join(FIXTURES, 'calculus_generalized_v1.json');
    const before = readFileSync(source);
    const { manifest, kind } = await readPatchFile(source, { model });
    expect(kind).toBe('upstream-v1');
    const outs = [
      ['p.json', 'manifest', 'manifest'],
      ['p.bkp', 'binary', 'binary'],
      ['p.upstream.json', 'upstream', 'upstream-v1'],
    ] as const;
    for (const [name, as, readKind] of outs) {
      const written = await writePatchFile(join(dir, name), manifest, { as });
      expect(written.format).toBe(as);
      const back = await readPatchFile(join(dir, name), { model });
      expect(back.kind).toBe(readKind);
      expect(back.manifest).toEqual(manifest);
    }
    expect(readFileSync(join(dir, 'p.json'), 'utf8')).toBe(formatManifest(manifest));
    expect(readFileSync(source)).toEqual(before); // the input is never touched
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to replace a file unless asked, then replaces it atomically', async () => {
    const path = join(dir, 'a.bin');
    await writeFileAtomic(path, Uint8Array.of(1, 2, 3));
    await expect(writeFileAtomic(path, Uint8Array.of(4))).rejects.toThrow(/a\.bin: file exists\. Fix: choose another output path/);
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    await writeFileAtomic(path, Uint8Array.of(4), { overwrite: true });
    expect([...readFileSync(path)]).toEqual([4]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('chooses the format by extension and refuses unknown ones', async () => {
    const { manifest } = await readPatchFile(join(FIXTURES, 'patch_math_v1.json'));
    await expect(writePatchFile(join(dir, 'p.txt'), manifest)).rejects.toThrow(/unknown patch file extension '\.txt'/);
    await expect(writePatchFile(join(dir, 'q.bkp'), manifest, { as: 'upstream' })).rejects.toThrow(/holds the binary format/);
    writeFileSync(join(dir, 'junk.json'), '{"hello": 1}');
    await expect(readPatchFile(join(dir, 'junk.json'))).rejects.toThrow(/junk\.json: not a patch/);
  });

  it('hashes files by streaming, equal to the in-memory sha256', async () => {
    const bytes = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    const path = join(dir, 'blob.gguf');
    writeFileSync(path, bytes);
    const expected = createHash('sha256').update(bytes).digest('hex');
    expect(await sha256File(path)).toBe(expected);
    expect(sha256Hex(bytes)).toBe(expected);
  });

  it('keeps the core runtime-neutral: only node.ts imports node: modules', () => {
    const src = fileURLToPath(new URL('.', import.meta.url));
    const offenders = readdirSync(src)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'node.ts')
      .filter((f) => /from ['"]node:|require\(['"]node:|process\.|Buffer\./.test(readFileSync(join(src, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
