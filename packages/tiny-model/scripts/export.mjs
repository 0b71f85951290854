// Export: train/out/<run>/tensors.{json,bin} + data/tokenizer.json -> model/<preset's file>.gguf
// (atomic write), then read it back with @bankai/gguf and print its size and sha256.
// Usage: node packages/tiny-model/scripts/export.mjs [--preset tiny|small] [train/out dir]   (after building)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufFile, writeGgufFile } from '@bankai/gguf/node';
import { tinyGgufSpec, DEFAULT_SEED } from '../dist/index.js';
import { target } from './target.mjs';

const { pkg, runDir, modelPath: out, modelName } = target();
const index = JSON.parse(readFileSync(join(runDir, 'tensors.json'), 'utf8'));
const bin = new Uint8Array(readFileSync(join(runDir, 'tensors.bin')));
const tok = JSON.parse(readFileSync(join(pkg, 'data/tokenizer.json'), 'utf8'));
const train = index.train ?? {};
if (!Number.isInteger(train.steps) || !Number.isInteger(train.seed))
  throw new Error(`${join(runDir, 'tensors.json')}: missing train.steps / train.seed; re-run train/train.py (or --resume)`);

const spec = tinyGgufSpec(index, bin, tok, {
  name: modelName,
  trainSteps: train.steps,
  trainSeed: train.seed,
  corpusSeed: DEFAULT_SEED,
});
const result = await writeGgufFile(out, spec);
const file = await readGgufFile(out);
if (file.tensors.length !== index.tensors.length) throw new Error(`${out}: read back ${file.tensors.length} tensors`);
const sha = createHash('sha256').update(readFileSync(out)).digest('hex');
console.log(`export: ${out} ${result.bytesWritten} bytes sha256 ${sha}`);
