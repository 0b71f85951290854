// Byte-level BPE tokenizer for GGUF vocabularies (`tokenizer.ggml.model = "gpt2"`) with the
// qwen2 pre-tokenizer (Qwen2 / Qwen3 / Bonsai), behaving as llama.cpp's tokenizer does so that
// token ids agree with the reference runtime exactly. Runtime-neutral: no node: imports.
//
// Pipeline of encode(text):
//   1. lone UTF-16 surrogates become U+FFFD (what TextEncoder and node's N-API string
//      conversion both do, so llama.cpp sees the same bytes);
//   2. special-token partition: user-defined tokens (type 4) are always cut out of the text as
//      whole tokens; control (3) and unknown (2) tokens only with { parseSpecial: true }
//      (llama.cpp's tokenizer_st_partition; longest token text first);
//   3. each remaining text fragment is split into words by the qwen2 pre-tokenizer (below);
//   4. each word's UTF-8 bytes are mapped to GPT-2's printable byte alphabet and merged by BPE,
//      lowest merge rank first, ties to the leftmost pair (llama.cpp's priority queue).
//
// ---------------------------------------------------------------------------------------------
// The qwen2 pre-tokenizer. The HF regex is
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// llama.cpp does not run it through a regex engine: unicode.cpp has a hand-written scanner over
// code points with its own character tables. This file mirrors that scanner, not a JS regex,
// because a JS regex disagrees with llama.cpp in three ways:
//   - classes: llama.cpp's \p{L} / \p{N} come from an older UnicodeData.txt than current JS
//     engines (Node 20.20 ships Unicode 17), so ~9,000 newer letters are "other" to llama.cpp;
//     its \s set includes U+0085 and excludes U+FEFF (JS is the reverse). unicode-classes.ts is
//     generated from llama.cpp's own tables so every runtime classifies identically.
//   - (?i:...) contractions: llama.cpp lowercases with its simple case map, so only ASCII S/T/M/
//     D/RE/VE/LL match; a JS /iu regex also matches U+017F (long s) and U+212A (Kelvin sign).
//   - \p{N} matches a single digit: "12345" is five words.
// ---------------------------------------------------------------------------------------------

import { UNICODE_CLASS_RUNS } from './unicode-classes.js';

/** GGUF tokenizer metadata, as plain values (the caller reads them from the file). */
export interface TokenizerMetadata {
  /** `tokenizer.ggml.model`; only "gpt2" (byte-level BPE) is supported. */
  model: string;
  /** `tokenizer.ggml.pre`; "qwen2" (or its llama.cpp alias "deepseek-r1-qwen"). */
  pre: string;
  /** `tokenizer.ggml.tokens`: token texts in GPT-2's byte alphabet, index = token id. */
  tokens: string[];
  /** `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  tokenTypes?: ArrayLike<number>;
  /** `tokenizer.ggml.merges`: "left right" strings, rank = index. */
  merges: string[];
  /** `tokenizer.ggml.bos_token_id`. */
  bosId?: number;
  /** `tokenizer.ggml.eos_token_id`. */
  eosId?: number;
  /** `tokenizer.ggml.eot_token_id`; when absent, found by text as llama.cpp does (see below). */
  eotId?: number;
}

export interface EncodeOptions {
  /** Match control tokens such as `<|im_end|>` in the text (default false, as in our llama.cpp parity runs). */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control / unknown tokens as their text (default false: they decode to nothing, as in llama.cpp). */
  renderSpecial?: boolean;
}

/** Incremental decoder: UTF-8 sequences split across tokens come out whole once complete. */
export interface StreamingDecoder {
  /** Decode more tokens; returns only the complete characters so far. */
  push(ids: number | readonly number[]): string;
  /** Flush: an incomplete trailing sequence becomes U+FFFD. */
  end(): string;
}

export const TOKEN_TYPE = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/** Pre-tokenizer names that llama.cpp maps to its qwen2 rules. */
const QWEN2_PRE_NAMES = new Set(['qwen2', 'deepseek-r1-qwen']);

/**
 * End-of-turn texts llama.cpp looks for when `tokenizer.ggml.eot_token_id` is absent. llama.cpp
 * takes whichever it meets first in a hash map (on our test vocabularies: <|endoftext|>); we take
 * them in this order. Generation stops on any of them anyway (see eogIds).
 */
const EOT_TEXTS = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>', '<|endoftext|>'];

/** Token texts llama.cpp always treats as end of generation (besides EOS and EOT). */
const EOG_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '<|eom_id|>'];

const UTF8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

// ---- GPT-2 byte <-> unicode alphabet -------------------------------------------------------
// Printable Latin-1 bytes map to themselves; the other 68 bytes (controls, space, 0x7F-0xA0,
// soft hyphen) map to U+0100 upwards in byte order. Every mapped char is one UTF-16 unit.

const BYTE_TO_CHAR: string[] = new Array(256); // (256) one-char strings
const CHAR_TO_BYTE = new Int16Array(0x144).fill(-1); // (code unit) -> byte, -1 if not in the alphabet
{
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const code = printable ? b : next++;
    BYTE_TO_CHAR[b] = String.fromCharCode(code);
    CHAR_TO_BYTE[code] = b;
  }
}

// ---- code point classes (llama.cpp's tables) -------------------------------------------------

const OTHER = 0;
const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const OUT_OF_RANGE = 4; // past the end of the fragment: matches no class

const RUN_STARTS: Uint32Array = new Uint32Array(UNICODE_CLASS_RUNS.length / 2); // (runs) first code point
const RUN_CLASSES: Uint8Array = new Uint8Array(UNICODE_CLASS_RUNS.length / 2); // (runs) class
for (let i = 0; i < RUN_STARTS.length; i++) {
  RUN_STARTS[i] = UNICODE_CLASS_RUNS[2 * i];
  RUN_CLASSES[i] = UNICODE_CLASS_RUNS[2 * i + 1];
}
let BMP_CLASSES: Uint8Array | undefined; // (0x10000) class per BMP code point, built on first use

function bmpClasses(): Uint8Array {
  if (!BMP_CLASSES) {
    BMP_CLASSES = new Uint8Array(0x10000);
    for (let i = 0; i < RUN_STARTS.length && RUN_STARTS[i] < 0x10000; i++) {
      const end = i + 1 < RUN_STARTS.length ? Math.min(RUN_STARTS[i + 1], 0x10000) : 0x10000;
      BMP_CLASSES.fill(RUN_CLASSES[i], RUN_STARTS[i], end);
    }
  }
  return BMP_CLASSES;
}

/** llama.cpp's class of a code point: OTHER, LETTER, NUMBER or SPACE. */
export function codePointClass(cp: number): number {
  if (cp < 0x10000) return bmpClasses()[cp];
  let lo = 0;
  let hi = RUN_STARTS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (RUN_STARTS[mid] <= cp) lo = mid;
    else hi = mid - 1;
  }
  return RUN_CLASSES[lo];
}

// ---- qwen2 pre-tokenizer ---------------------------------------------------------------------

const CR = 0x0d;
const LF = 0x0a;
const SPACE_CHAR = 0x20;
const APOSTROPHE = 0x27;

/** ASCII-only lowercase, as llama.cpp's unicode_tolower is for the contraction letters. */
function lowerAscii(cp: number): number {
  return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
}

/**
 * Split code points into qwen2 words. Returns the end index (exclusive) of each word.
 * `cps` holds one fragment's code points; nothing past `n` is looked at.
 */
export function splitQwen2(cps: ArrayLike<number>, n: number = cps.length): number[] {
  const ends: number[] = [];
  const cpAt = (i: number) => (i < n ? cps[i] : -1);
  const classAt = (i: number) => (i < n ? codePointClass(cps[i]) : OUT_OF_RANGE);

  let pos = 0;
  while (pos < n) {
    const cp = cps[pos];
    const cls = codePointClass(cp);

    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (cp === APOSTROPHE && pos + 1 < n) {
      const a = lowerAscii(cps[pos + 1]);
      if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) {
        pos += 2;
        ends.push(pos);
        continue;
      }
      if (pos + 2 < n) {
        const b = lowerAscii(cps[pos + 2]);
        if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) {
          pos += 3;
          ends.push(pos);
          continue;
        }
      }
    }

    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (cp !== CR && cp !== LF && cls !== NUMBER && (cls === LETTER || classAt(pos + 1) === LETTER)) {
      pos++;
      while (classAt(pos) === LETTER) pos++;
      ends.push(pos);
      continue;
    }

    // \p{N}: one digit per word
    if (cls === NUMBER) {
      pos++;
      ends.push(pos);
      continue;
    }

    // " ?[^\s\p{L}\p{N}]+[\r\n]*" -- a space at the very end also lands here, alone.
    const next = cp === SPACE_CHAR ? classAt(pos + 1) : cls;
    if (next === OTHER || next === OUT_OF_RANGE) {
      if (cp === SPACE_CHAR) pos++;
      while (classAt(pos) === OTHER) pos++;
      while (cpAt(pos) === CR || cpAt(pos) === LF) pos++;
      ends.push(pos);
      continue;
    }

    // whitespace runs: \s*[\r\n]+ | \s+(?!\S) | \s+
    let run = 0;
    let afterLastNewline = -1;
    while (classAt(pos + run) === SPACE) {
      const c = cps[pos + run];
      if (c === CR || c === LF) afterLastNewline = pos + run + 1;
      run++;
    }
    if (afterLastNewline >= 0) {
      pos = afterLastNewline; // up to and including the last \r or \n of the run
    } else if (run > 1 && pos + run < n) {
      pos += run - 1; // leave the last space to prefix the next word
    } else if (run > 0) {
      pos += run;
    } else {
      pos++; // unreachable with the classes above; llama.cpp emits one code point
    }
    ends.push(pos);
  }
  return ends;
}

// ---- BPE over one word ------------------------------------------------------------------------

/** Binary min-heap of candidate merges, ordered by (rank, left symbol index). */
class MergeQueue {
  private rank: number[] = [];
  private left: number[] = [];
  private right: number[] = [];
  private leftLen: number[] = [];
  private rightLen: number[] = [];

  get size(): number {
    return this.rank.length;
  }

  push(rank: number, left: number, right: number, leftLen: number, rightLen: number): void {
    this.rank.push(rank);
    this.left.push(left);
    this.right.push(right);
    this.leftLen.push(leftLen);
    this.rightLen.push(rightLen);
    let i = this.rank.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the best entry into `out` = [rank, left, right, leftLen, rightLen]. */
  pop(out: number[]): void {
    out[0] = this.rank[0];
    out[1] = this.left[0];
    out[2] = this.right[0];
    out[3] = this.leftLen[0];
    out[4] = this.rightLen[0];
    const last = this.rank.length - 1;
    this.swap(0, last);
    this.rank.pop();
    this.left.pop();
    this.right.pop();
    this.leftLen.pop();
    this.rightLen.pop();
    let i = 0;
    const n = this.rank.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.less(l, best)) best = l;
      if (r < n && this.less(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
  }

  private less(a: number, b: number): boolean {
    return this.rank[a] < this.rank[b] || (this.rank[a] === this.rank[b] && this.left[a] < this.left[b]);
  }

  private swap(a: number, b: number): void {
    for (const arr of [this.rank, this.left, this.right, this.leftLen, this.rightLen]) {
      const t = arr[a];
      arr[a] = arr[b];
      arr[b] = t;
    }
  }
}

// ---- the tokenizer ---------------------------------------------------------------------------

/** Malformed or unsupported tokenizer metadata: names the file, the metadata key and the fix. */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
  readonly file?: string;
  /** The metadata key at fault, e.g. `tokenizer.ggml.eot_token_id`. */
  readonly field: string;
  readonly fix: string;
  /** The problem alone, without location and fix. */
  readonly problem: string;
  constructor(problem: string, where: { file?: string; field: string; fix: string }) {
    super(`${where.file ? `${where.file}: ` : ''}${where.field}${problem.startsWith('[') ? '' : ' '}${problem}. Fix: ${where.fix}`);
    this.file = where.file;
    this.field = where.field;
    this.fix = where.fix;
    this.problem = problem;
  }
}

/** A metadata value for a message (never throws: bigints, typed arrays, long strings). */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'bigint') return `${v}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a numeric array`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const MAX_CACHED_WORDS = 1 << 16;

export class Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly eotId: number | undefined;
  /** End-of-generation ids: EOS, EOT and the tokens llama.cpp recognises by text (<|im_end|>, <|endoftext|>, ...). */
  readonly eogIds: ReadonlySet<number>;

  private readonly tokens: readonly string[];
  private readonly types: Uint8Array; // (vocabSize) token type, 1 = normal when absent
  private readonly idOf: Map<string, number>;
  private readonly mergeRank: Map<string, number>; // "left right" -> rank
  private readonly userDefined: number[]; // ids, longest text first
  private readonly allSpecial: number[]; // user-defined + control + unknown, longest text first
  private readonly pieceBytes: (Uint8Array | undefined)[]; // (vocabSize) decoded bytes, filled lazily
  private readonly wordCache = new Map<string, number[]>();

  private constructor(md: TokenizerMetadata) {
    this.tokens = md.tokens;
    this.vocabSize = md.tokens.length;
    this.types = new Uint8Array(this.vocabSize).fill(TOKEN_TYPE.normal);
    if (md.tokenTypes) {
      // unknown type values become 0 (llama.cpp's "undefined": never special, decodes to nothing)
      this.types.set(Array.from(md.tokenTypes, (t) => (Number.isInteger(t) && t >= 1 && t <= 6 ? t : 0)));
    }

    this.idOf = new Map();
    for (let id = 0; id < this.vocabSize; id++) this.idOf.set(md.tokens[id], id);

    this.mergeRank = new Map();
    for (let rank = 0; rank < md.merges.length; rank++) {
      // llama.cpp keeps the first rank of a repeated merge
      if (!this.mergeRank.has(md.merges[rank])) this.mergeRank.set(md.merges[rank], rank);
    }

    const special: number[] = [];
    for (let id = 0; id < this.vocabSize; id++) {
      const t = this.types[id];
      const isSpecial = t === TOKEN_TYPE.control || t === TOKEN_TYPE.userDefined || t === TOKEN_TYPE.unknown;
      if (isSpecial && md.tokens[id].length > 0) special.push(id);
    }
    // llama.cpp sorts by UTF-8 length, longest first; ties by id here (its sort is unstable)
    const byteLen = new Map(special.map((id) => [id, UTF8.encode(md.tokens[id]).length]));
    special.sort((a, b) => byteLen.get(b)! - byteLen.get(a)! || a - b);
    this.allSpecial = special;
    this.userDefined = special.filter((id) => this.types[id] === TOKEN_TYPE.userDefined);

    this.pieceBytes = new Array(this.vocabSize);
    this.bosId = md.bosId;
    this.eosId = md.eosId;
    this.eotId = md.eotId ?? EOT_TEXTS.map((t) => this.idOf.get(t)).find((id) => id !== undefined);
    const eog = new Set<number>();
    for (const id of [this.eosId, this.eotId, ...EOG_TEXTS.map((t) => this.idOf.get(t))]) if (id !== undefined) eog.add(id);
    this.eogIds = eog;
  }

  /** Build from GGUF metadata; anything unsupported or malformed is a TokenizerError naming the
   *  file (when given), the metadata key and the fix. */
  static fromMetadata(md: TokenizerMetadata, file?: string): Tokenizer {
    const fail = (field: string, problem: string, fix: string): never => {
      throw new TokenizerError(problem, { file, field: `tokenizer.ggml.${field}`, fix });
    };
    const reexport = 'the file\'s tokenizer is corrupt: export the model again with a current converter';
    if (md.model !== 'gpt2') {
      fail('model', `= ${describe(md.model)} is not supported: only "gpt2" (byte-level BPE, as in Qwen/Bonsai GGUF files) is implemented`,
        'use a Qwen3 GGUF (its tokenizer is "gpt2")');
    }
    if (typeof md.pre !== 'string' || !QWEN2_PRE_NAMES.has(md.pre)) {
      fail('pre', `= ${describe(md.pre)} is not supported: only ${[...QWEN2_PRE_NAMES].map((s) => `"${s}"`).join(', ')} (the Qwen2/Qwen3 pre-tokenizer) is implemented`,
        'use a Qwen3 GGUF (its pre-tokenizer is "qwen2")');
    }
    if (!Array.isArray(md.tokens) || md.tokens.length === 0) {
      fail('tokens', Array.isArray(md.tokens) ? 'is missing or empty: the GGUF file has no vocabulary' : `is ${describe(md.tokens)}, not an array of strings`, reexport);
    }
    const seen = new Map<string, number>();
    for (let id = 0; id < md.tokens.length; id++) {
      const t = md.tokens[id];
      if (typeof t !== 'string') fail('tokens', `[${id}] is ${describe(t)}, not a string`, reexport);
      const prev = seen.get(t);
      if (prev !== undefined) {
        fail('tokens', `[${id}] = ${describe(t)} duplicates tokens[${prev}]: token texts must be unique (llama.cpp rejects this file too)`, reexport);
      }
      seen.set(t, id);
    }
    if (md.tokenTypes !== undefined) {
      const types = md.tokenTypes as unknown;
      const isList = Array.isArray(types) || (ArrayBuffer.isView(types) && !(types instanceof DataView));
      if (!isList) fail('token_type', `is ${describe(types)}, not an array of integers`, reexport);
      if (md.tokenTypes.length !== md.tokens.length) {
        fail('token_type', `has ${md.tokenTypes.length} entries but tokenizer.ggml.tokens has ${md.tokens.length}: they must match`, reexport);
      }
    }
    if (!Array.isArray(md.merges)) fail('merges', `is ${describe(md.merges)}: a gpt2 tokenizer needs its merge list (an array of "left right" strings)`, reexport);
    for (let i = 0; i < md.merges.length; i++) {
      const m = md.merges[i];
      if (typeof m !== 'string' || m.indexOf(' ', 1) < 0) {
        fail('merges', `[${i}] = ${describe(m)} is not of the form "left right"`, reexport);
      }
    }
    for (const [field, id] of [
      ['bos_token_id', md.bosId],
      ['eos_token_id', md.eosId],
      ['eot_token_id', md.eotId],
    ] as const) {
      if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < md.tokens.length)) {
        fail(field, `= ${describe(id)} is outside the vocabulary (0..${md.tokens.length - 1})`,
          `set tokenizer.ggml.${field} to a token id below ${md.tokens.length}, or remove it`);
      }
    }
    return new Tokenizer(md);
  }

  // ---- encode --------------------------------------------------------------------------------

  /** Text to token ids (no BOS/EOS added, like llama.cpp with add_special = false). */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const specials = opts.parseSpecial ? this.allSpecial : this.userDefined;
    for (const piece of this.partitionSpecial(toWellFormed(text), specials)) {
      if (typeof piece === 'number') out.push(piece);
      else this.encodeFragment(piece, out);
    }
    return out;
  }

  /** Cut special-token texts out of the text: for each special token (longest first), every occurrence in every plain fragment. */
  private partitionSpecial(text: string, specials: readonly number[]): (string | number)[] {
    let pieces: (string | number)[] = text.length > 0 ? [text] : [];
    for (const id of specials) {
      const needle = this.tokens[id];
      if (!pieces.some((p) => typeof p === 'string' && p.includes(needle))) continue;
      const next: (string | number)[] = [];
      for (const p of pieces) {
        if (typeof p !== 'string') {
          next.push(p);
          continue;
        }
        let from = 0;
        for (let at = p.indexOf(needle); at >= 0; at = p.indexOf(needle, from)) {
          if (at > from) next.push(p.slice(from, at));
          next.push(id);
          from = at + needle.length;
        }
        if (from < p.length) next.push(p.slice(from));
      }
      pieces = next;
    }
    return pieces;
  }

  /** Pre-tokenize one plain fragment and BPE each word into `out`. */
  private encodeFragment(fragment: string, out: number[]): void {
    const cps: number[] = []; // (code points)
    const unitStart: number[] = []; // (code points + 1) UTF-16 offset of each code point
    for (let i = 0; i < fragment.length; ) {
      const cp = fragment.codePointAt(i)!;
      cps.push(cp);
      unitStart.push(i);
      i += cp > 0xffff ? 2 : 1;
    }
    unitStart.push(fragment.length);
    let start = 0;
    for (const end of splitQwen2(cps)) {
      const word = fragment.slice(unitStart[start], unitStart[end]);
      let ids = this.wordCache.get(word);
      if (!ids) {
        ids = this.bpeWord(word);
        if (this.wordCache.size >= MAX_CACHED_WORDS) this.wordCache.clear();
        this.wordCache.set(word, ids);
      }
      for (const id of ids) out.push(id);
      start = end;
    }
  }

  /** BPE one pre-token word: UTF-8 bytes -> byte alphabet -> merges by (rank, leftmost). */
  private bpeWord(word: string): number[] {
    const bytes = UTF8.encode(word);
    const n = bytes.length;
    let mapped = ''; // one UTF-16 unit per byte
    for (let i = 0; i < n; i++) mapped += BYTE_TO_CHAR[bytes[i]];

    // symbols: a linked list over byte positions; symbol i starts at byte i
    const len = new Int32Array(n).fill(1); // (n) symbol length in bytes, 0 once merged away
    const next = new Int32Array(n); // (n) next live symbol, -1 at the end
    const prev = new Int32Array(n); // (n) previous live symbol, -1 at the start
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const queue = new MergeQueue();
    const consider = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const key = mapped.slice(left, left + len[left]) + ' ' + mapped.slice(right, right + len[right]);
      const rank = this.mergeRank.get(key);
      if (rank !== undefined) queue.push(rank, left, right, len[left], len[right]);
    };
    for (let i = 0; i + 1 < n; i++) consider(i, i + 1);

    const top = [0, 0, 0, 0, 0];
    while (queue.size > 0) {
      queue.pop(top);
      const [, left, right, leftLen, rightLen] = top;
      // stale entry: either side has changed since it was queued (llama.cpp compares the texts;
      // a symbol only grows, and `right` is adjacent to `left` while both keep their lengths)
      if (len[left] !== leftLen || len[right] !== rightLen || len[right] === 0) continue;
      len[left] += len[right];
      len[right] = 0;
      next[left] = next[right];
      if (next[left] >= 0) prev[next[left]] = left;
      consider(prev[left], left);
      consider(left, next[left]);
    }

    const ids: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      const piece = mapped.slice(i, i + len[i]);
      const id = this.idOf.get(piece);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // Not in the vocabulary (only with inconsistent merges). llama.cpp then looks up each raw
      // UTF-8 byte of the mapped text as a one-byte token text, which finds only ASCII-range
      // alphabet chars and silently drops the rest; we do exactly the same for parity.
      for (const ch of piece) {
        if (ch.charCodeAt(0) < 0x80) {
          const byteId = this.idOf.get(ch);
          if (byteId !== undefined) ids.push(byteId);
        }
      }
    }
    return ids;
  }

  // ---- decode --------------------------------------------------------------------------------

  /** The exact bytes the tokens stand for (control tokens: empty unless renderSpecial). */
  decodeBytes(ids: readonly number[], opts: DecodeOptions = {}): Uint8Array {
    const parts = ids.map((id) => this.pieceOf(id, opts));
    const total = parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(total); // (total bytes) concatenated pieces
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /**
   * Tokens to text; invalid UTF-8 (e.g. a cut multi-byte character) becomes U+FFFD. A leading
   * U+FEFF is text, not a byte order mark (ignoreBOM), so decode(encode(s)) === s.
   */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(this.decodeBytes(ids, opts));
  }

  /** A decoder for token-by-token output that holds back partial UTF-8 sequences. */
  createDecoder(opts: DecodeOptions = {}): StreamingDecoder {
    const td = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (ids) => td.decode(this.decodeBytes(typeof ids === 'number' ? [ids] : ids, opts), { stream: true }),
      end: () => td.decode(),
    };
  }

  /** The token's text as stored in the vocabulary (GPT-2 byte alphabet for normal tokens). */
  tokenText(id: number): string {
    this.checkId(id);
    return this.tokens[id];
  }

  /** The bytes a token decodes to (control tokens: their text). */
  tokenBytes(id: number): Uint8Array {
    return this.pieceOf(id, { renderSpecial: true });
  }

  tokenType(id: number): number {
    this.checkId(id);
    return this.types[id];
  }

  isControl(id: number): boolean {
    return this.tokenType(id) === TOKEN_TYPE.control;
  }

  /** End of generation: EOS, EOT or another end-of-generation token (see eogIds). */
  isEndOfGeneration(id: number): boolean {
    return this.eogIds.has(id);
  }

  /** Id of an exact token text, if present. */
  idOfText(text: string): number | undefined {
    return this.idOf.get(text);
  }

  private checkId(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
      throw new Error(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
  }

  /** Bytes of one token as llama.cpp's token_to_piece renders it. */
  private pieceOf(id: number, opts: DecodeOptions): Uint8Array {
    this.checkId(id);
    const type = this.types[id];
    if (type === TOKEN_TYPE.control || type === TOKEN_TYPE.unknown) {
      return opts.renderSpecial ? UTF8.encode(this.tokens[id]) : EMPTY;
    }
    let bytes = this.pieceBytes[id];
    if (!bytes) {
      if (type === TOKEN_TYPE.userDefined) bytes = UTF8.encode(this.tokens[id]);
      else if (type === TOKEN_TYPE.normal) bytes = alphabetToBytes(this.tokens[id]);
      else bytes = EMPTY; // unused / byte / undefined types render as nothing (llama.cpp)
      this.pieceBytes[id] = bytes;
    }
    return bytes;
  }
}


/** GPT-2 byte alphabet text -> bytes. A char outside the alphabet (a malformed vocab) is kept as its UTF-8. */
function alphabetToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const b = ch.length === 1 && code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code] : -1;
    if (b >= 0) out.push(b);
    else for (const x of UTF8.encode(ch)) out.push(x);
  }
  return Uint8Array.from(out);
}

/** Replace lone UTF-16 surrogates with U+FFFD (String.prototype.toWellFormed, ES2024). */
export function toWellFormed(s: string): string {
  let out = '';
  let copied = 0; // s[0, copied) is already in out
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++; // a valid pair
      continue;
    }
    out += s.slice(copied, i) + '\ufffd';
    copied = i + 1;
  }
  return copied === 0 ? s : out + s.slice(copied);
}
