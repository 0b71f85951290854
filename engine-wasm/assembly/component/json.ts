// ---- a strict JSON reader (RFC 8259) for patch manifests, without exceptions ----
// Objects keep their key order; a repeated key, trailing data, a nesting deeper than 64 or any
// syntax error is recorded (errors.ts) with its byte offset and gives null.

import { fail, failed } from './errors';

export const J_NULL = 0, J_BOOL = 1, J_NUM = 2, J_STR = 3, J_ARR = 4, J_OBJ = 5;
const MAX_DEPTH = 64; // arrays and objects, as @bankai/patch-format's MAX_JSON_DEPTH
/** Keys that reach a JavaScript object's prototype: @bankai/patch-format refuses them anywhere. */
const PROTOTYPE_KEYS: string[] = ['__proto__', 'constructor', 'prototype'];

export class JValue {
  kind: i32 = J_NULL;
  bool: bool = false;
  num: f64 = 0;
  str: string = '';
  items: Array<JValue> = [];
  keys: Array<string> = [];

  /** Member `key` of an object, or null. */
  get(key: string): JValue | null {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.items[i];
    return null;
  }
}

class Parser {
  pos: usize = 0;
  constructor(readonly base: usize, readonly len: usize, readonly file: string) {}

  err(what: string): JValue | null {
    fail(`${this.file}: invalid JSON at byte ${this.pos}: ${what}. Fix: pass a bankai patch (.bkp or manifest JSON).`);
    return null;
  }

  peek(): i32 {
    return this.pos < this.len ? <i32>load<u8>(this.base + this.pos) : -1;
  }

  ws(): void {
    while (this.pos < this.len) {
      const c = load<u8>(this.base + this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  literal(word: string): bool {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() != word.charCodeAt(i)) return false;
      this.pos++;
    }
    return true;
  }

  value(depth: i32): JValue | null {
    this.ws();
    const c = this.peek();
    if ((c == 0x7b || c == 0x5b) && depth + 1 > MAX_DEPTH) return this.err(`nested more than ${MAX_DEPTH} levels deep`);
    const v = new JValue();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) {
      this.pos++;
      v.kind = J_ARR;
      this.ws();
      if (this.peek() == 0x5d) {
        this.pos++;
        return v;
      }
      for (;;) {
        const item = this.value(depth + 1);
        if (item === null) return null;
        v.items.push(item);
        this.ws();
        const d = this.peek();
        this.pos++;
        if (d == 0x5d) return v;
        if (d != 0x2c) {
          this.pos--;
          return this.err("expected ',' or ']'");
        }
      }
    }
    if (c == 0x22) {
      v.kind = J_STR;
      if (!this.string(v)) return null;
      return v;
    }
    if (c == 0x74 || c == 0x66 || c == 0x6e) {
      const word = c == 0x74 ? 'true' : c == 0x66 ? 'false' : 'null';
      if (!this.literal(word)) return this.err(`expected ${word}`);
      v.kind = c == 0x6e ? J_NULL : J_BOOL;
      v.bool = c == 0x74;
      return v;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.err(c < 0 ? 'unexpected end' : 'unexpected character');
  }

  object(depth: i32): JValue | null {
    const v = new JValue();
    v.kind = J_OBJ;
    this.pos++;
    this.ws();
    if (this.peek() == 0x7d) {
      this.pos++;
      return v;
    }
    for (;;) {
      this.ws();
      if (this.peek() != 0x22) return this.err('expected a string key');
      const at = this.pos;
      const k = new JValue();
      if (!this.string(k)) return null;
      if (PROTOTYPE_KEYS.includes(k.str)) {
        this.pos = at;
        return this.err(`the key "${k.str}" is not allowed (it names a JavaScript object prototype)`);
      }
      this.ws();
      if (this.peek() != 0x3a) return this.err("expected ':'");
      this.pos++;
      const item = this.value(depth + 1);
      if (item === null) return null;
      // a repeated key: the last value wins, in the first one's place (JSON.parse)
      const seen = v.keys.indexOf(k.str);
      if (seen >= 0) v.items[seen] = item;
      else {
        v.keys.push(k.str);
        v.items.push(item);
      }
      this.ws();
      const d = this.peek();
      this.pos++;
      if (d == 0x7d) return v;
      if (d != 0x2c) {
        this.pos--;
        return this.err("expected ',' or '}'");
      }
    }
    return null;
  }

  hex4(): i32 {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.peek();
      this.pos++;
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    return v;
  }

  string(v: JValue): bool {
    this.pos++;
    const units = new Array<i32>();
    let runStart = this.pos;
    let out = '';
    for (;;) {
      if (this.pos >= this.len) {
        this.err('unterminated string');
        return false;
      }
      const c = <i32>load<u8>(this.base + this.pos);
      if (c == 0x22 || c == 0x5c) {
        out += String.UTF8.decodeUnsafe(this.base + runStart, this.pos - runStart);
        this.pos++;
        if (c == 0x22) break;
        const e = this.peek();
        this.pos++;
        units.length = 0;
        if (e == 0x22) out += '"';
        else if (e == 0x5c) out += '\\';
        else if (e == 0x2f) out += '/';
        else if (e == 0x62) out += '\b';
        else if (e == 0x66) out += '\f';
        else if (e == 0x6e) out += '\n';
        else if (e == 0x72) out += '\r';
        else if (e == 0x74) out += '\t';
        else if (e == 0x75) {
          const u = this.hex4();
          if (u < 0) {
            this.err('bad \\u escape');
            return false;
          }
          out += String.fromCharCode(u);
        } else {
          this.pos--;
          this.err('bad escape');
          return false;
        }
        runStart = this.pos;
        continue;
      }
      if (c < 0x20) {
        this.err('control character in a string');
        return false;
      }
      this.pos++;
    }
    v.str = out;
    return true;
  }

  number(): JValue | null {
    const start = this.pos;
    if (this.peek() == 0x2d) this.pos++;
    const d0 = this.peek();
    if (d0 == 0x30) this.pos++;
    else if (d0 >= 0x31 && d0 <= 0x39) while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    else return this.err('bad number');
    if (this.peek() == 0x2e) {
      this.pos++;
      if (!(this.peek() >= 0x30 && this.peek() <= 0x39)) return this.err('bad number');
      while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    }
    if (this.peek() == 0x65 || this.peek() == 0x45) {
      this.pos++;
      if (this.peek() == 0x2b || this.peek() == 0x2d) this.pos++;
      if (!(this.peek() >= 0x30 && this.peek() <= 0x39)) return this.err('bad number');
      while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    }
    const v = new JValue();
    v.kind = J_NUM;
    v.num = parseFloat(String.UTF8.decodeUnsafe(this.base + start, this.pos - start));
    return v;
  }
}

/** Plain JSON for a free-form value (patch-format checkJson): finite numbers, nesting <= 32. */
export function checkPlainJson(v: JValue, depth: i32, path: string, file: string): bool {
  if (depth > 32) return fail(`${file}: ${path} is nested more than 32 levels deep. Fix: flatten this value`);
  if (v.kind == J_NUM && !isFinite(v.num)) return fail(`${file}: ${path}: number ${v.num} is not finite. Fix: write a finite number or null`);
  if (v.kind == J_ARR) {
    for (let i = 0; i < v.items.length; i++) if (!checkPlainJson(v.items[i], depth + 1, `${path}[${i}]`, file)) return false;
  }
  if (v.kind == J_OBJ) {
    for (let i = 0; i < v.items.length; i++) if (!checkPlainJson(v.items[i], depth + 1, `${path}.${v.keys[i]}`, file)) return false;
  }
  return true;
}

/** Parses JSON text (valid UTF-8, checked by the caller); null with the error recorded. */
export function parseJson(base: usize, len: usize, file: string): JValue | null {
  const p = new Parser(base, len, file);
  const v = p.value(0);
  if (v === null || failed()) return null;
  p.ws();
  if (p.pos != len) return p.err('unexpected data after the JSON value');
  return v;
}
