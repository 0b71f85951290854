import { createHash, randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { open, readdir, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { copyGgufWithEdits, type CopyResult, type TensorByteEdit } from './edit.js';
import { GgufError } from './errors.js';
import { readGguf, type GgufFile } from './reader.js';
import type { ByteSource } from './source.js';
import { writeGguf, type ByteSink, type GgufWriteResult, type GgufWriteSpec } from './writer.js';

// ---------------------------------------------------------------------------------------------
// File edges (node:fs/promises; Deno and Bun provide it too). The core never touches files.
// ---------------------------------------------------------------------------------------------

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

/**
 * A path that cannot be used as asked: missing, a directory where a file is needed, not
 * readable or writable. Names the path, what is wrong and the fix (`code` is the system's:
 * ENOENT, EISDIR, EACCES, ...).
 */
export class FileAccessError extends Error {
  override readonly name = 'FileAccessError';
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly fix: string,
    readonly code?: string,
  ) {
    super(`${file}: ${problem}. Fix: ${fix}`);
  }
}

/** The FileAccessError for a failed open/stat/read of `path` (a system error), else `e` itself. */
export function fileAccessError(path: string, e: unknown, opts: { writing?: boolean; fix?: string } = {}): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return e;
  const fix = opts.fix ?? (opts.writing ? 'choose an output path in a folder you can write' : 'check the path');
  switch (code) {
    case 'ENOENT':
      return new FileAccessError(path, opts.writing ? `cannot write: the folder ${dirname(resolve(path))} does not exist` : 'no such file', opts.writing ? 'create the folder first, or choose another output path' : fix, code);
    case 'EISDIR':
      return new FileAccessError(path, 'is a directory, not a file', opts.fix ?? 'pass the path of a file inside it', code);
    case 'ENOTDIR':
      return new FileAccessError(path, 'a part of the path is a file, not a directory', fix, code);
    case 'EACCES':
    case 'EPERM':
      return new FileAccessError(path, `permission denied (${opts.writing ? 'cannot write' : 'cannot read'})`, opts.writing ? 'choose an output path you may write, or change the permissions' : 'change the file\'s permissions or pass another file', code);
    case 'ELOOP':
      return new FileAccessError(path, 'too many symbolic links', fix, code);
    case 'ENAMETOOLONG':
      return new FileAccessError(path, 'the path is too long', fix, code);
    case 'EMFILE':
    case 'ENFILE':
      return new FileAccessError(path, 'too many open files', 'close other programs or raise the open-file limit (ulimit -n)', code);
    case 'ENOSPC':
      return new FileAccessError(path, 'no space left on the device', 'free some space or write to another disk', code);
    case 'EROFS':
      return new FileAccessError(path, 'the file system is read-only', 'write to another folder', code);
    default:
      return new FileAccessError(path, `cannot ${opts.writing ? 'write' : 'open'} (${(e as Error).message})`, fix, code);
  }
}

/** Stats `path` and checks it is a regular file: a FileAccessError naming the path otherwise. */
export async function statFile(path: string, opts: { fix?: string } = {}): Promise<{ size: number }> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw fileAccessError(path, e, opts);
  }
  if (info.isDirectory()) throw new FileAccessError(path, 'is a directory, not a file', opts.fix ?? 'pass the path of a file inside it', 'EISDIR');
  if (!info.isFile()) throw new FileAccessError(path, 'is not a regular file', opts.fix ?? 'pass the path of a regular file', 'EINVAL');
  return { size: info.size };
}

/** Opens `path` read-only as a ByteSource. Close it when done. A missing path or a directory is
 *  a FileAccessError naming it. */
export async function fileSource(path: string): Promise<FileByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const err = fileAccessError(path, e);
    if (err instanceof FileAccessError) throw new FileAccessError(path, `cannot open: ${err.problem}`, err.fix, err.code);
    throw err;
  }
  const info = await fh.stat();
  if (!info.isFile()) {
    await fh.close();
    throw new FileAccessError(path, `cannot open: ${info.isDirectory() ? 'is a directory, not a file' : 'is not a regular file'}`,
      'pass the path of a file', info.isDirectory() ? 'EISDIR' : 'EINVAL');
  }
  const size = info.size;
  return {
    name: path,
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new RangeError(`${path}: read [${offset}, ${offset + length}) is outside 0..${size}`);
      }
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) throw new GgufError(`${path}: file shrank while reading at byte ${offset + got}`, path, offset + got);
        got += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}

/** Reads the header of a file (the file is closed again). */
export async function readGgufFile(path: string): Promise<GgufFile> {
  const src = await fileSource(path);
  try {
    return await readGguf(src);
  } finally {
    await src.close();
  }
}

export interface AtomicFileSink extends ByteSink {
  /** The temporary path being written. */
  readonly tempPath: string;
  /** Flushes, closes and renames the temp file onto the target path. */
  commit(): Promise<void>;
  /** Closes and deletes the temp file. */
  abort(): Promise<void>;
}

// ---- temp files of atomic writes -------------------------------------------------------------
// A write goes to `.NAME.<pid>.<8 hex>.tmp` beside the target and is renamed onto it when whole.
// While one is pending, SIGINT / SIGTERM (unless another handler takes them) and exit remove it,
// and the signal then does what it would have done; a temp file whose writer died without that chance (SIGKILL, power loss) is swept
// by the next write to the same target once its pid is gone.

const pendingTemps = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function tempPattern(target: string): RegExp {
  const name = basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${name}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // only "no such process" means dead: EPERM is another user's live process, and a runtime
    // that cannot ask must not have a live writer's file deleted
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes the temp files of atomic writes to `target` left by processes that no longer run;
 *  returns their paths. Temp files of live processes (this one included) are left alone. */
export async function sweepStaleTempFiles(target: string): Promise<string[]> {
  const dir = dirname(resolve(target));
  const pattern = tempPattern(target);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const path = join(dir, name);
    if (await unlink(path).then(() => true, () => false)) removed.push(path);
  }
  return removed;
}

/** Deletes every temp file this process is writing now (synchronously; for signal and exit
 *  handlers). Returns their paths. */
export function removePendingTempFiles(): string[] {
  const removed: string[] = [];
  for (const path of pendingTemps) {
    try {
      unlinkSync(path);
      removed.push(path);
    } catch {
      // already gone
    }
  }
  pendingTemps.clear();
  unwatchSignals();
  return removed;
}

function onSignal(signal: NodeJS.Signals): void {
  // another handler takes the signal (a search that stops after its step): the process goes on,
  // and so does the write; if that handler exits, the exit handler removes the file
  if (process.listenerCount(signal) > 1) return;
  removePendingTempFiles(); // unwatches too: re-raised, the signal now does what it would have done
  process.kill(process.pid, signal);
}
const onExit = (): void => {
  removePendingTempFiles();
};

let watching = false;
function watchSignals(): void {
  if (watching) return;
  watching = true;
  try {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on('exit', onExit);
  } catch {
    // a runtime without process signals: the sweep still removes stale files later
  }
}
function unwatchSignals(): void {
  if (!watching) return;
  watching = false;
  try {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', onExit);
  } catch {
    // see watchSignals
  }
}

function tempDone(path: string): void {
  pendingTemps.delete(path);
  if (pendingTemps.size === 0) unwatchSignals();
}

/** A sink writing to a temp file beside `path`; commit() renames it into place. Stale temp
 *  files of dead writers to the same path are swept first; this one is removed on SIGINT,
 *  SIGTERM and exit until it is committed or aborted. */
export async function fileSink(path: string): Promise<AtomicFileSink> {
  const target = resolve(path);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new FileAccessError(path, 'is a directory', 'choose an output file path, not a folder', 'EISDIR');
  await sweepStaleTempFiles(target);
  const tempPath = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // watched before it exists: a signal between its creation and the first write removes it too
  pendingTemps.add(tempPath);
  watchSignals();
  let fh: FileHandle;
  try {
    fh = await open(tempPath, 'wx');
  } catch (e) {
    tempDone(tempPath);
    throw fileAccessError(path, e, { writing: true });
  }
  let pos = 0;
  let closed = false;
  return {
    tempPath,
    async write(bytes: Uint8Array): Promise<void> {
      let done = 0;
      while (done < bytes.length) {
        let bytesWritten: number;
        try {
          ({ bytesWritten } = await fh.write(bytes, done, bytes.length - done, pos));
        } catch (e) {
          throw fileAccessError(path, e, { writing: true });
        }
        done += bytesWritten;
        pos += bytesWritten;
      }
    },
    async commit(): Promise<void> {
      await fh.sync();
      await fh.close();
      closed = true;
      try {
        await rename(tempPath, target);
      } catch (e) {
        throw fileAccessError(path, e, { writing: true, fix: 'choose an output path that is not a directory' });
      }
      tempDone(tempPath);
    },
    async abort(): Promise<void> {
      if (!closed) await fh.close().catch(() => {});
      closed = true;
      await unlink(tempPath).catch(() => {});
      tempDone(tempPath);
    },
  };
}

/** An output path that already holds a file (outputs never replace files unless asked). */
export class FileExistsError extends Error {
  override readonly name = 'FileExistsError';
  constructor(readonly file: string) {
    super(`${file}: file exists. Fix: choose another output path, or pass overwrite (--overwrite) to replace it`);
  }
}

/**
 * Writes bytes or UTF-8 text atomically: a temp file beside `path`, synced, then renamed, so a
 * killed writer leaves no half-written file and a replaced file stays whole until the new one is.
 * Refuses to replace an existing file unless `overwrite`.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: { overwrite?: boolean } = {}): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new FileAccessError(path, 'is a directory', 'choose an output file path, not a folder', 'EISDIR');
  if (!opts.overwrite && existing) throw new FileExistsError(path);
  const sink = await fileSink(path);
  try {
    await sink.write(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

/** sha256 of a file, hex, read in 4 MiB chunks (the fingerprint model hubs publish). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await statFile(path);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileAccessError(path, e);
  }
  try {
    const buf = new Uint8Array(4 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** Writes a GGUF file atomically (temp file + rename); on error nothing is left behind. */
export async function writeGgufFile(path: string, spec: GgufWriteSpec): Promise<GgufWriteResult> {
  const sink = await fileSink(path);
  try {
    const result = await writeGguf(sink, spec);
    await sink.commit();
    return result;
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

async function samePath(a: string, b: string): Promise<boolean> {
  const ra = await realpath(a).catch(() => resolve(a));
  const rb = await realpath(b).catch(() => resolve(b));
  return ra === rb;
}

/**
 * Copies `srcPath` to `dstPath` with tensor byte ranges replaced (header untouched), atomically.
 * Refuses to write over the source: never modify a user's file in place.
 */
export async function copyGgufFileWithEdits(
  srcPath: string, edits: readonly TensorByteEdit[], dstPath: string,
): Promise<CopyResult> {
  if (await samePath(srcPath, dstPath)) {
    throw new GgufError(`${dstPath}: output is the input file. Write the edited model to a new path`, dstPath);
  }
  const src = await fileSource(srcPath);
  try {
    // (a sink that cannot be opened, e.g. a missing folder, must not leave the source open)
    const sink = await fileSink(dstPath);
    try {
      const result = await copyGgufWithEdits(src, edits, sink);
      await sink.commit();
      return result;
    } catch (e) {
      await sink.abort();
      throw e;
    }
  } finally {
    await src.close();
  }
}
