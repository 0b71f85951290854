// Optional ed25519 signatures over a patch's canonical bytes. The manifest carries the signer's
// public key; a signature proves the content was not changed since that key signed it. Whether
// the key is one you trust is a separate question: pass trustedKeys to have verify answer it
// (a patch re-signed by someone else verifies, but with a key that is not on your list).

import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { PatchFormatError } from './errors.js';
import { utf8 } from './json.js';
import { canonicalJson, type PatchManifest, type PatchSignature } from './manifest.js';

// @noble/ed25519 v3 ships async-only; its sync API needs a sha512 (README: "Enabling
// synchronous methods").
ed.hashes.sha512 = sha512;

/** Domain separation: a patch signature can never be replayed as a signature of other data. */
export const SIGNATURE_DOMAIN = 'bankai-patch-signature-v1\n';

export interface SigningKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateSigningKey(): SigningKeyPair {
  const { secretKey, publicKey } = ed.keygen();
  return { secretKey, publicKey };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretKey);
}

/** The exact bytes a signature covers: domain prefix + compact canonical JSON of the manifest
 *  without its signature (see canonicalJson). */
export function signingPayload(manifest: PatchManifest): Uint8Array {
  return utf8(SIGNATURE_DOMAIN + canonicalJson(manifest));
}

/** A copy of the manifest signed with `secretKey` (32 bytes); any old signature is replaced. */
export function signManifest(manifest: PatchManifest, secretKey: Uint8Array): PatchManifest {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new TypeError('signManifest: secretKey must be 32 bytes (an ed25519 secret key)');
  }
  const { signature: _old, ...unsigned } = manifest;
  const value = ed.sign(signingPayload(unsigned), secretKey);
  return { ...unsigned, signature: { alg: 'ed25519', publicKey: bytesToHex(publicKeyOf(secretKey)), value: bytesToHex(value) } };
}

export interface VerifyOptions {
  /** Public keys (32 bytes or 64 hex digits) whose signatures you accept. */
  readonly trustedKeys?: readonly (string | Uint8Array)[];
}

export interface VerifyResult {
  /** Signed, the signature matches the content, and (when trustedKeys was given) the key is trusted. */
  readonly ok: boolean;
  readonly signed: boolean;
  /** The signature matches the content under the key the manifest carries. */
  readonly validSignature: boolean;
  /** The signer's public key (hex), when signed. */
  readonly publicKey?: string;
  /** Whether the signer is in trustedKeys (only when trustedKeys was given). */
  readonly trusted?: boolean;
  /** Why ok is false. */
  readonly reason?: string;
}

// ed25519 verification takes milliseconds, a patch swap microseconds: the verdict is kept per
// manifest object (manifests are immutable values), keyed on the parts a caller could swap in.
const verdicts = new WeakMap<PatchManifest, { value: string; publicKey: string; flips: readonly unknown[]; count: number; valid: boolean }>();

function signatureValid(manifest: PatchManifest, sig: PatchSignature): boolean {
  const known = verdicts.get(manifest);
  if (known && known.value === sig.value && known.publicKey === sig.publicKey && known.flips === manifest.flips && known.count === manifest.flips.length) {
    return known.valid;
  }
  let valid = false;
  try {
    valid = ed.verify(hexToBytes(sig.value), signingPayload(manifest), hexToBytes(sig.publicKey));
  } catch {
    valid = false;
  }
  verdicts.set(manifest, { value: sig.value, publicKey: sig.publicKey, flips: manifest.flips, count: manifest.flips.length, valid });
  return valid;
}

export function verifyManifest(manifest: PatchManifest, opts: VerifyOptions = {}): VerifyResult {
  const sig = manifest.signature;
  if (!sig) return { ok: false, signed: false, validSignature: false, reason: 'the patch is not signed' };
  const valid = signatureValid(manifest, sig);
  const trusted = opts.trustedKeys?.some((k) => (typeof k === 'string' ? k.toLowerCase() : bytesToHex(k)) === sig.publicKey);
  const base = { signed: true, validSignature: valid, publicKey: sig.publicKey, ...(trusted !== undefined ? { trusted } : {}) };
  if (!valid) {
    return { ...base, ok: false, reason: `the signature does not match the content under key ${sig.publicKey}: the patch was changed after it was signed` };
  }
  if (trusted === false) {
    return { ...base, ok: false, reason: `signed by key ${sig.publicKey}, which is not in the trusted key list (re-signed by someone else?)` };
  }
  return { ...base, ok: true };
}

// ---- the one signature check before a patch is used ------------------------------------------------

export interface SignaturePolicy extends VerifyOptions {
  /** Refuse a patch without a valid signature (unsigned, or signed but not verifying). `force`
   *  never overrides this: it is asked for explicitly. */
  readonly requireSignature?: boolean;
  /** Use a signed patch whose signature does not verify (or whose signer is not trusted); it
   *  becomes a loud warning. Without it such a patch is refused. */
  readonly force?: boolean;
  /** Patch file label for messages. */
  readonly file?: string;
}

export interface SignatureCheck {
  readonly signed: boolean;
  /** The signer's public key (hex), when signed. */
  readonly signer?: string;
  /** Set when `force` let a patch whose signature does not hold through. */
  readonly warnings: readonly string[];
}

/**
 * What applying, baking and serving ask before a patch is used: a patch that carries a signature
 * must verify (under `trustedKeys`, when given); with `requireSignature` an unsigned patch is
 * refused too. Throws a PatchFormatError at `signature` naming the file and the fix; `force` turns
 * a signature that does not verify into a warning (never a missing one under `requireSignature`).
 */
export function checkSignature(manifest: PatchManifest, policy: SignaturePolicy = {}): SignatureCheck {
  const where = { file: policy.file, path: 'signature' };
  if (!manifest.signature) {
    if (policy.requireSignature) {
      throw new PatchFormatError('the patch is not signed, and a signature is required', {
        ...where, fix: 'use a patch signed by its author (bankai patch sign), or drop --require-signature',
      });
    }
    return { signed: false, warnings: [] };
  }
  const v = verifyManifest(manifest, policy.trustedKeys?.length ? { trustedKeys: policy.trustedKeys } : {});
  if (v.ok) return { signed: true, signer: v.publicKey, warnings: [] };
  if (policy.force && !policy.requireSignature) {
    return { signed: true, signer: v.publicKey, warnings: [`--force: THE SIGNATURE DOES NOT HOLD (${v.reason}); the patch is used anyway`] };
  }
  throw new PatchFormatError(v.reason!, {
    ...where,
    fix: policy.requireSignature
      ? 'get the patch again from its author (a patch with a broken signature is never used under --require-signature)'
      : 'get the patch again from its author, or pass force (--force) to use it anyway',
  });
}
