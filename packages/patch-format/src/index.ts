// @bankai/patch-format: patch files as real artifacts. Runtime-neutral (no node: imports):
// bytes and text in, bytes and text out. File access lives in ./node.ts.

export { PatchFormatError, type PatchErrorLocation } from './errors.js';
export {
  BLOCK_TENSORS,
  GROUP_SIZE,
  MAX_INDEX,
  UPSTREAM_PROJECTIONS,
  bitFlip,
  blockTensorName,
  compareFlips,
  compareTensorNames,
  describeFlip,
  flipKey,
  flipKind,
  fromUpstreamFlip,
  groupFlip,
  parseFlip,
  parseTensorName,
  rowFlip,
  toUpstreamFlip,
  type BitFlip,
  type BlockTensor,
  type Flip,
  type FlipKind,
  type GroupFlip,
  type ParsedTensorName,
  type RowFlip,
  type UpstreamFlip,
  type UpstreamProjection,
} from './flip.js';
export {
  BONSAI_HYPERPARAMETERS,
  GGML_TYPE_F32,
  GGML_TYPE_Q1_0,
  groupsPerRow,
  lookupShape,
  oneBitWeightCount,
  qwen3Shape,
  type ModelShape,
  type Qwen3Hyperparameters,
  type TensorShape,
  type TensorShapes,
} from './shape.js';
export {
  bitsFlipped,
  compose,
  flipsByTensor,
  inverse,
  isCanonical,
  normalize,
  overlapReport,
  rowFlipsToGroupFlips,
  sameMask,
  type Overlap,
  type OverlapKind,
  type OverlapReport,
  type TensorFlips,
} from './algebra.js';
export {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  baseShapes,
  canonicalJson,
  computeStats,
  createManifest,
  formatManifest,
  manifestIsCanonical,
  orderedManifest,
  parseManifest,
  parseManifestValue,
  withFlips,
  type BaseModel,
  type ManifestInit,
  type PatchManifest,
  type PatchSignature,
  type PatchStats,
  type Provenance,
} from './manifest.js';
export {
  UPSTREAM_LEGACY_TYPE,
  UPSTREAM_NOMINAL_FLIP_BYTES,
  UPSTREAM_NOMINAL_ROW_BITS,
  UPSTREAM_TOOL,
  UPSTREAM_V1_FORMAT,
  detectUpstreamShape,
  formatUpstream,
  fromUpstream,
  toUpstream,
  type FromUpstreamOptions,
  type UpstreamImport,
  type UpstreamShape,
  type UpstreamV1,
} from './upstream.js';
export { BINARY_MAGIC, BINARY_VERSION, binaryLayout, decodeBinary, encodeBinary, isBinaryPatch, type BinaryLayout } from './binary.js';
export { crc32, crc32Reference } from './crc32.js';
export { MAX_PATCH_BYTES, readPatch, type LoadedPatch, type PatchSourceKind, type ReadPatchOptions } from './read.js';
export { checkPatchForModel, flipProblem, validateFlips, type ModelCheckOptions, type ModelCheckResult } from './validate.js';
export {
  SIGNATURE_DOMAIN,
  checkSignature,
  generateSigningKey,
  publicKeyOf,
  signManifest,
  signingPayload,
  verifyManifest,
  type SignatureCheck,
  type SignaturePolicy,
  type SigningKeyPair,
  type VerifyOptions,
  type VerifyResult,
} from './sign.js';
export { mergeBases, stackPatches, type StackOptions } from './stack.js';
export { sha256Hex } from './hash.js';
export {
  bakeEdits, bakePatch, diffModels, flipTensorName, modelShapeOf, planBake, q1BitPosition, verifyPatchedModel, xorQ1RowBytes,
  type BakeOptions, type BakeResult, type DiffOptions, type ModelDiff, type PatchVerification, type TensorVerification,
} from './model-file.js';
export { MAX_JSON_DEPTH, MAX_JSON_TEXT, PROTOTYPE_KEYS, jsonLimitProblem, type JsonLimitProblem, type JsonObject, type JsonValue } from './json.js';
