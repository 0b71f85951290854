// Reading a patch from bytes or text, whatever its format: our manifest, the binary form, or
// any of the three upstream JSON shapes (detected from the content, never the file name).

import { decodeBinary, isBinaryPatch } from './binary.js';
import { fail } from './errors.js';
import { isPlainObject } from './flip.js';
import { fromUtf8, MAX_JSON_TEXT, parseJsonText } from './json.js';
import { MANIFEST_FORMAT, parseManifestValue, type PatchManifest } from './manifest.js';
import type { ModelShape } from './shape.js';
import { detectUpstreamShape, fromUpstream, type UpstreamShape } from './upstream.js';

export type PatchSourceKind = 'manifest' | 'binary' | UpstreamShape;

export interface LoadedPatch {
  readonly manifest: PatchManifest;
  /** The format the patch was read from. */
  readonly kind: PatchSourceKind;
}

export interface ReadPatchOptions {
  /** Source label for error messages (the file name). */
  readonly file?: string;
  /** For upstream JSON (which records no shapes): the model, to record its tensor shapes and
   *  check the flips against them. Manifests and binaries carry their own shapes. */
  readonly model?: ModelShape;
}

/** Largest patch read, in bytes (a million flips in JSON is ~50 MB, in binary ~2.4 MB). */
export const MAX_PATCH_BYTES = MAX_JSON_TEXT;

export function readPatch(input: Uint8Array | string, opts: ReadPatchOptions = {}): LoadedPatch {
  if (input.length > MAX_PATCH_BYTES) {
    fail({ file: opts.file, path: '' }, `${input.length} ${typeof input === 'string' ? 'characters' : 'bytes'}, more than any patch (${MAX_PATCH_BYTES})`, 'pass a patch file (.json or .bkp), not a model or a data dump');
  }
  if (typeof input !== 'string' && isBinaryPatch(input)) return { manifest: decodeBinary(input, opts.file), kind: 'binary' };
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = fromUtf8(input);
    } catch {
      fail({ file: opts.file, path: '' }, 'neither a binary patch nor UTF-8 JSON', 'pass a .json or .bkp patch file');
    }
  }
  const value = parseJsonText(text, opts.file);
  if (isPlainObject(value) && value.format === MANIFEST_FORMAT) {
    return { manifest: parseManifestValue(value, { file: opts.file, path: '' }), kind: 'manifest' };
  }
  const shape = detectUpstreamShape(value);
  if (shape === undefined) {
    fail({ file: opts.file, path: '' }, 'not a patch: neither a bankai manifest ("format": "bankai-patch") nor an upstream Bankai patch (an object with "flips")',
      'pass a patch file (.json or .bkp)');
  }
  return { ...fromUpstream(value, opts), kind: shape };
}
