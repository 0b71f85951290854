// Builds build/engine.wasm from assembly/ with the AssemblyScript compiler API.
// One module, imported shared memory (env.memory), no runtime allocation: the host lays out memory.
import asc from 'assemblyscript/asc';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// 65536 pages = 4 GiB: room for the 8B shape (~1.2 GB of bits + scales) plus activations.
export const MAX_PAGES = 65536;

await mkdir(new URL('../build/', import.meta.url), { recursive: true });
const common = [
  'assembly/index.ts',
  '--runtime', 'stub',
  '--importMemory', '--sharedMemory',
  '--maximumMemory', String(MAX_PAGES),
  '--use', 'abort=',
  '--baseDir', root,
];
const release = ['-O3', '--noAssert'];
// engine.wasm: plain SIMD, runs everywhere (Node 20). engine-relaxed.wasm: the same kernels with
// relaxed_swizzle for in-range table lookups (bit-identical results, ~20% faster 1-bit matmul);
// the loader picks it when the runtime validates it (Node >= 22, Deno).
const builds = [
  [...release, '--enable', 'simd,threads', '--outFile', 'build/engine.wasm', '--textFile', 'build/engine.wat'],
  [...release, '--enable', 'simd,threads,relaxed-simd', '--outFile', 'build/engine-relaxed.wasm'],
];
for (const extra of builds) {
  const { error, stderr } = await asc.main([...common, ...extra]);
  if (error) {
    console.error(stderr.toString());
    console.error(`engine-wasm: asc failed: ${error.message}`);
    process.exit(1);
  }
}
console.log('engine-wasm: built build/engine.wasm, build/engine-relaxed.wasm');
