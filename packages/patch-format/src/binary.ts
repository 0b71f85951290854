// The compact binary patch (`.bkp`): the same content as the manifest, for patch libraries.
//
// Layout (all varints are unsigned LEB128, at most 5 bytes, value <= 2^31 - 1):
//   0   4 bytes  magic "BKPF"
//   4   u8       version (1)
//   5   u8       flags: bit 0 = base sha256 present
//   6   32 bytes base sha256 (raw), if flag bit 0
//       varint H, H bytes: UTF-8 compact JSON of the non-flip fields
//                {name?, description?, base: {model?, oneBitWeights?}, provenance, signature?}
//                (keys in canonical order; base.sha256 and base.tensors are stored elsewhere)
//       varint S, then S shapes (varint cols, varint rows): the distinct recorded tensor shapes,
//         in order of first use by the tensors below
//       varint T: tensors, in canonical tensor order, each:
//         u8 code: bits 0..3 = 0 custom name | 1..7 blk.N.<BLOCK_TENSORS[code-1]> | 8 token_embd
//                  | 9 output; bit 4 = has group flips; bit 5 = has bit flips; bit 6 = 0;
//                  bit 7 = shape recorded
//         varint N (block tensors) or varint len + UTF-8 name (custom)
//         varint shape index (if shape recorded)
//         varint R, then R row flips: first row, then (row - previous row - 1)
//         if bit 4: varint G >= 1, then G group flips as (row delta, group) pairs: row delta =
//           row - previous row; group = group - previous group - 1 when the row delta is 0,
//           else the group
//         if bit 5: varint B >= 1, then B bit flips as (row delta, bit), coded like group flips
//   end 4 bytes  CRC-32 (IEEE, little-endian) of every byte before it
// Flips are canonical (normalize against the recorded shapes), so equal patches give equal bytes.
// A tensor listed in base.tensors without flips is written with zero counts.

import { flipsByTensor, isCanonical, normalize } from './algebra.js';
import { crc32 } from './crc32.js';
import { PatchFormatError } from './errors.js';
import {
  BLOCK_TENSORS,
  blockTensorName,
  checkTensorName,
  compareFlips,
  compareTensorNames,
  MAX_INDEX,
  parseTensorName,
  type Flip,
} from './flip.js';
import { fromUtf8, parseJsonText, utf8 } from './json.js';
import {
  baseShapes,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  orderedManifest,
  parseManifestValue,
  type PatchManifest,
} from './manifest.js';

export const BINARY_MAGIC = Uint8Array.of(0x42, 0x4b, 0x50, 0x46); // "BKPF"
export const BINARY_VERSION = 1;
const FLAG_SHA256 = 1;
const CODE_CUSTOM = 0;
const CODE_TOKEN_EMBD = 8;
const CODE_OUTPUT = 9;
const CODE_MASK = 0x0f;
const HAS_GROUPS = 0x10;
const HAS_BITS = 0x20;
const RESERVED = 0x40;
const SHAPE_PRESENT = 0x80;

// ---- writer ---------------------------------------------------------------------------------

class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  varint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > MAX_INDEX) throw new RangeError(`varint out of range: ${v}`);
    while (v >= 0x80) {
      this.u8((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.u8(v);
  }
  u32le(v: number): void {
    this.u8(v & 0xff);
    this.u8((v >>> 8) & 0xff);
    this.u8((v >>> 16) & 0xff);
    this.u8((v >>> 24) & 0xff);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The non-flip fields that travel as JSON in the binary header. */
function headerJson(m: PatchManifest): string {
  const ordered = orderedManifest(m);
  const base = { ...(ordered.base as Record<string, unknown>) };
  delete base.sha256;
  delete base.tensors;
  const header: Record<string, unknown> = {};
  if (ordered.name !== undefined) header.name = ordered.name;
  if (ordered.description !== undefined) header.description = ordered.description;
  header.base = base;
  header.provenance = ordered.provenance;
  if (ordered.signature !== undefined) header.signature = ordered.signature;
  return JSON.stringify(header);
}

function writePairs(w: ByteWriter, pairs: Uint32Array): void {
  if (pairs.length === 0) return;
  w.varint(pairs.length / 2);
  let prevRow = 0;
  let prevIndex = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    const row = pairs[i]!;
    const index = pairs[i + 1]!;
    const dr = i === 0 ? row : row - prevRow;
    w.varint(dr);
    w.varint(i > 0 && dr === 0 ? index - prevIndex - 1 : index);
    prevRow = row;
    prevIndex = index;
  }
}

/** Encodes a manifest (its flips canonicalized first) as a binary patch. */
export function encodeBinary(manifest: PatchManifest): Uint8Array {
  return encodeWithLayout(manifest).bytes;
}

export interface BinaryLayout {
  /** Whole file. */
  readonly total: number;
  /** Magic, version, flags, sha256, header JSON with its length, checksum. */
  readonly overhead: number;
  /** The header JSON alone (name, description, base model, provenance, signature). */
  readonly header: number;
  /** Tensor table and flips: what grows with the patch. */
  readonly flips: number;
}

/** Where the bytes of a binary patch go (for size reports). */
export function binaryLayout(manifest: PatchManifest): BinaryLayout {
  const { bytes, headerBytes, flipsStart } = encodeWithLayout(manifest);
  const flips = bytes.length - 4 - flipsStart;
  return { total: bytes.length, overhead: bytes.length - flips, header: headerBytes, flips };
}

function encodeWithLayout(manifest: PatchManifest): { bytes: Uint8Array; headerBytes: number; flipsStart: number } {
  const shapes = baseShapes(manifest.base);
  const m = isCanonical(manifest.flips, shapes) ? manifest : { ...manifest, flips: normalize(manifest.flips, shapes) };
  const w = new ByteWriter();
  w.bytes(BINARY_MAGIC);
  w.u8(BINARY_VERSION);
  w.u8(m.base.sha256 ? FLAG_SHA256 : 0);
  if (m.base.sha256) w.bytes(hexToBytes(m.base.sha256));
  const header = utf8(headerJson(m));
  w.varint(header.length);
  w.bytes(header);
  const flipsStart = w.length;
  const byTensor = flipsByTensor(m.flips);
  const names = [...new Set([...Object.keys(m.base.tensors), ...byTensor.keys()])].sort(compareTensorNames);
  // distinct shapes in order of first use
  const shapeIndex = new Map<string, number>();
  for (const name of names) {
    const shape = m.base.tensors[name];
    if (shape && !shapeIndex.has(`${shape[0]}x${shape[1]}`)) shapeIndex.set(`${shape[0]}x${shape[1]}`, shapeIndex.size);
  }
  w.varint(shapeIndex.size);
  for (const key of shapeIndex.keys()) {
    const [cols, rows] = key.split('x').map(Number) as [number, number];
    w.varint(cols);
    w.varint(rows);
  }
  w.varint(names.length);
  for (const name of names) {
    const shape = m.base.tensors[name];
    const flips = byTensor.get(name);
    const groups = flips?.groups ?? new Uint32Array(0);
    const bits = flips?.bits ?? new Uint32Array(0);
    const { layer, local } = parseTensorName(name);
    const blockCode = layer === undefined ? -1 : (BLOCK_TENSORS as readonly string[]).indexOf(local);
    const code = blockCode >= 0 ? blockCode + 1 : name === 'token_embd' ? CODE_TOKEN_EMBD : name === 'output' ? CODE_OUTPUT : CODE_CUSTOM;
    w.u8(code | (groups.length ? HAS_GROUPS : 0) | (bits.length ? HAS_BITS : 0) | (shape ? SHAPE_PRESENT : 0));
    if (code === CODE_CUSTOM) {
      const bytes = utf8(name);
      w.varint(bytes.length);
      w.bytes(bytes);
    } else if (code <= BLOCK_TENSORS.length) {
      w.varint(layer!);
    }
    if (shape) w.varint(shapeIndex.get(`${shape[0]}x${shape[1]}`)!);
    const rows = flips?.rows ?? new Uint32Array(0);
    w.varint(rows.length);
    rows.forEach((row, i) => w.varint(i === 0 ? row : row - rows[i - 1]! - 1));
    writePairs(w, groups);
    writePairs(w, bits);
  }
  w.u32le(crc32(w.result()));
  return { bytes: w.result(), headerBytes: header.length, flipsStart };
}

// ---- reader ---------------------------------------------------------------------------------

class ByteReader {
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly end: number,
    private readonly file: string | undefined,
  ) {}

  error(problem: string, fix: string, offset = this.pos): never {
    throw new PatchFormatError(problem, { file: this.file, offset, fix });
  }
  remaining(): number {
    return this.end - this.pos;
  }
  u8(what: string): number {
    if (this.pos >= this.end) this.error(`file ends inside ${what}`, 'the file is truncated: get a complete copy');
    return this.bytes[this.pos++]!;
  }
  take(n: number, what: string): Uint8Array {
    if (n > this.remaining()) this.error(`${what} needs ${n} bytes but only ${this.remaining()} remain`, 'the file is truncated or corrupt: get a complete copy');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  varint(what: string): number {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (value > MAX_INDEX) this.error(`${what} ${value} exceeds ${MAX_INDEX}`, 'the file is corrupt: get a good copy', start);
        if (i > 0 && b === 0) this.error(`${what} is not minimally encoded`, 'the file is corrupt or not written by bankai', start);
        return value;
      }
    }
    return this.error(`${what} is a varint longer than 5 bytes`, 'the file is corrupt: get a good copy', start);
  }
  /** A count of items that each take at least `minBytes`: bounded by the bytes left. */
  count(what: string, minBytes: number): number {
    const start = this.pos;
    const n = this.varint(what);
    if (n * minBytes > this.remaining()) this.error(`${what} ${n} cannot fit in the ${this.remaining()} bytes left`, 'the file is corrupt: get a good copy', start);
    return n;
  }
}

export function isBinaryPatch(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && BINARY_MAGIC.every((b, i) => bytes[i] === b);
}

/** Decodes a binary patch; any corruption (checksum, truncation, non-canonical content) is an
 *  error naming the byte offset. */
export function decodeBinary(bytes: Uint8Array, file?: string): PatchManifest {
  const whole: ByteReader = new ByteReader(bytes, bytes.length, file);
  if (!isBinaryPatch(bytes)) whole.error('not a bankai binary patch (magic "BKPF" missing)', 'pass a .bkp file written by bankai', 0);
  if (bytes.length < 10) whole.error(`file is ${bytes.length} bytes, too short for a binary patch`, 'the file is truncated: get a complete copy', 0);
  const end = bytes.length - 4;
  const stored = (bytes[end]! | (bytes[end + 1]! << 8) | (bytes[end + 2]! << 16) | (bytes[end + 3]! << 24)) >>> 0;
  const actual = crc32(bytes.subarray(0, end));
  if (stored !== actual) {
    whole.error(`checksum mismatch: stored CRC-32 ${stored.toString(16).padStart(8, '0')}, content gives ${actual.toString(16).padStart(8, '0')}`,
      'the file was corrupted or edited: get a good copy', end);
  }
  const r: ByteReader = new ByteReader(bytes, end, file);
  r.pos = 4;
  const version = r.u8('version');
  if (version !== BINARY_VERSION) r.error(`binary patch version ${version} is not supported (this reader knows ${BINARY_VERSION})`, 'upgrade @bankai/patch-format', 4);
  const flags = r.u8('flags');
  if ((flags & ~FLAG_SHA256) !== 0) r.error(`unknown flags ${flags.toString(2)}`, 'upgrade @bankai/patch-format', 5);
  const sha256 = flags & FLAG_SHA256 ? bytesToHex(r.take(32, 'base sha256')) : undefined;
  const headerLength = r.count('header length', 1);
  const headerStart = r.pos;
  let headerText: string;
  try {
    headerText = fromUtf8(r.take(headerLength, 'header'));
  } catch (e) {
    if (e instanceof PatchFormatError) throw e;
    r.error('header is not valid UTF-8', 'the file is corrupt: get a good copy', headerStart);
  }
  const header = parseJsonText(headerText, file) as Record<string, unknown>;
  if (typeof header !== 'object' || header === null || Array.isArray(header) || typeof header.base !== 'object' || header.base === null) {
    r.error('header is not a JSON object with "base"', 'the file is corrupt: get a good copy', headerStart);
  }

  const tensors: Record<string, [number, number]> = {};
  const flips: Flip[] = [];
  const shapeCount = r.count('shape count', 2);
  const shapes: [number, number][] = [];
  const shapeKeys = new Set<string>();
  for (let i = 0; i < shapeCount; i++) {
    const start = r.pos;
    const cols = r.varint('shape cols');
    const rows = r.varint('shape rows');
    if (shapeKeys.has(`${cols}x${rows}`)) r.error(`shape [${cols}, ${rows}] is listed twice`, 'the file is corrupt or not written by bankai', start);
    shapeKeys.add(`${cols}x${rows}`);
    shapes.push([cols, rows]);
  }
  let shapesUsed = 0;
  const tensorCount = r.count('tensor count', 2);
  let previous: string | undefined;
  for (let t = 0; t < tensorCount; t++) {
    const start = r.pos;
    const codeByte = r.u8('tensor code');
    const code = codeByte & CODE_MASK;
    if (codeByte & RESERVED) r.error(`tensor code byte ${codeByte} sets a reserved bit`, 'the file is corrupt or newer than this reader', start);
    let name: string;
    if (code === CODE_CUSTOM) {
      const length = r.count('tensor name length', 1);
      const nameStart = r.pos;
      try {
        name = fromUtf8(r.take(length, 'tensor name'));
      } catch (e) {
        if (e instanceof PatchFormatError) throw e;
        r.error('tensor name is not valid UTF-8', 'the file is corrupt: get a good copy', nameStart);
      }
      try {
        checkTensorName(name, { path: `tensor ${t}` });
      } catch (e) {
        r.error((e as PatchFormatError).problem, 'the file is corrupt: get a good copy', nameStart);
      }
    } else if (code >= 1 && code <= BLOCK_TENSORS.length) {
      name = blockTensorName(r.varint('layer'), BLOCK_TENSORS[code - 1]!);
    } else if (code === CODE_TOKEN_EMBD) {
      name = 'token_embd';
    } else if (code === CODE_OUTPUT) {
      name = 'output';
    } else {
      r.error(`unknown tensor code ${code}`, 'the file is corrupt or newer than this reader', start);
    }
    if (previous !== undefined && compareTensorNames(previous, name) >= 0) {
      r.error(`tensor ${name} is out of canonical order (after ${previous})`, 'the file is corrupt or not written by bankai', start);
    }
    previous = name;
    if (codeByte & SHAPE_PRESENT) {
      const indexStart = r.pos;
      const index = r.varint(`${name} shape index`);
      if (index >= shapes.length || index > shapesUsed) {
        r.error(`${name} shape index ${index} is not the next or an earlier shape (${shapesUsed} used of ${shapes.length})`, 'the file is corrupt or not written by bankai', indexStart);
      }
      if (index === shapesUsed) shapesUsed++;
      tensors[name] = shapes[index]!;
    }
    const rowCount = r.count(`${name} row flip count`, 1);
    let row = -1;
    for (let i = 0; i < rowCount; i++) {
      const delta = r.varint(`${name} row flip`);
      row = i === 0 ? delta : row + delta + 1;
      if (row > 0x7fffffff) r.error(`${name} row ${row} is out of range`, 'the file is corrupt: get a good copy');
      flips.push({ tensor: name, row });
    }
    for (const kind of ['group', 'bit'] as const) {
      if (!(codeByte & (kind === 'group' ? HAS_GROUPS : HAS_BITS))) continue;
      const countStart = r.pos;
      const n = r.count(`${name} ${kind} flip count`, 2);
      if (n === 0) r.error(`${name} says it has ${kind} flips but lists none`, 'the file is corrupt or not written by bankai', countStart);
      let prevRow = 0;
      let prevIndex = 0;
      for (let i = 0; i < n; i++) {
        const dr = r.varint(`${name} ${kind} flip row`);
        const di = r.varint(`${name} ${kind} flip ${kind}`);
        const flipRow = prevRow + dr;
        const index = i > 0 && dr === 0 ? prevIndex + di + 1 : di;
        if (flipRow > MAX_INDEX || index > MAX_INDEX) r.error(`${name} ${kind} flip out of range`, 'the file is corrupt: get a good copy');
        flips.push(kind === 'group' ? { tensor: name, row: flipRow, group: index } : { tensor: name, row: flipRow, bit: index });
        prevRow = flipRow;
        prevIndex = index;
      }
    }
  }
  if (shapesUsed !== shapes.length) r.error(`${shapes.length - shapesUsed} recorded shapes are used by no tensor`, 'the file is corrupt or not written by bankai');
  if (r.remaining() !== 0) r.error(`${r.remaining()} unexpected bytes after the last tensor`, 'the file is corrupt or newer than this reader');

  const h = header as Record<string, unknown>;
  const value = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    ...h,
    base: { ...(h.base as Record<string, unknown>), ...(sha256 ? { sha256 } : {}), tensors },
    flips: flips.map((f) => ({ ...f })),
  };
  const manifest = parseManifestValue(value, { file, path: '' });
  flips.sort(compareFlips); // stored per tensor as rows, groups, bits
  if (!isCanonical(flips, baseShapes(manifest.base)) || manifest.flips.length !== flips.length) {
    whole.error('flips are not in canonical form (sorted, no redundant row/group combinations)', 'the file was not written by bankai: convert it from its JSON form');
  }
  return manifest;
}
