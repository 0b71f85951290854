import { GgufError } from './errors.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from './reader.js';
import { describeUnsupportedType, ggmlTypeInfo, tensorSize } from './types.js';
import { GGUF_VALUE_TYPE, type GgufValue } from './values.js';

// ---------------------------------------------------------------------------------------------
// Streaming GGUF v3 writer: the header is built in memory (it is small: a 152k-token vocab is
// ~3 MB), tensor data streams from each tensor's producer to the sink, padded to the alignment.
// Offsets are computed here: tensors are laid out in the order given.
// ---------------------------------------------------------------------------------------------

/** Where written bytes go. The writer never reuses a buffer after passing it to write(). */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void> | void;
}

export type TensorDataProducer = () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface GgufTensorSpec {
  name: string;
  /** ggml type id (GGML_TYPE.Q1_0, ...). */
  type: number;
  /** ne0 first. */
  shape: readonly number[];
  /** All bytes at once, or a function yielding them in chunks (streamed, never held whole). */
  data: Uint8Array | TensorDataProducer;
}

export interface GgufWriteSpec {
  /** Ordered metadata; general.alignment (u32, power of two) sets the alignment, default 32. */
  metadata: Iterable<readonly [string, GgufValue]>;
  tensors: readonly GgufTensorSpec[];
}

export interface GgufWriteResult {
  bytesWritten: number;
  alignment: number;
  dataOffset: number;
  tensors: Array<{ name: string; offset: number; nBytes: number }>;
}

/** Growable little-endian byte builder for the header. */
class ByteBuilder {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private static encoder = new TextEncoder();

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: bigint | number): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  i64(v: bigint): void { this.reserve(8); this.view.setBigInt64(this.length, v, true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  string(s: string): void {
    const b = ByteBuilder.encoder.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  zeros(n: number): void { this.reserve(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

const INT_RANGE: Record<string, [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

function checkNumber(key: string, type: string, v: number, index?: number): void {
  const range = INT_RANGE[type];
  if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
    const where = index === undefined ? '' : ` item ${index}`;
    throw new GgufError(`metadata "${key}"${where}: ${v} is not a valid ${type}. Pass an integer in [${range[0]}, ${range[1]}]`);
  }
}

function writeScalar(b: ByteBuilder, key: string, type: string, v: unknown, index?: number): void {
  switch (type) {
    case 'u8': checkNumber(key, type, v as number, index); b.u8(v as number); break;
    case 'i8': checkNumber(key, type, v as number, index); b.i8(v as number); break;
    case 'u16': checkNumber(key, type, v as number, index); b.u16(v as number); break;
    case 'i16': checkNumber(key, type, v as number, index); b.i16(v as number); break;
    case 'u32': checkNumber(key, type, v as number, index); b.u32(v as number); break;
    case 'i32': checkNumber(key, type, v as number, index); b.i32(v as number); break;
    case 'f32': b.f32(v as number); break;
    case 'f64': b.f64(v as number); break;
    case 'u64': b.u64(v as bigint); break;
    case 'i64': b.i64(v as bigint); break;
    case 'bool': b.u8(v ? 1 : 0); break;
    case 'string': b.string(v as string); break;
    default: throw new GgufError(`metadata "${key}": unknown value type "${type}"`);
  }
}

function writeValue(b: ByteBuilder, key: string, v: GgufValue): void {
  b.u32(GGUF_VALUE_TYPE[v.type]);
  if (v.type !== 'array') {
    writeScalar(b, key, v.type, v.value);
    return;
  }
  b.u32(GGUF_VALUE_TYPE[v.itemType]);
  const items = v.value as ArrayLike<unknown>;
  b.u64(items.length);
  for (let i = 0; i < items.length; i++) writeScalar(b, key, v.itemType, items[i], i);
}

export interface GgufLayout {
  header: Uint8Array;
  alignment: number;
  dataOffset: number;
  tensors: Array<{ name: string; offset: number; nBytes: number; paddedBytes: number }>;
  totalBytes: number;
}

/** Validates the spec and builds the header bytes (including padding up to the data section). */
export function encodeGgufHeader(spec: GgufWriteSpec): GgufLayout {
  const entries = [...spec.metadata];
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (const [key, v] of entries) {
    if (keys.has(key)) throw new GgufError(`metadata key "${key}" is given twice. Give each key once`);
    keys.add(key);
    if (key === 'general.alignment') {
      if (v.type !== 'u32' || v.value === 0 || (v.value & (v.value - 1)) !== 0) {
        throw new GgufError('general.alignment must be a u32 power of two (e.g. meta.u32(32))');
      }
      alignment = v.value;
    }
  }
  const names = new Set<string>();
  const tensors: GgufLayout['tensors'] = [];
  let rel = 0;
  for (const t of spec.tensors) {
    if (names.has(t.name)) throw new GgufError(`tensor "${t.name}" is given twice. Give each tensor once`);
    names.add(t.name);
    const info = ggmlTypeInfo(t.type);
    if (!info) throw new GgufError(`tensor "${t.name}": ${describeUnsupportedType(t.type)}`);
    const size = tensorSize(info, t.shape);
    if (typeof size === 'string') {
      throw new GgufError(`tensor "${t.name}" (${info.name}, shape [${t.shape.join(', ')}]) ${size}. Fix the shape`);
    }
    const padded = Math.ceil(size.nBytes / alignment) * alignment;
    tensors.push({ name: t.name, offset: rel, nBytes: size.nBytes, paddedBytes: padded });
    rel += padded;
  }

  const b = new ByteBuilder();
  b.u32(GGUF_MAGIC);
  b.u32(3);
  b.u64(spec.tensors.length);
  b.u64(entries.length);
  for (const [key, v] of entries) {
    b.string(key);
    writeValue(b, key, v);
  }
  spec.tensors.forEach((t, i) => {
    b.string(t.name);
    b.u32(t.shape.length);
    for (const d of t.shape) b.u64(d);
    b.u32(t.type);
    b.u64(tensors[i]!.offset);
  });
  const dataOffset = Math.ceil(b.length / alignment) * alignment;
  b.zeros(dataOffset - b.length);
  for (const t of tensors) t.offset += dataOffset;
  return { header: b.result(), alignment, dataOffset, tensors, totalBytes: dataOffset + rel };
}

/** Collects writes into fewer, larger sink writes. */
class BufferedSink {
  private buf = new Uint8Array(1 << 20);
  private fill = 0;
  written = 0;
  constructor(private readonly sink: ByteSink) {}

  async write(bytes: Uint8Array): Promise<void> {
    this.written += bytes.length;
    if (this.fill + bytes.length <= this.buf.length) {
      this.buf.set(bytes, this.fill);
      this.fill += bytes.length;
      return;
    }
    await this.flush();
    if (bytes.length >= this.buf.length) await this.sink.write(bytes.slice());
    else {
      this.buf.set(bytes, 0);
      this.fill = bytes.length;
    }
  }

  async flush(): Promise<void> {
    if (this.fill === 0) return;
    const out = this.buf.slice(0, this.fill);
    this.fill = 0;
    await this.sink.write(out);
  }
}

/**
 * Writes a GGUF v3 file to `sink`: header, then each tensor's data padded to the alignment.
 * Tensor data producers are called one at a time, so memory stays at one chunk.
 */
export async function writeGguf(sink: ByteSink, spec: GgufWriteSpec): Promise<GgufWriteResult> {
  const layout = encodeGgufHeader(spec);
  const out = new BufferedSink(sink);
  await out.write(layout.header);
  for (let i = 0; i < spec.tensors.length; i++) {
    const t = spec.tensors[i]!;
    const l = layout.tensors[i]!;
    let n = 0;
    const chunks = t.data instanceof Uint8Array ? [t.data] : t.data();
    for await (const chunk of chunks) {
      n += chunk.length;
      if (n > l.nBytes) break;
      await out.write(chunk);
    }
    if (n !== l.nBytes) {
      throw new GgufError(`tensor "${t.name}": its data has ${n > l.nBytes ? 'more than' : 'only'} ${n} bytes, ` +
        `but type and shape [${t.shape.join(', ')}] need ${l.nBytes}. Fix the tensor's data producer`);
    }
    await out.write(new Uint8Array(l.paddedBytes - l.nBytes));
  }
  await out.flush();
  return {
    bytesWritten: out.written, alignment: layout.alignment, dataOffset: layout.dataOffset,
    tensors: layout.tensors.map(({ name, offset, nBytes }) => ({ name, offset, nBytes })),
  };
}

/** An in-memory sink; bytes() concatenates what was written. */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  return {
    write(bytes: Uint8Array): void {
      chunks.push(bytes.slice());
      total += bytes.length;
    },
    bytes(): Uint8Array {
      const out = new Uint8Array(total);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}
