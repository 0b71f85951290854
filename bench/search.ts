// Benchmark (not a test): patch-search throughput in candidate evaluations per second, every
// configuration measured in its own child process in one run, ratios against a reference row.
//
//   tiny model   the shipped @bankai/tiny-model; target = one skill's SEARCH set, control = that
//                skill's CONTROL set (correctly answered train examples of every other skill);
//                row flips of gate/up/down in the last two layers
//     evaluator  the Evaluator alone on the same seeded single-row candidates (targets and
//                controls scored): full re-evaluation (residuals cached at layer 0, every layer
//                recomputed) vs the residual cache at the first searched layer; 1 vs 2 workers
//     search     runSearch with the greedy strategy, same seed and budget: the default (cache
//                on, screening on, 1 worker) against cache off, screening off, 2 workers; evals/s
//                is the steady state between the end of the first step and the end of the last
//                (worker start-up, probe preparation and own-answer generation excluded)
//   1.7B shape   a random model of the Bonsai-1.7B shape (generated into bench/out/ if missing),
//                a few short made-up probes, the Evaluator alone, cache off vs on over the last
//                two layers: the case the cache is for (recomputing 2 of 28 layers, not 28)
//
// Every result is checked, not assumed: the cache and the worker count must not change a gap,
// and screening must not change the patch (the tables say whether they did).
// Usage: npx tsx bench/search.ts [--skill multiplication --candidates 24 --iters 12 --batch 8
//                                 --big-candidates 3 --models tiny,1.7b --repeat 3]
// Each row runs --repeat times (fresh children, interleaved): the median is shown with the range.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';

helpAndExit(import.meta.url);

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    model: { type: 'string', default: 'tiny' },
    cache: { type: 'string', default: 'on' },
    screen: { type: 'string', default: 'on' },
    workers: { type: 'string', default: '1' },
    skill: { type: 'string', default: 'multiplication' },
    candidates: { type: 'string', default: '24' },
    'big-candidates': { type: 'string', default: '3' },
    iters: { type: 'string', default: '12' },
    batch: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    models: { type: 'string', default: 'tiny,1.7b' },
    repeat: { type: 'string', default: '3' },
  },
});
const SEED = Number(args.seed);
const TINY_LAYERS = [2, 3]; // the last two of the tiny model's 4
const PROJS = ['gate', 'up', 'down'] as const;

/** Short made-up probes for the random 1.7B-shaped model (its answers are noise: only speed counts). */
const BIG_TARGET = [
  { name: 'big_t0', category: 'made-up', prompt: 'Q: what is the capital of France? A:', correct: ' Paris', wrong: ' Rome' },
  { name: 'big_t1', category: 'made-up', prompt: 'Q: what is two plus two? A:', correct: ' four', wrong: ' five' },
];
const BIG_CONTROL = [
  { name: 'big_c0', category: 'made-up', prompt: 'The sun rises in the', correct: ' east', wrong: ' west' },
  { name: 'big_c1', category: 'made-up', prompt: 'The cat sat on the', correct: ' mat', wrong: ' log' },
];

// ---- child: shared setup ------------------------------------------------------------------------
async function loadModel(path: string) {
  const { fileSource } = await import('@bankai/gguf/node');
  const { Model } = await import('@bankai/model');
  const src = await fileSource(path);
  const model = await Model.load(src, { maxContext: 64 });
  await src.close();
  return model;
}

async function tinyProbes(skill: string) {
  const { readProbeFile } = await import('@bankai/probes/node');
  const { tinyProbeSpec } = await import('@bankai/probes');
  const target = (await readProbeFile(tinyProbeSpec(skill as never, 'SEARCH'))).probes;
  const control = (await readProbeFile(tinyProbeSpec(skill as never, 'CONTROL'))).probes;
  return { target, control };
}

// ---- child: the Evaluator alone -----------------------------------------------------------------
async function evaluatorChild(modelPath: string, big: boolean, cache: boolean, workers: number, n: number) {
  const { prepareProbes } = await import('@bankai/probes');
  const { CandidateSpace, Evaluator, Rng } = await import('@bankai/search');
  const model = await loadModel(modelPath);
  const { target: tp, control: cp } = big ? { target: BIG_TARGET, control: BIG_CONTROL } : await tinyProbes(args.skill!);
  const target = prepareProbes(model.tokenizer, tp);
  const control = prepareProbes(model.tokenizer, cp);
  const nLayer = model.config.nLayer;
  const layers = big ? [nLayer - 2, nLayer - 1] : TINY_LAYERS;
  const space = new CandidateSpace(model, { layers, projs: [...PROJS], granularity: 'row' });
  const t0 = performance.now();
  const ev = await Evaluator.create(model, target, control, { workers, metric: 'seq_logprob', firstLayer: cache ? space.firstLayer : 0 });
  // start every worker (one empty task each) before the clock runs
  await ev.evaluate(Array.from({ length: workers }, () => ({ flips: [], part: 'all' as const })));
  const setupSeconds = (performance.now() - t0) / 1000;
  const rng = new Rng(SEED);
  const tasks = Array.from({ length: n }, () => ({ flips: [space.candidate(rng.int(space.size))], part: 'all' as const }));
  const t1 = performance.now();
  const results = await ev.evaluate(tasks);
  const seconds = (performance.now() - t1) / 1000;
  await ev.destroy();
  const sequences = [...target, ...control].reduce((s, p) => s + p.sequences.length, 0);
  const tokens = [...target, ...control].reduce((s, p) => s + p.sequences.reduce((a, q) => a + q.tokens.length - 1, 0), 0);
  return {
    evaluations: n, seconds, setupSeconds, nTarget: target.length, nControl: control.length, sequences, tokens,
    firstLayer: cache ? space.firstLayer : 0, layers, nLayer,
    gaps: results.map((r) => Array.from(r.gaps)),
  };
}

// ---- child: a greedy search ---------------------------------------------------------------------
async function searchChild(modelPath: string, cache: boolean, screen: boolean, workers: number) {
  const { runSearch } = await import('@bankai/search');
  const greedy = (await import('@bankai/strategy-greedy')).default;
  const model = await loadModel(modelPath);
  const { target, control } = await tinyProbes(args.skill!);
  const marks: { t: number; evaluations: number }[] = [];
  const r = await runSearch({
    model,
    target: target.map((probe) => ({ probe, domain: args.skill! })),
    control,
    strategy: greedy,
    config: {
      strategy: 'greedy', strategyOptions: { batch: Number(args.batch), screen }, seed: SEED, iterations: Number(args.iters),
      layers: TINY_LAYERS, projs: [...PROJS], granularity: 'row', metric: 'seq_logprob', lambda: 1, aggregate: 'mean',
      minGain: 0.02, ownAnswerDistractors: true,
    },
    workers,
    residualCache: cache,
    // one event per finished step
    onProgress: (e) => {
      if (e.message === undefined) marks.push({ t: performance.now(), evaluations: e.evaluations });
    },
  });
  const first = marks[0]!;
  const last = marks[marks.length - 1]!;
  return {
    evaluations: last.evaluations - first.evaluations,
    seconds: (last.t - first.t) / 1000,
    steps: marks.length - 1,
    totalEvaluations: r.evaluations,
    totalSeconds: r.seconds,
    flips: r.flips,
    fitness: r.fitness,
  };
}

if (args.child) {
  const cache = args.cache === 'on';
  const result = args.child === 'search'
    ? await searchChild(args.model!, cache, args.screen === 'on', Number(args.workers))
    : await evaluatorChild(args.model!, args.child === 'evaluator-big', cache, Number(args.workers),
      Number(args.child === 'evaluator-big' ? args['big-candidates'] : args.candidates));
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

// ---- parent -------------------------------------------------------------------------------------
type Kind = 'evaluator' | 'evaluator-big' | 'search';
interface RowOptions { cache: boolean; screen?: boolean; workers: number }

function child(kind: Kind, model: string, o: RowOptions): any {
  const argv = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', kind, '--model', model,
    '--cache', o.cache ? 'on' : 'off', '--screen', o.screen === false ? 'off' : 'on', '--workers', String(o.workers),
    '--skill', args.skill!, '--candidates', args.candidates!, '--big-candidates', args['big-candidates']!,
    '--iters', args.iters!, '--batch', args.batch!, '--seed', args.seed!];
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 26, cwd: here });
  if (r.status !== 0) throw new Error(`${kind} child failed (${JSON.stringify(o)}):\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const rate = (r: any) => r.evaluations / r.seconds;
const REPEAT = Number(args.repeat);

/** Every row --repeat times, rounds interleaved (a slow spell of the machine hits all rows alike); per row the median run and the min..max rate. */
function measureRows<R extends RowOptions>(kind: Kind, model: string, rows: R[]): (R & { r: any; range: string })[] {
  const runs: any[][] = rows.map(() => []);
  for (let k = 0; k < REPEAT; k++) rows.forEach((row, i) => runs[i]!.push(child(kind, model, row)));
  return rows.map((row, i) => {
    const sorted = runs[i]!.sort((a, b) => rate(a) - rate(b));
    return { ...row, r: sorted[Math.floor((sorted.length - 1) / 2)], range: `${rate(sorted[0]).toFixed(2)}..${rate(sorted[sorted.length - 1]).toFixed(2)}` };
  });
}
const f2 = (x: number) => x.toFixed(2);
/** Largest |difference| between two runs' gap lists (0 when bit-identical). */
function maxGapDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((g, j) => { m = Math.max(m, Math.abs(g - b[i]![j]!)); }));
  return m;
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

console.log(`# Patch-search throughput  ${cpus()[0]?.model} x${cpus().length}, node ${process.version}, load average ${load()}`);
console.log(`# seed ${SEED}; every row is its own child process; row flips of ${PROJS.join(',')}; metric seq_logprob\n`);

const models = args.models!.split(',');
if (models.includes('tiny')) {
  const { modelPath } = await import('@bankai/tiny-model');
  const skill = args.skill!.toUpperCase();
  const evalRows = measureRows('evaluator', modelPath, [
    { label: 'full re-evaluation (cache at layer 0), 1 worker', cache: false, workers: 1 },
    { label: 'residual cache at layer 2, 1 worker', cache: true, workers: 1 },
    { label: 'full re-evaluation (cache at layer 0), 2 workers', cache: false, workers: 2 },
    { label: 'residual cache at layer 2, 2 workers', cache: true, workers: 2 },
  ]);
  const ref = evalRows[0]!.r;
  console.log(`## tiny model: target ${skill}_SEARCH (${ref.nTarget} probes), control ${skill}_CONTROL (${ref.nControl} probes); layers ${TINY_LAYERS.join(',')} of ${ref.nLayer}`);
  console.log(`### Evaluator alone: ${args.candidates} seeded single-row candidates, targets + controls (${ref.sequences} sequences, ${ref.tokens} tokens each)`);
  console.log(`| configuration | evals/s (median of ${REPEAT}) | range | vs full re-evaluation, 1 worker | max abs gap difference vs that row |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const { label, r, range } of evalRows) console.log(`| ${label} | ${f2(rate(r))} | ${range} | ${f2(rate(r) / rate(ref))}x | ${maxGapDiff(r.gaps, ref.gaps)} |`);
  const cacheGain1 = rate(evalRows[1]!.r) / rate(evalRows[0]!.r);
  const cacheGain2 = rate(evalRows[3]!.r) / rate(evalRows[2]!.r);
  const workerGain = rate(evalRows[3]!.r) / rate(evalRows[1]!.r);
  console.log(`cache on / off: ${f2(cacheGain1)}x (1 worker), ${f2(cacheGain2)}x (2 workers); 2 / 1 workers with the cache: ${f2(workerGain)}x\n`);

  const searchRows = measureRows('search', modelPath, [
    { label: 'default: cache on, screening on, 1 worker', cache: true, screen: true, workers: 1 },
    { label: 'cache off (every layer recomputed)', cache: false, screen: true, workers: 1 },
    { label: 'screening off (controls scored for every candidate)', cache: true, screen: false, workers: 1 },
    { label: '2 workers', cache: true, screen: true, workers: 2 },
  ]);
  const sref = searchRows[0]!.r;
  console.log(`### greedy search (runSearch): ${args.iters} steps x batch ${args.batch}, min-gain 0.02, lambda 1, own-answer distractors; steady state after step 1`);
  console.log(`| configuration | evals/s (median of ${REPEAT}) | range | vs default | evaluations timed | seconds timed | whole run: evaluations / seconds | flips | same patch as default |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const { label, r, range } of searchRows) {
    const same = JSON.stringify(r.flips) === JSON.stringify(sref.flips) && r.fitness === sref.fitness;
    console.log(`| ${label} | ${f2(rate(r))} | ${range} | ${f2(rate(r) / rate(sref))}x | ${r.evaluations} | ${f2(r.seconds)} | ${r.totalEvaluations} / ${f2(r.totalSeconds)} | ${r.flips.length} | ${same ? 'yes' : 'NO'} |`);
  }
  console.log('');
}

if (models.includes('1.7b')) {
  const outDir = join(here, 'out');
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, 'bonsai-1.7b.gguf');
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path} ...\n`);
    const { presetOptions } = await import('@bankai/model-gen');
    const { writeQwen3File } = await import('@bankai/model-gen/node');
    await writeQwen3File(path, presetOptions('bonsai-1.7b', { seed: 1 }));
  }
  const [offRow, onRow] = measureRows('evaluator-big', path, [{ cache: false, workers: 1 }, { cache: true, workers: 1 }]);
  const off = offRow!.r;
  const on = onRow!.r;
  console.log(`## random Bonsai-1.7B shape (bench/out/bonsai-1.7b.gguf): ${off.nTarget} target + ${off.nControl} control made-up probes (${off.sequences} sequences, ${off.tokens} tokens); layers ${on.layers.join(',')} of ${on.nLayer}, 1 worker`);
  console.log(`| configuration | evals/s (median of ${REPEAT}) | range | seconds / eval | vs full re-evaluation | setup seconds (capture + worker start) | max abs gap difference |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [label, r, range] of [['full re-evaluation (cache at layer 0)', off, offRow!.range], [`residual cache at layer ${on.firstLayer}`, on, onRow!.range]] as const) {
    const common = Math.min(r.gaps.length, off.gaps.length);
    console.log(`| ${label} | ${rate(r).toFixed(3)} | ${range} | ${f2(r.seconds / r.evaluations)} | ${f2(rate(r) / rate(off))}x | ${f2(r.setupSeconds)} | ${maxGapDiff(r.gaps.slice(0, common), off.gaps.slice(0, common))} |`);
  }
  console.log('');
}
console.log(`# load average at the end ${load()} (2 shared cores: other work running at the same time lowers every row)`);
