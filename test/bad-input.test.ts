// Issue 11's "Bad input" list, one test per defect, end to end through the built `bankai` bin
// (each of these failed on main): every one is a single line naming the file, field or offset and
// the fix, exit 1; or, for the last three, nothing left behind.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meta, readGguf } from '@bankai/gguf';
import { fileSource, sha256File, writeGgufFile } from '@bankai/gguf/node';
import { presetOptions, qwen3WriteSpec } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
import { createManifest, formatManifest, modelShapeOf, type ModelShape } from '@bankai/patch-format';
import { tinyProbePath } from '@bankai/probes';
import { fileCheckpoint } from '@bankai/search/node';
import { modelPath as tinyModel } from '@bankai/tiny-model';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
let dir: string;
let shape: ModelShape;
const at = (name: string) => join(dir, name);

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 1 and exactly one line on stderr, `error: ...`, without a stack trace. */
function expectOneLine(r: ReturnType<typeof bankai>, message: RegExp): void {
  expect(r.stderr, r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/^error: [^\n]*\n$/);
  expect(r.stderr).not.toContain('internal error');
  expect(r.code).toBe(1);
}

function manifestFile(name: string, flips: { tensor: string; row: number }[], sign?: boolean): string {
  const path = at(name);
  writeFileSync(path, formatManifest(createManifest({ name, provenance: { tool: 'bankai-test' }, flips, model: shape })));
  if (sign) expect(bankai('patch-sign', '--patch', path, '--key', at('key.hex'), ...(existsSync(at('key.hex')) ? [] : ['--new-key']), '--out', path, '--overwrite').code).toBe(0);
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-bad-input-'));
  const src = await fileSource(tinyModel);
  try {
    shape = modelShapeOf(await readGguf(src), await sha256File(tinyModel));
  } finally {
    await src.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bad input (issue 11)', () => {
  it('a manifest with 5,000 nested arrays names the file and the field (no stack overflow)', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const path = at('deep.json');
    writeFileSync(path, `{"format":"bankai-patch","version":1,"base":{"tensors":{}},"provenance":{"tool":"t"},"flips":${deep}}`);
    expectOneLine(bankai('patch', 'info', '--patch', path), /deep\.json: flips\[0\]\[0\].*: nested more than 64 levels deep\. Fix: /);
    writeFileSync(path, `{"flips":[${deep}]}`); // the upstream shape
    expectOneLine(bankai('patch', 'convert', '--patch', path, '--out', at('deep.bkp')), /deep\.json: flips\[0\].*nested more than 64/);
  });

  it('a tensor named __proto__ or constructor is refused when read, not after it was accepted', () => {
    for (const tensor of ['__proto__', 'constructor']) {
      const path = at(`${tensor}.json`);
      writeFileSync(path, `{"format":"bankai-patch","version":1,"base":{"tensors":{}},"provenance":{"tool":"t"},"flips":[{"tensor":"${tensor}","row":1}]}`);
      expectOneLine(bankai('patch', 'info', '--patch', path), new RegExp(`${tensor}\\.json: flips\\[0\\]\\.tensor: tensor '${tensor}' is not a GGUF tensor name`));
      const r = bankai('patch', 'convert', '--patch', path, '--out', at(`${tensor}.bkp`));
      expectOneLine(r, /flips\[0\]\.tensor/);
      expect(r.stderr).not.toMatch(/varint/);
    }
  });

  it('corrupt tokenizer metadata (eot id outside the vocabulary, a duplicate token) is a typed error, not an internal one', async () => {
    const spec = qwen3WriteSpec(presetOptions('tiny', { seed: 5 }));
    const metadata = [...spec.metadata];
    const tokens = metadata.find(([k]) => k === 'tokenizer.ggml.tokens')![1] as { value: string[] };
    const eot = at('eot.gguf');
    await writeGgufFile(eot, { ...spec, metadata: [...metadata, ['tokenizer.ggml.eot_token_id', meta.u32(tokens.value.length)]] });
    expectOneLine(bankai('generate', '--model', eot, '--prompt', 'Q:'), /eot\.gguf: tokenizer\.ggml\.eot_token_id = 512 is outside the vocabulary \(0\.\.511\)\. Fix: /);
    const dup = at('dup.gguf');
    const duplicated = [...tokens.value];
    duplicated[300] = duplicated[299]!;
    await writeGgufFile(dup, { ...spec, metadata: metadata.map(([k, v]) => [k, k === 'tokenizer.ggml.tokens' ? meta.strings(duplicated) : v] as const) });
    expectOneLine(bankai('generate', '--model', dup, '--prompt', 'Q:'), /dup\.gguf: tokenizer\.ggml\.tokens\[300\] = .* duplicates tokens\[299\].*Fix: /);
  });

  it('a directory as --model or --patch, and a missing --patch, are one line with the path and the fix', () => {
    expectOneLine(bankai('info', '--model', dir), new RegExp(`${dir}: is a directory, not a file \\(--model\\)\\. Pass the path of a GGUF model file`));
    expectOneLine(bankai('generate', '--model', dir, '--prompt', 'x'), /is a directory, not a file \(--model\)/);
    const patch = manifestFile('ok.json', [{ tensor: 'blk.0.ffn_gate', row: 1 }]);
    expectOneLine(bankai('apply', '--model', tinyModel, '--patch', dir, '--prompt', 'x'), /is a directory, not a file \(--patch\)\. Pass the path of a patch file/);
    expectOneLine(bankai('bake', '--model', dir, '--patch', patch, '--out', at('x.gguf')), /is a directory, not a file \(--model\)/);
    expectOneLine(bankai('eval', '--patch', at('missing.json'), '--probes', tinyProbePath('addition')), /missing\.json: no such file \(--patch\)\. Check the path\./);
    expectOneLine(bankai('eval', '--patch', dir, '--probes', tinyProbePath('addition')), /is a directory, not a file \(--patch\)/);
    expectOneLine(bankai('bake', '--model', tinyModel, '--patch', patch, '--out', join(dir, 'no', 'such', 'out.gguf')), /out\.gguf: cannot write: the folder .* does not exist\. Fix: /);
  });

  it('other bad flags and files are one line too, never an internal error', () => {
    expectOneLine(bankai('gen-model', '--preset', 'tiny', '--vocab', '10', '--out', at('g.gguf')), /gen-model: invalid Qwen3 model options: vocab 10 must be at least 259/);
    expectOneLine(bankai('patch', 'sign', '--patch', manifestFile('k.json', [{ tensor: 'blk.0.ffn_gate', row: 1 }]), '--key', dir, '--out', at('k2.json')), /is a directory, not a file \(--key\)/);
    expectOneLine(bankai('generate', '--model', tinyModel, '--prompt', 'x'.repeat(3000)), /the prompt has 3000 tokens but the context holds \d+\. Fix: /);
    expectOneLine(bankai('gen-model', '--preset', 'tiny', '--out', dir), /is a directory\. Fix: choose an output file path/);
  });

  it('`bankai audit ... | head -1` exits quietly (no unhandled EPIPE)', () => {
    // two probe files: ~90 kB of table, more than a pipe holds, so the writes after head exits fail
    const cmd = `"${process.execPath}" "${BIN}" audit --probes "${tinyProbePath('addition')}" --probes "${tinyProbePath('comparison')}" | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`;
    const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/^model {3}.*\n$/);
    expect(r.stderr).toBe('exit=0\n');
  });

  it('a signed patch changed after signing is neither applied nor baked; --force warns loudly; --require-signature refuses unsigned ones', () => {
    const signed = manifestFile('signed.json', [{ tensor: 'blk.0.ffn_gate', row: 3 }], true);
    const tampered = at('tampered.json');
    writeFileSync(tampered, readFileSync(signed, 'utf8').replace('"row": 3', '"row": 4'));
    const why = /tampered\.json: signature: the signature does not match the content under key [0-9a-f]{64}: the patch was changed after it was signed\. Fix: /;
    expectOneLine(bankai('apply', '--model', tinyModel, '--patch', tampered, '--prompt', 'Q: 1+1='), why);
    expectOneLine(bankai('bake', '--model', tinyModel, '--patch', tampered, '--out', at('tampered.gguf')), why);
    expect(existsSync(at('tampered.gguf'))).toBe(false);
    const forced = bankai('bake', '--model', tinyModel, '--patch', tampered, '--out', at('forced.gguf'), '--force');
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/^WARNING: --force: THE SIGNATURE DOES NOT HOLD/);
    expect(forced.stdout).toMatch(/^warning: --force: THE SIGNATURE DOES NOT HOLD/);
    // --require-signature: the signed patch passes, unsigned ones are refused, and --force does not change that
    expect(bankai('apply', '--model', tinyModel, '--patch', signed, '--prompt', 'Q: 1+1=', '--require-signature').code).toBe(0);
    const unsigned = manifestFile('unsigned.json', [{ tensor: 'blk.0.ffn_gate', row: 3 }]);
    for (const cmd of [['apply', '--prompt', 'x'], ['bake', '--out', at('u.gguf')]]) {
      expectOneLine(bankai(cmd[0]!, '--model', tinyModel, '--patch', unsigned, ...cmd.slice(1), '--require-signature'), /unsigned\.json: signature: the patch is not signed, and a signature is required/);
      expectOneLine(bankai(cmd[0]!, '--model', tinyModel, '--patch', unsigned, ...cmd.slice(1), '--require-signature', '--force'), /not signed/);
      expectOneLine(bankai(cmd[0]!, '--model', tinyModel, '--patch', tampered, ...cmd.slice(1), '--require-signature', '--force'), /changed after it was signed/);
    }
  });

  it('a killed bake leaves no temp file, and the next bake sweeps those of dead processes', async () => {
    // a model large enough that the bake is still writing when it is killed
    const big = at('big.gguf');
    await writeQwen3File(big, presetOptions('small', { vocab: 150_000, nLayer: 24 }));
    const bigSrc = await fileSource(big);
    const bigShape = modelShapeOf(await readGguf(bigSrc), await sha256File(big));
    await bigSrc.close();
    const patch = at('big-patch.json');
    writeFileSync(patch, formatManifest(createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.0.ffn_gate', row: 3 }], model: bigShape })));
    const temps = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const out = at(`baked-${signal}.gguf`);
      const child = spawn(process.execPath, [BIN, 'bake', '--model', big, '--patch', patch, '--out', out], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((res) => child.once('exit', (_c, s) => res(s)));
      let seen = false;
      await new Promise<void>((res) => {
        const w = watch(dir, () => {
          if (!seen && temps().length > 0) {
            seen = true;
            child.kill(signal);
            w.close();
            res();
          }
        });
        void exited.then(() => { w.close(); res(); });
      });
      expect(seen, 'the bake finished before its temp file was seen: use a larger model').toBe(true);
      expect(await exited).toBe(signal);
      expect(temps()).toEqual([]);
      expect(existsSync(out)).toBe(false);
    }
    // a bake killed without a chance to clean up (SIGKILL, power loss) is swept by the next one
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = at(`.swept.gguf.${dead}.0badf00d.tmp`);
    writeFileSync(stale, 'partial');
    expect(bankai('bake', '--model', tinyModel, '--patch', manifestFile('p.json', [{ tensor: 'blk.0.ffn_gate', row: 1 }]), '--out', at('swept.gguf')).code).toBe(0);
    expect(existsSync(stale)).toBe(false);
  });

  it('a search stopped before its first record leaves no empty checkpoint log', () => {
    const log = at('stopped.json.log.jsonl');
    fileCheckpoint(log, { fresh: true }).close(); // set up, never got to the start record
    expect(existsSync(log)).toBe(false);
    const sink = fileCheckpoint(log, { fresh: true });
    sink.append({ type: 'start', version: 1, config: {} } as never);
    sink.close();
    expect(readFileSync(log, 'utf8')).toBe('{"type":"start","version":1,"config":{}}\n');
  });

  it('a resumed checkpoint log loses its torn last line before new records go after it', async () => {
    const { readCheckpoint } = await import('@bankai/search/node');
    const log = at('torn.json.log.jsonl');
    writeFileSync(log, '{"type":"start","version":1,"config":{}}\n{"type":"step","itera'); // killed mid-write
    expect(readCheckpoint(log)).toHaveLength(1);
    const sink = fileCheckpoint(log, { fresh: false });
    sink.append({ type: 'step', iteration: 0, rng: [1, 2, 3, 4], accepted: [], fitness: 0, evaluations: 8 });
    sink.close();
    const records = readCheckpoint(log);
    expect(records.map((r) => r.type)).toEqual(['start', 'step']);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  });
});
