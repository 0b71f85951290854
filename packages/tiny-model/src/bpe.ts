// ---------------------------------------------------------------------------------------------
// Byte-level BPE as GGUF `gpt2` tokenizers with the `qwen2` pre-tokenizer use it: learning merges
// on a corpus, and a small reference encoder (merges applied in rank order) used to turn the
// corpus into training ids. The runtime tokenizer of the toolkit is @bankai/model's; a test
// checks that both give the same ids on the corpus.
// ---------------------------------------------------------------------------------------------

/** qwen2 pre-tokenizer (llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2): digits one by one. The case-
 *  insensitive contraction group is spelled out because JS has no `(?i:...)` on older engines. */
export const QWEN2_PRETOKENIZE =
  /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

export function pretokenize(text: string): string[] {
  return text.match(QWEN2_PRETOKENIZE) ?? [];
}

/** GPT-2 byte -> printable unicode character table (bytes_to_unicode). */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  return table;
})();

const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((ch, b) => [ch, b]));

const utf8 = new TextEncoder();

/** A pre-token as its GPT-2 byte symbols, one per UTF-8 byte. */
export function byteSymbols(pretoken: string): string[] {
  return Array.from(utf8.encode(pretoken), (b) => BYTE_TO_UNICODE[b]!);
}

/** Bytes of a token string written in the GPT-2 alphabet. */
export function tokenBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = UNICODE_TO_BYTE.get(token[i]!);
    if (b === undefined) throw new Error(`tokenBytes: "${token}" has a character outside the GPT-2 byte alphabet`);
    out[i] = b;
  }
  return out;
}

// ---- learning merges --------------------------------------------------------------------------

/** Learns up to `nMerges` merges ("a b" strings) on `text`: each step merges the most frequent
 *  adjacent pair within pre-tokens (ties: the smaller "a b" string in code-unit order). Stops
 *  early when no pair occurs at least twice. */
export function learnMerges(text: string, nMerges: number): string[] {
  const counts = new Map<string, number>();
  for (const p of pretokenize(text)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const words = [...counts].map(([p, n]) => ({ symbols: byteSymbols(p), n }));
  const merges: string[] = [];
  while (merges.length < nMerges) {
    const pairs = new Map<string, number>();
    for (const w of words)
      for (let i = 0; i + 1 < w.symbols.length; i++) {
        const key = w.symbols[i] + ' ' + w.symbols[i + 1];
        pairs.set(key, (pairs.get(key) ?? 0) + w.n);
      }
    let best: string | undefined;
    let bestN = 1;
    for (const [key, n] of pairs) if (n > bestN || (n === bestN && best !== undefined && key < best)) [best, bestN] = [key, n];
    if (best === undefined) break;
    merges.push(best);
    const [a, b] = best.split(' ') as [string, string];
    for (const w of words) w.symbols = mergePair(w.symbols, a, b);
  }
  return merges;
}

function mergePair(symbols: string[], a: string, b: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
      out.push(a + b);
      i++;
    } else out.push(symbols[i]!);
  }
  return out;
}

// ---- reference encoder ------------------------------------------------------------------------

/** Plain reference BPE: per pre-token, repeatedly merge the lowest-rank adjacent pair (leftmost
 *  first) until none is in the merge list, then map symbols to ids. */
export class BpeEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly ids = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly tokens: readonly string[],
    merges: readonly string[],
  ) {
    merges.forEach((m, rank) => this.ranks.set(m, rank));
    tokens.forEach((t, id) => {
      if (!this.ids.has(t)) this.ids.set(t, id);
    });
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const p of pretokenize(text)) {
      let ids = this.cache.get(p);
      if (!ids) {
        ids = this.encodePretoken(p);
        this.cache.set(p, ids);
      }
      out.push(...ids);
    }
    return out;
  }

  private encodePretoken(p: string): number[] {
    let symbols = byteSymbols(p);
    for (;;) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = this.ranks.get(symbols[i] + ' ' + symbols[i + 1]);
        if (r !== undefined && r < bestRank) [bestRank, bestAt] = [r, i];
      }
      if (bestAt < 0) break;
      symbols = mergePair(symbols, symbols[bestAt]!, symbols[bestAt + 1]!);
    }
    return symbols.map((s) => {
      const id = this.ids.get(s);
      if (id === undefined) throw new Error(`BpeEncoder: symbol "${s}" of "${p}" is not in the vocabulary`);
      return id;
    });
  }

  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => {
      const t = this.tokens[id];
      if (t === undefined) throw new Error(`BpeEncoder.decode: id ${id} is outside the vocabulary (${this.tokens.length})`);
      return tokenBytes(t);
    });
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return new TextDecoder().decode(all);
  }
}
