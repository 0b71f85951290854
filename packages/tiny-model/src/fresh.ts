// ---------------------------------------------------------------------------------------------
// Fresh prompts: new examples of a skill drawn from the corpus's own distribution for it, none of
// them a train or held-out prompt of the shipped corpus (buildCorpus(DEFAULT_SEED, preset)), so a
// patch can be judged on prompts that are in no split and no probe file of the repository. The
// preset (default `tiny`) is the model's: bankai-small's corpus is preset `small`. For tiny:
//
//   addition           a, b uniform in 0..999                 (~988,000 prompts left)
//   comparison         ordered pairs a != b in 0..99          (6,700 left)
//   derivative         the corpus's random polynomials        (~22,000 left)
//   second_derivative  the same, top degree >= 2              (~24,000 left)
//   multiplication     none: every pair {x, y} is a train or a held-out pair (in either order)
//   primality          none balanced: every prime in 2..1999 is used; only composites ("no") remain
//   capital            none: made-up facts, both phrasings of every fact are train or held-out
//
// For small: addition 987,600, comparison 6,500, derivative ~16.3 M and second derivative ~1.46 M
// (more terms and exponents), integral ~21,900; multiplication, primality and capital none, for
// the same reasons.
// Deterministic per seed (the corpus's portable Rng), distinct within a draw.
// ---------------------------------------------------------------------------------------------

import {
  DEFAULT_SEED, buildCorpus, corpusSplit, comparisonExample, differentiate, drawAddition, drawDerivative, drawIntegral, formatPoly, isPrime,
  multiplicationPairs, primalityExample, CAPITAL_PHRASINGS, CORPUS_PRESETS,
  type Corpus, type CorpusPreset, type CorpusPresetName, type Example, type SkillName,
} from './corpus.js';
import { SplitMix32 as Rng } from '@bankai/rng';

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

/** Which shipped corpus fresh prompts avoid (the model's corpus preset; default tiny). */
export interface FreshOptions {
  preset?: CorpusPresetName;
}

const shippedByPreset = new Map<string, { corpus: Corpus; used: Set<string> }>();

/** The shipped corpus of a preset and every train and held-out prompt of it (all skills). */
function shipped(preset: CorpusPresetName = 'tiny'): { corpus: Corpus; used: Set<string> } {
  let got = shippedByPreset.get(preset);
  if (!got) {
    const corpus = buildCorpus(DEFAULT_SEED, preset);
    const used = new Set<string>();
    for (const s of corpus.skillNames) for (const e of [...corpusSplit(corpus, s).train, ...corpusSplit(corpus, s).heldout]) used.add(e.prompt);
    got = { corpus, used };
    shippedByPreset.set(preset, got);
  }
  return got;
}

const binomial = (n: number, k: number): number => {
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return Math.round(r);
};

/** Distinct prompts of a skill's distribution in all (the support the corpus draws from). */
function supportSize(skill: SkillName, p: CorpusPreset): number {
  // polynomials: k distinct exponents in 0..maxExp (the top one >= minTop), a coefficient in 1..9 each
  const polys = (maxTerms: number, maxExp: number, minTop: number): number => {
    let n = 0;
    for (let k = 1; k <= maxTerms; k++) n += (binomial(maxExp + 1, k) - binomial(minTop, k)) * 9 ** k;
    return n;
  };
  switch (skill) {
    case 'addition':
      return 1000 * 1000;
    case 'comparison':
      return 100 * 99;
    case 'derivative':
      return polys(p.derivative.maxTerms, p.derivative.maxExp, 1);
    case 'second_derivative':
      return polys(p.second_derivative.maxTerms, p.second_derivative.maxExp, 2);
    case 'integral':
      return p.integral ? polys(p.integral.maxTerms, p.integral.maxExp, 0) : 0;
    default:
      return 0;
  }
}

function presetOf(options: FreshOptions | undefined): CorpusPreset {
  const name = options?.preset ?? 'tiny';
  const p: CorpusPreset | undefined = CORPUS_PRESETS[name];
  if (!p) throw new RangeError(`fresh prompts: unknown corpus preset "${name}"; one of ${Object.keys(CORPUS_PRESETS).join(', ')}`);
  return p;
}

/** How many fresh prompts `skill` has: its distribution's prompts that the shipped corpus (of the
 *  preset, default tiny) does not use. */
export function freshCapacity(skill: SkillName, options?: FreshOptions): number {
  const p = presetOf(options);
  const { corpus, used } = shipped(p.name as CorpusPresetName);
  if (!p.skills.includes(skill)) return 0;
  const usedOf = (s: SkillName) => corpusSplit(corpus, s).train.length + corpusSplit(corpus, s).heldout.length;
  switch (skill) {
    case 'multiplication':
      return multiplicationPairs(p.multiplication.maxX).filter(([x, y]) => !used.has(`Q: what is ${x}*${y}? A:`) && !used.has(`Q: what is ${y}*${x}? A:`)).length;
    case 'capital':
      return corpus.facts.flatMap((f) => CAPITAL_PHRASINGS.map((ph) => ph(f.country))).filter((q) => !used.has(q)).length;
    case 'primality': {
      // balanced: as many unused primes as unused composites can pair with
      let primes = 0;
      let composites = 0;
      for (let n = 2; n <= p.primality.max; n++) {
        if (used.has(primalityExample(n).prompt)) continue;
        if (isPrime(n)) primes++;
        else composites++;
      }
      return 2 * Math.min(primes, composites);
    }
    default:
      return supportSize(skill, p) - usedOf(skill);
  }
}

const WHY_NONE: Partial<Record<SkillName, string>> = {
  multiplication: 'every multiplication pair {x in 1..maxX, y in 1..9} of the corpus\'s range is a train or held-out pair of the shipped corpus (in one order or the other)',
  capital: 'capitals are made-up facts of the corpus, and both phrasings of every fact are train or held-out prompts',
  primality: 'every prime of the corpus\'s range is a train or held-out prompt of the shipped corpus, so fresh prompts could only be composites (all "no") and not the corpus\'s balanced yes/no',
};

/**
 * `n` distinct examples of `skill` from the corpus's distribution for it, none of them a train or
 * held-out prompt of the shipped corpus. Deterministic for `seed`. FreshPromptsError when the
 * skill has fewer than `n` unused prompts (multiplication, capital and primality have none).
 */
export function freshExamples(skill: SkillName, n: number, seed: number, options?: FreshOptions): Example[] {
  const p = presetOf(options);
  if (!p.skills.includes(skill)) throw new RangeError(`freshExamples: unknown skill "${skill}"; one of ${p.skills.join(', ')}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`freshExamples: n must be an integer >= 0, got ${n}`);
  const available = freshCapacity(skill, options);
  if (available === 0) throw new FreshPromptsError(skill, 0, `${skill} has no fresh prompts: ${WHY_NONE[skill] ?? 'the shipped corpus uses every prompt of its distribution'}.`);
  if (n > available) throw new FreshPromptsError(skill, available, `${skill} has ${available} fresh prompts, fewer than the ${n} asked for.`);
  const { used } = shipped(p.name as CorpusPresetName);
  const rng = new Rng(seed);
  const draw = (): Example => {
    switch (skill) {
      case 'addition':
        return drawAddition(rng);
      case 'derivative':
      case 'second_derivative':
        return drawDerivative(rng, skill, p[skill]);
      case 'integral':
        return drawIntegral(rng, p.integral!);
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
    case 'integral': {
      // forgets to divide by the new exponent: the integrand's coefficients on the raised powers
      const poly = parsePoly(/ of (.*)\? A:$/.exec(e.prompt)![1]!);
      return ` ${formatPoly(poly.map((t) => ({ coef: t.coef, exp: t.exp + 1 })))}+C`;
    }
    case 'capital': {
      // the next fact's capital, in whichever shipped corpus holds this one (the small corpus is
      // built only when the tiny one does not)
      const isIt = (f: { capital: string }) => ` ${f.capital}` === e.answer;
      const tiny = shipped('tiny').corpus.facts;
      const facts = tiny.some(isIt) ? tiny : shipped('small').corpus.facts;
      const i = facts.findIndex(isIt);
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
export function freshProbes(skill: SkillName, n: number, seed: number, distractor?: (e: Example) => string, options?: FreshOptions): FreshProbe[] {
  return freshExamples(skill, n, seed, options).map((e, i) => ({
    name: `${skill}_fresh_${i}`,
    category: skill,
    prompt: e.prompt,
    correct: e.answer,
    wrong: distractor ? distractor(e) : ruleMistake(e),
  }));
}

