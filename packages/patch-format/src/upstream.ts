// The upstream (Python Bankai toolkit) patch JSON, both ways.
//
// Three shapes are published, all with flips [{layer, proj, row, group?}] and HF projection
// names (gate_proj ... o_proj; see UPSTREAM_PROJECTIONS):
//   upstream-v1          {version: 1, format: "bankai_row_xor_v1", name, description, base_model,
//                         flips, stats: {n_flips, bits_flipped, size_bytes}, metadata}
//   upstream-unversioned {name, description, base_model, flips (optionally with group), metadata}
//   upstream-legacy      {version: 1, type: "row_flip", description, base_model, flips,
//                         n_flips, bits_flipped, patch_size_bytes}
// Upstream's bits_flipped / size_bytes are nominal: 4096 bits and 12 bytes (three int32) a flip,
// whatever the real row length. We read them, check n_flips, and recompute.
//
// Mapping to our manifest: name, description -> name, description; base_model -> base.model;
// metadata.search_algorithm -> provenance.strategy, metric -> metric, final_fitness -> fitness,
// seed, tool, tool_version, probes_sha256, created_at -> their provenance fields, every other
// metadata key -> provenance.options; unknown top-level keys -> provenance.upstreamFields.
// provenance.tool is "bankai-python" unless metadata names a tool. The list order of upstream
// flips (their acceptance order) is not kept: a patch is a set, written in canonical order.

import { createManifest, computeStats, type PatchManifest, type Provenance } from './manifest.js';
import { at, fail, PatchFormatError, type Where } from './errors.js';
import {
  checkIndex,
  describeFlip,
  flipKey,
  flipKind,
  fromUpstreamFlip,
  GROUP_SIZE,
  isPlainObject,
  show,
  toUpstreamFlip,
  UPSTREAM_PROJECTIONS,
  type Flip,
  type UpstreamFlip,
  type UpstreamProjection,
} from './flip.js';
import { checkJsonObject, type JsonObject, type JsonValue } from './json.js';
import type { ModelShape } from './shape.js';

export type UpstreamShape = 'upstream-v1' | 'upstream-unversioned' | 'upstream-legacy';

export const UPSTREAM_V1_FORMAT = 'bankai_row_xor_v1';
export const UPSTREAM_LEGACY_TYPE = 'row_flip';
/** provenance.tool of patches read from upstream files that name no tool. */
export const UPSTREAM_TOOL = 'bankai-python';
/** Upstream's nominal accounting, kept when we write its stats without knowing real shapes. */
export const UPSTREAM_NOMINAL_ROW_BITS = 4096;
export const UPSTREAM_NOMINAL_FLIP_BYTES = 12;

const KNOWN_KEYS: Record<UpstreamShape, readonly string[]> = {
  'upstream-v1': ['version', 'format', 'name', 'description', 'base_model', 'flips', 'stats', 'metadata'],
  'upstream-unversioned': ['name', 'description', 'base_model', 'flips', 'metadata'],
  'upstream-legacy': ['version', 'type', 'description', 'base_model', 'flips', 'n_flips', 'bits_flipped', 'patch_size_bytes'],
};

/** metadata key <-> provenance key, for the provenance fields upstream may carry. */
const METADATA_TO_PROVENANCE = [
  ['search_algorithm', 'strategy', 'string'],
  ['metric', 'metric', 'string'],
  ['final_fitness', 'fitness', 'number'],
  ['seed', 'seed', 'seed'],
  ['tool', 'tool', 'string'],
  ['tool_version', 'toolVersion', 'string'],
  ['probes_sha256', 'probesSha256', 'sha256'],
  ['created_at', 'createdAt', 'string'],
] as const;

/** Which upstream shape a parsed JSON value is, or undefined when it is none of them. */
export function detectUpstreamShape(value: unknown): UpstreamShape | undefined {
  if (!isPlainObject(value) || !Array.isArray(value.flips)) return undefined;
  if (value.format !== undefined) return 'upstream-v1';
  if (value.type !== undefined) return 'upstream-legacy';
  if (value.version === undefined && value.stats === undefined) return 'upstream-unversioned';
  return undefined;
}

function parseUpstreamFlip(v: unknown, where: Where): UpstreamFlip {
  if (!isPlainObject(v)) fail(where, `a flip must be an object, got ${show(v)}`, 'write { "layer": 1, "proj": "gate_proj", "row": 7 }');
  for (const key of Object.keys(v)) {
    if (!['layer', 'proj', 'row', 'group'].includes(key)) fail(at(where, key), `unknown flip field '${key}'`, 'allowed fields: layer, proj, row, group');
  }
  const layer = checkIndex(v.layer, at(where, 'layer'), 'layer');
  if (typeof v.proj !== 'string' || !Object.hasOwn(UPSTREAM_PROJECTIONS, v.proj)) {
    fail(at(where, 'proj'), `unknown projection ${show(v.proj)}`, `use one of ${Object.keys(UPSTREAM_PROJECTIONS).join(', ')}`);
  }
  const row = checkIndex(v.row, at(where, 'row'), 'row');
  const proj = v.proj as UpstreamProjection;
  if (v.group === undefined) return { layer, proj, row };
  return { layer, proj, row, group: checkIndex(v.group, at(where, 'group'), 'group') };
}

function checkCount(v: unknown, where: Where, actual: number): void {
  if (v !== actual) fail(where, `says ${show(v)} flips but the file lists ${actual}`, 'fix the count or the flip list (the file may be truncated)');
}

function checkNominal(v: unknown, where: Where): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)) {
    fail(where, `must be a non-negative integer, got ${show(v)}`, 'fix the number or remove the field (it is recomputed)');
  }
}

function provenanceFromMetadata(metadata: JsonObject | undefined, extra: JsonObject): Provenance {
  const p: Record<string, JsonValue> = { tool: UPSTREAM_TOOL };
  const options: JsonObject = {};
  const mapped = new Map<string, (typeof METADATA_TO_PROVENANCE)[number]>(METADATA_TO_PROVENANCE.map((m) => [m[0], m]));
  for (const [key, value] of Object.entries(metadata ?? {})) {
    const m = mapped.get(key);
    const fits = m && (
      m[2] === 'string' ? typeof value === 'string' && value.length > 0
        : m[2] === 'number' ? typeof value === 'number'
          : m[2] === 'seed' ? typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value))
            : typeof value === 'string' && /^[0-9a-f]{64}$/.test(value));
    if (m && fits) p[m[1]] = value;
    else options[key] = value;
  }
  if (Object.keys(options).length > 0) p.options = options;
  if (Object.keys(extra).length > 0) p.upstreamFields = extra;
  return p as Provenance;
}

export interface FromUpstreamOptions {
  /** Source label for error messages. */
  readonly file?: string;
  /** The model the patch is for: records its tensor shapes (so stats are real) and checks
   *  every flip against them. */
  readonly model?: ModelShape;
}

export interface UpstreamImport {
  readonly manifest: PatchManifest;
  readonly shape: UpstreamShape;
}

/** Reads any of the three upstream shapes (a parsed JSON value) into our manifest. */
export function fromUpstream(value: unknown, opts: FromUpstreamOptions = {}): UpstreamImport {
  const root: Where = { file: opts.file, path: '' };
  const shape = detectUpstreamShape(value);
  if (!isPlainObject(value) || shape === undefined) {
    fail(root, 'not an upstream Bankai patch (expected an object with "flips" and one of: "format": "bankai_row_xor_v1", "type": "row_flip", or neither "version" nor "stats")',
      'pass an upstream patch JSON file or a bankai patch manifest');
  }
  if (shape === 'upstream-v1') {
    if (value.format !== UPSTREAM_V1_FORMAT) fail(at(root, 'format'), `unknown upstream format ${show(value.format)}`, `only "${UPSTREAM_V1_FORMAT}" is known`);
    if (value.version !== 1) fail(at(root, 'version'), `unknown upstream version ${show(value.version)}`, 'only version 1 is known');
  }
  if (shape === 'upstream-legacy') {
    if (value.type !== UPSTREAM_LEGACY_TYPE) fail(at(root, 'type'), `unknown upstream patch type ${show(value.type)}`, `only "${UPSTREAM_LEGACY_TYPE}" is known`);
    if (value.version !== undefined && value.version !== 1) fail(at(root, 'version'), `unknown upstream version ${show(value.version)}`, 'only version 1 is known');
  }
  const extra: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (!KNOWN_KEYS[shape].includes(key)) extra[key] = v as JsonValue;
  }
  const flipsValue = value.flips as unknown[];
  const seen = new Map<string, number>();
  const flips: Flip[] = flipsValue.map((item, i) => {
    const flip = fromUpstreamFlip(parseUpstreamFlip(item, at(at(root, 'flips'), i)));
    const first = seen.get(flipKey(flip));
    if (first !== undefined) {
      fail(at(at(root, 'flips'), i), `${describeFlip(flip)} repeats flips[${first}]; flips are XORs, so a repeated flip cancels itself`,
        'remove the repeated entry (or both, if cancelling was meant)');
    }
    seen.set(flipKey(flip), i);
    return flip;
  });
  if (shape === 'upstream-v1') {
    const stats = value.stats;
    if (stats !== undefined) {
      if (!isPlainObject(stats)) fail(at(root, 'stats'), `must be an object, got ${show(stats)}`, 'remove "stats" (it is recomputed)');
      checkCount(stats.n_flips, at(at(root, 'stats'), 'n_flips'), flips.length);
      checkNominal(stats.bits_flipped, at(at(root, 'stats'), 'bits_flipped'));
      checkNominal(stats.size_bytes, at(at(root, 'stats'), 'size_bytes'));
    }
  }
  if (shape === 'upstream-legacy') {
    if (value.n_flips !== undefined) checkCount(value.n_flips, at(root, 'n_flips'), flips.length);
    checkNominal(value.bits_flipped, at(root, 'bits_flipped'));
    checkNominal(value.patch_size_bytes, at(root, 'patch_size_bytes'));
  }
  for (const key of ['name', 'description', 'base_model'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') fail(at(root, key), `must be a string, got ${show(value[key])}`, 'write a JSON string or remove the field');
  }
  const metadata = value.metadata === undefined ? undefined : checkJsonObject(value.metadata, at(root, 'metadata'));
  try {
    const manifest = createManifest({
      ...(typeof value.name === 'string' ? { name: value.name } : {}),
      ...(typeof value.description === 'string' ? { description: value.description } : {}),
      base: typeof value.base_model === 'string' ? { model: value.base_model } : {},
      provenance: provenanceFromMetadata(metadata, checkJsonObject(extra, root)),
      flips,
      ...(opts.model ? { model: opts.model } : {}),
    });
    return { manifest, shape };
  } catch (e) {
    if (e instanceof PatchFormatError && e.file === undefined) {
      throw new PatchFormatError(e.problem, { file: opts.file, path: e.path, offset: e.offset, fix: e.fix });
    }
    throw e;
  }
}

// ---- writing the upstream v1 shape -------------------------------------------------------------

export interface UpstreamV1 {
  version: 1;
  format: typeof UPSTREAM_V1_FORMAT;
  name?: string;
  description?: string;
  base_model?: string;
  flips: UpstreamFlip[];
  stats: { n_flips: number; bits_flipped: number; size_bytes: number };
  metadata?: JsonObject;
  /** Unknown top-level fields of the upstream file this patch was read from. */
  [extra: string]: unknown;
}

/** The manifest as the upstream `bankai_row_xor_v1` object (key order as upstream writes it).
 *  stats.bits_flipped is real (exact weights flipped, from base.tensors shapes) when every
 *  row-flipped tensor's shape is known, else upstream's nominal 4096 a row flip (128 a group
 *  flip); stats.size_bytes is always upstream's nominal 12 bytes a flip. Bit flips, token_embd,
 *  output and other non-projection tensors cannot be written upstream: that is an error. */
export function toUpstream(m: PatchManifest): UpstreamV1 {
  const flips = m.flips.map((flip, i) => {
    const up = toUpstreamFlip(flip);
    if (!up) {
      const why = flipKind(flip) === 'bit' ? 'upstream patches have no bit flips' : `upstream patches only flip block projections (${Object.keys(UPSTREAM_PROJECTIONS).join(', ')})`;
      fail({ path: `flips[${i}]` }, `${describeFlip(flip)} cannot be written as an upstream patch: ${why}`,
        'keep this patch in the bankai manifest or binary format');
    }
    return up;
  });
  const real = computeStats(m).bitsFlipped;
  const nominal = m.flips.reduce((sum, f) => sum + (flipKind(f) === 'row' ? UPSTREAM_NOMINAL_ROW_BITS : flipKind(f) === 'group' ? GROUP_SIZE : 1), 0);
  const p = m.provenance;
  const metadata: JsonObject = {};
  if (p.strategy !== undefined) metadata.search_algorithm = p.strategy;
  if (p.metric !== undefined) metadata.metric = p.metric;
  for (const [key, value] of Object.entries(p.options ?? {})) metadata[key] = value;
  for (const [up, ours] of METADATA_TO_PROVENANCE) {
    if (up === 'search_algorithm' || up === 'metric') continue;
    if (up === 'tool' && p.tool === UPSTREAM_TOOL) continue;
    const value = p[ours];
    if (value !== undefined) metadata[up] = value;
  }
  const known = new Set<string>(['options', 'upstreamFields', ...METADATA_TO_PROVENANCE.map((x) => x[1])]);
  for (const [key, value] of Object.entries(p)) if (!known.has(key) && value !== undefined) metadata[key] = value;
  const out: Record<string, unknown> = { version: 1, format: UPSTREAM_V1_FORMAT };
  if (m.name !== undefined) out.name = m.name;
  if (m.description !== undefined) out.description = m.description;
  if (m.base.model !== undefined) out.base_model = m.base.model;
  out.flips = flips;
  out.stats = { n_flips: flips.length, bits_flipped: real ?? nominal, size_bytes: flips.length * UPSTREAM_NOMINAL_FLIP_BYTES };
  if (Object.keys(metadata).length > 0) out.metadata = metadata;
  const extra = p.upstreamFields;
  if (isPlainObject(extra)) for (const [key, value] of Object.entries(extra)) if (!(key in out)) out[key] = value;
  return out as UpstreamV1;
}

/** The upstream v1 file text (2-space indent, as upstream writes it). */
export function formatUpstream(m: PatchManifest): string {
  return `${JSON.stringify(toUpstream(m), null, 2)}\n`;
}
