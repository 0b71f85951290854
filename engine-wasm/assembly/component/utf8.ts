// ---- UTF-8 checks and repair (WHATWG decoder semantics) ----
// Returned strings must be valid UTF-8 (the canonical ABI requires it). Decoding token bytes
// replaces every maximal invalid subsequence with U+FFFD exactly as TextDecoder does (the TS
// tokenizer decodes with it), so the component's text equals @bankai/model's.

/** Length of the valid sequence starting at p (1..4), or 0 when it is invalid; `bad` gets the
 *  WHATWG length of the maximal invalid subpart (bytes to replace with one U+FFFD). */
// @ts-ignore: decorator
@inline function seqLen(p: usize, end: usize, bad: usize): i32 {
  const b0 = <u32>load<u8>(p);
  if (b0 < 0x80) return 1;
  let need = 0;
  let lo: u32 = 0x80, hi: u32 = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    store<usize>(bad, 1);
    return 0;
  }
  let i = 1;
  for (; i <= need; i++) {
    if (p + <usize>i >= end) break;
    const b = <u32>load<u8>(p + <usize>i);
    if (b < lo || b > hi) break;
    lo = 0x80;
    hi = 0xbf;
  }
  if (i > need) return need + 1;
  store<usize>(bad, <usize>i); // lead byte plus the continuation bytes that were valid so far
  return 0;
}

const scratch = memory.data(8);

export function isValidUtf8(p: usize, len: usize): bool {
  const end = p + len;
  while (p < end) {
    const n = seqLen(p, end, scratch);
    if (n == 0) return false;
    p += <usize>n;
  }
  return true;
}

/** Bytes -> valid UTF-8 (invalid subsequences become EF BF BD), in a new managed buffer. */
export function repairUtf8(p: usize, len: usize): ArrayBuffer {
  if (isValidUtf8(p, len)) {
    const out = new ArrayBuffer(<i32>len);
    memory.copy(changetype<usize>(out), p, len);
    return out;
  }
  const end = p + len;
  // worst case: every byte becomes 3
  const tmp = heap.alloc(len * 3);
  let o = tmp;
  while (p < end) {
    const n = seqLen(p, end, scratch);
    if (n > 0) {
      memory.copy(o, p, <usize>n);
      o += <usize>n;
      p += <usize>n;
    } else {
      store<u8>(o, 0xef);
      store<u8>(o + 1, 0xbf);
      store<u8>(o + 2, 0xbd);
      o += 3;
      p += load<usize>(scratch);
    }
  }
  const out = new ArrayBuffer(<i32>(o - tmp));
  memory.copy(changetype<usize>(out), tmp, o - tmp);
  heap.free(tmp);
  return out;
}
