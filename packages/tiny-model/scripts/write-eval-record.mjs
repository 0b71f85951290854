// model/eval-torch.json: the training forward's greedy results (train/train.py evaluate) for the
// shipped file: accuracy per skill and split, and every example's greedy output, so tests can
// check the exported file (reference forward, engine, llama.cpp) against the training model.
// Prints the model card's accuracy table (markdown).
// Usage: node packages/tiny-model/scripts/write-eval-record.mjs [--preset tiny|small] [train/out dir]
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from './fs-util.mjs';
import { target } from './target.mjs';

const { pkg, runDir, modelFile: MODEL_FILE_NAME, skills: SKILLS } = target();
const { accuracy, results } = JSON.parse(readFileSync(join(runDir, 'eval-results.json'), 'utf8'));
const index = JSON.parse(readFileSync(join(runDir, 'tensors.json'), 'utf8'));
const gguf = readFileSync(join(pkg, 'model', MODEL_FILE_NAME));
const record = {
  model: MODEL_FILE_NAME,
  sha256: createHash('sha256').update(gguf).digest('hex'),
  bytes: gguf.length,
  train: index.train,
  method: 'train/train.py evaluate(): greedy generation from the prompt alone (no BOS), stop at newline, exact match of the answer',
  accuracy,
  greedy: Object.fromEntries(Object.entries(results).map(([k, rows]) => [k, rows.map((r) => r.greedy)])),
};
writeAtomic(join(pkg, 'model/eval-torch.json'), JSON.stringify(record, null, 1) + '\n');
const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log('| skill | train | held-out | n train / held-out |\n| --- | --- | --- | --- |');
for (const s of SKILLS)
  console.log(`| ${s} | ${pct(accuracy[`${s}/train`])} | ${pct(accuracy[`${s}/heldout`])} | ${results[`${s}/train`].length} / ${results[`${s}/heldout`].length} |`);
console.log(`sha256 ${record.sha256}  ${record.bytes} bytes`);
