// One engine, many patches: requests wait in one queue per patch, and the engine runs one job at
// a time with exactly that job's patch applied (XORed in by applyPatch, reverted by the same XOR
// before another patch goes in). While the current patch has waiting requests they go first, up
// to `maxConsecutive` in a row, so swaps stay few; then the patch whose oldest request has waited
// longest is next. A request whose client goes away while it waits leaves the queue.

import { applyPatch, type AppliedPatch, type Model } from '@bankai/model';
import { ApiError } from './errors.js';
import { BASE_MODEL_ID, type ServedPatch } from './patches.js';

export interface SwapRecord {
  from: string;
  to: string;
  /** Microseconds of XOR (revert + apply), as applyPatch measures it. */
  xorMicros: number;
  /** Milliseconds of the whole swap: validation and planning included. */
  millis: number;
}

export interface SchedulerOptions {
  /** sha256 of the model file (applyPatch checks the patch's fingerprint against it). */
  modelSha256: string;
  /** Most requests of one patch in a row while others wait (default 16). */
  maxConsecutive?: number;
  /** Most requests waiting at once; more are refused with 429 (default 256). */
  maxQueue?: number;
  onSwap?: (s: SwapRecord) => void;
}

interface Waiter {
  key: string;
  patch: ServedPatch | null;
  seq: number;
  start: () => void;
  cancel: (e: unknown) => void;
}

/** The queue key: a patch version (id and content hash), or the base model. */
function keyOf(patch: ServedPatch | null): string {
  return patch ? `${patch.id}@${patch.sha256.slice(0, 16)}` : BASE_MODEL_ID;
}

function shuttingDown(): ApiError {
  return new ApiError(503, 'The server is shutting down.', null, 'shutting_down');
}

export class AbortedWhileQueued extends Error {
  override name = 'AbortedWhileQueued';
}

/** The scheduler serving each model: two would each think they know which patch is applied. */
const LIVE = new WeakMap<Model, EngineScheduler>();

export class EngineScheduler {
  private readonly queues = new Map<string, Waiter[]>();
  private busy = false;
  private closed = false;
  private idle: (() => void) | undefined;
  private current = BASE_MODEL_ID;
  private applied: AppliedPatch | undefined;
  private streak = 0;
  private seq = 0;
  private waiting = 0;

  constructor(
    private readonly model: Model,
    private readonly opts: SchedulerOptions,
  ) {
    if (LIVE.has(model)) {
      throw new Error('EngineScheduler: this model is already served by another scheduler (another createServeApp); close() that one first: one engine, one server');
    }
    LIVE.set(model, this);
  }

  /**
   * Stops taking requests (503), refuses those waiting, waits for the running one, then reverts
   * the applied patch: the model is the base model again and may be served anew.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.queues.values()) for (const w of q) w.cancel(shuttingDown());
    this.queues.clear();
    this.waiting = 0;
    if (this.busy) await new Promise<void>((r) => (this.idle = r));
    if (this.applied) {
      this.applied.revert();
      this.applied = undefined;
      this.current = BASE_MODEL_ID;
    }
    LIVE.delete(this.model);
  }

  /** The patch now in the weights ('base' or `id@hash`). */
  get appliedKey(): string {
    return this.current;
  }

  stats(): { queued: number; busy: boolean; applied: string } {
    return { queued: this.waiting, busy: this.busy, applied: this.current };
  }

  /** Throws the 429 a new request would get now, if the queue is full. */
  checkRoom(): void {
    const max = this.opts.maxQueue ?? 256;
    if (this.waiting >= max) {
      throw new ApiError(429, `The server is busy: ${this.waiting} requests are waiting (the limit is ${max}). Retry later.`, null, 'queue_full');
    }
  }

  /**
   * Runs `job` with `patch` (null: the base model) in the weights and the engine to itself.
   * If `signal` aborts while the request waits, it leaves the queue (AbortedWhileQueued).
   */
  run<T>(patch: ServedPatch | null, signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(shuttingDown());
    try {
      this.checkRoom();
    } catch (e) {
      return Promise.reject(e);
    }
    if (signal?.aborted) return Promise.reject(new AbortedWhileQueued('the client went away before its turn'));
    return new Promise<T>((resolve, reject) => {
      const key = keyOf(patch);
      const onAbort = () => {
        const q = this.queues.get(key);
        const i = q ? q.indexOf(waiter) : -1;
        if (i < 0) return; // already running
        q!.splice(i, 1);
        if (q!.length === 0) this.queues.delete(key);
        this.waiting--;
        reject(new AbortedWhileQueued('the client went away before its turn'));
      };
      const waiter: Waiter = {
        key, patch, seq: this.seq++,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          job().then(resolve, reject).finally(() => {
            this.busy = false;
            this.idle?.();
            this.next();
          });
        },
        cancel: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const q = this.queues.get(key);
      if (q) q.push(waiter);
      else this.queues.set(key, [waiter]);
      this.waiting++;
      this.next();
    });
  }

  private next(): void {
    while (!this.busy && this.waiting > 0) {
      const w = this.pick();
      this.waiting--;
      try {
        this.swapTo(w.key, w.patch);
      } catch (e) {
        w.cancel(e);
        continue;
      }
      this.busy = true;
      w.start();
    }
  }

  /** Takes the next waiter off its queue. */
  private pick(): Waiter {
    const max = this.opts.maxConsecutive ?? 16;
    const mine = this.queues.get(this.current);
    let key: string;
    if (mine && (this.streak < max || this.queues.size === 1)) key = this.current;
    else {
      let oldest: Waiter | undefined;
      for (const [k, q] of this.queues) if (k !== this.current && (!oldest || q[0]!.seq < oldest.seq)) oldest = q[0];
      key = oldest ? oldest.key : this.current;
    }
    const q = this.queues.get(key)!;
    const w = q.shift()!;
    if (q.length === 0) this.queues.delete(key);
    return w;
  }

  /** Puts the weights in the state `key` names: revert the current patch, apply the next. */
  private swapTo(key: string, patch: ServedPatch | null): void {
    if (key === this.current) {
      this.streak++;
      return;
    }
    const t0 = performance.now();
    let xorMicros = 0;
    const from = this.current;
    if (this.applied) {
      xorMicros += this.applied.revert().micros;
      this.applied = undefined;
      this.current = BASE_MODEL_ID;
    }
    if (patch) {
      this.applied = applyPatch(this.model, patch.manifest, { sha256: this.opts.modelSha256, file: patch.file });
      xorMicros += this.applied.micros;
      this.current = key;
    }
    this.streak = 1;
    this.opts.onSwap?.({ from, to: key, xorMicros, millis: performance.now() - t0 });
  }
}
