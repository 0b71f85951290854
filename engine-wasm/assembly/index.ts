// Entry of engine.wasm: every export is a kernel over raw offsets into the imported shared memory.
// Nothing here allocates; the host lays memory out above heapBase().

export { f16ToF32Bits, f32ToF16Bits } from './f16';
export { q8Bytes, q8ScalesOffset, q8LutOffset, quantizeQ8, buildLut } from './q8';
export { q1Bytes, q1PackRows, q1UnpackRows, q1DequantRow, q1RowScale, xorRows, xorGroups } from './q1';
export { matmulQ1, matmulQ1Ref, setQ1LutBudget } from './matmul_q1';
export { matmulF32, matmulF16, roundF16 } from './dense';
export {
  rmsNorm, ropeNeox, attention, softmax, logSoftmax, siluMul, add, mul, scale, copyBytes, fillF32,
} from './ops';

// First byte the host may use (static data ends below it).
export function heapBase(): usize {
  return __heap_base;
}

// 1 in the relaxed-simd build (engine-relaxed.wasm), 0 in the plain SIMD build.
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
