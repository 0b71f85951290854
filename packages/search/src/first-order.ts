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

import { competitorMargin, exp, groupEffects, logSumExp, Qwen3Backward, rowEffects, type Model, type OutputSeed } from '@bankai/model';
import { competitorGap, probeGap, scoreSequence, type Metric, type PreparedProbe, type SequenceScores } from '@bankai/probes';
import type { Candidate, CandidateSpace, SpaceTensor } from './space.js';

export interface FirstOrderEffects {
  /** Probes (targets, then controls). */
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

/** Seeds of one sequence's backward pass, with the sign its answer enters the gap with. */
interface SeededSequence {
  seq: number;
  sign: number;
  seeds: (logits: Float32Array) => OutputSeed[];
}

export class FirstOrderModel {
  private readonly backward: Qwen3Backward;
  private readonly byProjection = new Map<string, SpaceTensor>();

  constructor(
    private readonly model: Model,
    readonly space: CandidateSpace,
    readonly probes: readonly PreparedProbe[],
    readonly metric: Metric,
  ) {
    const maxTokens = Math.max(1, ...probes.flatMap((p) => p.sequences.map((s) => s.tokens.length - 1)));
    this.backward = new Qwen3Backward(model.engine, model.weights, { fromLayer: space.firstLayer, maxTokens });
    for (const t of space.tensors) this.byProjection.set(`${t.layer}.${t.proj}`, t);
  }

  /** The weights changed by these (materialized) flips: refresh the backward's copy of them. */
  update(flips: readonly Candidate[]): void {
    const rows = new Map<string, Set<number>>();
    for (const f of flips) {
      const s = rows.get(f.tensor) ?? new Set<number>();
      s.add(f.row);
      rows.set(f.tensor, s);
    }
    for (const [tensor, r] of rows) this.backward.updateRows(tensor, [...r].sort((a, b) => a - b));
  }

  release(): void {
    this.backward.release();
  }

  /** Predicted effects of every candidate on every probe, on the model's current weights. */
  compute(): FirstOrderEffects {
    const t0 = performance.now();
    const { space, model } = this;
    const size = space.size;
    const nProbes = this.probes.length;
    const deltas = new Float32Array(nProbes * size);
    const gaps = new Float64Array(nProbes);
    const acc = new Float64Array(size);
    let backwards = 0;
    const V = model.config.vocabSize;
    this.probes.forEach((p, i) => {
      const scores = this.scores(p);
      gaps[i] = probeGap(p, scores, this.metric);
      acc.fill(0);
      for (const s of this.seeded(p, scores, V)) {
        const seq = p.sequences[s.seq]!;
        backwards++;
        this.backward.backward(seq.tokens.slice(0, -1), seq.from - 1, s.seeds, (g) => {
          const t = this.byProjection.get(`${g.layer}.${g.proj}`);
          if (!t) return;
          const view = acc.subarray(t.offset, t.offset + t.count);
          if (space.granularity === 'row') rowEffects(g, view, s.sign);
          else groupEffects(g, (r) => this.backward.weightRow(t.name, r), view, s.sign);
        });
      }
      deltas.set(acc, i * size);
    });
    return { nProbes, size, deltas, gaps, backwards, seconds: (performance.now() - t0) / 1000 };
  }

  /** The sequences a metric needs scored, on the model's runner (current weights). */
  private scores(p: PreparedProbe): SequenceScores[] {
    const n = this.metric === 'competitor' ? p.correctTokens.length : p.sequences.length;
    return p.sequences.slice(0, n).map((s) => scoreSequence(this.model.runner, s));
  }

  private seeded(p: PreparedProbe, scores: SequenceScores[], V: number): SeededSequence[] {
    const nc = p.correctTokens.length;
    const nw = p.wrongTokens.length;
    if (this.metric === 'competitor') {
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
    if (this.metric === 'token_gap') {
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
    const out: SeededSequence[] = [{ seq: best(0, nc), sign: 1, seeds: this.answerSeeds(p, best(0, nc), V) }];
    if (nw > 0) out.push({ seq: best(nc, nc + nw), sign: -1, seeds: this.answerSeeds(p, best(nc, nc + nw), V) });
    return out;
  }

  /** d(sum of the answer's token log-probs)/d(logits) at each answer position. */
  private answerSeeds(p: PreparedProbe, k: number, V: number): (logits: Float32Array) => OutputSeed[] {
    const seq = p.sequences[k]!;
    return (logits) => {
      const out: OutputSeed[] = [];
      for (let j = 0; seq.from + j < seq.tokens.length; j++) {
        out.push(logprobSeed(logits.subarray(j * V, (j + 1) * V), seq.tokens[seq.from + j]!, seq.from - 1 + j));
      }
      return out;
    };
  }
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
