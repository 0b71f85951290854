// The genetic operators on patches. An individual is a patch as a sorted list of distinct
// candidate indices of the search space. Every random choice comes from the one seeded generator
// passed in, in a fixed order, so the same state gives the same child on any runtime.
import type { Rng } from '@bankai/search';

/** A patch: distinct candidate indices, ascending. */
export type Genome = readonly number[];

/** Flips in exactly one of the two patches (their XOR), ascending. */
export function xorGenomes(a: Genome, b: Genome): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else if (i >= a.length || b[j]! < a[i]!) out.push(b[j++]!);
    else {
      i++;
      j++;
    }
  }
  return out;
}

/** Hamming distance of two patches: the flips on which they differ. */
export function hamming(a: Genome, b: Genome): number {
  return xorGenomes(a, b).length;
}

/** Hamming distance over the flips of both (0 for two empty patches): in [0, 1]. */
export function normalizedHamming(a: Genome, b: Genome): number {
  const n = a.length + b.length;
  return n === 0 ? 0 : hamming(a, b) / n;
}

/**
 * XOR crossover: child = a XOR (mask AND (a XOR b)). Flips both parents hold are kept; each flip
 * only one parent holds is kept when its mask bit (one draw per differing flip, ascending) says
 * that parent's side: the child keeps each parent's flips by a seeded mask.
 */
export function crossover(a: Genome, b: Genome, rng: Rng): number[] {
  // mask bit set: the flip takes b's state (a's own ones leave, b's own ones join)
  const toggle = xorGenomes(a, b).filter(() => rng.nextFloat() < 0.5);
  return xorGenomes(a, toggle);
}

export interface MutationOptions {
  /** Candidates in the space (uniform additions draw from 0..size-1). */
  size: number;
  /** Probability of dropping a flip rather than adding (when the patch has flips). */
  dropRate: number;
  /** Most flips one mutation adds (1..adds, uniform). */
  adds: number;
  /** Additions draw uniformly from these candidates (e.g. the best first-order ranked) instead of the whole space. */
  pool?: readonly number[];
  /** Most flips a patch may hold: additions beyond it drop random flips first. */
  maxFlips: number;
}

/** One mutation: drop a random flip, or add 1..adds flips not in the patch (from the pool or the space). */
export function mutate(g: Genome, rng: Rng, o: MutationOptions): number[] {
  const out = new Set(g);
  if (g.length > 0 && rng.nextFloat() < o.dropRate) {
    out.delete(g[rng.int(g.length)]!);
    return [...out].sort((x, y) => x - y);
  }
  const k = 1 + rng.int(Math.max(1, o.adds));
  const from = o.pool && o.pool.length > 0 ? o.pool : undefined;
  const room = (from ? from.length : o.size) - g.length;
  for (let added = 0, tries = 0; added < Math.min(k, room) && tries < 20 * k; tries++) {
    const c = from ? from[rng.int(from.length)]! : rng.int(o.size);
    if (out.has(c)) continue;
    out.add(c);
    added++;
  }
  const list = [...out].sort((x, y) => x - y);
  while (list.length > o.maxFlips) list.splice(rng.int(list.length), 1);
  return list;
}

export interface Scored {
  genome: Genome;
  /** Fitness of the patch (higher is better; -Infinity: infeasible). */
  fitness: number;
}

/**
 * Selection with a diversity term: the fittest first, then repeatedly the one maximizing
 * fitness + diversity * (normalized Hamming distance to the nearest one already chosen).
 * Duplicates (distance 0 to a chosen one) come only after every distinct patch. Ties go to the
 * earlier entry, so the result is a function of the input order.
 */
export function selectDiverse<T extends Scored>(pool: readonly T[], count: number, diversity: number): T[] {
  const left = pool.map((x, i) => ({ x, i, near: Infinity }));
  const chosen: T[] = [];
  while (chosen.length < count && left.length > 0) {
    let best = -1;
    let bestScore = -Infinity;
    let bestDup = true;
    for (let k = 0; k < left.length; k++) {
      const e = left[k]!;
      const dup = chosen.length > 0 && e.near === 0;
      const score = e.x.fitness + (chosen.length > 0 ? diversity * e.near : 0);
      if (best < 0 || (bestDup && !dup) || (dup === bestDup && score > bestScore)) {
        best = k;
        bestScore = score;
        bestDup = dup;
      }
    }
    const [pick] = left.splice(best, 1);
    chosen.push(pick!.x);
    for (const e of left) e.near = Math.min(e.near, normalizedHamming(e.x.genome, pick!.x.genome));
  }
  return chosen;
}

/** FNV-1a over a population's genomes: a short digest for logs and tests. */
export function populationDigest(genomes: readonly Genome[]): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    for (let s = 0; s < 32; s += 8) h = Math.imul(h ^ ((x >>> s) & 0xff), 0x01000193) >>> 0;
  };
  for (const g of genomes) {
    mix(g.length);
    for (const x of g) mix(x);
  }
  return h.toString(16).padStart(8, '0');
}
