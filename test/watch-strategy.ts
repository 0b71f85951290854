// A strategy watched from outside: the same strategy, run through a context that records, step by
// step, how many distinct candidates it judged in full (evaluations not screened out; a
// re-verification of a candidate already judged in the step is not counted again) and every
// evaluation it accepts, with the count judged by then and how many of its flips were already in
// the patch (0: an addition; all: a drop). Tests read what a strategy did without reaching into it.
import { defineStrategy, type Evaluation, type Strategy } from '@bankai/search';

export interface WatchedAccept {
  e: Evaluation;
  /** Distinct candidates of the step judged in full before this accept. */
  judged: number;
  /** Flips of the accepted set already in the patch when it was accepted. */
  removes: number;
}
export interface WatchedStep {
  judged: number;
  accepted: WatchedAccept[];
}

export function watchStrategy(inner: Strategy): { strategy: Strategy; steps: WatchedStep[] } {
  const steps: (WatchedStep & { seen: Set<string> })[] = [];
  const strategy = defineStrategy({
    ...inner,
    name: `watched-${inner.name}`,
    async run(ctx) {
      const proxy = Object.create(ctx) as typeof ctx;
      proxy.steps = function* () {
        for (const it of ctx.steps()) {
          steps.push({ seen: new Set(), judged: 0, accepted: [] });
          yield it;
        }
      };
      proxy.evaluate = async (...args) => {
        const evals = await ctx.evaluate(...args);
        const st = steps.at(-1)!;
        for (const e of evals) {
          const k = JSON.stringify(e.flips);
          if (e.screenedOut || st.seen.has(k)) continue;
          st.seen.add(k);
          st.judged++;
        }
        return evals;
      };
      proxy.accept = async (e) => {
        const st = steps.at(-1)!;
        st.accepted.push({ e, judged: st.judged, removes: e.flips.filter((c) => ctx.isAccepted(c)).length });
        return ctx.accept(e);
      };
      return inner.run(proxy);
    },
  });
  return { strategy, steps };
}
