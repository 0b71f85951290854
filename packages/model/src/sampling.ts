// Sampling: from one row of logits to the next token. Greedy (the argmax) is the default and is
// exactly what generateGreedy does; everything else is seeded (@bankai/rng) and uses the
// portable exp, so a seed gives the same tokens on Node, Deno and Bun.
//
// The order is llama.cpp's default sampler chain:
//   repetition penalty -> top-k -> top-p -> min-p -> temperature -> draw
// so top-p and min-p see the distribution at temperature 1, and the temperature only reshapes
// what they kept. Candidates are ordered by (logit desc, id asc): ties never depend on sorting;
// when nothing is cut, the draw walks the whole vocabulary in id order (no sort needed).

import { Rng } from '@bankai/rng';
import { exp } from './portable-math.js';
import { argmax } from './scoring.js';

export interface SamplingOptions {
  /** Softmax temperature. 0 (the default) is greedy: the argmax, bit-exact with generateGreedy. */
  temperature?: number;
  /** Keep only the k most likely tokens (0, the default: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1, the default: all). */
  topP?: number;
  /** Drop tokens less likely than minP times the most likely one (0, the default: none). */
  minP?: number;
  /** Divide a positive logit (multiply a negative one) of every token seen in the last
   *  repetitionLastN tokens, prompt included, by this (1, the default: off). Applies to greedy too. */
  repetitionPenalty?: number;
  /** How many tokens back the repetition penalty looks (default 64, as llama.cpp; -1: all). */
  repetitionLastN?: number;
  /** Seed of the draw (any safe integer). Default: a fresh random seed (see Sampler.seed); 0 when greedy. */
  seed?: number;
}

/** A generation option that cannot be used: names the option, the problem and the fix. */
export class GenerationOptionError extends RangeError {
  override name = 'GenerationOptionError';
  constructor(
    /** The option's name as the library spells it (`temperature`, `topP`, `stop`...). */
    readonly option: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${option}: ${problem}. Fix: ${fix}`);
  }
}

export interface Sampler {
  /** True when every token is the argmax of the (penalized) logits: no randomness. */
  readonly greedy: boolean;
  /** The seed of the draw (also when it was chosen at random; 0 for greedy unless given). */
  readonly seed: number;
  /** The next token for one row of logits ((vocab) f32); `history` is every token so far, prompt included. */
  pick(logits: Float32Array, history: readonly number[]): number;
}

/** Relative probability (to the most likely token) above which tokens are sorted first; the
 *  rest are sorted only when the kept set could reach into them (the result is the same). */
const SORT_THRESHOLD = 1e-4;

function check(ok: boolean, option: string, problem: string, fix: string): void {
  if (!ok) throw new GenerationOptionError(option, problem, fix);
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Throws a GenerationOptionError naming the first option out of range. */
export function checkSamplingOptions(o: SamplingOptions): void {
  const { temperature, topK, topP, minP, repetitionPenalty, repetitionLastN, seed } = o;
  if (temperature !== undefined) check(isNum(temperature) && temperature >= 0, 'temperature', `${temperature} is not a number >= 0`, 'pass 0 for greedy, or e.g. 0.7');
  if (topK !== undefined) check(Number.isInteger(topK) && topK >= 0, 'topK', `${topK} is not an integer >= 0`, 'pass 0 to keep every token, or e.g. 40');
  if (topP !== undefined) check(isNum(topP) && topP > 0 && topP <= 1, 'topP', `${topP} is not in (0, 1]`, 'pass 1 to keep every token, or e.g. 0.95');
  if (minP !== undefined) check(isNum(minP) && minP >= 0 && minP <= 1, 'minP', `${minP} is not in [0, 1]`, 'pass 0 to keep every token, or e.g. 0.05');
  if (repetitionPenalty !== undefined) {
    check(isNum(repetitionPenalty) && repetitionPenalty > 0, 'repetitionPenalty', `${repetitionPenalty} is not a number > 0`, 'pass 1 for no penalty, or e.g. 1.1');
  }
  if (repetitionLastN !== undefined) {
    check(Number.isInteger(repetitionLastN) && repetitionLastN >= -1, 'repetitionLastN', `${repetitionLastN} is not an integer >= -1`, 'pass -1 for the whole history, or e.g. 64');
  }
  if (seed !== undefined) check(Number.isSafeInteger(seed), 'seed', `${seed} is not an integer`, 'pass an integer seed');
}

/** A fresh random 32-bit seed (the one use of the platform's randomness). */
function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * The sampler for these options: the plain argmax when the temperature is 0 and there is no
 * repetition penalty (bit-exact with generateGreedy), otherwise the chain described at the top.
 */
export function createSampler(opts: SamplingOptions = {}): Sampler {
  checkSamplingOptions(opts);
  const temperature = opts.temperature ?? 0;
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  const minP = opts.minP ?? 0;
  const penalty = opts.repetitionPenalty ?? 1;
  const lastN = opts.repetitionLastN ?? 64;
  const greedy = temperature === 0;
  const seed = opts.seed ?? (greedy ? 0 : randomSeed());
  if (greedy && penalty === 1) return { greedy, seed, pick: (logits) => argmax(logits) };

  const rng = new Rng(seed);
  let l = new Float64Array(0); // (vocab) working logits
  let q = new Float64Array(0); // (vocab) exp(l - max): probability relative to the most likely token
  return {
    greedy,
    seed,
    pick(logits, history) {
      const V = logits.length;
      if (l.length !== V) {
        l = new Float64Array(V);
        q = new Float64Array(V);
      }
      l.set(logits);
      if (penalty !== 1) penalize(l, history, penalty, lastN);
      if (greedy) return argmax(l);

      let max = -Infinity;
      for (let i = 0; i < V; i++) if (l[i]! > max) max = l[i]!;
      let total = 0;
      for (let i = 0; i < V; i++) total += (q[i] = exp(l[i]! - max));

      const hasK = topK > 0 && topK < V;
      if (!hasK && topP === 1 && minP === 0) {
        // nothing cut: draw over the whole vocabulary in id order
        return draw(rng, V, (j) => j, (id) => (temperature === 1 ? q[id]! : exp((l[id]! - max) / temperature)));
      }
      let ids = sortedCandidates(l, q, (x) => x >= SORT_THRESHOLD);
      let sumC = 0;
      for (const id of ids) sumC += q[id]!;
      const enough = hasK ? ids.length >= topK : topP < 1 ? sumC >= topP * total : minP >= SORT_THRESHOLD;
      if (!enough) ids = sortedCandidates(l, q, () => true);

      let n = hasK ? Math.min(ids.length, topK) : ids.length;
      if (topP < 1) {
        let kept = total;
        if (hasK) {
          kept = 0;
          for (let j = 0; j < n; j++) kept += q[ids[j]!]!;
        }
        let c = 0;
        for (let j = 0; j < n; j++) {
          c += q[ids[j]!]!;
          if (c >= topP * kept) {
            n = j + 1;
            break;
          }
        }
      }
      if (minP > 0) {
        // q of the most likely token is exactly 1: keep q >= minP (at least one token)
        for (let j = 1; j < n; j++) {
          if (q[ids[j]!]! < minP) {
            n = j;
            break;
          }
        }
      }
      return draw(rng, n, (j) => ids[j]!, (id) => (temperature === 1 ? q[id]! : exp((l[id]! - max) / temperature)));
    },
  };
}

/** llama.cpp's repetition penalty, once per distinct token of the last `lastN` (-1: all) of `history`. */
function penalize(l: Float64Array, history: readonly number[], penalty: number, lastN: number): void {
  const from = lastN < 0 ? 0 : Math.max(0, history.length - lastN);
  const seen = new Set<number>();
  for (let i = from; i < history.length; i++) {
    const t = history[i]!;
    if (seen.has(t) || t < 0 || t >= l.length) continue;
    seen.add(t);
    l[t] = l[t]! > 0 ? l[t]! / penalty : l[t]! * penalty;
  }
}

/** Ids whose relative probability passes `keep`, by (logit desc, id asc). */
function sortedCandidates(l: Float64Array, q: Float64Array, keep: (x: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < q.length; i++) if (keep(q[i]!)) out.push(i);
  out.sort((a, b) => l[b]! - l[a]! || a - b);
  return Int32Array.from(out);
}

/** One draw: candidate j is id(j) with weight w(id); u uniform in [0, sum) walks the weights in order. */
function draw(rng: Rng, n: number, id: (j: number) => number, w: (id: number) => number): number {
  const weights = new Float64Array(n); // (n) unnormalized probabilities
  let sum = 0;
  for (let j = 0; j < n; j++) sum += (weights[j] = w(id(j)));
  const u = rng.nextFloat() * sum;
  let c = 0;
  for (let j = 0; j < n; j++) {
    c += weights[j]!;
    if (u < c) return id(j);
  }
  return id(n - 1);
}
