// The patches a server offers: one per file of the patch folder, named by the file's stem, each
// checked once when it is (re)loaded: it parses, every flip fits the model, it names the model's
// sha256 as its base, and a signed patch's signature holds (by a trusted key, when keys are
// given: checkSignature, the check apply and bake make too). A patch that fails is refused, and listed with the reason. No file access here: the
// node entry reads the folder and hands the bytes over (see node.ts).

import { modelShape, type Model } from '@bankai/model';
import { checkPatchForModel, checkSignature, PatchFormatError, readPatch, sha256Hex, type PatchManifest } from '@bankai/patch-format';

/** The id that selects the unpatched model. */
export const BASE_MODEL_ID = 'base';

/** File name endings of patch files (the rest of a folder is ignored). */
export const PATCH_EXTENSIONS = ['.json', '.bkp'] as const;

export interface PatchFile {
  /** The file's name in the folder (`math.json`): its stem is the patch id. */
  name: string;
  bytes: Uint8Array;
}

export interface ServedPatch {
  /** The file stem: what `model` names in a request. */
  readonly id: string;
  readonly file: string;
  readonly manifest: PatchManifest;
  /** sha256 of the file's bytes: a changed file is another patch (requests already queued keep theirs). */
  readonly sha256: string;
  readonly flips: number;
  readonly signed: boolean;
  /** The signer's public key (hex), when signed. */
  readonly signer?: string;
  /** Unix seconds when this version was loaded. */
  readonly loadedAt: number;
}

export interface RefusedPatch {
  readonly id: string;
  readonly file: string;
  readonly reason: string;
}

export interface PatchLibraryOptions {
  /** sha256 of the model file: a patch must name it as its base. */
  modelSha256: string;
  /** Public keys (hex) whose signatures are accepted; a patch signed by another key is refused.
   *  Without keys, any valid signature is accepted. */
  trustedKeys?: readonly string[];
  /** Refuse unsigned patches (default false). */
  requireSignature?: boolean;
}

export interface LibraryChange {
  added: string[];
  changed: string[];
  removed: string[];
  /** Every refused file now (not only new refusals). */
  refused: RefusedPatch[];
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The patch id of a file name, or undefined when the file is not a patch file. */
export function patchIdOf(name: string): string | undefined {
  if (name.startsWith('.')) return undefined; // hidden and temporary files (atomic writes)
  const ext = PATCH_EXTENSIONS.find((e) => name.toLowerCase().endsWith(e));
  return ext ? name.slice(0, -ext.length) : undefined;
}

export class PatchLibrary {
  private served = new Map<string, ServedPatch>();
  private refusedById = new Map<string, RefusedPatch>();

  constructor(
    private readonly model: Model,
    private readonly opts: PatchLibraryOptions,
  ) {}

  get(id: string): ServedPatch | undefined {
    return this.served.get(id);
  }

  refusal(id: string): RefusedPatch | undefined {
    return this.refusedById.get(id);
  }

  list(): ServedPatch[] {
    return [...this.served.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  refused(): RefusedPatch[] {
    return [...this.refusedById.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Makes the library hold exactly these files' patches: new and changed files are checked,
   *  files no longer given are dropped. */
  sync(files: readonly PatchFile[]): LibraryChange {
    const byId = new Map<string, PatchFile[]>();
    for (const f of files) {
      const id = patchIdOf(f.name);
      if (id === undefined) continue;
      byId.set(id, [...(byId.get(id) ?? []), f]);
    }
    const change: LibraryChange = { added: [], changed: [], removed: [], refused: [] };
    const served = new Map<string, ServedPatch>();
    const refused = new Map<string, RefusedPatch>();
    for (const [id, group] of byId) {
      const old = this.served.get(id);
      const r = this.check(id, group);
      if ('reason' in r) refused.set(id, r);
      else {
        const same = old && old.sha256 === r.sha256 && old.file === r.file;
        served.set(id, same ? old : r);
        if (!old) change.added.push(id);
        else if (!same) change.changed.push(id);
      }
    }
    for (const id of this.served.keys()) if (!served.has(id)) change.removed.push(id);
    this.served = served;
    this.refusedById = refused;
    change.refused = this.refused();
    return change;
  }

  private check(id: string, group: PatchFile[]): ServedPatch | RefusedPatch {
    const file = group.map((f) => f.name).sort().join(', ');
    const refuse = (reason: string): RefusedPatch => ({ id, file, reason });
    if (group.length > 1) return refuse(`${group.length} files have the stem "${id}"; keep one of them (the stem is the model name)`);
    if (id === BASE_MODEL_ID) return refuse(`"${BASE_MODEL_ID}" names the unpatched model; rename the file`);
    if (!ID.test(id)) return refuse('a patch name is letters, digits, ".", "_" and "-" (up to 128, starting with a letter or digit); rename the file');
    const { name, bytes } = group[0]!;
    try {
      const shape = modelShape(this.model, this.opts.modelSha256);
      const { manifest } = readPatch(bytes, { file: name, model: { tensors: shape.tensors } });
      // the same signature check as apply and bake (never forced here)
      let sig;
      try {
        sig = checkSignature(manifest, { file: name, requireSignature: this.opts.requireSignature, trustedKeys: this.opts.trustedKeys });
      } catch (e) {
        if (e instanceof PatchFormatError && e.path === 'signature') {
          return refuse(manifest.signature ? `signature: ${e.problem}` : 'the patch is not signed and the server requires signatures (sign it with `bankai patch sign`)');
        }
        throw e;
      }
      checkPatchForModel(manifest, shape, { file: name, requireFingerprint: true, verifySignature: false });
      return {
        id, file: name, manifest, sha256: sha256Hex(bytes), flips: manifest.flips.length,
        signed: sig.signed, ...(sig.signer ? { signer: sig.signer } : {}), loadedAt: Math.floor(Date.now() / 1000),
      };
    } catch (e) {
      return refuse((e as Error).message);
    }
  }
}
