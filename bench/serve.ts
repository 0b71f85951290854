// Benchmark (not a test): the cost of hot-swapping patches in `bankai serve`.
//
//   direct   Model.generate in process (greedy): the tokens/s the engine gives without a server
//   single   one client, one request at a time, through HTTP: the server's overhead per request
//   loads    N requests over HTTP, C in flight and one at a time: base only, and mixed (base + P
//            patches round robin). With C in flight the server groups waiting requests by patch;
//            one at a time, every mixed request swaps (the worst case). Each load runs --rounds
//            times, interleaved (this machine is shared: medians); requests/s, p50 / p99 latency,
//            swaps, swap time per patch (XOR alone, and the whole swap with validation), and the
//            mixed / base ratio of requests/s
//
// Usage: npx tsx bench/serve.ts [--model FILE] [--requests 240] [--concurrency 8] [--rounds 3]
//                               [--max-tokens 16] [--patches 3] [--flips 100] [--seed 1]
// Default model: the shipped tiny model (@bankai/tiny-model).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';
import { fileSource, sha256File } from '@bankai/gguf/node';
import { Model, modelShape, oneBitTensors } from '@bankai/model';
import { createManifest } from '@bankai/patch-format';
import { writePatchFile } from '@bankai/patch-format/node';
import { Rng } from '@bankai/rng';
import { startServer, type RunningServer } from '@bankai/serve/node';
import { modelPath } from '@bankai/tiny-model';

helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: modelPath },
    requests: { type: 'string', default: '240' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '16' },
    patches: { type: 'string', default: '3' },
    flips: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
  },
});
const N = Number(args.requests);
const C = Number(args.concurrency);
const MAX_TOKENS = Number(args['max-tokens']);
const P = Number(args.patches);
const PROMPTS = ['Q: what is 918+270? A:', 'Q: what is 23*7? A:', 'Q: derivative of 8x^3+2x^2+3? A:', 'Q: is 91 prime? A:', 'Q: which is larger, 29 or 83? A:'];

const src = await fileSource(args.model);
const model = await Model.load(src, { maxContext: 256 });
await src.close();
const sha256 = await sha256File(args.model);

// seeded patches of row and group flips over the layer tensors
const dir = mkdtempSync(join(tmpdir(), 'bankai-bench-serve-'));
const rng = new Rng(Number(args.seed), 12);
const layer = [...oneBitTensors(model.weights)].filter(([n]) => n.startsWith('blk.'));
for (let p = 0; p < P; p++) {
  const flips = Array.from({ length: Number(args.flips) }, (_, i) => {
    const [tensor, t] = layer[rng.int(layer.length)]!;
    return i % 4 === 3 ? { tensor, row: rng.int(t.rows), group: rng.int(t.groups) } : { tensor, row: rng.int(t.rows) };
  });
  await writePatchFile(join(dir, `p${p}.bkp`), createManifest({ provenance: { tool: 'bench' }, flips, model: modelShape(model, sha256) }));
}
const patchIds = Array.from({ length: P }, (_, p) => `p${p}`);

// ---- direct ---------------------------------------------------------------------------------
for (let i = 0; i < 60; i++) model.generate(PROMPTS[i % PROMPTS.length]!, { maxTokens: MAX_TOKENS, stopAtNewline: false }); // warm up
let directTokens = 0;
const t0 = performance.now();
for (let i = 0; i < 60; i++) directTokens += model.generate(PROMPTS[i % PROMPTS.length]!, { maxTokens: MAX_TOKENS, stopAtNewline: false }).tokens.length;
const directSeconds = (performance.now() - t0) / 1000;
console.log(`model ${args.model} (${model.config.nLayer} layers, n_embd ${model.config.nEmbd}); ${P} patches of ${args.flips} flips; ${MAX_TOKENS} tokens a request (no stop)`);
console.log(`direct   Model.generate in process: ${(directTokens / directSeconds).toFixed(0)} tokens/s (60 generations)`);

async function request(url: string, id: string, i: number): Promise<{ ms: number; tokens: number }> {
  const t = performance.now();
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: id, prompt: PROMPTS[i % PROMPTS.length], max_tokens: MAX_TOKENS, temperature: 0 }),
  });
  const j = (await r.json()) as { usage: { completion_tokens: number } };
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(j)}`);
  return { ms: performance.now() - t, tokens: j.usage.completion_tokens };
}

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function load(server: RunningServer, pick: (i: number) => string, C: number) {
  const before = server.app.metricsSnapshot().swaps;
  const lat: number[] = [];
  let tokens = 0;
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    for (let i = next++; i < N; i = next++) {
      const r = await request(server.url, pick(i), i);
      lat.push(r.ms);
      tokens += r.tokens;
    }
  }));
  const seconds = (performance.now() - t) / 1000;
  const after = server.app.metricsSnapshot().swaps;
  const swaps = after.count - before.count;
  return {
    rps: N / seconds, tps: tokens / seconds, p50: pct(lat, 0.5), p99: pct(lat, 0.99), swaps,
    xorMicros: swaps ? (after.xorMicrosTotal - before.xorMicrosTotal) / swaps : 0,
    swapMillis: swaps ? (after.millisTotal - before.millisTotal) / swaps : 0,
  };
}

const median = (xs: number[]) => pct(xs, 0.5);
const server = await startServer({ model: args.model, patches: dir, port: 0, maxContext: 256, watch: false });
try {
  // ---- single client ---------------------------------------------------------------------------
  for (let i = 0; i < 60; i++) await request(server.url, 'base', i); // warm up
  let tokens = 0;
  const t1 = performance.now();
  for (let i = 0; i < 60; i++) tokens += (await request(server.url, 'base', i)).tokens;
  const single = tokens / ((performance.now() - t1) / 1000);
  console.log(`single   one client over HTTP: ${single.toFixed(0)} tokens/s (${(single / (directTokens / directSeconds)).toFixed(2)}x direct)`);

  const mix = (i: number) => (i % (P + 1) === 0 ? 'base' : patchIds[(i % (P + 1)) - 1]!);
  const loads = [
    { name: `base only, ${C} in flight`, pick: () => 'base', c: C },
    { name: `mixed, ${C} in flight`, pick: mix, c: C },
    { name: 'base only, 1 at a time', pick: () => 'base', c: 1 },
    { name: 'mixed, 1 at a time', pick: mix, c: 1 },
  ];
  const runs = loads.map(() => [] as Awaited<ReturnType<typeof load>>[]);
  for (let round = 0; round < Number(args.rounds); round++) for (const [k, l] of loads.entries()) runs[k]!.push(await load(server, l.pick, l.c));
  const med = runs.map((rs) => ({
    rps: median(rs.map((r) => r.rps)), tps: median(rs.map((r) => r.tps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
    swaps: median(rs.map((r) => r.swaps)), xorMicros: median(rs.map((r) => r.xorMicros)), swapMillis: median(rs.map((r) => r.swapMillis)),
  }));
  console.log(`loads    ${N} requests each, medians of ${args.rounds} interleaved rounds`);
  console.log('  load                        req/s  tokens/s  p50 ms  p99 ms  swaps  XOR us/swap  swap ms  req/s vs base');
  for (const [k, l] of loads.entries()) {
    const r = med[k]!;
    const baseRps = med[k % 2 === 0 ? k : k - 1]!.rps;
    console.log(`  ${l.name.padEnd(26)} ${r.rps.toFixed(1).padStart(6)}  ${r.tps.toFixed(0).padStart(8)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}  ${String(r.swaps).padStart(5)}  ${r.xorMicros.toFixed(1).padStart(11)}  ${r.swapMillis.toFixed(3).padStart(7)}  ${(r.rps / baseRps).toFixed(3).padStart(13)}`);
  }
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
