// The search estimate (`bankai search --dry-run`): the memory it counts is what the engine
// actually lays out, the work it counts follows the evaluator (caches, scored sequences, workers),
// the calibration measures something, and the CLI prints it without loading the weights.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEngine } from '@bankai/engine-wasm';
import { readGguf } from '@bankai/gguf';
import { fileSource } from '@bankai/gguf/node';
import { layoutRunner, Model, runnerBytes, weightEngineBytes } from '@bankai/model';
import { prepareProbes, tinyProbeSpec } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { planLayerCaches } from '@bankai/search';
import { calibrateEngine, estimateSearch, estimateSearchFromHeader, type EngineCalibration } from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';

const BIN = fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
// a made-up calibration: seconds proportional to the work, so relations are exact
const LINEAR: EngineCalibration = { layerSeconds: [{ n: 1, seconds: 1 }, { n: 32, seconds: 32 }], headSecondsPerPosition: 0.5, scoring: { margin: 0, logprob: 0 }, f32SecondsPerMac: 0, mlpStageShare: 0.25, variant: 'simd', seconds: 0 };

async function header() {
  const src = await fileSource(modelPath);
  try {
    return await readGguf(src);
  } finally {
    await src.close();
  }
}

describe('estimateSearch', () => {
  it('counts the engine bytes the weights and a runner really take', async () => {
    const h = await header();
    const e = await createEngine();
    const before = e.mark();
    const src = await fileSource(modelPath);
    const model = await Model.load(src, { engine: e });
    await src.close();
    // Model.load lays out the weights (and its staging buffer), then its own runner
    expect(weightEngineBytes(h, (r, c) => e.q1Layout(r, c).bytes)).toBe(e.mark() - before - runnerBytes(model.config, (n, c) => e.q8Bytes(n, c)));
    const at = e.mark();
    layoutRunner(e, model.config, { maxBatch: 40, maxContext: 40 });
    expect(e.mark() - at).toBe(runnerBytes(model.config, (n, c) => e.q8Bytes(n, c), { maxBatch: 40, maxContext: 40 }));
  });

  it('follows the evaluator: caches as runSearch picks them, later layers cheaper, workers share the capture', async () => {
    const h = await header();
    const target = (await readProbeFile(tinyProbeSpec('addition', 'SEARCH'))).probes;
    const control = (await readProbeFile(tinyProbeSpec('capital', 'CONTROL'))).probes;
    const base = { header: h, target, control, layers: [1, 2, 3], workers: 1, metric: 'competitor' as const, iterations: 4, evaluationsPerStep: 8, firstOrder: false, ownAnswers: false, calibration: LINEAR };
    const est = await estimateSearchFromHeader(base);
    const src = await fileSource(modelPath);
    const model = await Model.load(src);
    await src.close();
    const prepared = [...prepareProbes(model.tokenizer, target), ...prepareProbes(model.tokenizer, control)];
    // the competitor metric caches the correct answers only
    const scored = prepared.flatMap((p) => p.sequences.slice(0, p.correctTokens.length));
    expect(est.counts).toMatchObject({ probes: prepared.length, sequences: scored.length, cachedTokens: scored.reduce((n, s) => n + s.tokens.length - 1, 0) });
    const { nEmbd, nFf } = model.config;
    const residualBytes = est.counts.cachedTokens * nEmbd * 4;
    const stageBytes = est.counts.cachedTokens * (nEmbd + nFf) * 4;
    expect({ cacheLayers: est.cacheLayers, mlpLayers: est.mlpLayers }).toEqual(planLayerCaches({ layers: [1, 2, 3], projs: ['gate', 'up', 'down'], residualBytes, stageBytes, budgetBytes: 1 << 30 }));
    expect(est.mlpLayers).toEqual([1, 2, 3]);
    expect(est.memory.residualCaches).toBe(residualBytes * 3);
    expect(est.memory.mlpStages).toBe(stageBytes * 3);
    const heads = est.counts.scoredPositions * 0.5;
    const per = est.seconds.perEvaluation.map((x) => x.seconds);
    expect(per[0]).toBeGreaterThan(per[1]!);
    expect(per[1]).toBeGreaterThan(per[2]!);
    // with the time linear in the work: from layer 1's MLP stage, a quarter layer and layers 2, 3 of every token; from 3's, a quarter
    expect(per[0]! - per[2]!).toBeCloseTo(2 * (per[2]! - heads) / 0.25, 6);
    // without the stages: from layer 1, three layers; from 3, one
    const noStage = await estimateSearchFromHeader({ ...base, mlpCache: false });
    expect(noStage.mlpLayers).toEqual([]);
    expect(noStage.memory.mlpStages).toBe(0);
    const perNo = noStage.seconds.perEvaluation.map((x) => x.seconds);
    expect(perNo[0]! - perNo[2]!).toBeCloseTo(2 * (perNo[2]! - heads), 6);
    expect(perNo[2]! - heads).toBeCloseTo((per[2]! - heads) / 0.25, 6);
    // attention projections do not start from a stage
    const attn = await estimateSearchFromHeader({ ...base, projs: ['q'] });
    expect(attn.mlpLayers).toEqual([]);
    expect(attn.seconds.perEvaluation).toEqual(noStage.seconds.perEvaluation);
    // one cache only: every candidate recomputes from layer 1
    const one = await estimateSearchFromHeader({ ...base, layerCacheBytes: 0 });
    expect(one.cacheLayers).toEqual([1]);
    expect(one.mlpLayers).toEqual([]);
    expect(one.seconds.perEvaluation.map((x) => x.seconds)).toEqual([perNo[0], perNo[0], perNo[0]]);
    // two workers capture in parallel and run a step's evaluations two at a time
    const two = await estimateSearchFromHeader({ ...base, workers: 2 });
    expect(two.seconds.residualCache).toBeCloseTo(est.seconds.residualCache / 2, 9);
    expect(two.seconds.perStep).toBeCloseTo(est.seconds.perStep / 2, 9);
    expect(est.seconds.total).toBeCloseTo(est.seconds.firstStep + 4 * est.seconds.perStep, 9);
  });

  it('calibrates on this machine: positive, finite seconds that grow with the batch', async () => {
    const src = await fileSource(modelPath);
    const model = await Model.load(src);
    await src.close();
    const cal = await calibrateEngine(model.config, { batches: [1, 16], repeats: 1 });
    expect(cal.layerSeconds.map((x) => x.n)).toEqual([1, 16]);
    for (const x of cal.layerSeconds) expect(x.seconds).toBeGreaterThan(0);
    expect(cal.layerSeconds[1]!.seconds).toBeGreaterThan(cal.layerSeconds[0]!.seconds);
    expect(Number.isFinite(cal.headSecondsPerPosition) && cal.headSecondsPerPosition >= 0).toBe(true);
    expect(cal.f32SecondsPerMac).toBeGreaterThan(0);
    expect(cal.mlpStageShare > 0 && cal.mlpStageShare < 1).toBe(true);
    expect(cal.scoring.margin).toBeGreaterThan(0);
    expect(cal.scoring.logprob).toBeGreaterThan(0);
    // estimateSearch itself is a plain function of its input
    const e = await createEngine();
    const probes = prepareProbes(model.tokenizer, (await readProbeFile(tinyProbeSpec('addition', 'SEARCH'))).probes);
    const input = {
      config: model.config, weightBytes: 1, target: probes, control: [], layers: [3], workers: 1, metric: 'seq_logprob' as const, iterations: 1,
      evaluationsPerStep: 1, firstOrder: true, ownAnswers: true, q8Bytes: (n: number, c: number) => e.q8Bytes(n, c), calibration: cal,
    };
    expect(estimateSearch(input)).toEqual(estimateSearch(input));
    expect(estimateSearch(input).seconds.ownAnswers).toBeGreaterThan(0);
    expect(estimateSearch(input).memory.backward).toBeGreaterThan(0);
  });
});

describe('bankai search --dry-run', () => {
  it('prints the estimate without --out (no weights loaded)', () => {
    const r = spawnSync(process.execPath, [BIN, 'search', '--dry-run', '--target', tinyProbeSpec('addition', 'SEARCH'), '--layers', '2,3', '--workers', '2'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^dry run: bankai-tiny-q1_0\.gguf \(4 layers/);
    expect(r.stdout).toMatch(/residual caches at layers 2,3/);
    expect(r.stdout).toMatch(/time to the first step: [\d.]+ s/);
    expect(r.stdout).toMatch(/one exact evaluation: layer 2 [\d.e-]+ s, layer 3 [\d.e-]+ s/);
    expect(r.stdout).toMatch(/engine memory: [\d,]+ MiB \(weights/);
  });

  it('names a bad --layers value', () => {
    const r = spawnSync(process.execPath, [BIN, 'search', '--dry-run', '--target', tinyProbeSpec('addition', 'SEARCH'), '--layers', '9'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--layers: layer 9 is outside 0\.\.3/);
  });
});
