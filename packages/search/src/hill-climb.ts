// The hill-climbing loop the built-in strategies share: each step proposes `batch` distinct
// candidates not yet in the patch, evaluates them in parallel (screened on the targets first),
// and accepts the best one when its fitness clears the minimum gain.

import { pow } from '@bankai/model';
import type { Rng } from '@bankai/rng';
import type { CandidateSpace } from './space.js';
import type { Evaluation, SearchContext } from './strategy.js';

export interface HillClimbOptions {
  batch: number;
  screen: boolean;
  maxFlips: number;
  /** Propose one candidate index (the loop skips duplicates and accepted ones). */
  propose(rng: Rng, iteration: number, k: number): number;
  /** Optional extra acceptance rule (e.g. no domain may lose). */
  acceptable?(e: Evaluation): boolean;
}

export async function hillClimb(ctx: SearchContext<unknown>, o: HillClimbOptions): Promise<void> {
  if (!(Number.isInteger(o.batch) && o.batch >= 1)) throw new RangeError(`batch must be a positive integer, got ${o.batch}`);
  const space = ctx.space;
  for (const iteration of ctx.steps()) {
    if (ctx.accepted.length >= o.maxFlips) break;
    const picked = new Set<number>();
    let tries = 0;
    while (picked.size < Math.min(o.batch, space.size - ctx.accepted.length) && tries++ < o.batch * 50) {
      const i = o.propose(ctx.rng, iteration, picked.size);
      if (!picked.has(i) && !ctx.isAccepted(space.candidate(i))) picked.add(i);
    }
    if (picked.size === 0) break;
    const evals = await ctx.evaluate([...picked].map((i) => [space.candidate(i)]), { screen: o.screen });
    let best: Evaluation | undefined;
    for (const e of evals) if (!e.screenedOut && (!best || e.fitness > best.fitness)) best = e;
    if (best && best.fitness > ctx.minGain && (o.acceptable?.(best) ?? true)) await ctx.accept(best);
  }
}

/** Sampling proportional to scale^power: a cumulative table and binary search. */
export function scaleSampler(space: CandidateSpace, power: number): (rng: Rng) => number {
  const cum = new Float64Array(space.size);
  let total = 0;
  for (let i = 0; i < space.size; i++) {
    total += pow(space.scale(i), power);
    cum[i] = total;
  }
  return (rng) => {
    const u = rng.nextFloat() * total;
    let lo = 0;
    let hi = space.size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Candidate indices by decreasing scale (ties by index). */
export function scaleOrder(space: CandidateSpace): Uint32Array {
  const idx = Uint32Array.from({ length: space.size }, (_, i) => i);
  const s = Float32Array.from({ length: space.size }, (_, i) => space.scale(i));
  return idx.sort((a, b) => s[b]! - s[a]! || a - b);
}
