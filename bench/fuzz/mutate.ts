// Seeded mutators for the fuzz suite (bench/fuzz.ts): byte-level edits for any file, tree edits
// for JSON documents, and metadata edits for GGUF files. Every mutation is a pure function of its
// Rng, so one input is reproduced from (seed, reader, index) alone.

import type { Rng } from '@bankai/rng';

const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)]!;

/** Integers that sit on a boundary of some field width, as little-endian byte strings. */
const INTERESTING: readonly bigint[] = [
  0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 31n, 32n, 33n, 40n, 41n, 63n, 64n, 127n, 128n, 255n, 256n, 1023n, 4096n,
  0x7fffn, 0x8000n, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  (1n << 53n) - 1n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n,
];

function writeLE(out: Uint8Array, at: number, value: bigint, width: number): void {
  for (let i = 0; i < width && at + i < out.length; i++) out[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}

function position(rng: Rng, length: number, hot: number): number {
  if (length === 0) return 0;
  // most edits land in the "hot" prefix (a GGUF header, a binary patch's tables)
  if (hot > 0 && rng.nextFloat() < 0.75) return rng.int(Math.min(hot, length));
  return rng.int(length);
}

export interface ByteMutationOptions {
  /** Bytes at the start that most edits hit. */
  readonly hot?: number;
  /** Other inputs to splice chunks from. */
  readonly donors?: readonly Uint8Array[];
  /** Most edits applied (1..max). */
  readonly maxEdits?: number;
}

/** 1..maxEdits random byte edits: bit flips, boundary integers, inserts, deletes, repeats,
 *  truncation, splices. */
export function mutateBytes(rng: Rng, input: Uint8Array, opts: ByteMutationOptions = {}): Uint8Array {
  let b = input.slice();
  const edits = 1 + rng.int(opts.maxEdits ?? 4);
  const hot = opts.hot ?? 0;
  for (let e = 0; e < edits; e++) {
    const at = position(rng, b.length, hot);
    switch (rng.int(10)) {
      case 0:
      case 1: // a bit
        if (b.length) b[at] ^= 1 << rng.int(8);
        break;
      case 2: // a byte
        if (b.length) b[at] = rng.int(256);
        break;
      case 3:
      case 4: // a boundary integer of 1, 2, 4 or 8 bytes
        writeLE(b, at, pick(rng, INTERESTING) + (rng.nextFloat() < 0.2 ? BigInt(rng.int(3)) - 1n : 0n), pick(rng, [1, 2, 4, 8, 8]));
        break;
      case 5: { // delete a range
        const len = Math.min(b.length - at, rng.nextFloat() < 0.8 ? 1 + rng.int(16) : 1 + rng.int(4096));
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]);
        break;
      }
      case 6: { // insert random bytes
        const len = rng.nextFloat() < 0.8 ? 1 + rng.int(16) : 1 + rng.int(1024);
        const ins = new Uint8Array(len).map(() => rng.int(256));
        const next = new Uint8Array(b.length + len);
        next.set(b.subarray(0, at));
        next.set(ins, at);
        next.set(b.subarray(at), at + len);
        b = next;
        break;
      }
      case 7: { // repeat a range
        const len = Math.min(b.length - at, 1 + rng.int(64));
        const chunk = b.slice(at, at + len);
        const next = new Uint8Array(b.length + len);
        next.set(b.subarray(0, at + len));
        next.set(chunk, at + len);
        next.set(b.subarray(at + len), at + 2 * len);
        b = next;
        break;
      }
      case 8: // truncate
        b = b.slice(0, at);
        break;
      case 9: { // splice a chunk of another input over this one
        const donor = opts.donors?.length ? pick(rng, opts.donors) : b;
        if (donor.length === 0) break;
        const from = rng.int(donor.length);
        const len = Math.min(donor.length - from, 1 + rng.int(256));
        const next = new Uint8Array(Math.max(b.length, at + len));
        next.set(b);
        next.set(donor.subarray(from, from + len), at);
        b = next;
        break;
      }
    }
  }
  return b;
}

// ---- JSON trees -----------------------------------------------------------------------------

/** Placeholder strings replaced by raw text after JSON.stringify (deep nesting built as a value
 *  would overflow this harness's own stack). */
const RAW = '\u0001RAW:';

function rawText(rng: Rng): string {
  switch (rng.int(6)) {
    case 0: { const n = pick(rng, [33, 64, 65, 100, 5000, 20000]); return '['.repeat(n) + ']'.repeat(n); }
    case 1: { const n = pick(rng, [65, 5000]); return '{"a":'.repeat(n) + '1' + '}'.repeat(n); }
    case 2: return pick(rng, ['1e999', '-1e999', '-0', '1e-400', '123456789012345678901234567890', '0.1e1', '5e-324']);
    case 3: return `[${Array.from({ length: pick(rng, [1000, 100000]) }, () => '0').join(',')}]`;
    case 4: return `"${'x'.repeat(pick(rng, [129, 513, 65537, 1 << 20]))}"`;
    default: return '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}';
  }
}

/** A random JSON value: boundary numbers, hostile strings, prototype keys, deep nesting. */
export function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 7 : 10)) {
    case 0: return null;
    case 1: return rng.nextFloat() < 0.5;
    case 2: return pick(rng, [0, -1, 1, 2, 3, 7, 127, 128, 129, 255, 4096, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 31), 0.5, 1e308, -1e-308, 151936]);
    case 3: return pick(rng, ['', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'blk.0.ffn_gate', 'blk.99999999.ffn_up', 'token_embd', 'output',
      'blk.0.ffn_gate.weight', 'gate_proj', 'ed25519', 'bankai-patch', 'bankai_row_xor_v1', 'row_flip', 'a'.repeat(200), '\u0000', '\ud800', 'é', '#', 'A,B', 'f'.repeat(64), '0'.repeat(128)]);
    case 4: return `${RAW}${rng.nextU32()}`; // raw text, filled in by stringify
    case 5: return rng.int(1000);
    case 6: return String.fromCharCode(...Array.from({ length: rng.int(12) }, () => rng.int(0x3000)));
    case 7: return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) setOwn(o, pick(rng, ['tensor', 'row', 'group', 'bit', 'layer', 'proj', 'prompt', 'correct', 'wrong', 'x', '__proto__', 'constructor']), randomJson(rng, depth + 1));
      return o;
    }
  }
}

/** Sets an own property even for `__proto__` (plain assignment would set the prototype). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

interface Slot {
  readonly parent: unknown[] | Record<string, unknown>;
  readonly key: string | number;
}

function slotsOf(root: unknown, limit = 4000): Slot[] {
  const out: Slot[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0 && out.length < limit) {
    const v = stack.pop();
    if (Array.isArray(v)) v.forEach((c, i) => { out.push({ parent: v, key: i }); stack.push(c); });
    else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) { out.push({ parent: v as Record<string, unknown>, key: k }); stack.push((v as Record<string, unknown>)[k]); }
    }
  }
  return out;
}

const clone = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** 1..4 tree edits of a parsed JSON document: replace, delete, rename, duplicate, retype. */
export function mutateJsonValue(rng: Rng, value: unknown): unknown {
  const root = { root: clone(value) } as Record<string, unknown>;
  for (let e = 1 + rng.int(4); e > 0; e--) {
    const slots = slotsOf(root);
    if (slots.length === 0) break;
    const s = pick(rng, slots);
    const parent = s.parent as Record<string | number, unknown>;
    switch (rng.int(7)) {
      case 0:
      case 1: // replace a value
        parent[s.key] = randomJson(rng);
        break;
      case 2: // delete
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else if (s.parent !== root) delete parent[s.key];
        break;
      case 3: // rename a key, or swap two items
        if (!Array.isArray(s.parent) && s.parent !== root) {
          const v = parent[s.key];
          delete parent[s.key];
          setOwn(s.parent as Record<string, unknown>, pick(rng, ['__proto__', 'constructor', 'prototype', 'extra', String(s.key).toUpperCase(), `${String(s.key)}_`]), v);
        } else if (Array.isArray(s.parent) && s.parent.length > 1) {
          const j = rng.int(s.parent.length);
          [s.parent[j], s.parent[s.key as number]] = [s.parent[s.key as number], s.parent[j]];
        }
        break;
      case 4: // duplicate an array item (repeated flips, repeated probe names)
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 0, clone(s.parent[s.key as number]));
        else parent[s.key] = [parent[s.key], clone(parent[s.key])];
        break;
      case 5: { // a number nudged across a boundary
        const v = parent[s.key];
        if (typeof v === 'number') parent[s.key] = pick(rng, [v + 1, v - 1, -v, v * 2 ** 20, v + 0.5, 2 ** 31 - 1 - v]);
        else parent[s.key] = pick(rng, [0, -1, 2 ** 31, `${String(v)}`]);
        break;
      }
      default: // wrap in an array or an object
        parent[s.key] = rng.nextFloat() < 0.5 ? [parent[s.key]] : { value: parent[s.key] };
    }
  }
  return root.root;
}

/** JSON text of a value, with RAW placeholders replaced by their hostile texts. */
export function stringifyWithRaw(rng: Rng, value: unknown, pretty: boolean): string {
  const text = JSON.stringify(value, null, pretty ? 2 : undefined) ?? 'null';
  return text.replace(/"\\u0001RAW:\d+"/g, () => rawText(rng));
}

// ---- GGUF metadata --------------------------------------------------------------------------

export type MetaEdit =
  | { kind: 'set'; key: string; value: import('@bankai/gguf').GgufValue }
  | { kind: 'delete'; key: string }
  | { kind: 'tokens'; op: 'duplicate' | 'empty' | 'drop-last' | 'append' }
  | { kind: 'merges'; op: 'break' | 'empty' }
  | { kind: 'template'; text: string };

/** A semantic edit of a model's metadata: values that parse as GGUF but are wrong for a
 *  Qwen3 model or its tokenizer (ids outside the vocabulary, duplicate tokens, wrong types,
 *  counts that would size a huge allocation). */
export function randomMetaEdit(rng: Rng, keys: readonly string[]): MetaEdit {
  // imported lazily so this file stays usable without @bankai/gguf's runtime in type position
  const ints = [0, 1, 3, 4, 5, 64, 127, 511, 512, 513, 4096, 2 ** 31 - 1, 2 ** 32 - 1];
  switch (rng.int(8)) {
    case 0: return { kind: 'set', key: pick(rng, ['tokenizer.ggml.eot_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.bos_token_id']), value: { type: 'u32', value: pick(rng, ints) } };
    case 1: return { kind: 'tokens', op: pick(rng, ['duplicate', 'empty', 'drop-last', 'append'] as const) };
    case 2: return { kind: 'merges', op: pick(rng, ['break', 'empty'] as const) };
    case 3: return { kind: 'delete', key: pick(rng, keys) };
    case 4: return {
      kind: 'set',
      key: pick(rng, ['qwen3.block_count', 'qwen3.embedding_length', 'qwen3.feed_forward_length', 'qwen3.attention.head_count', 'qwen3.attention.head_count_kv',
        'qwen3.attention.key_length', 'qwen3.context_length', 'qwen3.rope.dimension_count']),
      value: rng.nextFloat() < 0.7 ? { type: 'u32', value: pick(rng, ints) } : { type: 'u64', value: pick(rng, [0n, 2n ** 40n, 2n ** 63n, 2n ** 53n + 1n]) },
    };
    case 5: { // a key with a value of another type
      const key = pick(rng, keys);
      const value = pick(rng, [
        { type: 'string', value: 'qwen3' }, { type: 'f32', value: 2.5 }, { type: 'bool', value: true }, { type: 'i64', value: -1n },
        { type: 'array', itemType: 'u8', value: new Uint8Array(3) }, { type: 'array', itemType: 'string', value: ['a', 'b'] },
        { type: 'array', itemType: 'u64', value: new BigUint64Array([1n, 2n ** 63n]) },
      ] as const);
      return { kind: 'set', key, value: value as import('@bankai/gguf').GgufValue };
    }
    case 6: return { kind: 'set', key: pick(rng, ['tokenizer.ggml.model', 'tokenizer.ggml.pre', 'general.architecture']), value: { type: 'string', value: pick(rng, ['llama', 'gpt2', 'qwen2', 'qwen3', '']) } };
    default: return { kind: 'template', text: pick(rng, ['{{', '{% for %}', '{{ messages[0].content }}', '{% raise_exception("no") %}', 'x'.repeat(1000), '{% if %}{% endif %}']) };
  }
}
