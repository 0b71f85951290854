// The probe model shared by the probes and search packages: what a probe is, how it becomes
// token sequences to score, and the scorer interface both the main thread (a Model) and the
// search workers (a runner with virtual flips and a residual cache) implement.

/** One probe, in the upstream JSON shape (`name`, `category`, `prompt`, `correct`, `wrong`, `alternates`). */
export interface Probe {
  name: string;
  category?: string;
  prompt: string;
  /** The right answer as it continues the prompt (usually with a leading space). */
  correct: string;
  /** The distractor: a wrong answer the model is tempted by. Optional in files; some metrics need it. */
  wrong?: string;
  /** Other right answers (e.g. equivalent trig forms); greedy generation matching any counts as correct. */
  alternates?: string[];
}

/** A named list of probes (upstream files hold several: `{"sets": {"NAME": [probe, ...]}}`). */
export interface ProbeSet {
  name: string;
  probes: Probe[];
}

export interface ProbeFile {
  /** Where it came from (path or name), for error messages. */
  file: string;
  source?: string;
  sets: ProbeSet[];
}

/** A token sequence to score teacher-forced: the log-probs of tokens[from..] given what precedes. */
export interface ScoredSequence {
  tokens: number[];
  /** First scored token index (>= 1): the prompt's length. */
  from: number;
}

/** What a scorer returns for one ScoredSequence. */
export interface SequenceScores {
  /** log p(tokens[i] | tokens[..i-1]) for i = from .. n-1. */
  logprobs: Float64Array;
  /** The model's argmax token at each of those positions (its prediction for tokens[i]). */
  argmax: Int32Array;
  /** logit(tokens[i]) minus the strongest other token's logit (the `competitor` metric needs it). */
  margin?: Float64Array;
}

/** Scores sequences on some model state (a Model on the main thread; a worker's runner with flips). */
export interface SequenceScorer {
  score(seqs: readonly ScoredSequence[]): SequenceScores[];
}

/**
 * How a probe's scores become its gap (see metric.ts): `seq_logprob` (whole answers against the
 * distractors), `token_gap` (first token, legacy), `competitor` (every answer token against the
 * model's strongest other token there: > 0 exactly when teacher forcing reproduces the answer).
 */
export const METRICS = ['seq_logprob', 'token_gap', 'competitor'] as const;
export type Metric = (typeof METRICS)[number];

/** A probe tokenized for a model: its answers tokenized in context. */
export interface PreparedProbe {
  probe: Probe;
  /** Index in the probe list it was prepared from. */
  index: number;
  promptTokens: number[];
  /** correct first, then alternates: each the answer's tokens in context (encode(prompt+answer) minus the prompt's). */
  correctTokens: number[][];
  /** The distractors: the file's `wrong` and, when prepared with the model's own answers, the model's greedy answer. */
  wrongTokens: number[][];
  /** The sequences to score, in a fixed order: one per correct answer, then one per distractor. */
  sequences: ScoredSequence[];
}
