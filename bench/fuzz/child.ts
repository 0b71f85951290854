// One fuzz child process: runs inputs [from, from + count) of one reader and reports each one to
// the parent, which kills the child when an input hangs, notices when it dies (out of memory),
// and starts a new one after that input. A child process, not a worker thread: a heap that
// blows up must take down only the child.
import { inputRng, kindOf, makeInput, runInput, type ReaderName } from './readers.js';

const { reader, seed, from, count, simulateHang } = JSON.parse(process.argv[2]!) as {
  reader: ReaderName; seed: number; from: number; count: number; simulateHang?: number;
};
const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

for (let index = from; index < from + count; index++) {
  await send({ type: 'begin', index });
  const bytes = await makeInput(seed, reader, index);
  if (index === simulateHang) for (;;); // --simulate-hang: checks the watchdog itself
  const t0 = performance.now();
  const r = await runInput(reader, bytes, inputRng(seed, reader, index + 0x40000000));
  const ms = performance.now() - t0;
  const m = process.memoryUsage();
  await send({
    type: 'input', index, outcome: r.outcome, ms, heap: m.heapUsed + m.arrayBuffers, rss: m.rss,
    ...(r.outcome === 'typed' ? { kind: kindOf(r.error!) } : {}),
    ...(r.outcome === 'raw' ? { error: r.error, stack: r.stack } : {}),
  });
}
await send({ type: 'done' });
process.disconnect();
