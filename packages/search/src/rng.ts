// The search's seeded generator: xoshiro128** seeded through splitmix32, pure 32-bit integer
// math, so every runtime draws the same stream; its state serializes into checkpoints.

function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [s, (z ^ (z >>> 16)) >>> 0];
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s: [number, number, number, number];

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be an integer, got ${seed}`);
    let st = seed >>> 0;
    const s: number[] = [];
    for (let i = 0; i < 4; i++) {
      let out: number;
      [st, out] = splitmix32(st);
      s.push(out);
    }
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
    this.s = s as [number, number, number, number];
  }

  /** The state, for checkpoints. */
  get state(): [number, number, number, number] {
    return [...this.s];
  }

  set state(v: readonly number[]) {
    if (v.length !== 4 || v.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
      throw new RangeError(`Rng: a state is four u32 values, got ${JSON.stringify(v)}`);
    }
    this.s = [v[0]!, v[1]!, v[2]!, v[3]!];
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 32)) throw new RangeError(`Rng.int: n must be in 1..2^32, got ${n}`);
    const limit = Math.floor(2 ** 32 / n) * n;
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }
}
