// Optional ed25519 signatures over a patch's canonical bytes. The manifest carries the signer's
// public key; a signature proves the content was not changed since that key signed it. Whether
// the key is one you trust is a separate question: pass trustedKeys to have verify answer it
// (a patch re-signed by someone else verifies, but with a key that is not on your list).

import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { utf8 } from './json.js';
import { canonicalJson, type PatchManifest } from './manifest.js';

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

export function verifyManifest(manifest: PatchManifest, opts: VerifyOptions = {}): VerifyResult {
  const sig = manifest.signature;
  if (!sig) return { ok: false, signed: false, validSignature: false, reason: 'the patch is not signed' };
  let valid = false;
  try {
    valid = ed.verify(hexToBytes(sig.value), signingPayload(manifest), hexToBytes(sig.publicKey));
  } catch {
    valid = false;
  }
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
