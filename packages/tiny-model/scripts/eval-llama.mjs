// Accuracy table of the shipped file under llama.cpp (node-llama-cpp 3.21.1, the reference
// runtime of the test package): greedy generation from each eval prompt (tokenized by llama.cpp,
// no BOS), stop at newline, exact match; plus agreement with the training forward's greedy
// outputs (model/eval-torch.json) and the time to evaluate a 32-token sequence.
// Settings as test/llama/runner.mjs: CPU, 1 thread, flash attention off, F32 KV cache.
// Usage: node packages/tiny-model/scripts/eval-llama.mjs [--preset tiny|small]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { writeAtomic } from './fs-util.mjs';
import { target } from './target.mjs';

const { pkg, modelPath } = target();
const repo = join(pkg, '../..');
const req = createRequire(join(repo, 'test/package.json'));
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(req.resolve('node-llama-cpp')).href);

const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, maxThreads: 1, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: 256, batchSize: 64, sequences: 1, threads: 1, flashAttention: false,
  experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
});
const seq = context.getSequence();

async function greedy(promptTokens, maxTokens) {
  await seq.clearHistory();
  const out = [];
  let input = promptTokens;
  while (out.length < maxTokens) {
    const items = input.map((t, i) => (i === input.length - 1 ? [t, { generateNext: { token: true, options: { temperature: 0 } } }] : t));
    const r = await seq.controlledEvaluate(items);
    const next = r[input.length - 1]?.next?.token;
    if (next == null) throw new Error('llama.cpp produced no token');
    if (model.detokenize([next], true).includes('\n') || model.isEogToken(next)) break;
    out.push(next);
    input = [next];
  }
  return model.detokenize(out, false);
}

const splits = JSON.parse(readFileSync(join(pkg, 'data/splits.json'), 'utf8'));
const record = JSON.parse(readFileSync(join(pkg, 'model/eval-torch.json'), 'utf8'));
const accuracy = {};
const greedyOut = {};
let agree = 0;
let total = 0;
for (const [skill, sets] of Object.entries(splits.skills))
  for (const split of ['train', 'heldout']) {
    const rows = sets[split];
    const outs = [];
    for (const e of rows) outs.push(await greedy(Array.from(model.tokenize(e.prompt, false)), 24));
    const key = `${skill}/${split}`;
    accuracy[key] = outs.filter((o, i) => o === rows[i].answer).length / rows.length;
    greedyOut[key] = outs;
    outs.forEach((o, i) => {
      total++;
      if (o === record.greedy[key][i]) agree++;
    });
    console.log(`${key}: llama.cpp ${(100 * accuracy[key]).toFixed(1)}%  torch ${(100 * record.accuracy[key]).toFixed(1)}%`);
  }

// timing: evaluate a 32-token sequence (all positions' logits), median of 50
const tokens32 = Array.from(model.tokenize('Q: second derivative of 5x^4+4x^3+8x^2? A: 60x^2+24x+16\n', false)).slice(0, 32);
while (tokens32.length < 32) tokens32.push(tokens32[tokens32.length - 1]);
const times = [];
for (let k = 0; k < 50; k++) {
  await seq.clearHistory();
  const t0 = process.hrtime.bigint();
  await seq.controlledEvaluate(tokens32.map((t) => [t, { generateNext: { token: true } }]));
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const ms32 = times[25];
console.log(`greedy agreement with the training forward: ${agree}/${total}`);
console.log(`llama.cpp: evaluate a 32-token sequence (1 thread, logits at every position): median ${ms32.toFixed(2)} ms`);
writeAtomic(join(pkg, 'model/eval-llama.json'), JSON.stringify({ model: record.model, sha256: record.sha256, runtime: 'node-llama-cpp 3.21.1 (llama.cpp CPU, 1 thread)', accuracy, agreeWithTorch: [agree, total], ms32, greedy: greedyOut }, null, 1) + '\n');
