// ---------------------------------------------------------------------------------------------
// Portable seeded PRNGs: xoshiro128** seeded through splitmix32 (Rng: the search, the nulls, the
// random models), and plain SplitMix32 (the shipped corpora's generator). Pure 32-bit integer math
// (Math.imul, >>> 0), so Node, Deno, Bun and browsers produce the same streams.
// ---------------------------------------------------------------------------------------------

/** One splitmix32 step: returns [next state, output]. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [s, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units (names are ASCII). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any 32-bit integer; `stream` separates independent sequences (e.g. per tensor). */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be an integer, got ${seed}`);
    let s = (seed ^ Math.imul(stream >>> 0, 0x27d4eb2d)) >>> 0;
    let out: number;
    [s, out] = splitmix32(s); this.a = out;
    [s, out] = splitmix32(s); this.b = out;
    [s, out] = splitmix32(s); this.c = out;
    [s, out] = splitmix32(s); this.d = out;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** The generator's state (four u32), for checkpoints; assigning it resumes the stream exactly. */
  get state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  set state(v: readonly number[]) {
    if (v.length !== 4 || v.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff) || v.every((x) => x === 0)) {
      throw new RangeError(`Rng: a state is four u32 values, not all zero; got ${JSON.stringify(v)}`);
    }
    [this.a, this.b, this.c, this.d] = [v[0]!, v[1]!, v[2]!, v[3]!];
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c = (this.c ^ this.a) >>> 0;
    this.d = (this.d ^ this.b) >>> 0;
    this.b = (this.b ^ this.c) >>> 0;
    this.a = (this.a ^ this.d) >>> 0;
    this.c = (this.c ^ t) >>> 0;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.nextFloat();
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 32)) throw new RangeError(`Rng.int: n must be in 1..2^32, got ${n}`);
    const limit = Math.floor(2 ** 32 / n) * n;
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Fisher-Yates shuffle in place (from the end, j = int(i + 1)); returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * SplitMix32 over a 32-bit counter (each output one splitmix32 step), with inclusive integer
 * ranges: the generator the shipped corpora are drawn from (buildCorpus, freshExamples in
 * @bankai/tiny-model). Its stream is frozen: the corpora's bytes, and so the shipped models,
 * depend on every output.
 */
export class SplitMix32 {
  private s: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`SplitMix32: seed must be an integer, got ${seed}`);
    this.s = seed >>> 0;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    let out: number;
    [this.s, out] = splitmix32(this.s);
    return out;
  }

  /** Uniform integer in [lo, hi] inclusive (rejection sampling, no modulo bias). */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    if (!(span >= 1 && span <= 2 ** 32)) throw new RangeError(`SplitMix32.int: bad range [${lo}, ${hi}]`);
    const limit = Math.floor(2 ** 32 / span) * span;
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return lo + (x % span);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('SplitMix32.pick: empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}
