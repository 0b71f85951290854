// ---- byte-level BPE tokenizer (GGUF "gpt2" model, qwen2 pre-tokenizer) ----
// A line-by-line port of @bankai/model's tokenizer.ts (which mirrors llama.cpp), so token ids
// agree with it and with llama.cpp exactly; see that file for the reasoning behind each rule.
// The code point classes are llama.cpp's, generated at build time from
// packages/model/src/unicode-classes.ts (the one copy of the table).

import { UNICODE_CLASS_RUNS } from '../../build/component-gen/unicode-classes';
import { fail, failed } from './errors';
import { Gguf, T_ARRAY, T_STRING, T_F32, T_F64, T_BOOL } from './gguf';

const TYPE_NORMAL: u8 = 1, TYPE_UNKNOWN: u8 = 2, TYPE_CONTROL: u8 = 3, TYPE_USER: u8 = 4;

const EOT_TEXTS: string[] = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>', '<|endoftext|>'];
const EOG_TEXTS: string[] = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '<|eom_id|>'];

// ---- GPT-2 byte <-> unicode alphabet ----
const BYTE_TO_CHAR = new StaticArray<u16>(256); // (256) code unit of each byte
const CHAR_TO_BYTE = new StaticArray<i16>(0x144); // (code unit) byte, -1 if not in the alphabet
function initAlphabet(): void {
  for (let i = 0; i < 0x144; i++) CHAR_TO_BYTE[i] = -1;
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const code = printable ? b : next++;
    BYTE_TO_CHAR[b] = <u16>code;
    CHAR_TO_BYTE[code] = <i16>b;
  }
}
initAlphabet();

// ---- code point classes ----
const OTHER = 0, LETTER = 1, NUMBER = 2, SPACE = 3, OUT_OF_RANGE = 4;
const N_RUNS = UNICODE_CLASS_RUNS.length >> 1;
let bmp: Uint8Array | null = null; // (0x10000) class per BMP code point, built on first use

function bmpClasses(): Uint8Array {
  let t = bmp;
  if (t === null) {
    t = new Uint8Array(0x10000);
    for (let i = 0; i < N_RUNS && UNICODE_CLASS_RUNS[2 * i] < 0x10000; i++) {
      const end = i + 1 < N_RUNS ? min(UNICODE_CLASS_RUNS[2 * i + 2], 0x10000) : 0x10000;
      t.fill(<u8>UNICODE_CLASS_RUNS[2 * i + 1], <i32>UNICODE_CLASS_RUNS[2 * i], <i32>end);
    }
    bmp = t;
  }
  return t;
}

export function codePointClass(cp: i32): i32 {
  if (cp < 0x10000) return bmpClasses()[cp];
  let lo = 0, hi = N_RUNS - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (<i32>UNICODE_CLASS_RUNS[2 * mid] <= cp) lo = mid;
    else hi = mid - 1;
  }
  return <i32>UNICODE_CLASS_RUNS[2 * lo + 1];
}

// @ts-ignore: decorator
@inline function lowerAscii(cp: i32): i32 {
  return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
}

// @ts-ignore: decorator
@inline function cpAt(cps: Array<i32>, i: i32): i32 {
  return i < cps.length ? cps[i] : -1;
}

// @ts-ignore: decorator
@inline function classAt(cps: Array<i32>, i: i32): i32 {
  return i < cps.length ? codePointClass(cps[i]) : OUT_OF_RANGE;
}

/** qwen2 pre-tokenizer (llama.cpp's scanner): the end index of each word. */
export function splitQwen2(cps: Array<i32>): Array<i32> {
  const ends = new Array<i32>();
  const n = cps.length;
  let pos = 0;
  while (pos < n) {
    const cp = cps[pos];
    const cls = codePointClass(cp);
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    if (cp == 0x27 && pos + 1 < n) {
      const a = lowerAscii(cps[pos + 1]);
      if (a == 0x73 || a == 0x74 || a == 0x6d || a == 0x64) {
        pos += 2;
        ends.push(pos);
        continue;
      }
      if (pos + 2 < n) {
        const b = lowerAscii(cps[pos + 2]);
        if ((a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6c && b == 0x6c)) {
          pos += 3;
          ends.push(pos);
          continue;
        }
      }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (cp != 0x0d && cp != 0x0a && cls != NUMBER && (cls == LETTER || classAt(cps, pos + 1) == LETTER)) {
      pos++;
      while (classAt(cps, pos) == LETTER) pos++;
      ends.push(pos);
      continue;
    }
    // \p{N}
    if (cls == NUMBER) {
      pos++;
      ends.push(pos);
      continue;
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
    const next = cp == 0x20 ? classAt(cps, pos + 1) : cls;
    if (next == OTHER || next == OUT_OF_RANGE) {
      if (cp == 0x20) pos++;
      while (classAt(cps, pos) == OTHER) pos++;
      while (cpAt(cps, pos) == 0x0d || cpAt(cps, pos) == 0x0a) pos++;
      ends.push(pos);
      continue;
    }
    // \s*[\r\n]+ | \s+(?!\S) | \s+
    let run = 0;
    let afterLastNewline = -1;
    while (classAt(cps, pos + run) == SPACE) {
      const c = cps[pos + run];
      if (c == 0x0d || c == 0x0a) afterLastNewline = pos + run + 1;
      run++;
    }
    if (afterLastNewline >= 0) pos = afterLastNewline;
    else if (run > 1 && pos + run < n) pos += run - 1;
    else if (run > 0) pos += run;
    else pos++;
    ends.push(pos);
  }
  return ends;
}

// ---- BPE merge queue: min-heap by (rank, left) ----
class MergeQueue {
  rank: Array<i32> = [];
  left: Array<i32> = [];
  right: Array<i32> = [];
  leftLen: Array<i32> = [];
  rightLen: Array<i32> = [];

  get size(): i32 {
    return this.rank.length;
  }

  push(rank: i32, left: i32, right: i32, leftLen: i32, rightLen: i32): void {
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

  /** Removes the best entry into out = [rank, left, right, leftLen, rightLen]. */
  pop(out: StaticArray<i32>): void {
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
      if (best == i) break;
      this.swap(i, best);
      i = best;
    }
  }

  private less(a: i32, b: i32): bool {
    return this.rank[a] < this.rank[b] || (this.rank[a] == this.rank[b] && this.left[a] < this.left[b]);
  }

  private swap(a: i32, b: i32): void {
    swapIn(this.rank, a, b);
    swapIn(this.left, a, b);
    swapIn(this.right, a, b);
    swapIn(this.leftLen, a, b);
    swapIn(this.rightLen, a, b);
  }
}

// @ts-ignore: decorator
@inline function swapIn(arr: Array<i32>, a: i32, b: i32): void {
  const t = arr[a];
  arr[a] = arr[b];
  arr[b] = t;
}

function utf8Length(s: string): i32 {
  return String.UTF8.byteLength(s, false);
}

const MAX_CACHED_WORDS = 1 << 16;

export class Tokenizer {
  vocabSize: i32 = 0;
  tokens: Array<string> = [];
  types: Uint8Array = new Uint8Array(0);
  idOf: Map<string, i32> = new Map();
  mergeRank: Map<string, i32> = new Map();
  userDefined: Array<i32> = [];
  eog: Array<i32> = [];
  bosId: i32 = -1;
  eosId: i32 = -1;
  eotId: i32 = -1;
  private wordCache: Map<string, Array<i32>> = new Map();

  isEog(id: i32): bool {
    return this.eog.includes(id);
  }

  // ---- encode ----

  encode(text: string): Array<i32> {
    const out = new Array<i32>();
    // user-defined tokens are always cut out of the text (control tokens only with parseSpecial,
    // which the component does not offer)
    let pieces = new Array<string>(); // plain fragments; ids in `pieceIds` where the fragment is null-marked
    let ids = new Array<i32>(); // -1: the piece is text
    if (text.length > 0) {
      pieces.push(text);
      ids.push(-1);
    }
    for (let s = 0; s < this.userDefined.length; s++) {
      const id = this.userDefined[s];
      const needle = this.tokens[id];
      let any = false;
      for (let i = 0; i < pieces.length; i++) if (ids[i] < 0 && pieces[i].includes(needle)) any = true;
      if (!any) continue;
      const nextPieces = new Array<string>();
      const nextIds = new Array<i32>();
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i];
        if (ids[i] >= 0) {
          nextPieces.push('');
          nextIds.push(ids[i]);
          continue;
        }
        let from = 0;
        for (let at = p.indexOf(needle); at >= 0; at = p.indexOf(needle, from)) {
          if (at > from) {
            nextPieces.push(p.slice(from, at));
            nextIds.push(-1);
          }
          nextPieces.push('');
          nextIds.push(id);
          from = at + needle.length;
        }
        if (from < p.length) {
          nextPieces.push(p.slice(from));
          nextIds.push(-1);
        }
      }
      pieces = nextPieces;
      ids = nextIds;
    }
    for (let i = 0; i < pieces.length; i++) {
      if (ids[i] >= 0) out.push(ids[i]);
      else this.encodeFragment(pieces[i], out);
    }
    return out;
  }

  private encodeFragment(fragment: string, out: Array<i32>): void {
    const cps = new Array<i32>();
    const unitStart = new Array<i32>();
    for (let i = 0; i < fragment.length; ) {
      const cp = fragment.codePointAt(i);
      cps.push(cp);
      unitStart.push(i);
      i += cp > 0xffff ? 2 : 1;
    }
    unitStart.push(fragment.length);
    const ends = splitQwen2(cps);
    let start = 0;
    for (let w = 0; w < ends.length; w++) {
      const end = ends[w];
      const word = fragment.slice(unitStart[start], unitStart[end]);
      let wordIds: Array<i32>;
      if (this.wordCache.has(word)) wordIds = this.wordCache.get(word);
      else {
        wordIds = this.bpeWord(word);
        if (this.wordCache.size >= MAX_CACHED_WORDS) this.wordCache.clear();
        this.wordCache.set(word, wordIds);
      }
      for (let k = 0; k < wordIds.length; k++) out.push(wordIds[k]);
      start = end;
    }
  }

  private consider(queue: MergeQueue, mapped: string, len: Int32Array, left: i32, right: i32): void {
    if (left < 0 || right < 0) return;
    const key = mapped.slice(left, left + len[left]) + ' ' + mapped.slice(right, right + len[right]);
    if (this.mergeRank.has(key)) queue.push(this.mergeRank.get(key), left, right, len[left], len[right]);
  }

  private bpeWord(word: string): Array<i32> {
    const buf = String.UTF8.encode(word, false);
    const bytes = Uint8Array.wrap(buf);
    const n = bytes.length;
    const units = new Array<i32>(n);
    for (let i = 0; i < n; i++) units[i] = <i32>BYTE_TO_CHAR[bytes[i]];
    const mapped = String.fromCharCodes(units); // one UTF-16 unit per byte
    const len = new Int32Array(n).fill(1);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const queue = new MergeQueue();
    for (let i = 0; i + 1 < n; i++) this.consider(queue, mapped, len, i, i + 1);
    const top = new StaticArray<i32>(5);
    while (queue.size > 0) {
      queue.pop(top);
      const left = top[1], right = top[2], leftLen = top[3], rightLen = top[4];
      if (len[left] != leftLen || len[right] != rightLen || len[right] == 0) continue;
      len[left] += len[right];
      len[right] = 0;
      next[left] = next[right];
      if (next[left] >= 0) prev[next[left]] = left;
      this.consider(queue, mapped, len, prev[left], left);
      this.consider(queue, mapped, len, left, next[left]);
    }
    const ids = new Array<i32>();
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      const piece = mapped.slice(i, i + len[i]);
      if (this.idOf.has(piece)) {
        ids.push(this.idOf.get(piece));
        continue;
      }
      // not in the vocabulary (inconsistent merges): llama.cpp's byte fallback, ASCII range only
      for (let k = 0; k < piece.length; k++) {
        const c = piece.charCodeAt(k);
        if (c < 0x80) {
          const ch = String.fromCharCode(c);
          if (this.idOf.has(ch)) ids.push(this.idOf.get(ch));
        }
      }
    }
    return ids;
  }

  // ---- decode ----

  /** Appends the bytes token `id` decodes to (llama.cpp's token_to_piece, specials not rendered). */
  pieceBytes(id: i32, out: Array<u8>): void {
    const type = this.types[id];
    if (type == TYPE_CONTROL || type == TYPE_UNKNOWN) return;
    const text = this.tokens[id];
    if (type == TYPE_USER) {
      appendUtf8(text, out);
      return;
    }
    if (type != TYPE_NORMAL) return;
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i);
      const units = cp > 0xffff ? 2 : 1;
      const b: i32 = units == 1 && cp < 0x144 ? <i32>CHAR_TO_BYTE[cp] : -1;
      if (b >= 0) out.push(<u8>b);
      else appendUtf8(text.slice(i, i + units), out);
      i += units;
    }
  }

  decodeBytes(ids: StaticArray<i32>): Array<u8> {
    const out = new Array<u8>();
    for (let i = 0; i < ids.length; i++) this.pieceBytes(ids[i], out);
    return out;
  }
}

function appendUtf8(s: string, out: Array<u8>): void {
  const b = Uint8Array.wrap(String.UTF8.encode(s, false));
  for (let i = 0; i < b.length; i++) out.push(b[i]);
}

// ---- from GGUF metadata (the checks of Tokenizer.fromMetadata) ----

function describe(g: Gguf, key: string): string {
  if (!g.has(key)) return 'missing';
  const v = g.get(key);
  if (v.type == T_STRING) return `"${v.str.length > 40 ? v.str.slice(0, 37) + '...' : v.str}"`;
  if (v.type == T_ARRAY) return `an array of ${v.strs !== null ? v.strs!.length : v.nums!.length}`;
  return v.num.toString();
}

function tokFail(file: string, field: string, problem: string, fix: string): Tokenizer | null {
  fail(`${file}: tokenizer.ggml.${field} ${problem}. Fix: ${fix}`);
  return null;
}

function isInteger(t: u32): bool {
  return t != T_F32 && t != T_F64 && t != T_BOOL && t != T_STRING && t != T_ARRAY;
}

export function tokenizerFromGguf(g: Gguf, file: string): Tokenizer | null {
  const reexport = "the file's tokenizer is corrupt: export the model again with a current converter";
  for (let k = 0; k < 3; k++) {
    const key = k == 0 ? 'tokenizer.ggml.model' : k == 1 ? 'tokenizer.ggml.tokens' : 'tokenizer.ggml.merges';
    if (!g.has(key)) {
      fail(`${file}: metadata key "${key}" is missing: the file has no tokenizer Bankai can use (a byte-level BPE "gpt2" tokenizer, as Qwen3 models ship).`);
      return null;
    }
  }
  const model = g.get('tokenizer.ggml.model');
  if (model.type != T_STRING || model.str != 'gpt2') {
    return tokFail(file, 'model', `= ${describe(g, 'tokenizer.ggml.model')} is not supported: only "gpt2" (byte-level BPE, as in Qwen/Bonsai GGUF files) is implemented`,
      'use a Qwen3 GGUF (its tokenizer is "gpt2")');
  }
  let pre = 'default';
  let preOk = true;
  if (g.has('tokenizer.ggml.pre')) {
    const p = g.get('tokenizer.ggml.pre');
    if (p.type == T_STRING) pre = p.str;
    else preOk = false;
  }
  if (!preOk || (pre != 'qwen2' && pre != 'deepseek-r1-qwen')) {
    return tokFail(file, 'pre', `= ${describe(g, 'tokenizer.ggml.pre')} is not supported: only "qwen2", "deepseek-r1-qwen" (the Qwen2/Qwen3 pre-tokenizer) is implemented`,
      'use a Qwen3 GGUF (its pre-tokenizer is "qwen2")');
  }
  const tv = g.get('tokenizer.ggml.tokens');
  if (tv.type != T_ARRAY || tv.strs === null) {
    return tokFail(file, 'tokens', `is ${describe(g, 'tokenizer.ggml.tokens')}, not an array of strings`, reexport);
  }
  const tokens = tv.strs!;
  if (tokens.length == 0) return tokFail(file, 'tokens', 'is missing or empty: the GGUF file has no vocabulary', reexport);
  const t = new Tokenizer();
  t.tokens = tokens;
  t.vocabSize = tokens.length;
  for (let id = 0; id < tokens.length; id++) {
    if (t.idOf.has(tokens[id])) {
      return tokFail(file, 'tokens', `[${id}] = "${tokens[id]}" duplicates tokens[${t.idOf.get(tokens[id])}]: token texts must be unique (llama.cpp rejects this file too)`, reexport);
    }
    t.idOf.set(tokens[id], id);
  }
  t.types = new Uint8Array(tokens.length).fill(TYPE_NORMAL);
  if (g.has('tokenizer.ggml.token_type')) {
    const tt = g.get('tokenizer.ggml.token_type');
    if (tt.type != T_ARRAY || tt.nums === null) {
      return tokFail(file, 'token_type', `is ${describe(g, 'tokenizer.ggml.token_type')}, not an array of integers`, reexport);
    }
    const nums = tt.nums!;
    if (nums.length != tokens.length) {
      return tokFail(file, 'token_type', `has ${nums.length} entries but tokenizer.ggml.tokens has ${tokens.length}: they must match`, reexport);
    }
    for (let i = 0; i < nums.length; i++) {
      const v = nums[i];
      t.types[i] = v == Math.floor(v) && v >= 1 && v <= 6 ? <u8>v : 0;
    }
  }
  const mv = g.get('tokenizer.ggml.merges');
  if (mv.type != T_ARRAY || mv.strs === null) {
    return tokFail(file, 'merges', `is ${describe(g, 'tokenizer.ggml.merges')}: a gpt2 tokenizer needs its merge list (an array of "left right" strings)`, reexport);
  }
  const merges = mv.strs!;
  for (let rank = 0; rank < merges.length; rank++) {
    const m = merges[rank];
    if (m.indexOf(' ', 1) < 0) return tokFail(file, 'merges', `[${rank}] = "${m}" is not of the form "left right"`, reexport);
    if (!t.mergeRank.has(m)) t.mergeRank.set(m, rank);
  }
  const idKeys = ['bos_token_id', 'eos_token_id', 'eot_token_id'];
  const idVals = [-1, -1, -1];
  for (let k = 0; k < 3; k++) {
    const key = 'tokenizer.ggml.' + idKeys[k];
    if (!g.has(key)) continue;
    const v = g.get(key);
    if (!isInteger(v.type) || v.num < 0 || v.num >= <f64>tokens.length) {
      return tokFail(file, idKeys[k], `= ${describe(g, key)} is outside the vocabulary (0..${tokens.length - 1})`,
        `set tokenizer.ggml.${idKeys[k]} to a token id below ${tokens.length}, or remove it`);
    }
    idVals[k] = <i32>v.num;
  }
  t.bosId = idVals[0];
  t.eosId = idVals[1];
  t.eotId = idVals[2];
  if (t.eotId < 0) {
    for (let i = 0; i < EOT_TEXTS.length; i++) {
      if (t.idOf.has(EOT_TEXTS[i])) {
        t.eotId = t.idOf.get(EOT_TEXTS[i]);
        break;
      }
    }
  }
  if (t.eosId >= 0) t.eog.push(t.eosId);
  if (t.eotId >= 0 && !t.eog.includes(t.eotId)) t.eog.push(t.eotId);
  for (let i = 0; i < EOG_TEXTS.length; i++) {
    if (t.idOf.has(EOG_TEXTS[i])) {
      const id = t.idOf.get(EOG_TEXTS[i]);
      if (!t.eog.includes(id)) t.eog.push(id);
    }
  }
  // user-defined tokens, longest UTF-8 text first, ties by id
  const special = new Array<i32>();
  for (let id = 0; id < tokens.length; id++) if (t.types[id] == TYPE_USER && tokens[id].length > 0) special.push(id);
  const lens = new Array<i32>(tokens.length);
  for (let i = 0; i < special.length; i++) lens[special[i]] = utf8Length(tokens[special[i]]);
  // insertion sort (few user-defined tokens); stable, so equal lengths stay in id order
  for (let i = 1; i < special.length; i++) {
    const id = special[i];
    let j = i - 1;
    while (j >= 0 && lens[special[j]] < lens[id]) {
      special[j + 1] = special[j];
      j--;
    }
    special[j + 1] = id;
  }
  t.userDefined = special;
  return failed() ? null : t;
}
