// The search driver on the shipped tiny model: the same seed gives the identical flip list and
// fitness values with 1 and 2 workers and after an interrupted run is resumed from its log;
// accepted flips only ever raise the fitness; the model comes back unchanged.
import { describe, expect, it } from 'vitest';
import { bytesSource, memorySink } from '@bankai/gguf';
import { fileSource } from '@bankai/gguf/node';
import { generateQwen3, presetOptions } from '@bankai/model-gen';
import { Model, xorFlips } from '@bankai/model';
import { readProbeFile } from '@bankai/probes/node';
import { modelScorer, scoreProbes, tinyProbeSpec } from '@bankai/probes';
import greedy from '@bankai/strategy-greedy';
import guided from '@bankai/strategy-guided';
import { fitness, runSearch, stratumWeights, validationPValue, type CheckpointRecord, type SearchConfig, type SearchInput } from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';
import { watchStrategy } from './watch-strategy.js';

async function setup() {
  const src = await fileSource(modelPath);
  const model = await Model.load(src);
  await src.close();
  const target = (await readProbeFile(tinyProbeSpec('multiplication', 'SEARCH'))).probes.slice(0, 12);
  const control = [
    ...(await readProbeFile(tinyProbeSpec('addition', 'CONTROL'))).probes,
    ...(await readProbeFile(tinyProbeSpec('derivative', 'CONTROL'))).probes,
    ...(await readProbeFile(tinyProbeSpec('capital', 'CONTROL'))).probes,
  ].slice(0, 12);
  return { model, target: target.map((probe) => ({ probe, domain: 'multiplication' })), control };
}

const config: SearchConfig = {
  strategy: 'greedy', strategyOptions: { batch: 4 }, seed: 7, iterations: 6, layers: [2, 3], projs: ['gate', 'up', 'down'],
  granularity: 'row', metric: 'seq_logprob', lambda: 1, aggregate: 'mean', minGain: 0.001, ownAnswerDistractors: true,
};

function summary(r: Awaited<ReturnType<typeof runSearch>>) {
  return { flips: r.flips, fitness: r.fitness, history: r.history, finalGaps: Array.from(r.finalGaps) };
}

// the gradient-guided strategy with the competitor metric: rankings from backward passes, batches
// of verifications, several accepts per step
const guidedConfig: SearchConfig = {
  ...config, strategy: 'guided', strategyOptions: { verify: 4, 'per-step': 2 }, metric: 'competitor', targetMargin: 2, controlMargin: 2, validation: 0.25,
};

// the same, scoring answers (sigmoid of the gap, summed) with right and wrong targets weighed as a
// population the model gets 60% right
const accuracyConfig: SearchConfig = {
  ...guidedConfig, targetMargin: undefined, controlMargin: undefined, objective: 'accuracy', temperature: 1, passRate: 0.6, minGain: 0.01,
};

describe.each([
  ['greedy', greedy, config],
  ['guided', guided, guidedConfig],
  ['guided, accuracy objective', guided, accuracyConfig],
] as const)('runSearch (%s)', (_name, strategy, config) => {
  it('gives the same patch on 1 and 2 workers, without the residual cache, and after a kill + resume', async () => {
    const s = await setup();
    const input = (over: Partial<SearchInput>): SearchInput => ({ ...s, strategy, config, workers: 1, ...over });
    const unpatched = s.model.logprobs([1, 2, 3, 4]).slice();
    const arena = s.model.engine.mark();

    const log1: CheckpointRecord[] = [];
    const one = await runSearch(input({ checkpoint: { append: (r) => log1.push(structuredClone(r)) } }));
    const two = await runSearch(input({ workers: 2 }));
    expect(one.flips.length).toBeGreaterThan(0);
    expect(summary(two)).toEqual(summary(one));
    // recomputing every layer instead of resuming from the cached residual changes nothing
    const uncached = await runSearch(input({ residualCache: false }));
    expect(summary(uncached)).toEqual(summary(one));
    // nor does caching only the first searched layer (instead of every searched layer), every
    // sequence whole on one worker (instead of the scored ones, each prompt once, on all workers)
    const firstOnly = await runSearch(input({ layerCacheBytes: 0, residualCapture: 'plain' }));
    expect(summary(firstOnly)).toEqual(summary(one));
    // accepted flips only ever raise the cumulative fitness
    for (let i = 1; i < one.history.length; i++) expect(one.history[i]!.fitness).toBeGreaterThan(one.history[i - 1]!.fitness);
    expect(one.fitness).toBeGreaterThan(0);

    // "kill" after the third step: the log holds start + 3 steps; resume from it
    const abort = new AbortController();
    const partial: CheckpointRecord[] = [];
    await runSearch(input({
      checkpoint: { append: (r) => { partial.push(structuredClone(r)); if (partial.length === 4) abort.abort(); } },
      signal: abort.signal,
    }));
    expect(partial.filter((r) => r.type === 'step')).toHaveLength(3);
    expect(partial).toEqual(log1.slice(0, 4));
    const resumed = await runSearch(input({ resume: partial, checkpoint: { append: (r) => partial.push(structuredClone(r)) } }));
    expect(summary(resumed)).toEqual(summary(one));
    expect(partial).toEqual(log1);

    // the model is returned as it was, and the engine memory the searches laid out is free again
    expect(s.model.logprobs([1, 2, 3, 4])).toEqual(unpatched);
    expect(s.model.engine.mark()).toBe(arena);

    // the search's gaps (prompt shared, residual cache, virtual flips in workers) are the gaps
    // `bankai eval` computes on the patched model, sequence by sequence from scratch, to the bit
    xorFlips(s.model, one.flips);
    const { target: t, control: c, validation: v } = one.prepared;
    const prepared = [...t, ...c, ...v.target, ...v.control];
    const evalGaps = scoreProbes(modelScorer(s.model), prepared, config.metric).map((x) => x.gap);
    xorFlips(s.model, one.flips);
    expect(evalGaps).toEqual(Array.from(one.finalGaps));
  });

});

describe('runSearch', () => {
  it('checkpoints a step whose strategy accepts and then leaves the loop (resume rebuilds the same patch)', async () => {
    const { defineStrategy } = await import('@bankai/search');
    const s = await setup();
    const acceptThenStop = defineStrategy({
      name: 'accept-then-stop', description: 'accepts the best of 4 rows in step 0, then breaks out', options: {},
      async run(ctx) {
        for (const it of ctx.steps()) {
          const evals = await ctx.evaluate([0, 1, 2, 3].map((i) => [ctx.space.candidate(i + it)]));
          await ctx.accept(evals.reduce((a, b) => (b.fitness > a.fitness ? b : a)));
          break;
        }
      },
    });
    const log: CheckpointRecord[] = [];
    const cfg = { ...config, strategy: 'accept-then-stop', strategyOptions: {} };
    const first = await runSearch({ ...s, strategy: acceptThenStop, config: cfg, workers: 1, checkpoint: { append: (r) => log.push(structuredClone(r)) } });
    expect(first.flips).toHaveLength(1);
    expect(log.filter((r) => r.type === 'step')).toEqual([expect.objectContaining({ iteration: 0, accepted: first.flips })]);
    // resuming continues after step 0 with its flip in place: step 1 adds a second one
    const resumed = await runSearch({ ...s, strategy: acceptThenStop, config: cfg, workers: 1, resume: log });
    expect(resumed.flips.slice(0, 1)).toEqual(first.flips);
    expect(resumed.flips).toHaveLength(2);
  });

  it('reports the accuracy objective\'s fitness with targets weighed by the original model\'s right and wrong answers', async () => {
    const s = await setup();
    // failures first in the SEARCH set: its last probes are right answers
    const all = (await readProbeFile(tinyProbeSpec('multiplication', 'SEARCH'))).probes;
    const target = [...all.slice(0, 6), ...all.slice(-6)].map((probe) => ({ probe, domain: 'multiplication' }));
    const r = await runSearch({ ...s, target, strategy: guided, config: { ...accuracyConfig, validation: undefined }, workers: 1 });
    const nT = r.prepared.target.length;
    const right = r.baseCorrect.subarray(0, nT);
    expect(new Set(right).size).toBe(2); // both strata present: the weights are not all 1
    const opts = { lambda: 1, aggregate: 'mean', objective: 'accuracy', temperature: 1 } as const;
    const weighted = fitness(r.finalGaps, r.baseGaps, nT, { ...opts, targetWeights: stratumWeights(right, 0.6, [[0, nT], [nT, nT]]) });
    expect(r.fitness).toBeCloseTo(weighted.fitness, 12);
    expect(r.fitness).not.toBeCloseTo(fitness(r.finalGaps, r.baseGaps, nT, opts).fitness, 6);
  });

  it('with validation-alpha, accepts only flips whose validation p-value clears alpha / (candidates judged so far in the step)', async () => {
    const s = await setup();
    const target = (await readProbeFile(tinyProbeSpec('multiplication', 'SEARCH'))).probes.map((probe) => ({ probe, domain: 'multiplication' }));
    const run = async (alpha: number) => {
      const w = watchStrategy(guided);
      const strategyOptions = { ...accuracyConfig.strategyOptions, 'validation-alpha': alpha };
      const r = await runSearch({ ...s, target, strategy: w.strategy, config: { ...accuracyConfig, validation: 0.33, strategyOptions }, workers: 1 });
      return { flips: r.flips, accepted: w.steps.flatMap((st) => st.accepted.map((a) => ({ p: validationPValue(a.e.validation!), judged: a.judged }))) };
    };
    const free = await run(0);
    const barred = await run(0.5);
    expect(free.accepted.length).toBeGreaterThan(0);
    // without the bar some accepted flip would not have cleared it; with it, every one does
    // (re-verified winners count the candidates judged before them in the step, never fewer)
    expect(free.accepted.some((a) => a.p > 0.5 / a.judged)).toBe(true);
    for (const a of barred.accepted) expect(a.p).toBeLessThanOrEqual(0.5 / a.judged);
    expect(barred.flips).not.toEqual(free.flips);
    await expect(run(1.5)).rejects.toThrow(/validation-alpha must be a number in \[0, 1\]/);
  });

    it('refuses to resume a log written by a different search', async () => {
    const s = await setup();
    const resume: CheckpointRecord[] = [{ type: 'start', version: 1, config: { ...config, seed: 8 } }];
    await expect(runSearch({ ...s, strategy: greedy, config, workers: 1, resume })).rejects.toThrow(/different search \(seed/);
  });
});

describe('runSearch on a small random model', () => {
  it('gives the same patch with per-layer residual caches and MLP stages, without the stages, with the first layer\'s residual only, and with none, on 1 and 2 workers', async () => {
    const sink = memorySink();
    await generateQwen3(presetOptions('small', { seed: 3 }), sink);
    const model = await Model.load(bytesSource(sink.bytes(), 'random-small.gguf'), { maxContext: 64 });
    const probes = (await readProbeFile(tinyProbeSpec('addition', 'SEARCH'))).probes;
    const s = { model, target: probes.slice(0, 8).map((probe) => ({ probe, domain: 'addition' })), control: probes.slice(8, 14) };
    const cfg: SearchConfig = { ...config, strategyOptions: { batch: 6 }, iterations: 5, layers: [0, 1, 3], projs: ['gate', 'down'], minGain: 0 };
    const input = (over: Partial<SearchInput>): SearchInput => ({ ...s, strategy: greedy, config: cfg, workers: 1, ...over });
    const cached = await runSearch(input({}));
    expect(cached.caches).toEqual({ cacheLayers: [0, 1, 3], mlpLayers: [0, 1, 3] });
    // flips accepted below the top cache: the caches (and stages) above them were recomputed
    expect(cached.flips.some((f) => !f.tensor.startsWith('blk.3.'))).toBe(true);
    expect(cached.timing.cacheRefresh).toBeGreaterThan(0);
    for (const over of [{ mlpCache: false }, { layerCacheBytes: 0 }, { residualCapture: 'plain' }, { residualCache: false }, { workers: 2 }] as Partial<SearchInput>[]) {
      const r = await runSearch(input(over));
      expect(summary(r), JSON.stringify(over)).toEqual(summary(cached));
      expect(r.caches.mlpLayers, JSON.stringify(over)).toEqual(over.workers || over.residualCapture ? [0, 1, 3] : []);
    }
  });
});

describe('planLayerCaches', () => {
  it('adds MLP stages, highest layer first, with what the residual caches leave of the budget, when MLP projections are searched', async () => {
    const { planLayerCaches } = await import('@bankai/search');
    const plan = (budgetBytes: number, projs: ('gate' | 'up' | 'down' | 'q' | 'o')[] = ['gate', 'up', 'down'], mlpCache?: boolean) =>
      planLayerCaches({ layers: [34, 1, 2, 3, 4], projs, residualBytes: 10, stageBytes: 40, budgetBytes, ...(mlpCache === undefined ? {} : { mlpCache }) });
    expect(plan(0)).toEqual({ cacheLayers: [1], mlpLayers: [] });
    expect(plan(25)).toEqual({ cacheLayers: [1, 4, 34], mlpLayers: [] }); // 20 for residuals, 5 left
    expect(plan(60)).toEqual({ cacheLayers: [1, 2, 3, 4, 34], mlpLayers: [] });
    expect(plan(80)).toEqual({ cacheLayers: [1, 2, 3, 4, 34], mlpLayers: [34] });
    expect(plan(1000)).toEqual({ cacheLayers: [1, 2, 3, 4, 34], mlpLayers: [1, 2, 3, 4, 34] });
    expect(plan(1000, ['q', 'o'])).toEqual({ cacheLayers: [1, 2, 3, 4, 34], mlpLayers: [] });
    expect(plan(1000, ['gate'], false)).toEqual({ cacheLayers: [1, 2, 3, 4, 34], mlpLayers: [] });
  });
});

describe('chooseCacheLayers', () => {
  it('always caches the first layer, then the widest gaps within the budget', async () => {
    const { chooseCacheLayers } = await import('@bankai/search');
    expect(chooseCacheLayers([34, 1, 2, 3, 4], 10, 0)).toEqual([1]);
    expect(chooseCacheLayers([34, 1, 2, 3, 4], 10, 10)).toEqual([1, 34]);
    expect(chooseCacheLayers([34, 1, 2, 3, 4], 10, 25)).toEqual([1, 4, 34]);
    expect(chooseCacheLayers([1, 2, 3, 4, 34], 10, 1000)).toEqual([1, 2, 3, 4, 34]);
    expect(chooseCacheLayers([], 10, 1000)).toEqual([]);
  });
});

describe('Evaluator', () => {
  it('gives the same gaps from MLP stages as from residuals, for flips in a stage layer\'s MLP or attention, above it, and none; and after a refresh', async () => {
    const { Evaluator } = await import('@bankai/search');
    const { prepareProbes } = await import('@bankai/probes');
    const s = await setup();
    const target = prepareProbes(s.model.tokenizer, s.target.map((t) => t.probe));
    const control = prepareProbes(s.model.tokenizer, s.control);
    const tasks = [
      [],
      [{ tensor: 'blk.2.ffn_gate', row: 3 }],
      [{ tensor: 'blk.2.ffn_up', row: 3 }, { tensor: 'blk.2.ffn_gate', row: 3 }, { tensor: 'blk.2.ffn_gate', row: 40 }],
      [{ tensor: 'blk.2.ffn_down', row: 9 }, { tensor: 'blk.3.ffn_up', row: 100 }],
      [{ tensor: 'blk.2.ffn_gate', row: 5, group: 0 }],
      [{ tensor: 'blk.2.attn_q', row: 5 }, { tensor: 'blk.2.ffn_gate', row: 7 }],
      [{ tensor: 'blk.3.attn_o', row: 1 }],
      [{ tensor: 'blk.3.ffn_down', row: 11 }],
    ].map((flips) => ({ flips, part: 'all' as const }));
    const run = async (mlpLayers: number[]) => {
      const ev = await Evaluator.create(s.model, target, control, { workers: 1, metric: 'competitor', firstLayer: 2, cacheLayers: [2, 3], mlpLayers });
      try {
        const before = await ev.evaluate(tasks);
        // an accepted flip in layer 2's MLP: the stages at and above it are recomputed
        const rows = s.model.engine.alloc(4);
        s.model.engine.i32(rows, 1).set([77]);
        const gate = s.model.weights.layers[2]!.gate;
        if (gate.kind !== 'q1') throw new Error('expected 1-bit weights');
        s.model.engine.xorRows(gate.tensor, rows, 1);
        try {
          await ev.refresh(2);
          return { before, after: await ev.evaluate(tasks) };
        } finally {
          s.model.engine.xorRows(gate.tensor, rows, 1);
        }
      } finally {
        await ev.destroy();
      }
    };
    const plain = await run([]);
    expect(plain.after).not.toEqual(plain.before);
    expect(await run([2, 3])).toEqual(plain);
    expect(await run([3])).toEqual(plain);
  });

  it('replaces a crashed worker and retries its task: the results are those of an undisturbed run', async () => {
    const { Evaluator } = await import('@bankai/search');
    const { prepareProbes } = await import('@bankai/probes');
    const s = await setup();
    const target = prepareProbes(s.model.tokenizer, s.target.map((t) => t.probe));
    const control = prepareProbes(s.model.tokenizer, s.control);
    const ev = await Evaluator.create(s.model, target, control, { workers: 2, metric: 'seq_logprob', firstLayer: 2 });
    try {
      // 8 tasks on 2 workers: when one worker is killed, it is busy (the queue holds more)
      const tasks = [3, 9, 27, 81, 100, 200, 300, 383].map((row) => ({ flips: [{ tensor: 'blk.3.ffn_gate', row }], part: 'all' as const }));
      const calm = await ev.evaluate(tasks);
      const pending = ev.evaluate(tasks);
      // kill one worker thread while the batch runs
      const threads = (ev as unknown as { pool: { piscina: { threads: { terminate(): Promise<number> }[] } } }).pool.piscina.threads;
      await threads[0]!.terminate();
      expect(await pending).toEqual(calm);
      expect(ev.retries).toBeGreaterThanOrEqual(1);
    } finally {
      await ev.destroy();
    }
  });
});
