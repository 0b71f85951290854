// @bankai/patch-format/node: patch files on disk (Node, and Deno/Bun through their node:
// compatibility). Reads by content (binary magic or JSON shape), writes by extension:
//   .bkp   compact binary patch
//   .json  our manifest, or the upstream v1 shape with { as: 'upstream' }
// Writes are atomic (temp file in the same folder, then rename) and never replace an existing
// file unless asked.

import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { encodeBinary } from './binary.js';
import { PatchFormatError } from './errors.js';
import { utf8 } from './json.js';
import { formatManifest, type PatchManifest } from './manifest.js';
import { MAX_PATCH_BYTES, readPatch, type LoadedPatch } from './read.js';
import type { ModelShape } from './shape.js';
import { formatUpstream } from './upstream.js';
import { copyGgufFileWithEdits, fileAccessError, fileSource, sha256File, statFile, writeFileAtomic } from '@bankai/gguf/node';

export { sha256File, writeFileAtomic };
import { planBake, type BakeResult } from './model-file.js';

export const BINARY_EXTENSION = '.bkp';

/** sha256 (lowercase hex) of a file, streamed (GGUF files are gigabytes). */

/** Reads a patch file of any supported format (detected from its content). A missing path or a
 *  directory is a FileAccessError, a file larger than any patch a PatchFormatError; nothing is
 *  read before the size is checked. */
export async function readPatchFile(path: string, opts: { model?: ModelShape } = {}): Promise<LoadedPatch> {
  const fix = 'pass the path of a patch file (.json manifest or upstream, or .bkp)';
  const info = await statFile(path, { fix });
  if (info.size > MAX_PATCH_BYTES) {
    throw new PatchFormatError(`file is ${info.size} bytes, more than any patch (${MAX_PATCH_BYTES})`, { file: path, fix: 'pass a patch file, not a model' });
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw fileAccessError(path, e, { fix });
  }
  return readPatch(bytes, { file: path, ...opts });
}

export interface WriteFileOptions {
  /** Replace an existing file (atomically). Default: refuse. */
  readonly overwrite?: boolean;
}


export type PatchFileFormat = 'manifest' | 'upstream' | 'binary';

export interface WritePatchOptions extends WriteFileOptions {
  /** For .json: 'manifest' (default) or 'upstream' (the upstream bankai_row_xor_v1 shape). */
  readonly as?: PatchFileFormat;
}

/** The bytes of a patch in a given format. */
export function patchFileBytes(manifest: PatchManifest, format: PatchFileFormat): Uint8Array {
  if (format === 'binary') return encodeBinary(manifest);
  return utf8(format === 'upstream' ? formatUpstream(manifest) : formatManifest(manifest));
}

/** Writes a patch, its format chosen by extension (.bkp binary, .json manifest or upstream). */
export async function writePatchFile(path: string, manifest: PatchManifest, opts: WritePatchOptions = {}): Promise<{ path: string; bytes: number; format: PatchFileFormat }> {
  const ext = extname(path).toLowerCase();
  let format: PatchFileFormat;
  if (ext === BINARY_EXTENSION) {
    if (opts.as !== undefined && opts.as !== 'binary') {
      throw new PatchFormatError(`a ${BINARY_EXTENSION} file holds the binary format, not ${opts.as}`, { file: path, fix: 'name the output .json' });
    }
    format = 'binary';
  } else if (ext === '.json') {
    if (opts.as === 'binary') throw new PatchFormatError('a .json file cannot hold the binary format', { file: path, fix: `name the output ${BINARY_EXTENSION}` });
    format = opts.as ?? 'manifest';
  } else {
    throw new PatchFormatError(`unknown patch file extension '${ext}'`, { file: path, fix: `name the output .json (manifest or upstream) or ${BINARY_EXTENSION} (binary)` });
  }
  const bytes = patchFileBytes(manifest, format);
  await writeFileAtomic(path, bytes, opts);
  return { path, bytes: bytes.length, format };
}

// ---- baking a patch into a model file ---------------------------------------------------------

export interface BakeFileOptions {
  /** Bake even when the patch's fingerprint does not match the model (reported as a warning). */
  readonly force?: boolean;
  /** Replace an existing output file (never the input). Default: refuse. */
  readonly overwrite?: boolean;
  /** The model file's sha256 when already known (default: computed here). */
  readonly sha256?: string;
  /** Patch file label for messages. */
  readonly patchFile?: string;
  /** Refuse an unsigned patch (a signed one must always verify, unless forced). */
  readonly requireSignature?: boolean;
  /** Accept only signatures by these public keys. */
  readonly trustedKeys?: readonly (string | Uint8Array)[];
}

/** Writes `outPath`: the model at `modelPath` with the patch applied, byte-identical except the
 *  flipped bits, via a temp file and a rename. The signature (when the patch carries one) and
 *  the fingerprint are checked first; the input file is never written. */
export async function bakePatchFile(modelPath: string, manifest: PatchManifest, outPath: string, opts: BakeFileOptions = {}): Promise<BakeResult & { sha256: string }> {
  const existing = await stat(outPath).catch(() => undefined);
  if (existing?.isDirectory()) throw new PatchFormatError('is a directory', { file: outPath, fix: 'choose an output file path, not a folder' });
  if (!opts.overwrite && existing) {
    throw new PatchFormatError('file exists', { file: outPath, fix: 'choose another output path, or pass overwrite to replace it' });
  }
  const sha256 = opts.sha256 ?? (await sha256File(modelPath));
  const src = await fileSource(modelPath);
  let plan: Awaited<ReturnType<typeof planBake>>;
  try {
    plan = await planBake(src, manifest, { force: opts.force, sha256, file: opts.patchFile, requireSignature: opts.requireSignature, trustedKeys: opts.trustedKeys });
  } finally {
    await src.close();
  }
  const r = await copyGgufFileWithEdits(modelPath, plan.edits, outPath); // refuses outPath == modelPath
  return { warnings: plan.warnings, editedRows: plan.edits.length, editedBytes: r.editedBytes, bytesWritten: r.bytesWritten, bitsFlipped: plan.bitsFlipped, sha256 };
}
