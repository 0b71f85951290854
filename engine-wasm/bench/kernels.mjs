// Benchmark (not a test): G binary MACs/s of the fast 1-bit matmul and its reference, 1 token and a
// 32-token batch, on Bonsai-shaped matrices, measured in the same run. Single thread.
// Run: cd /work/main && npx turbo run build --filter=@bankai/engine-wasm && node engine-wasm/bench/kernels.mjs
import { compileEngine, createEngine } from '../dist/index.js';

const shapes = [
  { name: '1.7B ffn_up   6144x2048', rows: 6144, cols: 2048 },
  { name: '8B   ffn_up  12288x4096', rows: 12288, cols: 4096 },
];
const batches = (process.env.BENCH_BATCHES ?? "1,32").split(",").map(Number);
const minSeconds = Number(process.env.BENCH_SECONDS ?? 0.5);

let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

// best (minimum) CPU time of one call (process.cpuUsage: on a shared machine, time slices given to
// other processes do not count) over repeated calls for at least minSeconds of wall time
function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
function time(fn) {
  fn(); // warm up
  let best = Infinity;
  const t0 = performance.now();
  do {
    const c = cpuSeconds();
    fn();
    best = Math.min(best, cpuSeconds() - c);
  } while ((performance.now() - t0) / 1000 < minSeconds);
  return best;
}

// BENCH_VARIANT=simd|relaxed-simd|auto (Node 20 needs --experimental-wasm-relaxed-simd for relaxed)
const module = await compileEngine(undefined, { variant: process.env.BENCH_VARIANT ?? 'auto' });
const e = await createEngine({ module, initialBytes: 64 << 20 });
if (process.env.BENCH_LUT_BUDGET) e.exports.setQ1LutBudget(Number(process.env.BENCH_LUT_BUDGET));
console.log(`engine variant: ${e.variant}`);
console.log('kernel                         batch   fast GMAC/s   ref GMAC/s   fast/ref');
for (const s of shapes) {
  const mark = e.mark();
  const t = e.q1Place(e.q1Layout(s.rows, s.cols), e.alloc(e.q1Layout(s.rows, s.cols).bytes));
  // random GGUF rows, packed in chunks through a staging buffer
  const chunkRows = 256;
  const staging = e.alloc(chunkRows * t.groups * 18);
  for (let r0 = 0; r0 < s.rows; r0 += chunkRows) {
    const bytes = e.u8(staging, chunkRows * t.groups * 18);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (rand() * 256) | 0;
    for (let b = 0; b < chunkRows * t.groups; b++) { bytes[b * 18] = 0x00; bytes[b * 18 + 1] = 0x20; } // d = 2^-7
    e.q1PackRows(t, r0, chunkRows, staging);
  }
  for (const n of batches) {
    const x = e.alloc(n * s.cols * 4);
    e.writeF32(x, Array.from({ length: n * s.cols }, () => rand() * 2 - 1));
    const xq = e.alloc(e.q8Bytes(n, s.cols));
    e.quantizeQ8(x, n, s.cols, xq);
    const yFast = e.alloc(n * s.rows * 4);
    const yRef = e.alloc(n * s.rows * 4);
    const macs = n * s.rows * s.cols;
    const tFast = time(() => e.matmulQ1(t, xq, n, yFast));
    const tRef = process.env.BENCH_FAST_ONLY ? NaN : time(() => e.matmulQ1Ref(t, xq, n, yRef));
    const same = Buffer.from(e.u8(yFast, n * s.rows * 4)).equals(Buffer.from(e.u8(yRef, n * s.rows * 4)));
    const tq = time(() => e.quantizeQ8(x, n, s.cols, xq));
    console.log(`${s.name}  ${String(n).padStart(5)}   ${(macs / tFast / 1e9).toFixed(2).padStart(11)}   ` +
      `${(macs / tRef / 1e9).toFixed(3).padStart(10)}   ${(tRef / tFast).toFixed(1).padStart(8)}` +
      `   ${same ? 'bit-identical' : 'MISMATCH'}   (quantizeQ8+LUT ${(tq * 1e3).toFixed(3)} ms)`);
  }
  e.reset(mark);
}
