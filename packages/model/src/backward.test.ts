// The backward pass against finite differences of the forward on a model with F32 weights (no
// Q8_0 rounding, so the forward is smooth): scaling one output channel of a projection by (1 - 2e)
// is half-way to a row flip, and (L(e) - L(-e)) / 2e must equal the predicted row effect
// sum_t g * (-2 y); likewise for one 128-weight group of a row.
import { describe, expect, it } from 'vitest';
import { bytesSource, memorySink } from '@bankai/gguf';
import { generateQwen3, presetOptions } from '@bankai/model-gen';
import { Rng } from '@bankai/rng';
import { BACKWARD_PROJECTIONS, groupEffects, layoutBackward, Qwen3Backward, releaseBackward, rowEffects, type OutputSeed, type ProjectionGradient } from './backward.js';
import { Model } from './model.js';
import { logSumExp } from './scoring.js';

async function f32Model(): Promise<Model> {
  const sink = memorySink();
  await generateQwen3(presetOptions('tiny', { seed: 11, nLayer: 3, nFf: 256, weights: 'f32' }), sink);
  return Model.load(bytesSource(sink.bytes(), 'tiny-f32.gguf'), { maxContext: 64 });
}

const tokens = [3, 99, 17, 250, 4, 4, 400, 12, 77, 301, 5, 8];
const from = 8; // logits rows 8..11 are scored

/** Objective: log p(target_j) at rows from.. (dense seeds) plus a logit difference (sparse). */
function objective(logits: Float32Array, V: number): number {
  let s = 0;
  for (let j = 0; j + from < tokens.length - 1; j++) {
    const row = logits.subarray(j * V, (j + 1) * V);
    s += row[tokens[from + j + 1]!]! - logSumExp(row);
  }
  const last = logits.subarray((tokens.length - 1 - from) * V);
  return s + last[7]! - last[19]!;
}

function seedsOf(V: number) {
  return (logits: Float32Array): OutputSeed[] => {
    const seeds: OutputSeed[] = [];
    for (let j = 0; j + from < tokens.length - 1; j++) {
      const row = logits.subarray(j * V, (j + 1) * V);
      const lse = logSumExp(row);
      const dense = new Float32Array(V);
      for (let v = 0; v < V; v++) dense[v] = -Math.exp(row[v]! - lse);
      dense[tokens[from + j + 1]!]! += 1;
      seeds.push({ position: from + j, dense });
    }
    seeds.push({ position: tokens.length - 1, tokens: [7, 19], weights: [1, -1] });
    return seeds;
  };
}

describe('Qwen3Backward', () => {
  it('predicts the effect of scaling a row or a group to first order (finite differences, F32 weights)', async () => {
    const m = await f32Model();
    const V = m.config.vocabSize;
    const layout = layoutBackward(m.engine, m.weights, { fromLayer: 0, maxTokens: 16 });
    const bw = new Qwen3Backward(m.engine, m.weights, layout);
    const grads = new Map<string, ProjectionGradient>();
    bw.backward(tokens, from, seedsOf(V), (g) => grads.set(`${g.layer}.${g.proj}`, g));
    expect(grads.size).toBe(3 * BACKWARD_PROJECTIONS.length);
    const L = () => {
      m.runner.rewind(0);
      return objective(m.runner.forward(tokens, from), V);
    };
    const base = L();
    const rng = new Rng(3);
    const eps = 1e-2;
    let checked = 0;
    for (const [key, g] of grads) {
      const [layer, proj] = key.split('.') as [string, (typeof BACKWARD_PROJECTIONS)[number]];
      const lin = m.weights.layers[Number(layer)]![proj];
      if (lin.kind !== 'f32') throw new Error('expected F32 weights');
      const rows = rowEffects(g);
      const groups = groupEffects(g, (r) => bw.weightRow(lin.name, r));
      for (let k = 0; k < 2; k++) {
        const r = rng.int(lin.rows);
        const gi = rng.int(lin.cols / 128);
        for (const [lo, hi, predicted] of [[0, lin.cols, rows[r]!], [gi * 128, (gi + 1) * 128, groups[r * (lin.cols / 128) + gi]!]] as const) {
          const w = m.engine.f32(lin.ptr + r * lin.cols * 4, lin.cols);
          const saved = w.slice();
          const at = (e: number) => {
            for (let j = lo; j < hi; j++) w[j] = saved[j]! * (1 - 2 * e);
            const v = L();
            w.set(saved);
            return v;
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          // first order in e: L(e) = L(0) + e * predicted + O(e^2)
          expect(Math.abs(fd - predicted), `${key} row ${r} cols ${lo}..${hi}: fd ${fd} vs predicted ${predicted}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(predicted));
          checked++;
        }
      }
    }
    expect(checked).toBe(3 * BACKWARD_PROJECTIONS.length * 4);
    expect(L()).toBe(base); // weights restored
    releaseBackward(m.engine, layout);
  });
});
