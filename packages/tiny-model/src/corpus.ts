// ---------------------------------------------------------------------------------------------
// Corpus generator for the tiny model: one line per example, `prompt + answer`, where every
// prompt ends with "A:" and every answer starts with a space and ends at the end of the line
// (greedy generation stops at the newline). Deterministic for a seed (portable Rng).
//
// Each skill has a train split (the only lines that reach the training text) and a held-out
// split whose prompts never appear in the training text.
// ---------------------------------------------------------------------------------------------

import { SplitMix32 as Rng } from '@bankai/rng';

export const DEFAULT_SEED = 20261129;

export const SKILLS = [
  'addition', // Q: what is 523+858? A: 1381
  'multiplication', // Q: what is 23*7? A: 161
  'derivative', // Q: derivative of 3x^4+2x? A: 12x^3+2
  'second_derivative', // Q: second derivative of x^5+x^3? A: 20x^3+6x
  'primality', // Q: is 91 prime? A: no
  'capital', // made-up facts, two phrasings; held-out = a phrasing never trained for that fact
  'comparison', // Q: which is larger, 47 or 52? A: 52   (skill of our choice: a control)
] as const;

/** Every skill the recipe knows: the tiny model's seven (SKILLS) and the ones only larger presets train. */
export const ALL_SKILLS = [...SKILLS, 'integral' /* Q: integral of 6x^2+4x? A: 2x^3+2x^2+C */] as const;
export type SkillName = (typeof ALL_SKILLS)[number];

/** How much of each skill a corpus preset holds (sizes, ranges, repeats). One recipe, one code path:
 *  the tiny model is preset `tiny`, bankai-small is preset `small`. */
export interface CorpusPreset {
  name: string;
  skills: readonly SkillName[];
  addition: { heldout: number; train: number };
  /** Unordered pairs {x in 1..maxX, y in 1..9}. */
  multiplication: { maxX: number; heldout: number; repeat: number };
  /** Random polynomials: 1..maxTerms terms, exponents 0..maxExp. */
  derivative: { heldout: number; train: number; maxTerms: number; maxExp: number };
  second_derivative: { heldout: number; train: number; maxTerms: number; maxExp: number };
  /** Integrand terms (exp e, coefficient k*(e+1)) with 1..maxTerms terms, e in 0..maxExp. */
  integral?: { heldout: number; train: number; maxTerms: number; maxExp: number };
  /** Numbers 2..max; `heldoutPerClass` primes and as many composites held out. */
  primality: { max: number; heldoutPerClass: number; repeat: number };
  capital: { facts: number; withheld: number; repeat: number };
  comparison: { heldout: number; train: number };
}

export const CORPUS_PRESETS = {
  tiny: {
    name: 'tiny',
    skills: SKILLS,
    addition: { heldout: 200, train: 12_000 },
    multiplication: { maxX: 49, heldout: 80, repeat: 4 },
    derivative: { heldout: 200, train: 5000, maxTerms: 3, maxExp: 6 },
    second_derivative: { heldout: 200, train: 3000, maxTerms: 3, maxExp: 6 },
    primality: { max: 1999, heldoutPerClass: 50, repeat: 6 },
    capital: { facts: 200, withheld: 60, repeat: 8 },
    comparison: { heldout: 200, train: 3000 },
  },
  small: {
    // every held-out split 400 prompts: 48 for a search set, >= 352 for the EVAL set
    name: 'small',
    skills: ALL_SKILLS,
    addition: { heldout: 400, train: 12_000 },
    multiplication: { maxX: 99, heldout: 400, repeat: 4 },
    derivative: { heldout: 400, train: 8000, maxTerms: 5, maxExp: 9 },
    second_derivative: { heldout: 400, train: 5000, maxTerms: 4, maxExp: 9 },
    integral: { heldout: 400, train: 5000, maxTerms: 3, maxExp: 6 },
    primality: { max: 9999, heldoutPerClass: 200, repeat: 3 },
    capital: { facts: 700, withheld: 400, repeat: 6 },
    comparison: { heldout: 400, train: 3000 },
  },
} as const satisfies Record<string, CorpusPreset>;
export type CorpusPresetName = keyof typeof CORPUS_PRESETS;

export interface Example {
  skill: SkillName;
  /** Ends with "A:"; never contains a newline. */
  prompt: string;
  /** Starts with a space; never contains a newline. */
  answer: string;
}

export interface SkillSplit {
  /** Distinct train examples (each appears `repeat` times in the training text). */
  train: Example[];
  /** Held-out examples: their prompts never appear in the training text. */
  heldout: Example[];
  repeat: number;
}

export interface Fact {
  country: string;
  capital: string;
  /** True when the second phrasing of this fact is withheld from training. */
  withheld: boolean;
}

export interface Corpus {
  seed: number;
  /** The preset's name and the skills it holds, in training order. */
  preset: string;
  skillNames: readonly SkillName[];
  /** One split per skill of `skillNames` (use `corpusSplit` to read one with a check). */
  skills: Partial<Record<SkillName, SkillSplit>>;
  facts: Fact[];
  /** Training lines (no newline), shuffled, with repeats. */
  trainLines: string[];
}

/** The split of a skill the corpus holds; throws naming the preset when it has none. */
export function corpusSplit(corpus: Corpus, skill: SkillName): SkillSplit {
  const split = corpus.skills[skill];
  if (!split) throw new RangeError(`corpus preset "${corpus.preset}" has no skill "${skill}"; its skills: ${corpus.skillNames.join(', ')}`);
  return split;
}

export function exampleLine(e: Example): string {
  return e.prompt + e.answer;
}

/** The training text: every training line followed by "\n". */
export function trainText(corpus: Corpus): string {
  return corpus.trainLines.map((l) => l + '\n').join('');
}

// ---- arithmetic -------------------------------------------------------------------------------

export function additionExample(a: number, b: number): Example {
  return { skill: 'addition', prompt: `Q: what is ${a}+${b}? A:`, answer: ` ${a + b}` };
}

/** One draw of the addition distribution: a, b uniform in 0..999. */
export function drawAddition(rng: Rng): Example {
  const a = rng.int(0, 999);
  const b = rng.int(0, 999);
  return additionExample(a, b);
}

export function multiplicationExample(a: number, b: number): Example {
  return { skill: 'multiplication', prompt: `Q: what is ${a}*${b}? A:`, answer: ` ${a * b}` };
}

/** The unordered multiplication pairs {x in 1..maxX, y in 1..9} the corpus splits (x >= y when both <= 9). */
export function multiplicationPairs(maxX = 49): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let x = 1; x <= maxX; x++) for (let y = 1; y <= 9; y++) if (!(x <= 9 && y > x)) pairs.push([x, y]);
  return pairs;
}

function arithmetic(rng: Rng, p: CorpusPreset): { addition: SkillSplit; multiplication: SkillSplit } {
  // addition: distinct random ordered pairs a, b in 0..999 (up to three digits, so carries chain);
  // the first `heldout` (tiny: 200) held out, the next `train` (12,000) trained once.
  const add: Example[] = [];
  const seenAdd = new Set<string>();
  while (add.length < p.addition.heldout + p.addition.train) {
    const e = drawAddition(rng);
    if (seenAdd.has(e.prompt)) continue;
    seenAdd.add(e.prompt);
    add.push(e);
  }
  const addition = { heldout: add.slice(0, p.addition.heldout), train: add.slice(p.addition.heldout), repeat: 1 };

  // multiplication: unordered pairs {x in 1..49, y in 1..9}; a held-out pair is held out in both
  // orders (its prompt uses one order, chosen at random), a trained pair is trained in both.
  const m = p.multiplication;
  const pairs = rng.shuffle(multiplicationPairs(m.maxX));
  const mul = multiplicationExample;
  const heldout = pairs.slice(0, m.heldout).map(([x, y]) => (rng.int(0, 1) ? mul(x, y) : mul(y, x)));
  const train: Example[] = [];
  for (const [x, y] of pairs.slice(m.heldout)) {
    train.push(mul(x, y));
    if (x !== y) train.push(mul(y, x));
  }
  return { addition, multiplication: { heldout, train, repeat: m.repeat } };
}

// ---- polynomial derivatives -------------------------------------------------------------------

export interface Term {
  coef: number;
  exp: number;
}

/** `3x^4+x^2+5`; terms in descending exponent order, coefficient 1 omitted. Empty -> "0". */
export function formatPoly(terms: Term[]): string {
  if (terms.length === 0) return '0';
  return terms
    .map(({ coef, exp }) => {
      if (exp === 0) return String(coef);
      const c = coef === 1 ? '' : String(coef);
      return exp === 1 ? `${c}x` : `${c}x^${exp}`;
    })
    .join('+');
}

export function differentiate(terms: Term[]): Term[] {
  return terms.filter((t) => t.exp >= 1).map((t) => ({ coef: t.coef * t.exp, exp: t.exp - 1 }));
}

/** 1..maxTerms terms (tiny: 3) with exponents in 0..maxExp (tiny: 6; the top one >= minTopExp),
 *  coefficients 1..9 (1 most often). */
export function randomPoly(rng: Rng, minTopExp: number, maxTerms = 3, maxExp = 6): Term[] {
  const n = rng.int(1, maxTerms);
  const exps = new Set<number>();
  exps.add(rng.int(minTopExp, maxExp));
  while (exps.size < n) exps.add(rng.int(0, maxExp));
  return [...exps]
    .sort((a, b) => b - a)
    .map((exp) => ({ coef: rng.pick([1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9]), exp }));
}

export function derivativeExample(skill: 'derivative' | 'second_derivative', poly: Term[]): Example {
  const order = skill === 'derivative' ? 1 : 2;
  const d = order === 1 ? differentiate(poly) : differentiate(differentiate(poly));
  const head = order === 1 ? 'derivative' : 'second derivative';
  return { skill, prompt: `Q: ${head} of ${formatPoly(poly)}? A:`, answer: ` ${formatPoly(d)}` };
}

/** One draw of a derivative skill's distribution (a random polynomial of top degree >= the order);
 *  without `shape`, the tiny preset's polynomials. */
export function drawDerivative(rng: Rng, skill: 'derivative' | 'second_derivative', shape?: { maxTerms: number; maxExp: number }): Example {
  return derivativeExample(skill, randomPoly(rng, skill === 'derivative' ? 1 : 2, shape?.maxTerms, shape?.maxExp));
}

/** `Q: integral of 6x^2+4x+3? A: 2x^3+2x^2+3x+C`: the antiderivative of `poly` has integer coefficients. */
export function integralExample(antiderivative: Term[]): Example {
  const integrand = differentiate(antiderivative);
  return { skill: 'integral', prompt: `Q: integral of ${formatPoly(integrand)}? A:`, answer: ` ${formatPoly(antiderivative)}+C` };
}

/** One draw of the integral distribution: an antiderivative with 1..maxTerms terms of exponent 1..maxExp+1
 *  (coefficients 1..9), so every integrand coefficient is a multiple of its exponent + 1. */
export function drawIntegral(rng: Rng, shape: { maxTerms: number; maxExp: number }): Example {
  const terms = randomPoly(rng, 0, shape.maxTerms, shape.maxExp).map((t) => ({ coef: t.coef, exp: t.exp + 1 }));
  return integralExample(terms);
}

function drawnSplit(rng: Rng, draw: () => Example, nTrain: number, nHeldout: number): SkillSplit {
  const seen = new Set<string>();
  const all: Example[] = [];
  while (all.length < nTrain + nHeldout) {
    const e = draw();
    if (seen.has(e.prompt)) continue;
    seen.add(e.prompt);
    all.push(e);
  }
  return { heldout: all.slice(0, nHeldout), train: all.slice(nHeldout), repeat: 1 };
}

// ---- primality --------------------------------------------------------------------------------

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export function primalityExample(n: number): Example {
  return { skill: 'primality', prompt: `Q: is ${n} prime? A:`, answer: isPrime(n) ? ' yes' : ' no' };
}

/** Balanced yes/no: as many composites as primes in each split; 2/3 of composites are "hard"
 *  (odd and not a multiple of 5), so the last digit alone does not give the answer. */
function primality(rng: Rng, p: CorpusPreset['primality']): SkillSplit {
  const primes: number[] = [];
  const hard: number[] = [];
  const easy: number[] = [];
  for (let n = 2; n <= p.max; n++) {
    if (isPrime(n)) primes.push(n);
    else if (n % 2 !== 0 && n % 5 !== 0) hard.push(n);
    else easy.push(n);
  }
  rng.shuffle(primes);
  rng.shuffle(hard);
  rng.shuffle(easy);
  const nHard = Math.round((primes.length * 2) / 3);
  const composites = rng.shuffle([...hard.slice(0, nHard), ...easy.slice(0, primes.length - nHard)]);
  const ex = primalityExample;
  const h = p.heldoutPerClass;
  const heldout = rng.shuffle([...primes.slice(0, h), ...composites.slice(0, h)].map(ex));
  const train = rng.shuffle([...primes.slice(h), ...composites.slice(h)].map(ex));
  return { heldout, train, repeat: p.repeat };
}

// ---- made-up facts ----------------------------------------------------------------------------

const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'dr', 'kr', 'st', 'th', 'sh'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou'];
const CODAS = ['', '', 'n', 'r', 'l', 'm', 's', 'k'];
const COUNTRY_ENDS = ['land', 'ia', 'stan', 'mark', 'ovia', 'ara', 'heim'];

function syllable(rng: Rng): string {
  return rng.pick(ONSETS) + rng.pick(VOWELS) + rng.pick(CODAS);
}
/** Generated names never contain these (they would read as real words). */
const BLOCKED = ['fuk', 'fuc', 'shit', 'tit', 'dik', 'cum', 'nig', 'sex', 'ass', 'kil', 'rap', 'nazi'];
function capitalize(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

export const CAPITAL_PHRASINGS = [
  (country: string) => `Q: what is the capital of ${country}? A:`,
  (country: string) => `Q: ${country} has which city as its capital? A:`,
] as const;

function makeFacts(rng: Rng, n: number, nWithheld: number): Fact[] {
  const used = new Set<string>();
  const fresh = (make: () => string): string => {
    for (;;) {
      const name = capitalize(make());
      if (!used.has(name) && !BLOCKED.some((b) => name.toLowerCase().includes(b))) {
        used.add(name);
        return name;
      }
    }
  };
  const facts: Fact[] = [];
  for (let i = 0; i < n; i++) {
    const country = fresh(() => syllable(rng) + rng.pick(COUNTRY_ENDS));
    const capital = fresh(() => syllable(rng) + syllable(rng));
    facts.push({ country, capital, withheld: i < nWithheld });
  }
  return facts;
}

function capitals(facts: Fact[], repeat: number): SkillSplit {
  const ex = (f: Fact, phrasing: 0 | 1): Example => ({
    skill: 'capital',
    prompt: CAPITAL_PHRASINGS[phrasing](f.country),
    answer: ` ${f.capital}`,
  });
  const train: Example[] = [];
  for (const f of facts) {
    train.push(ex(f, 0));
    if (!f.withheld) train.push(ex(f, 1));
  }
  const heldout = facts.filter((f) => f.withheld).map((f) => ex(f, 1));
  return { train, heldout, repeat };
}

// ---- comparison (our own skill: a near-100% control) -----------------------------------------

export function comparisonExample(a: number, b: number): Example {
  return { skill: 'comparison', prompt: `Q: which is larger, ${a} or ${b}? A:`, answer: ` ${Math.max(a, b)}` };
}

function comparison(rng: Rng, p: CorpusPreset['comparison']): SkillSplit {
  const all: Example[] = [];
  for (let a = 0; a <= 99; a++) for (let b = 0; b <= 99; b++) if (a !== b) all.push(comparisonExample(a, b));
  rng.shuffle(all);
  return { heldout: all.slice(0, p.heldout), train: all.slice(p.heldout, p.heldout + p.train), repeat: 1 };
}

// ---- the corpus -------------------------------------------------------------------------------

/** The corpus of a preset (default: the tiny model's). The tiny preset draws in the same order as
 *  before presets existed, so its text, splits and shipped model are unchanged; skills a preset adds
 *  draw after all of the tiny ones. */
export function buildCorpus(seed: number = DEFAULT_SEED, presetName: CorpusPresetName = 'tiny'): Corpus {
  const p: CorpusPreset = CORPUS_PRESETS[presetName];
  if (!p) throw new RangeError(`buildCorpus: unknown preset "${presetName}"; one of ${Object.keys(CORPUS_PRESETS).join(', ')}`);
  const rng = new Rng(seed);
  const { addition, multiplication } = arithmetic(rng, p);
  const d1 = p.derivative;
  const derivative = drawnSplit(rng, () => drawDerivative(rng, 'derivative', d1), d1.train, d1.heldout);
  const d2 = p.second_derivative;
  const second_derivative = drawnSplit(rng, () => drawDerivative(rng, 'second_derivative', d2), d2.train, d2.heldout);
  const prime = primality(rng, p.primality);
  const facts = makeFacts(rng, p.capital.facts, p.capital.withheld);
  const capital = capitals(facts, p.capital.repeat);
  const compare = comparison(rng, p.comparison);
  const skills: Partial<Record<SkillName, SkillSplit>> = {
    addition,
    multiplication,
    derivative,
    second_derivative,
    primality: prime,
    capital,
    comparison: compare,
  };
  const ig = p.integral;
  if (ig) skills.integral = drawnSplit(rng, () => drawIntegral(rng, ig), ig.train, ig.heldout);
  const corpus: Corpus = { seed, preset: p.name, skillNames: p.skills, skills, facts, trainLines: [] };
  for (const name of p.skills) {
    const s = corpusSplit(corpus, name);
    for (let r = 0; r < s.repeat; r++) for (const e of s.train) corpus.trainLines.push(exampleLine(e));
  }
  rng.shuffle(corpus.trainLines);
  return corpus;
}

/** The train examples the accuracy table measures: up to `n` spread evenly over the split. */
export function trainEvalSample(split: SkillSplit, n = 200): Example[] {
  const step = Math.max(1, Math.ceil(split.train.length / n));
  return split.train.filter((_, i) => i % step === 0).slice(0, n);
}
