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
  '--enable', 'simd,threads',
  '--importMemory', '--sharedMemory',
  '--maximumMemory', String(MAX_PAGES),
  '--use', 'abort=',
  '--baseDir', root,
];
const builds = [
  ['-O3', '--noAssert', '--outFile', 'build/engine.wasm', '--textFile', 'build/engine.wat'],
];
for (const extra of builds) {
  const { error, stderr } = await asc.main([...common, ...extra]);
  if (error) {
    console.error(stderr.toString());
    console.error(`engine-wasm: asc failed: ${error.message}`);
    process.exit(1);
  }
}
console.log('engine-wasm: built build/engine.wasm');
