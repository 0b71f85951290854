// Evaluating probes on a model: greedy generation judged by the matcher (the result that is
// reported) and teacher-forced gaps from a scorer (the signal a search optimizes).

import { matchProbe, type MatchOptions, type Verdict } from './match.js';
import { probeGap, teacherForcedCorrect } from './metric.js';
import type { Metric, PreparedProbe, Probe, SequenceScorer, SequenceScores } from './types.js';

/** What evaluateGeneration needs of a model (a @bankai/model Model fits). */
export interface TextGenerator {
  generate(prompt: string, opts: { maxTokens?: number; stopAtNewline?: boolean }): { text: string };
}

export interface GenerationOptions extends MatchOptions {
  /** Most tokens generated per probe (generation also stops at the newline). Default 32. */
  maxTokens?: number;
}

export interface GenerationResult {
  probe: Probe;
  /** The greedy output, cut at the newline (as generated: leading space kept). */
  output: string;
  verdict: Verdict;
  matched?: string;
}

export interface AccuracyCount {
  n: number;
  correct: number;
  distractor: number;
  other: number;
  /** correct / n. */
  accuracy: number;
}

export interface GenerationEvaluation {
  results: GenerationResult[];
  summary: AccuracyCount;
  /** Per probe category (probes without one under "(none)"), in first-seen order. */
  byCategory: Record<string, AccuracyCount>;
}

export const DEFAULT_MAX_TOKENS = 32;
export const NO_CATEGORY = '(none)';

export function evaluateGeneration(model: TextGenerator, probes: readonly Probe[], opts: GenerationOptions = {}): GenerationEvaluation {
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  const results = probes.map((probe): GenerationResult => {
    const output = model.generate(probe.prompt, { maxTokens, stopAtNewline: true }).text;
    return { probe, output, ...matchProbe(probe, output, opts) };
  });
  return { results, summary: countVerdicts(results), byCategory: countByCategory(results) };
}

export function countVerdicts(results: readonly { verdict: Verdict }[]): AccuracyCount {
  const c = { n: results.length, correct: 0, distractor: 0, other: 0, accuracy: 0 };
  for (const r of results) c[r.verdict]++;
  c.accuracy = c.n === 0 ? 0 : c.correct / c.n;
  return c;
}

export function countByCategory(results: readonly { probe: Probe; verdict: Verdict }[]): Record<string, AccuracyCount> {
  const groups = new Map<string, { verdict: Verdict }[]>();
  for (const r of results) {
    const k = r.probe.category ?? NO_CATEGORY;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return Object.fromEntries([...groups].map(([k, rs]) => [k, countVerdicts(rs)]));
}

export interface ProbeScore {
  prepared: PreparedProbe;
  /** The metric's gap: > 0 when the correct answer beats the distractor. */
  gap: number;
  /** Teacher-forced argmax reproduces a correct answer token for token. */
  teacherForcedCorrect: boolean;
  /** Per sequence of `prepared.sequences`. */
  scores: SequenceScores[];
}

/** Score every probe's sequences in one scorer call and reduce them to gaps with the metric. */
export function scoreProbes(scorer: SequenceScorer, prepared: readonly PreparedProbe[], metric: Metric = 'seq_logprob'): ProbeScore[] {
  const all = scorer.score(prepared.flatMap((p) => p.sequences));
  const expected = prepared.reduce((s, p) => s + p.sequences.length, 0);
  if (all.length !== expected) throw new RangeError(`scoreProbes: the scorer returned ${all.length} scores for ${expected} sequences`);
  let k = 0;
  return prepared.map((p) => {
    const scores = all.slice(k, k + p.sequences.length);
    k += p.sequences.length;
    return { prepared: p, gap: probeGap(p, scores, metric), teacherForcedCorrect: teacherForcedCorrect(p, scores), scores };
  });
}
