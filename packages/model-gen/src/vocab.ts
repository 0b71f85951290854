// ---------------------------------------------------------------------------------------------
// A Qwen-like byte-level BPE vocabulary for test models: the 256 GPT-2 byte symbols, merges
// learned deterministically on a small built-in text, the Qwen special tokens, then
// <|reserved_N|> control tokens up to the requested size. llama.cpp loads it as
// tokenizer.ggml.model = gpt2, pre = qwen2.
// ---------------------------------------------------------------------------------------------

export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;
export const MIN_VOCAB = 256 + SPECIAL_TOKENS.length;

/** Text the merges are learned on (ASCII English, digits and punctuation). */
export const MERGE_TEXT = `
The quick brown fox jumps over the lazy dog. The capital of France is Paris, and the capital
of Italy is Rome. Water boils at 100 degrees and freezes at 0 degrees. One, two, three, four,
five, six, seven, eight, nine, ten. The sun rises in the east and sets in the west. A model
reads the question and writes the answer. Question: what is the color of the sky? Answer: the
sky is blue. Question: what is two plus two? Answer: four. The cat sat on the mat, the dog sat
on the log. Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday are the days of
the week. January, February, March, April, May, June, July, August, September, October,
November and December are the months of the year. 1 2 3 4 5 6 7 8 9 10 11 12 2024 2025 1000.
This is a test of the tokenizer: it learns merges from this text, so common words like "the",
"and", "is" and "of" become single tokens. def main(): return x + y * 2 # code
The people who live in the city walk to work; others take the train, the bus or a car.
Hello, world! How are you today? I am fine, thank you. Good morning and good night.
`;

/** GPT-2's byte -> unicode map: printable bytes map to themselves, others to U+0100.. in order. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  }
  return map;
}

/** The 256 byte symbols in GPT-2's vocabulary order (printable bytes first). */
function byteSymbolsInOrder(map: string[]): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const order: number[] = [];
  for (let b = 0; b < 256; b++) if (printable(b)) order.push(b);
  for (let b = 0; b < 256; b++) if (!printable(b)) order.push(b);
  return order.map((b) => map[b]!);
}

/** GPT-2-style pre-tokenization (words keep their leading space). */
const PRE_TOKEN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Learns up to `maxMerges` BPE merges on `text`: repeatedly merges the most frequent adjacent
 * pair (ties broken by the pair's text, so the result is the same everywhere).
 */
export function learnMerges(text: string, maxMerges: number): Array<[string, string]> {
  const map = bytesToUnicode();
  const encoder = new TextEncoder();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(PRE_TOKEN)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const words = [...counts].map(([w, c]) => ({ symbols: Array.from(encoder.encode(w), (b) => map[b]!), count: c }));
  const merges: Array<[string, string]> = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.symbols.length; i++) {
        const key = `${w.symbols[i]} ${w.symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + w.count);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      if (c > bestCount || (c === bestCount && best !== undefined && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (best === undefined) break;
    const [a, b] = best.split(' ') as [string, string];
    merges.push([a, b]);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.symbols[i]!);
      }
      w.symbols = out;
    }
  }
  return merges;
}

export interface TestVocab {
  /** Token texts, id order. */
  tokens: string[];
  /** TOKEN_TYPE per token. */
  tokenTypes: Int32Array;
  /** "a b" merge strings, rank order. */
  merges: string[];
  endOfText: number;
  imStart: number;
  imEnd: number;
}

/** Builds a vocabulary of exactly `size` tokens (>= 259). */
export function buildTestVocab(size: number): TestVocab {
  if (!Number.isInteger(size) || size < MIN_VOCAB) {
    throw new RangeError(`vocab size ${size} is too small: it needs at least ${MIN_VOCAB} (256 bytes + 3 special tokens)`);
  }
  const map = bytesToUnicode();
  const tokens = byteSymbolsInOrder(map);
  const seen = new Set(tokens);
  const room = size - MIN_VOCAB;
  const merges: string[] = [];
  if (room > 0) {
    // learn merges until the vocab has no more room (some merges may repeat a token text)
    for (const [a, b] of learnMerges(MERGE_TEXT, room * 2)) {
      const t = a + b;
      if (!seen.has(t)) {
        if (tokens.length >= 256 + room) break;
        seen.add(t);
        tokens.push(t);
      }
      merges.push(`${a} ${b}`);
    }
  }
  const nNormal = tokens.length;
  const endOfText = tokens.length;
  tokens.push(...SPECIAL_TOKENS);
  for (let n = 0; tokens.length < size; n++) tokens.push(`<|reserved_${n}|>`);
  const tokenTypes = new Int32Array(size).fill(TOKEN_TYPE.control);
  tokenTypes.fill(TOKEN_TYPE.normal, 0, nNormal);
  return { tokens, tokenTypes, merges, endOfText, imStart: endOfText + 1, imEnd: endOfText + 2 };
}
