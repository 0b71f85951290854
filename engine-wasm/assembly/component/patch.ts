// ---- patches inside the component: .bkp and manifest JSON -> validated XOR of the weights ----
// The reading rules of @bankai/patch-format (binary.ts, manifest.ts, flip.ts, validate.ts) for
// what applying needs: the flips, base.sha256 and base.tensors. Every flip is checked against
// the model's 1-bit tensors and the fingerprint against the loaded file before any bit moves,
// so a bad patch changes nothing. Differences from the TS reader, all refusals or omissions:
//   - a signed patch is refused: the component has no ed25519 yet (check it with `bankai`);
//   - "stats" is not compared with the flips, and provenance is checked only for its "tool";
//   - there is no force: a fingerprint mismatch is always an error.
// Flips are XORs, so applying them in file order gives the canonical form's bits.

import { xorGroups, xorRows, q1BitsAddr } from '../q1';
import { fail, failed } from './errors';
import { J_ARR, J_NUM, J_OBJ, J_STR, JValue, parseJson } from './json';
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
  const prov = v.get('provenance');
  const tool = prov !== null && prov.kind == J_OBJ ? prov.get('tool') : null;
  if (tool === null || tool.kind != J_STR || tool.str.length == 0) {
    return jfail('provenance.tool', 'must be a non-empty string', 'name the program that made the patch, e.g. "bankai"');
  }
  p.signed = v.get('signature') !== null;
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

/** Canonical tensor order (flip.ts compareTensorNames): token_embd, blocks, output, others. */
function tensorKey(name: string, layer: i32, code: i32): string {
  // sortable key: class, layer (10 digits), projection code (2 digits), rest
  if (name == 'token_embd') return '0';
  if (layer >= 0) {
    let l = layer.toString();
    while (l.length < 10) l = '0' + l;
    let c = code.toString();
    if (c.length < 2) c = '0' + c;
    return '1' + l + c + (code == BLOCK_TENSORS.length ? name : '');
  }
  if (name == 'output') return '2';
  return '3' + name;
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
  const p = new Parsed();
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
  p.signed = header.get('signature') !== null;
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
    let layer = -1;
    if (code == 0) {
      const n = count(r, 'tensor name length', 1);
      const nameStart = r.pos;
      if (failed()) return null;
      if (!isValidUtf8(base + r.pos, <usize>n)) return bkpFail(r, nameStart, 'tensor name is not valid UTF-8', 'the file is corrupt: get a good copy');
      name = r.utf8(<u64>n, 'tensor name');
      if (!checkTensorName(name, `tensor ${t}`)) return null;
      const parts = name.split('.');
      if (parts[0] == 'blk' && parts.length > 2) {
        layer = I32.parseInt(parts[1]);
        const local = name.slice(parts[0].length + parts[1].length + 2);
        const c = BLOCK_TENSORS.indexOf(local);
        name = name; // custom names keep their text
        if (c >= 0) return bkpFail(r, start, `tensor ${name} is stored by name but has a code`, 'the file is corrupt or not written by bankai');
      }
    } else if (code >= 1 && code <= BLOCK_TENSORS.length) {
      layer = r.varint('layer');
      name = `blk.${layer}.${BLOCK_TENSORS[code - 1]}`;
    } else if (code == 8) name = 'token_embd';
    else if (code == 9) name = 'output';
    else return bkpFail(r, start, `unknown tensor code ${code}`, 'the file is corrupt or newer than this reader');
    if (failed()) return null;
    const key = tensorKey(name, layer, code >= 1 && code <= BLOCK_TENSORS.length ? code - 1 : BLOCK_TENSORS.length);
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
  return p;
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
  if (len >= 4 && load<u32>(base) == 0x46504b42) p = parseBkp(base, len);
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
  // every flip inside a 1-bit tensor of the model
  const applied = new AppliedPatch();
  let problems = 0;
  let listed = '';
  for (let i = 0; i < p.flips.length; i++) {
    const f = p.flips[i];
    let problem = '';
    if (!m.oneBit.has(f.tensor)) problem = m.shapes.has(f.tensor) ? `${f.tensor} is not Q1_0: only 1-bit tensors can be flipped` : `the model has no tensor ${f.tensor} (the model has blocks 0..${m.config.nLayer - 1})`;
    else {
      const lin = m.oneBit.get(f.tensor);
      if (f.row >= lin.rows) problem = `row ${f.row} is out of range: ${f.tensor} has rows 0..${lin.rows - 1}`;
      else if (f.kind == KIND_GROUP && f.index >= lin.cols >> 7) problem = `group ${f.index} is out of range: ${f.tensor} rows have groups 0..${(lin.cols >> 7) - 1} (${lin.cols} weights / 128)`;
      else if (f.kind == KIND_BIT && f.index >= lin.cols) problem = `bit ${f.index} is out of range: ${f.tensor} rows have bits 0..${lin.cols - 1}`;
      else applied.lins.push(lin);
    }
    if (problem.length > 0) {
      if (problems < 8) listed += `${problems > 0 ? '; ' : ''}flips[${i}] (${f.describe()}): ${problem}`;
      problems++;
    }
  }
  if (problems > 0) {
    fail(`${FILE}: ${problems} of ${p.flips.length} flips do not fit this model: ${listed}${problems > 8 ? `; and ${problems - 8} more` : ''}. ` +
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
  applied.flips = p.flips;
  for (let i = 0; i < applied.flips.length; i++) xorFlip(applied.lins[i], applied.flips[i], scratch);
  m.patches.push(applied);
  m.pos = 0;
  return p.flips.length;
}

export function revertPatch(m: Model): bool {
  if (m.patches.length == 0) return fail('revert-patch: no patch is applied. Fix: apply one with apply-patch first');
  const a = m.patches.pop();
  for (let i = 0; i < a.flips.length; i++) xorFlip(a.lins[i], a.flips[i], scratch);
  m.pos = 0;
  return true;
}
