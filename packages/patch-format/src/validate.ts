// Validation before any bit moves: does this patch fit this model? Every flip must name a
// 1-bit tensor the model has, inside its rows / groups / bits; the fingerprint (file sha256 and
// the recorded tensor shapes) must match, unless the caller forces it (then it is a warning).
// Range errors are never forced: a flip outside a tensor has no meaning.

import { GGML_TYPE } from '@bankai/gguf';
import { PatchFormatError } from './errors.js';
import { describeFlip, GROUP_SIZE, parseTensorName, type Flip } from './flip.js';
import type { PatchManifest } from './manifest.js';
import { groupsPerRow, lookupShape, type ModelShape } from './shape.js';
import { checkSignature } from './sign.js';

/** How many offending flips an error lists before summarizing. */
const LISTED = 8;

function layerRange(model: ModelShape): string {
  let max = -1;
  for (const name of model.tensors.keys()) {
    const { layer } = parseTensorName(name.replace(/\.weight$/, ''));
    if (layer !== undefined && layer > max) max = layer;
  }
  return max < 0 ? 'the model has no blocks' : `the model has blocks 0..${max}`;
}

/** The problem with one flip on this model, or undefined when it fits. */
export function flipProblem(flip: Flip, model: ModelShape): string | undefined {
  const shape = lookupShape(model.tensors, flip.tensor);
  if (!shape) {
    const { layer } = parseTensorName(flip.tensor);
    return `the model has no tensor ${flip.tensor}${layer !== undefined ? ` (${layerRange(model)})` : ''}`;
  }
  if (shape.type !== undefined && shape.type !== GGML_TYPE.Q1_0) {
    return `${flip.tensor} is ggml type ${shape.type}, not Q1_0 (${GGML_TYPE.Q1_0}): only 1-bit tensors can be flipped`;
  }
  if (flip.row >= shape.rows) return `row ${flip.row} is out of range: ${flip.tensor} has rows 0..${shape.rows - 1}`;
  if (flip.group !== undefined && flip.group >= groupsPerRow(shape)) {
    return `group ${flip.group} is out of range: ${flip.tensor} rows have groups 0..${groupsPerRow(shape) - 1} (${shape.cols} weights / ${GROUP_SIZE})`;
  }
  if (flip.bit !== undefined && flip.bit >= shape.cols) return `bit ${flip.bit} is out of range: ${flip.tensor} rows have bits 0..${shape.cols - 1}`;
  return undefined;
}

/** Throws a PatchFormatError naming the offending flips (index, flip, valid range) when any
 *  flip does not fit the model. */
export function validateFlips(flips: readonly Flip[], model: ModelShape, opts: { file?: string } = {}): void {
  const problems: { index: number; text: string }[] = [];
  flips.forEach((flip, index) => {
    const problem = flipProblem(flip, model);
    if (problem) problems.push({ index, text: `flips[${index}] (${describeFlip(flip)}): ${problem}` });
  });
  if (problems.length === 0) return;
  const listed = problems.slice(0, LISTED).map((p) => p.text).join('; ');
  const more = problems.length > LISTED ? `; and ${problems.length - LISTED} more` : '';
  throw new PatchFormatError(`${problems.length} of ${flips.length} flips do not fit this model: ${listed}${more}`, {
    file: opts.file,
    path: `flips[${problems[0]!.index}]`,
    fix: 'this patch was made for a model with other shapes: use the patch made for this model',
  });
}

export interface ModelCheckOptions {
  /** Source label for messages. */
  readonly file?: string;
  /** Accept a fingerprint mismatch (sha256 or recorded shapes); it becomes a warning. */
  readonly force?: boolean;
  /** Refuse a patch whose base names no sha256 (default: warn). */
  readonly requireFingerprint?: boolean;
  /** Refuse an unsigned patch (see checkSignature; `force` does not override it). */
  readonly requireSignature?: boolean;
  /** Accept only signatures by these public keys (hex or 32 bytes). */
  readonly trustedKeys?: readonly (string | Uint8Array)[];
  /** Check the signature of a signed patch (default true). Only for describing a patch without
   *  using it (`patch info` reports the signature apart). */
  readonly verifySignature?: boolean;
}

export interface ModelCheckResult {
  /** Things the user should be told (forced mismatches, unchecked fingerprints). */
  readonly warnings: readonly string[];
}

/** Checks a patch before it is applied to, or baked into, this model: its signature when it
 *  carries one (checkSignature), every flip against the model's shapes, its fingerprint. */
export function checkPatchForModel(manifest: PatchManifest, model: ModelShape, opts: ModelCheckOptions = {}): ModelCheckResult {
  const warnings: string[] = [];
  if (opts.verifySignature !== false) {
    warnings.push(...checkSignature(manifest, { requireSignature: opts.requireSignature, trustedKeys: opts.trustedKeys, force: opts.force, file: opts.file }).warnings);
  }
  validateFlips(manifest.flips, model, opts);
  const mismatches: string[] = [];
  const wanted = manifest.base.sha256;
  if (wanted === undefined) {
    const text = 'the patch names no base model sha256, so only tensor shapes were checked';
    if (opts.requireFingerprint && !opts.force) {
      throw new PatchFormatError(text, { file: opts.file, path: 'base.sha256', fix: 'record the base sha256 (bankai patch convert --model), or pass force (--force)' });
    }
    warnings.push(opts.requireFingerprint ? `--force: ${text}` : text);
  } else if (model.sha256 === undefined) {
    warnings.push('the model file sha256 was not computed, so the patch fingerprint was not checked');
  } else if (model.sha256 !== wanted) {
    mismatches.push(`base.sha256 is ${wanted} but the model file's sha256 is ${model.sha256}`);
  }
  for (const [name, [cols, rows]] of Object.entries(manifest.base.tensors)) {
    const shape = lookupShape(model.tensors, name);
    if (!shape) mismatches.push(`base.tensors names ${name} but the model has no such tensor`);
    else if (shape.cols !== cols || shape.rows !== rows) {
      mismatches.push(`base.tensors.${name} is [${cols}, ${rows}] but the model's is [${shape.cols}, ${shape.rows}]`);
    }
  }
  if (mismatches.length > 0) {
    if (!opts.force) {
      throw new PatchFormatError(`the patch was made for another model: ${mismatches.join('; ')}`, {
        file: opts.file,
        path: 'base',
        fix: 'use the patch made for this model, or pass force (--force) to apply it anyway',
      });
    }
    for (const m of mismatches) warnings.push(`--force: ${m}`);
  }
  return { warnings };
}
