import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BpeEncoder, BYTE_TO_UNICODE, learnMerges, pretokenize, tokenBytes } from './bpe.js';
import { buildCorpus, trainText } from './corpus.js';
import { buildVocab, learnVocab, VOCAB_SIZE } from './vocab.js';
import { SplitMix32 as Rng } from '@bankai/rng';

describe('qwen2 pre-tokenizer', () => {
  it('splits digits one by one and keeps a leading space on words', () => {
    expect(pretokenize('Q: what is 23+158? A: 181\n')).toEqual(['Q', ':', ' what', ' is', ' ', '2', '3', '+', '1', '5', '8', '?', ' A', ':', ' ', '1', '8', '1', '\n']);
    expect(pretokenize("I'll DON'T  x")).toEqual(['I', "'ll", ' DON', "'T", ' ', ' x']);
  });
});

describe('byte-level BPE', () => {
  it('maps all 256 bytes to distinct printable characters', () => {
    expect(new Set(BYTE_TO_UNICODE).size).toBe(256);
    expect(BYTE_TO_UNICODE[32]).toBe('Ġ');
    expect(BYTE_TO_UNICODE[10]).toBe('Ċ');
    expect(BYTE_TO_UNICODE[65]).toBe('A');
  });

  it('applies merges in rank order, not greedily left to right', () => {
    const merges = ['b c', 'a b', 'a bc'];
    const tokens = [...BYTE_TO_UNICODE, 'bc', 'ab', 'abc'];
    const enc = new BpeEncoder(tokens, merges.slice(0, 2));
    expect(enc.encode('abc').map((i) => tokens[i])).toEqual(['a', 'bc']);
    expect(new BpeEncoder(tokens, merges).encode('abc').map((i) => tokens[i])).toEqual(['abc']);
    expect(new BpeEncoder(tokens, ['a b', 'b c']).encode('abc').map((i) => tokens[i])).toEqual(['ab', 'c']);
  });

  it('learns the most frequent pair first, ties to the smaller pair string', () => {
    // pairs: "x y" x3; then "Ġ xy", "a b", "Ġ a" x2 each: the tie goes to "a b" ('a' < 'Ġ')
    expect(learnMerges('xy xy xy ab ab', 2)).toEqual(['x y', 'a b']);
    expect(learnMerges('abc', 5)).toEqual([]); // no pair occurs twice
  });

  it('round-trips random text and corpus lines', () => {
    const text = trainText(buildCorpus());
    const vocab = learnVocab(text.slice(0, 200_000));
    const enc = new BpeEncoder(vocab.tokens, vocab.merges);
    const rng = new Rng(7);
    for (let n = 0; n < 200; n++) {
      const s = Array.from({ length: rng.int(0, 40) }, () => String.fromCodePoint(rng.pick([rng.int(32, 126), rng.int(9, 10), rng.int(0xa0, 0x2fff), rng.int(0x1f600, 0x1f64f)]))).join('');
      expect(enc.decode(enc.encode(s))).toBe(s);
    }
    for (const line of text.split('\n').slice(0, 500)) expect(enc.decode(enc.encode(line))).toBe(line);
    expect(tokenBytes('Ġa')).toEqual(new Uint8Array([32, 97]));
  });

  it('builds a 512-token vocabulary: bytes, merges, control tokens', () => {
    const committed = JSON.parse(readFileSync(new URL('../data/tokenizer.json', import.meta.url), 'utf8'));
    const vocab = learnVocab(trainText(buildCorpus()));
    expect(committed).toEqual(vocab);
    expect(vocab.tokens.length).toBe(VOCAB_SIZE);
    expect(new Set(vocab.tokens).size).toBe(VOCAB_SIZE);
    expect(vocab.tokens[vocab.eosId]).toBe('<|endoftext|>');
    expect(vocab.tokenTypes.filter((t) => t === 3).length).toBe(3);
    expect(() => buildVocab(['a b'])).toThrow(/expected 512/);
  });
});

describe('Rng', () => {
  it('is deterministic and stays in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 1000 }, () => a.int(-3, 3));
    expect(Array.from({ length: 1000 }, () => b.int(-3, 3))).toEqual(xs);
    expect(Math.min(...xs)).toBe(-3);
    expect(Math.max(...xs)).toBe(3);
    expect(new Rng(43).nextU32()).not.toBe(new Rng(42).nextU32());
  });
});
