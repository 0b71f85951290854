// Hostile JSON: depth and size limits, prototype keys. Every case is a PatchFormatError naming
// the file and the JSON path (on main a 5,000-deep flip list overflowed the stack and a tensor
// named __proto__ was accepted, then failed in the binary encoder with "varint out of range").
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, PatchFormatError, createManifest, encodeBinary, jsonLimitProblem, readPatch } from './index.js';
import { readPatchFile } from './node.js';

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const manifest = (flips: string, tensors = '{}') =>
  `{"format":"bankai-patch","version":1,"base":{"tensors":${tensors}},"provenance":{"tool":"t"},"flips":${flips}}`;

function errorOf(f: () => unknown): PatchFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PatchFormatError);
    return e as PatchFormatError;
  }
  throw new Error('expected a PatchFormatError');
}

const dir = mkdtempSync(join(tmpdir(), 'bankai-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('JSON limits', () => {
  it('refuses 5,000 nested arrays anywhere, naming the file and the path', () => {
    for (const [text, path] of [
      [manifest(deep(5000)), /^flips\[0\]\[0\]/],
      [manifest(`[${deep(5000)}]`), /^flips\[0\]\[0\]/],
      [`{"flips":[${deep(5000)}]}`, /^flips\[0\]/], // upstream shape
      [`{"flips":[],"metadata":{"x":${deep(5000)}}}`, /^metadata\.x\[0\]/],
      [deep(5000), /^\[0\]/],
    ] as const) {
      const e = errorOf(() => readPatch(text, { file: 'deep.json' }));
      expect(e.file).toBe('deep.json');
      expect(e.path).toMatch(path);
      expect(e.message).toMatch(new RegExp(`nested more than ${MAX_JSON_DEPTH} levels deep\\. Fix: `));
    }
    // a million levels: still no recursion
    expect(jsonLimitProblem(JSON.parse(deep(1_000_000)))?.problem).toMatch(/nested more than 64/);
    expect(jsonLimitProblem(JSON.parse(deep(MAX_JSON_DEPTH)))).toBeUndefined();
  });

  it('refuses prototype keys and tensor names that name object properties', () => {
    for (const [text, path] of [
      [manifest('[{"tensor":"__proto__","row":1}]'), 'flips[0].tensor'],
      [manifest('[{"tensor":"constructor","row":1}]'), 'flips[0].tensor'],
      [manifest('[{"tensor":"toString","row":1}]'), 'flips[0].tensor'],
      [manifest('[]', '{"__proto__":[128,4]}'), 'base.tensors.__proto__'],
      [manifest('[]', '{"constructor":[128,4]}'), 'base.tensors.constructor'],
      [manifest('[]').replace('"tool":"t"', '"tool":"t","options":{"prototype":1}'), 'provenance.options.prototype'],
      ['{"flips":[],"__proto__":{"x":1}}', '__proto__'],
    ] as const) {
      const e = errorOf(() => readPatch(text, { file: 'p.json' }));
      expect(e.path, text).toBe(path);
      expect(e.message).toMatch(/^p\.json: .*(not allowed|JavaScript object).*Fix: /);
    }
    // built in code, not read: the same names are refused
    expect(() => createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'constructor', row: 1 }] })).toThrow(PatchFormatError);
    const ok = createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.0.ffn_up', row: 1 }] });
    expect(encodeBinary(ok).length).toBeGreaterThan(0);
  });

  it('refuses a file larger than any patch before reading it, and names directories and missing files', async () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, 300 << 20); // sparse: nothing is written, nothing may be read
    await expect(readPatchFile(big)).rejects.toThrow(/big\.json: file is 314572800 bytes, more than any patch/);
    await expect(readPatchFile(dir)).rejects.toThrow(/is a directory, not a file\. Fix: pass the path of a patch file/);
    await expect(readPatchFile(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: no such file\. Fix: pass the path of a patch file/);
  });
});
