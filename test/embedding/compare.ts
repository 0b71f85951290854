// Bit-level comparison of what two runtimes printed: which floats differ, by how many bits and
// units in the last place, and where (so a failing test says more than "not equal").

import { Buffer } from 'node:buffer';

/** Float32Array from the base64 of its bytes (as tiny-run.mjs prints it). */
export function f32FromBase64(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0) throw new RangeError(`base64 f32 array: ${bytes.length} bytes is not a multiple of 4`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function popcount32(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

/**
 * undefined when `a` and `b` are bit-identical; else a summary: how many elements differ, the
 * bits flipped (XOR popcount) in total, the worst difference and its (row, col) for `cols` columns.
 */
export function describeF32Diff(a: Float32Array, b: Float32Array, cols: number): string | undefined {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let count = 0;
  let bits = 0;
  let worst = -1;
  for (let i = 0; i < a.length; i++) {
    if (ua[i] === ub[i]) continue;
    count++;
    bits += popcount32(ua[i]! ^ ub[i]!);
    if (worst < 0 || !(Math.abs(a[i]! - b[i]!) <= Math.abs(a[worst]! - b[worst]!))) worst = i;
  }
  if (count === 0) return undefined;
  const row = Math.floor(worst / cols);
  return `${count} of ${a.length} floats differ (${bits} bits flipped); worst at row ${row} col ${worst - row * cols}: ` +
    `${a[worst]} vs ${b[worst]}`;
}

/** Distance in units in the last place between two finite doubles (0 when bit-identical). */
export function ulpDistance(x: number, y: number): number {
  const key = (v: number) => {
    const bits = new BigInt64Array(new Float64Array([v]).buffer)[0]!;
    // map the sign-magnitude bit order onto a monotonic integer line
    return bits < 0n ? -(bits & 0x7fffffffffffffffn) : bits;
  };
  const d = key(x) - key(y);
  return Number(d < 0n ? -d : d);
}

/** The largest ulp distance between same-index numbers of two arrays (Infinity if lengths differ). */
export function maxUlpDistance(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, ulpDistance(a[i]!, b[i]!));
  return m;
}
