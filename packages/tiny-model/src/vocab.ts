// ---------------------------------------------------------------------------------------------
// The tiny model's vocabulary and its GGUF tokenizer metadata: 256 byte tokens (GPT-2 alphabet,
// in byte order), then one token per learned merge (in merge order), then control tokens.
// ---------------------------------------------------------------------------------------------

import { BYTE_TO_UNICODE, learnMerges } from './bpe.js';

export const VOCAB_SIZE = 512;
export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;
export const N_MERGES = VOCAB_SIZE - 256 - SPECIAL_TOKENS.length;

/** GGUF token types (llama.cpp llama_token_type). */
export const TOKEN_TYPE_NORMAL = 1;
export const TOKEN_TYPE_CONTROL = 3;

/** The values of the `tokenizer.ggml.*` GGUF keys. */
export interface TokenizerMetadata {
  model: 'gpt2';
  pre: 'qwen2';
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  bosId: number;
  eosId: number;
  eotId: number;
  paddingId: number;
  addBos: false;
}

export function buildVocab(merges: readonly string[]): TokenizerMetadata {
  const tokens = [...BYTE_TO_UNICODE];
  for (const m of merges) {
    const t = m.replace(' ', '');
    if (tokens.includes(t)) throw new Error(`buildVocab: merge "${m}" makes "${t}", already a token`);
    tokens.push(t);
  }
  const tokenTypes = tokens.map(() => TOKEN_TYPE_NORMAL);
  for (const s of SPECIAL_TOKENS) {
    tokens.push(s);
    tokenTypes.push(TOKEN_TYPE_CONTROL);
  }
  if (tokens.length !== VOCAB_SIZE)
    throw new Error(`buildVocab: ${tokens.length} tokens, expected ${VOCAB_SIZE} (got ${merges.length} merges, need ${N_MERGES}): use a larger corpus`);
  const eot = tokens.indexOf('<|endoftext|>');
  return { model: 'gpt2', pre: 'qwen2', tokens, tokenTypes, merges: [...merges], bosId: eot, eosId: eot, eotId: eot, paddingId: eot, addBos: false };
}

/** Learns the merges on the training text and builds the vocabulary. */
export function learnVocab(trainText: string): TokenizerMetadata {
  return buildVocab(learnMerges(trainText, N_MERGES));
}
