import { createHash, randomBytes } from 'node:crypto';
import { open, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
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

/** Opens `path` read-only as a ByteSource. Close it when done. */
export async function fileSource(path: string): Promise<FileByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new GgufError(`${path}: cannot open (${(e as Error).message}). Check the path`, path);
  }
  const size = (await fh.stat()).size;
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

/** A sink writing to a temp file beside `path`; commit() renames it into place. */
export async function fileSink(path: string): Promise<AtomicFileSink> {
  const target = resolve(path);
  const tempPath = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tempPath, 'wx');
  let pos = 0;
  let closed = false;
  return {
    tempPath,
    async write(bytes: Uint8Array): Promise<void> {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    },
    async commit(): Promise<void> {
      await fh.sync();
      await fh.close();
      closed = true;
      await rename(tempPath, target);
    },
    async abort(): Promise<void> {
      if (!closed) await fh.close().catch(() => {});
      closed = true;
      await unlink(tempPath).catch(() => {});
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
  if (!opts.overwrite && (await stat(path).then(() => true, () => false))) throw new FileExistsError(path);
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
  const fh = await open(path, 'r');
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
  const sink = await fileSink(dstPath);
  try {
    const result = await copyGgufWithEdits(src, edits, sink);
    await sink.commit();
    return result;
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    await src.close();
  }
}
