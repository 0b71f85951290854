// Tokenization parity: our Tokenizer.encode must equal llama.cpp's llama_tokenize (via
// node-llama-cpp, add_special = false) token for token, on generated Qwen3 models with real
// merge lists. Both sides tokenize with special-token parsing off (the default everywhere in
// Bankai), and once more with it on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainValue } from '@bankai/gguf';
import { readGgufFile } from '@bankai/gguf/node';
import { presetOptions } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
// The tokenizer is runtime-neutral source with no engine dependency: import it directly so this
// test does not need the wasm engine built.
import { Tokenizer, toWellFormed } from '../packages/model/src/tokenizer.js';
import { llamaDetokenize, llamaTokenize } from './llama/client.js';
import { TEXTS, writeRichModel } from './tokenizer-texts.js';

/** Our tokenizer from the file's own metadata (read back through @bankai/gguf). */
async function tokenizerOf(path: string): Promise<Tokenizer> {
  const file = await readGgufFile(path);
  const get = (k: string) => {
    const v = file.metadata.get(k);
    return v === undefined ? undefined : plainValue(v);
  };
  return Tokenizer.fromMetadata({
    model: get('tokenizer.ggml.model') as string,
    pre: get('tokenizer.ggml.pre') as string,
    tokens: get('tokenizer.ggml.tokens') as string[],
    tokenTypes: get('tokenizer.ggml.token_type') as number[],
    merges: get('tokenizer.ggml.merges') as string[],
    bosId: get('tokenizer.ggml.bos_token_id') as number | undefined,
    eosId: get('tokenizer.ggml.eos_token_id') as number | undefined,
  });
}

// ---- comparison ------------------------------------------------------------------------------

function describeMismatches(tok: Tokenizer, texts: string[], ours: number[][], theirs: number[][]): string[] {
  const out: string[] = [];
  for (let i = 0; i < texts.length; i++) {
    const a = ours[i];
    const b = theirs[i];
    if (a.length === b.length && a.every((v, k) => v === b[k])) continue;
    let k = 0;
    while (k < a.length && k < b.length && a[k] === b[k]) k++;
    const show = (ids: number[]) => ids.slice(Math.max(0, k - 2), k + 4).map((id) => `${id}:${JSON.stringify(tok.tokenText(id))}`).join(' ');
    out.push(
      `text[${i}] ${JSON.stringify(texts[i])}\n  ours  (${a.length}) ${JSON.stringify(a)}\n  llama (${b.length}) ${JSON.stringify(b)}\n` +
        `  first difference at position ${k}: ours ${show(a)} | llama ${show(b)}`,
    );
  }
  return out;
}

let dir: string;
const models: { name: string; path: string }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bankai-tok-parity-'));
  const small = join(dir, 'small.gguf');
  await writeQwen3File(small, presetOptions('small', { seed: 3, weights: 'q1_0' }));
  const rich = join(dir, 'rich.gguf');
  await writeRichModel(rich);
  models.push({ name: 'model-gen small (vocab 2048, English merges)', path: small });
  models.push({ name: 'rich vocabulary (multilingual merges, user-defined tokens)', path: rich });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([0, 1])('tokenizer parity with llama.cpp, model %i', (m) => {
  for (const parseSpecial of [false, true]) {
    it(`encode === llama_tokenize (parseSpecial ${parseSpecial})`, async () => {
      const { name, path } = models[m];
      const tok = await tokenizerOf(path);
      const theirs = await llamaTokenize(path, TEXTS, { parseSpecial });
      const ours = TEXTS.map((t) => tok.encode(t, { parseSpecial }));
      const mismatches = describeMismatches(tok, TEXTS, ours, theirs);
      expect(mismatches, `${name}: ${mismatches.length} of ${TEXTS.length} texts differ\n${mismatches.slice(0, 10).join('\n')}`).toEqual([]);
    });
  }

  it('decode === llama_detokenize, with and without special tokens rendered', async () => {
    const { name, path } = models[m];
    const tok = await tokenizerOf(path);
    const seqs = await llamaTokenize(path, TEXTS, { parseSpecial: true });
    for (const renderSpecial of [false, true]) {
      const theirs = await llamaDetokenize(path, seqs, { renderSpecial });
      const bad: string[] = [];
      seqs.forEach((ids, i) => {
        const ours = tok.decode(ids, { renderSpecial });
        if (ours !== theirs[i]) bad.push(`text[${i}] ids ${JSON.stringify(ids)}\n  ours  ${JSON.stringify(ours)}\n  llama ${JSON.stringify(theirs[i])}`);
      });
      expect(bad, `${name} (renderSpecial ${renderSpecial}): ${bad.length} differ\n${bad.slice(0, 5).join('\n')}`).toEqual([]);
      // and a round trip: without special tokens in the way, decoding gives back the well-formed text
      if (renderSpecial) seqs.forEach((ids, i) => expect(tok.decode(ids, { renderSpecial })).toBe(toWellFormed(TEXTS[i])));
    }
  });
});
