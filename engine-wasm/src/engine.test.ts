import { describe, expect, it } from 'vitest';
import { createEngine, MAX_PAGES } from './index.js';

describe('Engine arena and memory', () => {
  it('alloc aligns, grows the shared memory, and views see data written before growth', async () => {
    const e = await createEngine({ initialBytes: 1 << 16 });
    expect(e.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const a = e.alloc(10, 64);
    expect(a % 64).toBe(0);
    expect(a).toBeGreaterThanOrEqual(e.heapBase);
    e.writeF32(a, [1.5, 2.5]);
    const before = e.byteLength;
    const big = e.alloc(8 << 20, 16);
    expect(e.byteLength).toBeGreaterThanOrEqual(big + (8 << 20));
    expect(e.byteLength).toBeGreaterThan(before);
    expect(Array.from(e.f32(a, 2))).toEqual([1.5, 2.5]);
    e.fill(big, 4, 7);
    expect(Array.from(e.f32(big, 4))).toEqual([7, 7, 7, 7]);
  });

  it('mark/reset reuses space and rejects foreign marks', async () => {
    const e = await createEngine();
    const m = e.mark();
    const a = e.alloc(100);
    e.reset(m);
    expect(e.alloc(100)).toBe(a);
    expect(() => e.reset(e.mark() + 64)).toThrow(/not a value returned by mark/);
  });

  it('refuses allocations past the 4 GiB maximum with a clear message (without growing)', async () => {
    const e = await createEngine();
    const before = e.byteLength;
    expect(() => e.alloc(MAX_PAGES * 65536)).toThrow(/4 GiB maximum/);
    expect(() => e.alloc(-1)).toThrow(/non-negative integer/);
    expect(e.byteLength).toBe(before);
  });

  it('rejects a non-shared memory and out-of-memory pointers', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 10 });
    await expect(createEngine({ memory })).rejects.toThrow(/shared WebAssembly.Memory/);
    const e = await createEngine();
    expect(() => e.f32(e.byteLength - 4, 2)).toThrow(/outside engine memory/);
    expect(() => e.add(0, 0, 3, 2)).toThrow(/4-byte aligned/);
  });

  it('a second engine on the same memory sees the same bytes', async () => {
    const e = await createEngine();
    const p = e.alloc(16);
    e.writeF32(p, [3, 4]);
    const e2 = await createEngine({ module: e.module, memory: e.memory });
    expect(e2.heapBase).toBe(e.heapBase);
    expect(Array.from(e2.f32(p, 2))).toEqual([3, 4]);
  });

  it('useArena confines a second engine (a worker) to a region the owner allocated', async () => {
    const e = await createEngine();
    const region = e.alloc(4096);
    const after = e.alloc(64);
    const w = await createEngine({ module: e.module, memory: e.memory });
    w.useArena(region, 4096);
    const p = w.alloc(1000);
    expect(p).toBeGreaterThanOrEqual(region);
    expect(p + 1000).toBeLessThanOrEqual(region + 4096);
    expect(() => w.alloc(4096)).toThrow(/end of this engine's arena/);
    expect(after).toBeGreaterThanOrEqual(region + 4096);
    expect(() => w.useArena(e.byteLength - 8, 64)).toThrow(/outside engine memory/);
  });
});
