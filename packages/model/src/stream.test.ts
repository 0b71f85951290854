import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '@bankai/gguf';
import { Model } from './model.js';
import { GenerationOptionError } from './sampling.js';
import { ContextLengthError, generateText, StopMatcher, streamText, type TextPiece } from './stream.js';

// The shipped tiny trained model (packages/tiny-model), read by path: @bankai/tiny-model itself
// depends on this package.
const TINY = new URL('../../tiny-model/model/bankai-tiny-q1_0.gguf', import.meta.url);
const SPLITS = new URL('../../tiny-model/data/splits.json', import.meta.url);

let model: Model;
let prompts: string[];

beforeAll(async () => {
  model = await Model.load(bytesSource(new Uint8Array(readFileSync(TINY)), 'tiny'));
  const splits = JSON.parse(readFileSync(SPLITS, 'utf8')) as { skills: Record<string, { heldout: { prompt: string }[] }> };
  prompts = Object.values(splits.skills).flatMap((s) => s.heldout.slice(0, 4).map((e) => e.prompt));
});

async function collect(gen: AsyncGenerator<TextPiece, unknown>) {
  const pieces: TextPiece[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { pieces, result: r.value };
    pieces.push(r.value);
  }
}

describe('generateText / streamText', () => {
  it('greedy by default: the tokens and text of Model.generate (stop "\\n" = stopAtNewline)', async () => {
    for (const prompt of prompts) {
      const want = model.generate(prompt, { maxTokens: 24 });
      const got = generateText(model, prompt, { maxTokens: 24, stop: '\n' });
      expect({ prompt, text: got.text, tokens: got.tokens }).toEqual({ prompt, text: want.text, tokens: want.tokens });
      const free = model.generate(prompt, { maxTokens: 24, stopAtNewline: false });
      expect(generateText(model, prompt, { maxTokens: 24 }).tokens).toEqual(free.tokens);
      const { pieces, result } = await collect(streamText(model, prompt, { maxTokens: 24, stop: '\n' }));
      expect(result).toEqual(got);
      expect(pieces.map((p) => p.text).join('')).toBe(want.text);
      expect(pieces.flatMap((p) => p.tokens)).toEqual(want.tokens.slice(0, pieces.flatMap((p) => p.tokens).length));
    }
  });

  it('a seed gives the same sampled tokens, streamed or not; another seed other tokens', async () => {
    const opts = { temperature: 1.2, topK: 40, topP: 0.95, minP: 0.02, repetitionPenalty: 1.1, maxTokens: 40 };
    const a = generateText(model, 'Q: what is 12+7? A:', { ...opts, seed: 11 });
    expect(generateText(model, 'Q: what is 12+7? A:', { ...opts, seed: 11 })).toEqual(a);
    expect((await collect(streamText(model, 'Q: what is 12+7? A:', { ...opts, seed: 11 }))).result).toEqual(a);
    const others = [12, 13, 14].map((seed) => generateText(model, 'Q: what is 12+7? A:', { ...opts, seed }).tokens);
    expect(others.some((t) => JSON.stringify(t) !== JSON.stringify(a.tokens))).toBe(true);
    expect(a.seed).toBe(11);
  });

  it('never splits a UTF-8 character across pieces (hot sampling emits raw bytes)', async () => {
    const utf8 = new TextEncoder();
    let splitChars = 0;
    for (let seed = 0; seed < 40; seed++) {
      const { pieces, result } = await collect(streamText(model, 'Q:', { temperature: 3, seed, maxTokens: 60 }));
      const r = result as { text: string; tokens: number[] };
      // a piece that ended inside a character would hold U+FFFD where the whole decode has the character
      expect(pieces.map((p) => p.text).join('')).toBe(model.decode(r.tokens));
      for (const p of pieces) expect(p.text.length).toBeGreaterThan(0);
      // count multi-byte characters whose bytes came from more than one token
      for (const p of pieces) if (p.tokens.length > 1 && [...p.text].some((c) => utf8.encode(c).length > 1 && c !== '\ufffd')) splitChars++;
    }
    expect(splitChars).toBeGreaterThan(0); // the test saw characters split across tokens
  });

  it('stop strings end generation without emitting any part of them, across token boundaries', async () => {
    const prompt = 'Q: derivative of 8x^3+2x^2+3? A:';
    const free = generateText(model, prompt, { maxTokens: 20 });
    expect(free.text.length).toBeGreaterThan(6);
    // a stop string that starts inside one token and ends in a later one
    const ids = free.tokens;
    let cut = 0;
    while (model.decode(ids.slice(0, cut + 1)).length < 3) cut++;
    const pre = model.decode(ids.slice(0, cut + 1));
    const stop = pre.slice(-1) + model.decode(ids.slice(cut + 1)).slice(0, 2);
    const at = free.text.indexOf(stop);
    const got = generateText(model, prompt, { maxTokens: 20, stop: ['never there', stop] });
    expect(got.text).toBe(free.text.slice(0, at));
    expect(got.finishReason).toBe('stop');
    expect(got.stopString).toBe(stop);
    const { pieces } = await collect(streamText(model, prompt, { maxTokens: 20, stop: ['never there', stop] }));
    expect(pieces.map((p) => p.text).join('')).toBe(free.text.slice(0, at));
    // held back: no piece carried the stop string's first character past the cut
    expect(pieces.map((p) => p.text).join('').includes(stop[0]!, at)).toBe(false);
  });

  it('finish reasons: a stop token, the token limit, the context, an abort', async () => {
    const eog = [...model.tokenizer.eogIds];
    const r = generateText(model, 'Q: is 7 prime? A:', { maxTokens: 40 });
    expect(['stop', 'length']).toContain(r.finishReason);
    expect(r.tokens.some((t) => eog.includes(t))).toBe(false);
    expect(generateText(model, 'Q: is 7 prime? A:', { maxTokens: 1 })).toMatchObject({ finishReason: 'length', tokens: [expect.any(Number)] });
    const ctx = model.runner.layout.maxContext;
    const long = generateText(model, 'Q: is 7 prime? A:', { maxTokens: 10_000, stopTokens: [] });
    expect(long.tokens.length).toBe(ctx - long.promptTokens + 1);
    expect(long.finishReason).toBe('length');

    const ac = new AbortController();
    const gen = streamText(model, 'Q:', { temperature: 1, seed: 1, maxTokens: 50, stopTokens: [], signal: ac.signal });
    const first = await gen.next();
    expect(first.done).toBe(false);
    ac.abort();
    let r2 = await gen.next();
    while (!r2.done) r2 = await gen.next();
    expect(r2.value.finishReason).toBe('abort');
    expect(r2.value.tokens.length).toBeLessThan(50);
  });

  it('refuses a prompt longer than the context, and bad options, naming them', () => {
    const ctx = model.runner.layout.maxContext;
    expect(() => generateText(model, 'Q: what is 1+1? A:'.repeat(ctx))).toThrow(ContextLengthError);
    expect(() => generateText(model, '')).toThrow(GenerationOptionError);
    expect(() => generateText(model, 'Q:', { maxTokens: 0 })).toThrow(/maxTokens/);
    expect(() => generateText(model, 'Q:', { stop: [''] })).toThrow(/stop\[0\]/);
    expect(() => generateText(model, 'Q:', { topP: 2 })).toThrow(/topP/);
  });
});

describe('StopMatcher', () => {
  it('holds back a possible start of a stop string and releases it once ruled out', () => {
    const m = new StopMatcher(['</s>', 'END']);
    expect(m.push('abc<')).toEqual({ text: 'abc' });
    expect(m.push('/x')).toEqual({ text: '</x' });
    expect(m.push('E')).toEqual({ text: '' });
    expect(m.push('N')).toEqual({ text: '' });
    expect(m.push('Dtail')).toEqual({ text: '', stopped: 'END', after: 'tail' });
    expect(new StopMatcher(['ab']).push('xxa').text).toBe('xx');
    const m2 = new StopMatcher(['\n']);
    expect(m2.push('one\ntwo')).toEqual({ text: 'one', stopped: '\n', after: 'two' });
    const m3 = new StopMatcher(['xyz']);
    expect(m3.push('ab')).toEqual({ text: 'ab' });
    expect(m3.push('xy')).toEqual({ text: '' });
    expect(m3.end()).toBe('xy');
  });

  it('finds the earliest stop string when several occur', () => {
    expect(new StopMatcher(['cd', 'b']).push('abcd')).toEqual({ text: 'a', stopped: 'b', after: 'cd' });
  });
});
