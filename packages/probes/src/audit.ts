// The probe audit: which probes can measure anything on this model? Per probe it reports
//   dead          correct and wrong tokenize (in context) to the same tokens, or score identically
//                 (|seq_logprob gap| <= 1e-6): no flip can move such a probe; with `metric:
//                 'token_gap'` also when both start with the same token (the space before digits);
//   boundary      the prompt's tokens are not a prefix of encode(prompt + answer): the tokenizer
//                 merges across the boundary, so the model never reads the prompt as written
//                 before that answer (typically a prompt ending in a space);
//   distractor-rank  the distractor's token where it departs from the answer (its first token,
//                 unless they share a prefix such as a leading space or digits) ranks beyond
//                 `rankLimit` (default 10) among the whole vocabulary: the model never considers
//                 it, so a pairwise gap against it measures little;
//   distractor-not-said  the model's own greedy answer is wrong but is not the distractor: the
//                 gap is against an answer the model does not give (search against its own);
//   no-distractor the probe has no `wrong`;
//   too-long      the probe does not fit the model's context.
// and the model's own greedy answer with its verdict, the seq_logprob and token_gap gaps, and
// the ranks of the correct and distractor first tokens.

import type { Model } from '@bankai/model';
import { DEFAULT_MAX_TOKENS, type GenerationOptions } from './evaluate.js';
import { matchProbe, type Verdict } from './match.js';
import { probeGap } from './metric.js';
import { prepareProbes } from './prepare.js';
import { modelScorer } from './scorer.js';
import type { Metric, Probe } from './types.js';

export type AuditFlagKind = 'dead' | 'boundary' | 'distractor-rank' | 'distractor-not-said' | 'no-distractor' | 'too-long';

export interface AuditFlag {
  kind: AuditFlagKind;
  message: string;
}

export interface ProbeAudit {
  probe: Probe;
  index: number;
  /** The model's greedy output (cut at the newline) and its verdict (undefined when too long). */
  greedy?: string;
  verdict?: Verdict;
  /** seq_logprob and token_gap gaps (undefined without a distractor, or when too long). */
  gap?: number;
  tokenGap?: number;
  /**
   * Answer tokens the distractor shares with the correct answer before it departs (digits are
   * single tokens, so " 122" and " 128" share " 1 2"). Ranks are taken there, teacher-forced
   * through the shared tokens; an answer that ends there is ranked by its end token "\n".
   */
  departsAt?: number;
  /** 1-based rank among the whole vocabulary of the correct / distractor token where they depart. */
  correctRank?: number;
  distractorRank?: number;
  /** The model's most likely token there, decoded. */
  topToken?: string;
  flags: AuditFlag[];
}

export interface AuditReport {
  probes: ProbeAudit[];
  /** How many probes carry each flag. */
  counts: Record<AuditFlagKind, number>;
  rankLimit: number;
}

export interface AuditOptions extends GenerationOptions {
  /** Flag distractors ranked beyond this (default 10). */
  rankLimit?: number;
  /** The metric a search will use (default seq_logprob). Under token_gap a probe whose answer and
   *  distractor start with the same token (" 12" / " 13": the space) is dead too. */
  metric?: Metric;
}

export type AuditModel = Pick<Model, 'encode' | 'decode' | 'runner' | 'generate'>;

export const DEAD_GAP = 1e-6;

export function auditProbes(model: AuditModel, probes: readonly Probe[], opts: AuditOptions = {}): AuditReport {
  const rankLimit = opts.rankLimit ?? 10;
  const tok = { encode: (t: string) => model.encode(t) };
  const prepared = prepareProbes(tok, probes);
  const scorer = modelScorer(model);
  const maxContext = model.runner.layout.maxContext;
  const show = (ids: readonly number[]) => ids.map((t) => JSON.stringify(model.decode([t]))).join(' ');

  const audits = prepared.map((p, i): ProbeAudit => {
    const probe = p.probe;
    const flags: AuditFlag[] = [];
    const a: ProbeAudit = { probe, index: i, flags };

    // boundary: encode(prompt) must be a prefix of encode(prompt + answer)
    const promptIds = model.encode(probe.prompt);
    for (const [label, answer] of answersOf(probe)) {
      const full = model.encode(probe.prompt + answer);
      const k = commonPrefix(promptIds, full);
      if (k < promptIds.length) {
        flags.push({
          kind: 'boundary',
          message: `${label} ${JSON.stringify(answer)} merges with the prompt: the prompt ends ${show(promptIds.slice(k))} but prompt+answer reads ${show(full.slice(k, promptIds.length + 1))}; ` +
            'end the prompt where the tokenizer splits (e.g. move a trailing space into the answer)',
        });
      }
    }

    if (probe.wrong === undefined) flags.push({ kind: 'no-distractor', message: 'no "wrong" answer: seq_logprob is the correct answer\'s own log-prob' });
    else if (p.wrongTokens.length === 0) {
      flags.push({ kind: 'dead', message: `"wrong" ${JSON.stringify(probe.wrong)} tokenizes in context to the same tokens as a correct answer` });
    }

    const longest = Math.max(...p.sequences.map((s) => s.tokens.length - 1));
    if (longest > maxContext) {
      flags.push({ kind: 'too-long', message: `needs ${longest} positions; the model's context is ${maxContext}` });
      return a;
    }
    const greedy = model.generate(probe.prompt, { maxTokens: opts.maxTokens ?? DEFAULT_MAX_TOKENS, stopAtNewline: true }).text;
    const g = matchProbe(probe, greedy, opts);
    a.greedy = greedy;
    a.verdict = g.verdict;

    const scores = scorer.score(p.sequences);
    if (p.wrongTokens.length > 0) {
      a.gap = probeGap(p, scores, 'seq_logprob');
      a.tokenGap = probeGap(p, scores, 'token_gap');
      if (Math.abs(a.gap) <= DEAD_GAP) {
        flags.push({ kind: 'dead', message: `correct and wrong score identically (seq_logprob gap ${a.gap.toExponential(2)})` });
      } else if (opts.metric === 'token_gap' && p.correctTokens[0]![0] === p.wrongTokens[0]![0]) {
        flags.push({
          kind: 'dead',
          message: `under token_gap: the answer and the distractor both start with ${JSON.stringify(model.decode([p.correctTokens[0]![0]!]))}, so their first-token gap is 0 (use seq_logprob)`,
        });
      }
    }

    // ranks where the distractor departs from the answer (after their shared tokens, teacher-forced)
    const correct = p.correctTokens[0]!;
    const wrong = p.wrongTokens[0];
    const shared = wrong === undefined ? 0 : commonPrefix(correct, wrong);
    const row = nextTokenLogits(model, [...p.promptTokens, ...correct.slice(0, shared)]);
    a.departsAt = shared;
    let top = 0;
    for (let k = 1; k < row.length; k++) if (row[k]! > row[top]!) top = k;
    a.topToken = model.decode([top]);
    const endToken = newlineToken(model);
    const at = (tokens: readonly number[]): number | undefined => (shared < tokens.length ? tokens[shared] : endToken);
    const c = at(correct);
    if (c !== undefined) a.correctRank = rankOf(row, c);
    if (wrong !== undefined) {
      const w = at(wrong);
      if (w !== undefined) {
        a.distractorRank = rankOf(row, w);
        if (a.distractorRank > rankLimit) {
          flags.push({
            kind: 'distractor-rank',
            message: `the distractor's token ${JSON.stringify(model.decode([w]))} ranks ${a.distractorRank} where it departs from the answer (limit ${rankLimit}): the model never considers it`,
          });
        }
      }
    }
    if (g.verdict === 'other' && probe.wrong !== undefined) {
      flags.push({ kind: 'distractor-not-said', message: `the model answers ${JSON.stringify(greedy)}, neither the answer nor the distractor ${JSON.stringify(probe.wrong)}` });
    }
    return a;
  });

  const counts = { dead: 0, boundary: 0, 'distractor-rank': 0, 'distractor-not-said': 0, 'no-distractor': 0, 'too-long': 0 } satisfies Record<AuditFlagKind, number>;
  for (const a of audits) for (const kind of new Set(a.flags.map((f) => f.kind))) counts[kind]++;
  return { probes: audits, counts, rankLimit };
}

function answersOf(p: Probe): [string, string][] {
  return [
    ['correct', p.correct],
    ...(p.alternates ?? []).map((a, j): [string, string] => [`alternates[${j}]`, a]),
    ...(p.wrong !== undefined ? [['wrong', p.wrong] as [string, string]] : []),
  ];
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k;
}

/** (vocab) f32 logits predicting the token after `tokens`. */
function nextTokenLogits(model: AuditModel, tokens: readonly number[]): Float32Array {
  model.runner.rewind(0);
  const row = model.runner.forward(tokens, tokens.length - 1).slice();
  model.runner.rewind(0);
  return row;
}

/** The token that ends a one-line answer ("\n"), when the tokenizer has it as one token. */
function newlineToken(model: AuditModel): number | undefined {
  const ids = model.encode('\n');
  return ids.length === 1 ? ids[0] : undefined;
}

/** 1-based rank of token t: 1 + how many tokens score strictly higher. */
export function rankOf(row: ArrayLike<number>, t: number): number {
  const v = row[t]!;
  let higher = 0;
  for (let k = 0; k < row.length; k++) if (row[k]! > v) higher++;
  return higher + 1;
}
