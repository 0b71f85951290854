import { beforeAll, describe, expect, it } from 'vitest';
import { snapshotWeights, weightsHamming, type Model } from '@bankai/model';
import { patchFileBytes } from '@bankai/patch-format/node';
import { changingPatches, loadTiny } from '../testing/fixtures.js';
import { ApiError } from './errors.js';
import { PatchLibrary, type ServedPatch } from './patches.js';
import { EngineScheduler, type SwapRecord } from './scheduler.js';

let model: Model;
let sha256: string;
let math: ServedPatch;
let logic: ServedPatch;

beforeAll(async () => {
  ({ model, sha256 } = await loadTiny());
  const [a, b] = changingPatches(model, sha256, 2);
  const lib = new PatchLibrary(model, { modelSha256: sha256 });
  lib.sync([{ name: 'math.json', bytes: patchFileBytes(a!, 'manifest') }, { name: 'logic.json', bytes: patchFileBytes(b!, 'manifest') }]);
  [math, logic] = [lib.get('math')!, lib.get('logic')!];
});

describe('EngineScheduler', () => {
  it('serves the applied patch first, at most maxConsecutive in a row, then the longest-waiting patch', async () => {
    const swaps: SwapRecord[] = [];
    const s = new EngineScheduler(model, { modelSha256: sha256, maxConsecutive: 2, onSwap: (r) => swaps.push(r) });
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = (name: string, wait?: Promise<void>) => async () => {
      order.push(`${name}:${s.appliedKey.split('@')[0]}`); // what is in the weights while it runs
      await wait;
    };
    const done = [
      s.run(null, undefined, job('b0', gate)),
      s.run(math, undefined, job('m0')),
      s.run(null, undefined, job('b1')),
      s.run(logic, undefined, job('l0')),
      s.run(null, undefined, job('b2')),
      s.run(math, undefined, job('m1')),
      s.run(null, undefined, job('b3')),
    ];
    expect(s.stats()).toMatchObject({ queued: 6, busy: true });
    release();
    await Promise.all(done);
    // b0 holds the engine; b1 follows (streak 2); then the oldest waiter's patch, math (m0, m1);
    // then logic's l0 (older than b2); then base again
    expect(order).toEqual(['b0:base', 'b1:base', 'm0:math', 'm1:math', 'l0:logic', 'b2:base', 'b3:base']);
    expect(swaps.map((r) => `${r.from.split('@')[0]}>${r.to.split('@')[0]}`)).toEqual(['base>math', 'math>logic', 'logic>base']);
    for (const r of swaps) expect(r.xorMicros).toBeGreaterThanOrEqual(0);
    await s.close();
  });

  it('refuses more than maxQueue waiting requests with a 429, and close() restores the base weights', async () => {
    const before = snapshotWeights(model);
    const s = new EngineScheduler(model, { modelSha256: sha256, maxQueue: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const running = s.run(math, undefined, () => gate);
    const queued = [s.run(logic, undefined, async () => 'l'), s.run(null, undefined, async () => 'b')];
    const refused = await s.run(null, undefined, async () => 'x').catch((e) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused.status).toBe(429);
    release();
    await running;
    expect(await Promise.all(queued)).toEqual(['l', 'b']);
    await s.run(logic, undefined, async () => {});
    expect(weightsHamming(before, model).bits).toBeGreaterThan(0); // logic is in the weights
    await s.close();
    expect(weightsHamming(before, model).bits).toBe(0);
  });
});
