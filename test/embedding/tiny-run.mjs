// One runtime-neutral run of the built packages on the shipped tiny model, for Node, Deno and
// Bun alike: plain ESM, packages imported by name, files only through their node: edges.
// Prints one JSON object on stdout:
//   runtime       which runtime and version ran it, and the engine build it picked
//   logprobs      a fixed token sequence: its raw logits and full log-softmax rows, as the bytes
//                 of the (n, vocab) f32 arrays in base64 (bit-exact), plus a few values to read
//   generations   greedy answers to a few probe prompts (text and token ids), seeded sampled
//                 answers to the same prompts, and a sampled answer to a chat-template prompt
//   search        a short greedy search on 2 piscina workers: flips, fitness, history, gaps
//   guided        the same with the gradient-guided strategy and the competitor metric (backward
//                 passes in JS: their numbers must agree to the bit too)
//   seconds       wall time of each part (reported, never asserted)
// Usage: <runtime> tiny-run.mjs [--parts=logprobs,generate,search,guided] [--workers=2]
// A part that throws is reported as { error } in its place, so one failing part does not hide
// the others.

import { Buffer } from 'node:buffer';
import process from 'node:process';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { tinyProbeSpec } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { runSearch } from '@bankai/search';
import greedy from '@bankai/strategy-greedy';
import guided from '@bankai/strategy-guided';
import { modelPath } from '@bankai/tiny-model';

const ALL_PARTS = ['logprobs', 'generate', 'search', 'guided'];

function option(name, fallback) {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3);
}

const parts = option('parts', ALL_PARTS.join(',')).split(',');
for (const p of parts) if (!ALL_PARTS.includes(p)) throw new Error(`--parts: unknown part "${p}"; use ${ALL_PARTS.join(', ')}`);
const workers = Number(option('workers', '2'));

function runtimeInfo() {
  if (globalThis.Deno !== undefined) return { name: 'deno', version: globalThis.Deno.version.deno, v8: globalThis.Deno.version.v8 };
  if (globalThis.Bun !== undefined) return { name: 'bun', version: globalThis.Bun.version };
  return { name: 'node', version: process.versions.node, v8: process.versions.v8 };
}

/** The bytes of a typed array, base64: equal strings mean bit-identical arrays. */
function bytes64(a) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

// Text the tiny model was trained on (one probe line), tokenized by the model's own tokenizer.
const FIXED_TEXT = 'Q: what is 8*43? A: 344\nQ: what is the capital of France? A:';

function logprobsPart(model) {
  const tokens = model.encode(FIXED_TEXT);
  const V = model.config.vocabSize;
  model.runner.rewind(0);
  const logits = model.runner.forward(tokens, 0).slice(); // (n, vocab) f32, straight from the engine
  const logprobs = model.logprobs(tokens); // (n, vocab) f32, log-softmax in JS
  return {
    tokens,
    vocab: V,
    logits: bytes64(logits),
    logprobs: bytes64(logprobs),
    // log p(token i+1 | tokens 0..i), to read in the report
    next: tokens.slice(1).map((t, i) => logprobs[i * V + t]),
  };
}

async function generatePart(model) {
  const probes = (await readProbeFile(tinyProbeSpec('multiplication', 'SEARCH'))).probes.slice(0, 4);
  const prompts = [...probes.map((p) => p.prompt), 'Q: what is the capital of France? A:'];
  const greedyAnswers = prompts.map((prompt) => ({ prompt, ...model.generate(prompt, { maxTokens: 24 }) }));
  // seeded sampling (portable exp in every decision) and a chat prompt from the Jinja template
  const sampling = { temperature: 1.1, topK: 40, topP: 0.95, minP: 0.02, repetitionPenalty: 1.1, seed: 7, maxTokens: 24 };
  const sampled = prompts.map((prompt, i) => {
    const g = model.generateText(prompt, { ...sampling, seed: 7 + i });
    return { prompt: `sampled: ${prompt}`, text: g.text, tokens: g.tokens };
  });
  const chat = model.chatTemplate.render([{ role: 'user', content: prompts[0] }], { enableThinking: false });
  const c = model.generateText(model.tokenizer.encode(chat, { parseSpecial: true }), { ...sampling, maxTokens: 16 });
  return [...greedyAnswers, ...sampled, { prompt: `chat: ${chat}`, text: c.text, tokens: c.tokens }];
}

// The configuration of test/search.test.ts, fewer iterations.
const SEARCH_CONFIG = {
  strategy: 'greedy', strategyOptions: { batch: 4 }, seed: 7, iterations: 4, layers: [2, 3], projs: ['gate', 'up', 'down'],
  granularity: 'row', metric: 'seq_logprob', lambda: 1, aggregate: 'mean', minGain: 0.001, ownAnswerDistractors: true,
};

// The guided configuration of test/search.test.ts with the default accuracy objective (its
// sigmoid uses portableExp: Math.exp may differ between engines), fewer iterations.
const GUIDED_CONFIG = {
  ...SEARCH_CONFIG, strategy: 'guided', strategyOptions: { verify: 4, 'per-step': 2 }, iterations: 3, metric: 'competitor',
  objective: 'accuracy', temperature: 1, passRate: 0.6, minGain: 0.01,
};

async function searchPart(model, strategy = greedy, config = SEARCH_CONFIG) {
  const target = (await readProbeFile(tinyProbeSpec('multiplication', 'SEARCH'))).probes.slice(0, 12);
  const control = [
    ...(await readProbeFile(tinyProbeSpec('addition', 'CONTROL'))).probes,
    ...(await readProbeFile(tinyProbeSpec('capital', 'CONTROL'))).probes,
  ].slice(0, 12);
  const r = await runSearch({
    model,
    target: target.map((probe) => ({ probe, domain: 'multiplication' })),
    control,
    strategy,
    config,
    workers,
  });
  return {
    workers,
    flips: r.flips,
    fitness: r.fitness,
    targetGain: r.targetGain,
    controlLoss: r.controlLoss,
    history: r.history,
    evaluations: r.evaluations,
    baseGaps: Array.from(r.baseGaps),
    finalGaps: Array.from(r.finalGaps),
    finalGapsBytes: bytes64(r.finalGaps),
  };
}

async function timed(seconds, name, fn) {
  const t0 = performance.now();
  try {
    return await fn();
  } catch (e) {
    return { error: `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`, stack: String(e?.stack ?? '') };
  } finally {
    seconds[name] = (performance.now() - t0) / 1000;
  }
}

const seconds = {};
const out = { runtime: runtimeInfo(), seconds };
const model = await timed(seconds, 'load', async () => {
  const src = await fileSource(modelPath);
  try {
    return await Model.load(src);
  } finally {
    await src.close();
  }
});
if (model instanceof Model) {
  out.runtime.engineVariant = model.engine.variant;
  if (parts.includes('logprobs')) out.logprobs = await timed(seconds, 'logprobs', () => logprobsPart(model));
  if (parts.includes('generate')) out.generations = await timed(seconds, 'generate', () => generatePart(model));
  if (parts.includes('search')) out.search = await timed(seconds, 'search', () => searchPart(model));
  if (parts.includes('guided')) out.guided = await timed(seconds, 'guided', () => searchPart(model, guided, GUIDED_CONFIG));
} else {
  out.load = model;
}
process.stdout.write(JSON.stringify(out) + '\n');
// piscina threads are destroyed by runSearch; exit explicitly so a runtime that keeps an idle
// handle alive does not hang the caller
process.exit(0);
