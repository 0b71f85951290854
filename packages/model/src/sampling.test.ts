import { describe, expect, it } from 'vitest';
import { Rng } from '@bankai/rng';
import { exp, log } from './portable-math.js';
import { checkSamplingOptions, createSampler, GenerationOptionError, type SamplingOptions } from './sampling.js';
import { argmax } from './scoring.js';

/** Random logits ((V) f32) from the project's generator, spread like a real model's. */
function randomLogits(seed: number, V: number, scale = 4): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: V }, () => scale * (r.nextFloat() * 2 - 1) ** 3);
}

const logitsOf = (probs: number[]) => Float32Array.from(probs, (p) => log(p));

function draws(opts: SamplingOptions, logits: Float32Array, n: number, history: number[] = []): number[] {
  const s = createSampler(opts);
  return Array.from({ length: n }, () => s.pick(logits, history));
}

/** Plain reference of the chain (always the full sort, one pass per stage), for the fast path. */
function referencePick(rng: Rng, logits: Float32Array, history: readonly number[], o: Required<Omit<SamplingOptions, 'seed'>>): number {
  const V = logits.length;
  const l = Float64Array.from(logits);
  if (o.repetitionPenalty !== 1) {
    const recent = new Set(o.repetitionLastN < 0 ? history : history.slice(Math.max(0, history.length - o.repetitionLastN)));
    for (const t of recent) l[t] = l[t]! > 0 ? l[t]! / o.repetitionPenalty : l[t]! * o.repetitionPenalty;
  }
  if (o.temperature === 0) return argmax(l);
  let ids = Array.from({ length: V }, (_, i) => i).sort((a, b) => l[b]! - l[a]! || a - b);
  const max = l[ids[0]!]!;
  const q = (id: number) => exp(l[id]! - max);
  if (o.topK > 0 && o.topK < V) ids = ids.slice(0, o.topK);
  if (o.topP < 1) {
    let total = 0;
    if (ids.length === V) for (let i = 0; i < V; i++) total += q(i);
    else for (const id of ids) total += q(id);
    let c = 0;
    const n = ids.findIndex((id) => (c += q(id)) >= o.topP * total);
    if (n >= 0) ids = ids.slice(0, n + 1);
  }
  if (o.minP > 0) {
    const n = ids.findIndex((id, j) => j > 0 && q(id) < o.minP);
    if (n > 0) ids = ids.slice(0, n);
  }
  if (!(o.topK > 0 && o.topK < V) && o.topP === 1 && o.minP === 0) ids.sort((a, b) => a - b); // nothing cut: id order
  const w = ids.map((id) => (o.temperature === 1 ? q(id) : exp((l[id]! - max) / o.temperature)));
  const sum = w.reduce((a, b) => a + b, 0);
  const u = rng.nextFloat() * sum;
  let c = 0;
  for (let j = 0; j < ids.length; j++) if (u < (c += w[j]!)) return ids[j]!;
  return ids[ids.length - 1]!;
}

describe('createSampler', () => {
  it('is the argmax by default and at temperature 0, whatever the seed', () => {
    for (let s = 0; s < 20; s++) {
      const logits = randomLogits(s, 512);
      expect(createSampler().pick(logits, [])).toBe(argmax(logits));
      expect(createSampler({ temperature: 0, seed: s, topK: 5 }).pick(logits, [])).toBe(argmax(logits));
      expect(createSampler({ temperature: 1.5, topK: 1, seed: s }).pick(logits, [])).toBe(argmax(logits));
    }
    expect(createSampler().greedy).toBe(true);
  });

  it('gives the same tokens for the same seed, and other tokens for another seed', () => {
    const logits = randomLogits(1, 512, 1);
    const a = draws({ temperature: 1, seed: 7 }, logits, 50);
    expect(draws({ temperature: 1, seed: 7 }, logits, 50)).toEqual(a);
    expect(draws({ temperature: 1, seed: 8 }, logits, 50)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(10);
  });

  it('draws with the softmax probabilities at temperature 1, and p^(1/T) at temperature T', () => {
    const p = [0.5, 0.3, 0.15, 0.05];
    const n = 40_000;
    for (const [T, want] of [
      [1, p],
      [0.5, p.map((x) => x ** 2 / p.reduce((a, y) => a + y ** 2, 0))],
    ] as const) {
      const counts = [0, 0, 0, 0];
      for (const t of draws({ temperature: T, seed: 3 }, logitsOf(p), n)) counts[t]!++;
      // 4 standard deviations of a binomial count: a correct sampler fails this about once in 10^4 seeds
      counts.forEach((c, i) => expect(Math.abs(c / n - want[i]!)).toBeLessThan(4 * Math.sqrt((want[i]! * (1 - want[i]!)) / n)));
    }
  });

  it('top-k, top-p and min-p keep exactly the tokens they should', () => {
    const logits = logitsOf([0.05, 0.5, 0.15, 0.3]); // by probability: 1, 3, 2, 0
    const kept = (o: SamplingOptions) => new Set(draws({ temperature: 1, seed: 1, ...o }, logits, 4000));
    expect(kept({ topK: 2 })).toEqual(new Set([1, 3]));
    expect(kept({ topK: 3 })).toEqual(new Set([1, 3, 2]));
    expect(kept({ topP: 0.79 })).toEqual(new Set([1, 3])); // 0.5 + 0.3 reaches 0.79
    expect(kept({ topP: 0.81 })).toEqual(new Set([1, 3, 2]));
    expect(kept({ topP: 0.1 })).toEqual(new Set([1])); // at least one
    expect(kept({ minP: 0.35 })).toEqual(new Set([1, 3])); // p >= 0.175
    expect(kept({ minP: 0.25 })).toEqual(new Set([1, 3, 2])); // p >= 0.125
    // after top-k, top-p renormalizes over what is left: (0.5 + 0.3) / 0.95 = 0.842 reaches 0.84
    expect(kept({ topP: 0.84 })).toEqual(new Set([1, 3, 2]));
    expect(kept({ topK: 3, topP: 0.84 })).toEqual(new Set([1, 3]));
  });

  it('penalizes tokens in the last repetitionLastN tokens as llama.cpp does (divide positive, multiply negative)', () => {
    const logits = Float32Array.from([2, 1.5, -0.5, -1.2]);
    expect(createSampler({ repetitionPenalty: 2 }).pick(logits, [0])).toBe(1); // 2 / 2 = 1 < 1.5
    expect(createSampler({ repetitionPenalty: 2, repetitionLastN: 1 }).pick(logits, [0, 3])).toBe(0); // token 0 is out of the window
    const neg = Float32Array.from([-1, -0.6, -3]);
    expect(createSampler({ repetitionPenalty: 2 }).pick(neg, [1])).toBe(0); // -0.6 * 2 = -1.2 < -1
    expect(createSampler({ repetitionPenalty: 1.1 }).greedy).toBe(true);
  });

  it('equals the plain full-sort reference on a large vocabulary, over many options and seeds', () => {
    const V = 20_000;
    const cases: Required<Omit<SamplingOptions, 'seed'>>[] = [];
    for (const temperature of [0, 0.3, 1, 1.7])
      for (const [topK, topP, minP] of [[0, 1, 0], [40, 1, 0], [0, 0.9, 0], [0, 0.999, 0], [0, 1, 0.05], [0, 1, 1e-6], [50, 0.95, 0.05], [0, 0.5, 0.2]] as const)
        cases.push({ temperature, topK, topP, minP, repetitionPenalty: temperature === 1 ? 1.3 : 1, repetitionLastN: 64 });
    for (const [i, o] of cases.entries()) {
      const seed = 100 + i;
      const s = createSampler({ ...o, seed });
      const rng = new Rng(seed);
      const history: number[] = [5, 17, 5, 300];
      for (let step = 0; step < 6; step++) {
        const logits = randomLogits(seed * 31 + step, V, step % 2 ? 12 : 2);
        const want = referencePick(rng, logits, history, o);
        expect({ case: o, step, token: s.pick(logits, history) }).toEqual({ case: o, step, token: want });
        history.push(want);
      }
    }
  });

  it('names the option and the fix when an option is out of range', () => {
    const bad: [SamplingOptions, string][] = [
      [{ temperature: -1 }, 'temperature'], [{ temperature: NaN }, 'temperature'], [{ topK: 1.5 }, 'topK'],
      [{ topP: 0 }, 'topP'], [{ topP: 1.2 }, 'topP'], [{ minP: -0.1 }, 'minP'], [{ repetitionPenalty: 0 }, 'repetitionPenalty'],
      [{ repetitionLastN: -2 }, 'repetitionLastN'], [{ seed: 0.5 }, 'seed'],
    ];
    for (const [o, option] of bad) {
      const e = (() => {
        try {
          checkSamplingOptions(o);
        } catch (err) {
          return err;
        }
      })() as GenerationOptionError;
      expect(e).toBeInstanceOf(GenerationOptionError);
      expect(e.option).toBe(option);
      expect(e.message).toMatch(/Fix: /);
    }
  });
});
