// File edges of the search: the checkpoint log (JSON lines, appended and fsynced every step).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import type { CheckpointRecord, CheckpointSink } from './search.js';
import { StrategyError } from './strategy.js';

export function checkpointPath(outPath: string): string {
  return `${outPath}.log.jsonl`;
}

/** Records of a checkpoint log; a torn last line (killed mid-write) is ignored. */
export function readCheckpoint(path: string): CheckpointRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: CheckpointRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as CheckpointRecord);
    } catch {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== '')) {
        throw new StrategyError(`${path}: line ${i + 1} is not JSON; the checkpoint log is damaged (delete it to start over)`);
      }
    }
  });
  return out;
}

/** Appends records durably. `fresh` truncates an existing log (a new search). The file is
 *  opened at the first record, so a search stopped before it leaves no empty log behind; a
 *  resumed log first loses a torn last line (killed mid-write), so the records appended after it
 *  stay readable. */
export function fileCheckpoint(path: string, opts: { fresh: boolean }): CheckpointSink & { close(): void } {
  let fd: number | undefined;
  return {
    append(record) {
      if (fd === undefined && !opts.fresh && existsSync(path)) {
        const text = readFileSync(path, 'utf8');
        if (text.length > 0 && !text.endsWith('\n')) truncateSync(path, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
      }
      fd ??= openSync(path, opts.fresh ? 'w' : 'a');
      writeSync(fd, JSON.stringify(record) + '\n');
      fsyncSync(fd);
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
