// Export: train/out/<run>/tensors.{json,bin} + data/tokenizer.json -> model/bankai-tiny-q1_0.gguf
// (atomic write), then read it back with @bankai/gguf and print its size and sha256.
// Usage: node packages/tiny-model/scripts/export.mjs [train/out dir]   (after building the package)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { readGgufFile, writeGgufFile } from '@bankai/gguf/node';
import { tinyGgufSpec, DEFAULT_SEED, MODEL_FILE_NAME } from '../dist/index.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const runDir = resolve(process.argv[2] ?? join(pkg, 'train/out'));
const index = JSON.parse(readFileSync(join(runDir, 'tensors.json'), 'utf8'));
const bin = new Uint8Array(readFileSync(join(runDir, 'tensors.bin')));
const tok = JSON.parse(readFileSync(join(pkg, 'data/tokenizer.json'), 'utf8'));
const train = index.train ?? {};
if (!Number.isInteger(train.steps) || !Number.isInteger(train.seed))
  throw new Error(`${join(runDir, 'tensors.json')}: missing train.steps / train.seed; re-run train/train.py (or --resume)`);

const out = join(pkg, 'model', MODEL_FILE_NAME);
const spec = tinyGgufSpec(index, bin, tok, {
  name: 'bankai-tiny-q1_0',
  trainSteps: train.steps,
  trainSeed: train.seed,
  corpusSeed: DEFAULT_SEED,
});
const result = await writeGgufFile(out, spec);
const file = await readGgufFile(out);
if (file.tensors.length !== index.tensors.length) throw new Error(`${out}: read back ${file.tensors.length} tensors`);
const sha = createHash('sha256').update(readFileSync(out)).digest('hex');
console.log(`export: ${out} ${result.bytesWritten} bytes sha256 ${sha}`);
