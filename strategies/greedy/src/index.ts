// Scale-ranked greedy hill climbing, as the upstream paper describes, with its defects fixed:
// baselines move with every accepted flip, screening is exact (a candidate is screened out only
// when its target gain alone cannot clear the minimum gain), evaluation does not depend on batch
// layout or worker count, and rows of any length (down_proj: 96 groups) are handled.
import { defineStrategy, hillClimb, scaleOrder, scaleSampler } from '@bankai/search';

export default defineStrategy({
  name: 'greedy',
  description: 'scale-ranked greedy hill climbing with screening',
  options: {
    batch: { type: 'number', integer: true, min: 1, default: 8, help: 'candidates evaluated (in parallel) per step; the best one is accepted if it clears --min-gain' },
    sampling: { type: 'string', default: 'proportional', choices: ['proportional', 'ordered'], help: 'draw rows with probability proportional to scale^power, or walk them in decreasing scale order' },
    power: { type: 'number', min: 0, default: 1, help: 'exponent on the scale when sampling proportionally (0 = uniform)' },
    screen: { type: 'boolean', default: true, help: 'score targets first; only candidates that could pass see the controls' },
    'max-flips': { type: 'number', integer: true, min: 1, default: 64, help: 'stop after this many accepted flips' },
  },
  async run(ctx) {
    const o = ctx.options;
    const sample = o.sampling === 'proportional' ? scaleSampler(ctx.space, o.power) : undefined;
    const order = o.sampling === 'ordered' ? scaleOrder(ctx.space) : undefined;
    await hillClimb(ctx, {
      batch: o.batch,
      screen: o.screen,
      maxFlips: o['max-flips'],
      // ordered: step i takes the next `batch` rows in scale order (derivable from i: resumable)
      propose: (rng, iteration, k) => (order ? order[(iteration * o.batch + k) % order.length]! : sample!(rng)),
    });
  },
});
