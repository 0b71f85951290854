// @bankai/tiny-model: the shipped tiny trained true 1-bit Qwen3 model and its probe sets.
// Paths are absolute file paths inside the installed package (runtime-neutral: no node: import).

export { buildCorpus, corpusSplit, trainText, trainEvalSample, exampleLine, SKILLS, ALL_SKILLS, CORPUS_PRESETS, DEFAULT_SEED, integralExample, drawIntegral } from './corpus.js';
export type { Corpus, CorpusPreset, CorpusPresetName, Example, SkillName, SkillSplit, Fact } from './corpus.js';
export { learnMerges, pretokenize, BpeEncoder, BYTE_TO_UNICODE } from './bpe.js';
export { buildVocab, learnVocab, VOCAB_SIZE } from './vocab.js';
export type { TokenizerMetadata } from './vocab.js';
export { SplitMix32 as Rng } from '@bankai/rng';
export { tinyGgufSpec, checkTensorIndex, expectedTensors } from './gguf-export.js';
export type { TinyConfig, TensorIndex, TensorIndexEntry, ExportInfo } from './gguf-export.js';
export { MODEL_FILE_NAME, modelUrl, modelPath, probeUrl, probePath, PROBE_SKILLS, urlToPath } from './paths.js';
export { ReferenceModel } from './reference-forward.js';
export type { ReferenceConfig } from './reference-forward.js';
export { accuracyTable, percent, SPLITS } from './accuracy.js';
export type { AccuracyTable, SplitsFile } from './accuracy.js';
export { FreshPromptsError, freshCapacity, freshExamples, freshProbes, ruleMistake, type FreshProbe, type FreshOptions } from './fresh.js';
