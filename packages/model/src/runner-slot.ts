// Worker side of a RunnerPool (pool.ts): claim the next free slot, instantiate the engine on the
// owner's shared memory and build this worker's Qwen3Runner on the slot's layout.
import { createEngine, type Engine } from '@bankai/engine-wasm';
import { Qwen3Runner, type ModelWeights, type RunnerLayout } from './qwen3.js';

/** What every RunnerPool worker receives (as part of its workerData). */
export interface RunnerPoolInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  weights: ModelWeights;
  /** One runner layout per slot (workers + spares). */
  layouts: RunnerLayout[];
  /** Shared counter: each worker claims the next free slot. */
  claim: Int32Array;
}

export interface ClaimedRunner {
  engine: Engine;
  runner: Qwen3Runner;
  /** This worker's slot: indexes the pool's per-slot layouts (and any per-slot data of the caller). */
  slot: number;
}

/** Claims this worker's slot (once per worker) and builds its runner; throws when every slot is taken. */
export async function claimRunner(init: RunnerPoolInit, who = 'runner pool worker'): Promise<ClaimedRunner> {
  const slot = Atomics.add(init.claim, 0, 1);
  const layout = init.layouts[slot];
  if (!layout) throw new Error(`${who}: no free slot (${init.layouts.length} laid out; too many crashed workers)`);
  const engine = await createEngine({ module: init.module, memory: init.memory });
  return { engine, runner: new Qwen3Runner(engine, init.weights, layout), slot };
}
