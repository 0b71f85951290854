// Joint multi-domain optimization: one patch for several target domains at once. With several
// domains the fitness weighs each domain's mean gain the same (--aggregate min: the worst
// domain's); this strategy also refuses any flip that makes a domain lose more than `tolerance`,
// so no domain pays for another. Compare against naive stacking with `bankai stack --compare`.
import { defineStrategy, hillClimb, scaleSampler } from '@bankai/search';

export default defineStrategy({
  name: 'joint',
  description: 'joint multi-domain optimizer (domains weigh the same; no domain may lose)',
  options: {
    batch: { type: 'number', default: 8, help: 'candidates evaluated per step' },
    power: { type: 'number', default: 1, help: 'sample rows with probability proportional to scale^power' },
    tolerance: { type: 'number', default: 0, help: 'largest loss of mean gap any single domain may take from one flip' },
    screen: { type: 'boolean', default: true, help: 'score targets first; only candidates that could pass see the controls' },
    'max-flips': { type: 'number', default: 64, help: 'stop after this many accepted flips' },
  },
  async run(ctx) {
    const o = ctx.options;
    const sample = scaleSampler(ctx.space, o.power);
    await hillClimb(ctx, {
      batch: o.batch,
      screen: o.screen,
      maxFlips: o['max-flips'],
      propose: (rng) => sample(rng),
      acceptable: (e) => (e.domainGains ?? []).every((g) => g >= -o.tolerance),
    });
  },
});
