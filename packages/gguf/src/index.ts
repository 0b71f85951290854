export { GgufError } from './errors.js';
export {
  GGML_TYPE, GGML_TYPES, Q1_0_BLOCK, Q1_0_BYTES, Q1_0_SCALE_BYTES, Q8_0_BLOCK, Q8_0_BYTES,
  ggmlTypeInfo, requireGgmlType, tensorSize,
  type GgmlTypeId, type GgmlTypeInfo, type TensorSize,
} from './types.js';
export {
  BONSAI_SHAPES, type BonsaiShape, type BonsaiSize,
  QWEN3_BLOCK_TENSORS, QWEN3_OUTPUT, QWEN3_OUTPUT_NORM, QWEN3_PROJECTION_TENSOR, QWEN3_PROJECTIONS, QWEN3_TOKEN_EMBD, WEIGHT_SUFFIX,
  qwen3BlockName, qwen3BlockTensor, qwen3BlockTensorOf, qwen3ProjectionOf, qwen3Tensors,
  type Qwen3BlockKey, type Qwen3BlockNorm, type Qwen3BlockTensor, type Qwen3PlanDims, type Qwen3PlannedTensor,
  type Qwen3NormTensor, type Qwen3Projection, type Qwen3ProjectionTensor, type Qwen3ShapeDims, type Qwen3TensorShape,
} from './qwen3.js';
export { f16ToF32, f32ToF16, roundToF16 } from './fp16.js';
export { dequantizeQ1_0, quantizeQ1_0 } from './q1_0.js';
export { dequantizeQ8_0, quantizeQ8_0, type Q8_0Options } from './q8_0.js';
export { dequantize } from './dequantize.js';
export { bytesSource, type ByteSource } from './source.js';
export {
  GGUF_VALUE_TYPE, meta, plainValue,
  type GgufArray, type GgufMetadata, type GgufScalarTypeName, type GgufValue, type GgufValueTypeName,
} from './values.js';
export {
  GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufFile, readGguf, readTensorBytes, readTensorChunks,
  type GgufTensorInfo, type TensorChunk, type TensorChunkOptions,
} from './reader.js';
export {
  encodeGgufHeader, memorySink, writeGguf,
  type ByteSink, type GgufLayout, type GgufTensorSpec, type GgufWriteResult, type GgufWriteSpec, type TensorDataProducer,
} from './writer.js';
export { copyGgufWithEdits, type CopyResult, type TensorByteEdit } from './edit.js';
