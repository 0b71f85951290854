// Our patch manifest: a readable, diffable JSON document that names the base model by
// fingerprint, says where the patch came from, and lists its flips in canonical form.
//
// {
//   "format": "bankai-patch", "version": 1,
//   "name": "...", "description": "...",                         (optional)
//   "base": { "model": "prism-ml/Bonsai-8B-gguf",                (optional hub name)
//             "sha256": "<64 hex: the GGUF file>",               (optional)
//             "oneBitWeights": 7.5e9,                            (optional: model's 1-bit total)
//             "tensors": { "blk.1.ffn_gate": [4096, 12288] } },  ([cols, rows] = [ne0, ne1])
//   "provenance": { "tool": "bankai", "toolVersion", "strategy", "options", "seed", "metric",
//                   "probesSha256", "fitness", "createdAt", ...more },   (all but tool optional)
//   "stats": { ... },        (derived from the flips; checked when read, recomputed when written)
//   "flips": [ { "tensor": "blk.1.ffn_gate", "row": 1150 }, ... ],   (canonical: see algebra.ts)
//   "signature": { "alg": "ed25519", "publicKey": "<64 hex>", "value": "<128 hex>" } (optional)
// }
// Keys are written in this order; free-form objects (options, extra provenance) key-sorted.

import { bitsFlipped, isCanonical, normalize } from './algebra.js';
import { at, fail, type Where } from './errors.js';
import {
  checkTensorName,
  compareTensorNames,
  describeFlip,
  flipKey,
  flipKind,
  GROUP_SIZE,
  isPlainObject,
  MAX_INDEX,
  parseFlip,
  show,
  type Flip,
} from './flip.js';
import { checkJson, checkJsonObject, parseJsonText, prettyJson, type JsonObject, type JsonValue } from './json.js';
import { lookupShape, oneBitWeightCount, type ModelShape, type TensorShape } from './shape.js';

export const MANIFEST_FORMAT = 'bankai-patch';
export const MANIFEST_VERSION = 1;

export interface BaseModel {
  /** Hub name of the model the patch was made on, e.g. `prism-ml/Bonsai-8B-gguf`. */
  readonly model?: string;
  /** sha256 (lowercase hex) of the GGUF file: what model hubs publish. */
  readonly sha256?: string;
  /** Total 1-bit weights of the model, for stats.fractionOfModel. */
  readonly oneBitWeights?: number;
  /** Shapes of the patched tensors as GGUF gives them: [cols, rows] = [ne0, ne1]. */
  readonly tensors: Readonly<Record<string, readonly [cols: number, rows: number]>>;
}

export interface Provenance {
  readonly tool: string;
  readonly toolVersion?: string;
  readonly strategy?: string;
  readonly options?: JsonObject;
  readonly seed?: number | string;
  readonly metric?: string;
  readonly probesSha256?: string;
  readonly fitness?: number;
  /** ISO 8601 timestamp. */
  readonly createdAt?: string;
  readonly [extra: string]: JsonValue | undefined;
}

export interface PatchSignature {
  readonly alg: 'ed25519';
  /** 32-byte public key, hex. */
  readonly publicKey: string;
  /** 64-byte signature over canonicalBytes(manifest), hex. */
  readonly value: string;
}

export interface PatchManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly name?: string;
  readonly description?: string;
  readonly base: BaseModel;
  readonly provenance: Provenance;
  /** Canonical flips (normalize(flips, base shapes)). */
  readonly flips: readonly Flip[];
  readonly signature?: PatchSignature;
}

export interface PatchStats {
  readonly flips: number;
  readonly rowFlips: number;
  readonly groupFlips: number;
  readonly bitFlips: number;
  /** Tensors touched. */
  readonly tensors: number;
  /** Weights flipped (exact Hamming distance from the base: a row flip counts its real row
   *  length, a group 128, a bit 1, overlaps within a row counted once). Absent when a row flip's
   *  tensor shape is unknown. */
  readonly bitsFlipped?: number;
  /** bitsFlipped / base.oneBitWeights, when both are known. */
  readonly fractionOfModel?: number;
}

const PROVENANCE_ORDER = ['tool', 'toolVersion', 'strategy', 'options', 'seed', 'metric', 'probesSha256', 'fitness', 'createdAt'] as const;
const TOP_LEVEL = ['format', 'version', 'name', 'description', 'base', 'provenance', 'stats', 'flips', 'signature'];
const SHA256_HEX = /^[0-9a-f]{64}$/;

// ---- shapes recorded in the manifest ------------------------------------------------------------

/** The tensor shapes recorded in base.tensors, as a shape map for the algebra. */
export function baseShapes(base: BaseModel): Map<string, TensorShape> {
  const shapes = new Map<string, TensorShape>();
  for (const [name, [cols, rows]] of Object.entries(base.tensors)) shapes.set(name, { rows, cols });
  return shapes;
}

// ---- creating -------------------------------------------------------------------------------

export interface ManifestInit {
  readonly name?: string;
  readonly description?: string;
  readonly base?: Partial<BaseModel>;
  readonly provenance: Provenance;
  readonly flips: readonly Flip[];
  /** The model the flips are for: fills base.tensors for every patched tensor, base.sha256 and
   *  base.oneBitWeights when not given, and checks the flips against its shapes. */
  readonly model?: ModelShape;
}

/** Builds a manifest: flips normalized (XOR semantics, canonical order), every field checked. */
export function createManifest(init: ManifestInit): PatchManifest {
  const tensors: Record<string, [number, number]> = {};
  for (const [name, shape] of Object.entries(init.base?.tensors ?? {})) tensors[name] = [shape[0], shape[1]];
  const known = baseShapes({ tensors });
  const modelShapes = init.model?.tensors;
  const shapes = new Map(known);
  for (const flip of init.flips) {
    if (shapes.has(flip.tensor)) continue;
    const s = lookupShape(modelShapes, flip.tensor);
    if (s) {
      shapes.set(flip.tensor, s);
      tensors[flip.tensor] = [s.cols, s.rows];
    }
  }
  const flips = normalize(init.flips, shapes);
  const total = modelShapes ? oneBitWeightCount(modelShapes) : 0;
  const base = {
    ...init.base,
    ...(init.base?.sha256 === undefined && init.model?.sha256 ? { sha256: init.model.sha256 } : {}),
    ...(init.base?.oneBitWeights === undefined && total > 0 ? { oneBitWeights: total } : {}),
    tensors,
  };
  const draft: Record<string, unknown> = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    name: init.name,
    description: init.description,
    base,
    provenance: init.provenance,
    flips,
  };
  return parseManifestValue(draft, { path: '' });
}

/** A copy of the manifest with other flips (normalized against its base shapes) and no
 *  signature (the old one would not cover the new content). */
export function withFlips(manifest: PatchManifest, flips: readonly Flip[], model?: ModelShape): PatchManifest {
  const { signature: _dropped, ...rest } = manifest;
  return createManifest({ ...rest, flips, model });
}

// ---- stats ----------------------------------------------------------------------------------

export function computeStats(manifest: Pick<PatchManifest, 'base' | 'flips'>): PatchStats {
  let rowFlips = 0;
  let groupFlips = 0;
  let bitFlips = 0;
  const tensors = new Set<string>();
  for (const f of manifest.flips) {
    tensors.add(f.tensor);
    const kind = flipKind(f);
    if (kind === 'row') rowFlips++;
    else if (kind === 'group') groupFlips++;
    else bitFlips++;
  }
  const bits = bitsFlipped(manifest.flips, baseShapes(manifest.base));
  const total = manifest.base.oneBitWeights;
  return {
    flips: manifest.flips.length,
    rowFlips,
    groupFlips,
    bitFlips,
    tensors: tensors.size,
    ...(bits !== undefined ? { bitsFlipped: bits } : {}),
    ...(bits !== undefined && total !== undefined ? { fractionOfModel: bits / total } : {}),
  };
}

// ---- writing --------------------------------------------------------------------------------

function orderedProvenance(p: Provenance): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of PROVENANCE_ORDER) if (p[key] !== undefined) out[key] = p[key];
  for (const key of Object.keys(p).sort()) {
    if (!(PROVENANCE_ORDER as readonly string[]).includes(key) && p[key] !== undefined) out[key] = p[key];
  }
  return out;
}

function orderedFlip(f: Flip): Record<string, unknown> {
  if (f.group !== undefined) return { tensor: f.tensor, row: f.row, group: f.group };
  if (f.bit !== undefined) return { tensor: f.tensor, row: f.row, bit: f.bit };
  return { tensor: f.tensor, row: f.row };
}

/** The manifest as a plain object in canonical key order (what the JSON file holds). */
export function orderedManifest(m: PatchManifest, opts: { signature?: boolean } = {}): Record<string, unknown> {
  const tensors: Record<string, unknown> = {};
  for (const name of Object.keys(m.base.tensors).sort(compareTensorNames)) tensors[name] = [...m.base.tensors[name]!];
  const base: Record<string, unknown> = {};
  if (m.base.model !== undefined) base.model = m.base.model;
  if (m.base.sha256 !== undefined) base.sha256 = m.base.sha256;
  if (m.base.oneBitWeights !== undefined) base.oneBitWeights = m.base.oneBitWeights;
  base.tensors = tensors;
  const out: Record<string, unknown> = { format: m.format, version: m.version };
  if (m.name !== undefined) out.name = m.name;
  if (m.description !== undefined) out.description = m.description;
  out.base = base;
  out.provenance = orderedProvenance(m.provenance);
  out.stats = computeStats(m);
  out.flips = m.flips.map(orderedFlip);
  if (opts.signature !== false && m.signature) {
    out.signature = { alg: m.signature.alg, publicKey: m.signature.publicKey, value: m.signature.value };
  }
  return out;
}

/** The manifest file text: canonical key order, 2-space indent, one flip a line (prettyJson). */
export function formatManifest(m: PatchManifest): string {
  return `${prettyJson(orderedManifest(m))}\n`;
}

/** The bytes a signature covers: the compact canonical JSON of the manifest without its
 *  signature (key order fixed, free-form objects key-sorted, flips canonical). */
export function canonicalJson(m: PatchManifest): string {
  return JSON.stringify(orderedManifest(m, { signature: false }));
}

// ---- reading --------------------------------------------------------------------------------

function optionalString(v: unknown, where: Where, maxLength = 65536): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > maxLength) {
    fail(where, `must be a string of at most ${maxLength} characters, got ${show(v)}`, 'write a JSON string or remove the field');
  }
  return v;
}

function checkSha256(v: unknown, where: Where): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !SHA256_HEX.test(v)) {
    fail(where, `must be 64 lowercase hex digits (a sha256), got ${show(v)}`, 'write the sha256 of the file in lowercase hex, or remove the field');
  }
  return v;
}

export function parseBase(v: unknown, where: Where): BaseModel {
  if (!isPlainObject(v)) fail(where, `must be an object, got ${show(v)}`, 'write "base": { "tensors": {} } at least');
  for (const key of Object.keys(v)) {
    if (!['model', 'sha256', 'oneBitWeights', 'tensors'].includes(key)) {
      fail(at(where, key), `unknown field '${key}'`, 'allowed fields: model, sha256, oneBitWeights, tensors');
    }
  }
  const model = optionalString(v.model, at(where, 'model'), 512);
  const sha256 = checkSha256(v.sha256, at(where, 'sha256'));
  let oneBitWeights: number | undefined;
  if (v.oneBitWeights !== undefined) {
    if (typeof v.oneBitWeights !== 'number' || !Number.isSafeInteger(v.oneBitWeights) || v.oneBitWeights <= 0) {
      fail(at(where, 'oneBitWeights'), `must be a positive integer, got ${show(v.oneBitWeights)}`, 'write the number of 1-bit weights of the model, or remove the field');
    }
    oneBitWeights = v.oneBitWeights;
  }
  const tensorsValue = v.tensors ?? {};
  if (!isPlainObject(tensorsValue)) fail(at(where, 'tensors'), `must be an object, got ${show(tensorsValue)}`, 'write { "blk.1.ffn_gate": [cols, rows] }');
  const tensors: Record<string, [number, number]> = {};
  for (const [name, shape] of Object.entries(tensorsValue)) {
    const w = at(at(where, 'tensors'), name);
    checkTensorName(name, w);
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((n) => Number.isInteger(n) && n > 0 && n <= MAX_INDEX)) {
      fail(w, `must be [cols, rows] (two positive integers), got ${show(shape)}`, 'write the tensor shape as GGUF gives it: [ne0, ne1]');
    }
    if (shape[0] % GROUP_SIZE !== 0) {
      fail(w, `cols ${shape[0]} is not a multiple of ${GROUP_SIZE}, so this is not a Q1_0 tensor`, 'write [cols, rows] with cols = ne0 (a multiple of 128)');
    }
    tensors[name] = [shape[0], shape[1]];
  }
  return {
    ...(model !== undefined ? { model } : {}),
    ...(sha256 !== undefined ? { sha256 } : {}),
    ...(oneBitWeights !== undefined ? { oneBitWeights } : {}),
    tensors,
  };
}

export function parseProvenance(v: unknown, where: Where): Provenance {
  if (!isPlainObject(v)) fail(where, `must be an object, got ${show(v)}`, 'write "provenance": { "tool": "<the program that made the patch>" }');
  if (typeof v.tool !== 'string' || v.tool.length === 0) {
    fail(at(where, 'tool'), `must be a non-empty string, got ${show(v.tool)}`, 'name the program that made the patch, e.g. "bankai"');
  }
  const strings = ['toolVersion', 'strategy', 'metric', 'createdAt'] as const;
  for (const key of strings) optionalString(v[key], at(where, key), 1024);
  checkSha256(v.probesSha256, at(where, 'probesSha256'));
  if (v.fitness !== undefined && (typeof v.fitness !== 'number' || !Number.isFinite(v.fitness))) {
    fail(at(where, 'fitness'), `must be a finite number, got ${show(v.fitness)}`, 'write the final fitness as a number or remove it');
  }
  if (v.seed !== undefined && typeof v.seed !== 'string' && !(typeof v.seed === 'number' && Number.isSafeInteger(v.seed))) {
    fail(at(where, 'seed'), `must be an integer or a string, got ${show(v.seed)}`, 'write the seed as an integer (or a string for larger seeds)');
  }
  if (v.options !== undefined) checkJsonObject(v.options, at(where, 'options'));
  return checkJsonObject(v, where) as unknown as Provenance;
}

export function parseSignature(v: unknown, where: Where): PatchSignature {
  if (!isPlainObject(v)) fail(where, `must be an object, got ${show(v)}`, 'remove the signature or re-sign the patch');
  for (const key of Object.keys(v)) {
    if (!['alg', 'publicKey', 'value'].includes(key)) fail(at(where, key), `unknown field '${key}'`, 'allowed fields: alg, publicKey, value');
  }
  if (v.alg !== 'ed25519') fail(at(where, 'alg'), `unsupported signature algorithm ${show(v.alg)}`, 'sign with ed25519');
  if (typeof v.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(v.publicKey)) {
    fail(at(where, 'publicKey'), `must be 64 lowercase hex digits (an ed25519 public key), got ${show(v.publicKey)}`, 're-sign the patch');
  }
  if (typeof v.value !== 'string' || !/^[0-9a-f]{128}$/.test(v.value)) {
    fail(at(where, 'value'), `must be 128 lowercase hex digits (an ed25519 signature), got ${show(v.value)}`, 're-sign the patch');
  }
  return { alg: 'ed25519', publicKey: v.publicKey, value: v.value };
}

/** Parses and checks a flip array; exact duplicates are refused (XOR would cancel them, which
 *  is never what a listed-twice flip meant). Returns the flips canonical. */
export function parseFlips(v: unknown, where: Where, base: BaseModel): Flip[] {
  if (!Array.isArray(v)) fail(where, `must be an array, got ${show(v)}`, 'write "flips": [ { "tensor": ..., "row": ... }, ... ]');
  const seen = new Map<string, number>();
  const flips = v.map((item, i) => {
    const flip = parseFlip(item, at(where, i));
    const key = flipKey(flip);
    const first = seen.get(key);
    if (first !== undefined) {
      fail(at(where, i), `${describeFlip(flip)} repeats ${where.path}[${first}]; flips are XORs, so a repeated flip cancels itself`,
        'remove the repeated entry (or both, if cancelling was meant)');
    }
    seen.set(key, i);
    return flip;
  });
  try {
    return normalize(flips, baseShapes(base));
  } catch (e) {
    const err = e as { problem?: string; path?: string; fix?: string };
    if (err.problem === undefined) throw e;
    const index = /^flips\[(\d+)\]$/.exec(err.path ?? '')?.[1];
    fail(index !== undefined ? at(where, Number(index)) : where, `${err.problem} (per base.tensors)`, err.fix);
  }
}

/** Checks a parsed JSON value as a manifest and returns it with flips canonical. */
export function parseManifestValue(v: unknown, where: Where): PatchManifest {
  if (!isPlainObject(v)) fail(where, `a patch manifest must be a JSON object, got ${show(v)}`, 'pass a bankai patch manifest');
  for (const key of Object.keys(v)) {
    if (!TOP_LEVEL.includes(key)) fail(at(where, key), `unknown manifest field '${key}'`, `allowed fields: ${TOP_LEVEL.join(', ')}`);
  }
  if (v.format !== MANIFEST_FORMAT) fail(at(where, 'format'), `must be "${MANIFEST_FORMAT}", got ${show(v.format)}`, 'pass a bankai patch manifest');
  if (v.version !== MANIFEST_VERSION) {
    fail(at(where, 'version'), `version ${show(v.version)} is not supported (this reader knows ${MANIFEST_VERSION})`, 'upgrade @bankai/patch-format or convert the patch with the tool that wrote it');
  }
  const name = optionalString(v.name, at(where, 'name'), 512);
  const description = optionalString(v.description, at(where, 'description'));
  const base = parseBase(v.base, at(where, 'base'));
  const provenance = parseProvenance(v.provenance, at(where, 'provenance'));
  const flips = parseFlips(v.flips, at(where, 'flips'), base);
  const signature = v.signature === undefined ? undefined : parseSignature(v.signature, at(where, 'signature'));
  const manifest: PatchManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    ...(name !== undefined ? { name } : {}),
    ...(description !== undefined ? { description } : {}),
    base,
    provenance,
    flips,
    ...(signature ? { signature } : {}),
  };
  if (v.stats !== undefined) {
    const claimed = checkJson(v.stats, at(where, 'stats'));
    const actual = computeStats(manifest);
    if (JSON.stringify(claimed) !== JSON.stringify(checkJson(actual, at(where, 'stats')))) {
      fail(at(where, 'stats'), `says ${JSON.stringify(claimed)} but the flips give ${JSON.stringify(actual)}`,
        'remove "stats" (it is recomputed on write) or fix the flips');
    }
  }
  return manifest;
}

export function parseManifest(text: string, file?: string): PatchManifest {
  return parseManifestValue(parseJsonText(text, file), { file, path: '' });
}

/** True when the flips are already canonical for the manifest's shapes (parsing makes them so;
 *  hand-built objects may not be). */
export function manifestIsCanonical(m: PatchManifest): boolean {
  return isCanonical(m.flips, baseShapes(m.base));
}

