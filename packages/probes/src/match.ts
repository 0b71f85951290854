// The answer matcher: does a greedy generation say the probe's answer, its distractor, or
// something else? The rules (also in the package README):
//
// 1. Normalize both texts: cut at the first newline, trim, collapse every whitespace run to one
//    space. Case-sensitive by default (`x` vs `X`, `Paris` vs `paris` differ; answers are
//    symbols and names); `{ ignoreCase: true }` folds case. Numbers are compared as written:
//    `0.5` is not `.5` or `1/2` (list those as alternates).
// 2. The output matches an answer if it equals it, or starts with it followed by a boundary that
//    ends the answer rather than continuing it:
//      - one of . , ; : ! ? ) followed by the end or a space     ("yes." "Paris, the" "12)")
//      - a space followed by a letter (a word)                   ("122 is the sum")
//    So " 12" does not match "122" or "12.5" or "12 3", and " 7x^6" does not match
//    "7x^6 + 1" (an operator continues the expression).
// 3. Verdict: `correct` if the output matches `correct` or an alternate; else `distractor` if it
//    matches `wrong`; else `other`. The correct answer is checked first, so a distractor that is
//    a prefix of the answer (" 7x^6" vs " 7x^6 + 1") never steals a right output.

import type { Probe } from './types.js';

export type Verdict = 'correct' | 'distractor' | 'other';

export interface MatchOptions {
  /** Fold case before comparing (default false: case-sensitive). */
  ignoreCase?: boolean;
}

export interface MatchResult {
  verdict: Verdict;
  /** The answer text that matched (the probe's correct, an alternate, or wrong), as written in the probe. */
  matched?: string;
}

/** Cut at the first newline, trim, collapse whitespace runs to one space (optionally fold case). */
export function normalizeAnswer(text: string, opts: MatchOptions = {}): string {
  const nl = text.search(/[\r\n]/);
  const line = nl >= 0 ? text.slice(0, nl) : text;
  const s = line.trim().replace(/\s+/g, ' ');
  return opts.ignoreCase ? s.toLowerCase() : s;
}

const CLOSING = '.,;:!?)';
const isLetter = (c: string | undefined): boolean => c !== undefined && /\p{L}/u.test(c);

/** Whether `output` says `answer` (rule 2 above). */
export function matchesAnswer(output: string, answer: string, opts: MatchOptions = {}): boolean {
  const o = normalizeAnswer(output, opts);
  const a = normalizeAnswer(answer, opts);
  if (a === '') return false;
  if (o === a) return true;
  if (!o.startsWith(a)) return false;
  const rest = o.slice(a.length);
  const c0 = rest[0]!;
  if (CLOSING.includes(c0)) return rest.length === 1 || rest[1] === ' ';
  return c0 === ' ' && isLetter(rest[1]);
}

/** Classify a greedy output against a probe (rule 3 above). */
export function matchProbe(probe: Pick<Probe, 'correct' | 'wrong' | 'alternates'>, output: string, opts: MatchOptions = {}): MatchResult {
  for (const a of [probe.correct, ...(probe.alternates ?? [])]) {
    if (matchesAnswer(output, a, opts)) return { verdict: 'correct', matched: a };
  }
  if (probe.wrong !== undefined && matchesAnswer(output, probe.wrong, opts)) return { verdict: 'distractor', matched: probe.wrong };
  return { verdict: 'other' };
}
