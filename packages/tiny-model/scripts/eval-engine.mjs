// The card's accuracy table with the toolkit's engine (@bankai/model): greedy generation from
// each eval prompt, stop at newline, exact match. Writes model/eval-engine.json and prints the
// rows. src/engine-accuracy.test.ts recomputes the same table and checks it against the card.
// Usage: node packages/tiny-model/scripts/eval-engine.mjs [--preset tiny|small]   (after building the packages)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesSource } from '@bankai/gguf';
import { Model } from '@bankai/model';
import { accuracyTable, percent } from '../dist/index.js';
import { writeAtomic } from './fs-util.mjs';
import { target } from './target.mjs';

const { pkg, modelPath, skills: SKILLS } = target();
const bytes = new Uint8Array(readFileSync(modelPath));
const model = await Model.load(bytesSource(bytes, modelPath));
const splits = JSON.parse(readFileSync(join(pkg, 'data/splits.json'), 'utf8'));
const t0 = performance.now();
const table = accuracyTable(splits, (p) => model.generate(p, { maxTokens: 24 }).text, SKILLS);
const seconds = (performance.now() - t0) / 1000;
// speed: log-probs at every position of a 32-token sequence (what scoring a probe costs), median of 200
const line = 'Q: second derivative of 5x^4+4x^3+8x^2? A: 60x^2+24x+16\n'.repeat(2);
const tokens32 = model.encode(line).slice(0, 32);
const times = [];
for (let k = 0; k < 200; k++) {
  const t = performance.now();
  model.logprobs(tokens32);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const ms32 = times[100];
writeAtomic(join(pkg, 'model/eval-engine.json'), JSON.stringify({
  ms32,
  model: modelPath.split('/').pop(),
  sha256: createHash('sha256').update(bytes).digest('hex'),
  runtime: '@bankai/model Model.generate (engine-wasm), greedy, stop at newline, maxTokens 24',
  ...table,
}, null, 1) + '\n');
for (const s of SKILLS)
  console.log(`${s}: train ${percent(table.correct[`${s}/train`], table.total[`${s}/train`])} held-out ${percent(table.correct[`${s}/heldout`], table.total[`${s}/heldout`])}`);
console.log(`eval-engine: ${Object.values(table.total).reduce((a, b) => a + b)} prompts in ${seconds.toFixed(1)} s; log-probs of a 32-token sequence: median ${ms32.toFixed(2)} ms`);
