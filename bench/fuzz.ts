// Fuzz suite (not a test; a seeded slice of it runs in CI: test/fuzz.test.ts): mutated GGUF
// files, patch JSON, binary .bkp patches and probe files against every reader of the project
// (the engine component's too, differentially against @bankai/model).
// Every malformed input must end in one of the project's typed errors: a raw JS error (a
// TypeError, a stack overflow, an untyped RangeError), a hang or a child out of memory is a bug.
//
// Each reader runs in a child process with a heap limit (--heap-mb); the parent watches it and,
// when an input takes longer than --hang-ms or kills the child (out of memory), counts a hang or
// an OOM and goes on after that input in a new child.
// See bench/fuzz/readers.ts for the readers, their seeds and the mutations.
//
// Usage: npx tsx bench/fuzz.ts [--inputs 100000] [--seed 1] [--readers gguf,patch,bkp,probes,component]
//          [--from 0] [--hang-ms 10000] [--heap-mb 512] [--parallel 1] [--json] [--save DIR]
// --inputs is the total, split evenly over the readers; --from/--inputs 1 with one reader
// reproduces one input; --save writes every input that ends in a raw error, a hang or OOM to DIR;
// --simulate-hang N makes input N loop forever (a check of the watchdog: it must report 1 hang).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { helpAndExit } from './usage.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { READERS, emptyStats, makeInput, type ReaderName, type SliceStats } from './fuzz/readers.js';

helpAndExit(import.meta.url);
const { values: args } = parseArgs({
  options: {
    inputs: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    readers: { type: 'string', default: READERS.join(',') },
    from: { type: 'string', default: '0' },
    'hang-ms': { type: 'string', default: '10000' },
    'heap-mb': { type: 'string', default: '512' },
    parallel: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    save: { type: 'string' },
    'simulate-hang': { type: 'string' },
  },
});

const readers = args.readers.split(',').map((r) => r.trim()) as ReaderName[];
for (const r of readers) if (!READERS.includes(r)) throw new Error(`--readers: unknown reader "${r}" (${READERS.join(', ')})`);
const total = Number(args.inputs);
const perReader = Math.ceil(total / readers.length);
const seed = Number(args.seed);
const from = Number(args.from);
const hangMs = Number(args['hang-ms']);
const heapMb = Number(args['heap-mb']);

interface ReaderReport extends SliceStats {
  hangs: number[];
  oom: number[];
  crashes: { index: number; error: string }[];
  seconds: number;
  peakRssBytes: number;
}

async function save(reader: ReaderName, index: number, why: string): Promise<void> {
  if (!args.save) return;
  mkdirSync(args.save, { recursive: true });
  writeFileSync(join(args.save, `${reader}-${seed}-${index}.${why}.${reader === 'gguf' ? 'gguf' : reader === 'bkp' ? 'bkp' : reader === 'component' ? 'bin' : 'json'}`), await makeInput(seed, reader, index));
}

/** Runs inputs [start, end) of one reader in child processes, starting a new one after an input
 *  that hangs or kills its process. */
async function fuzzReader(reader: ReaderName, start: number, end: number): Promise<ReaderReport> {
  const report: ReaderReport = { ...emptyStats(reader), hangs: [], oom: [], crashes: [], seconds: 0, peakRssBytes: 0 };
  const t0 = performance.now();
  let next = start;
  while (next < end) {
    // resolves with the input the child died on, or undefined when it ran to the end
    const died = await new Promise<{ index: number; why: 'hang' | 'oom' | 'crash'; error?: string } | undefined>((resolve) => {
      const job = { reader, seed, from: next, count: end - next, simulateHang: args['simulate-hang'] === undefined ? undefined : Number(args['simulate-hang']) };
      const child = fork(fileURLToPath(new URL('./fuzz/child-boot.mjs', import.meta.url)), [JSON.stringify(job)], {
        execArgv: [`--max-old-space-size=${heapMb}`], stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      let current = next; // the input being run now
      let started = false;
      let finished = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          finished = true;
          child.kill('SIGKILL');
          resolve({ index: current, why: 'hang' });
        }, hangMs);
      };
      arm();
      child.on('message', (m: InputMessage) => {
        if (m.type === 'begin') {
          current = m.index;
          started = true;
          return;
        }
        if (m.type === 'done') {
          finished = true;
          clearTimeout(timer);
          resolve(undefined);
          return;
        }
        count(report, m);
        report.peakRssBytes = Math.max(report.peakRssBytes, m.rss);
        arm();
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (finished) return;
        if (!started) {
          // the harness itself failed (the child never reached an input): stop, count nothing
          process.stderr.write(`fuzz: the ${reader} child failed to start (exit ${code ?? signal}):\n${stderr}\n`);
          process.exit(2);
        }
        const oom = /heap out of memory|Allocation failed/.test(stderr);
        resolve({ index: current, why: oom ? 'oom' : 'crash', error: `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
      });
    });
    if (!died) break;
    report.inputs++;
    if (died.why === 'hang') report.hangs.push(died.index);
    else if (died.why === 'oom') report.oom.push(died.index);
    else report.crashes.push({ index: died.index, error: died.error ?? '' });
    await save(reader, died.index, died.why);
    next = died.index + 1;
  }
  for (const e of report.rawErrors) await save(reader, e.index, 'raw');
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

type InputMessage =
  | { type: 'begin'; index: number }
  | { type: 'done' }
  | { type: 'input'; index: number; outcome: 'ok' | 'typed' | 'raw'; ms: number; heap: number; rss: number; kind?: string; error?: string; stack?: string };

function count(into: ReaderReport, m: Extract<InputMessage, { type: 'input' }>): void {
  into.inputs++;
  into[m.outcome]++;
  if (m.outcome === 'raw' && into.rawErrors.length < 20) into.rawErrors.push({ index: m.index, error: m.error!, stack: m.stack });
  if (m.kind) into.typedKinds[m.kind] = (into.typedKinds[m.kind] ?? 0) + 1;
  if (m.ms > into.slowestMs) {
    into.slowestMs = m.ms;
    into.slowestIndex = m.index;
  }
  into.peakBytes = Math.max(into.peakBytes, m.heap);
}

const parallel = Math.max(1, Number(args.parallel));
const queue = [...readers];
const reports: ReaderReport[] = [];
await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, async () => {
  for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
    if (!args.json) process.stderr.write(`fuzzing ${r}: inputs ${from}..${from + perReader - 1} (seed ${seed})\n`);
    reports.push(await fuzzReader(r, from, from + perReader));
  }
}));
reports.sort((a, b) => readers.indexOf(a.reader) - readers.indexOf(b.reader));

const mib = (b: number) => (b / 2 ** 20).toFixed(0);
if (args.json) {
  process.stdout.write(JSON.stringify({ seed, from, inputsPerReader: perReader, hangMs, heapMb, readers: reports }, null, 2) + '\n');
} else {
  const sum = (f: (r: ReaderReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  console.log(`\nfuzz: seed ${seed}, inputs ${from}..${from + perReader - 1} per reader, hang = no answer in ${hangMs} ms, heap limit ${heapMb} MiB`);
  console.log('reader   inputs   accepted   typed errors   raw errors   hangs   out of memory   peak heap+buffers   peak RSS   slowest input   inputs/s');
  for (const r of reports) {
    console.log(`${r.reader.padEnd(8)} ${String(r.inputs).padStart(6)}   ${String(r.ok).padStart(8)}   ${String(r.typed).padStart(12)}   ${String(r.raw + r.crashes.length).padStart(10)}   ${String(r.hangs.length).padStart(5)}   ${String(r.oom.length).padStart(13)}   ${`${mib(r.peakBytes)} MiB`.padStart(17)}   ${`${mib(r.peakRssBytes)} MiB`.padStart(8)}   ${`${r.slowestMs.toFixed(0)} ms (#${r.slowestIndex})`.padStart(13)}   ${(r.inputs / r.seconds).toFixed(0).padStart(8)}`);
  }
  console.log(`all      ${String(sum((r) => r.inputs)).padStart(6)}   ${String(sum((r) => r.ok)).padStart(8)}   ${String(sum((r) => r.typed)).padStart(12)}   ${String(sum((r) => r.raw + r.crashes.length)).padStart(10)}   ${String(sum((r) => r.hangs.length)).padStart(5)}   ${String(sum((r) => r.oom.length)).padStart(13)}`);
  for (const r of reports) {
    for (const e of r.rawErrors) console.log(`RAW   ${r.reader} #${e.index}: ${e.error}\n      ${e.stack?.split('\n').slice(1, 4).map((l) => l.trim()).join(' <- ') ?? ''}`);
    for (const e of r.crashes) console.log(`CRASH ${r.reader} #${e.index}: ${e.error.split('\n')[0]}`);
    for (const i of r.hangs) console.log(`HANG  ${r.reader} #${i}`);
    for (const i of r.oom) console.log(`OOM   ${r.reader} #${i}`);
    const kinds = Object.entries(r.typedKinds).sort((a, b) => b[1] - a[1]);
    console.log(`${r.reader}: ${kinds.length} kinds of typed error; most common: ${kinds.slice(0, 6).map(([k, v]) => `${k} (${v})`).join('; ')}`);
  }
}
const bad = reports.reduce((n, r) => n + r.raw + r.crashes.length + r.hangs.length + r.oom.length, 0);
process.exitCode = bad === 0 ? 0 : 1;
