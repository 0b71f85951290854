// JSON values and canonical serialization: free-form objects (provenance options, upstream
// metadata) are written with their keys sorted (UTF-16 code unit order), so equal values give
// equal bytes whatever order they were built in.

import { at, fail, type Where } from './errors.js';
import { isPlainObject, show } from './flip.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Checks that a parsed value is plain JSON (finite numbers only) and returns it key-sorted. */
export function checkJson(value: unknown, where: Where, depth = 0): JsonValue {
  if (depth > 32) fail(where, 'nested more than 32 levels deep', 'flatten this value');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(where, `number ${value} is not finite`, 'write a finite number or null');
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => checkJson(v, at(where, i), depth + 1));
  if (isPlainObject(value)) return sortedObject(value, where, depth);
  fail(where, `not a JSON value: ${show(value)}`, 'use only null, booleans, finite numbers, strings, arrays and objects');
}

function sortedObject(value: Record<string, unknown>, where: Where, depth: number): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(value).sort()) {
    if (value[key] === undefined) continue;
    out[key] = checkJson(value[key], at(where, key), depth + 1);
  }
  return out;
}

export function checkJsonObject(value: unknown, where: Where): JsonObject {
  if (!isPlainObject(value)) fail(where, `must be an object, got ${show(value)}`, 'write a JSON object { ... }');
  return sortedObject(value, where, 0);
}

export function parseJsonText(text: string, file?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    fail({ file, path: '' }, `not valid JSON (${(e as Error).message})`, 'fix the JSON syntax or pass the right file');
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8 strictly (bad bytes throw, they are never replaced). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

/** Readable JSON: 2-space indent, objects one key a line, except that arrays of scalars and
 *  objects whose values are all scalars (a flip, a tensor shape) stay on one line. */
export function prettyJson(value: unknown, indent = ''): string {
  if (isScalar(value)) return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every(isScalar)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    return `[\n${value.map((v) => inner + prettyJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  if (indent.length >= 4 && entries.every(([, v]) => isScalar(v))) {
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
  }
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(',\n')}\n${indent}}`;
}
