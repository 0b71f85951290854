// ---------------------------------------------------------------------------------------------
// GGUF metadata values: typed, so a header can be re-emitted byte for byte.
// ---------------------------------------------------------------------------------------------

/** GGUF value type ids as stored in the file. */
export const GGUF_VALUE_TYPE = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9,
  u64: 10, i64: 11, f64: 12,
} as const;
export type GgufValueTypeName = keyof typeof GGUF_VALUE_TYPE;
export type GgufScalarTypeName = Exclude<GgufValueTypeName, 'array'>;
export type GgufNumberTypeName = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';

export const GGUF_VALUE_TYPE_NAME: readonly GgufValueTypeName[] = [
  'u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64',
];

/** Fixed byte size of a scalar type (strings are variable: 0 here). */
export const GGUF_SCALAR_SIZE: Record<GgufScalarTypeName, number> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, string: 0, u64: 8, i64: 8, f64: 8,
};

/** How each array item type is held in memory. */
export interface GgufArrayItems {
  u8: Uint8Array; i8: Int8Array; u16: Uint16Array; i16: Int16Array; u32: Uint32Array;
  i32: Int32Array; f32: Float32Array; f64: Float64Array; u64: BigUint64Array; i64: BigInt64Array;
  bool: boolean[]; string: string[];
}

export type GgufArray = { [K in GgufScalarTypeName]: { type: 'array'; itemType: K; value: GgufArrayItems[K] } }[GgufScalarTypeName];

export type GgufValue =
  | { type: GgufNumberTypeName; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

/** Ordered, typed metadata (a Map keeps insertion order = file order). */
export type GgufMetadata = Map<string, GgufValue>;

/** Short constructors for metadata values: `meta.u32(28)`, `meta.strings(vocab)`. */
export const meta = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  u64: (value: bigint): GgufValue => ({ type: 'u64', value }),
  i64: (value: bigint): GgufValue => ({ type: 'i64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: string[]): GgufValue => ({ type: 'array', itemType: 'string', value }),
  i32s: (value: Int32Array | number[]): GgufValue => ({ type: 'array', itemType: 'i32', value: Int32Array.from(value) }),
  u32s: (value: Uint32Array | number[]): GgufValue => ({ type: 'array', itemType: 'u32', value: Uint32Array.from(value) }),
  f32s: (value: Float32Array | number[]): GgufValue => ({ type: 'array', itemType: 'f32', value: Float32Array.from(value) }),
};

/** A plain-JS view of a value (arrays as JS arrays), handy for comparisons and printing. */
export function plainValue(v: GgufValue): unknown {
  if (v.type !== 'array') return v.value;
  return Array.from(v.value as ArrayLike<unknown>);
}
