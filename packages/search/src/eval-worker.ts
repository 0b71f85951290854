// Worker side of the Evaluator: an engine instance on the shared memory and one runner; scores
// every probe sequence from its cached residual with the task's flips applied virtually.
import { workerData } from 'node:worker_threads';
import type { FlipSet } from '@bankai/engine-wasm';
import { claimRunner, Qwen3Backward, scoreRows, type CaptureStop, type MlpStage } from '@bankai/model';
import { probeGap, teacherForcedCorrect, type PreparedProbe, type SequenceScores } from '@bankai/probes';
import type { CaptureTask, EvalResult, EvalTask, EvaluatorWorkerInit } from './evaluator.js';
import { chunkEffects, type FirstOrderChunk, type FirstOrderTask, type SequenceAccess } from './first-order.js';
import { MLP_PROJECTIONS } from './space.js';

const init = workerData as EvaluatorWorkerInit;
const setup = (async () => {
  const { engine, runner, slot } = await claimRunner(init, 'evaluator worker');
  return { engine, region: init.flipRegions[slot]!, slot, runner }; // a region a slot, as the layouts
})();

// this worker's backward pass, on the layout the owner sent with the first first-order task
let backward: Qwen3Backward | undefined;

async function firstOrder(task: FirstOrderTask): Promise<FirstOrderChunk> {
  const { engine, slot, runner } = await setup;
  // slot 0 of a backward layout is the owner's; worker slot k uses k + 1
  if (!backward || backward.layout.id !== task.layout.id) backward = new Qwen3Backward(engine, init.weights, task.layout, slot + 1);
  runner.setVirtualFlips(new Map());
  const V = runner.config.vocabSize;
  // the sequences' cached residuals serve the scores and (when cached at the backward's first layer) its forward
  const ref = (p: PreparedProbe, k: number) => init.sequences[seqStart[probeIndex.get(p)!]! + k]!;
  const io: SequenceAccess = {
    score(p, k) {
      const seq = ref(p, k);
      const m = seq.tokens.length - seq.from;
      const logits = runner.forwardFromResidual(seq.residual, seq.tokens.length - 1, init.firstLayer, seq.from - 1);
      const out = { logprobs: new Float64Array(m), argmax: new Int32Array(m), margin: new Float64Array(m) };
      scoreRows(logits, V, seq.tokens.slice(seq.from), out, 0);
      return out;
    },
    ...(init.firstLayer === task.layout.fromLayer ? { residual: (p: PreparedProbe, k: number) => ref(p, k).residual } : {}),
  };
  return chunkEffects(backward, io, task.probes.map((i) => init.probes[i]!), task.metric, task.table);
}

const probeIndex = new Map(init.probes.map((p, i) => [p, i]));

// per layer, the tensors a candidate may flip and still start from the layer's MLP stage
const mlpTensors = init.weights.layers.map((lw) => new Set(MLP_PROJECTIONS.map((p) => lw[p].name)));

// probe i's sequences are sequences[seqStart[i] .. seqStart[i+1])
const seqStart: number[] = [0];
for (const p of init.probes) seqStart.push(seqStart[seqStart.length - 1]! + p.sequences.length);

/** The layer of a tensor name (`blk.12.ffn_gate` -> 12). */
function layerOf(tensor: string): number {
  const m = /^blk\.(\d+)\./.exec(tensor);
  if (!m) throw new RangeError(`evaluator: ${tensor} is not a layer's tensor`);
  return Number(m[1]);
}

/**
 * Cache the residuals of each probe's scored sequences at the cached layers above
 * cacheLayers[from], and the MLP stages at or above it (from -1: every cache and stage, from the
 * embeddings): the prompt once, then each answer on top of the prompt's KV cache (the same float
 * operations as a whole sequence at once).
 */
async function capture(task: CaptureTask): Promise<null> {
  const { runner } = await setup;
  runner.setVirtualFlips(new Map()); // the weights as they are (a failed evaluation may have left its flips)
  const { nEmbd, nFf } = runner.config;
  const k = task.from;
  const startLayer = k < 0 ? 0 : init.cacheLayers[k]!;
  const stopIdx = init.cacheLayers.map((_, j) => j).filter((j) => j > k);
  const stageIdx = init.mlpLayers.map((_, j) => j).filter((j) => init.mlpLayers[j]! >= startLayer);
  const rowBytes = nEmbd * 4;
  const actBytes = nFf * 4;
  for (const i of task.probes) {
    const seqs = init.sequences.slice(seqStart[i]!, seqStart[i + 1]!).filter((s) => s.residuals.length > 0); // the first ones
    if (seqs.length === 0) continue;
    const first = seqs[0]!;
    const from = first.from;
    // residual stops, then MLP stops, by layer (a layer's input residual before its MLP stage); `row`: the first row written
    const stops = (seq: typeof first, row: number): CaptureStop[] => [
      ...stopIdx.map((j) => ({ layer: init.cacheLayers[j]!, dst: seq.residuals[j]! + row * rowBytes })),
      ...stageIdx.map((j) => ({ layer: init.mlpLayers[j]!, mlp: stageRows(seq.stages[j]!, row) })),
    ].sort((a, b) => a.layer - b.layer || Number('mlp' in a) - Number('mlp' in b));
    if (task.plain) {
      for (const s of seqs) runner.captureResiduals(s.tokens.slice(0, -1), startLayer, k < 0 ? undefined : s.residuals[k]!, stops(s, 0));
      continue;
    }
    for (const s of seqs) {
      if (s.from !== from || s.tokens.slice(0, from).some((t, j) => t !== first.tokens[j])) throw new Error(`evaluator: probe ${i}'s answers do not share its prompt`);
    }
    runner.captureResiduals(first.tokens.slice(0, from), startLayer, k < 0 ? undefined : first.residuals[k]!, stops(first, 0));
    for (const s of seqs) {
      // the prompt's rows, then the answer's (tokens from..n-2) at positions from.. on the prompt's cache
      if (s !== first) {
        for (const j of stopIdx) engineCopy(first.residuals[j]!, s.residuals[j]!, from * rowBytes);
        for (const j of stageIdx) {
          engineCopy(first.stages[j]!.xMid, s.stages[j]!.xMid, from * rowBytes);
          engineCopy(first.stages[j]!.act, s.stages[j]!.act, from * actBytes);
        }
      }
      if (s.tokens.length - 1 > from) {
        runner.captureResiduals(s.tokens.slice(from, -1), startLayer, k < 0 ? undefined : s.residuals[k]! + from * rowBytes, stops(s, from), from);
      }
    }
  }
  return null;
}

/** A stage's rows from `row` on. */
const stageRows = (st: MlpStage, row: number): MlpStage => ({ xMid: st.xMid + row * init.weights.config.nEmbd * 4, act: st.act + row * init.weights.config.nFf * 4 });

const engineCopy = (src: number, dst: number, bytes: number) => {
  new Uint8Array(init.memory.buffer, dst, bytes).set(new Uint8Array(init.memory.buffer, src, bytes));
};

const isFirstOrder = (t: EvalTask | FirstOrderTask | CaptureTask): t is FirstOrderTask => (t as FirstOrderTask).kind === 'firstOrder';
const isCapture = (t: EvalTask | FirstOrderTask | CaptureTask): t is CaptureTask => (t as CaptureTask).kind === 'capture';

export default async function evaluate(task: EvalTask | FirstOrderTask | CaptureTask): Promise<EvalResult | FirstOrderChunk | null> {
  if (isFirstOrder(task)) return firstOrder(task);
  if (isCapture(task)) return capture(task);
  const { engine, region, runner } = await setup;
  // the task's flips, grouped per tensor, written into this worker's region
  const byTensor = new Map<string, { rows: number[]; groups: [number, number][] }>();
  for (const f of task.flips) {
    const t = byTensor.get(f.tensor) ?? { rows: [], groups: [] };
    if (f.group === undefined) t.rows.push(f.row);
    else t.groups.push([f.row, f.group]);
    byTensor.set(f.tensor, t);
  }
  const flips = new Map<string, FlipSet>();
  let at = region.ptr;
  for (const [tensor, t] of byTensor) {
    const bytes = engine.flipBytes(t.rows.length, t.groups.length);
    if (at + bytes > region.ptr + region.bytes) throw new RangeError(`a candidate of ${task.flips.length} flips does not fit the worker's flip region`);
    flips.set(tensor, engine.writeFlips(t.rows, t.groups, at));
    at += bytes;
  }
  runner.setVirtualFlips(flips);

  const nProbes = task.part === 'target' ? init.nTarget : init.probes.length;
  const V = runner.config.vocabSize;
  const nEmbd = runner.config.nEmbd;
  // resume from the highest cache at or below the lowest flipped layer (no flips: the highest
  // cache), or from that layer's MLP stage when it is cached and the flips leave its attention be
  const lowest = Math.min(...task.flips.map((f) => layerOf(f.tensor)));
  let k = 0;
  while (k + 1 < init.cacheLayers.length && init.cacheLayers[k + 1]! <= lowest) k++;
  let layer = init.cacheLayers[k]!;
  let stage = -1;
  for (let j = init.mlpLayers.length - 1; j >= 0; j--) {
    const l = init.mlpLayers[j]!;
    if (l < layer || l > lowest) continue;
    if (l === lowest && task.flips.some((f) => layerOf(f.tensor) === l && !mlpTensors[l]!.has(f.tensor))) continue;
    stage = j;
    layer = l;
    break;
  }
  // the residual rows from `row` on, through the layers from `layer` (or its MLP)
  const run = (seq: (typeof init.sequences)[number], row: number, n: number, logitsFrom: number, pos0: number) =>
    stage >= 0
      ? runner.forwardFromMlp(stageRows(seq.stages[stage]!, row), n, layer, logitsFrom, pos0)
      : runner.forwardFromResidual(seq.residuals[k]! + row * nEmbd * 4, n, layer, logitsFrom, pos0);
  const gaps = new Float64Array(nProbes);
  const correct = new Uint8Array(nProbes);
  for (let i = 0; i < nProbes; i++) {
    // a probe's sequences share its prompt: run the prompt once (its last row predicts every
    // answer's first token), then each answer on top of the prompt's cache
    const first = init.sequences[seqStart[i]!]!;
    const from = first.from;
    const promptRow = run(first, 0, from, from - 1, 0).slice();
    const scores: SequenceScores[] = [];
    // the competitor metric scores correct answers only (their margins against every other token)
    const end = init.metric === 'competitor' ? seqStart[i]! + init.probes[i]!.correctTokens.length : seqStart[i + 1]!;
    for (let s = seqStart[i]!; s < end; s++) {
      const seq = init.sequences[s]!;
      const m = seq.tokens.length - from; // answer tokens, scored
      const out = { logprobs: new Float64Array(m), argmax: new Int32Array(m), margin: new Float64Array(m) };
      // the competitor metric's gap and correctness read margins and argmaxes only: no log-softmax (NaN)
      const want = init.metric === 'competitor' ? { argmax: out.argmax, margin: out.margin } : out;
      if (want !== out) out.logprobs.fill(NaN);
      scoreRows(promptRow, V, [seq.tokens[from]!], want, 0);
      if (m > 1) {
        // residual rows from..n-2 of this sequence; logits row j predicts tokens[from + 1 + j]
        const logits = run(seq, from, m - 1, 0, from);
        scoreRows(logits, V, seq.tokens.slice(from + 1), want, 1);
      }
      scores.push(out);
    }
    gaps[i] = probeGap(init.probes[i]!, scores, init.metric);
    correct[i] = teacherForcedCorrect(init.probes[i]!, scores) ? 1 : 0;
  }
  runner.setVirtualFlips(new Map());
  return { gaps, correct };
}
