// Node-only helper (the core loader stays runtime-neutral): Node 20's V8 implements relaxed SIMD
// behind a flag (Node 22 and Deno ship it on), so compileEngine's 'auto' would pick the plain
// build there. Turning the flag on before the engine is compiled lets it pick engine-relaxed.wasm:
// results are bit-identical (variants.test.ts), the 1-bit matmul ~20% faster.
import { setFlagsFromString } from 'node:v8';

// (module (func (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.relaxed_swizzle))
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0x80, 0x02, 0x0b,
]);

/** Whether this runtime validates relaxed SIMD, after turning on Node 20's flag for it when needed. Call before the first engine is compiled. */
export function enableRelaxedSimd(): boolean {
  if (WebAssembly.validate(RELAXED_PROBE)) return true;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(RELAXED_PROBE);
}
