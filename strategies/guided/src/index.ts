// Gradient-guided search. Each step ranks EVERY candidate of the space by its first-order
// predicted fitness (ctx.firstOrder: one backward pass per probe answer gives d(gap)/d(output)
// at every projection; a row flip negates one output channel, so its predicted effect on every
// probe is exact to first order), verifies the best-ranked ones exactly in parallel batches,
// accepts the best verified flip, then re-verifies the other winners of the batch on top of it
// (best first) and accepts those that still help. A step walks down the ranking until something
// is accepted or `depth` candidates were verified; then the search has converged and stops.
// Every step is self-contained (a fresh ranking on the accepted patch), so resume is exact.
// With validation probes (SearchConfig.validation: targets and controls held back from the
// fitness), a flip is accepted only if it clears the same bar (--min-gain) on them too: flips
// that only memorize the probes they were chosen on, or break controls they were not checked
// against, are refused. A step that walks far down the ranking judges many candidates on the same
// validation probes, and the best of many no-effect flips clears a fixed bar by luck (the
// winner's curse); `validation-alpha` raises the bar with the count: a candidate judged when the
// step has judged k must reach a one-sided p-value of alpha / k on its validation fitness
// (validationPValue: the sign-flip test of the flip doing nothing for the population the
// validation probes stand for).
import { clearsSelectionBar, defineStrategy, type Evaluation } from '@bankai/search';

export default defineStrategy({
  name: 'guided',
  description: 'gradient-guided: rank every candidate by first-order predicted fitness, verify the best exactly, accept, re-rank',
  options: {
    verify: { type: 'number', integer: true, min: 1, default: 8, help: 'candidates verified exactly per round, in parallel, best predicted first' },
    depth: { type: 'number', integer: true, min: 1, default: 64, help: 'most candidates verified in one step before the search stops as converged' },
    'per-step': { type: 'number', integer: true, min: 1, default: 4, help: 'most flips accepted per step (each re-verified on top of the ones accepted before it)' },
    screen: { type: 'boolean', default: true, help: 'score targets first; only candidates that could pass see the controls' },
    'max-flips': { type: 'number', integer: true, min: 1, default: 64, help: 'stop after this many accepted flips' },
    'validation-net': { type: 'number', integer: true, default: 0, help: 'with validation probes: the fewest validation answers a flip must fix beyond those it breaks (teacher-forced); 1 asks every flip for a fix it was not chosen on' },
    'validation-alpha': { type: 'number', min: 0, max: 1, default: 0, help: 'with validation probes: a candidate judged when the step has judged k must reach a one-sided sign-flip p-value <= alpha / k on its validation fitness, so walking down the ranking does not let a lucky flip through; 0: no such bar' },
  },
  async run(ctx) {
    const o = ctx.options;
    const space = ctx.space;
    const alpha = o['validation-alpha'];
    // judged: the candidates of this step whose validation probes were scored (not screened out)
    let judged = 0;
    const passes = (e: Evaluation) => !e.screenedOut && e.fitness > ctx.minGain &&
      (e.validation === undefined || (e.validation.fitness > ctx.minGain && e.validation.fixed - e.validation.broken >= o['validation-net'] &&
        clearsSelectionBar(e.validation, alpha, judged)));
    const byFitness = (evals: Evaluation[]) => evals.map((e, k) => ({ e, k })).filter((x) => passes(x.e)).sort((a, b) => b.e.fitness - a.e.fitness || a.k - b.k).map((x) => x.e);
    const judge = (evals: Evaluation[]) => {
      judged += evals.filter((e) => !e.screenedOut).length;
      return byFitness(evals);
    };
    for (const iteration of ctx.steps()) {
      if (ctx.accepted.length >= o['max-flips']) break;
      const ranking = await ctx.firstOrder();
      let acceptedNow = 0;
      let tried = 0;
      judged = 0;
      while (acceptedNow === 0 && tried < Math.min(o.depth, ranking.order.length)) {
        const batch = Array.from(ranking.order.subarray(tried, Math.min(tried + o.verify, o.depth, ranking.order.length)));
        tried += batch.length;
        let winners = judge(await ctx.evaluate(batch.map((i) => [space.candidate(i)]), { screen: o.screen }));
        // best first; the rest are re-verified on top of what was just accepted
        while (winners.length > 0) {
          await ctx.accept(winners[0]!);
          acceptedNow++;
          if (acceptedNow >= o['per-step'] || ctx.accepted.length >= o['max-flips'] || winners.length === 1) break;
          winners = byFitness(await ctx.evaluate(winners.slice(1).map((e) => e.flips), { screen: o.screen }));
        }
      }
      if (acceptedNow === 0) {
        ctx.progress(`converged at step ${iteration + 1}: none of the ${tried} best-ranked candidates clears the minimum gain`);
        break;
      }
    }
  },
});
