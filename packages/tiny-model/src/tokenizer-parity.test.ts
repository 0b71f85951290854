// Our corpus ids (BpeEncoder, used to make the training data) must equal the toolkit's runtime
// tokenizer (@bankai/model Tokenizer.fromMetadata(...).encode) on the whole corpus.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@bankai/model';
import { BpeEncoder } from './bpe.js';
import { buildCorpus, corpusSplit, SKILLS, trainText } from './corpus.js';

const tok = JSON.parse(readFileSync(new URL('../data/tokenizer.json', import.meta.url), 'utf8'));

describe('tokenizer parity with @bankai/model', () => {
  it('gives the same ids on every training line and every eval prompt', () => {
    const ours = new BpeEncoder(tok.tokens, tok.merges);
    const runtime = Tokenizer.fromMetadata(tok);
    const corpus = buildCorpus();
    const lines = new Set(trainText(corpus).split(/(?<=\n)/));
    for (const s of SKILLS) for (const e of corpusSplit(corpus, s).heldout) lines.add(e.prompt).add(e.prompt + e.answer + '\n');
    let n = 0;
    for (const line of lines) {
      const a = ours.encode(line);
      const b = runtime.encode(line);
      if (a.length !== b.length || a.some((x, i) => x !== b[i])) expect({ line, ours: a }).toEqual({ line, ours: b });
      n++;
    }
    expect(n).toBeGreaterThan(10_000);
    expect(runtime.vocabSize).toBe(512);
  });
});
