import { describe, expect, it } from 'vitest';
import { Tokenizer, TokenizerError, TOKEN_TYPE, codePointClass, splitQwen2, toWellFormed, type TokenizerMetadata } from './tokenizer.js';
import { Rng } from '@bankai/rng';

// ---- helpers ---------------------------------------------------------------------------------

/** Uniform floats in [0, 1) from the project's seeded generator: failures reproduce. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextFloat();
}

/** GPT-2 byte alphabet, computed independently of the implementation (bytes in order). */
const ALPHABET: string[] = (() => {
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out.push(String.fromCharCode(printable ? b : 256 + n++));
  }
  return out;
})();
const mapText = (s: string) => Array.from(new TextEncoder().encode(s), (b) => ALPHABET[b]).join('');

/** A vocabulary of the 256 byte tokens (id = byte) plus the results of `merges`, plus extra tokens. */
function byteVocab(merges: string[], extra: { text: string; type: number }[] = []): TokenizerMetadata {
  const tokens = [...ALPHABET];
  const tokenTypes = tokens.map(() => TOKEN_TYPE.normal as number);
  for (const m of merges) {
    const t = m.replace(' ', '');
    if (!tokens.includes(t)) {
      tokens.push(t);
      tokenTypes.push(TOKEN_TYPE.normal);
    }
  }
  for (const e of extra) {
    tokens.push(e.text);
    tokenTypes.push(e.type);
  }
  return { model: 'gpt2', pre: 'qwen2', tokens, tokenTypes, merges };
}

const m = (a: string, b: string) => `${mapText(a)} ${mapText(b)}`;

/** Words of the pre-tokenizer, as strings. */
function words(s: string): string[] {
  const cps = Array.from(s, (c) => c.codePointAt(0)!);
  const out: string[] = [];
  let start = 0;
  for (const end of splitQwen2(cps)) {
    out.push(String.fromCodePoint(...cps.slice(start, end)));
    start = end;
  }
  return out;
}

/** The HF qwen2 regex (contractions spelled out as llama.cpp does; JS has no (?i:) on Node 20). */
const QWEN2_REGEX =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** Plain reference BPE: repeatedly merge the adjacent pair of lowest rank (leftmost on ties). */
function naiveBpe(md: TokenizerMetadata, word: string): number[] {
  const rank = new Map<string, number>();
  md.merges.forEach((mm, i) => {
    if (!rank.has(mm)) rank.set(mm, i);
  });
  const syms = Array.from(mapText(word));
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = rank.get(`${syms[i]} ${syms[i + 1]}`);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
  return syms.map((s) => md.tokens.indexOf(s));
}

// ---- pre-tokenizer ---------------------------------------------------------------------------

describe('qwen2 pre-tokenizer', () => {
  it('splits digits one by one', () => {
    expect(words('12345')).toEqual(['1', '2', '3', '4', '5']);
    expect(words('x=3.14')).toEqual(['x', '=', '3', '.', '1', '4']);
    expect(words(' 42')).toEqual([' ', '4', '2']);
  });

  it('handles contractions case-insensitively (ASCII only)', () => {
    expect(words("I'll")).toEqual(['I', "'ll"]);
    expect(words("DON'T")).toEqual(['DON', "'T"]);
    expect(words("we've they'RE she'd it's I'm")).toEqual(['we', "'ve", ' they', "'RE", ' she', "'d", ' it', "'s", ' I', "'m"]);
    // llama.cpp lowercases ASCII only: U+017F (long s) is a letter, not a contraction
    expect(words("it'\u017f")).toEqual(['it', "'\u017f"]);
    expect(words("'x")).toEqual(["'x"]);
  });

  it('handles spaces, tabs, newlines and CRLF like the regex', () => {
    expect(words('a  b')).toEqual(['a', ' ', ' b']);
    expect(words('  a')).toEqual([' ', ' a']);
    expect(words('a  ')).toEqual(['a', '  ']);
    expect(words('a\r\n\r\nb')).toEqual(['a', '\r\n\r\n', 'b']);
    expect(words('a \n b')).toEqual(['a', ' \n', ' b']);
    expect(words('\tfoo\t\tbar')).toEqual(['\tfoo', '\t', '\tbar']);
    expect(words('!!!\n\nx')).toEqual(['!!!\n\n', 'x']);
    expect(words('x ?! y')).toEqual(['x', ' ?!', ' y']);
    expect(words(' ')).toEqual([' ']);
  });

  it('matches the HF regex on random text from characters both agree on', () => {
    const pool = [
      ...'abcXYZ019 .,!?\'"-_()[]{}<>@#$%^&*+=/\\|~`:;',
      ' ', ' ', ' ', '\t', '\n', '\r', '\r\n', '\u00a0', '\u3000',
      ...'éÀüßçñøÅ', ...'日本語中文字', ...'Привет', ...'١٢٣', ...'½²', ...'αβγ',
      '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '\u0301', '\u200d', '\u00ad',
      "'s", "'T", "'re", "'LL", "'d", "'m", "'ve",
    ];
    const rand = rng(1);
    for (let iter = 0; iter < 2000; iter++) {
      const len = 1 + Math.floor(rand() * 16);
      let s = '';
      for (let i = 0; i < len; i++) s += pool[Math.floor(rand() * pool.length)];
      const expected = s.match(QWEN2_REGEX) ?? [];
      expect(words(s), JSON.stringify(s)).toEqual(expected);
    }
  });
});

describe('code point classes (generated from llama.cpp)', () => {
  it('agree with JS \\p{L} / \\p{N} wherever llama.cpp has the code point assigned', () => {
    const L = /\p{L}/u;
    const N = /\p{N}/u;
    let newerInJs = 0;
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const s = String.fromCodePoint(cp);
      const c = codePointClass(cp);
      if (c === 1) expect(L.test(s), `U+${cp.toString(16)} letter`).toBe(true);
      if (c === 2) expect(N.test(s), `U+${cp.toString(16)} number`).toBe(true);
      if (c === 0 && (L.test(s) || N.test(s))) newerInJs++;
    }
    // Code points assigned after llama.cpp's UnicodeData.txt: letters to JS, "other" to llama.cpp.
    // The count depends on the runtime's Unicode version; it must stay a small minority.
    expect(newerInJs).toBeLessThan(20000);
    expect(codePointClass(0x61)).toBe(1);
    expect(codePointClass(0x4e2d)).toBe(1); // 中
    expect(codePointClass(0x20000)).toBe(1); // CJK extension B (astral)
    expect(codePointClass(0x1d7ce)).toBe(2); // mathematical bold digit zero (astral)
    expect(codePointClass(0x1f600)).toBe(0); // emoji
  });

  it("uses llama.cpp's whitespace set: JS \\s plus U+0085, minus U+FEFF", () => {
    const ws: number[] = [];
    for (let cp = 0; cp < 0x110000; cp++) if (codePointClass(cp) === 3) ws.push(cp);
    const js: number[] = [];
    for (let cp = 0; cp < 0x10000; cp++) if (/\s/u.test(String.fromCharCode(cp))) js.push(cp);
    expect(ws).toEqual([...js.filter((cp) => cp !== 0xfeff), 0x85].sort((a, b) => a - b));
  });
});

// ---- BPE -------------------------------------------------------------------------------------

describe('BPE merges', () => {
  it('applies merges in rank order, not greedily left to right', () => {
    const md = byteVocab([m('b', 'c'), m('a', 'b')]);
    const tok = Tokenizer.fromMetadata(md);
    const ids = tok.encode('abc');
    expect(ids.map((id) => tok.tokenText(id))).toEqual(['a', 'bc']);
    const md2 = byteVocab([m('a', 'b'), m('b', 'c')]);
    const tok2 = Tokenizer.fromMetadata(md2);
    expect(tok2.encode('abc').map((id) => tok2.tokenText(id))).toEqual(['ab', 'c']);
  });

  it('merges equal-rank pairs leftmost first', () => {
    const tok = Tokenizer.fromMetadata(byteVocab([m('a', 'a'), m('aa', 'a')]));
    expect(tok.encode('aaa').map((id) => tok.tokenText(id))).toEqual(['aaa']);
    const tok2 = Tokenizer.fromMetadata(byteVocab([m('a', 'a')]));
    expect(tok2.encode('aaaaa').map((id) => tok2.tokenText(id))).toEqual(['aa', 'aa', 'a']);
  });

  it('merges across the byte alphabet (space prefix, multi-byte characters)', () => {
    const tok = Tokenizer.fromMetadata(byteVocab([m(' ', 'h'), m(' h', 'i')]));
    const ids = tok.encode('x hi');
    expect(ids.map((id) => tok.tokenText(id))).toEqual(['x', mapText(' hi')]);
    // é is two bytes: two byte tokens without a merge
    expect(tok.encode('é')).toEqual([0xc3, 0xa9]);
  });

  it('never merges across pre-token boundaries (digits stay single)', () => {
    const tok = Tokenizer.fromMetadata(byteVocab([m('1', '2'), m('a', ' ')]));
    expect(tok.encode('12')).toEqual([0x31, 0x32]);
    expect(tok.encode('a b')).toEqual([0x61, 0x20, 0x62]); // "a" | " b": the merge "a " never applies
  });

  it('equals the plain reference BPE on random vocabularies and words', () => {
    const rand = rng(7);
    for (let v = 0; v < 20; v++) {
      // grow tokens from a small alphabet, then shuffle the merge ranks
      const pieces = ['a', 'b', 'c', 'd', ' ', 'é'];
      const merges: string[] = [];
      for (let k = 0; k < 40; k++) {
        const x = pieces[Math.floor(rand() * pieces.length)];
        const y = pieces[Math.floor(rand() * pieces.length)];
        const mm = m(x, y);
        if (merges.includes(mm) || (x + y).includes(' ', 1)) continue;
        merges.push(mm);
        if (!pieces.includes(x + y)) pieces.push(x + y);
      }
      for (let i = merges.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [merges[i], merges[j]] = [merges[j], merges[i]];
      }
      const md = byteVocab(merges);
      const tok = Tokenizer.fromMetadata(md);
      for (let w = 0; w < 50; w++) {
        let word = rand() < 0.5 ? ' ' : '';
        const len = 1 + Math.floor(rand() * 12);
        for (let i = 0; i < len; i++) word += 'abcdé'[Math.floor(rand() * 5)];
        expect(tok.encode(word), JSON.stringify(word)).toEqual(naiveBpe(md, word));
      }
    }
  });

  it('falls back like llama.cpp when a merge result is not in the vocabulary', () => {
    const md = byteVocab([]);
    md.merges = [m('a', 'b')]; // "ab" is not a token
    const tok = Tokenizer.fromMetadata(md);
    expect(tok.encode('ab')).toEqual([0x61, 0x62]);
  });
});

// ---- special tokens ---------------------------------------------------------------------------

describe('special tokens', () => {
  const md = byteVocab([m('a', 'b')], [
    { text: '<|im_end|>', type: TOKEN_TYPE.control },
    { text: '<think>', type: TOKEN_TYPE.userDefined },
    { text: '<|endoftext|>', type: TOKEN_TYPE.control },
  ]);
  md.eosId = md.tokens.indexOf('<|endoftext|>');
  const tok = Tokenizer.fromMetadata(md);
  const imEnd = tok.idOfText('<|im_end|>')!;
  const think = tok.idOfText('<think>')!;

  it('matches control tokens only with parseSpecial, user-defined tokens always', () => {
    const plain = tok.encode('ab<|im_end|><think>ab');
    expect(plain).not.toContain(imEnd);
    expect(plain).toContain(think);
    expect(plain[0]).toBe(tok.idOfText('ab'));
    const special = tok.encode('ab<|im_end|><think>ab', { parseSpecial: true });
    expect(special).toEqual([tok.idOfText('ab'), imEnd, think, tok.idOfText('ab')]);
  });

  it('decodes control tokens to nothing unless asked, user-defined tokens to their text', () => {
    const ids = tok.encode('x<|im_end|><think>y', { parseSpecial: true });
    expect(tok.decode(ids)).toBe('x<think>y');
    expect(tok.decode(ids, { renderSpecial: true })).toBe('x<|im_end|><think>y');
    expect(tok.isControl(imEnd)).toBe(true);
    expect(tok.isControl(think)).toBe(false);
  });

  it('finds EOT by text when the metadata has none', () => {
    expect(tok.eotId).toBe(imEnd);
    expect(tok.eosId).toBe(tok.idOfText('<|endoftext|>'));
    expect(tok.isEndOfGeneration(imEnd)).toBe(true);
    expect(tok.isEndOfGeneration(tok.eosId!)).toBe(true);
    expect([...tok.eogIds].sort()).toEqual([imEnd, tok.eosId!].sort());
    expect(tok.isEndOfGeneration(think)).toBe(false);
  });
});

// ---- round trips and decoding ------------------------------------------------------------------

describe('round trip', () => {
  const merges = [m(' ', 't'), m('t', 'h'), m(' t', 'h'), m('e', 'r'), m('\n', '\n'), m('1', '2')];
  const tok = Tokenizer.fromMetadata(byteVocab(merges));

  it('decode(encode(s)) === s on random unicode (emoji, surrogate pairs, CRLF, tabs)', () => {
    const rand = rng(42);
    const pool = [' ', '  ', '\t', '\n', '\r\n', 'the', 'There', "I'll", "DON'T", '123', '3.14', '!?', 'é', 'ß', '日本', 'Привет', '😀', '👨‍👩‍👧', '🇯🇵', '\u0301', '\u00a0', '\u0085', '\ufeff'];
    for (let iter = 0; iter < 500; iter++) {
      let s = '';
      const len = Math.floor(rand() * 20);
      for (let i = 0; i < len; i++) {
        if (rand() < 0.3) {
          // any code point, astral ones as surrogate pairs
          let cp = Math.floor(rand() * 0x110000);
          if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
          s += String.fromCodePoint(cp);
        } else {
          s += pool[Math.floor(rand() * pool.length)];
        }
      }
      expect(tok.decode(tok.encode(s)), JSON.stringify(s)).toBe(s);
    }
  });

  it('replaces lone surrogates with U+FFFD, as TextEncoder and llama.cpp via N-API do', () => {
    const s = 'a\ud800b\udc00c\ud83d';
    expect(toWellFormed(s)).toBe('a\ufffdb\ufffdc\ufffd');
    expect(tok.decode(tok.encode(s))).toBe('a\ufffdb\ufffdc\ufffd');
    expect(tok.encode(s)).toEqual(tok.encode('a\ufffdb\ufffdc\ufffd'));
    expect(toWellFormed('ok 😀')).toBe('ok 😀');
  });

  it('decodeBytes gives exact bytes; the streaming decoder holds partial UTF-8', () => {
    const ids = tok.encode('😀x'); // 4 byte tokens + x
    expect(Array.from(tok.decodeBytes(ids))).toEqual([0xf0, 0x9f, 0x98, 0x80, 0x78]);
    const dec = tok.createDecoder();
    const outs = ids.map((id) => dec.push(id));
    expect(outs).toEqual(['', '', '', '😀', 'x']);
    expect(dec.end()).toBe('');
    const cut = tok.createDecoder();
    expect(cut.push(ids.slice(0, 2))).toBe('');
    expect(cut.end()).toBe('\ufffd');
    expect(tok.decode(ids.slice(0, 2))).toBe('\ufffd');
  });
});

// ---- metadata errors ----------------------------------------------------------------------------

describe('fromMetadata errors', () => {
  const base = () => byteVocab([m('a', 'b')]);
  it('rejects unsupported models and pre-tokenizers by name', () => {
    expect(() => Tokenizer.fromMetadata({ ...base(), model: 'llama' })).toThrow(/tokenizer\.ggml\.model = "llama"/);
    expect(() => Tokenizer.fromMetadata({ ...base(), pre: 'llama-bpe' })).toThrow(/tokenizer\.ggml\.pre = "llama-bpe".*qwen2/);
  });
  it('rejects malformed vocabularies with the field and index', () => {
    const dup = base();
    dup.tokens = [...dup.tokens, 'a'];
    dup.tokenTypes = undefined;
    expect(() => Tokenizer.fromMetadata(dup)).toThrow(/tokens\[257\] = "a" duplicates tokens\[97\]/);
    expect(() => Tokenizer.fromMetadata({ ...base(), tokenTypes: [1, 1] })).toThrow(/token_type has 2 entries/);
    expect(() => Tokenizer.fromMetadata({ ...base(), merges: ['ab'] })).toThrow(/merges\[0\] = "ab"/);
    expect(() => Tokenizer.fromMetadata({ ...base(), eosId: 99999 })).toThrow(/eos_token_id = 99999/);
    expect(() => Tokenizer.fromMetadata({ ...base(), tokens: [] })).toThrow(/tokens is missing or empty/);
  });
  it('is a TokenizerError naming the file, the metadata key and the fix, never a plain Error', () => {
    const errorOf = (md: TokenizerMetadata): TokenizerError => {
      try {
        Tokenizer.fromMetadata(md, 'm.gguf');
      } catch (e) {
        expect(e).toBeInstanceOf(TokenizerError);
        return e as TokenizerError;
      }
      throw new Error('expected a TokenizerError');
    };
    let e = errorOf({ ...base(), eotId: 257 });
    expect(e.field).toBe('tokenizer.ggml.eot_token_id');
    expect(e.message).toBe('m.gguf: tokenizer.ggml.eot_token_id = 257 is outside the vocabulary (0..256). Fix: set tokenizer.ggml.eot_token_id to a token id below 257, or remove it');
    const dup = { ...base(), tokenTypes: undefined };
    dup.tokens = [...dup.tokens, 'a'];
    e = errorOf(dup);
    expect(e.message).toMatch(/^m\.gguf: tokenizer\.ggml\.tokens\[257\] = "a" duplicates tokens\[97\].*\. Fix: /);
    // values of the wrong GGUF type: described, never a TypeError from JSON.stringify(bigint)
    expect(errorOf({ ...base(), model: 5n as unknown as string }).message).toMatch(/tokenizer\.ggml\.model = 5 is not supported/);
    expect(errorOf({ ...base(), pre: ['qwen2'] as unknown as string }).field).toBe('tokenizer.ggml.pre');
    expect(errorOf({ ...base(), tokens: new Uint8Array(3) as unknown as string[] }).message).toMatch(/tokens is a numeric array, not an array of strings/);
    expect(errorOf({ ...base(), merges: 'a b' as unknown as string[] }).field).toBe('tokenizer.ggml.merges');
    expect(errorOf({ ...base(), tokenTypes: 'x'.repeat(257) as unknown as number[] }).field).toBe('tokenizer.ggml.token_type');
    expect(errorOf({ ...base(), bosId: Number.NaN }).field).toBe('tokenizer.ggml.bos_token_id');
  });
  it('rejects out-of-range ids when decoding', () => {
    const tok = Tokenizer.fromMetadata(base());
    expect(() => tok.decode([tok.vocabSize])).toThrow(/token id 257 is outside/);
  });
});
