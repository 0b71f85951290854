// ---------------------------------------------------------------------------------------------
// Portable seeded PRNG: SplitMix32-style mixing over a 32-bit counter state. Only 32-bit integer
// math (Math.imul, >>>), so every runtime produces the same stream for the same seed.
// ---------------------------------------------------------------------------------------------

export class Rng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Rng: seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform integer in [lo, hi] inclusive (rejection sampling, no modulo bias). */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    if (!(span >= 1 && span <= 2 ** 32)) throw new Error(`Rng.int: bad range [${lo}, ${hi}]`);
    const limit = Math.floor(2 ** 32 / span) * span;
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return lo + (x % span);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
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
