// Stacking whole patches (manifests): XOR of their flips on a common base model. The bases must
// agree (same sha256 where both name one, same shape for a tensor both record); the result
// records the union of their shapes and the provenance the caller gives.

import { compose } from './algebra.js';
import { PatchFormatError } from './errors.js';
import { baseShapes, createManifest, type BaseModel, type PatchManifest, type Provenance } from './manifest.js';

export interface StackOptions {
  readonly provenance: Provenance;
  readonly name?: string;
  readonly description?: string;
}

/** The merged base of several patches, or an error naming the two that disagree. */
export function mergeBases(patches: readonly PatchManifest[]): BaseModel {
  const tensors: Record<string, readonly [number, number]> = {};
  const owner: Record<string, number> = {};
  let sha256: string | undefined;
  let shaFrom = -1;
  let model: string | undefined;
  let oneBitWeights: number | undefined;
  patches.forEach((p, i) => {
    if (p.base.sha256 !== undefined) {
      if (sha256 !== undefined && sha256 !== p.base.sha256) {
        throw new PatchFormatError(`patches ${shaFrom} and ${i} were made for different model files (base.sha256 ${sha256} vs ${p.base.sha256})`, {
          path: `patches[${i}].base.sha256`,
          fix: 'stack only patches made for the same model',
        });
      }
      sha256 = p.base.sha256;
      shaFrom = i;
    }
    model ??= p.base.model;
    oneBitWeights ??= p.base.oneBitWeights;
    for (const [name, shape] of Object.entries(p.base.tensors)) {
      const seen = tensors[name];
      if (seen && (seen[0] !== shape[0] || seen[1] !== shape[1])) {
        throw new PatchFormatError(`patches ${owner[name]} and ${i} record different shapes for ${name} ([${seen.join(', ')}] vs [${shape.join(', ')}])`, {
          path: `patches[${i}].base.tensors.${name}`,
          fix: 'stack only patches made for the same model',
        });
      }
      tensors[name] = shape;
      owner[name] ??= i;
    }
  });
  return {
    ...(model !== undefined ? { model } : {}),
    ...(sha256 !== undefined ? { sha256 } : {}),
    ...(oneBitWeights !== undefined ? { oneBitWeights } : {}),
    tensors,
  };
}

/** XOR-stacks patches into one (weights flipped by an even number of them cancel). */
export function stackPatches(patches: readonly PatchManifest[], opts: StackOptions): PatchManifest {
  const base = mergeBases(patches);
  const flips = compose(patches.map((p) => p.flips), baseShapes(base));
  return createManifest({
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    base,
    provenance: opts.provenance,
    flips,
  });
}
