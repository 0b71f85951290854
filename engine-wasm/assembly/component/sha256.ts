// ---- SHA-256 (FIPS 180-4) of bytes in memory, as lowercase hex ----
// Hand-written because a component has no host crypto: the model's fingerprint (info's sha256,
// a patch's base.sha256 check) is the file's sha256, as `sha256sum` prints it. Checked against
// node:crypto in the component test.

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const W = new StaticArray<u32>(64);
const H = new StaticArray<u32>(8);
const TAIL = new StaticArray<u8>(128);

function block(p: usize): void {
  for (let i = 0; i < 16; i++) unchecked(W[i] = bswap<u32>(load<u32>(p + (<usize>i << 2))));
  for (let i = 16; i < 64; i++) {
    const a = unchecked(W[i - 15]), b = unchecked(W[i - 2]);
    const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
    const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
    unchecked(W[i] = unchecked(W[i - 16]) + s0 + unchecked(W[i - 7]) + s1);
  }
  let a = unchecked(H[0]), b = unchecked(H[1]), c = unchecked(H[2]), d = unchecked(H[3]), e = unchecked(H[4]), f = unchecked(H[5]), g = unchecked(H[6]), h = unchecked(H[7]);
  for (let i = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + unchecked(K[i]) + unchecked(W[i]);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  unchecked(H[0] = unchecked(H[0]) + a); unchecked(H[1] = unchecked(H[1]) + b); unchecked(H[2] = unchecked(H[2]) + c); unchecked(H[3] = unchecked(H[3]) + d); unchecked(H[4] = unchecked(H[4]) + e); unchecked(H[5] = unchecked(H[5]) + f); unchecked(H[6] = unchecked(H[6]) + g); unchecked(H[7] = unchecked(H[7]) + h);
}

export function sha256Hex(p: usize, len: usize): string {
  H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
  H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
  const full = len & ~<usize>63;
  for (let o: usize = 0; o < full; o += 64) block(p + o);
  const rest = len - full;
  const t = changetype<usize>(TAIL);
  memory.fill(t, 0, 128);
  memory.copy(t, p + full, rest);
  store<u8>(t + rest, 0x80);
  const tailLen: usize = rest < 56 ? 64 : 128;
  store<u64>(t + tailLen - 8, bswap<u64>(<u64>len << 3));
  block(t);
  if (tailLen == 128) block(t + 64);
  let s = '';
  for (let i = 0; i < 8; i++) {
    const v = H[i];
    for (let k = 28; k >= 0; k -= 4) s += String.fromCharCode(((v >>> k) & 15) < 10 ? 48 + ((v >>> k) & 15) : 87 + ((v >>> k) & 15));
  }
  return s;
}
