// Binary patch size per flip for every upstream fixture, against upstream's nominal 12 bytes a
// flip. Run after building: `node packages/patch-format/bench/size.mjs [fixtures dir]`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BONSAI_HYPERPARAMETERS, binaryLayout, qwen3Shape, readPatch, UPSTREAM_NOMINAL_FLIP_BYTES } from '../dist/index.js';

const dir = process.argv[2] ?? fileURLToPath(new URL('../../../../shared/fixtures/upstream-bankai/patches', import.meta.url));
const model = qwen3Shape(BONSAI_HYPERPARAMETERS['8B']);
const rows = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const { manifest, kind } = readPatch(readFileSync(join(dir, file)), { file, model });
  const n = manifest.flips.length;
  const layout = binaryLayout(manifest);
  rows.push({
    file,
    kind,
    flips: n,
    tensors: Object.keys(manifest.base.tensors).length,
    nominal: n * UPSTREAM_NOMINAL_FLIP_BYTES,
    'flip bytes': layout.flips,
    'B/flip (flips)': +(layout.flips / n).toFixed(2),
    'header json': layout.header,
    total: layout.total,
    'B/flip (total)': +(layout.total / n).toFixed(2),
    'upstream json': readFileSync(join(dir, file)).length,
  });
}
console.table(rows);
console.log('flip bytes = tensor table (names, shapes) + delta/varint flips; total adds magic, version,');
console.log('flags, CRC-32 and the header JSON (name, description, base model, provenance).');
