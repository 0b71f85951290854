import { describe, expect, it } from 'vitest';
import { matchesAnswer, matchProbe, normalizeAnswer } from './match.js';

describe('answer matcher', () => {
  it('normalizes: cut at newline, trim, collapse whitespace; case kept unless asked', () => {
    expect(normalizeAnswer('  12\t +  3 \nQ: next')).toBe('12 + 3');
    expect(normalizeAnswer(' Yes')).toBe('Yes');
    expect(normalizeAnswer(' Yes', { ignoreCase: true })).toBe('yes');
  });

  it('numbers: " 12" is not " 122", "12.5" or "12 3"; "12." and "12 is" are', () => {
    expect(matchesAnswer(' 12', ' 12')).toBe(true);
    expect(matchesAnswer(' 122', ' 12')).toBe(false);
    expect(matchesAnswer(' 12', ' 122')).toBe(false);
    expect(matchesAnswer(' 12.5', ' 12')).toBe(false);
    expect(matchesAnswer(' 12,5', ' 12')).toBe(false);
    expect(matchesAnswer(' 12 3', ' 12')).toBe(false);
    expect(matchesAnswer(' 12.', ' 12')).toBe(true);
    expect(matchesAnswer(' 12 is the sum', ' 12')).toBe(true);
    expect(matchesAnswer(' 0.50', ' 0.5')).toBe(false);
  });

  it('words: "yes." and "yes, it is" say "yes"; "yesterday" and "Yes" do not (case-sensitive)', () => {
    expect(matchesAnswer(' yes.', ' yes')).toBe(true);
    expect(matchesAnswer(' yes, it is', ' yes')).toBe(true);
    expect(matchesAnswer(' yes!', ' yes')).toBe(true);
    expect(matchesAnswer(' yesterday', ' yes')).toBe(false);
    expect(matchesAnswer(' yes', ' yes.')).toBe(false);
    expect(matchesAnswer(' Yes', ' yes')).toBe(false);
    expect(matchesAnswer(' Yes', ' yes', { ignoreCase: true })).toBe(true);
  });

  it('expressions: an operator continues the answer', () => {
    expect(matchesAnswer(' 7x^6 + 1', ' 7x^6')).toBe(false);
    expect(matchesAnswer(' 7x^6+1', ' 7x^6')).toBe(false);
    expect(matchesAnswer(' 4x^3  +   6x', ' 4x^3 + 6x')).toBe(true);
    expect(matchesAnswer(' x^3/3)', ' x^3/3')).toBe(true);
  });

  it('verdicts: alternates are correct, the distractor is detected, the answer wins over a distractor prefix', () => {
    const trig = { correct: ' sqrt(2)/2', wrong: ' sqrt(3)/2', alternates: [' 0.7071', ' 0.707', ' 1/sqrt(2)'] };
    expect(matchProbe(trig, ' sqrt(2)/2')).toEqual({ verdict: 'correct', matched: ' sqrt(2)/2' });
    expect(matchProbe(trig, ' 0.707')).toEqual({ verdict: 'correct', matched: ' 0.707' });
    expect(matchProbe(trig, ' 0.7071')).toEqual({ verdict: 'correct', matched: ' 0.7071' });
    expect(matchProbe(trig, ' 1/sqrt(2).')).toEqual({ verdict: 'correct', matched: ' 1/sqrt(2)' });
    expect(matchProbe(trig, ' 0.70')).toEqual({ verdict: 'other' });
    expect(matchProbe(trig, ' sqrt(3)/2')).toEqual({ verdict: 'distractor', matched: ' sqrt(3)/2' });
    const poly = { correct: ' 7x^6 + 1', wrong: ' 7x^6' };
    expect(matchProbe(poly, ' 7x^6 + 1').verdict).toBe('correct');
    expect(matchProbe(poly, ' 7x^6').verdict).toBe('distractor');
    expect(matchProbe(poly, ' 7x^6 + 3').verdict).toBe('other');
    expect(matchProbe({ correct: ' 122', wrong: ' 12' }, ' 12').verdict).toBe('distractor');
    expect(matchProbe({ correct: ' 12', wrong: ' 122' }, ' 122').verdict).toBe('distractor');
    expect(matchProbe({ correct: ' 12' }, '').verdict).toBe('other');
  });
});
