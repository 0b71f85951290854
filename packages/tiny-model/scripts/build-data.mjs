// Corpus -> tokenizer -> training ids. Writes (deterministically, from the seed):
//   data/train.txt          the training text, one example per line
//   data/splits.json        per skill: the train examples the accuracy table measures, the held-out examples
//   data/tokenizer.json     the GGUF tokenizer metadata (tokens, token types, merges, special ids)
//   train/out/train-ids.u16 the training text as token ids, uint16 little-endian
//   train/out/eval.json     the eval examples with their prompt ids, plus the tokens (for decoding)
// (paths inside the model's package: this one for --preset tiny, packages/small-model for small)
// Usage: node packages/tiny-model/scripts/build-data.mjs [--preset tiny|small]   (after building the package)
import { join } from 'node:path';
import { buildCorpus, corpusSplit, trainText, trainEvalSample, learnVocab, BpeEncoder, DEFAULT_SEED } from '../dist/index.js';
import { writeAtomic } from './fs-util.mjs';
import { target } from './target.mjs';

const { pkg, preset } = target();
const corpus = buildCorpus(DEFAULT_SEED, preset);
const text = trainText(corpus);
const vocab = learnVocab(text);
const enc = new BpeEncoder(vocab.tokens, vocab.merges);

const ids = enc.encode(text);
const u16 = new Uint16Array(ids); // (n_tokens,) token ids, vocab < 65536
writeAtomic(join(pkg, 'data/train.txt'), text);
writeAtomic(join(pkg, 'data/tokenizer.json'), JSON.stringify(vocab, null, 1) + '\n');

const splits = {};
const evalSets = {};
for (const s of corpus.skillNames) {
  const split = corpusSplit(corpus, s);
  const sets = { train: trainEvalSample(split), heldout: split.heldout };
  splits[s] = { repeat: split.repeat, nTrain: split.train.length, ...sets };
  evalSets[s] = Object.fromEntries(
    Object.entries(sets).map(([k, list]) => [k, list.map((e) => ({ ...e, promptIds: enc.encode(e.prompt) }))]),
  );
}
writeAtomic(join(pkg, 'data/splits.json'), JSON.stringify({ seed: corpus.seed, ...(corpus.preset === 'tiny' ? {} : { preset: corpus.preset }), facts: corpus.facts, skills: splits }, null, 1) + '\n');
writeAtomic(join(pkg, 'train/out/train-ids.u16'), Buffer.from(u16.buffer));
writeAtomic(join(pkg, 'train/out/eval.json'), JSON.stringify({ tokens: vocab.tokens, newlineId: enc.encode('\n')[0], skills: evalSets }));
console.log(`build-data (${corpus.preset}): ${corpus.trainLines.length} lines, ${ids.length} tokens, vocab ${vocab.tokens.length}`);
