// First-order predictions of every candidate's effect on every probe's gap, from one backward
// pass per scored answer (see @bankai/model backward.ts). A row flip negates one output channel
// y of a projection, so its predicted gap change is sum over tokens of dgap/dy * (-2 y); a group
// flip negates one group's partial sum of it. The search ranks the whole space by the fitness of
// the predicted gaps and verifies only the best few exactly.
//
// Which answers carry the gradient follows the metric (the gap is a max over answers, so only
// the argmax answers have a derivative):
//   seq_logprob  d(log p(best correct)) - d(log p(best distractor)), every answer token
//   token_gap    d(logit of the first correct token - logit of the distractor's first token)
//   competitor   d(logit of the answer token - logit of its strongest competitor) at the answer
//                position with the smallest margin, for the best correct answer

import {
  competitorMargin, exp, groupEffects, layoutBackward, logSumExp, Qwen3Backward, releaseBackward, rowEffects, updateBackwardRows,
  type BackwardLayout, type Model, type OutputSeed, type Qwen3Runner,
} from '@bankai/model';
import { competitorGap, probeGap, scoreSequence, type Metric, type PreparedProbe, type SequenceScores } from '@bankai/probes';
import { Rng } from '@bankai/rng';
import type { Evaluator } from './evaluator.js';
import { spearman } from './stats.js';
import type { Candidate, CandidateSpace, Granularity } from './space.js';

export interface FirstOrderEffects {
  /** Probes, in the order the model was given them (the search: targets, controls, validation). */
  readonly nProbes: number;
  /** Candidates of the space. */
  readonly size: number;
  /** (nProbes, size) predicted gap change of probe i for candidate c at [i * size + c]. */
  readonly deltas: Float32Array;
  /** Each probe's gap as the backward's forward computed it (the current weights). */
  readonly gaps: Float64Array;
  /** Backward passes run. */
  readonly backwards: number;
  readonly seconds: number;
}

/** Where each searched projection's candidates sit in the space (plain data: posted to workers). */
export interface CandidateTable {
  size: number;
  granularity: Granularity;
  tensors: { name: string; layer: number; proj: string; offset: number; count: number }[];
}

export function candidateTable(space: CandidateSpace): CandidateTable {
  return {
    size: space.size,
    granularity: space.granularity,
    tensors: space.tensors.map((t) => ({ name: t.name, layer: t.layer, proj: t.proj, offset: t.offset, count: t.count })),
  };
}

/** A first-order task for an evaluator worker: probes (indices into its probe list) on its backward slot. */
export interface FirstOrderTask {
  kind: 'firstOrder';
  layout: BackwardLayout;
  table: CandidateTable;
  metric: Metric;
  probes: number[];
}

export interface FirstOrderChunk {
  /** (probes.length, size) predicted gap changes. */
  deltas: Float32Array;
  gaps: Float64Array;
  backwards: number;
}

/** Probes per worker task: enough to amortize the message, few enough to balance the workers. */
const PROBES_PER_TASK = 8;

/**
 * How a thread reaches a probe's sequences: their scores on the current weights, and (where
 * cached) their residual streams at the first searched layer for the backward's forward.
 */
export interface SequenceAccess {
  score(p: PreparedProbe, k: number): SequenceScores;
  residual?(p: PreparedProbe, k: number): number;
}

/** Sequences scored from scratch on a runner (no residual cache). */
export function runnerAccess(runner: Qwen3Runner): SequenceAccess {
  return { score: (p, k) => scoreSequence(runner, p.sequences[k]!) };
}

/**
 * Predicted gap changes of one probe for every candidate (added into `acc`, (size) f64): its
 * sequences scored, the ones its gap depends on differentiated.
 */
export function probeEffects(
  backward: Qwen3Backward, io: SequenceAccess, p: PreparedProbe, metric: Metric, table: CandidateTable, acc: Float64Array,
  byProjection = projectionIndex(table),
): { gap: number; backwards: number } {
  const n = metric === 'competitor' ? p.correctTokens.length : p.sequences.length;
  const scores = Array.from({ length: n }, (_, k) => io.score(p, k));
  const V = backward.config.vocabSize;
  let backwards = 0;
  for (const s of seeded(p, scores, V, metric)) {
    const seq = p.sequences[s.seq]!;
    backwards++;
    backward.backward(seq.tokens.slice(0, -1), seq.from - 1, s.seeds, (g) => {
      const t = byProjection.get(`${g.layer}.${g.proj}`);
      if (!t) return;
      const view = acc.subarray(t.offset, t.offset + t.count);
      if (table.granularity === 'row') rowEffects(g, view, s.sign);
      else groupEffects(g, (r) => backward.weightRow(t.name, r), view, s.sign);
    }, io.residual?.(p, s.seq));
  }
  return { gap: probeGap(p, scores, metric), backwards };
}

/** The table's tensors by `layer.proj`, as a backward pass names them. */
function projectionIndex(table: CandidateTable): Map<string, CandidateTable['tensors'][number]> {
  return new Map(table.tensors.map((t) => [`${t.layer}.${t.proj}`, t]));
}

/** probeEffects for several probes: (probes.length, size) deltas. */
export function chunkEffects(backward: Qwen3Backward, io: SequenceAccess, probes: readonly PreparedProbe[], metric: Metric, table: CandidateTable): FirstOrderChunk {
  const deltas = new Float32Array(probes.length * table.size);
  const gaps = new Float64Array(probes.length);
  const acc = new Float64Array(table.size);
  const byProjection = projectionIndex(table);
  let backwards = 0;
  probes.forEach((p, i) => {
    acc.fill(0);
    const r = probeEffects(backward, io, p, metric, table, acc, byProjection);
    gaps[i] = r.gap;
    backwards += r.backwards;
    deltas.set(acc, i * table.size);
  });
  return { deltas, gaps, backwards };
}

/**
 * First-order effects of every candidate on every probe. With an evaluator (whose probe list is
 * `probes`, in order), probes are spread over its workers, each on its own backward slot; a
 * probe is always computed whole by one thread, so results do not depend on the worker count.
 */
export class FirstOrderModel {
  private readonly layout: BackwardLayout;
  private readonly local: Qwen3Backward;
  private readonly table: CandidateTable;

  constructor(
    private readonly model: Model,
    readonly space: CandidateSpace,
    readonly probes: readonly PreparedProbe[],
    readonly metric: Metric,
    private readonly evaluator?: Evaluator,
  ) {
    const maxTokens = Math.max(1, ...probes.flatMap((p) => p.sequences.map((s) => s.tokens.length - 1)));
    // slot 0: this thread; slot k + 1: the evaluator's worker slot k
    this.layout = layoutBackward(model.engine, model.weights, { fromLayer: space.firstLayer, maxTokens, slots: 1 + (evaluator?.slots ?? 0) });
    this.local = new Qwen3Backward(model.engine, model.weights, this.layout, 0);
    this.table = candidateTable(space);
  }

  /** The weights changed by these (materialized) flips: refresh the backward's copy of them. */
  update(flips: readonly Candidate[]): void {
    const rows = new Map<string, Set<number>>();
    for (const f of flips) {
      const s = rows.get(f.tensor) ?? new Set<number>();
      s.add(f.row);
      rows.set(f.tensor, s);
    }
    for (const [tensor, r] of rows) updateBackwardRows(this.model.engine, this.model.weights, this.layout, tensor, [...r].sort((a, b) => a - b));
  }

  release(): void {
    releaseBackward(this.model.engine, this.layout);
  }

  /** Predicted effects of every candidate on every probe, on the model's current weights. */
  async compute(): Promise<FirstOrderEffects> {
    const t0 = performance.now();
    const size = this.table.size;
    const nProbes = this.probes.length;
    let chunks: { from: number; chunk: FirstOrderChunk }[];
    if (this.evaluator) {
      const tasks: FirstOrderTask[] = [];
      for (let i = 0; i < nProbes; i += PROBES_PER_TASK) {
        tasks.push({ kind: 'firstOrder', layout: this.layout, table: this.table, metric: this.metric, probes: Array.from({ length: Math.min(PROBES_PER_TASK, nProbes - i) }, (_, k) => i + k) });
      }
      const results = await this.evaluator.firstOrder(tasks);
      chunks = results.map((chunk, k) => ({ from: tasks[k]!.probes[0]!, chunk }));
    } else {
      chunks = [{ from: 0, chunk: chunkEffects(this.local, runnerAccess(this.model.runner), this.probes, this.metric, this.table) }];
    }
    const deltas = new Float32Array(nProbes * size);
    const gaps = new Float64Array(nProbes);
    let backwards = 0;
    for (const { from, chunk } of chunks) {
      deltas.set(chunk.deltas, from * size);
      gaps.set(chunk.gaps, from);
      backwards += chunk.backwards;
    }
    return { nProbes, size, deltas, gaps, backwards, seconds: (performance.now() - t0) / 1000 };
  }
}

/** Seeds of one sequence's backward pass, with the sign its answer enters the gap with. */
interface SeededSequence {
  seq: number;
  sign: number;
  seeds: (logits: Float32Array) => OutputSeed[];
}

function seeded(p: PreparedProbe, scores: SequenceScores[], V: number, metric: Metric): SeededSequence[] {
  const nc = p.correctTokens.length;
  const nw = p.wrongTokens.length;
  if (metric === 'competitor') {
    const { answer, position } = competitorGap(p, scores);
    const target = p.sequences[answer]!.tokens[p.sequences[answer]!.from + position]!;
    return [{
      seq: answer, sign: 1,
      seeds: (logits) => {
        const { competitor } = competitorMargin(logits.subarray(position * V, (position + 1) * V), target);
        return [{ position: p.sequences[answer]!.from - 1 + position, tokens: [target, competitor], weights: [1, -1] }];
      },
    }];
  }
  if (metric === 'token_gap') {
    const seq = p.sequences[0]!;
    const first = seq.tokens[seq.from]!;
    const wrong = nw > 0 ? p.sequences[nc]!.tokens[seq.from]! : undefined;
    return [{
      seq: 0, sign: 1,
      seeds: (logits) => [wrong !== undefined
        ? { position: seq.from - 1, tokens: [first, wrong], weights: [1, -1] }
        : logprobSeed(logits.subarray(0, V), first, seq.from - 1)],
    }];
  }
  // seq_logprob: the best correct answer up, the best distractor down
  const sum = (s: SequenceScores) => s.logprobs.reduce((a, b) => a + b, 0);
  const best = (lo: number, hi: number) => {
    let k = lo;
    for (let j = lo + 1; j < hi; j++) if (sum(scores[j]!) > sum(scores[k]!)) k = j;
    return k;
  };
  const out: SeededSequence[] = [{ seq: best(0, nc), sign: 1, seeds: answerSeeds(p, best(0, nc), V) }];
  if (nw > 0) out.push({ seq: best(nc, nc + nw), sign: -1, seeds: answerSeeds(p, best(nc, nc + nw), V) });
  return out;
}

/** d(sum of the answer's token log-probs)/d(logits) at each answer position. */
function answerSeeds(p: PreparedProbe, k: number, V: number): (logits: Float32Array) => OutputSeed[] {
  const seq = p.sequences[k]!;
  return (logits) => {
    const out: OutputSeed[] = [];
    for (let j = 0; seq.from + j < seq.tokens.length; j++) {
      out.push(logprobSeed(logits.subarray(j * V, (j + 1) * V), seq.tokens[seq.from + j]!, seq.from - 1 + j));
    }
    return out;
  };
}

/** Softmax entries below this are left out of a log-prob seed (the head's backward skips zeros). */
const SEED_MIN_PROB = 1e-7;

/** d log p(target) / d logits = onehot(target) - softmax(row), dense (portable exp). */
export function logprobSeed(row: Float32Array, target: number, position: number): OutputSeed {
  const lse = logSumExp(row);
  const dense = new Float32Array(row.length);
  for (let v = 0; v < row.length; v++) {
    const pv = exp(row[v]! - lse);
    dense[v] = pv < SEED_MIN_PROB ? 0 : -pv;
  }
  dense[target] = dense[target]! + 1;
  return { position, dense };
}

export interface FirstOrderAccuracy {
  /** Candidates measured: the `top` best-ranked by prediction, then `random` drawn uniformly. */
  top: number;
  random: number;
  /** Spearman of predicted vs exact gap change over every (probe, candidate) pair. */
  perProbe: number;
  /** Spearman of predicted vs exact mean target gain over the candidates. */
  targetMean: number;
  /** Of the `top` best-predicted, how many are among the `top` best by exact target gain (over all measured). */
  topOverlap: number;
  /** Mean exact target gain of the top-predicted candidates and of the random ones. */
  topGain: number;
  randomGain: number;
  /** Seconds of one first-order ranking of the whole space and of one exact evaluation (all probes). */
  firstOrderSeconds: number;
  evaluationSeconds: number;
  /** Candidates in the space. */
  size: number;
}

/**
 * How well first-order predictions rank candidates, against exact evaluations on the same
 * probes (targets first, `nTarget` of them): the numbers behind the guided search.
 */
export async function measureFirstOrder(
  model: Model, space: CandidateSpace, probes: readonly PreparedProbe[], nTarget: number, metric: Metric,
  evaluator: Evaluator, opts: { top?: number; random?: number; seed?: number } = {},
): Promise<FirstOrderAccuracy> {
  const top = opts.top ?? 16;
  const nRandom = opts.random ?? 48;
  const fo = new FirstOrderModel(model, space, probes, metric, evaluator);
  try {
    const fx = await fo.compute();
    const targetMean = (c: number) => {
      let s = 0;
      for (let i = 0; i < nTarget; i++) s += fx.deltas[i * fx.size + c]!;
      return s / Math.max(1, nTarget);
    };
    const ranked = Array.from({ length: fx.size }, (_, c) => c).sort((a, b) => targetMean(b) - targetMean(a) || a - b);
    const rng = new Rng(opts.seed ?? 1);
    const cands = [...ranked.slice(0, top), ...Array.from({ length: nRandom }, () => rng.int(fx.size))];
    const t0 = performance.now();
    const [base, ...exact] = await evaluator.evaluate([{ flips: [], part: 'all' }, ...cands.map((c) => ({ flips: [space.candidate(c)], part: 'all' as const }))]);
    const evaluationSeconds = (performance.now() - t0) / 1000 / (cands.length + 1);
    const predicted: number[] = [];
    const measured: number[] = [];
    const exactMean: number[] = [];
    exact.forEach((r, k) => {
      let s = 0;
      for (let i = 0; i < fx.nProbes; i++) {
        const d = r.gaps[i]! - base!.gaps[i]!;
        predicted.push(fx.deltas[i * fx.size + cands[k]!]!);
        measured.push(d);
        if (i < nTarget) s += d;
      }
      exactMean.push(s / Math.max(1, nTarget));
    });
    const bestExact = new Set(exactMean.map((g, k) => [g, k] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, top).map(([, k]) => k));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return {
      top, random: nRandom, size: fx.size,
      perProbe: spearman(predicted, measured),
      targetMean: spearman(cands.map(targetMean), exactMean),
      topOverlap: Array.from({ length: top }, (_, k) => k).filter((k) => bestExact.has(k)).length,
      topGain: mean(exactMean.slice(0, top)),
      randomGain: mean(exactMean.slice(top)),
      firstOrderSeconds: fx.seconds,
      evaluationSeconds,
    };
  } finally {
    fo.release();
  }
}
