// One runtime-neutral run of the engine component (engine-wasm/build/bankai-engine.component.wasm
// through its jco-transpiled bindings) on the shipped tiny model, for Node, Deno and Bun alike.
// The host only moves bytes: the GGUF file, token ids, prompts and patch files go in; log-probs,
// text and errors come out. Prints one JSON object on stdout:
//   runtime       which runtime ran it
//   info          the model's info() JSON
//   tokens        tokenize() of each prompt; detokenized: detokenize() of those tokens
//   base          logprobs of each token sequence (the bytes of its (n, vocab) f32 rows, base64)
//                 and greedy generations of each prompt
//   patched       the same with each patch applied (and flips: what apply-patch returned),
//   reverted      and again after revert-patch
//   errors        what each bad input gave: { err } (a result::err) or { trap } (anything else)
// Usage: <runtime> component-run.mjs DIR, where DIR holds inputs.json ({ prompts, sequences,
// maxTokens, patches: [file...], badGguf: [file...], badPatches: [file...] }) and those files.

import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { engine } from '@bankai/engine-wasm/component';
import { modelPath } from '@bankai/tiny-model';

const dir = process.argv[2];
const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));

function runtimeInfo() {
  if (globalThis.Deno !== undefined) return { name: 'deno', version: globalThis.Deno.version.deno };
  if (globalThis.Bun !== undefined) return { name: 'bun', version: globalThis.Bun.version };
  return { name: 'node', version: process.versions.node };
}

/** result::err arrives as a thrown ComponentError carrying the string in `payload`. */
function outcome(f) {
  try {
    return { ok: f() };
  } catch (e) {
    if (e && typeof e.payload === 'string') return { err: e.payload };
    return { trap: `${e?.name}: ${e?.message}` };
  }
}

function rows64(rows) {
  const n = rows.reduce((s, r) => s + r.length, 0);
  const all = new Float32Array(n);
  let at = 0;
  for (const r of rows) {
    all.set(r, at);
    at += r.length;
  }
  return Buffer.from(all.buffer).toString('base64');
}

function outputs(model) {
  return {
    logprobs: inputs.sequences.map((seq) => rows64(model.logprobs(Uint32Array.from(seq)))),
    generations: inputs.prompts.map((p) => model.generate(p, inputs.maxTokens)),
  };
}

const t0 = performance.now();
const model = engine.Model.load(readFileSync(modelPath));
const loadSeconds = (performance.now() - t0) / 1000;
const tokens = inputs.prompts.map((p) => Array.from(model.tokenize(p)));
const result = {
  runtime: runtimeInfo(),
  loadSeconds,
  info: JSON.parse(model.info()),
  tokens,
  detokenized: tokens.map((t) => model.detokenize(Uint32Array.from(t))),
  base: outputs(model),
  patched: [],
  reverted: [],
  errors: {},
};
for (const file of inputs.patches) {
  const flips = model.applyPatch(readFileSync(join(dir, file)));
  result.patched.push({ file, flips, ...outputs(model) });
  model.revertPatch();
  result.reverted.push({ file, ...outputs(model) });
}
result.errors.badGguf = inputs.badGguf.map((file) => outcome(() => engine.Model.load(readFileSync(join(dir, file))).info()));
result.errors.badPatches = inputs.badPatches.map((file) => outcome(() => model.applyPatch(readFileSync(join(dir, file)))));
result.errors.revertNothing = outcome(() => model.revertPatch());
result.errors.tokenOutOfRange = outcome(() => model.logprobs(Uint32Array.of(1, 1 << 30)));
result.errors.tooLong = outcome(() => model.logprobs(new Uint32Array(JSON.parse(model.info()).maxContext + 1)));
result.errors.empty = outcome(() => model.logprobs(new Uint32Array(0)));
result.errors.detokenizeOutOfRange = outcome(() => model.detokenize(Uint32Array.of(0xffffffff)));
// still healthy after every error above
result.afterErrors = outputs(model);
model[Symbol.dispose]();
process.stdout.write(`${JSON.stringify(result)}\n`);
