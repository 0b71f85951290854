import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createEngine } from './index.js';
import { bitDiff, randomF32, randomQ1, rng } from './test-util.js';

// The worker instantiates the same compiled module on the same shared memory and runs the kernels
// on pointers laid out by the main thread (it never allocates).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, t, xq, n, x, out, y } = workerData;
WebAssembly.instantiate(module, { env: { memory } }).then((instance) => {
  const ex = instance.exports;
  ex.quantizeQ8(x, n, t.cols, out);
  ex.matmulQ1(t.ptr, t.rows, t.cols, out, n, y, 0, t.rows, 0, 0, 0, 0);
  parentPort.postMessage({ heapBase: ex.heapBase() });
});
`;

describe('shared memory across threads', () => {
  it('an instance in a worker_thread computes the same result as the main instance', async () => {
    const e = await createEngine();
    const rand = rng(70);
    const rows = 64, cols = 512, n = 2;
    const gguf = randomQ1(rows, cols, rand);
    const t = e.q1Place(e.q1Layout(rows, cols), e.alloc(e.q1Layout(rows, cols).bytes));
    const src = e.alloc(gguf.length);
    e.u8(src, gguf.length).set(gguf);
    e.q1PackRows(t, 0, rows, src);
    const x = e.alloc(n * cols * 4);
    e.writeF32(x, randomF32(n * cols, rand));
    const xqMain = e.alloc(e.q8Bytes(n, cols));
    const xqWorker = e.alloc(e.q8Bytes(n, cols));
    const yMain = e.alloc(n * rows * 4);
    const yWorker = e.alloc(n * rows * 4);
    e.fill(yWorker, n * rows, 0);
    e.quantizeQ8(x, n, cols, xqMain);
    e.matmulQ1(t, xqMain, n, yMain);

    const worker = new Worker(workerSource, {
      eval: true,
      workerData: { module: e.module, memory: e.memory, t, xq: xqWorker, n, x, out: xqWorker, y: yWorker },
    });
    const msg = await new Promise<{ heapBase: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(msg.heapBase).toBe(e.heapBase);
    expect(Array.from(e.u8(xqWorker, e.q8Bytes(n, cols)))).toEqual(Array.from(e.u8(xqMain, e.q8Bytes(n, cols))));
    expect(bitDiff(e.f32(yWorker, n * rows), e.f32(yMain, n * rows), rows)).toBe('');
    // the worker's instantiation rewrote only constant static data: the host arena is intact
    const again = e.alloc(n * rows * 4);
    e.matmulQ1(t, xqMain, n, again);
    expect(bitDiff(e.f32(again, n * rows), e.f32(yMain, n * rows), rows)).toBe('');
  });
});
