import { GgufError, ggufError } from './errors.js';
import type { ByteSource } from './source.js';
import { describeUnsupportedType, ggmlTypeInfo, tensorSize } from './types.js';
import {
  GGUF_SCALAR_SIZE, GGUF_VALUE_TYPE_NAME,
  type GgufArray, type GgufMetadata, type GgufScalarTypeName, type GgufValue,
} from './values.js';

// ---------------------------------------------------------------------------------------------
// Strict GGUF v3 (and v2) header reader. Reads the header in chunks, never the whole file, and
// checks every count and size against the file size before allocating anything.
// ---------------------------------------------------------------------------------------------

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4;
const HEADER_CHUNK = 1 << 20;
/** Largest metadata array (a 152k-token vocabulary is ~3 MB): a corrupt count in a large file
 *  must not make the reader allocate gigabytes. */
const MAX_METADATA_ARRAY_BYTES = 256 << 20;

export interface GgufTensorInfo {
  name: string;
  /** ggml type id. */
  type: number;
  typeName: string;
  /** ne0 first (ne0 = contiguous input dim). */
  shape: number[];
  nElements: number;
  nBytes: number;
  /** Bytes of one row of ne0 elements. */
  rowBytes: number;
  /** Number of rows (product of ne1..). */
  nRows: number;
  /** Absolute byte offset of the tensor data in the file. */
  offset: number;
  /** Offset relative to the data section, as stored in the file. */
  relativeOffset: number;
  /** Absolute byte offset of this tensor's info record in the header. */
  infoOffset: number;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** A forward cursor over a ByteSource that keeps one chunk in memory. */
class HeaderCursor {
  pos = 0;
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;

  constructor(readonly src: ByteSource) {}

  get remaining(): number {
    return this.src.size - this.pos;
  }

  /** Makes [pos, pos+n) available; names `what` if the file ends first. */
  async need(n: number, what: string): Promise<void> {
    if (this.pos + n <= this.bufStart + this.buf.length) return;
    if (this.pos + n > this.src.size) {
      throw ggufError(this.src.name, this.pos,
        `file ends while reading ${what} (needs ${n} bytes, only ${this.src.size - this.pos} left of ${this.src.size})`,
        'The file is truncated or is not a GGUF file: download or export it again');
    }
    const len = Math.min(Math.max(n, HEADER_CHUNK), this.src.size - this.pos);
    // copy: a source may reuse its buffer between reads
    this.buf = (await this.src.read(this.pos, len)).slice();
    this.bufStart = this.pos;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** True when n bytes at pos are already buffered (no await needed). */
  has(n: number): boolean {
    return this.pos + n <= this.bufStart + this.buf.length;
  }

  u8(): number { const v = this.buf[this.pos - this.bufStart]!; this.pos += 1; return v; }
  i8(): number { const v = this.view.getInt8(this.pos - this.bufStart); this.pos += 1; return v; }
  u16(): number { const v = this.view.getUint16(this.pos - this.bufStart, true); this.pos += 2; return v; }
  i16(): number { const v = this.view.getInt16(this.pos - this.bufStart, true); this.pos += 2; return v; }
  u32(): number { const v = this.view.getUint32(this.pos - this.bufStart, true); this.pos += 4; return v; }
  i32(): number { const v = this.view.getInt32(this.pos - this.bufStart, true); this.pos += 4; return v; }
  f32(): number { const v = this.view.getFloat32(this.pos - this.bufStart, true); this.pos += 4; return v; }
  f64(): number { const v = this.view.getFloat64(this.pos - this.bufStart, true); this.pos += 8; return v; }
  u64(): bigint { const v = this.view.getBigUint64(this.pos - this.bufStart, true); this.pos += 8; return v; }
  i64(): bigint { const v = this.view.getBigInt64(this.pos - this.bufStart, true); this.pos += 8; return v; }
  bytes(n: number): Uint8Array {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(o, o + n);
  }

  /** A u64 that must fit a safe integer (counts, lengths, dims, offsets). */
  async size(what: string): Promise<number> {
    await this.need(8, what);
    const at = this.pos;
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw ggufError(this.src.name, at, `${what} is ${v}, larger than any file`, 'The header is corrupt');
    }
    return Number(v);
  }

  async string(what: string): Promise<string> {
    const at = this.pos;
    const len = await this.size(`length of ${what}`);
    if (len > this.remaining) {
      throw ggufError(this.src.name, at,
        `${what} has length ${len} but only ${this.remaining} bytes are left in the file`,
        'The header is corrupt or the file is truncated');
    }
    await this.need(len, what);
    return this.decode(len, what, at);
  }

  decode(len: number, what: string, at: number): string {
    const bytes = this.bytes(len);
    if (len <= 32) {
      // short ASCII strings (most vocab tokens) skip the TextDecoder call overhead
      let ascii = true;
      for (let i = 0; i < len; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    try {
      return textDecoder.decode(bytes);
    } catch {
      throw ggufError(this.src.name, at, `${what} is not valid UTF-8`, 'The header is corrupt');
    }
  }
}

/** A parsed GGUF header with typed getters that name a missing or mistyped key. */
export class GgufFile {
  constructor(
    /** Name of the source (path) the header came from. */
    readonly file: string,
    readonly version: number,
    readonly alignment: number,
    readonly metadata: GgufMetadata,
    readonly tensors: GgufTensorInfo[],
    /** Absolute offset of the tensor data section. */
    readonly dataOffset: number,
    /** Size of the whole file in bytes. */
    readonly fileSize: number,
  ) {}

  private readonly byName = new Map<string, GgufTensorInfo>();

  has(key: string): boolean {
    return this.metadata.has(key);
  }

  get(key: string): GgufValue {
    const v = this.metadata.get(key);
    if (!v) {
      throw new GgufError(`${this.file}: metadata key "${key}" is missing. The file was not exported with it: ` +
        're-export the model with a converter that writes it', this.file);
    }
    return v;
  }

  private mistyped(key: string, v: GgufValue, want: string): GgufError {
    const got = v.type === 'array' ? `array of ${v.itemType}` : v.type;
    return new GgufError(`${this.file}: metadata key "${key}" is ${got}, expected ${want}. ` +
      'The file was written by an incompatible converter', this.file);
  }

  /** Any integer-typed value that fits in u32. */
  getU32(key: string): number {
    const v = this.get(key);
    if ((v.type === 'u8' || v.type === 'u16' || v.type === 'u32' || v.type === 'i8' || v.type === 'i16' ||
      v.type === 'i32') && v.value >= 0) return v.value;
    if ((v.type === 'u64' || v.type === 'i64') && v.value >= 0n && v.value <= 0xffffffffn) return Number(v.value);
    throw this.mistyped(key, v, 'an unsigned 32-bit integer');
  }

  /** Any integer-typed value as a number (u64/i64 must be a safe integer). */
  getInt(key: string): number {
    const v = this.get(key);
    if (v.type === 'u8' || v.type === 'u16' || v.type === 'u32' || v.type === 'i8' || v.type === 'i16' ||
      v.type === 'i32') return v.value;
    if ((v.type === 'u64' || v.type === 'i64') && v.value >= BigInt(Number.MIN_SAFE_INTEGER) &&
      v.value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v.value);
    throw this.mistyped(key, v, 'an integer');
  }

  /** f32 or f64. */
  getF32(key: string): number {
    const v = this.get(key);
    if (v.type === 'f32' || v.type === 'f64') return v.value;
    throw this.mistyped(key, v, 'a float');
  }

  getBool(key: string): boolean {
    const v = this.get(key);
    if (v.type === 'bool') return v.value;
    throw this.mistyped(key, v, 'a bool');
  }

  getString(key: string): string {
    const v = this.get(key);
    if (v.type === 'string') return v.value;
    throw this.mistyped(key, v, 'a string');
  }

  getArray(key: string): GgufArray {
    const v = this.get(key);
    if (v.type === 'array') return v;
    throw this.mistyped(key, v, 'an array');
  }

  getStringArray(key: string): string[] {
    const v = this.getArray(key);
    if (v.itemType === 'string') return v.value;
    throw this.mistyped(key, v, 'an array of strings');
  }

  /** The tensor named `name`, or a GgufError listing what the file has. */
  tensor(name: string): GgufTensorInfo {
    if (this.byName.size === 0) for (const t of this.tensors) this.byName.set(t.name, t);
    const t = this.byName.get(name);
    if (!t) {
      const some = this.tensors.slice(0, 5).map((x) => x.name).join(', ');
      throw new GgufError(`${this.file}: tensor "${name}" is missing (the file has ${this.tensors.length} ` +
        `tensors: ${some}${this.tensors.length > 5 ? ', ...' : ''}). Use a model of the expected architecture`, this.file);
    }
    return t;
  }

  hasTensor(name: string): boolean {
    return this.tensors.some((t) => t.name === name);
  }
}

/** Reads one metadata value of type `typeId` at the cursor. */
async function readValue(c: HeaderCursor, typeId: number, key: string, typeAt: number): Promise<GgufValue> {
  const name = GGUF_VALUE_TYPE_NAME[typeId];
  if (name === undefined) {
    throw ggufError(c.src.name, typeAt, `metadata key "${key}" has unknown value type ${typeId} (0..12 are valid)`,
      'The header is corrupt');
  }
  if (name === 'array') return readArray(c, key);
  if (name === 'string') return { type: 'string', value: await c.string(`the value of "${key}"`) };
  await c.need(GGUF_SCALAR_SIZE[name], `the value of "${key}"`);
  switch (name) {
    case 'u8': return { type: name, value: c.u8() };
    case 'i8': return { type: name, value: c.i8() };
    case 'u16': return { type: name, value: c.u16() };
    case 'i16': return { type: name, value: c.i16() };
    case 'u32': return { type: name, value: c.u32() };
    case 'i32': return { type: name, value: c.i32() };
    case 'f32': return { type: name, value: c.f32() };
    case 'f64': return { type: name, value: c.f64() };
    case 'u64': return { type: name, value: c.u64() };
    case 'i64': return { type: name, value: c.i64() };
    case 'bool': {
      const at = c.pos;
      const b = c.u8();
      if (b > 1) throw ggufError(c.src.name, at, `bool "${key}" has byte value ${b}`, 'The header is corrupt');
      return { type: 'bool', value: b === 1 };
    }
  }
}

async function readArray(c: HeaderCursor, key: string): Promise<GgufValue> {
  await c.need(4, `the item type of array "${key}"`);
  const itemAt = c.pos;
  const itemId = c.u32();
  const item = GGUF_VALUE_TYPE_NAME[itemId];
  if (item === undefined || item === 'array') {
    throw ggufError(c.src.name, itemAt,
      `array "${key}" has item type ${itemId}${item === 'array' ? ' (nested arrays)' : ''}, which is not supported`,
      'Re-export the model with a standard GGUF converter');
  }
  const itemType: GgufScalarTypeName = item;
  const countAt = c.pos;
  const n = await c.size(`the length of array "${key}"`);
  const minItem = itemType === 'string' ? 8 : GGUF_SCALAR_SIZE[itemType];
  if (n * minItem > c.remaining) {
    throw ggufError(c.src.name, countAt,
      `array "${key}" claims ${n} items of ${itemType} (at least ${n * minItem} bytes) but only ${c.remaining} bytes are left`,
      'The header is corrupt or the file is truncated');
  }
  if (n * minItem > MAX_METADATA_ARRAY_BYTES) {
    throw ggufError(c.src.name, countAt,
      `array "${key}" claims ${n} items of ${itemType} (at least ${n * minItem} bytes), more than any GGUF metadata (${MAX_METADATA_ARRAY_BYTES} bytes)`,
      'The header is corrupt: export the model again');
  }
  if (itemType === 'string') {
    const out: string[] = []; // grown as strings are read: the count alone sizes nothing
    for (let i = 0; i < n; i++) {
      if (!c.has(8)) await c.need(8, `string ${i} of "${key}"`);
      const at = c.pos;
      const big = c.u64();
      if (big > BigInt(c.remaining)) {
        throw ggufError(c.src.name, at,
          `string ${i} of array "${key}" has length ${big} but only ${c.remaining} bytes are left`,
          'The header is corrupt or the file is truncated');
      }
      const len = Number(big);
      if (!c.has(len)) await c.need(len, `string ${i} of "${key}"`);
      out.push(c.decode(len, `string ${i} of "${key}"`, at));
    }
    return { type: 'array', itemType, value: out };
  }
  const size = GGUF_SCALAR_SIZE[itemType];
  await c.need(n * size, `array "${key}"`);
  const raw = c.bytes(n * size).slice(); // own, aligned copy
  switch (itemType) {
    case 'u8': return { type: 'array', itemType, value: raw };
    case 'i8': return { type: 'array', itemType, value: new Int8Array(raw.buffer) };
    case 'u16': return { type: 'array', itemType, value: new Uint16Array(raw.buffer) };
    case 'i16': return { type: 'array', itemType, value: new Int16Array(raw.buffer) };
    case 'u32': return { type: 'array', itemType, value: new Uint32Array(raw.buffer) };
    case 'i32': return { type: 'array', itemType, value: new Int32Array(raw.buffer) };
    case 'f32': return { type: 'array', itemType, value: new Float32Array(raw.buffer) };
    case 'f64': return { type: 'array', itemType, value: new Float64Array(raw.buffer) };
    case 'u64': return { type: 'array', itemType, value: new BigUint64Array(raw.buffer) };
    case 'i64': return { type: 'array', itemType, value: new BigInt64Array(raw.buffer) };
    case 'bool': {
      const out: boolean[] = new Array(n);
      for (let i = 0; i < n; i++) {
        if (raw[i]! > 1) {
          throw ggufError(c.src.name, countAt + 8 + i, `item ${i} of bool array "${key}" is ${raw[i]}`, 'The header is corrupt');
        }
        out[i] = raw[i] === 1;
      }
      return { type: 'array', itemType, value: out };
    }
  }
}

/**
 * Parses and validates the GGUF header of `src`: magic, version (3, or 2), metadata, tensor
 * infos, alignment, tensor offsets and sizes (inside the file, aligned, not overlapping).
 * Throws a GgufError naming the file, the field and the byte offset.
 */
export async function readGguf(src: ByteSource): Promise<GgufFile> {
  const c = new HeaderCursor(src);
  const file = src.name;
  await c.need(4, 'the GGUF magic');
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    const got = Array.from(new Uint8Array(new Uint32Array([magic]).buffer), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw ggufError(file, 0, `bad magic (bytes ${got}, expected 47 47 55 46 = "GGUF")`,
      'This is not a GGUF file: pass a .gguf model');
  }
  await c.need(4, 'the GGUF version');
  const version = c.u32();
  if (version !== 3 && version !== 2) {
    throw ggufError(file, 4, `unsupported GGUF version ${version} (3 is supported, 2 is read)`,
      version === 1 ? 'Convert the model again with a current llama.cpp' : 'The header is corrupt or from a newer GGUF');
  }
  const nTensorsAt = c.pos;
  const nTensors = await c.size('the tensor count');
  const nKvAt = c.pos;
  const nKv = await c.size('the metadata count');
  // each tensor info takes >= 8 (name len) + 4 (n_dims) + 8 (ne0) + 4 (type) + 8 (offset) bytes,
  // each key/value >= 8 (key len) + 4 (type) + 1 byte
  if (nTensors * 32 > c.remaining) {
    throw ggufError(file, nTensorsAt, `tensor count ${nTensors} cannot fit in a ${src.size}-byte file`,
      'The header is corrupt or the file is truncated');
  }
  if (nKv * 13 > c.remaining) {
    throw ggufError(file, nKvAt, `metadata count ${nKv} cannot fit in a ${src.size}-byte file`,
      'The header is corrupt or the file is truncated');
  }

  const metadata: GgufMetadata = new Map();
  let alignmentAt: number | undefined;
  for (let i = 0; i < nKv; i++) {
    const keyAt = c.pos;
    const key = await c.string(`metadata key ${i}`);
    if (metadata.has(key)) {
      throw ggufError(file, keyAt, `duplicate metadata key "${key}"`, 'The header is corrupt: each key may appear once');
    }
    await c.need(4, `the value type of "${key}"`);
    const typeAt = c.pos;
    const typeId = c.u32();
    if (key === 'general.alignment') alignmentAt = typeAt;
    metadata.set(key, await readValue(c, typeId, key, typeAt));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al) {
    if (al.type !== 'u32' || al.value === 0 || (al.value & (al.value - 1)) !== 0) {
      throw ggufError(file, alignmentAt,
        `general.alignment must be a u32 power of two, got ${al.type} ${al.type === 'array' ? '[...]' : String(al.value)}`,
        'Re-export the model (llama.cpp writes 32)');
    }
    alignment = al.value;
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const infoOffset = c.pos;
    const name = await c.string(`the name of tensor ${i}`);
    if (names.has(name)) {
      throw ggufError(file, infoOffset, `duplicate tensor name "${name}"`, 'The header is corrupt: each tensor may appear once');
    }
    names.add(name);
    await c.need(4, `the dimension count of tensor "${name}"`);
    const dimsAt = c.pos;
    const nDims = c.u32();
    if (nDims < 1 || nDims > MAX_DIMS) {
      throw ggufError(file, dimsAt, `tensor "${name}" has ${nDims} dimensions (1 to ${MAX_DIMS} allowed)`, 'The header is corrupt');
    }
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) shape.push(await c.size(`dimension ${d} of tensor "${name}"`));
    await c.need(4, `the type of tensor "${name}"`);
    const typeAt = c.pos;
    const type = c.u32();
    const info = ggmlTypeInfo(type);
    if (!info) {
      throw ggufError(file, typeAt, `tensor "${name}": ${describeUnsupportedType(type)}`,
        'Use a model with F32/F16/Q8_0/Q1_0 tensors (a Bonsai Q1_0 GGUF)');
    }
    const offAt = c.pos;
    const relativeOffset = await c.size(`the data offset of tensor "${name}"`);
    const size = tensorSize(info, shape);
    if (typeof size === 'string') {
      throw ggufError(file, dimsAt, `tensor "${name}" (${info.name}, shape [${shape.join(', ')}]) ${size}`,
        'The header is corrupt or the tensor was written with a wrong shape');
    }
    if (relativeOffset % alignment !== 0) {
      throw ggufError(file, offAt, `tensor "${name}" data offset ${relativeOffset} is not a multiple of the alignment ${alignment}`,
        'The file was written by a broken writer: re-export it');
    }
    tensors.push({
      name, type, typeName: info.name, shape, nElements: size.nElements, nBytes: size.nBytes,
      rowBytes: size.rowBytes, nRows: size.nRows, offset: 0, relativeOffset, infoOffset,
    });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    t.offset = dataOffset + t.relativeOffset;
    if (t.offset + t.nBytes > src.size) {
      throw ggufError(file, t.infoOffset,
        `tensor "${t.name}" data [${t.offset}, ${t.offset + t.nBytes}) runs past the end of the ${src.size}-byte file`,
        'The file is truncated: download or export it again');
    }
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (prev.offset + prev.nBytes > cur.offset) {
      throw ggufError(file, cur.infoOffset,
        `tensor "${cur.name}" data at ${cur.offset} overlaps tensor "${prev.name}" [${prev.offset}, ${prev.offset + prev.nBytes})`,
        'The header is corrupt: tensors must not share bytes');
    }
  }
  return new GgufFile(file, version, alignment, metadata, tensors, dataOffset, src.size);
}

export interface TensorChunk {
  /** Bytes of whole rows; valid until the next chunk is requested. */
  bytes: Uint8Array;
  /** Offset of these bytes within the tensor's data. */
  byteOffset: number;
  /** First row (ne0 elements) in this chunk and number of rows (fractional if not rowAligned). */
  rowStart: number;
  rowCount: number;
}

export interface TensorChunkOptions {
  /** Target chunk size in bytes (default 4 MiB); a chunk always holds at least one row. */
  chunkBytes?: number;
  /** Whole rows per chunk (default true). With false, chunks are exactly chunkBytes long (last shorter). */
  rowAligned?: boolean;
}

/** Streams a tensor's data in chunks of whole rows, without reading the rest of the file. */
export async function* readTensorChunks(
  src: ByteSource, tensor: GgufTensorInfo, options: TensorChunkOptions = {},
): AsyncGenerator<TensorChunk> {
  const target = Math.max(1, Math.floor(options.chunkBytes ?? 4 << 20));
  const rowAligned = options.rowAligned ?? true;
  const step = rowAligned ? Math.max(1, Math.floor(target / tensor.rowBytes)) * tensor.rowBytes : target;
  if (tensor.offset + tensor.nBytes > src.size) {
    throw ggufError(src.name, tensor.offset, `tensor "${tensor.name}" runs past the end of the file`,
      'The file is truncated, or this tensor info belongs to another file');
  }
  for (let at = 0; at < tensor.nBytes; at += step) {
    const len = Math.min(step, tensor.nBytes - at);
    const bytes = await src.read(tensor.offset + at, len);
    yield {
      bytes, byteOffset: at,
      rowStart: Math.floor(at / tensor.rowBytes),
      rowCount: len / tensor.rowBytes,
    };
  }
}

/** Reads a whole tensor into one new buffer (its size was checked against the file). */
export async function readTensorBytes(src: ByteSource, tensor: GgufTensorInfo): Promise<Uint8Array> {
  const out = new Uint8Array(tensor.nBytes);
  for await (const chunk of readTensorChunks(src, tensor)) out.set(chunk.bytes, chunk.byteOffset);
  return out;
}
