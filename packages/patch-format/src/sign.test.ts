import { describe, expect, it } from 'vitest';
import { int, randomFlips, rng, SMALL } from '../testing/random-patches.js';
import {
  PatchFormatError,
  checkPatchForModel,
  checkSignature,
  createManifest,
  decodeBinary,
  encodeBinary,
  formatManifest,
  generateSigningKey,
  parseManifest,
  signManifest,
  verifyManifest,
  withFlips,
} from './index.js';

describe('signatures', () => {
  const alice = generateSigningKey();
  const mallory = generateSigningKey();
  const manifest = createManifest({ name: 'math', provenance: { tool: 'bankai', seed: 1 }, flips: [{ tensor: 'blk.0.ffn_up', row: 3 }, { tensor: 'blk.1.ffn_down', row: 2, group: 2 }], model: SMALL });

  it('verifies, and survives the JSON and binary round trips', () => {
    const signed = signManifest(manifest, alice.secretKey);
    expect(verifyManifest(signed)).toMatchObject({ ok: true, signed: true, validSignature: true });
    expect(verifyManifest(parseManifest(formatManifest(signed))).ok).toBe(true);
    expect(verifyManifest(decodeBinary(encodeBinary(signed))).ok).toBe(true);
    expect(verifyManifest(signed, { trustedKeys: [alice.publicKey] })).toMatchObject({ ok: true, trusted: true });
    expect(verifyManifest(manifest)).toMatchObject({ ok: false, signed: false, reason: 'the patch is not signed' });
  });

  it('detects tampering with any part of a signed manifest (random edits)', () => {
    const signed = signManifest(manifest, alice.secretKey);
    const r = rng(11);
    for (let c = 0; c < 40; c++) {
      const edits = [
        () => withFlips(signed, randomFlips(r)),
        () => ({ ...signed, flips: [...signed.flips, { tensor: 'blk.0.attn_q', row: int(r, 200) }] }),
        () => ({ ...signed, name: `math${c}` }),
        () => ({ ...signed, provenance: { ...signed.provenance, seed: 2 + c } }),
        () => ({ ...signed, base: { ...signed.base, tensors: { ...signed.base.tensors, 'blk.0.ffn_up': [256, 385] as const } } }),
      ];
      const tampered = { ...edits[c % edits.length]!(), signature: signed.signature };
      const result = verifyManifest(tampered);
      expect(result.ok).toBe(false);
      expect(result.validSignature).toBe(false);
    }
    // tampering the file text
    const text = formatManifest(signed).replace('"row": 3}', '"row": 4}');
    expect(verifyManifest(parseManifest(text)).reason).toMatch(/changed after it was signed/);
    // swapping in another public key
    const swapped = { ...signed, signature: { ...signed.signature!, publicKey: Buffer.from(mallory.publicKey).toString('hex') } };
    expect(verifyManifest(swapped).ok).toBe(false);
  });

  it('a patch re-signed by another key verifies only as that key, and fails a trusted-key check', () => {
    const evil = signManifest({ ...manifest, name: 'evil' }, mallory.secretKey);
    const result = verifyManifest(evil, { trustedKeys: [Buffer.from(alice.publicKey).toString('hex')] });
    expect(result).toMatchObject({ ok: false, validSignature: true, trusted: false, publicKey: Buffer.from(mallory.publicKey).toString('hex') });
    expect(result.reason).toMatch(/not in the trusted key list/);
  });

  it('checkSignature: a signed patch is used only when it holds; --force warns; requireSignature refuses unsigned ones', () => {
    const signed = signManifest(manifest, alice.secretKey);
    const tampered = { ...signed, flips: signed.flips.slice(1) };
    expect(checkSignature(signed)).toEqual({ signed: true, signer: signed.signature!.publicKey, warnings: [] });
    expect(checkSignature(manifest)).toEqual({ signed: false, warnings: [] });
    expect(() => checkSignature(tampered, { file: 't.json' })).toThrow(PatchFormatError);
    expect(() => checkSignature(tampered, { file: 't.json' })).toThrow(/^t\.json: signature: the signature does not match .* changed after it was signed\. Fix: .*--force/);
    expect(checkSignature(tampered, { force: true }).warnings[0]).toMatch(/^--force: THE SIGNATURE DOES NOT HOLD/);
    expect(() => checkSignature(manifest, { requireSignature: true, file: 'u.json' })).toThrow(/^u\.json: signature: the patch is not signed, and a signature is required/);
    // --force never overrides --require-signature
    expect(() => checkSignature(manifest, { requireSignature: true, force: true })).toThrow(/not signed/);
    expect(() => checkSignature(tampered, { requireSignature: true, force: true })).toThrow(/changed after it was signed/);
    // an untrusted signer
    expect(() => checkSignature(signed, { trustedKeys: [mallory.publicKey] })).toThrow(/not in the trusted key list/);
    // checkPatchForModel (applyPatch, planBake, serve) makes the same check first
    expect(() => checkPatchForModel(tampered, SMALL)).toThrow(/changed after it was signed/);
    expect(checkPatchForModel(tampered, SMALL, { force: true }).warnings.some((w) => w.includes('SIGNATURE DOES NOT HOLD'))).toBe(true);
    expect(() => checkPatchForModel(manifest, SMALL, { requireSignature: true })).toThrow(/not signed/);
    expect(checkPatchForModel(tampered, SMALL, { verifySignature: false }).warnings).not.toContain(expect.stringMatching(/SIGNATURE/));
  });

  it('verifies once per manifest object (a swap must not pay ed25519), and again for a changed one', () => {
    const signed = signManifest(manifest, alice.secretKey);
    const t0 = performance.now();
    expect(verifyManifest(signed).ok).toBe(true);
    const first = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 100; i++) verifyManifest(signed);
    expect((performance.now() - t1) / 100).toBeLessThan(Math.max(first / 5, 0.05));
    // the same object with its flips swapped in place is verified again
    const copy = { ...signed, flips: [...signed.flips] };
    expect(verifyManifest(copy).ok).toBe(true);
    (copy as { flips: unknown[] }).flips = copy.flips.slice(1);
    expect(verifyManifest(copy).ok).toBe(false);
  });
});
