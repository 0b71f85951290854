// ---- GGUF v3 (and v2) header reader over bytes in memory ----
// The same checks as @bankai/gguf's reader: magic, version, every length against the bytes
// left, metadata value types, alignment (a u32 power of two), 1..4 dimensions, tensor data
// aligned and inside the file. Failures are recorded (errors.ts) with the byte offset.

import { fail, failed } from './errors';
import { Reader } from './reader';
import { isValidUtf8 } from './utf8';

export const T_U8: u32 = 0, T_I8: u32 = 1, T_U16: u32 = 2, T_I16: u32 = 3, T_U32: u32 = 4, T_I32: u32 = 5;
export const T_F32: u32 = 6, T_BOOL: u32 = 7, T_STRING: u32 = 8, T_ARRAY: u32 = 9, T_U64: u32 = 10;
export const T_I64: u32 = 11, T_F64: u32 = 12;

export const GGML_F32: u32 = 0, GGML_F16: u32 = 1, GGML_Q8_0: u32 = 8, GGML_Q1_0: u32 = 41;

const TYPE_NAMES: string[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];
const SCALAR_BYTES: i32[] = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
const MAX_ARRAY_BYTES: u64 = 256 << 20;

export function typeName(t: u32): string {
  return t < <u32>TYPE_NAMES.length ? TYPE_NAMES[t] : `type ${t}`;
}

/** One metadata value: a scalar (num or str), or an array of numbers or of strings. */
export class Value {
  type: u32 = 0;
  num: f64 = 0; // integer, float or bool scalars (64-bit integers above 2^53 lose bits, as Number does)
  str: string = '';
  itemType: u32 = 0; // arrays
  nums: Array<f64> | null = null;
  strs: Array<string> | null = null;
  /** Byte offset of the value's type field, for messages. */
  at: usize = 0;
}

export class TensorInfo {
  name: string = '';
  dims: Array<u64> = [];
  type: u32 = 0;
  offset: u64 = 0; // relative to the data section
  infoAt: usize = 0;
  nBytes: u64 = 0;
  rowBytes: u64 = 0;
  /** ne0 (columns) and ne1 (rows) for matrices; rows = 1 for vectors. */
  get cols(): i32 {
    return <i32>this.dims[0];
  }
  get rows(): i32 {
    return this.dims.length > 1 ? <i32>this.dims[1] : 1;
  }
}

export class Gguf {
  version: u32 = 0;
  alignment: u32 = 32;
  metadata: Map<string, Value> = new Map();
  keys: Array<string> = [];
  tensors: Array<TensorInfo> = [];
  byName: Map<string, TensorInfo> = new Map();
  dataOffset: u64 = 0;
  size: u64 = 0;

  has(key: string): bool {
    return this.metadata.has(key);
  }
  get(key: string): Value {
    return this.metadata.get(key);
  }
}

function readString(r: Reader, field: string): string {
  const n = r.u64(field + ' length');
  if (!r.need(n, field)) return '';
  if (!isValidUtf8(r.base + r.pos, <usize>n)) {
    fail(`${r.file}: ${field} at byte ${r.pos} is not valid UTF-8: the file is corrupt.`);
    return '';
  }
  return r.utf8(n, field);
}

function readScalar(r: Reader, t: u32, field: string): f64 {
  switch (t) {
    case T_U8: return <f64>r.u8(field);
    case T_I8: return <f64><i8>r.u8(field);
    case T_U16: return <f64>r.u16(field);
    case T_I16: return <f64><i16>r.u16(field);
    case T_U32: return <f64>r.u32(field);
    case T_I32: return <f64><i32>r.u32(field);
    case T_F32: return <f64>r.f32(field);
    case T_BOOL: {
      const at = r.pos;
      const b = r.u8(field);
      if (b > 1) fail(`${r.file}: ${field} at byte ${at} is a bool of value ${b} (0 or 1 allowed): the file is corrupt.`);
      return <f64>b;
    }
    case T_U64: return <f64>r.u64(field);
    case T_I64: return <f64><i64>r.u64(field);
    case T_F64: return r.f64(field);
  }
  return 0;
}

function readValue(r: Reader, key: string): Value | null {
  const v = new Value();
  v.at = r.pos;
  v.type = r.u32(`type of "${key}"`);
  if (failed()) return null;
  if (v.type > T_F64) {
    fail(`${r.file}: metadata "${key}" at byte ${v.at} has value type ${v.type} (0..12 exist): the header is corrupt.`);
    return null;
  }
  if (v.type == T_STRING) {
    v.str = readString(r, `metadata "${key}"`);
  } else if (v.type == T_ARRAY) {
    const itemAt = r.pos;
    v.itemType = r.u32(`item type of "${key}"`);
    const n = r.u64(`length of "${key}"`);
    if (failed()) return null;
    if (v.itemType > T_F64 || v.itemType == T_ARRAY) {
      fail(`${r.file}: array "${key}" at byte ${itemAt} has item type ${v.itemType}: nested or unknown item types are not GGUF.`);
      return null;
    }
    const minItem: u64 = v.itemType == T_STRING ? 8 : <u64>SCALAR_BYTES[v.itemType];
    if (n > MAX_ARRAY_BYTES / minItem || n * minItem > <u64>r.remaining) {
      fail(`${r.file}: array "${key}" at byte ${itemAt} claims ${n} items of ${typeName(v.itemType)}, more than the ${r.remaining} bytes left: the file is truncated or corrupt.`);
      return null;
    }
    if (v.itemType == T_STRING) {
      const a = new Array<string>(<i32>n);
      for (let i: i32 = 0; i < <i32>n; i++) {
        a[i] = readString(r, `"${key}"[${i}]`);
        if (failed()) return null;
      }
      v.strs = a;
    } else {
      const a = new Array<f64>(<i32>n);
      for (let i: i32 = 0; i < <i32>n; i++) a[i] = readScalar(r, v.itemType, `"${key}"[${i}]`);
      v.nums = a;
    }
  } else {
    v.num = readScalar(r, v.type, `metadata "${key}"`);
  }
  return failed() ? null : v;
}

/** (blockSize, typeSize) of a supported ggml type, or (0, 0). */
function blockOf(t: u32): u64 {
  if (t == GGML_F32) return (1 << 32) | 4;
  if (t == GGML_F16) return (1 << 32) | 2;
  if (t == GGML_Q8_0) return (<u64>32 << 32) | 34;
  if (t == GGML_Q1_0) return (<u64>128 << 32) | 18;
  return 0;
}

export function ggmlTypeName(t: u32): string {
  if (t == GGML_F32) return 'F32';
  if (t == GGML_F16) return 'F16';
  if (t == GGML_Q8_0) return 'Q8_0';
  if (t == GGML_Q1_0) return 'Q1_0';
  if (t == 40) return 'NVFP4 (type 40, not 1-bit: Q1_0 is 41)';
  return `ggml type ${t}`;
}

/** Parses the header of the GGUF file at (base, len); null (error recorded) when it is malformed. */
export function readGguf(base: usize, len: usize, file: string): Gguf | null {
  const r = new Reader(base, len, file);
  const g = new Gguf();
  g.size = <u64>len;
  const magic = r.u32('the magic');
  if (failed()) return null;
  if (magic != 0x46554747) {
    fail(`${file}: not a GGUF file (the first 4 bytes are not "GGUF"). Fix: pass a .gguf model file.`);
    return null;
  }
  g.version = r.u32('the GGUF version');
  if (failed()) return null;
  if (g.version != 3 && g.version != 2) {
    fail(`${file}: unsupported GGUF version ${g.version} at byte 4 (3 is supported, 2 is read).`);
    return null;
  }
  const nTensors = r.u64('the tensor count');
  const nKv = r.u64('the metadata count');
  if (failed()) return null;
  // each metadata entry takes at least 12 bytes, each tensor info at least 24
  if (nKv > <u64>r.remaining / 12 || nTensors > <u64>r.remaining / 24) {
    fail(`${file}: the header claims ${nTensors} tensors and ${nKv} metadata entries, more than its ${len} bytes can hold: the file is corrupt.`);
    return null;
  }
  for (let i: u64 = 0; i < nKv; i++) {
    const key = readString(r, `metadata key #${i}`);
    if (failed()) return null;
    if (g.metadata.has(key)) {
      fail(`${file}: metadata key "${key}" appears twice (byte ${r.pos}): the file is corrupt.`);
      return null;
    }
    const v = readValue(r, key);
    if (v === null) return null;
    g.metadata.set(key, v);
    g.keys.push(key);
  }
  if (g.metadata.has('general.alignment')) {
    const al = g.metadata.get('general.alignment');
    const a = <u32>al.num;
    if (al.type != T_U32 || a == 0 || (a & (a - 1)) != 0) {
      fail(`${file}: general.alignment at byte ${al.at} must be a u32 power of two, got ${typeName(al.type)} ${al.num}.`);
      return null;
    }
    g.alignment = a;
  }
  for (let i: u64 = 0; i < nTensors; i++) {
    const t = new TensorInfo();
    t.infoAt = r.pos;
    t.name = readString(r, `tensor #${i} name`);
    const dimsAt = r.pos;
    const nDims = r.u32(`tensor "${t.name}" dimension count`);
    if (failed()) return null;
    if (nDims < 1 || nDims > 4) {
      fail(`${file}: tensor "${t.name}" at byte ${dimsAt} has ${nDims} dimensions (1 to 4 allowed): the header is corrupt.`);
      return null;
    }
    let elements: f64 = 1;
    for (let d: u32 = 0; d < nDims; d++) {
      const ne = r.u64(`tensor "${t.name}" dimension ${d}`);
      if (ne == 0 || ne > 0x7fffffff) {
        if (!failed()) fail(`${file}: tensor "${t.name}" dimension ${d} at byte ${r.pos - 8} is ${ne} (1 to 2^31 - 1 allowed): the header is corrupt.`);
        return null;
      }
      t.dims.push(ne);
      elements *= <f64>ne;
    }
    const typeAt = r.pos;
    t.type = r.u32(`tensor "${t.name}" type`);
    t.offset = r.u64(`tensor "${t.name}" data offset`);
    if (failed()) return null;
    const bt = blockOf(t.type);
    if (bt == 0) {
      fail(`${file}: tensor "${t.name}" at byte ${typeAt} is ${ggmlTypeName(t.type)}, which is not supported (F32, F16, Q8_0, Q1_0 are).`);
      return null;
    }
    const block = bt >> 32, typeSize = bt & 0xffffffff;
    if (t.dims[0] % block != 0) {
      fail(`${file}: tensor "${t.name}" has ${t.dims[0]} columns, not a multiple of its ${block}-weight blocks.`);
      return null;
    }
    if (elements > <f64>len * 8.0) {
      fail(`${file}: tensor "${t.name}" claims ${elements} elements, more than the file can hold: the header is corrupt.`);
      return null;
    }
    t.rowBytes = t.dims[0] / block * typeSize;
    t.nBytes = <u64>(elements / <f64>block) * typeSize;
    if (t.offset % <u64>g.alignment != 0) {
      fail(`${file}: tensor "${t.name}" data offset ${t.offset} is not a multiple of the alignment ${g.alignment}.`);
      return null;
    }
    if (g.byName.has(t.name)) {
      fail(`${file}: tensor "${t.name}" appears twice (byte ${t.infoAt}): the file is corrupt.`);
      return null;
    }
    g.tensors.push(t);
    g.byName.set(t.name, t);
  }
  const al = <u64>g.alignment;
  g.dataOffset = (<u64>r.pos + al - 1) / al * al;
  for (let i = 0; i < g.tensors.length; i++) {
    const t = g.tensors[i];
    if (t.offset > <u64>len || g.dataOffset + t.offset + t.nBytes > <u64>len) {
      fail(`${file}: tensor "${t.name}" data (${t.nBytes} bytes at ${g.dataOffset + t.offset}) runs past the end of the ${len}-byte file: it is truncated.`);
      return null;
    }
  }
  // no two tensors share bytes (the weights of one would be read as the other's)
  const byOffset = g.tensors.slice(0).sort((a: TensorInfo, b: TensorInfo): i32 => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1], cur = byOffset[i];
    if (prev.offset + prev.nBytes > cur.offset) {
      const a = g.dataOffset + prev.offset;
      fail(`${file}: tensor "${cur.name}" (byte ${cur.infoAt}) data at ${g.dataOffset + cur.offset} overlaps tensor "${prev.name}" [${a}, ${a + prev.nBytes}): the header is corrupt.`);
      return null;
    }
  }
  return g;
}
