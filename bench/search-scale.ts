// Benchmark (not a test): patch search at Bonsai scale. For each model shape, upstream's 60-probe
// calculus set (probes-exp12-calculus.json#ALL_TRAIN) as targets, no controls, the competitor
// metric, row flips of gate/up/down, two layer sets: the second-to-last layer alone (34 on the
// 8B shape) and upstream's set (1,2,3,4 and that layer). Per (shape, workers, savings) one child
// process (engine memory never shrinks, so each gets its own) that
//   - loads the model (not counted in the first step),
//   - asks estimateSearchFromHeader (what `bankai search --dry-run` prints) for the same search,
//   - runs runSearch with a strategy that, in its first step, evaluates W candidates of each
//     measured layer at once (W = workers) a few times, then stops: time to first step is
//     SearchResult.timing.prepare (residual caches, worker start, baselines), seconds per exact
//     evaluation = batch wall time / W (throughput per evaluation),
//   - reports its peak RSS.
// "savings off" switches off what the scale work added: the residual caches at the searched layers
// above the first and the MLP stages (layerCacheBytes 0), the shared capture (every sequence
// whole, on one worker: residualCapture 'plain') and, on Node 20, the relaxed-SIMD engine
// (enableRelaxedSimd); "stages-off" only the MLP stages (mlpCache false: a candidate in a layer's
// gate / up / down recomputes the layer's attention and all of gate and up). All leave the patch
// bit-identical (test/search.test.ts, engine-wasm variants.test.ts). The one baseline evaluation
// instead of two (while nothing is accepted) is in all.
//
// Usage: npx tsx bench/search-scale.ts [--shapes tiny,1.7b,8b] [--dir DIR (default bench/out)]
//          [--workers 1,2] [--savings off,stages-off,on] | [--runs 1:off,1:on,2:on]  [--sets high,upstream] [--reps 2]
//          [--eval-layers all|LIST, e.g. 1,high] [--results FILE]      npx tsx bench/search-scale.ts --report FILE
// Each child's result is appended to --results (default DIR/search-scale.jsonl) as it finishes;
// --report FILE[,FILE] prints the tables of every result in the files (several runs together).
// The 1.7B / 8B files are generated into --dir when missing (bankai gen-model, seed 1).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';

const here = dirname(fileURLToPath(import.meta.url));
helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    shapes: { type: 'string', default: 'tiny,1.7b' },
    dir: { type: 'string', default: join(here, 'out') },
    workers: { type: 'string', default: '1,2' },
    savings: { type: 'string', default: 'off,on' },
    sets: { type: 'string', default: 'high,upstream' },
    reps: { type: 'string', default: '2' },
    'eval-layers': { type: 'string', default: 'all' },
    runs: { type: 'string' },
    results: { type: 'string' },
    report: { type: 'string' },
  },
});

const PROBES = join(here, '..', 'test', 'fixtures', 'upstream-bankai', 'probes-exp12-calculus.json#ALL_TRAIN');
const PRESET: Record<string, string> = { '1.7b': 'bonsai-1.7b', '8b': 'bonsai-8b' };

interface SetResult {
  set: string;
  layers: number[];
  firstStep: number;
  /** CPU seconds of the whole process (all threads) before the first step. */
  firstStepCpu?: number;
  estFirstStep: number;
  /** seconds: wall per evaluation (batch / W); cpu: CPU seconds per evaluation (all threads / W). */
  evals: { layer: number; seconds: number; est: number; cpu?: number }[];
  cacheLayers: number[];
  mlpLayers?: number[];
  estMemory: number;
}
interface ChildResult {
  shape: string;
  workers: number;
  savings: string;
  load: number;
  sets: SetResult[];
  peakRssMiB: number;
  engineMiB: number;
  calibration: number;
  variant: string;
}

// ---- child: one shape, one worker count, savings on or off --------------------------------------
async function child(spec: string): Promise<void> {
  const [shape, w, savings] = spec.split(':') as [string, string, string];
  const workers = Number(w);
  if (!['off', 'stages-off', 'on'].includes(savings)) throw new Error(`--savings: off, stages-off or on, got ${savings}`);
  if (savings !== 'off') (await import('@bankai/engine-wasm/node')).enableRelaxedSimd();
  const { fileSource } = await import('@bankai/gguf/node');
  const { Model } = await import('@bankai/model');
  const { readProbeFile } = await import('@bankai/probes/node');
  const { calibrateEngine, defineStrategy, estimateSearchFromHeader, runSearch } = await import('@bankai/search');
  const path = shape === 'tiny' ? (await import('@bankai/tiny-model')).modelPath : join(args.dir!, `${shape}.gguf`);
  const t0 = performance.now();
  const src = await fileSource(path);
  const model = await Model.load(src, { maxContext: 128 });
  await src.close();
  const load = (performance.now() - t0) / 1000;
  const probes = (await readProbeFile(PROBES)).probes;
  const nLayer = model.config.nLayer;
  const high = nLayer - 2;
  const sets: Record<string, number[]> = { high: [high], upstream: [...new Set([1, 2, 3, 4].filter((l) => l < high).concat([high]))] };
  const off = savings === 'off';
  const noStages = savings === 'stages-off' ? { mlpCache: false } : {};
  const calibration = await calibrateEngine(model.config);
  const reps = Number(args.reps);
  const out: SetResult[] = [];
  for (const name of args.sets!.split(',')) {
    const layers = sets[name]!;
    // 'all', or a list of layers where 'high' is the set's top layer (only those in the set)
    const measured = args['eval-layers'] === 'all' ? layers : args['eval-layers']!.split(',').map((x) => (x === 'high' ? high : Number(x))).filter((l) => layers.includes(l));
    const est = await estimateSearchFromHeader({
      header: model.header, target: probes, control: [], layers, workers, metric: 'competitor', iterations: 1,
      evaluationsPerStep: workers, firstOrder: false, ownAnswers: false, calibration,
      projs: ['gate', 'up', 'down'], ...(off ? { layerCacheBytes: 0 } : {}), ...noStages,
    });
    const evals: SetResult['evals'] = [];
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    const cpu0 = cpu();
    let firstStepCpu = 0;
    const strategy = defineStrategy({
      name: 'measure', description: 'times exact evaluations of W candidates per measured layer', options: {},
      async run(ctx) {
        firstStepCpu = cpu() - cpu0;
        for (const _ of ctx.steps()) {
          for (const layer of measured) {
            const t = ctx.space.tensors.find((x) => x.layer === layer && x.proj === 'gate')!;
            let best = Infinity;
            let bestCpu = Infinity;
            for (let r = 0; r < reps; r++) {
              const flips = Array.from({ length: workers }, (_, i) => [ctx.space.candidate(t.offset + 17 * (r * workers + i))]);
              const t1 = performance.now();
              const c1 = cpu();
              await ctx.evaluate(flips);
              best = Math.min(best, (performance.now() - t1) / 1000 / workers);
              bestCpu = Math.min(bestCpu, (cpu() - c1) / workers);
            }
            evals.push({ layer, seconds: best, cpu: bestCpu, est: est.seconds.perEvaluation.find((x) => x.layer === layer)!.seconds });
          }
          break;
        }
      },
    });
    const r = await runSearch({
      model, target: probes.map((probe) => ({ probe, domain: 'calculus' })), control: [], strategy, workers,
      config: {
        strategy: 'measure', strategyOptions: {}, seed: 1, iterations: 1, layers, projs: ['gate', 'up', 'down'], granularity: 'row',
        metric: 'competitor', lambda: 1, aggregate: 'mean', minGain: 0.02, ownAnswerDistractors: false,
      },
      ...(off ? { layerCacheBytes: 0, residualCapture: 'plain' as const } : {}), ...noStages,
    });
    out.push({
      set: name, layers, firstStep: r.timing.prepare, firstStepCpu, estFirstStep: est.seconds.firstStep, evals,
      cacheLayers: r.caches.cacheLayers, mlpLayers: r.caches.mlpLayers, estMemory: est.memory.total,
    });
  }
  const res: ChildResult = {
    shape, workers, savings, load, sets: out,
    peakRssMiB: process.resourceUsage().maxRSS / 1024, engineMiB: model.engine.memory.buffer.byteLength / 2 ** 20, calibration: calibration.seconds,
    variant: model.engine.variant,
  };
  console.log(JSON.stringify(res));
}

// ---- parent --------------------------------------------------------------------------------------
function ensureModel(shape: string): void {
  if (shape === 'tiny') return;
  const file = join(args.dir!, `${shape}.gguf`);
  if (existsSync(file)) return;
  mkdirSync(args.dir!, { recursive: true });
  console.log(`generating ${file} (${PRESET[shape]}, seed 1)...`);
  const g = spawnSync('npx', ['--no-install', 'bankai', 'gen-model', '--preset', PRESET[shape]!, '--out', file], { stdio: 'inherit' });
  if (g.status !== 0) throw new Error(`gen-model failed for ${shape}`);
}

function parent(): void {
  const shapes = args.shapes!.split(',');
  const results: ChildResult[] = [];
  const resultsFile = args.results ?? join(args.dir!, 'search-scale.jsonl');
  mkdirSync(dirname(resultsFile), { recursive: true });
  const runs = args.runs
    ? args.runs.split(',').map((r) => r.split(':') as [string, string])
    : args.workers!.split(',').flatMap((w) => args.savings!.split(',').map((s) => [w, s] as [string, string]));
  console.log(`search at scale: ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')} (a shared machine: compare ratios within this run)`);
  for (const shape of shapes) {
    ensureModel(shape);
    for (const [w, savings] of runs) {
      {
        const t = performance.now();
        const c = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', `${shape}:${w}:${savings}`,
          '--dir', args.dir!, '--sets', args.sets!, '--reps', args.reps!, '--eval-layers', args['eval-layers']!], { encoding: 'utf8', maxBuffer: 1 << 26 });
        if (c.status !== 0) {
          console.log(`${shape} ${w} worker(s), savings ${savings}: failed\n${c.stderr}`);
          continue;
        }
        const r = JSON.parse(c.stdout.trim().split('\n').pop()!) as ChildResult;
        results.push(r);
        appendFileSync(resultsFile, JSON.stringify({ ...r, at: new Date().toISOString(), loadavg: loadavg()[0] }) + '\n');
        console.log(`  ${shape}, ${w} worker(s), savings ${savings}: ${((performance.now() - t) / 1000).toFixed(0)} s in all (model load ${r.load.toFixed(1)} s)`);
      }
    }
  }
  report(results);
}

function report(results: ChildResult[]): void {
  const f = (s: number) => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));
  console.log('\n| shape | layers | workers | savings (engine) | first step s (est.) [CPU s] | s per exact eval by layer (est.) [CPU s] | peak RSS MiB | residuals at; MLP stages at |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const cpuOf = (x: number | undefined) => (x === undefined ? '' : ` [${f(x)}]`);
  for (const r of results) {
    for (const s of r.sets) {
      console.log(`| ${r.shape} | ${s.layers.join(',')} | ${r.workers} | ${r.savings} (${r.variant}) | ${f(s.firstStep)} (${f(s.estFirstStep)})${cpuOf(s.firstStepCpu)} | ${s.evals.map((e) => `L${e.layer} ${f(e.seconds)} (${f(e.est / r.workers)})${cpuOf(e.cpu)}`).join(', ')} | ${r.peakRssMiB.toFixed(0)} | ${s.cacheLayers.join(',')}; ${s.mlpLayers?.join(',') || '-'} |`);
    }
  }
  for (const ref of ['off', 'stages-off']) ratios(results, ref);
  estimates(results);
}

/** Ratios of the `ref` runs to the 'on' runs with the same shape, workers and layer set. */
function ratios(results: ChildResult[], ref: string): void {
  const pairs = results.filter((r) => r.savings === 'on').map((on) => [on, results.find((r) => r.savings === ref && r.shape === on.shape && r.workers === on.workers)] as const);
  if (!pairs.some(([, off]) => off)) return;
  console.log(`\nratios, savings ${ref} / on (same shape, workers and layer set):`);
  for (const [on, off] of pairs) {
    if (!off) continue;
    for (const s of on.sets) {
      const o = off.sets.find((x) => x.set === s.set);
      if (!o) continue;
      const evals = s.evals.map((e) => {
        const oe = o.evals.find((x) => x.layer === e.layer);
        return oe ? `L${e.layer} ${(oe.seconds / e.seconds).toFixed(2)}x` : '';
      }).join(', ');
      const cpuEvals = s.evals.map((e) => {
        const oe = o.evals.find((x) => x.layer === e.layer);
        return oe?.cpu !== undefined && e.cpu !== undefined ? `L${e.layer} ${(oe.cpu / e.cpu).toFixed(2)}x` : '';
      }).filter((x) => x).join(', ');
      const cpuFirst = o.firstStepCpu !== undefined && s.firstStepCpu !== undefined ? `; CPU seconds: first step ${(o.firstStepCpu / s.firstStepCpu).toFixed(2)}x${cpuEvals ? `, evaluation ${cpuEvals}` : ''}` : '';
      console.log(`  ${on.shape} layers ${s.layers.join(',')}, ${on.workers} worker(s): wall: first step ${(o.firstStep / s.firstStep).toFixed(2)}x, evaluation ${evals}, peak RSS ${(off.peakRssMiB / on.peakRssMiB).toFixed(2)}x${cpuFirst}`);
    }
  }
}

function estimates(results: ChildResult[]): void {
  // the estimate is calibrated in CPU seconds: compare it with CPU seconds where measured (all
  // threads; the first step's capture spreads over the workers), else with wall time
  console.log('\nestimate / actual (savings on; CPU seconds where measured, else wall):');
  for (const r of results.filter((x) => x.savings === 'on')) {
    for (const s of r.sets) {
      const first = s.firstStepCpu !== undefined ? `${(s.estFirstStep * r.workers / s.firstStepCpu).toFixed(2)} (CPU)` : `${(s.estFirstStep / s.firstStep).toFixed(2)} (wall)`;
      const ev = s.evals.map((e) => `L${e.layer} eval ${e.cpu !== undefined ? `${(e.est / e.cpu).toFixed(2)} (CPU)` : `${(e.est / r.workers / e.seconds).toFixed(2)} (wall)`}`).join(', ');
      console.log(`  ${r.shape} layers ${s.layers.join(',')}, ${r.workers} worker(s): first step ${first}, ${ev}`);
    }
  }
}

if (args.child) await child(args.child);
else if (args.report) report(args.report.split(',').flatMap((file) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ChildResult)));
else parent();
