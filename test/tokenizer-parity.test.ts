// Tokenization parity: our Tokenizer.encode must equal llama.cpp's llama_tokenize (via
// node-llama-cpp, add_special = false) token for token, on generated Qwen3 models with real
// merge lists. Both sides tokenize with special-token parsing off (the default everywhere in
// Bankai), and once more with it on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meta, plainValue } from '@bankai/gguf';
import { readGgufFile, writeGgufFile } from '@bankai/gguf/node';
import { bytesToUnicode, learnMerges, presetOptions, qwen3WriteSpec } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
// The tokenizer is runtime-neutral source with no engine dependency: import it directly so this
// test does not need the wasm engine built.
import { Tokenizer, toWellFormed } from '../packages/model/src/tokenizer.js';
import { llamaDetokenize, llamaTokenize } from './llama/client.js';
import { Rng } from '@bankai/rng';

// ---- test texts ----------------------------------------------------------------------------

const FIXED_TEXTS = [
  'Hello world',
  ' leading space',
  '   three leading spaces',
  'trailing spaces   ',
  'runs  of   spaces    between',
  '\tTabs\tand\t\ttabs',
  'line one\nline two\n\nline four\n',
  'windows\r\nline\r\n\r\nends\r\n',
  'mixed \r\n \n\t \r end',
  '1234567890',
  'The year 2024 had 365 days and 3.14159 is pi; -42, +7, 1e10, 0x1F',
  'Hello, world! How are you?!... (fine) [ok] {x: 1}; a=b+c*d/e',
  "I'll go, you'll stay, DON'T panic, it's fine, we've won, they're here, I'm ok, he'd say",
  "WE'LL SHOUT, 'S 'T 'RE 'VE 'M 'LL 'D, rock 'n' roll, ''quoted''",
  'Café résumé naïve façade Ångström Zürich São Paulo',
  'Привет, мир! Это тест токенизатора.',
  '日本語のテキストと中文字符，还有한국어 텍스트。',
  'العربية עברית ελληνικά हिन्दी ไทย',
  'Emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ ✨ 🧑🏾‍💻',
  'math: ∑ x² ≤ ½ → ∞, ℝ ⊂ ℂ, ① ② ③, Ⅻ',
  'zero\u200bwidth, soft\u00adhyphen, no\u00a0break, ideographic\u3000space',
  'combining e\u0301 a\u0308 n\u0303',
  'code: def f(x):\n    return x ** 2  # square\n',
  '<think>user-defined</think> and <|im_end|> control <|im_start|>user\n',
  '<|endoftext|>',
  '',
  ' ',
  '\n',
  '\r\n',
  "'",
  "it'\u017f kelvin \u212a and 's",
  'next\u0085line and bom\ufeffinside',
  'lone \ud800 high and \udc00 low surrogates \ud83d',
  'nul\u0000byte and \u0001\u001f\u007f controls \u001c\u001d\u001e\u001f separators',
];

/** Uniform floats in [0, 1) from the project's seeded generator: failures reproduce. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextFloat();
}

const PIECES = [
  'the', ' the', 'The', ' and', 'is', ' of', 'Paris', 'capital', 'question', 'answer', ' ', '  ', '   ',
  '\t', '\n', '\n\n', '\r\n', '\r', '.', ',', '!', '?', ':', ';', '"', "'", '(', ')', '-', '_', '/',
  '0', '1', '42', '2024', '3.14', "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'LL", "'S",
  'é', 'ß', 'ñ', 'Ж', 'да', '中', '文', 'の', '한', 'α', '١٢', '½', '²', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷',
  '\u0301', '\u200d', '\u00a0', '\u0085', '\ufeff', '\u017f', '\u212a', '\u3000', '\u088f',
  'LLAMA', 'AMA', "'LL", 'x', 'line', 'word', 'foo', 'ab', 'c',
  '<think>', '</think>', '<|im_end|>', '<|im_start|>', '<|endoftext|>', '<|im_', 'end|>',
];

/** Random strings: mostly pieces, some arbitrary code points (any plane, unassigned, lone surrogates). */
function randomTexts(count: number, seed: number): string[] {
  const rand = rng(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    let s = '';
    const len = 1 + Math.floor(rand() * 24);
    for (let i = 0; i < len; i++) {
      const r = rand();
      if (r < 0.15) {
        const cp = Math.floor(rand() * 0x110000); // any plane, assigned or not
        s += cp >= 0xd800 && cp <= 0xdfff ? '\ufffd' : String.fromCodePoint(cp);
      }
      else if (r < 0.18) s += String.fromCharCode(0xd800 + Math.floor(rand() * 0x800)); // lone surrogate
      else if (r < 0.25) s += String.fromCodePoint(0x80 + Math.floor(rand() * 0x2f80)); // dense BMP scripts
      else s += PIECES[Math.floor(rand() * PIECES.length)];
    }
    out.push(s);
  }
  return out;
}

// ---- models --------------------------------------------------------------------------------

/** Text for a richer vocabulary: merges over accents, Cyrillic, CJK, emoji, digits and whitespace. */
const RICH_MERGE_TEXT = `${FIXED_TEXTS.slice(0, 24).join('\n')}
Привет привет мир мир тест тест. 日本語 日本語 中文 中文 テキスト テキスト. Café café résumé résumé.
😀😀 👍🏽👍🏽 🇫🇷🇫🇷 the the the and and of of    indented    indented\r\n\r\n\t\t`;

/**
 * Strings whose word boundaries under llama.cpp's qwen2 rules differ from a naive JS-regex or
 * Unicode-current implementation. Byte-level BPE hides a boundary mistake unless a merge spans
 * it, so the rich vocabulary gets top-ranked merges that build each probe into one token: a
 * wrong split or a wrong join then changes the token ids.
 */
const BOUNDARY_PROBES = [
  "'LLAMA", // contraction 'LL then AMA (ASCII case folding)
  "'\u017fx", // long s is not an ASCII s: one word
  '\u0085line', // U+0085 is whitespace to llama.cpp, not to JS \s
  ' \ufeffword', // U+FEFF is not whitespace to llama.cpp, but is to JS \s
  'ab\u088fc', // U+088F: a letter in Unicode 17 (Node 20.20), unassigned in llama.cpp's tables
  'a\u0301b', // combining mark is not \p{L} (qwen2, unlike qwen35)
  '12', // digits one by one
  '  x', // space run leaves its last space to the word
  '!!\n\n', // punctuation takes trailing newlines
  ' \n\t', // whitespace up to the last newline
  '\tfoo', // a tab prefixes letters
];

/** The model-gen tiny model with a vocabulary learned on RICH_MERGE_TEXT plus user-defined tokens. */
async function writeRichModel(path: string): Promise<void> {
  const byteSyms = bytesToUnicode();
  const tokens = [...byteSyms];
  const seen = new Set(tokens);
  const merges: string[] = [];
  for (const probe of BOUNDARY_PROBES) {
    const syms = Array.from(new TextEncoder().encode(probe), (b) => byteSyms[b]);
    let acc = syms[0];
    for (const sym of syms.slice(1)) {
      merges.push(`${acc} ${sym}`);
      acc += sym;
      if (!seen.has(acc)) {
        seen.add(acc);
        tokens.push(acc);
      }
    }
  }
  for (const [a, b] of learnMerges(RICH_MERGE_TEXT, 600)) {
    merges.push(`${a} ${b}`);
    if (!seen.has(a + b)) {
      seen.add(a + b);
      tokens.push(a + b);
    }
  }
  const types = tokens.map(() => 1);
  for (const [text, type] of [
    ['<|endoftext|>', 3],
    ['<|im_start|>', 3],
    ['<|im_end|>', 3],
    ['<think>', 4],
    ['</think>', 4],
  ] as const) {
    tokens.push(text);
    types.push(type);
  }
  const o = presetOptions('tiny', { seed: 5, weights: 'q1_0', vocab: tokens.length, name: 'bankai-parity-rich' });
  const spec = qwen3WriteSpec(o);
  const replace = new Map([
    ['tokenizer.ggml.tokens', meta.strings(tokens)],
    ['tokenizer.ggml.token_type', meta.i32s(types)],
    ['tokenizer.ggml.merges', meta.strings(merges)],
    ['tokenizer.ggml.eos_token_id', meta.u32(tokens.indexOf('<|im_end|>'))],
    ['tokenizer.ggml.bos_token_id', meta.u32(tokens.indexOf('<|endoftext|>'))],
    ['tokenizer.ggml.padding_token_id', meta.u32(tokens.indexOf('<|endoftext|>'))],
  ]);
  const metadata = [...spec.metadata].map(([k, v]) => [k, replace.get(k) ?? v] as const);
  await writeGgufFile(path, { ...spec, metadata });
}

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

const TEXTS = [...FIXED_TEXTS, ...BOUNDARY_PROBES, ...BOUNDARY_PROBES.map((p) => `x ${p} y`), ...randomTexts(400, 20240601)];

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
