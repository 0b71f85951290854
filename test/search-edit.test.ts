// The driver's patch editing on the shipped tiny model: a search can start from an initial patch
// (materialized before the baselines, fitness still against the original model) and remove
// accepted flips (a flip set toggles: flips in the patch are removed). Checked against searches
// that build the same patch by adding, against scoring the patched model from scratch, and after
// a kill + resume that has to replay removals exactly.
import { describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { Model, xorFlips } from '@bankai/model';
import { readProbeFile } from '@bankai/probes/node';
import { modelScorer, scoreProbes, tinyProbeSpec } from '@bankai/probes';
import {
  defineStrategy, fitness, Rng, runSearch,
  type Candidate, type CheckpointRecord, type SearchConfig, type SearchInput, type SearchResult,
  spearman,
} from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';

async function setup() {
  const src = await fileSource(modelPath);
  const model = await Model.load(src);
  await src.close();
  const add = (await readProbeFile(tinyProbeSpec('addition', 'SEARCH'))).probes.slice(0, 8);
  const cap = (await readProbeFile(tinyProbeSpec('capital', 'SEARCH'))).probes.slice(0, 8);
  const control = (await readProbeFile(tinyProbeSpec('multiplication', 'CONTROL'))).probes.slice(0, 8);
  const target = [...add.map((probe) => ({ probe, domain: 'addition' })), ...cap.map((probe) => ({ probe, domain: 'capital' }))];
  return { model, target, control };
}

const config: SearchConfig = {
  strategy: 'edit', strategyOptions: {}, seed: 3, iterations: 4, layers: [2, 3], projs: ['gate', 'up', 'down'],
  granularity: 'row', metric: 'competitor', lambda: 2, aggregate: 'mean', minGain: 0.02, targetMargin: 2, controlMargin: 2,
  ownAnswerDistractors: false,
};

const rows = (tensor: string, ...r: number[]): Candidate[] => r.map((row) => ({ tensor, row }));
const P = [...rows('blk.2.ffn_gate', 5, 40), ...rows('blk.3.ffn_up', 7), ...rows('blk.3.ffn_down', 100)];

/** Accepts the flip sets given per step, as they are (each toggles the patch). */
const scripted = (plan: Candidate[][][], seen?: { fitness: number[]; patchFitness: number[] }) => defineStrategy({
  name: 'scripted', description: 'test', options: {},
  async run(ctx) {
    for (const it of ctx.steps()) {
      for (const fs of plan[it] ?? []) {
        const [e] = await ctx.evaluate([fs]);
        await ctx.accept(e!);
        seen?.patchFitness.push(e!.patchFitness!);
        seen?.fitness.push(ctx.fitness);
      }
      ctx.rng.nextU32(); // the RNG moves too: resume must restore it
    }
  },
});

const summary = (r: SearchResult) => ({ flips: r.flips, fitness: r.fitness, initialFitness: r.initialFitness, history: r.history, finalGaps: Array.from(r.finalGaps) });

describe('runSearch: initial patch and removals', () => {
  it('starts from an initial patch: the same fitness and gaps as adding it, measured against the original model', async () => {
    const s = await setup();
    const input = (over: Partial<SearchInput>): SearchInput => ({ ...s, strategy: scripted([]), config, workers: 2, ...over });
    const unpatched = s.model.logprobs([1, 2, 3, 4]).slice();
    const arena = s.model.engine.mark();

    const seen = { fitness: [] as number[], patchFitness: [] as number[] };
    const added = await runSearch(input({ strategy: scripted([[P]], seen) }));
    const started = await runSearch(input({ config: { ...config, initialPatch: P } }));
    expect(started.flips).toEqual(P);
    expect(started.initialFitness).toBe(added.fitness);
    expect(started.fitness).toBe(added.fitness);
    expect(Array.from(started.finalGaps)).toEqual(Array.from(added.finalGaps));
    expect(Array.from(started.baseGaps)).toEqual(Array.from(added.baseGaps));
    // patchFitness of the evaluated set is the patch's fitness once accepted
    expect(seen.patchFitness).toEqual([added.fitness]);
    expect(seen.fitness).toEqual([added.fitness]);
    // the fitness is the fitness function on the final gaps against the original model's
    const nT = started.prepared.target.length;
    const domains = ['addition', 'capital'].map((d) => started.prepared.target.flatMap((p, i) => (s.target[p.index]!.domain === d ? [i] : [])));
    expect(fitness(started.finalGaps, started.baseGaps, nT, { lambda: 2, aggregate: 'mean', margin: 2, controlMargin: 2, domains }).fitness).toBe(started.fitness);
    // and the gaps are those of the patched model scored from scratch
    xorFlips(s.model, P);
    const gaps = scoreProbes(modelScorer(s.model), [...started.prepared.target, ...started.prepared.control], config.metric).map((x) => x.gap);
    xorFlips(s.model, P);
    expect(gaps).toEqual(Array.from(started.finalGaps));

    expect(s.model.logprobs([1, 2, 3, 4])).toEqual(unpatched);
    expect(s.model.engine.mark()).toBe(arena);
  });

  it('removes accepted flips (a flip set toggles), and a killed search resumes through removals to the same patch', async () => {
    const s = await setup();
    const extra = rows('blk.2.ffn_up', 9, 11);
    // step 0: remove one initial flip and add two; step 1: remove one of those, and remove then
    // re-add an initial flip (it keeps its place); step 2: swap; step 3: nothing
    const plan: Candidate[][][] = [
      [[P[1]!, ...extra]],
      [[extra[0]!], [P[0]!], [P[0]!]],
      [[P[2]!, ...rows('blk.3.ffn_gate', 3)]],
      [],
    ];
    const want = [P[0]!, P[3]!, extra[1]!, ...rows('blk.3.ffn_gate', 3)];
    const input = (over: Partial<SearchInput>): SearchInput => ({ ...s, strategy: scripted(plan), config: { ...config, initialPatch: P }, workers: 1, ...over });
    const log: CheckpointRecord[] = [];
    const full = await runSearch(input({ checkpoint: { append: (r) => log.push(structuredClone(r)) } }));
    expect(full.flips).toEqual(want);
    const steps = log.filter((r) => r.type === 'step');
    expect(steps.map((r) => [r.accepted, r.removed])).toEqual([
      [extra, [P[1]!]],
      [[], [extra[0]!]],
      [rows('blk.3.ffn_gate', 3), [P[2]!]],
      [[], undefined],
    ]);
    expect(full.history.map((h) => h.iteration)).toEqual([0, 1, 2]);
    // the same patch from scratch (no initial patch, no removals) has the same fitness and gaps
    const direct = await runSearch({ ...s, strategy: scripted([[want]]), config, workers: 2 });
    expect(full.fitness).toBe(direct.fitness);
    expect(Array.from(full.finalGaps)).toEqual(Array.from(direct.finalGaps));
    expect(full.initialFitness).toBe((await runSearch({ ...s, strategy: scripted([[P]]), config, workers: 1 })).fitness);

    // kill after two steps and resume: the same patch, order, log and initial fitness
    for (const cut of [2, 3]) {
      const abort = new AbortController();
      const partial: CheckpointRecord[] = [];
      await runSearch(input({ checkpoint: { append: (r) => { partial.push(structuredClone(r)); if (partial.length === cut) abort.abort(); } }, signal: abort.signal }));
      expect(partial).toEqual(log.slice(0, cut));
      const resumed = await runSearch(input({ workers: 2, resume: partial, checkpoint: { append: (r) => partial.push(structuredClone(r)) } }));
      expect(summary(resumed)).toEqual(summary(full));
      expect(partial).toEqual(log);
    }
  });

  it('refuses initial patches outside the space or with a flip twice, and a resume with another initial patch', async () => {
    const s = await setup();
    const run = (c: Partial<SearchConfig>, resume?: CheckpointRecord[]) => runSearch({ ...s, strategy: scripted([]), config: { ...config, ...c }, workers: 1, resume });
    await expect(run({ initialPatch: rows('blk.0.ffn_gate', 1) })).rejects.toThrow(/initial patch: blk\.0\.ffn_gate:1:-1 is not in the search space/);
    await expect(run({ initialPatch: [...P, P[0]!] })).rejects.toThrow(/appears twice/);
    await expect(run({ initialPatch: P }, [{ type: 'start', version: 1, config: { ...config, initialPatch: P.slice(1) } }])).rejects.toThrow(/different search \(initialPatch/);
  });

  it('firstOrder({ patch: true }) ranks every toggle, removals included, by predicted patch fitness', async () => {
    const s = await setup();
    let checked = false;
    let rho = NaN;
    const strategy = defineStrategy({
      name: 'probe', description: 'test', options: {},
      async run(ctx) {
        for (const _ of ctx.steps()) {
          const plain = await ctx.firstOrder();
          const patch = await ctx.firstOrder({ patch: true });
          const space = ctx.space;
          const inPatch = P.map((c) => space.indexOf(c));
          // accepted candidates: left out of the plain ranking, ranked as removals in the patch one
          for (const i of inPatch) {
            expect(plain.fitness[i]).toBe(-Infinity);
            expect(Number.isFinite(patch.fitness[i])).toBe(true);
          }
          expect(patch.order.length).toBe(space.size);
          expect(plain.order.length).toBe(space.size - P.length);
          // predicted against exact patch fitness: the 4 removals and 28 random additions
          const rng = new Rng(5);
          const cands = [...inPatch, ...Array.from({ length: 28 }, () => rng.int(space.size))];
          const exact = await ctx.evaluate(cands.map((i) => [space.candidate(i)]));
          rho = spearman(cands.map((i) => patch.fitness[i]!), exact.map((e) => e.patchFitness!));
          checked = true;
          break;
        }
      },
    });
    const r = await runSearch({ ...s, strategy, config: { ...config, initialPatch: P }, workers: 2 });
    expect(checked).toBe(true);
    expect(rho).toBeGreaterThan(0.7); // measured: 0.91
    expect(r.backwards).toBeGreaterThan(0);
    // with nothing accepted, the patch ranking is the plain one (the original model is the current one)
    let same = false;
    const fresh = defineStrategy({
      name: 'probe2', description: 'test', options: {},
      async run(ctx) {
        const a = await ctx.firstOrder();
        const b = await ctx.firstOrder({ patch: true });
        same = Array.from(a.fitness).every((x, i) => x === b.fitness[i]) && a.order.join() === b.order.join();
      },
    });
    await runSearch({ ...s, strategy: fresh, config, workers: 1 });
    expect(same).toBe(true);
  });
});
