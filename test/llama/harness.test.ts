// The llama.cpp reference harness itself: shapes, normalisation, determinism, causality, greedy
// generation consistent with the log-probs, and clear failures on bad input.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestVocab, presetOptions } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
import { llamaGenerateGreedy, llamaInfo, llamaLogprobs, llamaTokenize } from './client.js';

let dir: string;
let modelPath: string;
const VOCAB = 512;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-harness-'));
  modelPath = join(dir, 'tiny-f32.gguf');
  await writeQwen3File(modelPath, presetOptions('tiny', { seed: 11, weights: 'f32', vocab: VOCAB }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - max);
  return max + Math.log(s);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

describe('llama.cpp harness', () => {
  it('reports the model and the llama.cpp build', async () => {
    const info = await llamaInfo(modelPath);
    const vocab = buildTestVocab(VOCAB);
    expect(info.nVocab).toBe(VOCAB);
    expect(info.eos).toBe(vocab.imEnd);
    expect(info.bos).toBe(vocab.endOfText);
    expect(info.architecture).toBe('qwen3');
    expect(info.nodeLlamaCppVersion).toBe('3.21.1');
    expect(info.llamaCppRelease.release).toMatch(/\S/);
    expect(info.gpu).toBe(false);
  });

  it('returns normalised, deterministic, causal log-probs for every position', async () => {
    const a = [10, 200, 33, 401, 7, 7, 99, 300];
    const b = a.slice(0, 5);
    const [ra, rb, ra2] = await llamaLogprobs(modelPath, [a, b, a]);
    expect(ra.length).toBe(a.length);
    expect(rb.length).toBe(b.length);
    for (const row of [...ra, ...rb]) {
      expect(row.length).toBe(VOCAB);
      expect(Math.abs(logSumExp(row))).toBeLessThan(1e-5);
      expect(row.every((v) => v <= 0 && Number.isFinite(v))).toBe(true);
    }
    // the same sequence twice in one run: bit-identical
    for (let i = 0; i < a.length; i++) expect(Array.from(ra2[i])).toEqual(Array.from(ra[i]));
    // a prefix sees nothing of the tokens after it (different batch shapes: float-close only)
    let worst = 0;
    for (let i = 0; i < b.length; i++) for (let v = 0; v < VOCAB; v++) worst = Math.max(worst, Math.abs(rb[i][v] - ra[i][v]));
    expect(worst).toBeLessThan(1e-4);
    // and the distributions differ from position to position (a model is actually running)
    expect(argmax(ra[0]) !== argmax(ra[1]) || Math.abs(ra[0][0] - ra[1][0]) > 1e-6).toBe(true);
  });

  it('generates greedily, consistent with its own log-probs', async () => {
    const prompt = [42, 17, 250];
    const gen = await llamaGenerateGreedy(modelPath, prompt, 6);
    expect(gen.length).toBeGreaterThan(0);
    expect(gen.length).toBeLessThanOrEqual(6);
    const [rows] = await llamaLogprobs(modelPath, [[...prompt, ...gen]]);
    for (let k = 0; k < gen.length; k++) expect(gen[k]).toBe(argmax(rows[prompt.length - 1 + k]));
  });

  it('tokenizes, with special tokens parsed only on request', async () => {
    const vocab = buildTestVocab(VOCAB);
    const [plain, empty] = await llamaTokenize(modelPath, ['the <|im_end|>', '']);
    expect(plain).not.toContain(vocab.imEnd);
    expect(empty).toEqual([]);
    const [special] = await llamaTokenize(modelPath, ['the <|im_end|>'], { parseSpecial: true });
    expect(special[special.length - 1]).toBe(vocab.imEnd);
  });

  it('fails with the model path and the reason on bad input', async () => {
    const bad = join(dir, 'garbage.gguf');
    writeFileSync(bad, Buffer.from('GGUF this is not a model'));
    await expect(llamaInfo(bad)).rejects.toThrow(/llama\.cpp runner \(info\) failed on .*garbage\.gguf/);
    await expect(llamaInfo(bad)).rejects.toThrow(/not a GGUF v2\/v3 file/);
    const truncated = join(dir, 'truncated.gguf');
    writeFileSync(truncated, readFileSync(modelPath).subarray(0, 3000));
    await expect(llamaInfo(truncated)).rejects.toThrow(/truncated\.gguf: Failed to load model[\s\S]*llama\.cpp stderr/);
    await expect(llamaInfo(join(dir, 'missing.gguf'))).rejects.toThrow(/missing\.gguf/);
    await expect(llamaLogprobs(modelPath, [[1, VOCAB]])).rejects.toThrow(/seqs\[0\]\[1\] = 512 is not a token id/);
  });
});
