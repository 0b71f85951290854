// ---------------------------------------------------------------------------------------------
// Fresh prompts: new examples of a skill drawn from the corpus's own distribution for it, none of
// them a train or held-out prompt of the shipped corpus (buildCorpus(DEFAULT_SEED)), so a patch
// can be judged on prompts that are in no split and no probe file of the repository.
//
//   addition           a, b uniform in 0..999                 (~988,000 prompts left)
//   comparison         ordered pairs a != b in 0..99          (6,700 left)
//   derivative         the corpus's random polynomials        (~22,000 left)
//   second_derivative  the same, top degree >= 2              (~24,000 left)
//   multiplication     none: every pair {x, y} is a train or a held-out pair (in either order)
//   primality          none balanced: every prime in 2..1999 is used; only composites ("no") remain
//   capital            none: made-up facts, both phrasings of every fact are train or held-out
//
// Deterministic per seed (the corpus's portable Rng), distinct within a draw.
// ---------------------------------------------------------------------------------------------

import {
  DEFAULT_SEED, buildCorpus, comparisonExample, differentiate, drawAddition, drawDerivative, formatPoly, isPrime,
  multiplicationPairs, primalityExample, CAPITAL_PHRASINGS, SKILLS,
  type Corpus, type Example, type SkillName,
} from './corpus.js';
import { Rng } from './rng.js';

/** A fresh probe in the upstream probe shape. */
export interface FreshProbe {
  name: string;
  category: SkillName;
  prompt: string;
  correct: string;
  /** A plausible mistake (see freshProbes). */
  wrong: string;
}

/** Thrown when a skill has fewer unused prompts than asked for (or none at all). */
export class FreshPromptsError extends Error {
  override name = 'FreshPromptsError';
  constructor(
    readonly skill: string,
    /** How many fresh prompts the skill has. */
    readonly available: number,
    message: string,
  ) {
    super(message);
  }
}

let shipped: { corpus: Corpus; used: Set<string> } | undefined;

/** Every train and held-out prompt of the shipped corpus (all skills). */
function shippedPrompts(): Set<string> {
  if (!shipped) {
    const corpus = buildCorpus(DEFAULT_SEED);
    const used = new Set<string>();
    for (const s of SKILLS) for (const e of [...corpus.skills[s].train, ...corpus.skills[s].heldout]) used.add(e.prompt);
    shipped = { corpus, used };
  }
  return shipped.used;
}

const binomial = (n: number, k: number): number => {
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return Math.round(r);
};

/** Distinct prompts of a skill's distribution in all (the support the corpus draws from). */
function supportSize(skill: SkillName): number {
  switch (skill) {
    case 'addition':
      return 1000 * 1000;
    case 'comparison':
      return 100 * 99;
    case 'derivative':
    case 'second_derivative': {
      // 1-3 distinct exponents in 0..6 whose top is >= the order, each with a coefficient in 1..9
      const order = skill === 'derivative' ? 1 : 2;
      let n = 0;
      for (let k = 1; k <= 3; k++) n += (binomial(7, k) - binomial(order, k)) * 9 ** k;
      return n;
    }
    default:
      return 0;
  }
}

/** How many fresh prompts `skill` has: its distribution's prompts that the shipped corpus does not use. */
export function freshCapacity(skill: SkillName): number {
  const used = shippedPrompts();
  const usedOf = (s: SkillName) => shipped!.corpus.skills[s].train.length + shipped!.corpus.skills[s].heldout.length;
  switch (skill) {
    case 'multiplication':
      return multiplicationPairs().filter(([x, y]) => !used.has(`Q: what is ${x}*${y}? A:`) && !used.has(`Q: what is ${y}*${x}? A:`)).length;
    case 'capital':
      return shipped!.corpus.facts.flatMap((f) => CAPITAL_PHRASINGS.map((ph) => ph(f.country))).filter((p) => !used.has(p)).length;
    case 'primality': {
      // balanced: as many unused primes as unused composites can pair with
      let primes = 0;
      let composites = 0;
      for (let n = 2; n <= 1999; n++) {
        if (used.has(primalityExample(n).prompt)) continue;
        if (isPrime(n)) primes++;
        else composites++;
      }
      return 2 * Math.min(primes, composites);
    }
    default:
      return supportSize(skill) - usedOf(skill);
  }
}

const WHY_NONE: Partial<Record<SkillName, string>> = {
  multiplication: 'every multiplication pair {x in 1..49, y in 1..9} is a train or held-out pair of the shipped corpus (in one order or the other)',
  capital: 'capitals are made-up facts of the corpus, and both phrasings of every fact are train or held-out prompts',
  primality: 'every prime in 2..1999 is a train or held-out prompt of the shipped corpus, so fresh prompts could only be composites (all "no") and not the corpus\'s balanced yes/no',
};

/**
 * `n` distinct examples of `skill` from the corpus's distribution for it, none of them a train or
 * held-out prompt of the shipped corpus. Deterministic for `seed`. FreshPromptsError when the
 * skill has fewer than `n` unused prompts (multiplication, capital and primality have none).
 */
export function freshExamples(skill: SkillName, n: number, seed: number): Example[] {
  if (!SKILLS.includes(skill)) throw new RangeError(`freshExamples: unknown skill "${skill}"; one of ${SKILLS.join(', ')}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`freshExamples: n must be an integer >= 0, got ${n}`);
  const available = freshCapacity(skill);
  if (available === 0) throw new FreshPromptsError(skill, 0, `${skill} has no fresh prompts: ${WHY_NONE[skill] ?? 'the shipped corpus uses every prompt of its distribution'}.`);
  if (n > available) throw new FreshPromptsError(skill, available, `${skill} has ${available} fresh prompts, fewer than the ${n} asked for.`);
  const used = shippedPrompts();
  const rng = new Rng(seed);
  const draw = (): Example => {
    switch (skill) {
      case 'addition':
        return drawAddition(rng);
      case 'derivative':
      case 'second_derivative':
        return drawDerivative(rng, skill);
      case 'comparison': {
        for (;;) {
          const a = rng.int(0, 99);
          const b = rng.int(0, 99);
          if (a !== b) return comparisonExample(a, b);
        }
      }
      default:
        throw new Error(`freshExamples: no generator for ${skill}`); // unreachable: capacity 0 above
    }
  };
  const out: Example[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const e = draw();
    if (used.has(e.prompt) || seen.has(e.prompt)) continue;
    seen.add(e.prompt);
    out.push(e);
  }
  return out;
}

// ---- distractors without a model ------------------------------------------------------------

const ints = (prompt: string): number[] => (prompt.match(/\d+/g) ?? []).map(Number);

/**
 * A typical mistake for an example, by rule (no model): addition drops its lowest carry (or adds
 * one where there is none), multiplication is off by one times a factor, a derivative forgets to
 * multiply by the exponent (else to lower it), a second derivative stops after the first,
 * comparison answers the smaller number, primality the other answer, a capital is the next fact's.
 * Where a model is at hand its own mistakes are better distractors (@bankai/probes
 * withModelDistractors: how the shipped probe files pick theirs).
 */
export function ruleMistake(e: Example): string {
  const [a, b] = (e.prompt.match(/\d+/g) ?? []).map(Number) as [number, number];
  switch (e.skill) {
    case 'addition':
      for (let p = 1; p <= 100; p *= 10) if ((a % (10 * p)) + (b % (10 * p)) >= 10 * p) return ` ${a + b - 10 * p}`;
      return ` ${a + b + 10}`;
    case 'multiplication':
      return ` ${a * (b + 1)}`;
    case 'comparison':
      return ` ${Math.min(a, b)}`;
    case 'primality':
      return e.answer === ' yes' ? ' no' : ' yes';
    case 'derivative':
    case 'second_derivative': {
      const poly = parsePoly(/ of (.*)\? A:$/.exec(e.prompt)![1]!);
      if (e.skill === 'second_derivative') return ` ${formatPoly(differentiate(poly))}`;
      const lowered = poly.filter((t) => t.exp >= 1);
      const noMultiply = ` ${formatPoly(lowered.map((t) => ({ coef: t.coef, exp: t.exp - 1 })))}`;
      return noMultiply !== e.answer ? noMultiply : ` ${formatPoly(lowered.map((t) => ({ coef: t.coef * t.exp, exp: t.exp })))}`;
    }
    case 'capital': {
      shippedPrompts();
      const facts = shipped!.corpus.facts;
      const i = facts.findIndex((f) => ` ${f.capital}` === e.answer);
      return ` ${facts[(i + 1) % facts.length]!.capital}`;
    }
  }
}

/** Parses formatPoly's output back into terms. */
function parsePoly(text: string): { coef: number; exp: number }[] {
  return text.split('+').map((t) => {
    const m = /^(\d*)(x(?:\^(\d+))?)?$/.exec(t);
    if (!m) throw new RangeError(`parsePoly: "${t}" is not a term`);
    const coef = m[1] === '' ? 1 : Number(m[1]);
    const exp = m[2] === undefined ? 0 : m[3] === undefined ? 1 : Number(m[3]);
    return { coef, exp };
  });
}

/**
 * `n` fresh probes of `skill` (freshExamples), named `<skill>_fresh_<i>`, each with a plausible
 * wrong answer: `distractor(example)` when given (e.g. a model's own mistake), else ruleMistake.
 */
export function freshProbes(skill: SkillName, n: number, seed: number, distractor?: (e: Example) => string): FreshProbe[] {
  return freshExamples(skill, n, seed).map((e, i) => ({
    name: `${skill}_fresh_${i}`,
    category: skill,
    prompt: e.prompt,
    correct: e.answer,
    wrong: distractor ? distractor(e) : ruleMistake(e),
  }));
}

