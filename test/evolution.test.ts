// The evolutionary strategy on the shipped tiny model: the same seed gives the same patch and the
// same populations, generation by generation, on 1 and 2 workers and after a kill + resume; the
// patch's fitness only rises; drops happen and are replayed; the model comes back unchanged.
import { describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { readProbeFile } from '@bankai/probes/node';
import { tinyProbeSpec } from '@bankai/probes';
import evolution from '@bankai/strategy-evolution';
import { runSearch, type CheckpointRecord, type SearchConfig, type SearchInput, type SearchResult } from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';

async function setup() {
  const src = await fileSource(modelPath);
  const model = await Model.load(src);
  await src.close();
  const target = (await readProbeFile(tinyProbeSpec('addition', 'SEARCH'))).probes.slice(0, 16);
  const control = (await readProbeFile(tinyProbeSpec('capital', 'CONTROL'))).probes.slice(0, 12);
  return { model, target: target.map((probe) => ({ probe, domain: 'addition' })), control };
}

const config: SearchConfig = {
  strategy: 'evolution', strategyOptions: { population: 4, children: 4, generations: 2, 'drop-rate': 0.4 }, seed: 11, iterations: 5,
  layers: [2, 3], projs: ['gate', 'up', 'down'], granularity: 'row', metric: 'competitor', lambda: 2, aggregate: 'mean',
  minGain: 0.01, targetMargin: 2, controlMargin: 2, validation: 0.25, ownAnswerDistractors: false,
};

const summary = (r: SearchResult) => ({ flips: r.flips, fitness: r.fitness, history: r.history, evaluations: r.evaluations, finalGaps: Array.from(r.finalGaps) });

describe('evolution strategy', () => {
  it.each(['ranked', 'uniform'])('is deterministic per seed on 1 and 2 workers and resumes to the same populations (%s proposals)', async (proposals) => {
    const s = await setup();
    const cfg = { ...config, strategyOptions: { ...config.strategyOptions, proposals } };
    const input = (over: Partial<SearchInput>): SearchInput => ({ ...s, strategy: evolution, config: cfg, workers: 1, ...over });
    const unpatched = s.model.logprobs([1, 2, 3, 4]).slice();
    const arena = s.model.engine.mark();
    const populations = (into: string[]) => (e: { message?: string }) => {
      if (e.message?.includes('population')) into.push(e.message);
    };

    const log: CheckpointRecord[] = [];
    const pops1: string[] = [];
    const one = await runSearch(input({ checkpoint: { append: (r) => log.push(structuredClone(r)) }, onProgress: populations(pops1) }));
    const pops2: string[] = [];
    const two = await runSearch(input({ workers: 2, onProgress: populations(pops2) }));
    expect(one.flips.length).toBeGreaterThan(0);
    expect(summary(two)).toEqual(summary(one));
    expect(pops2).toEqual(pops1);
    expect(pops1).toHaveLength(cfg.iterations * 2);
    // every accepted step raises the patch's fitness against the original model
    let last = 0;
    for (const h of one.history) {
      expect(h.fitness).toBeGreaterThan(last);
      last = h.fitness;
    }
    expect(one.fitness).toBe(last);

    // "kill" after two steps; the resumed search rebuilds the populations of steps 3.. exactly
    const abort = new AbortController();
    const partial: CheckpointRecord[] = [];
    await runSearch(input({ checkpoint: { append: (r) => { partial.push(structuredClone(r)); if (partial.length === 3) abort.abort(); } }, signal: abort.signal }));
    expect(partial).toEqual(log.slice(0, 3));
    const popsR: string[] = [];
    const resumed = await runSearch(input({ workers: 2, resume: partial, checkpoint: { append: (r) => partial.push(structuredClone(r)) }, onProgress: populations(popsR) }));
    expect(summary(resumed)).toEqual(summary(one));
    expect(partial).toEqual(log);
    expect(popsR).toEqual(pops1.slice(4));

    expect(s.model.logprobs([1, 2, 3, 4])).toEqual(unpatched);
    expect(s.model.engine.mark()).toBe(arena);
  });

  it('drops flips of the patch it starts from when that raises the fitness', async () => {
    const s = await setup();
    // an initial patch of random rows: mostly noise the evolution should shed
    const initialPatch = [3, 50, 99, 140, 201, 260].map((row) => ({ tensor: 'blk.3.ffn_gate', row }));
    const r = await runSearch({ ...s, strategy: evolution, config: { ...config, initialPatch, strategyOptions: { ...config.strategyOptions, 'drop-rate': 0.8 } }, workers: 2 });
    expect(r.fitness).toBeGreaterThan(r.initialFitness);
    expect(r.history.some((h) => (h.removed ?? []).length > 0)).toBe(true);
  });
});
