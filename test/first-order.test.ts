// First-order predictions (one backward pass per probe answer) against exact evaluations of
// virtual flips on the shipped tiny model: the predicted gap change of every probe ranks with
// the exact one (Spearman), for row and group flips, and the backward's gaps are the evaluator's
// to the bit. The backward pass itself is checked against finite differences in
// packages/model/src/backward.test.ts.
import { describe, expect, it } from 'vitest';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { readProbeFile } from '@bankai/probes/node';
import { prepareProbes, tinyProbeSpec, type Metric } from '@bankai/probes';
import { CandidateSpace, Evaluator, FirstOrderModel, Rng, type Granularity, type Projection } from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';
import { spearman } from './stats.js';

const cases: [Granularity, Metric, Projection[]][] = [
  ['row', 'competitor', ['gate', 'up', 'down', 'q', 'k', 'v', 'o']],
  ['row', 'seq_logprob', ['gate', 'up', 'down', 'q', 'k', 'v', 'o']],
  ['group', 'competitor', ['gate', 'down']],
];

describe('FirstOrderModel', () => {
  it.each(cases)('ranks %s flips like exact evaluation (%s metric)', async (granularity, metric, projs) => {
    const src = await fileSource(modelPath);
    const model = await Model.load(src);
    await src.close();
    const arena = model.engine.mark();
    const target = prepareProbes(model.tokenizer, (await readProbeFile(tinyProbeSpec('addition', 'SEARCH'))).probes.slice(0, 16));
    const control = prepareProbes(model.tokenizer, (await readProbeFile(tinyProbeSpec('capital', 'SEARCH'))).probes.slice(0, 12));
    const space = new CandidateSpace(model, { layers: [0, 1, 2, 3], projs, granularity });
    const ev = await Evaluator.create(model, target, control, { workers: 2, metric, firstLayer: 0 });
    const fo = new FirstOrderModel(model, space, [...target, ...control], metric);
    try {
      const fx = fo.compute();
      const [base] = await ev.evaluate([{ flips: [], part: 'all' }]);
      expect(Array.from(fx.gaps)).toEqual(Array.from(base!.gaps));
      const rng = new Rng(5);
      const cands = Array.from({ length: 40 }, () => rng.int(space.size));
      const exact = await ev.evaluate(cands.map((c) => ({ flips: [space.candidate(c)], part: 'all' as const })));
      const predicted: number[] = [];
      const measured: number[] = [];
      exact.forEach((r, k) => {
        for (let i = 0; i < fx.nProbes; i++) {
          predicted.push(fx.deltas[i * space.size + cands[k]!]!);
          measured.push(r.gaps[i]! - base!.gaps[i]!);
        }
      });
      // measured here: 0.68-0.72 (a flip negates a whole channel: first order is a guide, not exact)
      expect(spearman(predicted, measured)).toBeGreaterThan(0.5);
    } finally {
      fo.release();
      await ev.destroy();
    }
    expect(model.engine.mark()).toBe(arena);
  });
});
