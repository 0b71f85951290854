// Flips: the model-independent unit of a patch, and the names of the tensors they touch.
//
// A flip XORs bits of one row of a 1-bit tensor (Q1_0: one bit a weight, one fp16 scale a group
// of 128 weights along the row). Three kinds, told apart by which field is present:
//   { tensor, row }         every bit of the row (negates that output neuron exactly)
//   { tensor, row, group }  the 128 bits of group `group` of the row (bits group*128 .. +127)
//   { tensor, row, bit }    one bit (weight `bit` of the row), for diffs finer than a group
// `tensor` is the GGUF tensor name without its `.weight` suffix: `blk.12.ffn_gate`,
// `blk.3.attn_output`, `token_embd`, `output`. A row is one output neuron (GGUF ne1 index);
// a row holds `cols` = ne0 weights, i.e. cols/128 groups.

import { Q1_0_BLOCK, QWEN3_PROJECTION_TENSOR, QWEN3_PROJECTIONS, qwen3BlockName, WEIGHT_SUFFIX, type Qwen3Projection, type Qwen3ProjectionTensor } from '@bankai/gguf';
import { at, fail, type Where } from './errors.js';

export interface RowFlip {
  readonly tensor: string;
  readonly row: number;
  readonly group?: undefined;
  readonly bit?: undefined;
}
export interface GroupFlip {
  readonly tensor: string;
  readonly row: number;
  readonly group: number;
  readonly bit?: undefined;
}
export interface BitFlip {
  readonly tensor: string;
  readonly row: number;
  readonly group?: undefined;
  readonly bit: number;
}
export type Flip = RowFlip | GroupFlip | BitFlip;
export type FlipKind = 'row' | 'group' | 'bit';

/** Weights per Q1_0 block (one fp16 scale each): Q1_0_BLOCK of the type table in @bankai/gguf. */
export const GROUP_SIZE: number = Q1_0_BLOCK;
/** Largest row, group or bit index this package accepts (fits every varint and Uint32Array). */
export const MAX_INDEX = 0x7fffffff;

export function flipKind(flip: Flip): FlipKind {
  if (flip.group !== undefined) return 'group';
  if (flip.bit !== undefined) return 'bit';
  return 'row';
}

// ---- tensor names --------------------------------------------------------------------------

/** The 1-bit projections of a Qwen3 block, in forward order (the Qwen3 plan of @bankai/gguf);
 *  their index is their binary code. */
export const BLOCK_TENSORS: readonly BlockTensor[] = QWEN3_PROJECTIONS.map((p) => QWEN3_PROJECTION_TENSOR[p]);
export type BlockTensor = Qwen3ProjectionTensor;

/** Upstream (Hugging Face) projection names and the GGUF block tensor each one is. */
export const UPSTREAM_PROJECTIONS = Object.freeze(
  Object.fromEntries(QWEN3_PROJECTIONS.map((p) => [`${p}_proj`, QWEN3_PROJECTION_TENSOR[p]])),
) as Readonly<Record<UpstreamProjection, BlockTensor>>;
export type UpstreamProjection = `${Qwen3Projection}_proj`;

const PROJECTION_OF_BLOCK_TENSOR = new Map<string, UpstreamProjection>(
  Object.entries(UPSTREAM_PROJECTIONS).map(([proj, t]) => [t, proj as UpstreamProjection]),
);

const BLOCK_NAME = /^blk\.(0|[1-9][0-9]{0,5})\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)$/;
const OTHER_NAME = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;

export interface ParsedTensorName {
  /** Block index for `blk.N.*` tensors. */
  readonly layer?: number;
  /** Block-local name (`ffn_gate`) for `blk.N.*`, else the whole name. */
  readonly local: string;
}

/** Splits `blk.12.ffn_gate` into layer 12 and `ffn_gate`; other names are returned whole. */
export function parseTensorName(name: string): ParsedTensorName {
  const m = BLOCK_NAME.exec(name);
  if (m) return { layer: Number(m[1]), local: m[2]! };
  return { local: name };
}

export function blockTensorName(layer: number, local: string): string {
  return qwen3BlockName(layer, local);
}

/** Names a tensor may not have: they would look up an object's prototype (`constructor`,
 *  `toString`, `__proto__`, ...) wherever tensors are keys. */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Checks a tensor name's spelling (not whether the model has it: see validateAgainstModel). */
export function checkTensorName(name: unknown, where: Where): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128) {
    fail(where, `tensor must be a non-empty string of at most 128 characters, got ${show(name)}`,
      "name a GGUF tensor without its '.weight' suffix, e.g. 'blk.12.ffn_gate' or 'token_embd'");
  }
  if (PROTOTYPE_NAMES.has(name)) {
    fail(where, `tensor '${name}' is not a GGUF tensor name (it names a JavaScript object property)`,
      "name a GGUF tensor without its '.weight' suffix, e.g. 'blk.12.ffn_gate' or 'token_embd'");
  }
  if (name.endsWith(WEIGHT_SUFFIX)) {
    fail(where, `tensor '${name}' carries the '${WEIGHT_SUFFIX}' suffix`,
      `write '${name.slice(0, -WEIGHT_SUFFIX.length)}'`);
  }
  if (!OTHER_NAME.test(name) || (name.startsWith('blk.') && !BLOCK_NAME.test(name))) {
    fail(where, `tensor '${name}' is not a GGUF tensor name`,
      "use dot-separated [A-Za-z0-9_] parts, blocks as 'blk.<layer>.<name>', e.g. 'blk.12.ffn_gate'");
  }
  return name;
}

// Canonical tensor order: token_embd, then blocks by layer (projections in forward order, other
// block tensors after them by name), then output, then any other tensor by name.
function tensorSortKey(name: string): [number, number, number, string] {
  if (name === 'token_embd') return [0, 0, 0, ''];
  const { layer, local } = parseTensorName(name);
  if (layer !== undefined) {
    const code = (BLOCK_TENSORS as readonly string[]).indexOf(local);
    return code >= 0 ? [1, layer, code, ''] : [1, layer, BLOCK_TENSORS.length, local];
  }
  if (name === 'output') return [2, 0, 0, ''];
  return [3, 0, 0, name];
}

export function compareTensorNames(a: string, b: string): number {
  if (a === b) return 0;
  const ka = tensorSortKey(a);
  const kb = tensorSortKey(b);
  for (let i = 0; i < 3; i++) {
    const d = (ka[i] as number) - (kb[i] as number);
    if (d !== 0) return d;
  }
  return ka[3] < kb[3] ? -1 : ka[3] > kb[3] ? 1 : 0;
}

const KIND_RANK: Record<FlipKind, number> = { row: 0, group: 1, bit: 2 };

/** Canonical flip order: tensor, row, then the row flip, its group flips, its bit flips. */
export function compareFlips(a: Flip, b: Flip): number {
  const t = a.tensor === b.tensor ? 0 : compareTensorNames(a.tensor, b.tensor);
  if (t !== 0) return t;
  if (a.row !== b.row) return a.row - b.row;
  const ka = flipKind(a);
  const kb = flipKind(b);
  if (ka !== kb) return KIND_RANK[ka] - KIND_RANK[kb];
  return (a.group ?? a.bit ?? 0) - (b.group ?? b.bit ?? 0);
}

/** A string naming one flip exactly (for sets and duplicate detection). */
export function flipKey(flip: Flip): string {
  const kind = flipKind(flip);
  const tail = kind === 'row' ? 'r' : kind === 'group' ? `g${flip.group}` : `b${flip.bit}`;
  return `${flip.tensor} ${flip.row} ${tail}`;
}

/** One line describing a flip for messages: `blk.3.ffn_down row 17 group 4`. */
export function describeFlip(flip: Flip): string {
  const kind = flipKind(flip);
  const tail = kind === 'row' ? '' : kind === 'group' ? ` group ${flip.group}` : ` bit ${flip.bit}`;
  return `${flip.tensor} row ${flip.row}${tail}`;
}

export function rowFlip(tensor: string, row: number): RowFlip {
  return { tensor, row };
}
export function groupFlip(tensor: string, row: number, group: number): GroupFlip {
  return { tensor, row, group };
}
export function bitFlip(tensor: string, row: number, bit: number): BitFlip {
  return { tensor, row, bit };
}

// ---- validation of one flip object (our JSON shape) -----------------------------------------

export function checkIndex(value: unknown, where: Where, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_INDEX) {
    fail(where, `${what} must be an integer 0..${MAX_INDEX}, got ${show(value)}`,
      `write a non-negative integer ${what}`);
  }
  return value;
}

/** Parses `{tensor, row}`, `{tensor, row, group}` or `{tensor, row, bit}` strictly. */
export function parseFlip(value: unknown, where: Where): Flip {
  if (!isPlainObject(value)) {
    fail(where, `a flip must be an object, got ${show(value)}`,
      "write { \"tensor\": \"blk.1.ffn_gate\", \"row\": 7 } (optionally with \"group\" or \"bit\")");
  }
  for (const key of Object.keys(value)) {
    if (key !== 'tensor' && key !== 'row' && key !== 'group' && key !== 'bit') {
      fail(at(where, key), `unknown flip field '${key}'`, 'allowed fields: tensor, row, group, bit');
    }
  }
  const tensor = checkTensorName(value.tensor, at(where, 'tensor'));
  const row = checkIndex(value.row, at(where, 'row'), 'row');
  if (value.group !== undefined && value.bit !== undefined) {
    fail(where, 'a flip has either "group" or "bit", not both',
      'split it into a group flip and a bit flip');
  }
  if (value.group !== undefined) return groupFlip(tensor, row, checkIndex(value.group, at(where, 'group'), 'group'));
  if (value.bit !== undefined) return bitFlip(tensor, row, checkIndex(value.bit, at(where, 'bit'), 'bit'));
  return rowFlip(tensor, row);
}

// ---- upstream flips: {layer, proj, row, group?} ---------------------------------------------

export interface UpstreamFlip {
  readonly layer: number;
  readonly proj: UpstreamProjection;
  readonly row: number;
  readonly group?: number;
}

export function fromUpstreamFlip(flip: UpstreamFlip): RowFlip | GroupFlip {
  const tensor = blockTensorName(flip.layer, UPSTREAM_PROJECTIONS[flip.proj]);
  return flip.group === undefined ? rowFlip(tensor, flip.row) : groupFlip(tensor, flip.row, flip.group);
}

/** The upstream form of a flip, or undefined when upstream cannot express it (bit flips,
 *  token_embd / output, non-projection tensors). */
export function toUpstreamFlip(flip: Flip): UpstreamFlip | undefined {
  if (flip.bit !== undefined) return undefined;
  const { layer, local } = parseTensorName(flip.tensor);
  const proj = PROJECTION_OF_BLOCK_TENSOR.get(local);
  if (layer === undefined || proj === undefined) return undefined;
  return flip.group === undefined
    ? { layer, proj, row: flip.row }
    : { layer, proj, row: flip.row, group: flip.group };
}

// ---- small shared helpers -------------------------------------------------------------------

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = Array.isArray(value) ? '[...]' : typeof value === 'object' ? '{...}' : String(value);
  }
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
