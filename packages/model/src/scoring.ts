// Teacher-forced log-probabilities, the decoding loop and greedy generation on a Qwen3Runner.

import { exp, log } from './portable-math.js';
import type { Qwen3Runner } from './qwen3.js';

export interface Encoder {
  encode(text: string): number[];
}

/**
 * Split encode(prompt + answer) into the prompt's tokens and the answer's, tokenized in context
 * (as the model reads them). When the tokenizer merges across the boundary, the prompt's tokens
 * are not a prefix: the shared prefix is the prompt. At least one token each when possible.
 */
export function splitInContext(tok: Encoder, prompt: string, answer: string): { prompt: number[]; answer: number[] } {
  const p = tok.encode(prompt);
  const full = tok.encode(prompt + answer);
  let k = 0;
  while (k < p.length && k < full.length && p[k] === full[k]) k++;
  k = Math.max(1, Math.min(k, full.length - 1));
  return { prompt: full.slice(0, k), answer: full.slice(k) };
}

/** In-place natural-log softmax of each row of (rows, dim) logits, accumulated in f64. */
export function logSoftmaxRows(logits: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < logits.length / dim; r++) {
    const row = logits.subarray(r * dim, (r + 1) * dim);
    const lse = logSumExp(row);
    for (let j = 0; j < dim; j++) row[j] = row[j]! - lse;
  }
  return logits;
}

/** log sum exp(row), accumulated in f64 with the portable exp/log (the same bits on every runtime). */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) if (row[j]! > max) max = row[j]!;
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum += exp(row[j]! - max);
  return max + log(sum);
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}

/**
 * The full log-softmax over the vocabulary after each token: (n, vocab) f32, row i being the
 * distribution of token i+1 given tokens[0..i]. Starts from an empty cache.
 */
export function tokenLogprobs(runner: Qwen3Runner, tokens: ArrayLike<number>): Float32Array {
  runner.rewind(0);
  const logits = runner.forward(tokens, 0);
  return logSoftmaxRows(logits.slice(), runner.config.vocabSize);
}

export interface ContinuationScore {
  /** Sum of log p(continuation token | everything before it). */
  logprob: number;
  /** Per continuation token. */
  tokenLogprobs: number[];
  /** Whether each continuation token was the model's argmax at its position. */
  greedyMatch: boolean[];
}

/**
 * Teacher-forced log-prob of `continuation` after `prompt` (token ids). Only the positions that
 * predict the continuation go through the output head.
 */
export function scoreContinuation(
  runner: Qwen3Runner,
  prompt: readonly number[],
  continuation: readonly number[],
): ContinuationScore {
  if (prompt.length === 0) throw new RangeError('scoreContinuation: the prompt needs at least one token');
  if (continuation.length === 0) throw new RangeError('scoreContinuation: empty continuation');
  const V = runner.config.vocabSize;
  const seq = [...prompt, ...continuation];
  runner.rewind(0);
  // logits of positions prompt.length-1 .. seq.length-2 predict the continuation
  const logits = runner.forward(seq.slice(0, -1), prompt.length - 1);
  const out = { logprobs: new Float64Array(continuation.length), argmax: new Int32Array(continuation.length) };
  scoreRows(logits, V, continuation, out, 0);
  const tokenLp = Array.from(out.logprobs);
  return {
    logprob: tokenLp.reduce((a, b) => a + b, 0),
    tokenLogprobs: tokenLp,
    greedyMatch: continuation.map((t, j) => out.argmax[j] === t),
  };
}

/**
 * Row j of `logits` ((rows, V) f32) predicts targets[j]: writes, each when asked, its log-prob
 * (log-softmax accumulated in f64 with the portable exp/log: the same bits on Node, Deno and Bun;
 * the costly part, an exp per vocabulary entry), the row's argmax and the target's margin over its
 * strongest competitor at out[at + j].
 * The one place scores are computed, so Model.score, the scoring pool, the search's gaps and
 * `bankai eval`'s agree to the bit.
 */
export function scoreRows(
  logits: Float32Array,
  V: number,
  targets: ArrayLike<number>,
  out: { logprobs?: Float64Array; argmax?: Int32Array; margin?: Float64Array },
  at: number,
): void {
  for (let j = 0; j < targets.length; j++) {
    const row = logits.subarray(j * V, (j + 1) * V);
    if (out.logprobs) out.logprobs[at + j] = row[targets[j]!]! - logSumExp(row);
    if (out.argmax) out.argmax[at + j] = argmax(row);
    if (out.margin) out.margin[at + j] = competitorMargin(row, targets[j]!).margin;
  }
}

/**
 * The target's logit minus the strongest other token's (= the log-prob difference): > 0 exactly
 * when the target is the argmax. Ties go to the lower token id as in argmax.
 */
export function competitorMargin(row: ArrayLike<number>, target: number): { margin: number; competitor: number } {
  let best = -Infinity;
  let competitor = -1;
  for (let v = 0; v < row.length; v++) {
    if (v !== target && row[v]! > best) {
      best = row[v]!;
      competitor = v;
    }
  }
  // argmax breaks ties to the lower id: a tie with a lower competitor is a loss (margin 0 counts as wrong)
  return { margin: row[target]! - best, competitor };
}

export interface DecodeStepOptions {
  maxTokens?: number;
  /** Token ids that end generation (not included in the output): eos / eot. */
  stopTokens?: readonly number[];
  /** Picks the next token from one row of logits and every token so far (prompt included);
   *  default: the argmax (greedy). */
  pick?: (logits: Float32Array, history: readonly number[]) => number;
}

/** Why decodeSteps ended: a stop token, or maxTokens / the runner's context ran out. */
export type DecodeEnd = 'stop' | 'length';

/**
 * The decoding loop with the KV cache: prefill the prompt in one batch, then one token a step.
 * Yields each new token; returns why it ended. A consumer that stops early (break, return())
 * ends it before the next forward pass.
 */
export function* decodeSteps(runner: Qwen3Runner, prompt: readonly number[], opts: DecodeStepOptions = {}): Generator<number, DecodeEnd> {
  const maxTokens = opts.maxTokens ?? 64;
  const stop = new Set(opts.stopTokens ?? []);
  if (prompt.length === 0) throw new RangeError('generate: the prompt needs at least one token');
  runner.rewind(0);
  const room = runner.layout.maxContext - prompt.length;
  let logits = runner.forward(prompt, prompt.length - 1);
  const history = [...prompt];
  let n = 0;
  while (n < Math.min(maxTokens, room + 1)) {
    const next = opts.pick ? opts.pick(logits, history) : argmax(logits);
    if (stop.has(next)) return 'stop';
    history.push(next);
    n++;
    yield next;
    if (n >= maxTokens || runner.pos >= runner.layout.maxContext) break;
    logits = runner.forward([next], 0);
  }
  return 'length';
}

export interface GenerateOptions {
  maxTokens?: number;
  /** Token ids that end generation (not included in the output): eos / eot. */
  stopTokens?: readonly number[];
  /** Called with each new token's decoded text so far; return true to stop (token kept). */
  stopWhen?: (ids: number[]) => boolean;
}

/** Greedy (argmax) decoding: decodeSteps with the argmax. */
export function generateGreedy(runner: Qwen3Runner, prompt: readonly number[], opts: GenerateOptions = {}): number[] {
  const out: number[] = [];
  for (const t of decodeSteps(runner, prompt, opts)) {
    out.push(t);
    if (opts.stopWhen?.(out)) break;
  }
  return out;
}
