// The user-facing model: a GGUF file loaded into the engine, its tokenizer, and one runner for
// this thread. Text in, log-probs / generations out.

import { createEngine, type Engine } from '@bankai/engine-wasm';
import { readGguf, type ByteSource, type GgufFile } from '@bankai/gguf';
import { ChatTemplate } from './chat.js';
import type { Qwen3Config } from './config.js';
import { loadWeights, tokenizerFromHeader, type LoadProgress } from './load.js';
import { layoutRunner, Qwen3Runner, type ModelWeights, type RunnerLayout } from './qwen3.js';
import { generateGreedy, scoreContinuation, splitInContext, tokenLogprobs, type ContinuationScore } from './scoring.js';
import { ContextLengthError, generateText, streamText, type TextGeneration, type TextGenerationOptions, type TextPiece } from './stream.js';
import { TokenizerError, type Tokenizer } from './tokenizer.js';

export interface ModelOptions {
  /** Load into this engine (e.g. one whose memory workers share); default: a new engine. */
  engine?: Engine;
  /** KV-cache positions of the runner (default min(512, the file's context length)). */
  maxContext?: number;
  /** Tokens per forward batch (default 64). */
  maxBatch?: number;
  onProgress?: (p: LoadProgress) => void;
}

export interface GenerateTextOptions {
  maxTokens?: number;
  /** Stop at the first newline (not included); default true, as probes are one line. */
  stopAtNewline?: boolean;
}

export interface Generation {
  text: string;
  tokens: number[];
}

export class Model {
  readonly config: Qwen3Config;
  readonly runner: Qwen3Runner;
  private template?: ChatTemplate;

  private constructor(
    readonly engine: Engine,
    readonly header: GgufFile,
    readonly weights: ModelWeights,
    readonly tokenizer: Tokenizer,
    layout: RunnerLayout,
  ) {
    this.config = weights.config;
    this.runner = new Qwen3Runner(engine, weights, layout);
  }

  static async load(src: ByteSource, opts: ModelOptions = {}): Promise<Model> {
    const header = await readGguf(src);
    const tokenizer = tokenizerFromHeader(header);
    const engine = opts.engine ?? (await createEngine());
    const weights = await loadWeights(engine, src, header, opts.onProgress);
    if (tokenizer.vocabSize > weights.config.vocabSize) {
      throw new TokenizerError(`has ${tokenizer.vocabSize} tokens but token_embd.weight has ${weights.config.vocabSize} rows`, {
        file: src.name, field: 'tokenizer.ggml.tokens', fix: 'the tokenizer and the weights are from different models: export the model again',
      });
    }
    const layout = layoutRunner(engine, weights.config, { maxContext: opts.maxContext, maxBatch: opts.maxBatch });
    return new Model(engine, header, weights, tokenizer, layout);
  }

  /** Lay out scratch and a KV cache for another runner (e.g. one per worker thread). */
  layoutRunner(opts: { maxContext?: number; maxBatch?: number } = {}): RunnerLayout {
    return layoutRunner(this.engine, this.config, opts);
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids as number[]);
  }

  /** (n, vocab) natural-log softmax after each token. */
  logprobs(tokens: readonly number[]): Float32Array {
    return tokenLogprobs(this.runner, tokens);
  }

  /**
   * Teacher-forced log-prob of `answer` after `prompt`. The answer is tokenized in context:
   * encode(prompt + answer) minus the prompt's tokens (when the boundary merges, the prompt's
   * tokens are not a prefix and the shared prefix is used instead).
   */
  score(prompt: string, answer: string): ContinuationScore & { promptTokens: number[]; answerTokens: number[] } {
    const { prompt: promptTokens, answer: answerTokens } = splitInContext(this.tokenizer, prompt, answer);
    return { ...scoreContinuation(this.runner, promptTokens, answerTokens), promptTokens, answerTokens };
  }

  generate(prompt: string, opts: GenerateTextOptions = {}): Generation {
    const stopAtNewline = opts.stopAtNewline ?? true;
    const stopTokens = [...this.tokenizer.eogIds];
    const promptIds = this.encode(prompt);
    if (promptIds.length > this.runner.layout.maxContext) throw new ContextLengthError(promptIds.length, this.runner.layout.maxContext);
    const tokens = generateGreedy(this.runner, promptIds, {
      maxTokens: opts.maxTokens ?? 64,
      stopTokens,
      stopWhen: stopAtNewline ? (ids) => this.decode(ids.slice(-1)).includes('\n') : undefined,
    });
    let text = this.decode(tokens);
    if (stopAtNewline && text.includes('\n')) text = text.slice(0, text.indexOf('\n'));
    return { text, tokens };
  }

  /** Sampled or greedy generation with stop strings (greedy by default: the tokens generate() gives). */
  generateText(prompt: string | readonly number[], opts: TextGenerationOptions = {}): TextGeneration {
    return generateText(this, prompt, opts);
  }

  /** generateText as an async iterator of text pieces that never split a character. */
  streamText(prompt: string | readonly number[], opts: TextGenerationOptions = {}): AsyncGenerator<TextPiece, TextGeneration> {
    return streamText(this, prompt, opts);
  }

  /** The file's chat template (`tokenizer.chat_template`), else plain ChatML; parsed once. */
  get chatTemplate(): ChatTemplate {
    return (this.template ??= ChatTemplate.fromHeader(this.header, this.tokenizer));
  }
}
