import { GgufError } from './errors.js';

// ---------------------------------------------------------------------------------------------
// ggml tensor types: the one place that knows block sizes (like ggml's type_traits[] table).
// ---------------------------------------------------------------------------------------------

export interface GgmlTypeInfo {
  /** ggml type id as stored in the file. */
  readonly id: number;
  readonly name: string;
  /** Weights per block (elements along ne0 that share one block). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

export const GGML_TYPE = {
  F32: 0,
  F16: 1,
  Q8_0: 8,
  Q1_0: 41,
} as const;
export type GgmlTypeId = (typeof GGML_TYPE)[keyof typeof GGML_TYPE];

/** Q1_0: fp16 d, then qs[16]: 128 sign bits, LSB first. */
export const Q1_0_BLOCK = 128;
export const Q1_0_BYTES = 18;
/** Bytes of the fp16 scale d that opens every Q1_0 block (the sign bits follow it). */
export const Q1_0_SCALE_BYTES = 2;
/** Q8_0: fp16 d, then 32 int8. */
export const Q8_0_BLOCK = 32;
export const Q8_0_BYTES = 34;

export const GGML_TYPES: readonly GgmlTypeInfo[] = [
  { id: GGML_TYPE.F32, name: 'F32', blockSize: 1, typeSize: 4 },
  { id: GGML_TYPE.F16, name: 'F16', blockSize: 1, typeSize: 2 },
  { id: GGML_TYPE.Q8_0, name: 'Q8_0', blockSize: Q8_0_BLOCK, typeSize: Q8_0_BYTES },
  { id: GGML_TYPE.Q1_0, name: 'Q1_0', blockSize: Q1_0_BLOCK, typeSize: Q1_0_BYTES },
];

// Size checks, like ggml's static_assert on sizeof(block_q1_0).
if (Q1_0_BYTES !== Q1_0_SCALE_BYTES + Q1_0_BLOCK / 8) throw new Error('Q1_0 block size is wrong');
if (Q8_0_BYTES !== 2 + Q8_0_BLOCK) throw new Error('Q8_0 block size is wrong');

const byId = new Map(GGML_TYPES.map((t) => [t.id, t]));

/** Names of well-known ggml types this package does not read, for clearer refusals. */
const KNOWN_UNSUPPORTED: Record<number, string> = {
  2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K',
  13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
  40: 'NVFP4', 42: 'Q2_0',
};

/** The type table entry for `id`, or undefined when this package does not support it. */
export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return byId.get(id);
}

/** Describes an unsupported type id for error messages. */
export function describeUnsupportedType(id: number): string {
  const known = KNOWN_UNSUPPORTED[id];
  const supported = GGML_TYPES.map((t) => `${t.name}=${t.id}`).join(', ');
  const trap = id === 40 ? '; id 40 is NVFP4 upstream, not 1-bit: Q1_0 is 41' : '';
  return `ggml type ${id}${known ? ` (${known})` : ''} is not supported (supported: ${supported}${trap})`;
}

/** Like ggmlTypeInfo but throws a GgufError naming the type. */
export function requireGgmlType(id: number): GgmlTypeInfo {
  const t = byId.get(id);
  if (!t) throw new GgufError(describeUnsupportedType(id));
  return t;
}

export interface TensorSize {
  nElements: number;
  nBytes: number;
  /** Bytes of one row (ne0 elements). */
  rowBytes: number;
  /** Number of rows (product of ne1..). */
  nRows: number;
}

/**
 * Element count and byte size of a tensor, overflow-safe: every intermediate stays an exact
 * integer (<= 2^53). Returns a string describing the problem instead of throwing, so callers can
 * name the file and tensor.
 */
export function tensorSize(type: GgmlTypeInfo, shape: readonly number[]): TensorSize | string {
  if (shape.length < 1 || shape.length > 4) return `has ${shape.length} dimensions (1 to 4 allowed)`;
  let nElements = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (!Number.isSafeInteger(d) || d < 0) return `dimension ${i} is ${d}, not a non-negative integer`;
    nElements *= d;
    if (!Number.isSafeInteger(nElements)) return `element count overflows 2^53 at dimension ${i}`;
  }
  const ne0 = shape[0]!;
  if (ne0 % type.blockSize !== 0) {
    return `ne0 = ${ne0} is not a multiple of the ${type.name} block size ${type.blockSize}`;
  }
  const rowBytes = (ne0 / type.blockSize) * type.typeSize;
  const nRows = ne0 === 0 ? 0 : nElements / ne0;
  const nBytes = rowBytes * nRows;
  if (!Number.isSafeInteger(nBytes)) return 'byte size overflows 2^53';
  return { nElements, nBytes, rowBytes, nRows };
}
