// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of binary patches. The
// 256-entry table is built once; crc32Reference is the bit-at-a-time definition it must match.

const POLY = 0xedb88320;

const TABLE = (() => {
  const table = new Uint32Array(256); // (256) u32: CRC of each byte value
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Bit-serial reference: the definition, one bit at a time. */
export function crc32Reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
