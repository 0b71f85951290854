// Benchmark (not a test): Bankai against llama.cpp (node-llama-cpp 3.21.1, CPU) on random models
// of the real Bonsai 1.7B and 8B shapes, measured in one run on the same machine.
//
//   probe scoring  tokens/s over 32-token sequences (all-position logits); Bankai with 1 and 2
//                  workers scoring sequences in parallel, llama.cpp with 1 and 2 threads
//   decode         tokens/s, one token a step after an 8-token prompt (1 worker / 1 thread)
//   kernel         effective G binary MACs/s of Bankai's 1-bit matmuls while scoring
//   memory         peak RSS of the Bankai process after loading (one copy of the weights?)
//   relaxed SIMD   Bankai runs its relaxed-SIMD build (enableRelaxedSimd: Node 20 has it behind a
//                  flag); one more 1-worker scoring run on the plain SIMD build gives the ratio
//
// Every measurement runs in its own child process, so RSS and thread counts are its own.
// Usage: npm run bench [-- --models 1.7b,8b --seqs 4]   (models are generated into bench/out/)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';

const here = dirname(fileURLToPath(import.meta.url));
helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    model: { type: 'string' },
    workers: { type: 'string', default: '1' },
    models: { type: 'string', default: '1.7b,8b' },
    seqs: { type: 'string', default: '4' },
    'seq-len': { type: 'string', default: '32' },
    decode: { type: 'string', default: '16' },
    relaxed: { type: 'string', default: 'on' },
  },
});
const SEQS = Number(args.seqs);
const SEQ_LEN = Number(args['seq-len']);
const DECODE = Number(args.decode);
const PROMPT = 8;

/** The same token sequences for both engines (seeded LCG over the vocabulary). */
function sequences(vocab: number): { seqs: number[][]; prompt: number[] } {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % vocab);
  return {
    seqs: Array.from({ length: SEQS }, () => Array.from({ length: SEQ_LEN }, next)),
    prompt: Array.from({ length: PROMPT }, next),
  };
}

// ---- child: Bankai ------------------------------------------------------------------------------
async function bankaiChild(path: string, workers: number) {
  if (args.relaxed === 'on') (await import('@bankai/engine-wasm/node')).enableRelaxedSimd();
  const { fileSource } = await import('@bankai/gguf/node');
  const { Model, ScoringPool, generateGreedy } = await import('@bankai/model');
  const t0 = performance.now();
  const src = await fileSource(path);
  const model = await Model.load(src, { maxContext: 64, maxBatch: SEQ_LEN });
  await src.close();
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoad = process.resourceUsage().maxRSS * 1024;
  const c = model.config;
  const { seqs, prompt } = sequences(c.vocabSize);

  const pool = await ScoringPool.create(model, { workers, maxContext: 64, maxBatch: SEQ_LEN });
  await pool.scoreSequences([seqs[0]!.slice(0, 4)]); // start the workers
  const t1 = performance.now();
  await pool.scoreSequences(seqs);
  const scoreSeconds = (performance.now() - t1) / 1000;
  await pool.destroy();

  let decodeSeconds = 0;
  if (workers === 1) {
    generateGreedy(model.runner, prompt, { maxTokens: 1 });
    const r = model.runner;
    let logits = r.forward(prompt, PROMPT - 1);
    const t2 = performance.now();
    for (let i = 0; i < DECODE; i++) {
      let best = 0;
      for (let j = 1; j < logits.length; j++) if (logits[j]! > logits[best]!) best = j;
      logits = r.forward([best], 0);
    }
    decodeSeconds = (performance.now() - t2) / 1000;
  }
  // 1-bit MACs of scoring: every linear (and the output head) once per scored position
  const linear = c.nLayer * (c.nEmbd * (c.nHead + 2 * c.nHeadKv) * c.headDim + c.nHead * c.headDim * c.nEmbd + 3 * c.nEmbd * c.nFf);
  const macsPerToken = linear + c.nEmbd * c.vocabSize;
  // pool scoring runs forward(seq[0..n-2]) with logits everywhere
  const scoredTokens = SEQS * (SEQ_LEN - 1);
  return {
    variant: model.engine.variant, loadSeconds, rssAfterLoad, engineBytes: model.engine.byteLength, peakRss: process.resourceUsage().maxRSS * 1024,
    scoreSeconds, scoredTokens, decodeSeconds, decodeTokens: DECODE,
    gmacs: (macsPerToken * scoredTokens) / scoreSeconds / 1e9 / workers,
  };
}

// ---- child: llama.cpp ---------------------------------------------------------------------------
async function llamaChild(path: string, threads: number) {
  const { llamaBench } = await import('../test/llama/client.js');
  const { readGgufFile } = await import('@bankai/gguf/node');
  const header = await readGgufFile(path);
  const vocab = header.tensors.find((t) => t.name === 'token_embd.weight')!.shape[1]!;
  const { seqs, prompt } = sequences(vocab);
  return llamaBench(path, { seqs, promptTokens: prompt, decodeTokens: DECODE }, { threads, timeoutMs: 3_600_000 });
}

if (args.child) {
  const result = args.child === 'bankai' ? await bankaiChild(args.model!, Number(args.workers)) : await llamaChild(args.model!, Number(args.workers));
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

// ---- parent -------------------------------------------------------------------------------------
function child(kind: 'bankai' | 'llama', model: string, workers: number, relaxed = 'on'): any {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', kind, '--model', model,
    '--workers', String(workers), '--seqs', String(SEQS), '--seq-len', String(SEQ_LEN), '--decode', String(DECODE), '--relaxed', relaxed],
    { encoding: 'utf8', maxBuffer: 1 << 26, cwd: here });
  if (r.status !== 0) throw new Error(`${kind} child failed on ${model}:\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const presets: Record<string, string> = { '1.7b': 'bonsai-1.7b', '4b': 'bonsai-4b', '8b': 'bonsai-8b' };
const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });
const { presetOptions } = await import('@bankai/model-gen');
const { writeQwen3File } = await import('@bankai/model-gen/node');
const { cpus } = await import('node:os');
console.log(`# Bankai vs llama.cpp (node-llama-cpp 3.21.1, CPU)  ${cpus()[0]?.model} x${cpus().length}, node ${process.version}`);
console.log(`# ${SEQS} sequences of ${SEQ_LEN} tokens scored; decode ${DECODE} tokens after ${PROMPT}; random weights, real shapes\n`);
for (const key of args.models.split(',')) {
  const preset = presets[key];
  if (!preset) throw new Error(`unknown model ${key}: use ${Object.keys(presets).join(', ')}`);
  const path = join(outDir, `${preset}.gguf`);
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path} ...\n`);
    await writeQwen3File(path, presetOptions(preset as never, { seed: 1 }));
  }
  const b1 = child('bankai', path, 1);
  const b2 = child('bankai', path, 2);
  const l1 = child('llama', path, 1);
  const l2 = child('llama', path, 2);
  const p1 = child('bankai', path, 1, 'off');
  const tps = (r: any) => r.scoredTokens / r.scoreSeconds;
  const dps = (r: any) => r.decodeTokens / r.decodeSeconds;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const { statSync } = await import('node:fs');
  console.log(`## ${preset}  (file ${mib(statSync(path).size)})`);
  console.log(`| measure | Bankai | llama.cpp | Bankai / llama.cpp |`);
  console.log(`| --- | ---: | ---: | ---: |`);
  console.log(`| scoring tok/s, 1 worker / 1 thread | ${tps(b1).toFixed(2)} | ${tps(l1).toFixed(2)} | ${(tps(b1) / tps(l1)).toFixed(2)} |`);
  console.log(`| scoring tok/s, 2 workers / 2 threads | ${tps(b2).toFixed(2)} | ${tps(l2).toFixed(2)} | ${(tps(b2) / tps(l2)).toFixed(2)} |`);
  console.log(`| decode tok/s, 1 worker / 1 thread | ${dps(b1).toFixed(2)} | ${dps(l1).toFixed(2)} | ${(dps(b1) / dps(l1)).toFixed(2)} |`);
  console.log(`| scoring tok/s, 1 worker, Bankai's plain SIMD build (${p1.variant}) | ${tps(p1).toFixed(2)} | ${tps(l1).toFixed(2)} | ${(tps(p1) / tps(l1)).toFixed(2)} |`);
  console.log(`| Bankai ${b1.variant} / plain SIMD, scoring, 1 worker | ${(tps(b1) / tps(p1)).toFixed(2)} | | |`);
  console.log(`| Bankai 1-bit G binary MACs/s per worker while scoring (1 / 2 workers) | ${b1.gmacs.toFixed(1)} / ${b2.gmacs.toFixed(1)} | | |`);
  console.log(`| Bankai load: seconds; engine memory (weights + scratch); RSS after load; peak RSS (1 worker) | ${b1.loadSeconds.toFixed(1)} s; ${mib(b1.engineBytes)}; ${mib(b1.rssAfterLoad)}; ${mib(b1.peakRss)} | | |\n`);
}
