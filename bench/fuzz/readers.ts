// The readers the fuzz suite attacks, their seed inputs, and one seeded mutated input per index.
//
//   gguf      readGguf + readModelConfig + tokenizerFromHeader + the chat template, and for one
//             input in 8 that gets that far a full Model.load (weights into a reused engine) and
//             a few tokens of generation; seeds: the shipped tiny model and a generated one;
//             mutations: bytes (mostly in the header), tensor-info fields, and metadata values
//             re-encoded as valid GGUF (ids outside the vocabulary, duplicate tokens, wrong types)
//   patch     readPatch on JSON text: our manifests (row, group, bit flips, signed) and the
//             upstream fixtures; mutations: JSON tree edits (hostile values, prototype keys, deep
//             nesting) and byte edits of the text; then the whole downstream (binary and upstream
//             encoders, checks against the model, stats) and the round trip manifest -> .bkp
//   bkp       readPatch on binary patches of the same manifests; mutations: byte edits, with the
//             CRC-32 fixed up for 3 in 4 (so the decoder's later checks are reached)
//   probes    parseProbeFile on the tiny model's probe files and the upstream probe fixtures;
//             mutations: JSON tree edits and byte edits; then selection and the round trip
//   component the engine component (engine-wasm/build/bankai-engine.component.wasm) on the gguf,
//             patch and bkp inputs in turn, differentially: Model.load / apply-patch on the tiny
//             model must accept exactly what @bankai/model accepts (upstream patch JSON, which
//             the component does not read, aside), apply as many flips, and never trap
//
// An input is a pure function of (seed, reader, index): `npx tsx bench/fuzz.ts --reader gguf
// --from 1234 --inputs 1` reproduces input 1234 alone.

import { readFileSync, readdirSync } from 'node:fs';
import { EngineMemoryError, createEngine, type Engine } from '@bankai/engine-wasm';
import { engine as component } from '@bankai/engine-wasm/component';
import { GgufError, bytesSource, memorySink, readGguf, writeGguf, type GgufFile, type GgufValue } from '@bankai/gguf';
import {
  ChatTemplate, ChatTemplateError, ContextLengthError, Model, ModelConfigError, TokenizerError, applyPatch, readModelConfig, tokenizerFromHeader,
} from '@bankai/model';
import { presetOptions, qwen3WriteSpec } from '@bankai/model-gen';
import {
  PatchFormatError, canonicalJson, checkPatchForModel, computeStats, createManifest, crc32, decodeBinary, encodeBinary, formatManifest,
  formatUpstream, generateSigningKey, modelShapeOf, readPatch, signManifest, type ModelShape, type PatchManifest,
} from '@bankai/patch-format';
import { ProbeFormatError, formatProbeFile, parseProbeFile, selectProbes, tinyProbePath } from '@bankai/probes';
import { Rng, hash32 } from '@bankai/rng';
import { modelPath as tinyModelPath } from '@bankai/tiny-model';
import { mutateBytes, mutateJsonValue, randomMetaEdit, stringifyWithRaw, type MetaEdit } from './mutate.js';

export const READERS = ['gguf', 'patch', 'bkp', 'probes', 'component'] as const;
export type ReaderName = (typeof READERS)[number];

/** The engine component's result::err (its message), as a typed error of this harness. */
export class ComponentErr extends Error {
  override name = 'ComponentErr';
}

/** The project's typed errors: what every malformed input must end in. */
const TYPED: readonly (abstract new (...args: never[]) => Error)[] = [
  GgufError, ModelConfigError, TokenizerError, ChatTemplateError, ContextLengthError, EngineMemoryError, PatchFormatError, ProbeFormatError,
  ComponentErr,
];

export type Outcome = 'ok' | 'typed' | 'raw';

export interface InputResult {
  readonly outcome: Outcome;
  /** The error's class name and message (typed and raw). */
  readonly error?: string;
  readonly stack?: string;
  readonly bytes: number;
}

export function classify(e: unknown): Outcome {
  return TYPED.some((T) => e instanceof T) ? 'typed' : 'raw';
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const FIXTURES = new URL('../../test/fixtures/upstream-bankai/', import.meta.url);

// ---- seeds ------------------------------------------------------------------------------------

interface Seeds {
  gguf: { bytes: Uint8Array; header: GgufFile }[];
  shape: ModelShape;
  manifests: PatchManifest[];
  patchTexts: string[];
  bkps: Uint8Array[];
  probeTexts: string[];
}

let seeds: Promise<Seeds> | undefined;

async function buildSeeds(): Promise<Seeds> {
  const tiny = new Uint8Array(readFileSync(tinyModelPath));
  const sink = memorySink();
  await writeGguf(sink, qwen3WriteSpec(presetOptions('tiny', { seed: 3 })));
  const generated = sink.bytes();
  const gguf = await Promise.all([tiny, generated].map(async (bytes) => ({ bytes, header: await readGguf(bytesSource(bytes, 'seed.gguf')) })));
  const shape = modelShapeOf(gguf[0]!.header);
  const key = generateSigningKey();
  const base = { provenance: { tool: 'bankai-fuzz', seed: 1, options: { layers: [0, 1], lambda: 2 } }, model: shape };
  const manifests = [
    createManifest({ ...base, name: 'rows', flips: [{ tensor: 'blk.0.ffn_gate', row: 3 }, { tensor: 'blk.1.ffn_down', row: 7 }, { tensor: 'blk.3.attn_q', row: 100 }] }),
    createManifest({ ...base, name: 'mixed', description: 'rows, groups and bits', flips: [
      { tensor: 'blk.0.ffn_up', row: 1 }, { tensor: 'blk.0.ffn_up', row: 2, group: 0 }, { tensor: 'blk.2.ffn_down', row: 5, group: 1 },
      { tensor: 'blk.2.attn_v', row: 9, bit: 17 }, { tensor: 'token_embd', row: 42 },
    ] }),
  ];
  manifests.push(signManifest(manifests[0]!, key.secretKey));
  const upstream = readdirSync(new URL('patches/', FIXTURES)).filter((f) => f.endsWith('.json')).map((f) => readFileSync(new URL(`patches/${f}`, FIXTURES), 'utf8'));
  const patchTexts = [...manifests.map(formatManifest), ...upstream.slice(0, 4), formatUpstream(manifests[0]!)];
  const bkps = [...manifests.map(encodeBinary), ...upstream.slice(0, 2).map((t) => encodeBinary(readPatch(t).manifest))];
  const probeTexts = [
    ...(['addition', 'primality'] as const).map((skill) => readFileSync(tinyProbePath(skill), 'utf8')),
    ...['probes-builtin.json', 'probes-exp12-calculus.json', 'probes-exp13-variations.json'].map((f) => readFileSync(new URL(f, FIXTURES), 'utf8')),
    '[{"prompt": "Q: 1+1=", "correct": " 2", "wrong": " 3"}]',
    '{"probes": [{"name": "a", "category": "c", "prompt": "x", "correct": " y", "alternates": [" z"]}]}',
  ];
  return { gguf, shape, manifests, patchTexts, bkps, probeTexts };
}

export function loadSeeds(): Promise<Seeds> {
  return (seeds ??= buildSeeds());
}

// ---- mutated inputs ---------------------------------------------------------------------------

const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)]!;

export function inputRng(seed: number, reader: ReaderName, index: number): Rng {
  return new Rng(hash32(`${seed}:${reader}`), index);
}

/** Metadata edits re-encoded as a valid GGUF (same tensors, same data). */
async function reencode(rng: Rng, seed: { bytes: Uint8Array; header: GgufFile }): Promise<Uint8Array> {
  const meta = new Map<string, GgufValue>(seed.header.metadata);
  for (let n = 1 + rng.int(2); n > 0; n--) applyMetaEdit(meta, randomMetaEdit(rng, [...meta.keys()]), rng);
  const sink = memorySink();
  await writeGguf(sink, {
    metadata: meta,
    tensors: seed.header.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, data: seed.bytes.subarray(t.offset, t.offset + t.nBytes) })),
  });
  return sink.bytes();
}

function applyMetaEdit(meta: Map<string, GgufValue>, edit: MetaEdit, rng: Rng): void {
  const tokens = meta.get('tokenizer.ggml.tokens');
  const strings = tokens?.type === 'array' && tokens.itemType === 'string' ? tokens.value : undefined;
  switch (edit.kind) {
    case 'set':
      if (edit.key !== 'general.alignment') meta.set(edit.key, edit.value);
      break;
    case 'delete':
      if (edit.key !== 'general.alignment') meta.delete(edit.key);
      break;
    case 'tokens': {
      if (!strings || strings.length === 0) break;
      const next = [...strings];
      if (edit.op === 'duplicate') next[rng.int(next.length)] = next[rng.int(next.length)]!;
      else if (edit.op === 'empty') next.length = 0;
      else if (edit.op === 'drop-last') next.pop();
      else next.push(`extra${rng.int(100)}`);
      meta.set('tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: next });
      break;
    }
    case 'merges': {
      const m = meta.get('tokenizer.ggml.merges');
      if (m?.type !== 'array' || m.itemType !== 'string' || m.value.length === 0) break;
      const next = edit.op === 'empty' ? [] : m.value.map((x, i) => (i === rng.int(m.value.length) ? x.replace(' ', '') : x));
      meta.set('tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: next });
      break;
    }
    case 'template':
      meta.set('tokenizer.chat_template', { type: 'string', value: edit.text });
      break;
  }
}

/** Tensor-info fields of a GGUF header overwritten with boundary values (dims, type, offset). */
function mutateTensorInfo(rng: Rng, seed: { bytes: Uint8Array; header: GgufFile }): Uint8Array {
  const b = seed.bytes.slice();
  const dv = new DataView(b.buffer);
  const t = pick(rng, seed.header.tensors);
  const nameLen = Number(dv.getBigUint64(t.infoOffset, true));
  const dimsAt = t.infoOffset + 8 + nameLen;
  const nDims = dv.getUint32(dimsAt, true);
  const typeAt = dimsAt + 4 + 8 * nDims;
  const big = [0n, 1n, 2n, 127n, 128n, 129n, 0xffffffffn, 1n << 32n, 1n << 53n, 1n << 62n, (1n << 64n) - 1n];
  switch (rng.int(5)) {
    case 0: dv.setUint32(dimsAt, pick(rng, [0, 1, 2, 3, 4, 5, 0xffffffff]), true); break;
    case 1: dv.setBigUint64(dimsAt + 4 + 8 * rng.int(nDims), pick(rng, big), true); break;
    case 2: dv.setUint32(typeAt, pick(rng, [0, 1, 2, 8, 40, 41, 42, 1000, 0xffffffff]), true); break;
    case 3: dv.setBigUint64(typeAt + 4, pick(rng, [...big, BigInt(t.relativeOffset + 32), BigInt(t.relativeOffset + 1)]), true); break;
    default: dv.setBigUint64(t.infoOffset, pick(rng, [0n, BigInt(nameLen + 1), 1n << 40n, (1n << 64n) - 1n]), true);
  }
  return b;
}

/** Input `index` of `reader`, as bytes. */
export async function makeInput(seed: number, reader: ReaderName, index: number): Promise<Uint8Array> {
  const s = await loadSeeds();
  const rng = inputRng(seed, reader, index);
  switch (reader) {
    case 'gguf': {
      const g = pick(rng, s.gguf);
      const r = rng.nextFloat();
      if (r < 0.3) return reencode(rng, g);
      if (r < 0.45) return mutateTensorInfo(rng, g);
      return mutateBytes(rng, g.bytes, { hot: g.header.dataOffset, donors: s.gguf.map((x) => x.bytes) });
    }
    case 'patch': {
      const text = pick(rng, s.patchTexts);
      if (rng.nextFloat() < 0.25) return mutateBytes(rng, enc.encode(text), { hot: 512 });
      const tree = stringifyWithRaw(rng, mutateJsonValue(rng, JSON.parse(text)), rng.nextFloat() < 0.5);
      return rng.nextFloat() < 0.15 ? mutateBytes(rng, enc.encode(tree), { maxEdits: 2 }) : enc.encode(tree);
    }
    case 'bkp': {
      const b = mutateBytes(rng, pick(rng, s.bkps), { hot: 64, donors: s.bkps });
      if (b.length >= 8 && rng.nextFloat() < 0.75) {
        // a valid checksum over the mutated content: the decoder's structural checks are reached
        const crc = crc32(b.subarray(0, b.length - 4));
        new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, crc, true);
      }
      return b;
    }
    case 'component': {
      // the other readers' inputs in turn: gguf, patch, bkp
      const sub = (['gguf', 'patch', 'bkp'] as const)[index % 3]!;
      return makeInput(seed, sub, Math.floor(index / 3));
    }
    case 'probes': {
      const text = pick(rng, s.probeTexts);
      if (rng.nextFloat() < 0.25) return mutateBytes(rng, enc.encode(text), { hot: 256 });
      return enc.encode(stringifyWithRaw(rng, mutateJsonValue(rng, JSON.parse(text)), rng.nextFloat() < 0.3));
    }
  }
}

// ---- running one input ---------------------------------------------------------------------------

let engine: { e: Engine; mark: number } | undefined;

async function runGguf(bytes: Uint8Array, rng: Rng): Promise<void> {
  const src = bytesSource(bytes, 'fuzz.gguf');
  const header = await readGguf(src);
  readModelConfig(header);
  const tok = tokenizerFromHeader(header);
  ChatTemplate.fromHeader(header, tok).render([{ role: 'user', content: 'hi' }]);
  tok.decode(tok.encode('Q: 12+7= A: 19\n'));
  if (rng.nextFloat() < 0.125) {
    engine ??= await createEngine().then((e) => ({ e, mark: e.mark() }));
    engine.e.reset(engine.mark);
    const model = await Model.load(src, { engine: engine.e, maxContext: 16, maxBatch: 16 });
    model.generate('Q: 1+1=', { maxTokens: 3 });
  }
}

function runPatchDownstream(m: PatchManifest, shape: ModelShape): void {
  computeStats(m);
  formatManifest(m);
  const bkp = encodeBinary(m);
  const back = decodeBinary(bkp, 'round-trip.bkp');
  if (canonicalJson(back) !== canonicalJson(m)) throw new Error('invariant: decodeBinary(encodeBinary(m)) differs from m');
  try {
    checkPatchForModel(m, shape, { force: true });
  } catch (e) {
    if (!(e instanceof PatchFormatError)) throw e; // flips outside the model are refused, typed
  }
  try {
    formatUpstream(m); // bit flips and non-projection tensors cannot be written upstream: typed
  } catch (e) {
    if (!(e instanceof PatchFormatError)) throw e;
  }
}

function runProbes(bytes: Uint8Array): void {
  const f = parseProbeFile(dec.decode(bytes), 'fuzz.json');
  selectProbes(f);
  const again = parseProbeFile(formatProbeFile(f), 'round-trip.json');
  if (formatProbeFile(again) !== formatProbeFile(f)) throw new Error('invariant: a probe file does not survive its own round trip');
}

let tinyModels: Promise<{ ts: Model; c: component.Model; sha256: string }> | undefined;

/** The component against @bankai/model on one input: a trap or any disagreement is raw. */
async function runComponent(bytes: Uint8Array): Promise<void> {
  const isGguf = bytes.length >= 4 && dec.decode(bytes.subarray(0, 4)) === 'GGUF';
  const outcome = (f: () => unknown): { err?: string; value?: unknown } => {
    try {
      return { value: f() };
    } catch (e) {
      const payload = (e as { payload?: unknown }).payload;
      if (typeof payload !== 'string') throw new Error(`the component trapped: ${String(e)}`);
      return { err: payload };
    }
  };
  let tsError: unknown;
  let tsFlips: number | undefined;
  let upstream = false; // upstream patch JSON: only the TS reads it
  let signed = false; // a signed patch: the component refuses it (no ed25519 inside)
  let c: { err?: string; value?: unknown };
  if (isGguf) {
    try {
      if (engine === undefined) {
        const e = await createEngine();
        engine = { e, mark: e.mark() };
      }
      const eng = engine;
      eng.e.reset(eng.mark);
      await Model.load(bytesSource(bytes, 'fuzz.gguf'), { engine: eng.e, maxContext: 16, maxBatch: 16 });
    } catch (e) {
      tsError = e;
    }
    c = outcome(() => component.Model.load(bytes)[Symbol.dispose]());
  } else {
    const tiny = await (tinyModels ??= (async () => {
      const gguf = new Uint8Array(readFileSync(tinyModelPath));
      const { createHash } = await import('node:crypto');
      return { ts: await Model.load(bytesSource(gguf, 'tiny.gguf')), c: component.Model.load(gguf), sha256: createHash('sha256').update(gguf).digest('hex') };
    })());
    try {
      const loaded = readPatch(bytes, { file: 'fuzz.patch' });
      upstream = loaded.kind !== 'manifest' && loaded.kind !== 'binary';
      signed = loaded.manifest.signature !== undefined;
      const applied = applyPatch(tiny.ts, loaded.manifest, { sha256: tiny.sha256 });
      tsFlips = applied.flips;
      applied.revert();
    } catch (e) {
      tsError = e;
    }
    c = outcome(() => {
      const n = tiny.c.applyPatch(bytes);
      tiny.c.revertPatch();
      return n;
    });
  }
  if (tsError !== undefined && classify(tsError) === 'raw') throw tsError; // a bug on the TS side
  if (c.err !== undefined && (upstream || (signed && /is signed/.test(c.err)))) throw new ComponentErr(c.err);
  if ((tsError === undefined) !== (c.err === undefined)) {
    throw new Error(`the component and @bankai/model disagree: @bankai/model ${tsError === undefined ? 'accepts' : `refuses (${(tsError as Error).message.slice(0, 200)})`}, ` +
      `the component ${c.err === undefined ? 'accepts' : `refuses (${c.err.slice(0, 200)})`}`);
  }
  if (!isGguf && c.err === undefined && c.value !== tsFlips) throw new Error(`the component applied ${String(c.value)} flips, @bankai/model ${tsFlips}`);
  if (c.err !== undefined) throw new ComponentErr(c.err);
}

/** Runs reader `reader` on `bytes`: ok, a typed error, or a raw error (a bug). */
export async function runInput(reader: ReaderName, bytes: Uint8Array, rng: Rng): Promise<InputResult> {
  try {
    const s = await loadSeeds();
    if (reader === 'gguf') await runGguf(bytes, rng);
    else if (reader === 'probes') runProbes(bytes);
    else if (reader === 'component') await runComponent(bytes);
    else runPatchDownstream(readPatch(bytes, { file: reader === 'bkp' ? 'fuzz.bkp' : 'fuzz.json' }).manifest, s.shape);
    return { outcome: 'ok', bytes: bytes.length };
  } catch (e) {
    const outcome = classify(e);
    const err = e as Error;
    return { outcome, error: `${err?.name ?? typeof e}: ${String(err?.message ?? e).slice(0, 300)}`, ...(outcome === 'raw' ? { stack: err?.stack } : {}), bytes: bytes.length };
  }
}

export interface SliceStats {
  reader: ReaderName;
  inputs: number;
  ok: number;
  typed: number;
  raw: number;
  /** The raw errors: input index and message (first 20). */
  rawErrors: { index: number; error: string; stack?: string }[];
  /** Slowest input, ms. */
  slowestMs: number;
  slowestIndex: number;
  /** Peak V8 heap + array buffers of this thread, bytes. */
  peakBytes: number;
  /** Most common typed-error messages, by their first words (a coverage hint). */
  typedKinds: Record<string, number>;
}

export function emptyStats(reader: ReaderName): SliceStats {
  return { reader, inputs: 0, ok: 0, typed: 0, raw: 0, rawErrors: [], slowestMs: 0, slowestIndex: -1, peakBytes: 0, typedKinds: {} };
}

export function kindOf(error: string): string {
  // "PatchFormatError: fuzz.json: flips[3].row: row must be an integer 0..2147483647, got -1. Fix: ..."
  //   -> "PatchFormatError: row must be an integer"
  const [name, ...rest] = error.split(': ');
  const parts = rest.join(': ').split('. Fix')[0]!.split(': ')
    .filter((p) => !/^(fuzz|round-trip)\.(json|bkp|gguf)$/.test(p) && !/^(patch|model\.gguf)$/.test(p) && !/^(at )?byte \d+$/.test(p) && !/^[\w.]*[[\].][\w.[\]]*$/.test(p));
  const words = (parts[0] ?? '').replace(/"[^"]*"|'[^']*'/g, 'X').replace(/\d+/g, 'N').split(/\s+/).slice(0, 5).join(' ');
  return `${name}: ${words}`;
}

/** Runs inputs [from, from + count) of `reader` in this thread; `onInput` after each. */
export async function runSlice(
  reader: ReaderName, seed: number, from: number, count: number,
  onInput?: (index: number, r: InputResult) => void,
): Promise<SliceStats> {
  const stats = emptyStats(reader);
  for (let i = from; i < from + count; i++) {
    const bytes = await makeInput(seed, reader, i);
    const t0 = performance.now();
    const r = await runInput(reader, bytes, inputRng(seed, reader, i + 0x40000000));
    const ms = performance.now() - t0;
    stats.inputs++;
    stats[r.outcome]++;
    if (r.outcome === 'raw' && stats.rawErrors.length < 20) stats.rawErrors.push({ index: i, error: r.error!, stack: r.stack });
    if (r.outcome === 'typed') {
      const k = kindOf(r.error!);
      stats.typedKinds[k] = (stats.typedKinds[k] ?? 0) + 1;
    }
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms;
      stats.slowestIndex = i;
    }
    const m = process.memoryUsage();
    stats.peakBytes = Math.max(stats.peakBytes, m.heapUsed + m.arrayBuffers);
    onInput?.(i, r);
  }
  return stats;
}

