// Text generation as pieces of text: sampling (sampling.ts) over the decoding loop
// (scoring.ts decodeSteps), tokens decoded incrementally so that a piece never ends inside a
// UTF-8 character, and stop strings held back until they are ruled out. generateText runs it
// synchronously; streamText is the same steps as an async iterator that lets the event loop
// run between tokens (a server stays responsive and notices a client that went away).

import type { Model } from './model.js';
import { createSampler, GenerationOptionError, type SamplingOptions } from './sampling.js';
import { decodeSteps } from './scoring.js';
import type { StreamingDecoder } from './tokenizer.js';

export interface TextGenerationOptions extends SamplingOptions {
  /** Most tokens to generate (default 64); fewer when the context runs out. */
  maxTokens?: number;
  /** Generation ends when the text contains one of these; the stop string and everything after
   *  it are not part of the text (the token that completed it is counted). */
  stop?: string | readonly string[];
  /** Token ids that end generation, not part of the output (default: the tokenizer's end-of-generation ids). */
  stopTokens?: readonly number[];
  /** Match control tokens such as `<|im_start|>` in a string prompt (default false; chat
   *  templates need true). */
  parseSpecial?: boolean;
  /** streamText only: ends generation (finishReason 'abort') before the next token. */
  signal?: AbortSignal;
}

/** 'stop': a stop token or stop string; 'length': maxTokens or the context; 'abort': the signal. */
export type FinishReason = 'stop' | 'length' | 'abort';

export interface TextPiece {
  /** Whole characters only (never part of a UTF-8 sequence); never empty. */
  text: string;
  /** The tokens generated since the previous piece (the text they make may be held back). */
  tokens: number[];
}

export interface TextGeneration {
  text: string;
  /** Generated token ids (stop tokens excluded). */
  tokens: number[];
  promptTokens: number;
  finishReason: FinishReason;
  /** The stop string that ended generation, when one did. */
  stopString?: string;
  /** The sampler's seed (chosen at random when not given; 0 for greedy unless given). */
  seed: number;
}

/** A prompt that does not fit the model's context. */
export class ContextLengthError extends RangeError {
  override name = 'ContextLengthError';
  constructor(
    readonly promptTokens: number,
    readonly maxContext: number,
  ) {
    super(`the prompt has ${promptTokens} tokens but the context holds ${maxContext}. Fix: shorten the prompt (or load the model with a larger maxContext)`);
  }
}

/**
 * Holds back text that could be the start of a stop string. push() returns the text that is
 * safe to emit, and the stop string once one appears (with the text before it, and in `after`
 * the text that followed it); end() returns what was held back.
 */
export class StopMatcher {
  private held = '';
  private readonly stops: readonly string[];

  constructor(stops: readonly string[]) {
    for (const [i, s] of stops.entries()) {
      if (typeof s !== 'string' || s === '') throw new GenerationOptionError(`stop[${i}]`, 'an empty stop string would stop at once', 'drop it, or pass a non-empty string');
    }
    this.stops = stops;
  }

  push(text: string): { text: string; stopped?: string; after?: string } {
    const buf = this.held + text;
    let at = -1;
    let stopped: string | undefined;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) [at, stopped] = [i, s];
    }
    if (stopped !== undefined) {
      this.held = '';
      return { text: buf.slice(0, at), stopped, after: buf.slice(at + stopped.length) };
    }
    // the longest suffix of buf that is a proper prefix of some stop string
    let keep = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > keep; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep) };
  }

  end(): string {
    const t = this.held;
    this.held = '';
    return t;
  }
}

/** The steps shared by generateText and streamText: one entry per generated token. */
interface Step {
  token: number;
  text: string;
  stopped?: string;
}

interface Prepared {
  promptIds: number[];
  stopTokens: number[];
  maxTokens: number;
  seed: number;
  steps: Generator<Step, 'stop' | 'length'>;
  finish(): string;
}

function normalizeStops(stop: TextGenerationOptions['stop']): string[] {
  if (stop === undefined) return [];
  if (typeof stop === 'string') return [stop];
  if (!Array.isArray(stop)) throw new GenerationOptionError('stop', 'is neither a string nor a list of strings', 'pass "\\n" or ["\\n", "Q:"]');
  return [...stop];
}

function prepare(model: Model, prompt: string | readonly number[], opts: TextGenerationOptions): Prepared {
  const maxTokens = opts.maxTokens ?? 64;
  if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) {
    throw new GenerationOptionError('maxTokens', `${maxTokens} is not a positive integer`, 'pass e.g. 64');
  }
  const matcher = new StopMatcher(normalizeStops(opts.stop));
  const sampler = createSampler(opts);
  const promptIds = typeof prompt === 'string' ? model.tokenizer.encode(prompt, { parseSpecial: opts.parseSpecial }) : [...prompt];
  if (promptIds.length === 0) throw new GenerationOptionError('prompt', 'has no tokens', 'pass a non-empty prompt');
  const maxContext = model.runner.layout.maxContext;
  if (promptIds.length > maxContext) throw new ContextLengthError(promptIds.length, maxContext);
  const stopTokens = [...(opts.stopTokens ?? model.tokenizer.eogIds)];
  const decoder: StreamingDecoder = model.tokenizer.createDecoder();
  const tokens = decodeSteps(model.runner, promptIds, { maxTokens, stopTokens, pick: sampler.pick });
  function* steps(): Generator<Step, 'stop' | 'length'> {
    for (;;) {
      const r = tokens.next();
      if (r.done) return r.value;
      const { text, stopped } = matcher.push(decoder.push(r.value));
      yield { token: r.value, text, stopped };
      if (stopped !== undefined) {
        tokens.return('stop');
        return 'stop';
      }
    }
  }
  return { promptIds, stopTokens, maxTokens, seed: sampler.seed, steps: steps(), finish: () => matcher.push(decoder.end()).text + matcher.end() };
}

/** Generates text synchronously (no streaming): the same tokens and text streamText gives. */
export function generateText(model: Model, prompt: string | readonly number[], opts: TextGenerationOptions = {}): TextGeneration {
  const p = prepare(model, prompt, opts);
  const tokens: number[] = [];
  let text = '';
  let stopString: string | undefined;
  let r = p.steps.next();
  for (; !r.done; r = p.steps.next()) {
    tokens.push(r.value.token);
    text += r.value.text;
    stopString = r.value.stopped;
  }
  if (stopString === undefined) text += p.finish();
  return { text, tokens, promptTokens: p.promptIds.length, finishReason: r.value, ...(stopString !== undefined ? { stopString } : {}), seed: p.seed };
}

/** Lets the event loop run (timers, sockets) between two tokens. */
function macrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * Generates text as an async iterator of pieces (never splitting a character, stop strings held
 * back until ruled out); its return value is the whole generation, as generateText gives it.
 * The engine is used between awaits only: one stream at a time per model.
 */
export async function* streamText(model: Model, prompt: string | readonly number[], opts: TextGenerationOptions = {}): AsyncGenerator<TextPiece, TextGeneration> {
  const p = prepare(model, prompt, opts);
  const tokens: number[] = [];
  let pending: number[] = [];
  let text = '';
  let stopString: string | undefined;
  let end: FinishReason = 'length';
  for (;;) {
    if (opts.signal?.aborted) {
      p.steps.return('length');
      end = 'abort';
      break;
    }
    const r = p.steps.next();
    if (r.done) {
      end = r.value;
      break;
    }
    tokens.push(r.value.token);
    pending.push(r.value.token);
    stopString = r.value.stopped;
    if (r.value.text !== '') {
      text += r.value.text;
      yield { text: r.value.text, tokens: pending };
      pending = [];
    }
    await macrotask();
  }
  if (stopString === undefined && end !== 'abort') {
    const rest = p.finish();
    if (rest !== '') {
      text += rest;
      yield { text: rest, tokens: pending };
    }
  }
  return { text, tokens, promptTokens: p.promptIds.length, finishReason: end, ...(stopString !== undefined ? { stopString } : {}), seed: p.seed };
}
