import { describe, expect, it } from 'vitest';
import { int, randomFlips, rng, SMALL } from '../testing/random-patches.js';
import {
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
});
