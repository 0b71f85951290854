// Patches against real model files (GGUF over a ByteSource, runtime-neutral): the model's shape
// from its header, the byte-level XOR of flips on Q1_0 rows, model diff, verify, and bake.
//
// Q1_0 row layout (GGUF; the Q1_0 entry of the type table in @bankai/gguf's types.ts): a row of `cols` weights is cols/128 blocks of 18 bytes,
// each block = fp16 scale d (2 bytes, little-endian) then qs[16]; weight j of the row is block
// j>>7, byte 2 + ((j&127)>>3), bit j&7 (LSB first). A flip only ever touches qs bytes, never d.
//
// Files are streamed tensor by tensor, row chunk by row chunk: nothing here holds a whole model.

import {
  copyGgufWithEdits,
  GGML_TYPE,
  Q1_0_BYTES,
  Q1_0_SCALE_BYTES,
  readGguf,
  type ByteSink,
  type ByteSource,
  type GgufFile,
  type GgufTensorInfo,
  type TensorByteEdit,
  WEIGHT_SUFFIX,
} from '@bankai/gguf';
import { bitsFlipped, compose, flipsByTensor, normalize } from './algebra.js';
import { PatchFormatError } from './errors.js';
import { bitFlip, compareTensorNames, GROUP_SIZE, groupFlip, rowFlip, type Flip } from './flip.js';
import { computeStats, type PatchManifest } from './manifest.js';
import { type ModelShape, type TensorShape } from './shape.js';
import { checkPatchForModel, validateFlips } from './validate.js';

/** Bytes of one 128-weight block: fp16 scale + 16 bytes of sign bits. */
const BLOCK_BYTES = Q1_0_BYTES;
/** Offset of the sign bits inside a block (after the fp16 scale). */
const QS_OFFSET = Q1_0_SCALE_BYTES;
/** Default row chunk when streaming a tensor. */
const CHUNK_BYTES = 4 << 20;
/** Default limit on the flips a diff may produce before it gives up (unrelated models). */
const DEFAULT_MAX_DIFF_FLIPS = 1 << 22;

// ---- names and shapes ---------------------------------------------------------------------------

/** The flip name of a GGUF tensor: its name without the `.weight` suffix. */
export function flipTensorName(ggufName: string): string {
  return ggufName.endsWith(WEIGHT_SUFFIX) ? ggufName.slice(0, -WEIGHT_SUFFIX.length) : ggufName;
}

/** The model's shape from its GGUF header: every tensor as {rows: ne1.., cols: ne0, type},
 *  named without `.weight`; `sha256` is the file's, when the caller computed it. */
export function modelShapeOf(header: GgufFile, sha256?: string): ModelShape {
  const tensors = new Map<string, TensorShape>();
  for (const t of header.tensors) tensors.set(flipTensorName(t.name), { rows: t.nRows, cols: t.shape[0]!, type: t.type });
  return sha256 === undefined ? { tensors } : { tensors, sha256 };
}

function tensorInfoOf(header: GgufFile, tensor: string): GgufTensorInfo | undefined {
  return header.tensors.find((t) => t.name === `${tensor}.weight`) ?? header.tensors.find((t) => t.name === tensor);
}

// ---- the XOR on Q1_0 row bytes --------------------------------------------------------------------

/** Where weight `j` of a row lives in the row's GGUF bytes: byte offset and bit mask. */
export function q1BitPosition(j: number): { byte: number; mask: number } {
  return { byte: (j >>> 7) * BLOCK_BYTES + QS_OFFSET + ((j & 127) >>> 3), mask: 1 << (j & 7) };
}

/** XORs row / group / bit flips of one row into its GGUF Q1_0 bytes (groups blocks of 18 bytes)
 *  in place. Scales are never touched. */
export function xorQ1RowBytes(row: Uint8Array, flips: { row?: boolean; groups?: ArrayLike<number>; bits?: ArrayLike<number> }): void {
  const groups = row.length / BLOCK_BYTES;
  const xorGroup = (g: number) => {
    const at = g * BLOCK_BYTES + QS_OFFSET;
    for (let k = 0; k < 16; k++) row[at + k] ^= 0xff;
  };
  if (flips.row) for (let g = 0; g < groups; g++) xorGroup(g);
  for (let i = 0; i < (flips.groups?.length ?? 0); i++) xorGroup(flips.groups![i]!);
  for (let i = 0; i < (flips.bits?.length ?? 0); i++) {
    const { byte, mask } = q1BitPosition(flips.bits![i]!);
    row[byte] ^= mask;
  }
}

/** Flips of one tensor gathered by row: rows touched, in order, each with its kinds. */
interface RowEdits {
  row: boolean;
  groups: number[];
  bits: number[];
}

function editsByRow(flips: readonly Flip[]): Map<string, Map<number, RowEdits>> {
  const out = new Map<string, Map<number, RowEdits>>();
  for (const [tensor, tf] of flipsByTensor(flips)) {
    const rows = new Map<number, RowEdits>();
    const get = (r: number) => {
      let e = rows.get(r);
      if (!e) rows.set(r, (e = { row: false, groups: [], bits: [] }));
      return e;
    };
    for (const r of tf.rows) get(r).row = true;
    for (let i = 0; i < tf.groups.length; i += 2) get(tf.groups[i]!).groups.push(tf.groups[i + 1]!);
    for (let i = 0; i < tf.bits.length; i += 2) get(tf.bits[i]!).bits.push(tf.bits[i + 1]!);
    out.set(tensor, new Map([...rows].sort((a, b) => a[0] - b[0])));
  }
  return out;
}

// ---- diff -------------------------------------------------------------------------------------------

const POPCOUNT8 = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});

export interface DiffOptions {
  /** Give up when the models differ in more flips than this (default 4,194,304): two unrelated
   *  models are not a base and a patched model, and their "patch" would not fit in memory. */
  readonly maxFlips?: number;
  /** Bytes read per step from each file (default 4 MiB, at least one row). */
  readonly chunkBytes?: number;
}

export interface ModelDiff {
  /** The patch turning A into B, canonical for B's shapes. */
  readonly flips: Flip[];
  /** Shape of the models (from A's header). */
  readonly shape: ModelShape;
  /** Weights whose sign bit differs, in total and per tensor (tensors that differ only). */
  readonly hamming: number;
  readonly hammingByTensor: ReadonlyMap<string, number>;
}

function sameShape(a: GgufTensorInfo, b: GgufTensorInfo): boolean {
  return a.type === b.type && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/** Checks that two headers have the same tensors (names, types, shapes). */
function checkSameTensors(a: GgufFile, b: GgufFile, nameA: string, nameB: string): void {
  const byName = new Map(b.tensors.map((t) => [t.name, t]));
  for (const t of a.tensors) {
    const u = byName.get(t.name);
    if (!u) {
      throw new PatchFormatError(`tensor ${t.name} is in ${nameA} but not in ${nameB}`, { file: nameB, fix: 'diff two versions of the same model (same tensors and shapes)' });
    }
    if (!sameShape(t, u)) {
      throw new PatchFormatError(`tensor ${t.name} is ${t.typeName} [${t.shape.join(', ')}] in ${nameA} but ${u.typeName} [${u.shape.join(', ')}] in ${nameB}`, {
        file: nameB,
        fix: 'diff two versions of the same model (same tensors and shapes)',
      });
    }
  }
  if (b.tensors.length !== a.tensors.length) {
    const extra = b.tensors.find((t) => !a.tensors.some((u) => u.name === t.name))!;
    throw new PatchFormatError(`tensor ${extra.name} is in ${nameB} but not in ${nameA}`, { file: nameB, fix: 'diff two versions of the same model (same tensors and shapes)' });
  }
}

/**
 * The patch that turns model A into model B (two GGUFs of the same shapes), streamed tensor by
 * tensor. Per 1-bit row: a row flip when every bit differs, a group flip per group whose 128 bits
 * all differ, bit flips for the rest (then canonical form). Scales must be equal (a patch only
 * flips bits) and every other tensor byte-identical: otherwise an error names the tensor, row
 * and group (or byte).
 */
export async function diffModels(srcA: ByteSource, srcB: ByteSource, opts: DiffOptions = {}): Promise<ModelDiff> {
  const maxFlips = opts.maxFlips ?? DEFAULT_MAX_DIFF_FLIPS;
  const headerA = await readGguf(srcA);
  const headerB = await readGguf(srcB);
  checkSameTensors(headerA, headerB, srcA.name, srcB.name);
  const byName = new Map(headerB.tensors.map((t) => [t.name, t]));
  const shape = modelShapeOf(headerA);
  const flips: Flip[] = [];
  const hammingByTensor = new Map<string, number>();
  let hamming = 0;
  const sorted = [...headerA.tensors].sort((x, y) => compareTensorNames(flipTensorName(x.name), flipTensorName(y.name)));
  for (const ta of sorted) {
    const tb = byName.get(ta.name)!;
    const name = flipTensorName(ta.name);
    const step = Math.max(1, Math.floor((opts.chunkBytes ?? CHUNK_BYTES) / ta.rowBytes)) * ta.rowBytes;
    let bits = 0;
    for (let at = 0; at < ta.nBytes; at += step) {
      const len = Math.min(step, ta.nBytes - at);
      // a ByteSource view is valid until its next read: copy A's when both are the same source
      const a = srcA === srcB ? (await srcA.read(ta.offset + at, len)).slice() : await srcA.read(ta.offset + at, len);
      const b = await srcB.read(tb.offset + at, len);
      if (ta.type !== GGML_TYPE.Q1_0) {
        for (let i = 0; i < len; i++) {
          if (a[i] !== b[i]) {
            throw new PatchFormatError(`tensor ${ta.name} (${ta.typeName}, not 1-bit) differs at byte ${at + i} of its data; a patch only flips 1-bit weights`, {
              file: srcB.name,
              offset: tb.offset + at + i,
              fix: 'diff a model against a patched (baked) copy of itself',
            });
          }
        }
        continue;
      }
      bits += diffQ1Rows(a, b, name, ta.shape[0]! / GROUP_SIZE, at / ta.rowBytes, flips, srcB.name, tb.offset + at);
      if (flips.length > maxFlips) {
        throw new PatchFormatError(`the models differ in more than ${maxFlips} flips (at ${name}): they are not a model and a patched copy of it`, {
          file: srcB.name,
          fix: 'diff a model against a patched (baked) copy of itself, or raise maxFlips',
        });
      }
    }
    if (bits > 0) hammingByTensor.set(name, bits);
    hamming += bits;
  }
  return { flips: normalize(flips, shape.tensors), shape, hamming, hammingByTensor };
}

/** Diffs whole Q1_0 rows (a, b: (rows, groups) blocks of 18 bytes); pushes flips, returns the
 *  number of differing bits. */
function diffQ1Rows(a: Uint8Array, b: Uint8Array, tensor: string, groups: number, row0: number, out: Flip[], file: string, fileOffset: number): number {
  const rowBytes = groups * BLOCK_BYTES;
  const rows = a.length / rowBytes;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const rowAt = r * rowBytes;
    let fullGroups = 0;
    let rowBits = 0;
    const partial: number[] = []; // groups with some (not all) bits different
    const full: number[] = [];
    for (let g = 0; g < groups; g++) {
      const at = rowAt + g * BLOCK_BYTES;
      if (a[at] !== b[at] || a[at + 1] !== b[at + 1]) {
        throw new PatchFormatError(`${tensor} row ${row0 + r} group ${g}: the fp16 scales differ; a patch only flips sign bits, so these models are not a base and a patched copy`, {
          file,
          offset: fileOffset + at,
          fix: 'diff a model against a patched (baked) copy of itself',
        });
      }
      let k = 0;
      for (let i = at + QS_OFFSET; i < at + BLOCK_BYTES; i++) k += POPCOUNT8[a[i]! ^ b[i]!]!;
      if (k === 0) continue;
      rowBits += k;
      if (k === GROUP_SIZE) {
        fullGroups++;
        full.push(g);
      } else partial.push(g);
    }
    if (rowBits === 0) continue;
    total += rowBits;
    const row = row0 + r;
    if (fullGroups === groups) {
      out.push(rowFlip(tensor, row));
      continue;
    }
    for (const g of full) out.push(groupFlip(tensor, row, g));
    for (const g of partial) {
      const at = rowAt + g * BLOCK_BYTES + QS_OFFSET;
      for (let byte = 0; byte < 16; byte++) {
        const x = a[at + byte]! ^ b[at + byte]!;
        for (let bit = 0; x !== 0 && bit < 8; bit++) if ((x >> bit) & 1) out.push(bitFlip(tensor, row, g * GROUP_SIZE + byte * 8 + bit));
      }
    }
  }
  return total;
}

// ---- verify ---------------------------------------------------------------------------------------

export interface TensorVerification {
  readonly tensor: string;
  /** Weights the manifest flips in this tensor. */
  readonly expectedBits: number;
  /** Weights that differ between the two files in this tensor. */
  readonly actualBits: number;
  /** Weights where the manifest's mask and the files' difference disagree (0 = match). */
  readonly mismatchedBits: number;
}

export interface PatchVerification {
  readonly ok: boolean;
  /** computeStats(manifest).bitsFlipped (with the model's shapes when the manifest records none). */
  readonly expectedBits: number;
  /** Hamming distance between the two files' 1-bit tensors. */
  readonly actualBits: number;
  /** Every tensor the manifest or the files touch. */
  readonly tensors: readonly TensorVerification[];
  /** One line per problem, naming the tensor. */
  readonly problems: readonly string[];
  /** The diff itself (what the patched file really holds). */
  readonly diff: ModelDiff;
}

/**
 * Checks that `patchedSrc` is `baseSrc` with exactly the manifest's flips: the Hamming distance
 * between their 1-bit tensors equals the manifest's bitsFlipped, and the diff equals the
 * manifest's flips tensor by tensor. Mismatches are reported per tensor (never thrown); files
 * that are not the same model at all (scales or other tensors differ) throw.
 */
export async function verifyPatchedModel(baseSrc: ByteSource, patchedSrc: ByteSource, manifest: PatchManifest, opts: DiffOptions = {}): Promise<PatchVerification> {
  const diff = await diffModels(baseSrc, patchedSrc, opts);
  const shapes = diff.shape.tensors;
  validateFlips(manifest.flips, diff.shape);
  const expected = normalize(manifest.flips, shapes);
  const expectedBits = computeStats(manifest).bitsFlipped ?? bitsFlipped(expected, shapes) ?? 0;
  const want = flipsByTensorList(expected);
  const got = flipsByTensorList(diff.flips);
  const names = [...new Set([...want.keys(), ...got.keys()])].sort(compareTensorNames);
  const problems: string[] = [];
  const tensors = names.map((tensor) => {
    const w = want.get(tensor) ?? [];
    const g = got.get(tensor) ?? [];
    const residual = compose([w, g], shapes);
    const t: TensorVerification = {
      tensor,
      expectedBits: bitsFlipped(w, shapes) ?? 0,
      actualBits: diff.hammingByTensor.get(tensor) ?? 0,
      mismatchedBits: bitsFlipped(residual, shapes) ?? 0,
    };
    if (t.mismatchedBits > 0) {
      const rows = new Set(residual.map((f) => f.row));
      const first = [...rows].slice(0, 4).join(', ');
      problems.push(`${tensor}: the manifest flips ${t.expectedBits} weights, the file differs from its base in ${t.actualBits}; ` +
        `${t.mismatchedBits} weights disagree in ${rows.size} row(s) (rows ${first}${rows.size > 4 ? ', ...' : ''})`);
    }
    return t;
  });
  if (diff.hamming !== expectedBits) {
    problems.unshift(`Hamming distance ${diff.hamming} between the files, but the manifest claims ${expectedBits} bits flipped`);
  }
  return { ok: problems.length === 0, expectedBits, actualBits: diff.hamming, tensors, problems, diff };
}

function flipsByTensorList(flips: readonly Flip[]): Map<string, Flip[]> {
  const out = new Map<string, Flip[]>();
  for (const f of flips) {
    const list = out.get(f.tensor);
    if (list) list.push(f);
    else out.set(f.tensor, [f]);
  }
  return out;
}

// ---- bake -----------------------------------------------------------------------------------------

/** The byte edits that apply `flips` to the model in `src` (one edit per touched row: the row's
 *  GGUF bytes with the flips XORed in). The flips must fit the model (validate first). */
export async function bakeEdits(src: ByteSource, header: GgufFile, flips: readonly Flip[]): Promise<TensorByteEdit[]> {
  const edits: TensorByteEdit[] = [];
  for (const [tensor, rows] of editsByRow(flips)) {
    const info = tensorInfoOf(header, tensor);
    if (!info || info.type !== GGML_TYPE.Q1_0) {
      throw new PatchFormatError(`${tensor}: not a Q1_0 tensor of ${src.name}`, { file: src.name, fix: 'validate the patch against the model first (checkPatchForModel)' });
    }
    for (const [row, e] of rows) {
      const byteOffset = row * info.rowBytes;
      const bytes = (await src.read(info.offset + byteOffset, info.rowBytes)).slice();
      xorQ1RowBytes(bytes, e);
      edits.push({ tensor: info.name, byteOffset, bytes });
    }
  }
  return edits;
}

export interface BakeOptions {
  /** Apply even when the patch's fingerprint does not match the model, or its signature does
   *  not hold (each becomes a warning). */
  readonly force?: boolean;
  /** sha256 of the model file, to check the patch's fingerprint (without it: a warning). */
  readonly sha256?: string;
  /** Patch file label for messages. */
  readonly file?: string;
  /** Refuse an unsigned patch (checkSignature). */
  readonly requireSignature?: boolean;
  /** Accept only signatures by these public keys. */
  readonly trustedKeys?: readonly (string | Uint8Array)[];
}

export interface BakeResult {
  readonly warnings: readonly string[];
  /** Rows rewritten. */
  readonly editedRows: number;
  readonly editedBytes: number;
  readonly bytesWritten: number;
  /** Weights flipped (Hamming distance of the output from the input). */
  readonly bitsFlipped: number;
}

/** Checks the patch against the model (its signature and fingerprint unless forced, every flip
 *  in range) and the byte edits that bake it. */
export async function planBake(src: ByteSource, manifest: PatchManifest, opts: BakeOptions = {}): Promise<{ header: GgufFile; edits: TensorByteEdit[]; warnings: readonly string[]; bitsFlipped: number }> {
  const header = await readGguf(src);
  const shape = modelShapeOf(header, opts.sha256);
  const { warnings } = checkPatchForModel(manifest, shape, { file: opts.file, force: opts.force, requireSignature: opts.requireSignature, trustedKeys: opts.trustedKeys });
  const flips = normalize(manifest.flips, shape.tensors);
  const edits = await bakeEdits(src, header, flips);
  return { header, edits, warnings, bitsFlipped: bitsFlipped(flips, shape.tensors) ?? 0 };
}

/** Writes the model with the patch applied to `sink`: byte-identical to `src` except the flipped
 *  bits (the header is copied, not re-encoded). Validates before writing anything. */
export async function bakePatch(src: ByteSource, manifest: PatchManifest, sink: ByteSink, opts: BakeOptions = {}): Promise<BakeResult> {
  const plan = await planBake(src, manifest, opts);
  const r = await copyGgufWithEdits(src, plan.edits, sink);
  return { warnings: plan.warnings, editedRows: plan.edits.length, editedBytes: r.editedBytes, bytesWritten: r.bytesWritten, bitsFlipped: plan.bitsFlipped };
}
