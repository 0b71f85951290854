// `bankai serve` end to end: the built bin on the shipped tiny model and a patch folder, on a free
// loopback port, asked with the openai client; its answers (streamed and not) equal `bankai
// generate` and `bankai apply` (the same greedy generation); it lists refused patches; SIGTERM
// stops it cleanly; bad flags are one-line errors.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource, sha256File } from '@bankai/gguf/node';
import { Model, modelShape, oneBitTensors } from '@bankai/model';
import { createManifest, formatManifest } from '@bankai/patch-format';
import { modelPath } from '@bankai/tiny-model';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const PROMPT = 'Q: what is 23*7? A:';
let dir: string;
let child: ChildProcess;
let url: string;
let stdout = '';

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-serve-cli-'));
  const src = await fileSource(modelPath);
  const model = await Model.load(src, { maxContext: 64 });
  await src.close();
  const sha256 = await sha256File(modelPath);
  const down = oneBitTensors(model.weights).get('blk.1.ffn_down')!;
  const flips = Array.from({ length: 40 }, (_, i) => ({ tensor: 'blk.1.ffn_down', row: (i * 3) % down.rows }));
  writeFileSync(join(dir, 'flipped.json'), formatManifest(createManifest({ provenance: { tool: 'bankai-test' }, flips, model: modelShape(model, sha256) })));
  writeFileSync(join(dir, 'other-model.json'), formatManifest(createManifest({ provenance: { tool: 'bankai-test' }, flips, model: { ...modelShape(model), sha256: 'f'.repeat(64) } })));
  child = spawn(process.execPath, [BIN, 'serve', '--model', modelPath, '--patches', dir, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8');
  url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (s: string) => {
      stdout += s;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m && stdout.includes('  try ')) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bankai serve exited (${code}): ${stdout}`)));
  });
});

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const completion = async (model: string) => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
  let streamed = '';
  for await (const chunk of await client.completions.create({ model, prompt: PROMPT, max_tokens: 16, stop: '\n', stream: true })) streamed += chunk.choices[0]?.text ?? '';
  const whole = (await client.completions.create({ model, prompt: PROMPT, max_tokens: 16, stop: '\n' })).choices[0]!.text;
  expect(streamed).toBe(whole);
  return whole;
};

describe('bankai serve', () => {
  it('prints where it listens, the patches it serves and the ones it refused', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toMatch(/patches {3}flipped \(40 flips\)/);
    expect(stdout).toMatch(/refused {3}other-model\.json: .*base\.sha256 is f{64}/);
  });

  it('answers as `bankai generate` (base) and `bankai apply` (a patch) do, greedy by default', async () => {
    const gen = JSON.parse(bankai('generate', '--model', modelPath, '--prompt', PROMPT, '--max-tokens', '16', '--json').stdout);
    expect(await completion('base')).toBe(gen.text);
    const applied = JSON.parse(bankai('apply', '--model', modelPath, '--patch', join(dir, 'flipped.json'), '--prompt', PROMPT, '--max-tokens', '16', '--json').stdout);
    expect(await completion('flipped')).toBe(applied.after);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('stops on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('bankai serve: stopped');
  });

  it('bad flags are one-line errors naming the option and the fix', () => {
    const port = bankai('serve', '--model', modelPath, '--port', '70000');
    expect(port.code).toBe(1);
    expect(port.stderr).toMatch(/^error: port: 70000 is not a port number\. Fix: /);
    const folder = bankai('serve', '--model', modelPath, '--patches', join(dir, 'missing'));
    expect(folder.code).toBe(1);
    expect(folder.stderr).toMatch(/patches: .* is not a folder\. Fix: /);
    expect(bankai('serve', '--patches', dir).stderr).toMatch(/--model is required/);
  });
});
