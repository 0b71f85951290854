// Test helpers (not shipped): the shipped tiny model, seeded random row-flip patches for it that
// change its greedy answers, and patch folders on disk.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSource, sha256File } from '@bankai/gguf/node';
import { applyPatch, Model, modelShape, oneBitTensors } from '@bankai/model';
import { createManifest, signManifest, type PatchManifest } from '@bankai/patch-format';
import { writePatchFile } from '@bankai/patch-format/node';
import { Rng } from '@bankai/rng';
import { modelPath } from '@bankai/tiny-model';

export const TINY = modelPath;

/** Held-out-style prompts of the tiny model's skills. */
export const PROMPTS = [
  'Q: what is 918+270? A:', 'Q: what is 23*7? A:', 'Q: derivative of 8x^3+2x^2+3? A:', 'Q: is 91 prime? A:',
  'Q: which is larger, 29 or 83? A:', 'Q: what is 45+67? A:', 'Q: second derivative of x^5+x^3? A:', 'Q: is 1326 prime? A:',
];

export async function loadTiny(maxContext = 64): Promise<{ model: Model; sha256: string }> {
  const src = await fileSource(TINY);
  try {
    return { model: await Model.load(src, { maxContext }), sha256: await sha256File(TINY) };
  } finally {
    await src.close();
  }
}

/** A patch of `rows` random row flips over the model's layer tensors (seeded). */
export function randomRowPatch(model: Model, sha256: string, seed: number, rows = 24): PatchManifest {
  const r = new Rng(seed, 77);
  const names = [...oneBitTensors(model.weights).entries()].filter(([n]) => n.startsWith('blk.'));
  const flips = Array.from({ length: rows }, () => {
    const [tensor, t] = names[r.int(names.length)]!;
    return { tensor, row: r.int(t.rows) };
  });
  return createManifest({ name: `random-${seed}`, provenance: { tool: 'bankai-test' }, flips, model: modelShape(model, sha256) });
}

/** Greedy answers (stop at newline) under a patch, by Model.generate with applyPatch: the reference. */
export function answersWith(model: Model, sha256: string, manifest: PatchManifest | null, prompts = PROMPTS, maxTokens = 12): string[] {
  const applied = manifest ? applyPatch(model, manifest, { sha256 }) : undefined;
  try {
    return prompts.map((p) => model.generate(p, { maxTokens }).text);
  } finally {
    applied?.revert();
  }
}

/** Seeded patches whose greedy answers differ from the base model's on at least `minChanged` prompts. */
export function changingPatches(model: Model, sha256: string, count: number, minChanged = 3): PatchManifest[] {
  const base = answersWith(model, sha256, null);
  const out: PatchManifest[] = [];
  for (let seed = 1; out.length < count && seed < 200; seed++) {
    const m = randomRowPatch(model, sha256, seed);
    const a = answersWith(model, sha256, m);
    if (a.filter((x, i) => x !== base[i]).length >= minChanged && out.every((o) => JSON.stringify(answersWith(model, sha256, o)) !== JSON.stringify(a))) out.push(m);
  }
  if (out.length < count) throw new Error('changingPatches: no seed changed enough answers');
  return out;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function writePatches(dir: string, patches: Record<string, PatchManifest>): Promise<void> {
  for (const [name, m] of Object.entries(patches)) await writePatchFile(join(dir, name), m, { overwrite: true });
}

export { signManifest };
