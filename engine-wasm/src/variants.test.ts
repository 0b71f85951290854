import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileEngine, createEngine } from './index.js';

const buildDir = new URL('../build/', import.meta.url);

// Runs in a child process (Node 20 needs --experimental-wasm-relaxed-simd for the relaxed build):
// both builds instantiated on one shared memory, same random weights and activations, fast matmul
// with and without flips; prints whether the outputs are byte-identical.
const childSource = `
import { readFileSync } from 'node:fs';
const dir = new URL(process.argv[1]);
const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
const load = async (name) => (await WebAssembly.instantiate(readFileSync(new URL(name, dir)), { env: { memory } })).instance.exports;
const std = await load('engine.wasm'), rel = await load('engine-relaxed.wasm');
const base = Math.ceil(Math.max(std.heapBase(), rel.heapBase()) / 64) * 64;
let seed = 7; const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const rows = 48, cols = 1024, n = 3, groups = cols / 128;
const u8 = new Uint8Array(memory.buffer);
const w = base, src = w + std.q1Bytes(rows, cols), x = src + rows * groups * 18, xq = x + n * cols * 4;
const y1 = xq + std.q8Bytes(n, cols) + 64, y2 = y1 + n * rows * 4, flips = y2 + n * rows * 4;
for (let i = 0; i < rows * groups; i++) { u8[src + i * 18] = 0x00; u8[src + i * 18 + 1] = 0x1c; for (let j = 2; j < 18; j++) u8[src + i * 18 + j] = (rand() * 256) | 0; }
std.q1PackRows(w, rows, cols, 0, rows, src);
new Float32Array(memory.buffer, x, n * cols).forEach((_, i, a) => { a[i] = rand() * 2 - 1; });
rel.quantizeQ8(x, n, cols, xq);
new Int32Array(memory.buffer, flips, 6).set([5, 3, 1, 17, 2, 40]); // rows 5; pairs (3,1) (17,2) ; row 40 unused
std.matmulQ1(w, rows, cols, xq, n, y1, 0, rows, flips, 1, flips + 4, 2);
rel.matmulQ1(w, rows, cols, xq, n, y2, 0, rows, flips, 1, flips + 4, 2);
const a = u8.subarray(y1, y1 + n * rows * 4), b = u8.subarray(y2, y2 + n * rows * 4);
let diff = 0; for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
console.log(JSON.stringify({ relaxed: rel.relaxedSimd(), std: std.relaxedSimd(), diff, nonzero: a.some((v) => v !== 0) }));
`;

describe('engine variants', () => {
  it('the relaxed-simd build gives byte-identical matmul results to the plain build', () => {
    const relaxedHere = WebAssembly.validate(readFileSync(new URL('engine-relaxed.wasm', buildDir)));
    const flags = relaxedHere ? [] : ['--experimental-wasm-relaxed-simd'];
    const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', childSource, buildDir.href], { encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({ relaxed: 1, std: 0, diff: 0, nonzero: true });
  });

  it('enableRelaxedSimd (Node) turns relaxed SIMD on where the runtime has it behind a flag, and compileEngine then picks it', () => {
    // a fresh process without flags: the probe module validates exactly when the relaxed build does
    const child = `
      import { readFileSync } from 'node:fs';
      const rel = readFileSync(new URL('engine-relaxed.wasm', process.argv[1]));
      const before = WebAssembly.validate(rel);
      const { enableRelaxedSimd } = await import(new URL('../dist/node.js', process.argv[1]).href);
      const on = enableRelaxedSimd();
      const { createEngine } = await import(new URL('../dist/index.js', process.argv[1]).href);
      console.log(JSON.stringify({ before, on, after: WebAssembly.validate(rel), variant: (await createEngine()).variant }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child, buildDir.href], { encoding: 'utf8' }).trim());
    expect(out).toEqual({ before: out.before, on: true, after: true, variant: 'relaxed-simd' });
  });

  it('compileEngine picks a variant the runtime supports and reports it', async () => {
    const e = await createEngine();
    const relaxedHere = WebAssembly.validate(readFileSync(new URL('engine-relaxed.wasm', buildDir)));
    expect(e.variant).toBe(relaxedHere ? 'relaxed-simd' : 'simd');
    const plain = await createEngine({ module: await compileEngine(undefined, { variant: 'simd' }) });
    expect(plain.variant).toBe('simd');
  });
});
