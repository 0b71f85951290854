// The uniform-random baseline: the greedy strategy's loop, budget, screening and evaluator, with
// candidates drawn uniformly, so any difference is the value of scale ranking.
import { defineStrategy, hillClimb } from '@bankai/search';

export default defineStrategy({
  name: 'random',
  description: 'uniform-random baseline with the same budget and evaluator',
  options: {
    batch: { type: 'number', integer: true, min: 1, default: 8, help: 'candidates evaluated per step' },
    screen: { type: 'boolean', default: true, help: 'score targets first; only candidates that could pass see the controls' },
    'max-flips': { type: 'number', integer: true, min: 1, default: 64, help: 'stop after this many accepted flips' },
  },
  async run(ctx) {
    await hillClimb(ctx, {
      batch: ctx.options.batch,
      screen: ctx.options.screen,
      maxFlips: ctx.options['max-flips'],
      propose: (rng) => rng.int(ctx.space.size),
    });
  },
});
