export { ModelConfigError, qwen3TensorShapes, readQwen3Config, type Qwen3Config } from './config.js';
export { loadWeights, metadataLookup, weightEngineBytes, readModelConfig, tokenizerFromHeader, type LoadProgress } from './load.js';
export { Model, type Generation, type GenerateTextOptions, type ModelOptions } from './model.js';
export {
  layoutRunner, Qwen3Runner, runnerBufferBytes, runnerBytes,
  type CaptureStop, type ForwardTape, type LayerWeights, type Linear, type MlpStage, type ModelWeights, type RunnerLayout, type TapePoint, type VirtualFlips,
} from './qwen3.js';
export {
  argmax, competitorMargin, decodeSteps, generateGreedy, logSoftmaxRows, logSumExp, scoreContinuation, scoreRows, splitInContext, tokenLogprobs,
  type ContinuationScore, type DecodeEnd, type DecodeStepOptions, type Encoder, type GenerateOptions,
} from './scoring.js';
export { Tokenizer, TokenizerError, type TokenizerMetadata } from './tokenizer.js';
export { RunnerPool, ScoringPool, type RunnerPoolOptions, type SequenceScore } from './pool.js';
export { claimRunner, type ClaimedRunner, type RunnerPoolInit } from './runner-slot.js';
export { applyPatch, xorFlips, modelShape, oneBitTensors, q1TensorBytes, snapshotWeights, weightsHamming, type AppliedPatch, type ApplyOptions, type WeightSnapshot, type WeightsHamming } from './patching.js';
export { exp, log, pow } from './portable-math.js';
export {
  attentionBackward, BACKWARD_PROJECTIONS, BackwardError, groupEffects, layoutBackward, Qwen3Backward, releaseBackward, rowEffects, updateBackwardRows,
  type BackwardLayout, type BackwardOptions, type BackwardProjection, type OutputSeed, type ProjectionGradient,
} from './backward.js';
export { likelyMistake, type LikelyMistakeOptions } from './mistake.js';
export { checkSamplingOptions, createSampler, GenerationOptionError, type Sampler, type SamplingOptions } from './sampling.js';
export {
  ContextLengthError, generateText, StopMatcher, streamText,
  type FinishReason, type TextGeneration, type TextGenerationOptions, type TextPiece,
} from './stream.js';
export {
  CHAT_TEMPLATE_KEY, CHATML_TEMPLATE, ChatTemplate, ChatTemplateError, promptOpensThinking, splitThinking, ThinkingSplitter,
  type ChatMessage, type ChatRenderOptions, type ThinkingDelta,
} from './chat.js';
