// Joint multi-domain repair: one patch for several target domains, never worse than where it
// starts on the search objective. Started from the XOR stack of per-domain patches
// (SearchConfig.initialPatch; `bankai stack --compare` and runStackStudy pass it), it repairs the
// stack under the joint objective (every domain's mean gain weighs the same, controls guarded):
//   drop    remove a flip of the patch (one that costs another domain more than it gives its own)
//   swap    remove one flip and add another in one move
//   add     add a flip (e.g. one the stack cancelled because two domains both chose it)
// Each step ranks every toggle by its first-order predicted patch fitness
// (ctx.firstOrder({ patch: true }): removals and additions alike), verifies the best ones and the
// best-predicted swaps exactly in parallel, and accepts the move that raises the patch's fitness
// against the original model (Evaluation.patchFitness) the most, then re-verifies the other
// winners on top of it. A move is accepted only if it raises the patch fitness (additions: by more
// than --min-gain, the cost of a flip), so the final patch's search fitness is >= the initial
// patch's by construction. With validation probes (the held-out proxy: targets and controls the
// fitness never sees; per domain with SearchConfig.validationByDomain, as runStackStudy runs it)
// it must also pass there (validationRefusals): a drop must not lower their fitness, a move that
// adds a flip must raise it past the flip's cost, no move may break more validation answers than
// it fixes, and no domain may lose validation answers, so the patch only moves where answers the
// search never fitted agree. With `validation-alpha` a move that adds a flip must also clear the
// guided strategy's selection-corrected bar: judged when the step has judged k moves, its
// validation fitness must reach a one-sided sign-flip p-value of alpha / k (clearsSelectionBar), so
// a step that walks far down the ranking does not let a lucky flip in. A step that accepts nothing
// ends the search and says why (RefusalTally): how many of its judged moves raise the patch
// fitness at all, and which rules refused those that do. Every step is
// self-contained (a fresh ranking on the patch), so resume is exact. Without an initial patch it
// is a gradient-guided joint search from nothing.
import { clearsSelectionBar, defineStrategy, type Candidate, type Evaluation } from '@bankai/search';

export type MoveKind = 'drop' | 'swap' | 'add';

/** What a flip set does to the patch: removes flips only, adds only, or both. */
export function moveKind(flips: readonly Candidate[], inPatch: (c: Candidate) => boolean): MoveKind {
  const removes = flips.filter(inPatch).length;
  if (removes === flips.length) return 'drop';
  return removes > 0 ? 'swap' : 'add';
}

/**
 * Swap proposals: every (removal, addition) pair of the `width` best-ranked of each, by the sum of
 * their predicted patch-fitness gains over `current` (first order is additive), best first, ties
 * by index.
 */
export function swapPairs(fitness: Float64Array, removals: readonly number[], additions: readonly number[], current: number, width: number): [number, number][] {
  const rs = removals.slice(0, width);
  const as = additions.slice(0, width);
  const pairs: { r: number; a: number; gain: number }[] = [];
  for (const r of rs) for (const a of as) pairs.push({ r, a, gain: fitness[r]! - current + (fitness[a]! - current) });
  return pairs.sort((x, y) => y.gain - x.gain || x.r - y.r || x.a - y.a).map((p) => [p.r, p.a]);
}

/**
 * The validation fitness on the search objective's terms: with several domains the mean of each
 * domain's validation gain (as the fitness weighs every domain the same) minus the same control
 * term as Evaluation.validation.fitness; with one domain that fitness itself. Each gain is the
 * move's effect on the accepted patch, so with `aggregate: 'min'` too the proxy weighs the domains'
 * effects by their mean: the worst of the effects would ask every domain to gain, not the
 * worst-off one.
 */
export function jointValidationFitness(v: NonNullable<Evaluation['validation']>): number {
  if (!v.domains || v.domains.length === 0) return v.fitness;
  const controlTerm = v.targetGain - v.fitness; // lambda x the validation controls' loss
  return v.domains.reduce((s, d) => s + d.targetGain, 0) / v.domains.length - controlTerm;
}

/** A rule of the held-out proxy a move can fail (validationRefusals). */
export type ProxyRule = 'validation fitness' | 'validation net' | 'domain loss';

/**
 * The rules of the held-out proxy a move fails, none when it passes: its validation fitness
 * (jointValidationFitness) must not fall (a drop) or must rise past `threshold` (a move that adds
 * a flip: an add or a swap), it must fix at least `net` validation answers beyond those it
 * breaks, and no domain may lose more than `domainLoss` of its validation answers net (-1: no
 * limit).
 */
export function validationRefusals(v: NonNullable<Evaluation['validation']>, threshold: number, kind: MoveKind, net: number, domainLoss: number): ProxyRule[] {
  const f = jointValidationFitness(v);
  const out: ProxyRule[] = [];
  if (kind === 'drop' ? f < 0 : !(f > threshold)) out.push('validation fitness');
  if (v.fixed - v.broken < net) out.push('validation net');
  if (domainLoss >= 0 && v.domains?.some((d) => d.fixed - d.broken < -domainLoss)) out.push('domain loss');
  return out;
}

/** The held-out proxy's verdict on a move: true when it fails none of validationRefusals' rules. */
export function validationPasses(v: NonNullable<Evaluation['validation']>, threshold: number, kind: MoveKind, net: number, domainLoss: number): boolean {
  return validationRefusals(v, threshold, kind, net, domainLoss).length === 0;
}

/** Every rule that can refuse a move that raises the patch fitness: the held-out proxy's, the selection bar, the flip cap. */
export type Refusal = ProxyRule | 'selection bar' | 'max flips';

/**
 * Why a step's judged moves were refused: how many did not raise the patch fitness past their
 * cost, and, of those that did, how many each rule refused (a move may fail several).
 */
export class RefusalTally {
  /** Judged moves that did not raise the patch fitness past the cost of the flips they add. */
  noGain = 0;
  /** Judged moves that did. */
  gain = 0;
  readonly byRule = new Map<Refusal, number>();

  get judged(): number {
    return this.noGain + this.gain;
  }

  add(raises: boolean, refusals: readonly Refusal[]): void {
    if (!raises) {
      this.noGain++;
      return;
    }
    this.gain++;
    for (const r of refusals) this.byRule.set(r, (this.byRule.get(r) ?? 0) + 1);
  }

  /** One line: "40 judged: 31 do not raise the patch fitness past their cost; of the 9 that do, refused by domain loss 6, ...". */
  toString(): string {
    const head = `${this.judged} judged: ${this.noGain} ${this.noGain === 1 ? 'does' : 'do'} not raise the patch fitness past their cost`;
    if (this.gain === 0) return head;
    const rules = [...this.byRule].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([r, n]) => `${r} ${n}`);
    return `${head}; of the ${this.gain} that do, refused by ${rules.length ? rules.join(', ') : 'none'}`;
  }
}

export default defineStrategy({
  name: 'joint',
  description: 'joint multi-domain repair: from the XOR stack of per-domain patches (or nothing), drop, swap and add flips while the patch fitness rises',
  options: {
    verify: { type: 'number', integer: true, min: 1, default: 8, help: 'single toggles (drops and adds) verified exactly per round, best predicted first' },
    adds: { type: 'boolean', default: true, help: 'propose additions (single flips not in the patch); false: only drops and swaps' },
    swaps: { type: 'number', integer: true, min: 0, default: 4, help: 'swap moves (drop one flip, add another) verified per round, best predicted first; 0: none' },
    'swap-width': { type: 'number', integer: true, min: 1, default: 6, help: 'swaps pair the best-ranked this-many removals with as many additions' },
    depth: { type: 'number', integer: true, min: 1, default: 64, help: 'most moves verified in one step before the search stops as converged' },
    'per-step': { type: 'number', integer: true, min: 1, default: 4, help: 'most moves accepted per step (each re-verified on top of the ones before it)' },
    validation: { type: 'boolean', default: true, help: 'with validation probes (the held-out proxy): a move must not lower their fitness (additions and swaps: must raise it past the cost of the flips they add), must fix at least validation-net answers more than it breaks, and may cost no domain more than domain-loss of its validation answers' },
    'validation-net': { type: 'number', integer: true, default: 0, help: 'with validation probes: the fewest validation answers (targets and controls, teacher-forced) a move must fix beyond those it breaks' },
    'domain-loss': { type: 'number', integer: true, min: -1, default: 0, help: 'with validation probes and several domains: the most validation answers of any one domain a move may lose net (fixed - broken among its validation targets); -1: no limit' },
    'validation-alpha': { type: 'number', min: 0, max: 1, default: 0, help: 'with validation probes: a move that adds a flip, judged when the step has judged k moves, must reach a one-sided sign-flip p-value <= alpha / k on its validation fitness; 0: no such bar' },
    'max-flips': { type: 'number', integer: true, min: 1, default: 64, help: 'no additions once the patch has this many flips (drops and swaps go on)' },
  },
  async run(ctx) {
    const o = ctx.options;
    const alpha = o['validation-alpha'];
    const space = ctx.space;
    const inPatch = (c: Candidate) => ctx.isAccepted(c);
    // moves of this step whose validation probes were scored (re-verifications not counted again)
    let judged = 0;
    // why the step's judged moves were refused
    let tally = new RefusalTally();
    /** The patch-fitness gain a move must beat: a flip more costs --min-gain; never less than 0. */
    const threshold = (flips: readonly Candidate[]) => {
      const grows = flips.length - 2 * flips.filter(inPatch).length;
      return Math.max(0, ctx.minGain * grows);
    };
    /** Every rule a judged move fails, and whether it raises the patch fitness past its cost. */
    const verdict = (e: Evaluation): { raises: boolean; refusals: Refusal[] } => {
      // a move that breaks a control has fitness -Infinity: it raises nothing
      if (e.fitness === -Infinity || e.patchFitness === undefined) return { raises: false, refusals: [] };
      const kind = moveKind(e.flips, inPatch);
      const refusals: Refusal[] = [];
      if (kind === 'add' && ctx.accepted.length + e.flips.length > o['max-flips']) refusals.push('max flips');
      if (o.validation && e.validation !== undefined) {
        refusals.push(...validationRefusals(e.validation, threshold(e.flips), kind, o['validation-net'], o['domain-loss']));
        if (kind !== 'drop' && !clearsSelectionBar(e.validation, alpha, judged)) refusals.push('selection bar');
      }
      return { raises: e.patchFitness - ctx.fitness > threshold(e.flips), refusals };
    };
    /**
     * The moves that pass, best patch fitness first. `judging`: the step's first judgement of them,
     * counted (judged, for the selection bar, before any verdict) and tallied.
     */
    const byGain = (evals: Evaluation[], judging = false) => {
      if (judging) judged += evals.filter((e) => !e.screenedOut).length;
      return evals.map((e, k) => ({ e, k })).filter(({ e }) => {
        if (e.screenedOut) return false;
        const { raises, refusals } = verdict(e);
        if (judging) tally.add(raises, refusals);
        return raises && refusals.length === 0;
      }).sort((a, b) => b.e.patchFitness! - a.e.patchFitness! || a.k - b.k).map((x) => x.e);
    };
    const touches = (a: readonly Candidate[], b: readonly Candidate[]) => a.some((x) => b.some((y) => x.tensor === y.tensor && x.row === y.row && x.group === y.group));

    for (const iteration of ctx.steps()) {
      const ranking = await ctx.firstOrder({ patch: true });
      const order = Array.from(ranking.order);
      const inP = new Set(ctx.accepted.map((c) => space.indexOf(c)));
      const removals = order.filter((i) => inP.has(i));
      const additions = order.filter((i) => !inP.has(i));
      const singles = o.adds ? order : removals;
      const pairs = o.swaps > 0 && removals.length > 0 ? swapPairs(ranking.fitness, removals, additions, ctx.fitness, o['swap-width']) : [];
      let acceptedNow = 0;
      let tried = 0;
      judged = 0;
      tally = new RefusalTally();
      let nextSingle = 0;
      let nextSwap = 0;
      while (acceptedNow === 0 && tried < o.depth && (nextSingle < singles.length || nextSwap < pairs.length)) {
        const toggles = singles.slice(nextSingle, nextSingle + Math.min(o.verify, o.depth - tried)).map((i) => [space.candidate(i)]);
        nextSingle += toggles.length;
        const swaps = pairs.slice(nextSwap, nextSwap + Math.min(o.swaps, Math.max(0, o.depth - tried - toggles.length))).map(([r, a]) => [space.candidate(r), space.candidate(a)]);
        nextSwap += swaps.length;
        const moves = [...toggles, ...swaps];
        if (moves.length === 0) break;
        tried += moves.length;
        let winners = byGain(await ctx.evaluate(moves), true);
        // best first; the rest (those not touching a flip just changed) re-verified on top of it
        const changed: Candidate[] = [];
        while (winners.length > 0) {
          const best = winners[0]!;
          await ctx.accept(best);
          changed.push(...best.flips);
          acceptedNow++;
          const rest = winners.slice(1).filter((e) => !touches(e.flips, changed));
          if (acceptedNow >= o['per-step'] || rest.length === 0) break;
          winners = byGain(await ctx.evaluate(rest.map((e) => e.flips)));
        }
      }
      if (acceptedNow === 0) {
        ctx.progress(`converged at step ${iteration + 1}: none of the ${tried} best-ranked moves passes (${tally})`);
        break;
      }
    }
  },
});
