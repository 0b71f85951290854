import { describe, expect, it } from 'vitest';
import { buildTestVocab, bytesToUnicode, learnMerges, MERGE_TEXT, TOKEN_TYPE } from './vocab.js';

describe('test vocabulary', () => {
  it('maps all 256 bytes to distinct printable symbols the GPT-2 way', () => {
    const m = bytesToUnicode();
    expect(new Set(m).size).toBe(256);
    expect(m[0x41]).toBe('A');
    expect(m[0x20]).toBe('Ġ'); // space
    expect(m[0x0a]).toBe('Ċ'); // newline
    expect(m[0x00]).toBe('Ā');
  });

  it('learns the same merges every time, and merges only existing symbols', () => {
    const a = learnMerges(MERGE_TEXT, 300);
    expect(learnMerges(MERGE_TEXT, 300)).toEqual(a);
    expect(a.length).toBe(300);
    const known = new Set(bytesToUnicode());
    for (const [x, y] of a) {
      expect(known.has(x) && known.has(y)).toBe(true);
      known.add(x + y);
    }
    expect(a.slice(0, 40).map(([x, y]) => x + y)).toContain('Ġthe');
  });

  it('builds a vocab of the exact size: bytes, merges, specials, reserved controls', () => {
    for (const size of [259, 512, 4096]) {
      const v = buildTestVocab(size);
      expect(v.tokens.length).toBe(size);
      expect(v.tokenTypes.length).toBe(size);
      expect(new Set(v.tokens).size).toBe(size);
      expect(v.tokens.slice(v.endOfText, v.endOfText + 3)).toEqual(['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
      expect(v.tokenTypes[v.imEnd]).toBe(TOKEN_TYPE.control);
      expect(v.tokenTypes[0]).toBe(TOKEN_TYPE.normal);
      const ids = new Map(v.tokens.map((t, i) => [t, i]));
      for (const m of v.merges) {
        const [x, y] = m.split(' ') as [string, string];
        expect(ids.has(x) && ids.has(y) && ids.has(x + y)).toBe(true);
      }
      for (let i = v.imEnd + 1; i < size; i++) expect(v.tokens[i]).toMatch(/^<\|reserved_\d+\|>$/);
    }
    expect(buildTestVocab(512).merges.length).toBeGreaterThanOrEqual(512 - 259);
    expect(() => buildTestVocab(100)).toThrow(/at least 259/);
  });
});
