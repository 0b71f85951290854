// ---- bounds-checked little-endian reads over bytes in this component's memory ----
// Every read first checks that the bytes exist; past the end it records an error naming the
// field and the byte offset (errors.ts) and returns 0 / "" from then on, so a parser can read a
// whole record and check `failed()` once.

import { fail, failed } from './errors';

export class Reader {
  pos: usize = 0;

  constructor(readonly base: usize, readonly len: usize, readonly file: string) {}

  get remaining(): usize {
    return this.len - this.pos;
  }

  /** True when n more bytes exist (n counted in u64 so a corrupt 64-bit length cannot wrap). */
  need(n: u64, field: string): bool {
    if (failed()) return false;
    if (n > <u64>this.remaining) {
      return fail(`${this.file}: ${field} at byte ${this.pos} needs ${n} bytes but only ${this.remaining} remain: ` +
        'the data is truncated or corrupt.');
    }
    return true;
  }

  u8(field: string): u32 {
    if (!this.need(1, field)) return 0;
    const v = <u32>load<u8>(this.base + this.pos);
    this.pos += 1;
    return v;
  }

  u16(field: string): u32 {
    if (!this.need(2, field)) return 0;
    const v = <u32>load<u16>(this.base + this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): u32 {
    if (!this.need(4, field)) return 0;
    const v = load<u32>(this.base + this.pos);
    this.pos += 4;
    return v;
  }

  u64(field: string): u64 {
    if (!this.need(8, field)) return 0;
    const v = load<u64>(this.base + this.pos);
    this.pos += 8;
    return v;
  }

  f32(field: string): f32 {
    return reinterpret<f32>(this.u32(field));
  }

  f64(field: string): f64 {
    return reinterpret<f64>(this.u64(field));
  }

  /** Unsigned LEB128 of at most 5 bytes and value <= 2^31 - 1 (the .bkp varint). */
  varint(field: string): i32 {
    let v: u64 = 0;
    for (let i = 0; i < 5; i++) {
      const at = this.pos;
      const b = this.u8(field);
      if (failed()) return 0;
      v |= <u64>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        if (v > 0x7fffffff) {
          fail(`${this.file}: ${field} at byte ${at} is ${v}, above 2^31 - 1: the file is corrupt.`);
          return 0;
        }
        return <i32>v;
      }
    }
    fail(`${this.file}: ${field} at byte ${this.pos - 5} is a varint longer than 5 bytes: the file is corrupt.`);
    return 0;
  }

  /** `n` bytes as a UTF-8 string (invalid sequences become U+FFFD). */
  utf8(n: u64, field: string): string {
    if (!this.need(n, field)) return '';
    const s = String.UTF8.decodeUnsafe(this.base + this.pos, <usize>n);
    this.pos += <usize>n;
    return s;
  }

  skip(n: u64, field: string): void {
    if (this.need(n, field)) this.pos += <usize>n;
  }
}
