// ---- SHA-256 (FIPS 180-4) of bytes in memory, as lowercase hex ----
// Hand-written because a component has no host crypto: the model's fingerprint (info's sha256,
// a patch's base.sha256 check) is the file's sha256, as `sha256sum` prints it. Checked against
// node:crypto in the component test.

// raw static memory, not managed arrays: the hot loop then touches no GC roots (the shadow stack)
const K = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const W = memory.data(64 * 4); // (64) u32 message schedule
const H = memory.data(8 * 4); // (8) u32 state
const TAIL = memory.data(128); // the last one or two blocks, padded

// @ts-ignore: decorator
@inline function word(base: usize, i: i32): u32 {
  return load<u32>(base + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function setWord(base: usize, i: i32, v: u32): void {
  store<u32>(base + (<usize>i << 2), v);
}

function block(p: usize): void {
  for (let i = 0; i < 16; i++) setWord(W, i, bswap<u32>(word(p, i)));
  for (let i = 16; i < 64; i++) {
    const a = word(W, i - 15), b = word(W, i - 2);
    const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
    const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
    setWord(W, i, word(W, i - 16) + s0 + word(W, i - 7) + s1);
  }
  let a = word(H, 0), b = word(H, 1), c = word(H, 2), d = word(H, 3);
  let e = word(H, 4), f = word(H, 5), g = word(H, 6), h = word(H, 7);
  for (let i = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + word(K, i) + word(W, i);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  setWord(H, 0, word(H, 0) + a); setWord(H, 1, word(H, 1) + b); setWord(H, 2, word(H, 2) + c); setWord(H, 3, word(H, 3) + d);
  setWord(H, 4, word(H, 4) + e); setWord(H, 5, word(H, 5) + f); setWord(H, 6, word(H, 6) + g); setWord(H, 7, word(H, 7) + h);
}

export function sha256Hex(p: usize, len: usize): string {
  setWord(H, 0, 0x6a09e667); setWord(H, 1, 0xbb67ae85); setWord(H, 2, 0x3c6ef372); setWord(H, 3, 0xa54ff53a);
  setWord(H, 4, 0x510e527f); setWord(H, 5, 0x9b05688c); setWord(H, 6, 0x1f83d9ab); setWord(H, 7, 0x5be0cd19);
  const full = len & ~<usize>63;
  for (let o: usize = 0; o < full; o += 64) block(p + o);
  const rest = len - full;
  const t = TAIL;
  memory.fill(t, 0, 128);
  memory.copy(t, p + full, rest);
  store<u8>(t + rest, 0x80);
  const tailLen: usize = rest < 56 ? 64 : 128;
  store<u64>(t + tailLen - 8, bswap<u64>(<u64>len << 3));
  block(t);
  if (tailLen == 128) block(t + 64);
  let s = '';
  for (let i = 0; i < 8; i++) {
    const v = word(H, i);
    for (let k = 28; k >= 0; k -= 4) s += String.fromCharCode(((v >>> k) & 15) < 10 ? 48 + ((v >>> k) & 15) : 87 + ((v >>> k) & 15));
  }
  return s;
}
