// Benchmark (not a test): patches as artifacts and as engine operations.
//
//   size    binary bytes a flip of every upstream fixture (read against the Bonsai-8B shape),
//           against upstream's nominal 12 bytes a flip and our JSON manifest
//   apply   microseconds to XOR a ~100-flip patch into the loaded weights and to revert it, best
//           of N, on random models of the Bonsai-8B and 1.7B shapes: the upstream 93-flip
//           fixture (8B), and a seeded random 100-flip patch (rows, groups, a few bits) on each
//
// Usage: npx tsx bench/patches.ts [--models 8b,1.7b] [--repeat 30]
// Models are generated into bench/out/ when missing (8B: 1.2 GB, ~30 s).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';
import { fileSource } from '@bankai/gguf/node';
import { applyPatch, Model, modelShape } from '@bankai/model';
import { presetOptions } from '@bankai/model-gen';
import { Rng } from '@bankai/rng';
import { writeQwen3File } from '@bankai/model-gen/node';
import {
  bitFlip,
  BONSAI_HYPERPARAMETERS,
  binaryLayout,
  createManifest,
  encodeBinary,
  formatManifest,
  groupFlip,
  normalize,
  qwen3Shape,
  readPatch,
  rowFlip,
  UPSTREAM_NOMINAL_FLIP_BYTES,
  type Flip,
  type ModelShape,
  type PatchManifest,
} from '@bankai/patch-format';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(here, '../test/fixtures/upstream-bankai/patches');
helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: '8b,1.7b' },
    repeat: { type: 'string', default: '30' },
  },
});
const REPEAT = Number(args.repeat);

// ---- size ---------------------------------------------------------------------------------------
function sizes(): void {
  const shape8B = qwen3Shape(BONSAI_HYPERPARAMETERS['8B']);
  console.log('binary size per flip (upstream fixtures read against the Bonsai-8B shape)');
  console.log('  (binary B: the whole .bkp incl. the upstream name, description and metadata; bare B: the same flips');
  console.log('   with provenance {tool} only; flips-only: the tensor table and flips)');
  console.log('  fixture                           flips  binary B  B/flip  bare B  B/flip  flips-only B/flip  nominal B  manifest JSON B');
  for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort()) {
    const { manifest } = readPatch(readFileSync(join(FIXTURES, file)), { file, model: shape8B });
    const n = manifest.flips.length;
    const bin = encodeBinary(manifest).length;
    const layout = binaryLayout(manifest);
    const json = new TextEncoder().encode(formatManifest(manifest)).length;
    const bare = encodeBinary(createManifest({ provenance: { tool: 'bankai' }, base: { tensors: manifest.base.tensors }, flips: manifest.flips })).length;
    console.log(`  ${file.padEnd(33)} ${String(n).padStart(5)}  ${String(bin).padStart(8)}  ${(bin / n).toFixed(2).padStart(6)}  ${String(bare).padStart(6)}  ${(bare / n).toFixed(2).padStart(6)}  ${(layout.flips / n).toFixed(2).padStart(17)}  ${String(n * UPSTREAM_NOMINAL_FLIP_BYTES).padStart(9)}  ${String(json).padStart(15)}`);
  }
}

// ---- apply / revert -----------------------------------------------------------------------------------

/** A seeded ~100-flip patch like the ones search produces: row flips on the MLP, group flips on
 *  down_proj and attention, a few single bits. */
function randomPatch(shape: ModelShape, layers: number, seed: number): Flip[] {
  const rng = new Rng(seed, 99);
  const pick = (k: number) => rng.nextU32() % k;
  const tensor = (local: string) => `blk.${pick(layers)}.${local}`;
  const rows = (name: string) => shape.tensors.get(name)!.rows;
  const groups = (name: string) => shape.tensors.get(name)!.cols / 128;
  const flips: Flip[] = [];
  for (let i = 0; i < 70; i++) {
    const t = tensor(i % 2 ? 'ffn_gate' : 'ffn_up');
    flips.push(rowFlip(t, pick(rows(t))));
  }
  for (let i = 0; i < 25; i++) {
    const t = tensor(['ffn_down', 'attn_q', 'attn_v', 'attn_output'][i % 4]!);
    flips.push(groupFlip(t, pick(rows(t)), pick(groups(t))));
  }
  for (let i = 0; i < 5; i++) {
    const t = tensor('ffn_down');
    flips.push(bitFlip(t, pick(rows(t)), pick(groups(t) * 128)));
  }
  return normalize(flips, shape.tensors);
}

function timeApply(model: Model, manifest: PatchManifest): { apply: number; revert: number; total: number; flips: number; bits: number } {
  let apply = Infinity;
  let revert = Infinity;
  let total = Infinity;
  let flips = 0;
  let bits = 0;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    const p = applyPatch(model, manifest, { force: true });
    total = Math.min(total, (performance.now() - t0) * 1000);
    apply = Math.min(apply, p.micros);
    revert = Math.min(revert, p.revert().micros);
    flips = p.flips;
    bits = p.bitsFlipped;
  }
  return { apply, revert, total, flips, bits };
}

async function ensureModel(preset: 'bonsai-8b' | 'bonsai-1.7b'): Promise<string> {
  const path = join(here, 'out', `${preset}.gguf`);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    console.log(`generating ${path} ...`);
    const t0 = performance.now();
    await writeQwen3File(path, presetOptions(preset, { seed: 1 }));
    console.log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return path;
}

async function applyBench(which: string): Promise<void> {
  const preset = which === '8b' ? 'bonsai-8b' : 'bonsai-1.7b';
  const path = await ensureModel(preset);
  const src = await fileSource(path);
  const t0 = performance.now();
  const model = await Model.load(src, { maxContext: 8, maxBatch: 8 });
  await src.close();
  console.log(`\n${preset}: loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s (engine ${(model.engine.byteLength / 2 ** 30).toFixed(2)} GiB); best of ${REPEAT}`);
  const shape = modelShape(model);
  const patches: [string, PatchManifest][] = [
    ['random 100-flip patch', createManifest({ provenance: { tool: 'bench' }, flips: randomPatch(shape, model.config.nLayer, 1), model: shape })],
  ];
  if (which === '8b') {
    const file = 'calculus_generalized_v1.json';
    patches.unshift([`upstream ${file}`, readPatch(readFileSync(join(FIXTURES, file)), { file, model: shape }).manifest]);
  }
  console.log('  patch                                     flips     bits   apply us  revert us  us/flip  applyPatch incl. validation us');
  for (const [name, manifest] of patches) {
    const r = timeApply(model, manifest);
    console.log(`  ${name.padEnd(40)}  ${String(r.flips).padStart(5)}  ${String(r.bits).padStart(7)}  ${r.apply.toFixed(1).padStart(9)}  ${r.revert.toFixed(1).padStart(9)}  ${(r.apply / r.flips).toFixed(2).padStart(7)}  ${r.total.toFixed(1).padStart(10)}`);
  }
}

sizes();
for (const m of args.models.split(',')) await applyBench(m.trim().toLowerCase());
