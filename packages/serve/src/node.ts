// @bankai/serve/node: the server on Node (and Deno/Bun through node: compatibility): load the
// model file, read the patch folder (and watch it), listen on a port with @hono/node-server.

import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve as listen, type ServerType } from '@hono/node-server';
import { fileSource, sha256File } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { createServeApp, type ServeApp, type ServeDefaults, type ServeHooks } from './app.js';
import { PatchLibrary, patchIdOf, type LibraryChange, type PatchFile } from './patches.js';

/** A problem with how the server was started: names the option and the fix. */
export class ServeConfigError extends Error {
  override name = 'ServeConfigError';
  constructor(
    readonly option: string,
    problem: string,
    readonly fix: string,
  ) {
    super(`${option}: ${problem}. Fix: ${fix}`);
  }
}

/** Largest file read from the patch folder (a million flips in JSON is ~50 MB). */
const MAX_PATCH_FILE_BYTES = 256 << 20;

/** The patch files of a folder (`*.json`, `*.bkp`; hidden files and everything else skipped). */
export async function readPatchFolder(dir: string): Promise<PatchFile[]> {
  const names = (await readdir(dir)).filter((n) => patchIdOf(n) !== undefined).sort();
  const files: PatchFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (!info.isFile()) continue;
      // too large to be a patch: an empty file is refused with the parse error, naming it
      files.push({ name, bytes: info.size > MAX_PATCH_FILE_BYTES ? new Uint8Array(0) : new Uint8Array(await readFile(path)) });
    } catch {
      // removed between readdir and read: gone
    }
  }
  return files;
}

export interface StartServerOptions {
  /** The GGUF model file. */
  model: string;
  /** Folder of patch files, each served under its file stem. */
  patches?: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Require `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** KV-cache positions (default min(2048, the file's context length)). */
  maxContext?: number;
  trustedKeys?: readonly string[];
  requireSignature?: boolean;
  /** Pick up patch files added, changed or removed while running (default true). */
  watch?: boolean;
  defaults?: ServeDefaults;
  maxQueue?: number;
  maxConsecutive?: number;
  hooks?: ServeHooks;
  /** Called after every rescan of the patch folder (at start, by the watcher, by POST /v1/patches/reload). */
  onReload?: (change: LibraryChange, cause: 'start' | 'watch' | 'request') => void;
}

export interface RunningServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly app: ServeApp;
  readonly model: Model;
  readonly modelSha256: string;
  readonly library: PatchLibrary;
  /** What the first scan of the patch folder found. */
  readonly initial: LibraryChange;
  /** Things the operator should know (e.g. listening beyond loopback without an API key). */
  readonly warnings: readonly string[];
  /** Rescans the patch folder now. */
  reload(): Promise<LibraryChange>;
  /** Stops listening, closes open connections and the folder watcher. */
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Loads the model, reads the patch folder and listens: `bankai serve` as a library call. */
export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ServeConfigError('port', `${port} is not a port number`, 'pass an integer in 0..65535 (0: any free port)');
  if (opts.maxContext !== undefined && !(Number.isInteger(opts.maxContext) && opts.maxContext >= 1)) {
    throw new ServeConfigError('ctx', `${opts.maxContext} is not a positive integer`, 'pass e.g. 2048');
  }
  if (opts.apiKey !== undefined && opts.apiKey.trim() === '') throw new ServeConfigError('api-key', 'is empty', 'pass a non-empty key, or leave it out');
  if (opts.patches !== undefined) {
    const info = await stat(opts.patches).catch(() => undefined);
    if (!info?.isDirectory()) throw new ServeConfigError('patches', `${opts.patches} is not a folder`, 'pass the folder that holds the patch files (create it if it is empty)');
  }
  const modelStat = await stat(opts.model).catch(() => undefined);
  if (!modelStat?.isFile()) {
    throw new ServeConfigError('model', `${opts.model}: ${modelStat?.isDirectory() ? 'is a directory, not a file' : 'no such file'}`, 'pass the path of a GGUF model file');
  }

  const modelSha256 = await sha256File(opts.model);
  const src = await fileSource(opts.model);
  let model: Model;
  try {
    model = await Model.load(src, { maxContext: opts.maxContext ?? 2048 });
  } finally {
    await src.close();
  }
  const library = new PatchLibrary(model, { modelSha256, trustedKeys: opts.trustedKeys, requireSignature: opts.requireSignature });
  const dir = opts.patches;

  let chain: Promise<unknown> = Promise.resolve();
  let app: ServeApp | undefined;
  const rescan = (cause: 'start' | 'watch' | 'request'): Promise<LibraryChange> => {
    const run = chain.then(async () => {
      const change = library.sync(dir === undefined ? [] : await readPatchFolder(dir));
      if (app && cause !== 'start') app.metrics.reloads++;
      opts.onReload?.(change, cause);
      return change;
    });
    chain = run.catch(() => {});
    return run;
  };
  const initial = await rescan('start');

  app = createServeApp({
    model, modelSha256, library, apiKey: opts.apiKey, defaults: opts.defaults, maxQueue: opts.maxQueue,
    maxConsecutive: opts.maxConsecutive, hooks: opts.hooks, ...(dir !== undefined ? { reload: () => rescan('request') } : {}),
  });

  let watcher: FSWatcher | undefined;
  const warnings: string[] = [];
  if (dir !== undefined && opts.watch !== false) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      watcher = watch(dir, () => {
        clearTimeout(timer);
        timer = setTimeout(() => void rescan('watch').catch(() => {}), 100); // one rescan per burst of writes
      });
      watcher.on('error', () => {});
    } catch (e) {
      warnings.push(`cannot watch ${dir} (${(e as Error).message}): new patches are picked up by POST /v1/patches/reload only`);
    }
  }
  if (!LOOPBACK.test(host) && opts.apiKey === undefined) {
    warnings.push(`listening on ${host}, beyond loopback, without an API key: anyone who can reach it can use it (pass --api-key)`);
  }

  const server: ServerType = await new Promise((resolve, reject) => {
    const s = listen({ fetch: app!.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) => {
      watcher?.close();
      reject(e.code === 'EADDRINUSE'
        ? new ServeConfigError('port', `${host}:${port} is already in use`, 'pass another --port (0: any free port), or stop the other server')
        : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
          ? new ServeConfigError('host', `${host} is not an address of this machine`, 'pass 127.0.0.1 (loopback) or an address of this machine')
          : e);
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`, host: address.address, port: address.port, app, model, modelSha256, library, initial, warnings,
    reload: () => rescan('request'),
    close: async () => {
      watcher?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await Promise.all([closed, app!.close()]);
    },
  };
}
