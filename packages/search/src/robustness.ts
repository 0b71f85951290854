// Random bit-flip robustness: what do N random single-bit flips do to a 1-bit model? Upstream's
// claim (Bonsai 8B): 500K random bit flips (0.006% of the weights) change perplexity by < 1%.
// For each size N and seed: flip N bits drawn uniformly over every 1-bit weight of the model
// (embedding and output head included), measure the mean next-token NLL on a text (so the
// perplexity change) and greedy answers on probes (fixed / broken against the unpatched model),
// then flip them back. Deterministic per seed; the weights are restored after every patch.
//
// The weights change in place while a patch is measured: nothing else may use the model's engine
// memory meanwhile (no scoring pool or search evaluator running on it).

import { exp, modelShape, oneBitTensors, xorFlips, type Model } from '@bankai/model';
import { oneBitWeightCount, type BitFlip } from '@bankai/patch-format';
import { evaluateGeneration, type Probe } from '@bankai/probes';
import { Rng } from '@bankai/rng';
import { countChanges, type ChangeCounts } from './patch-eval.js';
import { spread, type Spread } from './stats.js';

export interface RobustnessOptions {
  /** Patch sizes (random bits per patch). */
  bits: readonly number[];
  seeds: readonly number[];
  /** Lines whose mean next-token NLL gives the perplexity (each at least 2 tokens once encoded). */
  text: readonly string[];
  /** Probes answered in greedy generation before and after each patch. */
  probes: readonly Probe[];
  maxTokens?: number;
  onProgress?: (message: string) => void;
}

export interface RobustnessRun {
  bits: number;
  seed: number;
  /** Mean next-token NLL (nats) on the text with the patch. */
  nll: number;
  /** exp(nll) / exp(base nll) - 1: the relative perplexity change. */
  perplexityChange: number;
  answers: ChangeCounts;
}

export interface RobustnessPoint {
  bits: number;
  /** bits / every 1-bit weight of the model. */
  fraction: number;
  perplexityChange: Spread;
  /** Greedy answers changed (fixed + broken) per patch. */
  changed: Spread;
  broken: Spread;
  runs: RobustnessRun[];
}

export interface RobustnessResult {
  oneBitWeights: number;
  baseNll: number;
  basePerplexity: number;
  textTokens: number;
  probes: number;
  points: RobustnessPoint[];
  seconds: number;
}

/** Every 1-bit weight of the model (rows x cols over its Q1_0 tensors). */
export function oneBitWeights(model: Model): number {
  return oneBitWeightCount(modelShape(model).tensors);
}

/** `n` distinct single-bit flips drawn uniformly over every 1-bit weight of the model. */
export function randomBitFlips(model: Model, n: number, rng: Rng): BitFlip[] {
  const tensors = [...oneBitTensors(model.weights)].map(([name, t]) => ({ name, rows: t.rows, cols: t.cols, size: t.rows * t.cols }));
  const total = tensors.reduce((s, t) => s + t.size, 0);
  if (!Number.isInteger(n) || n < 0 || n > total) throw new RangeError(`randomBitFlips: n must be an integer in 0..${total}, got ${n}`);
  const picked = new Set<number>();
  const out: BitFlip[] = [];
  while (out.length < n) {
    const k = rng.int(total);
    if (picked.has(k)) continue;
    picked.add(k);
    let at = k;
    let i = 0;
    while (at >= tensors[i]!.size) at -= tensors[i++]!.size;
    const t = tensors[i]!;
    out.push({ tensor: t.name, row: Math.floor(at / t.cols), bit: at % t.cols });
  }
  return out;
}

/** Mean next-token NLL (nats) over the lines' tokens (every position after the first). */
export function meanNll(model: Model, lines: readonly string[]): { nll: number; tokens: number } {
  const V = model.config.vocabSize;
  let sum = 0;
  let n = 0;
  for (const line of lines) {
    const ids = model.encode(line);
    if (ids.length < 2) continue;
    const lp = model.logprobs(ids); // (ids.length, vocab)
    for (let i = 0; i + 1 < ids.length; i++) {
      sum -= lp[i * V + ids[i + 1]!]!;
      n++;
    }
  }
  if (n === 0) throw new RangeError('meanNll: the text has no line of 2 or more tokens');
  return { nll: sum / n, tokens: n };
}

export function runRobustness(model: Model, opts: RobustnessOptions): RobustnessResult {
  const t0 = performance.now();
  const oneBit = oneBitWeights(model);
  const base = meanNll(model, opts.text);
  const gen = { maxTokens: opts.maxTokens ?? 24 };
  const before = evaluateGeneration(model, opts.probes, gen).results;
  const points: RobustnessPoint[] = [];
  for (const bits of opts.bits) {
    const runs: RobustnessRun[] = [];
    for (const seed of opts.seeds) {
      const flips = randomBitFlips(model, bits, new Rng(seed * 7919 + bits));
      xorFlips(model, flips);
      try {
        const { nll } = meanNll(model, opts.text);
        const after = evaluateGeneration(model, opts.probes, gen).results;
        runs.push({ bits, seed, nll, perplexityChange: exp(nll - base.nll) - 1, answers: countChanges(before.map((b, i) => ({ before: b, after: after[i]! }))) });
      } finally {
        xorFlips(model, flips);
      }
      opts.onProgress?.(`robustness: ${bits} bits, seed ${seed}: perplexity ${(100 * runs.at(-1)!.perplexityChange).toFixed(2)}%, answers +${runs.at(-1)!.answers.fixed} -${runs.at(-1)!.answers.broken}`);
    }
    points.push({
      bits,
      fraction: bits / oneBit,
      perplexityChange: spread(runs.map((r) => r.perplexityChange)),
      changed: spread(runs.map((r) => r.answers.fixed + r.answers.broken)),
      broken: spread(runs.map((r) => r.answers.broken)),
      runs,
    });
  }
  return { oneBitWeights: oneBit, baseNll: base.nll, basePerplexity: exp(base.nll), textTokens: base.tokens, probes: opts.probes.length, points, seconds: (performance.now() - t0) / 1000 };
}

/** A markdown table of the curve. */
export function formatRobustness(r: RobustnessResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(3)}%`;
  const lines = [
    `base perplexity ${r.basePerplexity.toFixed(4)} (mean NLL ${r.baseNll.toFixed(4)} nats over ${r.textTokens} tokens); ${r.probes} probes in greedy generation; ${r.oneBitWeights.toLocaleString('en-US')} one-bit weights`,
    '',
    '| random bits | share of weights | perplexity change (mean, range) | answers changed (mean, range) | answers broken (mean) | seeds |',
    '| ---: | ---: | --- | --- | ---: | ---: |',
  ];
  for (const p of r.points)
    lines.push(
      `| ${p.bits.toLocaleString('en-US')} | ${pct(p.fraction)} | ${pct(p.perplexityChange.mean)} (${pct(p.perplexityChange.min)} .. ${pct(p.perplexityChange.max)}) | ` +
        `${p.changed.mean.toFixed(1)} (${p.changed.min}..${p.changed.max}) | ${p.broken.mean.toFixed(1)} | ${p.runs.length} |`,
    );
  return lines.join('\n');
}
