// The engine as a WebAssembly component (engine-wasm/build/bankai-engine.component.wasm, jco
// bindings) against @bankai/model, the TypeScript engine on the same kernels:
//   - Node, Deno and Bun each run test/embedding/component-run.mjs on the shipped tiny model:
//     log-probs must be the same bits as Model.logprobs, greedy generations the same text as
//     Model.generate, tokenize/detokenize the same as the tokenizer, a patch (.bkp and manifest
//     JSON; row, group and bit flips) must give applyPatch's outputs and revert to the exact
//     base outputs, and every bad input must come back as result::err with a message.
//   - In process (Node): random Qwen3 models with Q1_0, F16 and F32 weights (tied output,
//     head_dim != n_embd / n_head) agree bit for bit too, and seeded mutations of the GGUF file
//     and of both patch forms never trap the component (err, or a load that still works).
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine } from '@bankai/engine-wasm/component';
import { bytesSource, memorySink, meta, readGguf, writeGguf } from '@bankai/gguf';
import { applyPatch, Model, modelShape } from '@bankai/model';
import { presetOptions, qwen3WriteSpec } from '@bankai/model-gen';
import { writeQwen3File } from '@bankai/model-gen/node';
import { computeStats, createManifest, encodeBinary, formatManifest, generateSigningKey, normalize, parseManifest, signManifest, type Flip, type PatchManifest } from '@bankai/patch-format';
import { Rng } from '@bankai/rng';
import { modelPath } from '@bankai/tiny-model';
import { describeF32Diff, f32FromBase64 } from './embedding/compare.js';
import { noNetworkPrefix, runtime, unsupported, type RuntimeName } from './embedding/runtimes.js';
import { TEXTS, writeRichModel } from './tokenizer-texts.js';

const SCRIPT = fileURLToPath(new URL('./embedding/component-run.mjs', import.meta.url));
const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
const RUNTIMES: RuntimeName[] = ['node', 'deno', 'bun'];

type Outcome = { ok?: unknown; err?: string; trap?: string };
interface Outputs { logprobs: string[]; generations: string[] }
interface RunOutput {
  runtime: { name: string; version: string };
  loadSeconds: number;
  info: { sha256: string; vocab: number; maxContext: number; config: { nLayer: number; vocabSize: number }; patches: number };
  tokens: number[][];
  detokenized: string[];
  base: Outputs;
  patched: (Outputs & { file: string; flips: number })[];
  reverted: (Outputs & { file: string })[];
  errors: { badGguf: Outcome[]; badPatches: Outcome[] } & Record<string, Outcome | Outcome[]>;
  afterErrors: Outputs;
}

const PROMPTS = ['Q: what is 12+7? A:', 'Q: what is 6*7? A:', 'Q: is 13 prime? A:', 'Q: d/dx x^2 = A:', 'héllo wörld 123 — ✓\n', '\ufeffQ: what is 2+2? A:'];
const MAX_TOKENS = 24;

/** The model's outputs as the runtime script reports them, from @bankai/model. */
function referenceOutputs(model: Model, sequences: number[][]): Outputs {
  return {
    logprobs: sequences.map((s) => Buffer.from(model.logprobs(s).buffer.slice(0)).toString('base64')),
    generations: PROMPTS.map((p) => model.generate(p, { maxTokens: MAX_TOKENS }).text),
  };
}

function expectSameOutputs(got: Outputs, want: Outputs, vocab: number, label: string): void {
  for (let i = 0; i < want.logprobs.length; i++) {
    const diff = describeF32Diff(f32FromBase64(got.logprobs[i]!), f32FromBase64(want.logprobs[i]!), vocab);
    expect(diff, `${label}: log-probs of sequence ${i}`).toBeUndefined();
  }
  expect(got.generations, `${label}: greedy generations`).toEqual(want.generations);
}

function runIn(name: RuntimeName, dir: string, offline: string[] | undefined, denoDir: string): Promise<{ output?: RunOutput; failure?: string }> {
  const rt = runtime(name);
  const [cmd, ...args] = [...(offline ?? []), rt.bin, ...rt.argv(SCRIPT, [dir])];
  return new Promise((resolve) => {
    execFile(cmd!, args, { cwd: TEST_DIR, env: { ...process.env, ...rt.env, DENO_DIR: denoDir }, maxBuffer: 1 << 27, timeout: 240_000 },
      (err, stdout, stderr) => {
        try {
          if (err) throw err;
          resolve({ output: JSON.parse(stdout.trim().split('\n').pop() ?? '') as RunOutput });
        } catch (e) {
          resolve({ failure: `${[cmd, ...args].join(' ')}: ${(e as Error).message}\nstderr: ${stderr.slice(-4000)}` });
        }
      });
  });
}

describe('the engine component on Node, Deno and Bun', () => {
  let dir: string;
  let denoDir: string;
  let ggufBytes: Uint8Array;
  let model: Model;
  let sha256: string;
  let sequences: number[][];
  let base: Outputs;
  let patches: { file: string; manifest: PatchManifest }[];
  const patched = new Map<string, Outputs & { flips: number }>();
  const runs = new Map<RuntimeName, { output?: RunOutput; failure?: string }>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bankai-component-'));
    denoDir = mkdtempSync(join(tmpdir(), 'bankai-deno-dir-'));
    ggufBytes = new Uint8Array(readFileSync(modelPath));
    sha256 = createHash('sha256').update(ggufBytes).digest('hex');
    model = await Model.load(bytesSource(ggufBytes, 'tiny.gguf'));
    sequences = [
      model.encode('Q: what is 12+7? A: 19\nQ: what is 3*4? A: 12'),
      model.encode('Q: is 7 prime? A: yes'),
      // longer than one 64-token batch? the tiny model's context is 64: use all of it
      Array.from({ length: model.runner.layout.maxContext }, (_, i) => (i * 37 + 11) % model.config.vocabSize),
    ];
    base = referenceOutputs(model, sequences);

    // a patch with row, group and bit flips over several tensors (the first-layer and embedding
    // flips change the outputs; the test checks that they do)
    const flips: Flip[] = [
      { tensor: 'token_embd', row: model.encode(' 1')[0]! },
      { tensor: 'blk.0.ffn_gate', row: 5 },
      { tensor: 'blk.0.ffn_gate', row: 9 },
      { tensor: 'blk.1.attn_q', row: 7, group: 0 },
      { tensor: 'blk.2.ffn_down', row: 3, group: 2 },
      { tensor: 'blk.3.ffn_up', row: 100, bit: 77 },
      { tensor: 'blk.3.attn_output', row: 1 },
      { tensor: 'output', row: model.encode('2')[0]!, group: 0 },
    ];
    const shape = modelShape(model, sha256);
    const manifest = createManifest({ provenance: { tool: 'component.test' }, flips, model: shape });
    const other = createManifest({ provenance: { tool: 'component.test' }, flips: flips.slice(0, 3).map((f) => ({ ...f, row: f.row + 1 })), model: shape });
    writeFileSync(join(dir, 'patch.json'), formatManifest(manifest));
    writeFileSync(join(dir, 'patch.bkp'), encodeBinary(manifest));
    writeFileSync(join(dir, 'other.bkp'), encodeBinary(other));
    patches = [{ file: 'patch.json', manifest }, { file: 'patch.bkp', manifest }, { file: 'other.bkp', manifest: other }];
    for (const p of patches) {
      const applied = applyPatch(model, p.manifest, { sha256 });
      patched.set(p.file, { flips: applied.flips, ...referenceOutputs(model, sequences) });
      applied.revert();
    }

    // bad inputs
    const bad: Record<string, Uint8Array | string> = {
      'empty.gguf': new Uint8Array(0),
      'truncated-header.gguf': ggufBytes.subarray(0, 1000),
      'truncated-data.gguf': ggufBytes.subarray(0, ggufBytes.length - 100),
      'not-gguf.gguf': new TextEncoder().encode('GGML this is not a model'),
      'version-9.gguf': (() => { const b = ggufBytes.slice(); b[4] = 9; return b; })(),
      'huge-count.gguf': (() => { const b = ggufBytes.slice(); b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 8); return b; })(),
      'garbage.json': '{"format": "bankai-patch", "version": 1, "flips": [',
      'row-out-of-range.json': formatManifest(createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.0.ffn_gate', row: 384 }] })),
      'no-such-tensor.json': formatManifest(createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.9.ffn_gate', row: 1 }] })),
      'other-model.json': formatManifest(createManifest({ base: { sha256: '0'.repeat(64) }, provenance: { tool: 't' }, flips: [{ tensor: 'blk.0.ffn_gate', row: 1 }] })),
      'signed.json': formatManifest(signManifest(manifest, generateSigningKey().secretKey)),
      'bad-crc.bkp': (() => { const b = encodeBinary(manifest); b[b.length - 10]! ^= 1; return b; })(),
      'truncated.bkp': encodeBinary(manifest).subarray(0, 20),
      'binary-junk.bin': Uint8Array.of(0xff, 0xfe, 0x00, 0x80),
    };
    for (const [file, data] of Object.entries(bad)) writeFileSync(join(dir, file), data);
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify({
      prompts: PROMPTS, sequences, maxTokens: MAX_TOKENS,
      patches: patches.map((p) => p.file),
      badGguf: Object.keys(bad).filter((f) => f.endsWith('.gguf')),
      badPatches: Object.keys(bad).filter((f) => !f.endsWith('.gguf')),
    }));
    const offline = noNetworkPrefix();
    for (const name of RUNTIMES) if (!unsupported(name)) runs.set(name, await runIn(name, dir, offline, denoDir));
  }, 600_000);

  afterAll(() => {
    const rows = [...runs].map(([n, r]) => r.output ? `${n} ${r.output.runtime.version}: load ${(r.output.loadSeconds * 1000).toFixed(1)} ms` : `${n}: failed`);
    console.info(`component runs:\n  ${rows.join('\n  ')}`);
    rmSync(dir, { recursive: true, force: true });
    rmSync(denoDir, { recursive: true, force: true });
  });

  function output(name: RuntimeName): RunOutput {
    const r = runs.get(name);
    if (!r) throw new Error(`${name} was not run (${unsupported(name)})`);
    if (!r.output) throw new Error(r.failure);
    return r.output;
  }

  describe.each(RUNTIMES)('%s', (name) => {
    const skip = unsupported(name); // no npm binary of this runtime for this platform
    it.skipIf(skip)('loads the GGUF bytes: info names the file by sha256 and the model by its shapes', () => {
      const o = output(name);
      expect(o.runtime.name).toBe(name);
      expect(o.info.sha256).toBe(sha256);
      expect(o.info.config.nLayer).toBe(model.config.nLayer);
      expect(o.info.config.vocabSize).toBe(model.config.vocabSize);
      expect(o.info.vocab).toBe(model.tokenizer.vocabSize);
      expect(o.info.maxContext).toBe(model.runner.layout.maxContext);
    });

    it.skipIf(skip)('tokenizes and detokenizes as @bankai/model', () => {
      const o = output(name);
      expect(o.tokens).toEqual(PROMPTS.map((p) => model.encode(p)));
      expect(o.detokenized).toEqual(o.tokens.map((t) => model.decode(t)));
      expect(o.detokenized[5]!.startsWith('\ufeff'), 'a leading U+FEFF survives the bindings').toBe(true);
    });

    it.skipIf(skip)('gives the same log-prob bits and greedy generations as @bankai/model', () => {
      expectSameOutputs(output(name).base, base, model.config.vocabSize, name);
    });

    it.skipIf(skip)('applies .bkp and manifest JSON patches as applyPatch does, and reverting restores the exact outputs', () => {
      const o = output(name);
      for (const p of o.patched) {
        const want = patched.get(p.file)!;
        expect(p.flips, p.file).toBe(want.flips);
        expectSameOutputs(p, want, model.config.vocabSize, `${name} ${p.file} applied`);
        expect(p.logprobs, `${p.file} changes the outputs`).not.toEqual(base.logprobs);
      }
      for (const r of o.reverted) expectSameOutputs(r, base, model.config.vocabSize, `${name} ${r.file} reverted`);
    });

    it.skipIf(skip)('answers every malformed GGUF, patch and argument with err and a message, never a trap', () => {
      const o = output(name);
      const all: [string, Outcome][] = [
        ...o.errors.badGguf.map((e, i) => [`badGguf[${i}]`, e] as [string, Outcome]),
        ...o.errors.badPatches.map((e, i) => [`badPatches[${i}]`, e] as [string, Outcome]),
        ...Object.entries(o.errors).filter(([, v]) => !Array.isArray(v)).map(([k, v]) => [k, v as Outcome] as [string, Outcome]),
      ];
      for (const [what, e] of all) {
        expect(e.trap, what).toBeUndefined();
        expect(e.ok, what).toBeUndefined();
        expect(typeof e.err === 'string' && e.err.length > 10, `${what}: ${JSON.stringify(e)}`).toBe(true);
      }
      const [empty, truncHeader, truncData, notGguf, version, huge] = o.errors.badGguf.map((e) => e.err!);
      expect(empty).toMatch(/the magic at byte 0 needs 4 bytes/);
      expect(truncHeader).toMatch(/truncated|more than/);
      expect(truncData).toMatch(/runs past the end/);
      expect(notGguf).toMatch(/not a GGUF file/);
      expect(version).toMatch(/unsupported GGUF version 9/);
      expect(huge).toMatch(/more than its \d+ bytes can hold/);
      const [garbage, rowRange, noTensor, otherModel, signed, badCrc, truncBkp, junk] = o.errors.badPatches.map((e) => e.err!);
      expect(garbage).toMatch(/invalid JSON at byte/);
      expect(rowRange).toMatch(/row 384 is out of range: blk.0.ffn_gate has rows 0..383/);
      expect(noTensor).toMatch(/the model has no tensor blk.9.ffn_gate/);
      expect(otherModel).toMatch(/made for another model: base.sha256 is 0+ but the model file's sha256 is [0-9a-f]{64}/);
      expect(signed).toMatch(/signed/);
      expect(badCrc).toMatch(/checksum mismatch/);
      expect(truncBkp).toMatch(/checksum mismatch|truncated|needs/);
      expect(junk).toMatch(/neither a .bkp file/);
      expect(o.errors.revertNothing!).toMatchObject({ err: expect.stringMatching(/no patch is applied/) });
      expect(o.errors.tokenOutOfRange!).toMatchObject({ err: expect.stringMatching(/token 1073741824 at index 1 is outside the vocabulary/) });
      expect(o.errors.tooLong!).toMatchObject({ err: expect.stringMatching(/exceed this model's context/) });
      expect(o.errors.detokenizeOutOfRange!).toMatchObject({ err: expect.stringMatching(/token 4294967295 at index 0 is outside/) });
      // and the model still gives its exact outputs afterwards
      expectSameOutputs(o.afterErrors, base, model.config.vocabSize, `${name} after the errors`);
    });
  });
});

describe('the engine component in process', () => {
  it.each(['q1_0', 'f16', 'f32'] as const)('matches @bankai/model bit for bit on a random Qwen3 model with %s weights', async (weights) => {
    const dir = mkdtempSync(join(tmpdir(), 'bankai-component-gen-'));
    try {
      const file = join(dir, 'm.gguf');
      await writeQwen3File(file, presetOptions('tiny', { weights, seed: 3 }));
      const bytes = new Uint8Array(readFileSync(file));
      const ref = await Model.load(bytesSource(bytes, 'm.gguf'));
      const cm = engine.Model.load(bytes);
      try {
        const rng = new Rng(5);
        // 80 tokens: two forward batches of the 64-token runner
        const seq = Array.from({ length: 80 }, () => rng.int(ref.config.vocabSize));
        const got = cm.logprobs(Uint32Array.from(seq));
        const want = ref.logprobs(seq);
        const flat = new Float32Array(want.length);
        got.forEach((row, i) => flat.set(row, i * ref.config.vocabSize));
        expect(describeF32Diff(flat, want, ref.config.vocabSize)).toBeUndefined();
        // a prompt of more than one 64-token batch, too
        const long = 'The quick brown fox jumps over the lazy dog. '.repeat(12);
        expect(ref.encode(long).length).toBeGreaterThan(64);
        for (const p of ['hello world', 'Q: 1+1 A:', 'the', long]) expect(cm.generate(p, 40)).toBe(ref.generate(p, { maxTokens: 40 }).text);
        expect(JSON.parse(cm.info()).sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      } finally {
        cm[Symbol.dispose]();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('tokenizes and detokenizes as @bankai/model, user-defined tokens and invalid UTF-8 included', async () => {
    // the model-gen vocabulary with <|im_start|> / <|im_end|> as user-defined tokens (type 4),
    // which are cut out of any text, and <|endoftext|> as a control token, which is not
    const spec = qwen3WriteSpec(presetOptions('tiny', { seed: 2 }));
    const metadata = [...spec.metadata];
    const tokens = metadata.find(([k]) => k === 'tokenizer.ggml.tokens')![1].value as string[];
    const types = Int32Array.from(metadata.find(([k]) => k === 'tokenizer.ggml.token_type')![1].value as Int32Array);
    types[tokens.indexOf('<|im_start|>')] = 4;
    types[tokens.indexOf('<|im_end|>')] = 4;
    types[tokens.indexOf('<|endoftext|>')] = 3;
    spec.metadata = metadata.map(([k, v]) => [k, k === 'tokenizer.ggml.token_type' ? meta.i32s(types) : v] as const);
    const sink = memorySink();
    await writeGguf(sink, spec);
    const bytes = sink.bytes();
    const ref = await Model.load(bytesSource(bytes, 'm.gguf'));
    const cm = engine.Model.load(bytes);
    try {
      const texts = [
        '', ' ', 'a', "I'm sure they'LL say it's DONE, we'Ve 'd", '  two  spaces\n\n\tand tabs \r\n end ',
        '12345 + 67.8 = ?', 'ünïcödé Ωμέγα кириллица 数字 ４５ 😀👍🏽 \u00a0nbsp\u2009thin', 'x\u0085y\ufeffz',
        '<|im_start|>user\nhello<|im_end|><|endoftext|>', '<|im_start|><|im_start|>', 'The quick brown fox jumps over the lazy dog.',
      ];
      for (const t of texts) {
        const want = ref.encode(t);
        expect(Array.from(cm.tokenize(t)), JSON.stringify(t)).toEqual(want);
        expect(cm.detokenize(Uint32Array.from(want)), JSON.stringify(t)).toBe(ref.decode(want));
      }
      // random id sequences decode to the same text, cut UTF-8 sequences becoming U+FFFD alike
      const rng = new Rng(9);
      for (let i = 0; i < 200; i++) {
        const ids = Array.from({ length: 1 + rng.int(8) }, () => rng.int(ref.tokenizer.vocabSize));
        expect(cm.detokenize(Uint32Array.from(ids)), `${ids}`).toBe(ref.decode(ids));
      }
    } finally {
      cm[Symbol.dispose]();
    }
  });

  it('tokenizes the llama.cpp parity texts as @bankai/model on the rich vocabulary (multilingual merges, user-defined tokens)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bankai-component-tok-'));
    try {
      const file = join(dir, 'rich.gguf');
      await writeRichModel(file);
      const bytes = new Uint8Array(readFileSync(file));
      const ref = await Model.load(bytesSource(bytes, 'rich.gguf'));
      const cm = engine.Model.load(bytes);
      try {
        const bad: string[] = [];
        for (const [i, t] of TEXTS.entries()) {
          const want = ref.encode(t);
          const got = Array.from(cm.tokenize(t));
          if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`text[${i}] ${JSON.stringify(t)}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
          else if (cm.detokenize(Uint32Array.from(want)) !== ref.decode(want)) bad.push(`text[${i}] ${JSON.stringify(t)}: detokenize differs`);
        }
        expect(bad, `${bad.length} of ${TEXTS.length} texts differ\n${bad.slice(0, 8).join('\n')}`).toEqual([]);
      } finally {
        cm[Symbol.dispose]();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fingerprints the file as sha256 does, for every length of the last block', () => {
    // bytes after the tensor data are allowed, so one model file gives 65 consecutive lengths
    const bytes = new Uint8Array(readFileSync(modelPath));
    for (let extra = 0; extra <= 64; extra++) {
      const b = new Uint8Array(bytes.length + extra);
      b.set(bytes);
      for (let i = 0; i < extra; i++) b[bytes.length + i] = (i * 151 + 7) & 0xff;
      const cm = engine.Model.load(b);
      expect(JSON.parse(cm.info()).sha256, `+${extra} bytes`).toBe(createHash('sha256').update(b).digest('hex'));
      cm[Symbol.dispose]();
    }
  });

  it('normalizes overlapping flips as the patch algebra does: same count, same weights, stats checked', async () => {
    const bytes = new Uint8Array(readFileSync(modelPath));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const ref = await Model.load(bytesSource(bytes, 'tiny.gguf'));
    const shape = modelShape(ref, sha256);
    const oneBit = [...shape.tensors].filter(([, t]) => t.type === 41).map(([name]) => name.replace(/\.weight$/, ''));
    const shapeOf = (t: string) => (shape.tensors.get(t) ?? shape.tensors.get(`${t}.weight`))!;
    const cm = engine.Model.load(bytes);
    const rng = new Rng(21);
    const seq = ref.encode('Q: what is 12+7? A: 19');
    const flat = (rows: Float32Array[]) => {
      const out = new Float32Array(rows.length * ref.config.vocabSize);
      rows.forEach((r, i) => out.set(r, i * ref.config.vocabSize));
      return out;
    };
    let rewritten = 0; // trials whose canonical form differs in length from the flips given
    try {
      for (let trial = 0; trial < 24; trial++) {
        // few tensors and rows, so rows, groups and bits collide: a row flip plus all its groups
        // cancels, most groups of a row become a row flip plus the rest, ...
        const tensors = Array.from({ length: 1 + rng.int(2) }, () => oneBit[rng.int(oneBit.length)]!);
        const raw = new Map<string, Flip>();
        for (let i = 0; i < 1 + rng.int(40); i++) {
          const tensor = tensors[rng.int(tensors.length)]!;
          const { cols } = shapeOf(tensor);
          const row = rng.int(3);
          const k = rng.int(3);
          const f: Flip = k === 0 ? { tensor, row } : k === 1 ? { tensor, row, group: rng.int(cols / 128) } : { tensor, row, bit: rng.int(cols) };
          raw.set(JSON.stringify(f), f); // exact repeats are refused by both readers
        }
        const flips = [...raw.values()];
        const recorded = trial % 2 === 0;
        const baseTensors: Record<string, [number, number]> = Object.fromEntries(recorded ? [...new Set(flips.map((f) => f.tensor))].map((t) => {
          const { cols, rows } = shapeOf(t);
          return [t, [cols, rows] as [number, number]];
        }) : []);
        const doc: Record<string, unknown> = { format: 'bankai-patch', version: 1, base: { tensors: baseTensors }, provenance: { tool: 'component.test' }, flips };
        if (trial % 3 === 0) doc.stats = computeStats({ base: { tensors: baseTensors }, flips: normalize(flips, new Map(Object.entries(baseTensors).map(([n, [c, r]]) => [n, { cols: c, rows: r }]))) });
        const text = JSON.stringify(doc);
        const applied = applyPatch(ref, parseManifest(text), { sha256 });
        const want = ref.logprobs(seq);
        const n = cm.applyPatch(new TextEncoder().encode(text));
        expect(n, `trial ${trial}: flips applied`).toBe(applied.flips);
        if (n !== flips.length) rewritten++;
        expect(describeF32Diff(flat(cm.logprobs(Uint32Array.from(seq))), want, ref.config.vocabSize), `trial ${trial}`).toBeUndefined();
        applied.revert();
        cm.revertPatch();
        if (doc.stats) {
          const wrong = JSON.stringify({ ...doc, stats: { ...(doc.stats as object), flips: (doc.stats as { flips: number }).flips + 1 } });
          expect(() => parseManifest(wrong)).toThrow(/stats/);
          expect(() => cm.applyPatch(new TextEncoder().encode(wrong))).toThrow(/stats do not match the flips/);
        }
      }
      expect(describeF32Diff(flat(cm.logprobs(Uint32Array.from(seq))), ref.logprobs(seq), ref.config.vocabSize)).toBeUndefined();
      expect(rewritten).toBeGreaterThan(5);
    } finally {
      cm[Symbol.dispose]();
    }
  });

  it('never traps on seeded mutations of the GGUF file or of a patch', async () => {
    const bytes = new Uint8Array(readFileSync(modelPath));
    const ref = await Model.load(bytesSource(bytes, 'tiny.gguf'));
    const manifest = createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.0.ffn_gate', row: 5 }, { tensor: 'blk.1.attn_q', row: 7, group: 0 }, { tensor: 'blk.3.ffn_up', row: 1, bit: 3 }] });
    const patchForms = [encodeBinary(manifest), new TextEncoder().encode(formatManifest(manifest))];
    const cm = engine.Model.load(bytes);
    const rng = new Rng(11);
    let errs = 0;
    let loads = 0;
    const tryIt = (f: () => void) => {
      try {
        f();
        loads++;
      } catch (e) {
        // result::err is a ComponentError with the message as payload; a trap is a WebAssembly.RuntimeError
        expect((e as { payload?: unknown }).payload, String(e)).toEqual(expect.any(String));
        errs++;
      }
    };
    // the header region (metadata, tokenizer, tensor infos) ends where the tensor data starts
    const headerEnd = (await readGguf(bytesSource(bytes, 'tiny.gguf'))).dataOffset;
    for (let i = 0; i < 150; i++) {
      const b = bytes.slice(0, rng.nextFloat() < 0.2 ? rng.int(bytes.length) : bytes.length);
      for (let k = 1 + rng.int(4); k > 0; k--) {
        const at = rng.int(Math.min(headerEnd, b.length) || 1);
        b[at] = rng.nextFloat() < 0.5 ? rng.int(256) : b[at]! ^ (1 << rng.int(8));
      }
      tryIt(() => engine.Model.load(b)[Symbol.dispose]());
    }
    for (let i = 0; i < 300; i++) {
      const form = patchForms[i % 2]!;
      const b = form.slice(0, rng.nextFloat() < 0.2 ? rng.int(form.length) : form.length);
      for (let k = 1 + rng.int(3); k > 0; k--) if (b.length > 0) b[rng.int(b.length)] = rng.int(256);
      tryIt(() => {
        cm.applyPatch(b);
        cm.revertPatch();
      });
    }
    expect(errs).toBeGreaterThan(100);
    // the component is still sound: the unpatched outputs are the reference's
    const seq = ref.encode('Q: what is 2+2? A: 4');
    const flat = new Float32Array(seq.length * ref.config.vocabSize);
    cm.logprobs(Uint32Array.from(seq)).forEach((row, i) => flat.set(row, i * ref.config.vocabSize));
    expect(describeF32Diff(flat, ref.logprobs(seq), ref.config.vocabSize)).toBeUndefined();
    expect(loads + errs).toBe(450);
    cm[Symbol.dispose]();
  }, 120_000);
});
