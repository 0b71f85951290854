// Evolutionary search over whole patches. Each step starts a population from the accepted patch
// (the elite) and `population - 1` mutants of it, then runs `generations` generations:
//   breed     `children` children, each from two tournament-picked parents by XOR crossover (a
//             seeded mask decides, flip by flip, which parent's state the child keeps) or copied
//             from one, then mutated: drop a random flip, or add flips drawn from the best
//             first-order ranked candidates of the step (ctx.firstOrder) or uniformly
//   evaluate  every child exactly, in parallel, as its XOR against the accepted patch; its
//             fitness is its patch fitness against the original model (Evaluation.patchFitness)
//   select    the `population` survivors: the fittest, then by fitness plus `diversity` times the
//             normalized Hamming distance to the nearest survivor
// At the end of the step the fittest individual that beats the elite (by more than --min-gain per
// flip it adds) is accepted, flips it drops included (the driver removes them). Every random
// choice comes from ctx.rng, so a step is a function of the accepted patch and the RNG state,
// both checkpointed at every step boundary: the same seed gives the same patch on any worker
// count, and a killed search resumes to the same populations (a killed step is rerun whole).
import { defineStrategy, type Evaluation } from '@bankai/search';
import { crossover, mutate, populationDigest, selectDiverse, xorGenomes, type Genome } from './operators.js';

export { crossover, hamming, mutate, normalizedHamming, populationDigest, selectDiverse, xorGenomes, type Genome, type MutationOptions, type Scored } from './operators.js';

interface Individual {
  genome: Genome;
  fitness: number;
  /** Its evaluation against the accepted patch (the elite has none). */
  e?: Evaluation;
}

export default defineStrategy({
  name: 'evolution',
  description: 'evolutionary: a population of patches, XOR crossover, add/drop mutation, selection on fitness with a Hamming-diversity term',
  options: {
    population: { type: 'number', integer: true, min: 1, default: 8, help: 'patches kept per generation (the elite and its mutants start each step)' },
    children: { type: 'number', integer: true, min: 1, default: 8, help: 'children bred and evaluated (in parallel) per generation' },
    generations: { type: 'number', integer: true, min: 1, default: 3, help: 'generations per step; the step\'s best is accepted at its end' },
    crossover: { type: 'number', min: 0, max: 1, default: 0.7, help: 'probability a child is bred from two parents by XOR crossover (else copied from one)' },
    mutation: { type: 'number', min: 0, max: 1, default: 1, help: 'probability a child is mutated (one that copies an existing patch always is)' },
    adds: { type: 'number', integer: true, min: 1, default: 2, help: 'most flips one mutation adds (1..N, uniform)' },
    'drop-rate': { type: 'number', min: 0, max: 1, default: 0.3, help: 'probability a mutation drops a flip instead of adding' },
    proposals: { type: 'string', default: 'ranked', choices: ['ranked', 'uniform'], help: 'added flips come from the step\'s first-order ranking (the best --pool) or uniformly from the space' },
    pool: { type: 'number', integer: true, min: 1, default: 32, help: 'ranked proposals draw from the best this-many first-order ranked candidates' },
    diversity: { type: 'number', min: 0, default: 0.05, help: 'weight of the normalized Hamming distance to the nearest survivor in selection' },
    validation: { type: 'boolean', default: true, help: 'with validation targets: a step\'s patch that grows must raise them, any other must not lower them' },
    'max-flips': { type: 'number', integer: true, min: 1, default: 64, help: 'most flips a patch may hold' },
  },
  async run(ctx) {
    const o = ctx.options;
    const space = ctx.space;
    const rng = ctx.rng;
    const id = (g: Genome) => g.join(',');

    for (const iteration of ctx.steps()) {
      const elite: Genome = ctx.accepted.map((c) => space.indexOf(c)).sort((a, b) => a - b);
      const pool = o.proposals === 'ranked' ? Array.from((await ctx.firstOrder()).order.subarray(0, o.pool)) : undefined;
      const mutation = { size: space.size, dropRate: o['drop-rate'], adds: o.adds, pool, maxFlips: o['max-flips'] };
      const seen = new Set([id(elite)]);
      /** A new patch from g: mutated (until it is one not seen this step, a few tries), or undefined. */
      const fresh = (g: Genome, mutateIt: boolean): Genome | undefined => {
        let child = g;
        for (let t = 0; t < 4 && (mutateIt || seen.has(id(child))); t++) {
          child = mutate(child, rng, mutation);
          mutateIt = false;
        }
        if (seen.has(id(child))) return undefined;
        seen.add(id(child));
        return child;
      };
      const evaluate = async (genomes: Genome[]): Promise<Individual[]> => {
        const evals = await ctx.evaluate(genomes.map((g) => xorGenomes(g, elite).map((i) => space.candidate(i))));
        return genomes.map((genome, k) => {
          const e = evals[k]!;
          return { genome, e, fitness: e.fitness === -Infinity || e.patchFitness === undefined ? -Infinity : e.patchFitness };
        });
      };

      const starters: Genome[] = [];
      for (let k = 1; k < o.population; k++) {
        const g = fresh(elite, true);
        if (g) starters.push(g);
      }
      let pop: Individual[] = [{ genome: elite, fitness: ctx.fitness }, ...(await evaluate(starters))];
      pop = selectDiverse(pop, o.population, o.diversity);
      for (let gen = 0; gen < o.generations; gen++) {
        const pick = () => {
          const a = rng.int(pop.length);
          const b = rng.int(pop.length);
          return pop[pop[b]!.fitness > pop[a]!.fitness ? b : a]!;
        };
        const kids: Genome[] = [];
        for (let k = 0; k < o.children; k++) {
          const p = pick();
          const child = pop.length >= 2 && rng.nextFloat() < o.crossover ? crossover(p.genome, pick().genome, rng) : [...p.genome];
          const g = fresh(child, rng.nextFloat() < o.mutation);
          if (g) kids.push(g);
        }
        pop = selectDiverse([...pop, ...(await evaluate(kids))], o.population, o.diversity);
        ctx.progress(`step ${iteration + 1} generation ${gen + 1}: best fitness ${pop[0]!.fitness.toFixed(4)}, population ${populationDigest(pop.map((x) => x.genome))}`);
      }

      // the step's patch: the fittest that beats the elite by more than the cost of the flips it adds
      const passes = (x: Individual) => {
        const e = x.e;
        if (!e || x.fitness === -Infinity) return false;
        const grows = x.genome.length - elite.length;
        if (o.validation && e.validation !== undefined && (grows > 0 ? !(e.validation.fitness > 0) : e.validation.fitness < 0)) return false;
        return x.fitness - ctx.fitness > Math.max(0, ctx.minGain * grows);
      };
      const best = pop.map((x, k) => ({ x, k })).filter(({ x }) => passes(x)).sort((a, b) => b.x.fitness - a.x.fitness || a.k - b.k)[0];
      if (best) await ctx.accept(best.x.e!);
    }
  },
});
