// Texts and a vocabulary for tokenizer parity tests (llama.cpp in tokenizer-parity.test.ts, the
// engine component in component.test.ts): fixed texts that probe every pre-tokenizer rule, seeded
// random texts (any plane, lone surrogates), and a model with multilingual merges, boundary-probe
// merges and user-defined tokens.
import { meta } from '@bankai/gguf';
import { writeGgufFile } from '@bankai/gguf/node';
import { bytesToUnicode, learnMerges, presetOptions, qwen3WriteSpec } from '@bankai/model-gen';
import { Rng } from '@bankai/rng';

// ---- test texts ----------------------------------------------------------------------------

export const FIXED_TEXTS = [
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
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextFloat();
}

export const PIECES = [
  'the', ' the', 'The', ' and', 'is', ' of', 'Paris', 'capital', 'question', 'answer', ' ', '  ', '   ',
  '\t', '\n', '\n\n', '\r\n', '\r', '.', ',', '!', '?', ':', ';', '"', "'", '(', ')', '-', '_', '/',
  '0', '1', '42', '2024', '3.14', "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'LL", "'S",
  'é', 'ß', 'ñ', 'Ж', 'да', '中', '文', 'の', '한', 'α', '١٢', '½', '²', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷',
  '\u0301', '\u200d', '\u00a0', '\u0085', '\ufeff', '\u017f', '\u212a', '\u3000', '\u088f',
  'LLAMA', 'AMA', "'LL", 'x', 'line', 'word', 'foo', 'ab', 'c',
  '<think>', '</think>', '<|im_end|>', '<|im_start|>', '<|endoftext|>', '<|im_', 'end|>',
];

/** Random strings: mostly pieces, some arbitrary code points (any plane, unassigned, lone surrogates). */
export function randomTexts(count: number, seed: number): string[] {
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
export const RICH_MERGE_TEXT = `${FIXED_TEXTS.slice(0, 24).join('\n')}
Привет привет мир мир тест тест. 日本語 日本語 中文 中文 テキスト テキスト. Café café résumé résumé.
😀😀 👍🏽👍🏽 🇫🇷🇫🇷 the the the and and of of    indented    indented\r\n\r\n\t\t`;

/**
 * Strings whose word boundaries under llama.cpp's qwen2 rules differ from a naive JS-regex or
 * Unicode-current implementation. Byte-level BPE hides a boundary mistake unless a merge spans
 * it, so the rich vocabulary gets top-ranked merges that build each probe into one token: a
 * wrong split or a wrong join then changes the token ids.
 */
export const BOUNDARY_PROBES = [
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
export async function writeRichModel(path: string): Promise<void> {
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

/** Every text the parity tests tokenize. */
export const TEXTS = [...FIXED_TEXTS, ...BOUNDARY_PROBES, ...BOUNDARY_PROBES.map((p) => `x ${p} y`), ...randomTexts(400, 20240601)];
