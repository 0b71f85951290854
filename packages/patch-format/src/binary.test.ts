import { describe, expect, it } from 'vitest';
import { int, randomFlips, rng, SMALL } from '../testing/random-patches.js';
import {
  binaryLayout,
  createManifest,
  crc32,
  crc32Reference,
  decodeBinary,
  encodeBinary,
  formatManifest,
  parseManifest,
  sha256Hex,
  type PatchManifest,
} from './index.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A random manifest on the small model: random flips (rows, groups, bits), a custom tensor
 *  name sometimes, optional sha256 / name / provenance fields. */
function randomManifest(r: () => number): PatchManifest {
  const flips = randomFlips(r);
  if (r() < 0.3) flips.push({ tensor: 'blk.0.ffn_gate_exps', row: int(r, 1000), bit: int(r, 5000) });
  if (r() < 0.3) flips.push({ tensor: 'token_embd', row: int(r, 8) }, { tensor: 'output', row: int(r, 8), group: 1 });
  return createManifest({
    ...(r() < 0.5 ? { name: `p${int(r, 1000)}`, description: 'random ∂ patch' } : {}),
    base: { ...(r() < 0.5 ? { sha256: sha256Hex(Uint8Array.of(int(r, 256))) } : {}), ...(r() < 0.5 ? { model: 'tiny' } : {}) },
    provenance: {
      tool: 'bankai-test',
      ...(r() < 0.5 ? { seed: int(r, 2 ** 31), fitness: r() - 0.5, options: { lambda: r(), layers: [1, 2] }, createdAt: '2025-01-01T00:00:00Z' } : {}),
    },
    flips,
    ...(r() < 0.8 ? { model: SMALL } : {}),
  });
}

describe('crc32', () => {
  it('matches the standard check value and the bit-serial reference on random inputs', () => {
    expect(crc32(utf8('123456789'))).toBe(0xcbf43926);
    const r = rng(7);
    for (let c = 0; c < 200; c++) {
      const bytes = Uint8Array.from({ length: int(r, 300) }, () => int(r, 256));
      expect(crc32(bytes)).toBe(crc32Reference(bytes));
    }
  });
});

describe('binary patches', () => {
  it('round-trip losslessly with the JSON manifest on random patches, and encode deterministically', () => {
    const r = rng(8);
    for (let c = 0; c < 200; c++) {
      const m = randomManifest(r);
      const bytes = encodeBinary(m);
      const back = decodeBinary(bytes);
      expect(back).toEqual(m);
      expect(parseManifest(formatManifest(back))).toEqual(m);
      expect(encodeBinary(parseManifest(formatManifest(m)))).toEqual(bytes);
    }
  });

  it('detects a change of any single byte (checksum) and any truncation', () => {
    const r = rng(9);
    const m = randomManifest(r);
    const bytes = encodeBinary(m);
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] = bad[i]! ^ (1 + int(r, 255));
      expect(() => decodeBinary(bad, 'x.bkp'), `byte ${i}`).toThrow(/x\.bkp: byte \d+: (checksum mismatch|not a bankai binary patch)/);
    }
    for (let n = 0; n < bytes.length; n++) expect(() => decodeBinary(bytes.subarray(0, n))).toThrow();
  });

  it('refuses content that passes the checksum but is malformed, naming the offset', () => {
    const m = createManifest({ provenance: { tool: 't' }, flips: [{ tensor: 'blk.0.ffn_up', row: 3 }] });
    const bytes = encodeBinary(m);
    const body = bytes.subarray(0, bytes.length - 4);
    const reseal = (b: Uint8Array): Uint8Array => {
      const out = new Uint8Array(b.length + 4);
      out.set(b);
      new DataView(out.buffer).setUint32(b.length, crc32(b), true);
      return out;
    };
    expect(decodeBinary(reseal(body))).toEqual(m);
    const newer = body.slice();
    newer[4] = 2;
    expect(() => decodeBinary(reseal(newer))).toThrow(/byte 4: binary patch version 2 is not supported/);
    const trailing = Uint8Array.of(...body, 0);
    expect(() => decodeBinary(reseal(trailing))).toThrow(/1 unexpected bytes after the last tensor/);
    // a row flip count that the remaining bytes cannot hold is refused before anything is read
    const huge = Uint8Array.of(...body.subarray(0, body.length - 4), 0xff, 0xff, 0xff, 0x07, 0, 0);
    expect(() => decodeBinary(reseal(huge))).toThrow(/cannot fit|corrupt/);
  });

  it('costs about 2 bytes a row flip on large sparse tensors', () => {
    const r = rng(10);
    const flips = Array.from({ length: 1000 }, () => ({ tensor: `blk.${int(r, 36)}.ffn_gate`, row: int(r, 12288) }));
    const m = createManifest({ provenance: { tool: 't' }, flips });
    const layout = binaryLayout(m);
    console.log(`1000 random row flips over 36 ffn_gate tensors: flip section ${layout.flips} bytes = ${(layout.flips / m.flips.length).toFixed(2)} B/flip`);
    expect(layout.flips / m.flips.length).toBeLessThan(3);
  });
});
