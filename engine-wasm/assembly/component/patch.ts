// ---- patches inside the component: .bkp and manifest JSON -> validated XOR of the weights ----
// The reading rules of @bankai/patch-format (binary.ts, manifest.ts, flip.ts, algebra.ts,
// validate.ts) for what applying needs: flips normalized as the patch algebra does (so the count
// and the bits equal applyPatch's), every manifest field as manifest.ts checks it (provenance,
// "stats" against the flips, ...), a .bkp's canonical form,
// CRC-32 and layout, base.sha256 and base.tensors against the loaded file. Every check runs
// before any bit moves, so a bad patch changes nothing. Differences from the TS reader, all
// refusals or omissions:
//   - a signed patch is refused: the component has no ed25519 yet (check it with `bankai`);
//   - upstream (non-bankai) patch JSON is not read;
//   - there is no force: a fingerprint mismatch is always an error.

import { xorGroups, xorRows, q1BitsAddr } from '../q1';
import { fail, failed } from './errors';
import { J_ARR, J_NUM, J_OBJ, J_STR, JValue, checkPlainJson, parseJson } from './json';
import { Linear, Model } from './model';
import { Reader } from './reader';
import { isValidUtf8 } from './utf8';

const FILE = 'patch';
const MAX_INDEX: f64 = 2147483647;
const BLOCK_TENSORS: string[] = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];
const TOP_LEVEL: string[] = ['format', 'version', 'name', 'description', 'base', 'provenance', 'stats', 'flips', 'signature'];
const KIND_ROW = 0, KIND_GROUP = 1, KIND_BIT = 2;

class Flip {
  constructor(public tensor: string, public row: i32, public kind: i32, public index: i32) {}
  describe(): string {
    return `${this.tensor} row ${this.row}${this.kind == KIND_GROUP ? ` group ${this.index}` : this.kind == KIND_BIT ? ` bit ${this.index}` : ''}`;
  }
  key(): string {
    return `${this.tensor} ${this.row} ${this.kind} ${this.index}`;
  }
}

class Parsed {
  sha256: string = '';
  shapeNames: Array<string> = [];
  shapeCols: Array<i32> = [];
  shapeRows: Array<i32> = [];
  oneBitWeights: f64 = 0;
  stats: JValue | null = null;
  flips: Array<Flip> = [];
  signed: bool = false;
}

/** One applied patch: the 1-bit tensors and flips to XOR again on revert. */
export class AppliedPatch {
  lins: Array<Linear> = [];
  flips: Array<Flip> = [];
}

// ---- tensor names (flip.ts checkTensorName / parseTensorName) ----

function isNamePart(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f)) return false;
  }
  return true;
}

function checkTensorName(name: string, where: string): bool {
  if (name.length == 0 || name.length > 128) return fail(`${FILE}: ${where}: tensor must be a non-empty string of at most 128 characters. Fix: name a GGUF tensor without its '.weight' suffix, e.g. 'blk.12.ffn_gate'`);
  if (name.endsWith('.weight')) return fail(`${FILE}: ${where}: tensor '${name}' carries the '.weight' suffix. Fix: write '${name.slice(0, name.length - 7)}'`);
  const parts = name.split('.');
  let ok = true;
  for (let i = 0; i < parts.length; i++) if (!isNamePart(parts[i])) ok = false;
  if (ok && parts[0] == 'blk') {
    const n = parts.length > 2 ? parts[1] : '';
    ok = n.length >= 1 && n.length <= 6 && (n == '0' || n.charCodeAt(0) != 0x30);
    for (let i = 0; i < n.length; i++) if (n.charCodeAt(i) < 0x30 || n.charCodeAt(i) > 0x39) ok = false;
  }
  if (!ok) return fail(`${FILE}: ${where}: tensor '${name}' is not a GGUF tensor name. Fix: use dot-separated [A-Za-z0-9_] parts, blocks as 'blk.<layer>.<name>'`);
  return true;
}

// ---- manifest JSON (manifest.ts parseManifestValue, the parts applying needs) ----

function isIndex(v: JValue | null): bool {
  return v !== null && v.kind == J_NUM && v.num == Math.floor(v.num) && v.num >= 0 && v.num <= MAX_INDEX;
}

function jfail(path: string, problem: string, fix: string): Parsed | null {
  fail(`${FILE}: ${path} ${problem}. Fix: ${fix}`);
  return null;
}

function parseBase(base: JValue, p: Parsed): bool {
  for (let i = 0; i < base.keys.length; i++) {
    const k = base.keys[i];
    if (k != 'model' && k != 'sha256' && k != 'oneBitWeights' && k != 'tensors') {
      return fail(`${FILE}: base.${k}: unknown field '${k}'. Fix: allowed fields: model, sha256, oneBitWeights, tensors`);
    }
  }
  if (!optionalString(base.get('model'), 'base.model', 512)) return false;
  const sha = base.get('sha256');
  if (sha !== null) {
    let ok = sha.kind == J_STR && sha.str.length == 64;
    if (ok) for (let i = 0; i < 64; i++) {
      const c = sha.str.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) ok = false;
    }
    if (!ok) return fail(`${FILE}: base.sha256 must be 64 lowercase hex digits (a sha256). Fix: write the sha256 of the file in lowercase hex, or remove the field`);
    p.sha256 = sha.str;
  }
  const obw = base.get('oneBitWeights');
  if (obw !== null) {
    if (obw.kind != J_NUM || obw.num != Math.floor(obw.num) || obw.num <= 0 || obw.num > 9007199254740991) {
      return fail(`${FILE}: base.oneBitWeights must be a positive integer. Fix: write the number of 1-bit weights of the model, or remove the field`);
    }
    p.oneBitWeights = obw.num;
  }
  const tensors = base.get('tensors');
  if (tensors === null) return true;
  if (tensors.kind != J_OBJ) return fail(`${FILE}: base.tensors must be an object. Fix: write { "blk.1.ffn_gate": [cols, rows] }`);
  for (let i = 0; i < tensors.keys.length; i++) {
    const name = tensors.keys[i];
    const shape = tensors.items[i];
    if (!checkTensorName(name, `base.tensors.${name}`)) return false;
    if (shape.kind != J_ARR || shape.items.length != 2 || !isIndex(shape.items[0]) || !isIndex(shape.items[1]) ||
      shape.items[0].num == 0 || shape.items[1].num == 0) {
      return fail(`${FILE}: base.tensors.${name} must be [cols, rows] (two positive integers). Fix: write the tensor shape as GGUF gives it: [ne0, ne1]`);
    }
    const cols = <i32>shape.items[0].num;
    if (cols % 128 != 0) return fail(`${FILE}: base.tensors.${name}: cols ${cols} is not a multiple of 128, so this is not a Q1_0 tensor. Fix: write [cols, rows] with cols = ne0`);
    p.shapeNames.push(name);
    p.shapeCols.push(cols);
    p.shapeRows.push(<i32>shape.items[1].num);
  }
  return true;
}

function optionalString(v: JValue | null, path: string, maxLength: i32): bool {
  if (v === null || (v.kind == J_STR && v.str.length <= maxLength)) return true;
  return fail(`${FILE}: ${path}: must be a string of at most ${maxLength} characters. Fix: write a JSON string or remove the field`);
}

function isSha256(v: JValue): bool {
  if (v.kind != J_STR || v.str.length != 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = v.str.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** manifest.ts parseProvenance: an object with a non-empty "tool", typed well-known fields,
 *  plain JSON throughout. */
function parseProvenance(v: JValue | null): bool {
  if (v === null || v.kind != J_OBJ) return fail(`${FILE}: provenance must be an object. Fix: write "provenance": { "tool": "<the program that made the patch>" }`);
  const tool = v.get('tool');
  if (tool === null || tool.kind != J_STR || tool.str.length == 0) {
    return fail(`${FILE}: provenance.tool must be a non-empty string. Fix: name the program that made the patch, e.g. "bankai"`);
  }
  const strings = ['toolVersion', 'strategy', 'metric', 'createdAt'];
  for (let i = 0; i < strings.length; i++) if (!optionalString(v.get(strings[i]), `provenance.${strings[i]}`, 1024)) return false;
  const probes = v.get('probesSha256');
  if (probes !== null && !isSha256(probes)) return fail(`${FILE}: provenance.probesSha256 must be 64 lowercase hex digits (a sha256). Fix: write the sha256 in lowercase hex, or remove the field`);
  const fitness = v.get('fitness');
  if (fitness !== null && (fitness.kind != J_NUM || !isFinite(fitness.num))) return fail(`${FILE}: provenance.fitness must be a finite number. Fix: write the final fitness as a number or remove it`);
  const seed = v.get('seed');
  if (seed !== null && seed.kind != J_STR && !(seed.kind == J_NUM && seed.num == Math.floor(seed.num) && Math.abs(seed.num) <= 9007199254740991)) {
    return fail(`${FILE}: provenance.seed must be an integer or a string. Fix: write the seed as an integer (or a string for larger seeds)`);
  }
  const options = v.get('options');
  if (options !== null && options.kind != J_OBJ) return fail(`${FILE}: provenance.options must be an object. Fix: write a JSON object { ... }`);
  for (let i = 0; i < v.keys.length; i++) if (!checkPlainJson(v.items[i], 1, `provenance.${v.keys[i]}`, FILE)) return false;
  return true;
}

function parseManifest(v: JValue): Parsed | null {
  if (v.kind != J_OBJ) return jfail('the patch', 'must be a JSON object (a bankai patch manifest)', 'pass a bankai patch manifest');
  for (let i = 0; i < v.keys.length; i++) {
    if (!TOP_LEVEL.includes(v.keys[i])) return jfail(v.keys[i], `is an unknown manifest field '${v.keys[i]}'`, `allowed fields: ${TOP_LEVEL.join(', ')}`);
  }
  const format = v.get('format');
  if (format === null || format.kind != J_STR || format.str != 'bankai-patch') return jfail('format', 'must be "bankai-patch"', 'pass a bankai patch manifest');
  const version = v.get('version');
  if (version === null || version.kind != J_NUM || version.num != 1) return jfail('version', 'is not supported (this reader knows 1)', 'convert the patch with the tool that wrote it');
  const p = new Parsed();
  const base = v.get('base');
  if (base === null || base.kind != J_OBJ) return jfail('base', 'must be an object', 'write "base": { "tensors": {} } at least');
  if (!parseBase(base, p)) return null;
  if (!optionalString(v.get('name'), 'name', 512) || !optionalString(v.get('description'), 'description', 65536)) return null;
  if (!parseProvenance(v.get('provenance'))) return null;
  p.signed = v.get('signature') !== null;
  p.stats = v.get('stats');
  const flips = v.get('flips');
  if (flips === null || flips.kind != J_ARR) return jfail('flips', 'must be an array', 'write "flips": [ { "tensor": ..., "row": ... }, ... ]');
  const seen = new Map<string, i32>();
  for (let i = 0; i < flips.items.length; i++) {
    const f = flips.items[i];
    const where = `flips[${i}]`;
    if (f.kind != J_OBJ) return jfail(where, 'must be an object', 'write { "tensor": "blk.1.ffn_gate", "row": 7 } (optionally with "group" or "bit")');
    for (let k = 0; k < f.keys.length; k++) {
      const key = f.keys[k];
      if (key != 'tensor' && key != 'row' && key != 'group' && key != 'bit') return jfail(`${where}.${key}`, `is an unknown flip field '${key}'`, 'allowed fields: tensor, row, group, bit');
    }
    const tensor = f.get('tensor');
    if (tensor === null || tensor.kind != J_STR) return jfail(`${where}.tensor`, 'must be a string', "name a GGUF tensor without its '.weight' suffix");
    if (!checkTensorName(tensor.str, `${where}.tensor`)) return null;
    const row = f.get('row');
    if (!isIndex(row)) return jfail(`${where}.row`, `must be an integer 0..${<i32>MAX_INDEX}`, 'write a non-negative integer row');
    const group = f.get('group'), bit = f.get('bit');
    if (group !== null && bit !== null) return jfail(where, 'has both "group" and "bit"', 'split it into a group flip and a bit flip');
    let kind = KIND_ROW, index = 0;
    if (group !== null) {
      if (!isIndex(group)) return jfail(`${where}.group`, `must be an integer 0..${<i32>MAX_INDEX}`, 'write a non-negative integer group');
      kind = KIND_GROUP;
      index = <i32>group.num;
    } else if (bit !== null) {
      if (!isIndex(bit)) return jfail(`${where}.bit`, `must be an integer 0..${<i32>MAX_INDEX}`, 'write a non-negative integer bit');
      kind = KIND_BIT;
      index = <i32>bit.num;
    }
    const flip = new Flip(tensor.str, <i32>row!.num, kind, index);
    const key = flip.key();
    if (seen.has(key)) {
      return jfail(where, `(${flip.describe()}) repeats flips[${seen.get(key)}]; flips are XORs, so a repeated flip cancels itself`, 'remove the repeated entry (or both, if cancelling was meant)');
    }
    seen.set(key, i);
    p.flips.push(flip);
  }
  return p;
}

// ---- the patch algebra (algebra.ts): a flip list is an XOR mask; normalize() writes its one
// canonical list. Per row: each 128-bit group mask as nothing, a group flip, its bits, or a group
// flip plus the bits it must not flip (fewest flips; ties: bits); the row as those forms of M or
// as a row flip plus the forms of NOT M (fewest flips; ties: no row flip). Shape unknown: the row
// flip is kept as given and the groups written relative to it.

class RowMask {
  flipped: bool = false;
  groups: Map<i32, StaticArray<u32>> = new Map(); // group -> 4 x u32 mask, relative to the row flip
}

function popcount128(m: StaticArray<u32>): i32 {
  return <i32>(popcnt<u32>(m[0]) + popcnt<u32>(m[1]) + popcnt<u32>(m[2]) + popcnt<u32>(m[3]));
}

function complement(m: StaticArray<u32>): StaticArray<u32> {
  const out = new StaticArray<u32>(4);
  for (let i = 0; i < 4; i++) out[i] = ~m[i];
  return out;
}

function groupCost(m: StaticArray<u32>): i32 {
  const k = popcount128(m);
  if (k == 0) return 0;
  if (k == 128) return 1;
  return min(k, 129 - k);
}

function emitGroup(out: Array<Flip>, tensor: string, row: i32, g: i32, m: StaticArray<u32>): void {
  const k = popcount128(m);
  if (k == 0) return;
  const asGroup = k == 128 || 129 - k < k;
  if (asGroup) out.push(new Flip(tensor, row, KIND_GROUP, g));
  if (k == 128) return;
  for (let b = 0; b < 128; b++) {
    const set = ((m[b >>> 5] >>> (b & 31)) & 1) == 1;
    if (set != asGroup) out.push(new Flip(tensor, row, KIND_BIT, g * 128 + b));
  }
}

function emitRow(out: Array<Flip>, tensor: string, row: i32, mask: RowMask, groups: i32): void {
  const present = mask.groups.keys().sort((a: i32, b: i32): i32 => a - b);
  if (groups < 0) {
    if (mask.flipped) out.push(new Flip(tensor, row, KIND_ROW, 0));
    for (let i = 0; i < present.length; i++) emitGroup(out, tensor, row, present[i], mask.groups.get(present[i]));
    return;
  }
  const absent = groups - present.length;
  let costOfP = 0, costOfNotP = 0;
  for (let i = 0; i < present.length; i++) {
    const p = mask.groups.get(present[i]);
    costOfP += groupCost(p);
    costOfNotP += groupCost(complement(p));
  }
  const costPlain = mask.flipped ? costOfNotP + absent : costOfP;
  const costFlipped = 1 + (mask.flipped ? costOfP : costOfNotP + absent);
  const withRowFlip = costFlipped < costPlain;
  if (withRowFlip) out.push(new Flip(tensor, row, KIND_ROW, 0));
  const invert = mask.flipped != withRowFlip;
  for (let i = 0; i < present.length; i++) {
    const p = mask.groups.get(present[i]);
    emitGroup(out, tensor, row, present[i], invert ? complement(p) : p);
  }
  if (invert && absent > 0) {
    for (let g = 0; g < groups; g++) if (!mask.groups.has(g)) out.push(new Flip(tensor, row, KIND_GROUP, g));
  }
}

/** Canonical tensor order (flip.ts compareTensorNames) as a sortable string. */
function tensorSortKey(name: string): string {
  if (name == 'token_embd') return '0';
  if (name.startsWith('blk.')) {
    const dot = name.indexOf('.', 4);
    if (dot > 4 && dot <= 10) {
      const digits = name.slice(4, dot);
      let ok = digits == '0' || digits.charCodeAt(0) != 0x30;
      for (let i = 0; i < digits.length; i++) if (digits.charCodeAt(i) < 0x30 || digits.charCodeAt(i) > 0x39) ok = false;
      if (ok && dot + 1 < name.length) {
        let l = digits;
        while (l.length < 10) l = '0' + l;
        const local = name.slice(dot + 1);
        const code = BLOCK_TENSORS.indexOf(local);
        return '1' + l + (code >= 0 ? `0${code}` : `0${BLOCK_TENSORS.length}` + local);
      }
    }
  }
  if (name == 'output') return '2';
  return '3' + name;
}

function compareFlips(a: Flip, b: Flip): i32 {
  if (a.tensor != b.tensor) {
    const ka = tensorSortKey(a.tensor), kb = tensorSortKey(b.tensor);
    if (ka != kb) return ka < kb ? -1 : 1;
  }
  if (a.row != b.row) return a.row < b.row ? -1 : 1;
  if (a.kind != b.kind) return a.kind - b.kind;
  return a.index < b.index ? -1 : a.index > b.index ? 1 : 0;
}

/** The canonical list of the flips' XOR mask; shapes (cols, rows) by tensor where known. A flip
 *  outside a known shape is an error (`per` names where the shapes come from); null then. */
function normalize(flips: Array<Flip>, shapes: Map<string, StaticArray<i32>>, per: string): Array<Flip> | null {
  const masks = new Map<string, Map<i32, RowMask>>();
  for (let i = 0; i < flips.length; i++) {
    const f = flips[i];
    if (shapes.has(f.tensor)) {
      const s = shapes.get(f.tensor);
      let problem = '';
      if (f.row >= s[1]) problem = `row ${f.row} is out of range, ${f.tensor} has rows 0..${s[1] - 1}`;
      else if (f.kind == KIND_GROUP && f.index >= s[0] >> 7) problem = `group ${f.index} is out of range, ${f.tensor} rows have groups 0..${(s[0] >> 7) - 1} (${s[0]} weights)`;
      else if (f.kind == KIND_BIT && f.index >= s[0]) problem = `bit ${f.index} is out of range, ${f.tensor} rows have bits 0..${s[0] - 1}`;
      if (problem.length > 0) {
        fail(`${FILE}: flips[${i}] ${f.describe()}: ${problem} (${per}). Fix: this patch was made for a model with other shapes: use the patch for this model`);
        return null;
      }
    }
    if (!masks.has(f.tensor)) masks.set(f.tensor, new Map());
    const rows = masks.get(f.tensor);
    if (!rows.has(f.row)) rows.set(f.row, new RowMask());
    const row = rows.get(f.row);
    if (f.kind == KIND_ROW) {
      row.flipped = !row.flipped;
      continue;
    }
    const g = f.kind == KIND_GROUP ? f.index : f.index >>> 7;
    if (!row.groups.has(g)) row.groups.set(g, new StaticArray<u32>(4));
    const m = row.groups.get(g);
    if (f.kind == KIND_GROUP) for (let w = 0; w < 4; w++) m[w] = ~m[w];
    else {
      const b = f.index & 127;
      m[b >>> 5] ^= <u32>1 << <u32>(b & 31);
    }
  }
  const out = new Array<Flip>();
  const tensors = masks.keys();
  for (let t = 0; t < tensors.length; t++) {
    const rows = masks.get(tensors[t]);
    const groups = shapes.has(tensors[t]) ? shapes.get(tensors[t])[0] >> 7 : -1;
    const rowIds = rows.keys();
    for (let r = 0; r < rowIds.length; r++) emitRow(out, tensors[t], rowIds[r], rows.get(rowIds[r]), groups);
  }
  return out.sort((a: Flip, b: Flip): i32 => compareFlips(a, b));
}

/** Weights the flips change (algebra.ts bitsFlipped), or -1 when a flipped row's length is unknown. */
function bitsFlipped(flips: Array<Flip>, shapes: Map<string, StaticArray<i32>>): f64 {
  // on canonical flips every (row, group) mask is written once: count per row
  let total: f64 = 0;
  let i = 0;
  while (i < flips.length) {
    let e = i;
    while (e < flips.length && flips[e].tensor == flips[i].tensor && flips[e].row == flips[i].row) e++;
    let flipped = false, inGroups = 0;
    for (let k = i; k < e; k++) {
      const f = flips[k];
      if (f.kind == KIND_ROW) flipped = !flipped;
      else if (f.kind == KIND_GROUP) inGroups += 128;
    }
    // bits: +1 outside a written group, -1 inside one (a group flip plus the bits it must not flip)
    for (let k = i; k < e; k++) {
      const f = flips[k];
      if (f.kind != KIND_BIT) continue;
      let inGroup = false;
      for (let j = i; j < e; j++) if (flips[j].kind == KIND_GROUP && flips[j].index == f.index >>> 7) inGroup = true;
      inGroups += inGroup ? -1 : 1;
    }
    if (!flipped) total += <f64>inGroups;
    else {
      if (!shapes.has(flips[i].tensor)) return -1;
      total += <f64>(shapes.get(flips[i].tensor)[0] - inGroups);
    }
    i = e;
  }
  return total;
}

function shapeMap(p: Parsed): Map<string, StaticArray<i32>> {
  const m = new Map<string, StaticArray<i32>>();
  for (let i = 0; i < p.shapeNames.length; i++) {
    const s = new StaticArray<i32>(2);
    s[0] = p.shapeCols[i];
    s[1] = p.shapeRows[i];
    m.set(p.shapeNames[i], s);
  }
  return m;
}

/** manifest.ts's stats check: "stats", when present, must be what the flips give. */
function checkStats(stats: JValue, p: Parsed, flips: Array<Flip>): bool {
  let rowFlips = 0, groupFlips = 0, bitFlips = 0;
  const tensors = new Set<string>();
  for (let i = 0; i < flips.length; i++) {
    tensors.add(flips[i].tensor);
    if (flips[i].kind == KIND_ROW) rowFlips++;
    else if (flips[i].kind == KIND_GROUP) groupFlips++;
    else bitFlips++;
  }
  const bits = bitsFlipped(flips, shapeMap(p));
  const keys = ['flips', 'rowFlips', 'groupFlips', 'bitFlips', 'tensors'];
  const vals: f64[] = [<f64>flips.length, <f64>rowFlips, <f64>groupFlips, <f64>bitFlips, <f64>tensors.size];
  if (bits >= 0) {
    keys.push('bitsFlipped');
    vals.push(bits);
    if (p.oneBitWeights > 0) {
      keys.push('fractionOfModel');
      vals.push(bits / p.oneBitWeights);
    }
  }
  let actual = '';
  for (let i = 0; i < keys.length; i++) actual += `${i > 0 ? ', ' : ''}${keys[i]} ${vals[i]}`;
  let same = stats.kind == J_OBJ && stats.keys.length == keys.length;
  for (let i = 0; same && i < keys.length; i++) {
    const v = stats.get(keys[i]);
    same = v !== null && v.kind == J_NUM && v.num == vals[i];
  }
  if (!same) return fail(`${FILE}: stats do not match the flips, which give ${actual}. Fix: remove "stats" (it is recomputed on write) or fix the flips`);
  return true;
}

// ---- JSON values built here (a .bkp's manifest, as binary.ts assembles it) ----

function jstr(v: string): JValue {
  const j = new JValue();
  j.kind = J_STR;
  j.str = v;
  return j;
}

function jnum(v: f64): JValue {
  const j = new JValue();
  j.kind = J_NUM;
  j.num = v;
  return j;
}

function jobj(): JValue {
  const j = new JValue();
  j.kind = J_OBJ;
  return j;
}

/** Sets an object member (a later value replaces an earlier one, as object spread does). */
function setKey(o: JValue, key: string, v: JValue): void {
  for (let i = 0; i < o.keys.length; i++) {
    if (o.keys[i] == key) {
      o.items[i] = v;
      return;
    }
  }
  o.keys.push(key);
  o.items.push(v);
}

// ---- .bkp (binary.ts decodeBinary) ----

const CRC_TABLE = new StaticArray<u32>(256);
for (let n = 0; n < 256; n++) {
  let c = <u32>n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}

function crc32(p: usize, len: usize): u32 {
  let c: u32 = 0xffffffff;
  for (let i: usize = 0; i < len; i++) c = CRC_TABLE[(c ^ load<u8>(p + i)) & 0xff] ^ (c >>> 8);
  return c ^ 0xffffffff;
}

function hex8(v: u32): string {
  let s = '';
  for (let k = 28; k >= 0; k -= 4) {
    const d = (v >>> k) & 15;
    s += String.fromCharCode(d < 10 ? 48 + d : 87 + d);
  }
  return s;
}

function bkpFail(r: Reader, at: usize, problem: string, fix: string): Parsed | null {
  fail(`${FILE}: ${problem} (byte ${at}). Fix: ${fix}`);
  return null;
}

/** A count of items of at least `minBytes` each: bounded by the bytes left. */
function count(r: Reader, what: string, minBytes: i32): i32 {
  const at = r.pos;
  const n = r.varint(what);
  if (!failed() && <u64>n * <u64>minBytes > <u64>r.remaining) {
    fail(`${FILE}: ${what} ${n} cannot fit in the ${r.remaining} bytes left (byte ${at}). Fix: the file is corrupt: get a good copy`);
    return 0;
  }
  return n;
}

function parseBkp(base: usize, len: usize): Parsed | null {
  const whole = new Reader(base, len, FILE);
  if (len < 10) return bkpFail(whole, 0, `file is ${len} bytes, too short for a binary patch`, 'the file is truncated: get a complete copy');
  const end = len - 4;
  const stored = load<u32>(base + end);
  const actual = crc32(base, end);
  if (stored != actual) {
    return bkpFail(whole, end, `checksum mismatch: stored CRC-32 ${hex8(stored)}, content gives ${hex8(actual)}`, 'the file was corrupted or edited: get a good copy');
  }
  const r = new Reader(base, end, FILE);
  r.pos = 4;
  const version = r.u8('version');
  if (version != 1) return bkpFail(r, 4, `binary patch version ${version} is not supported (this reader knows 1)`, 'upgrade the engine');
  const flags = r.u8('flags');
  if ((flags & ~1) != 0) return bkpFail(r, 5, `unknown flags ${flags}`, 'upgrade the engine');
  const p = new Parsed(); // what the binary holds; parseManifest (at the end) checks it as a manifest
  if (flags & 1) {
    if (!r.need(32, 'base sha256')) return null;
    for (let i = 0; i < 32; i++) {
      const b = r.u8('base sha256');
      p.sha256 += String.fromCharCode((b >> 4) < 10 ? 48 + (b >> 4) : 87 + (b >> 4)) + String.fromCharCode((b & 15) < 10 ? 48 + (b & 15) : 87 + (b & 15));
    }
  }
  const headerLength = count(r, 'header length', 1);
  if (failed()) return null;
  const headerStart = r.pos;
  if (!isValidUtf8(base + r.pos, <usize>headerLength)) return bkpFail(r, headerStart, 'header is not valid UTF-8', 'the file is corrupt: get a good copy');
  const header = parseJson(base + r.pos, <usize>headerLength, FILE);
  if (header === null) return null;
  r.pos += <usize>headerLength;
  const hb = header.get('base');
  if (header.kind != J_OBJ || hb === null || hb.kind != J_OBJ) return bkpFail(r, headerStart, 'header is not a JSON object with "base"', 'the file is corrupt: get a good copy');
  const shapeCount = count(r, 'shape count', 2);
  const sCols = new Array<i32>(), sRows = new Array<i32>();
  for (let i = 0; i < shapeCount && !failed(); i++) {
    const at = r.pos;
    const cols = r.varint('shape cols');
    const rows = r.varint('shape rows');
    for (let k = 0; k < sCols.length; k++) {
      if (sCols[k] == cols && sRows[k] == rows) return bkpFail(r, at, `shape [${cols}, ${rows}] is listed twice`, 'the file is corrupt or not written by bankai');
    }
    sCols.push(cols);
    sRows.push(rows);
  }
  let shapesUsed = 0;
  const tensorCount = count(r, 'tensor count', 2);
  let previous = '';
  for (let t = 0; t < tensorCount && !failed(); t++) {
    const start = r.pos;
    const codeByte = r.u8('tensor code');
    const code = <i32>(codeByte & 0x0f);
    if (codeByte & 0x40) return bkpFail(r, start, `tensor code byte ${codeByte} sets a reserved bit`, 'the file is corrupt or newer than this reader');
    let name = '';
    if (code == 0) {
      const n = count(r, 'tensor name length', 1);
      const nameStart = r.pos;
      if (failed()) return null;
      if (!isValidUtf8(base + r.pos, <usize>n)) return bkpFail(r, nameStart, 'tensor name is not valid UTF-8', 'the file is corrupt: get a good copy');
      name = r.utf8(<u64>n, 'tensor name');
      if (!checkTensorName(name, `tensor ${t}`)) return null;
    } else if (code >= 1 && code <= BLOCK_TENSORS.length) {
      name = `blk.${r.varint('layer')}.${BLOCK_TENSORS[code - 1]}`;
    } else if (code == 8) name = 'token_embd';
    else if (code == 9) name = 'output';
    else return bkpFail(r, start, `unknown tensor code ${code}`, 'the file is corrupt or newer than this reader');
    if (failed()) return null;
    const key = tensorSortKey(name);
    if (t > 0 && previous >= key) return bkpFail(r, start, `tensor ${name} is out of canonical order`, 'the file is corrupt or not written by bankai');
    previous = key;
    if (codeByte & 0x80) {
      const at = r.pos;
      const index = r.varint(`${name} shape index`);
      if (failed()) return null;
      if (index >= sCols.length || index > shapesUsed) {
        return bkpFail(r, at, `${name} shape index ${index} is not the next or an earlier shape (${shapesUsed} used of ${sCols.length})`, 'the file is corrupt or not written by bankai');
      }
      if (index == shapesUsed) shapesUsed++;
      p.shapeNames.push(name);
      p.shapeCols.push(sCols[index]);
      p.shapeRows.push(sRows[index]);
    }
    const rowCount = count(r, `${name} row flip count`, 1);
    let row: i64 = -1;
    for (let i = 0; i < rowCount && !failed(); i++) {
      const delta = r.varint(`${name} row flip`);
      row = i == 0 ? <i64>delta : row + <i64>delta + 1;
      if (row > 0x7fffffff) return bkpFail(r, r.pos, `${name} row ${row} is out of range`, 'the file is corrupt: get a good copy');
      p.flips.push(new Flip(name, <i32>row, KIND_ROW, 0));
    }
    for (let kind = KIND_GROUP; kind <= KIND_BIT && !failed(); kind++) {
      if (!(codeByte & (kind == KIND_GROUP ? 0x10 : 0x20))) continue;
      const at = r.pos;
      const n = count(r, `${name} flip count`, 2);
      if (failed()) return null;
      if (n == 0) return bkpFail(r, at, `${name} says it has ${kind == KIND_GROUP ? 'group' : 'bit'} flips but lists none`, 'the file is corrupt or not written by bankai');
      let prevRow: i64 = 0, prevIndex: i64 = 0;
      for (let i = 0; i < n && !failed(); i++) {
        const dr = r.varint(`${name} flip row`);
        const di = r.varint(`${name} flip index`);
        const flipRow = prevRow + <i64>dr;
        const index = i > 0 && dr == 0 ? prevIndex + <i64>di + 1 : <i64>di;
        if (flipRow > 0x7fffffff || index > 0x7fffffff) return bkpFail(r, r.pos, `${name} flip out of range`, 'the file is corrupt: get a good copy');
        p.flips.push(new Flip(name, <i32>flipRow, kind, <i32>index));
        prevRow = flipRow;
        prevIndex = index;
      }
    }
  }
  if (failed()) return null;
  if (shapesUsed != sCols.length) return bkpFail(r, r.pos, `${sCols.length - shapesUsed} recorded shapes are used by no tensor`, 'the file is corrupt or not written by bankai');
  if (r.remaining != 0) return bkpFail(r, r.pos, `${r.remaining} unexpected bytes after the last tensor`, 'the file is corrupt or newer than this reader');
  // the manifest binary.ts checks: {format, version, ...header, base: {...header.base, sha256?,
  // tensors}, flips}, through the manifest reader (unknown fields, provenance, stats, ...)
  const value = jobj();
  setKey(value, 'format', jstr('bankai-patch'));
  setKey(value, 'version', jnum(1));
  for (let i = 0; i < header.keys.length; i++) setKey(value, header.keys[i], header.items[i]);
  const b = jobj();
  for (let i = 0; i < hb.keys.length; i++) setKey(b, hb.keys[i], hb.items[i]);
  if (p.sha256.length > 0) setKey(b, 'sha256', jstr(p.sha256));
  const tensors = jobj();
  for (let i = 0; i < p.shapeNames.length; i++) {
    const shape = new JValue();
    shape.kind = J_ARR;
    shape.items.push(jnum(<f64>p.shapeCols[i]));
    shape.items.push(jnum(<f64>p.shapeRows[i]));
    setKey(tensors, p.shapeNames[i], shape);
  }
  setKey(b, 'tensors', tensors);
  setKey(value, 'base', b);
  const list = new JValue();
  list.kind = J_ARR;
  for (let i = 0; i < p.flips.length; i++) {
    const f = p.flips[i];
    const o = jobj();
    setKey(o, 'tensor', jstr(f.tensor));
    setKey(o, 'row', jnum(<f64>f.row));
    if (f.kind == KIND_GROUP) setKey(o, 'group', jnum(<f64>f.index));
    else if (f.kind == KIND_BIT) setKey(o, 'bit', jnum(<f64>f.index));
    list.items.push(o);
  }
  setKey(value, 'flips', list);
  return parseManifest(value);
}

// ---- apply / revert (validate.ts checkPatchForModel, patching.ts applyPatch) ----

function xorFlip(lin: Linear, f: Flip, scratch: usize): void {
  if (f.kind == KIND_ROW) {
    store<i32>(scratch, f.row);
    xorRows(lin.ptr, lin.rows, lin.cols, scratch, 1);
  } else if (f.kind == KIND_GROUP) {
    store<i32>(scratch, f.row);
    store<i32>(scratch + 4, f.index);
    xorGroups(lin.ptr, lin.rows, lin.cols, scratch, 1);
  } else {
    // weight j of a row is bit j&7 of its qs byte j>>3 (the engine keeps the GGUF bytes)
    const a = q1BitsAddr(lin.ptr, lin.cols, f.row, f.index >> 3);
    store<u8>(a, <u8>(<u32>load<u8>(a) ^ (<u32>1 << <u32>(f.index & 7))));
  }
}

const scratch = memory.data(8);

/** Applies .bkp or manifest JSON bytes; the flips applied, or -1 with the error recorded. */
export function applyPatch(m: Model, base: usize, len: usize): i32 {
  let p: Parsed | null;
  const binary = len >= 4 && load<u32>(base) == 0x46504b42;
  if (binary) p = parseBkp(base, len);
  else {
    if (!isValidUtf8(base, len)) {
      fail(`${FILE}: neither a .bkp file (magic "BKPF") nor UTF-8 JSON. Fix: pass a bankai patch (.bkp or manifest JSON)`);
      return -1;
    }
    const v = parseJson(base, len, FILE);
    p = v === null ? null : parseManifest(v);
  }
  if (p === null || failed()) return -1;
  if (p.signed) {
    fail(`${FILE}: the patch is signed, and this component cannot check ed25519 signatures. Fix: check it with \`bankai patch info\` and apply it with @bankai/model, or remove the signature`);
    return -1;
  }
  // the manifest's flips: canonical for its recorded shapes (a .bkp must already be)
  const flips = normalize(p.flips, shapeMap(p), 'per base.tensors');
  if (flips === null) return -1;
  if (binary) {
    let canonical = flips.length == p.flips.length;
    const stored = p.flips.sort((a: Flip, b: Flip): i32 => compareFlips(a, b));
    for (let i = 0; canonical && i < flips.length; i++) canonical = compareFlips(flips[i], stored[i]) == 0;
    if (!canonical) {
      fail(`${FILE}: flips are not in canonical form (sorted, no redundant row/group combinations). Fix: the file was not written by bankai: convert it from its JSON form`);
      return -1;
    }
  }
  if (p.stats !== null && !checkStats(p.stats!, p, flips)) return -1;
  // every flip inside a 1-bit tensor of the model
  let problems = 0;
  let listed = '';
  for (let i = 0; i < flips.length; i++) {
    const f = flips[i];
    let problem = '';
    if (!m.oneBit.has(f.tensor)) problem = m.shapes.has(f.tensor) ? `${f.tensor} is not Q1_0: only 1-bit tensors can be flipped` : `the model has no tensor ${f.tensor} (the model has blocks 0..${m.config.nLayer - 1})`;
    else {
      const lin = m.oneBit.get(f.tensor);
      if (f.row >= lin.rows) problem = `row ${f.row} is out of range: ${f.tensor} has rows 0..${lin.rows - 1}`;
      else if (f.kind == KIND_GROUP && f.index >= lin.cols >> 7) problem = `group ${f.index} is out of range: ${f.tensor} rows have groups 0..${(lin.cols >> 7) - 1} (${lin.cols} weights / 128)`;
      else if (f.kind == KIND_BIT && f.index >= lin.cols) problem = `bit ${f.index} is out of range: ${f.tensor} rows have bits 0..${lin.cols - 1}`;
    }
    if (problem.length > 0) {
      if (problems < 8) listed += `${problems > 0 ? '; ' : ''}flips[${i}] (${f.describe()}): ${problem}`;
      problems++;
    }
  }
  if (problems > 0) {
    fail(`${FILE}: ${problems} of ${flips.length} flips do not fit this model: ${listed}${problems > 8 ? `; and ${problems - 8} more` : ''}. ` +
      'Fix: this patch was made for a model with other shapes: use the patch made for this model');
    return -1;
  }
  // the fingerprint: base.sha256 and the recorded shapes
  const mismatches = new Array<string>();
  if (p.sha256.length > 0 && p.sha256 != m.sha256) mismatches.push(`base.sha256 is ${p.sha256} but the model file's sha256 is ${m.sha256}`);
  for (let i = 0; i < p.shapeNames.length; i++) {
    const name = p.shapeNames[i];
    if (!m.shapes.has(name)) mismatches.push(`base.tensors names ${name} but the model has no such tensor`);
    else {
      const s = m.shapes.get(name);
      if (s[0] != p.shapeCols[i] || s[1] != p.shapeRows[i]) {
        mismatches.push(`base.tensors.${name} is [${p.shapeCols[i]}, ${p.shapeRows[i]}] but the model's is [${s[0]}, ${s[1]}]`);
      }
    }
  }
  if (mismatches.length > 0) {
    fail(`${FILE}: the patch was made for another model: ${mismatches.join('; ')}. Fix: use the patch made for this model`);
    return -1;
  }
  // canonical for the model's shapes (patching.ts applyPatch), then XOR in place
  const final = normalize(flips, m.shapes, 'per the model');
  if (final === null) return -1;
  const applied = new AppliedPatch();
  applied.flips = final;
  for (let i = 0; i < final.length; i++) {
    applied.lins.push(m.oneBit.get(final[i].tensor));
    xorFlip(applied.lins[i], final[i], scratch);
  }
  m.patches.push(applied);
  m.pos = 0;
  return final.length;
}

export function revertPatch(m: Model): bool {
  if (m.patches.length == 0) return fail('revert-patch: no patch is applied. Fix: apply one with apply-patch first');
  const a = m.patches.pop();
  for (let i = 0; i < a.flips.length; i++) xorFlip(a.lins[i], a.flips[i], scratch);
  m.pos = 0;
  return true;
}
