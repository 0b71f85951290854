// What a server has done since it started: requests by route and status, tokens in and out,
// generation speed, patch swaps and their time. snapshot() is the data; formatPrometheus() is the
// text `/metrics` serves (Prometheus' text exposition format).

import type { SwapRecord } from './scheduler.js';

export interface MetricsSnapshot {
  uptimeSeconds: number;
  requests: { total: number; byRoute: Record<string, Record<string, number>>; clientsGone: number };
  tokens: { prompt: number; completion: number };
  /** Seconds the engine spent on requests (prefill and decoding; queueing and swaps excluded). */
  generationSeconds: number;
  /** completion tokens / generationSeconds. */
  tokensPerSecond: number;
  swaps: { count: number; xorMicrosTotal: number; xorMicrosMean: number; millisTotal: number; millisMean: number; millisMax: number; last?: SwapRecord };
  queue: { waiting: number; busy: boolean; applied: string };
  patches: { served: number; refused: number; reloads: number };
}

export class ServeMetrics {
  private readonly started = performance.now();
  private readonly byRoute = new Map<string, Map<number, number>>();
  private clientsGone = 0;
  private promptTokens = 0;
  private completionTokens = 0;
  private generationSeconds = 0;
  private swaps = 0;
  private xorMicros = 0;
  private swapMillis = 0;
  private swapMillisMax = 0;
  private lastSwap: SwapRecord | undefined;
  reloads = 0;

  request(route: string, status: number): void {
    const m = this.byRoute.get(route) ?? new Map<number, number>();
    m.set(status, (m.get(status) ?? 0) + 1);
    this.byRoute.set(route, m);
  }

  clientGone(): void {
    this.clientsGone++;
  }

  generation(promptTokens: number, completionTokens: number, seconds: number): void {
    this.promptTokens += promptTokens;
    this.completionTokens += completionTokens;
    this.generationSeconds += seconds;
  }

  swap(s: SwapRecord): void {
    this.swaps++;
    this.xorMicros += s.xorMicros;
    this.swapMillis += s.millis;
    this.swapMillisMax = Math.max(this.swapMillisMax, s.millis);
    this.lastSwap = s;
  }

  snapshot(queue: MetricsSnapshot['queue'], patches: Omit<MetricsSnapshot['patches'], 'reloads'>): MetricsSnapshot {
    const byRoute: Record<string, Record<string, number>> = {};
    let total = 0;
    for (const [route, m] of this.byRoute) {
      byRoute[route] = Object.fromEntries([...m].map(([s, n]) => [String(s), n]));
      for (const n of m.values()) total += n;
    }
    return {
      uptimeSeconds: (performance.now() - this.started) / 1000,
      requests: { total, byRoute, clientsGone: this.clientsGone },
      tokens: { prompt: this.promptTokens, completion: this.completionTokens },
      generationSeconds: this.generationSeconds,
      tokensPerSecond: this.generationSeconds > 0 ? this.completionTokens / this.generationSeconds : 0,
      swaps: {
        count: this.swaps, xorMicrosTotal: this.xorMicros, xorMicrosMean: this.swaps ? this.xorMicros / this.swaps : 0,
        millisTotal: this.swapMillis, millisMean: this.swaps ? this.swapMillis / this.swaps : 0, millisMax: this.swapMillisMax,
        ...(this.lastSwap ? { last: this.lastSwap } : {}),
      },
      queue,
      patches: { ...patches, reloads: this.reloads },
    };
  }
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(6));

/** The snapshot in Prometheus' text format (metric names prefixed `bankai_`). */
export function formatPrometheus(s: MetricsSnapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
    lines.push(`# HELP bankai_${name} ${help}`, `# TYPE bankai_${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`bankai_${name}${labels} ${num(v)}`);
  };
  const reqs: [string, number][] = [];
  for (const [route, m] of Object.entries(s.requests.byRoute)) for (const [status, n] of Object.entries(m)) reqs.push([`{route="${route}",status="${status}"}`, n]);
  metric('requests_total', 'counter', 'HTTP requests by route and status.', reqs);
  metric('clients_gone_total', 'counter', 'Requests whose client disconnected before the reply was complete.', [['', s.requests.clientsGone]]);
  metric('prompt_tokens_total', 'counter', 'Prompt tokens processed.', [['', s.tokens.prompt]]);
  metric('completion_tokens_total', 'counter', 'Tokens generated.', [['', s.tokens.completion]]);
  metric('generation_seconds_total', 'counter', 'Engine seconds spent on requests (prefill and decoding).', [['', s.generationSeconds]]);
  metric('tokens_per_second', 'gauge', 'Generated tokens per engine second since start.', [['', s.tokensPerSecond]]);
  metric('patch_swaps_total', 'counter', 'Patch swaps (revert the current patch, apply the next).', [['', s.swaps.count]]);
  metric('patch_swap_xor_microseconds_total', 'counter', 'Microseconds of XOR in patch swaps.', [['', s.swaps.xorMicrosTotal]]);
  metric('patch_swap_seconds_total', 'counter', 'Seconds of patch swaps, validation included.', [['', s.swaps.millisTotal / 1000]]);
  metric('patch_swap_seconds_max', 'gauge', 'Longest patch swap, validation included.', [['', s.swaps.millisMax / 1000]]);
  metric('queue_waiting', 'gauge', 'Requests waiting for the engine.', [['', s.queue.waiting]]);
  metric('patches_served', 'gauge', 'Patches offered.', [['', s.patches.served]]);
  metric('patches_refused', 'gauge', 'Patch files refused.', [['', s.patches.refused]]);
  metric('patch_reloads_total', 'counter', 'Rescans of the patch folder.', [['', s.patches.reloads]]);
  metric('uptime_seconds', 'gauge', 'Seconds since the server started.', [['', s.uptimeSeconds]]);
  return lines.join('\n') + '\n';
}
