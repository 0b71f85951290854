export { buildTestVocab, bytesToUnicode, learnMerges, MERGE_TEXT, MIN_VOCAB, SPECIAL_TOKENS, TOKEN_TYPE, type TestVocab } from './vocab.js';
export {
  generateQwen3, linearTensorChunks, normTensorBytes, presetOptions, PRESETS, qwen3Metadata,
  qwen3TensorPlan, qwen3WriteSpec, validateQwen3Options,
  type PresetName, type Qwen3Dims, type Qwen3GenOptions, type TensorPlan, type WeightFormat,
} from './qwen3.js';
