// The `bankai` command end to end: the built bin on generated models, its JSON outputs against
// the library, and friendly errors (one line, exit 1, no stack trace) on bad input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { presetOptions } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
let dir: string;
let modelPath: string;

function bankai(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-cli-'));
  modelPath = join(dir, 'tiny.gguf');
  await writeQwen3File(modelPath, presetOptions('tiny', { seed: 3 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function loadModel(): Promise<Model> {
  const src = await fileSource(modelPath);
  try {
    return await Model.load(src);
  } finally {
    await src.close();
  }
}

describe('bankai CLI', () => {
  it('logprobs --json prints the full log-softmax after each token, equal to the library', async () => {
    const r = bankai('logprobs', '--model', modelPath, '--tokens', '5,77,300,12', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { tokens: number[]; logprobs: number[][] };
    expect(j.tokens).toEqual([5, 77, 300, 12]);
    expect(j.logprobs).toHaveLength(4);
    const model = await loadModel();
    const V = model.config.vocabSize;
    const lib = model.logprobs([5, 77, 300, 12]);
    for (let i = 0; i < 4; i++) {
      expect(j.logprobs[i]).toHaveLength(V);
      // printed as the shortest decimal that reads back as the same float32
      for (let k = 0; k < V; k++) expect(Math.fround(j.logprobs[i]![k]!)).toBe(lib[i * V + k]);
    }
  });

  it('logprobs --text tokenizes with the model tokenizer', async () => {
    const r = bankai('logprobs', '--model', modelPath, '--text', 'Hello world 42', '--json');
    expect(r.code).toBe(0);
    const model = await loadModel();
    expect(JSON.parse(r.stdout).tokens).toEqual(model.encode('Hello world 42'));
  });

  it('info --json reports shapes, counts and the file sha256', () => {
    const r = bankai('info', '--model', modelPath, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const o = presetOptions('tiny');
    expect(j.config).toMatchObject({ nLayer: o.nLayer, nEmbd: o.nEmbd, nFf: o.nFf, nHead: o.nHead, nHeadKv: o.nHeadKv, headDim: o.headDim, vocabSize: o.vocab, tiedOutput: true });
    // 1-bit: every linear incl. the (tied) embedding
    const linear = o.nLayer * (o.nEmbd * (o.nHead + 2 * o.nHeadKv) * o.headDim + o.nHead * o.headDim * o.nEmbd + 3 * o.nEmbd * o.nFf) + o.vocab * o.nEmbd;
    expect(j.oneBitParameters).toBe(linear);
    expect(j.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('generate --json matches the library greedy generation', async () => {
    const r = bankai('generate', '--model', modelPath, '--prompt', 'The answer is', '--max-tokens', '8', '--no-stop-at-newline', '--json');
    expect(r.code).toBe(0);
    const model = await loadModel();
    expect(JSON.parse(r.stdout).tokens).toEqual(model.generate('The answer is', { maxTokens: 8, stopAtNewline: false }).tokens);
  });

  it('explains every flag in --help', () => {
    const r = bankai('logprobs', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--model', '--tokens', '--text', '--json']) expect(r.stdout).toContain(flag);
  });

  it('gives one clear line, exit 1 and no stack trace on bad input', () => {
    const bad = join(dir, 'bad.gguf');
    writeFileSync(bad, Buffer.from('GGUF\x03\x00\x00\x00 truncated'));
    const cases: [string[], RegExp][] = [
      [['info', '--model', join(dir, 'missing.gguf')], /missing\.gguf: no such file/],
      [['info', '--model', bad], /bad\.gguf: at byte 8: the tensor count/],
      [['logprobs', '--model', modelPath, '--tokens', '1,x'], /--tokens item 1 \("x"\)/],
      [['logprobs', '--model', modelPath, '--tokens', '99999'], /not a token id in 0\.\.511/],
      [['logprobs', '--model', modelPath], /exactly one of --tokens/],
      [['generate', '--model', modelPath, '--prompt', 'x', '--max-tokens', 'many'], /--max-tokens must be a number/],
      [['info', '--modle', modelPath], /unknown flag --modle/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const r = bankai(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
