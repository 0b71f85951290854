// The same packages on Node, Deno and Bun: each runtime (the binaries from the installed npm
// packages, offline; inside `unshare -rn` where the host allows it) runs test/embedding/tiny-run.mjs on the shipped tiny model, which loads the
// core wasm, scores a fixed token sequence (full log-softmax rows), generates greedily and with
// seeded sampling (also from a chat-template prompt), and runs a
// short search on 2 piscina workers over the shared WebAssembly.Memory. Deno and Bun must print
// what Node prints: the same bits for log-probs, the same generations, the same patch.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeF32Diff, f32FromBase64, maxUlpDistance, ulpDistance } from './embedding/compare.js';
import { noNetworkPrefix, runtime, unsupported, type RuntimeName } from './embedding/runtimes.js';

const SCRIPT = fileURLToPath(new URL('./embedding/tiny-run.mjs', import.meta.url));
const SERVE_SCRIPT = fileURLToPath(new URL('./embedding/serve-run.mjs', import.meta.url));
const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));

interface Flip { tensor: string; row: number; group?: number }
interface PartError { error: string; stack: string }
interface RunOutput {
  runtime: { name: string; version: string; v8?: string; engineVariant?: string };
  seconds: Record<string, number>;
  load?: PartError;
  logprobs?: { tokens: number[]; vocab: number; logits: string; logprobs: string; next: number[] } & Partial<PartError>;
  generations?: { prompt: string; text: string; tokens: number[] }[] & Partial<PartError>;
  search?: SearchOutput;
  guided?: SearchOutput;
}

type SearchOutput = {
  workers: number; flips: Flip[]; fitness: number; targetGain: number; controlLoss: number;
  history: { iteration: number; flips: Flip[]; fitness: number }[]; evaluations: number;
  baseGaps: number[]; finalGaps: number[];
} & Partial<PartError>;

interface Run<T = RunOutput> { output?: T; failure?: string; wallSeconds: number }

/** serve-run.mjs: the @bankai/serve fetch handler in process. */
interface ServeOutput { greedy: string; sampled: string; chatStream: string; error: { status: number; body: string } }

const RUNTIMES: RuntimeName[] = ['node', 'deno', 'bun'];
const OTHERS = RUNTIMES.filter((r) => r !== 'node');
const runs = new Map<RuntimeName, Run>();
const serveRuns = new Map<RuntimeName, Run<ServeOutput>>();
let denoDir: string;
/** `unshare -rn` where the host allows it: a runtime that tried to download anything would fail. */
let offline: string[] | undefined;

/** Runs the script under `name`; a crash or unparsable output becomes `failure` (with stderr). */
function runIn<T = RunOutput>(name: RuntimeName, script = SCRIPT, scriptArgs = ['--workers=2']): Promise<Run<T>> {
  const rt = runtime(name);
  const t0 = performance.now();
  const [cmd, ...args] = [...(offline ?? []), rt.bin, ...rt.argv(script, scriptArgs)];
  return new Promise((resolve) => {
    execFile(cmd!, args, {
      cwd: TEST_DIR,
      env: { ...process.env, ...rt.env, DENO_DIR: denoDir },
      maxBuffer: 1 << 27,
      timeout: 240_000,
    }, (err, stdout, stderr) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        if (err) throw err;
        resolve({ output: JSON.parse(last) as T, wallSeconds });
      } catch (e) {
        resolve({ failure: `${[cmd, ...args].join(' ')}: ${(e as Error).message}\nstderr: ${stderr.slice(-4000)}`, wallSeconds });
      }
    });
  });
}

beforeAll(async () => {
  denoDir = mkdtempSync(join(tmpdir(), 'bankai-deno-dir-'));
  offline = noNetworkPrefix();
  // one at a time: the machine's cores are shared, and each run starts 2 workers of its own
  for (const name of RUNTIMES) if (!unsupported(name)) runs.set(name, await runIn(name));
  for (const name of RUNTIMES) if (!unsupported(name)) serveRuns.set(name, await runIn<ServeOutput>(name, SERVE_SCRIPT, []));
}, 600_000);

afterAll(() => {
  const rows = [...runs].map(([name, r]) => {
    const o = r.output;
    if (!o) return `${name}: failed`;
    const parts = Object.entries(o.seconds).map(([k, s]) => `${k} ${s.toFixed(3)}s`).join(', ');
    return `${name} ${o.runtime.version}${o.runtime.v8 ? ` (V8 ${o.runtime.v8})` : ''}, engine ${o.runtime.engineVariant}: ` +
      `${parts}; process ${r.wallSeconds.toFixed(2)}s`;
  });
  console.info(`embedding runs (${offline ? 'without network: unshare -rn' : 'network not isolated'}):\n  ${rows.join('\n  ')}`);
  rmSync(denoDir, { recursive: true, force: true });
});

type CompleteOutput = RunOutput & Required<Pick<RunOutput, 'logprobs' | 'generations' | 'search' | 'guided'>>;

/** The run's output with every part present and error-free; otherwise fails naming the part. */
function output(name: RuntimeName): CompleteOutput {
  const r = runs.get(name);
  if (!r) throw new Error(`${name} was not run`);
  if (r.failure) throw new Error(`${name} failed: ${r.failure}`);
  const o = r.output!;
  for (const part of ['load', 'logprobs', 'generations', 'search', 'guided'] as const) {
    const p = o[part] as Partial<PartError> | undefined;
    if (p?.error) throw new Error(`${name}: part "${part}" threw ${p.error}\n${p.stack}`);
  }
  for (const part of ['logprobs', 'generations', 'search', 'guided'] as const) {
    if (o[part] === undefined) throw new Error(`${name}: no "${part}" in the output`);
  }
  return o as CompleteOutput;
}

describe.each(RUNTIMES)('%s', (name) => {
  const skip = unsupported(name);
  it.skipIf(skip)(`runs the tiny model: load, log-probs, generation and a 2-worker search${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const o = output(name);
    expect(o.runtime.name).toBe(name);
    // the outputs are not empty or degenerate, so equality between runtimes means something
    const { tokens, vocab } = o.logprobs;
    const lp = f32FromBase64(o.logprobs.logprobs);
    expect(lp.length).toBe(tokens.length * vocab);
    for (let i = 0; i < tokens.length; i++) {
      let sum = 0;
      for (let k = 0; k < vocab; k++) sum += Math.exp(lp[i * vocab + k]!);
      expect(sum).toBeCloseTo(1, 4);
    }
    expect(o.generations.length).toBeGreaterThan(0);
    for (const g of o.generations) expect(g.tokens.length).toBeGreaterThan(0);
    for (const search of [o.search, o.guided]) {
      expect(search.workers).toBe(2);
      expect(search.flips.length).toBeGreaterThan(0);
      expect(search.fitness).toBeGreaterThan(0);
    }
  });
});

describe.each(OTHERS)('%s against node', (name) => {
  const skip = unsupported(name);
  const why = skip ? ` (skipped: ${skip})` : '';

  it.skipIf(skip)(`bit-identical logits and log-probs of a fixed token sequence (full rows)${why}`, () => {
    const [a, b] = [output('node').logprobs, output(name).logprobs];
    expect(b.tokens).toEqual(a.tokens);
    expect(b.vocab).toBe(a.vocab);
    expect(describeF32Diff(f32FromBase64(a.logits), f32FromBase64(b.logits), a.vocab), 'logits (from the engine)').toBeUndefined();
    expect(describeF32Diff(f32FromBase64(a.logprobs), f32FromBase64(b.logprobs), a.vocab), 'log-probs').toBeUndefined();
  });

  it.skipIf(skip)(`identical greedy and seeded sampled generations, and the chat template${why}`, () => {
    expect(output(name).generations).toEqual(output('node').generations);
  });

  it.skipIf(skip).each(['search', 'guided'] as const)(`the same %s result: flips, the iterations that accepted them, evaluation count${why}`, (part) => {
    const [a, b] = [output('node')[part], output(name)[part]];
    expect(b.flips).toEqual(a.flips);
    expect(b.history.map((h) => [h.iteration, h.flips])).toEqual(a.history.map((h) => [h.iteration, h.flips]));
    expect(b.evaluations).toBe(a.evaluations);
  });

  // The gaps are sums of f64 log-probs computed in JS. Math.exp / Math.log differ in the last bit
  // between V8 11 (Node 20), V8 15 (Deno 2.9) and JavaScriptCore (Bun), so logSumExp uses the
  // portable exp/log of @bankai/model (IEEE basic operations only): the numbers agree to the bit.
  it.skipIf(skip).each(['search', 'guided'] as const)(`bit-identical %s fitness and gaps${why}`, (part) => {
    const [a, b] = [output('node')[part], output(name)[part]];
    const ulps = (x: number[], y: number[]) => x.flatMap((v, i) => (ulpDistance(v, y[i]!) ? [`[${i}] ${ulpDistance(v, y[i]!)} ulps`] : []));
    expect(maxUlpDistance(a.baseGaps, b.baseGaps), `baseGaps ${ulps(a.baseGaps, b.baseGaps).join(', ')}`).toBe(0);
    expect(maxUlpDistance(a.finalGaps, b.finalGaps), `finalGaps ${ulps(a.finalGaps, b.finalGaps).join(', ')}`).toBe(0);
    expect([b.fitness, ...b.history.map((h) => h.fitness)]).toEqual([a.fitness, ...a.history.map((h) => h.fitness)]);
  });
});

describe('comparison helpers', () => {
  it('describeF32Diff finds a single flipped low bit and names its row and column', () => {
    const a = Float32Array.from({ length: 12 }, (_, i) => Math.fround(-i / 7));
    const b = a.slice();
    expect(describeF32Diff(a, b, 4)).toBeUndefined();
    new Uint32Array(b.buffer)[9]! ^= 1;
    expect(describeF32Diff(a, b, 4)).toMatch(/^1 of 12 floats differ \(1 bits flipped\); worst at row 2 col 1: /);
  });

  it('ulpDistance counts representable doubles between two numbers, across zero', () => {
    const up = new Float64Array([1]);
    new BigInt64Array(up.buffer)[0]! += 3n;
    expect(ulpDistance(1, up[0]!)).toBe(3);
    expect(ulpDistance(0, -0)).toBe(0);
    expect(ulpDistance(Number.MIN_VALUE, -Number.MIN_VALUE)).toBe(2);
    expect(maxUlpDistance([1, 2], [1, 2])).toBe(0);
  });
});

describe.each(OTHERS)('%s serves as node does', (name) => {
  const skip = unsupported(name);
  it.skipIf(skip)(`the @bankai/serve fetch handler: greedy, seeded sampled and streamed chat replies, errors${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const get = (n: RuntimeName) => {
      const r = serveRuns.get(n)!;
      if (r.failure) throw new Error(`${n} failed: ${r.failure}`);
      return r.output!;
    };
    const node = get('node');
    expect(node.greedy.length).toBeGreaterThan(0);
    expect(node.chatStream).toMatch(/data: \[DONE\]/);
    expect(node.error.status).toBe(404);
    expect(get(name)).toEqual(node);
  });
});
