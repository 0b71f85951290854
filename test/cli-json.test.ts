// --json on every command that prints a result (outside search / stack), --version, and the flag
// aliases that give one name per concept (`--model` for patch diff / verify's `--base`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { readGgufFile } from '@bankai/gguf/node';
import { createManifest, formatManifest, modelShapeOf } from '@bankai/patch-format';
import { readPatchFile } from '@bankai/patch-format/node';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
let dir: string;
const at = (name: string) => join(dir, name);

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bankai ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}
const json = (...args: string[]) => JSON.parse(bankai(...args, '--json'));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-cli-json-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--json and --version', () => {
  it('prints the version', () => {
    const version = (JSON.parse(readFileSync(new URL('../apps/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(bankai('--version')).toBe(`${version}\n`);
    expect(bankai('--help')).toContain(`bankai ${version}:`);
  });

  it('gen-model, patch diff / convert / stack / sign print one JSON object each', async () => {
    const g = json('gen-model', '--preset', 'tiny', '--seed', '3', '--out', at('a.gguf'));
    expect(g).toMatchObject({ out: at('a.gguf'), preset: 'tiny', weights: 'q1_0', seed: 3, layers: 2, vocab: 512, tied: true });
    expect(g.bytes).toBeGreaterThan(0);
    const flips = [{ tensor: 'blk.0.ffn_down', row: 3 }, { tensor: 'blk.1.ffn_down', row: 5, group: 1 }]; // rows of 256: 2 groups
    writeFileSync(at('p.json'), formatManifest(createManifest({ provenance: { tool: 't' }, flips, model: modelShapeOf(await readGgufFile(at('a.gguf'))) })));
    expect(json('bake', '--model', at('a.gguf'), '--patch', at('p.json'), '--out', at('b.gguf')).bitsFlipped).toBe(256 + 128);
    // --model is --base (the model file is --model everywhere)
    const d = json('patch', 'diff', '--model', at('a.gguf'), '--patched', at('b.gguf'), '--out', at('d.json'));
    expect(d).toMatchObject({ out: at('d.json'), format: 'manifest' });
    expect(d.flips).toBe((await readPatchFile(at('d.json'))).manifest.flips.length);
    expect(d).toMatchObject({ flips: 2, rowFlips: 1, groupFlips: 1, hamming: 384 });
    const c = json('patch', 'convert', '--patch', at('d.json'), '--out', at('d.bkp'));
    expect(c).toMatchObject({ out: at('d.bkp'), format: 'binary', flips: d.flips, from: 'manifest', signed: false, warnings: [] });
    const s = json('patch', 'stack', '--patch', at('d.json'), '--patch', at('d.bkp'), '--out', at('s.json'));
    expect(s).toMatchObject({ flips: 0, inputFlips: 2 * d.flips }); // A + A = nothing
    expect(s.overlaps).toHaveLength(1);
    const k = json('patch', 'sign', '--patch', at('d.json'), '--key', at('k.hex'), '--new-key', '--out', at('signed.json'));
    expect(k).toMatchObject({ out: at('signed.json'), format: 'manifest', flips: d.flips, newKey: at('k.hex') });
    expect(k.publicKey).toMatch(/^[0-9a-f]{64}$/);
    const v = json('patch', 'verify', '--model', at('a.gguf'), '--patched', at('b.gguf'), '--patch', at('signed.json'));
    expect(v.ok).toBe(true);
  });
});
