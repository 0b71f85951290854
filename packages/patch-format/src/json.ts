// JSON values and canonical serialization: free-form objects (provenance options, upstream
// metadata) are written with their keys sorted (UTF-16 code unit order), so equal values give
// equal bytes whatever order they were built in.

import { at, fail, type Where } from './errors.js';
import { isPlainObject, show } from './flip.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---- limits on JSON read from files ---------------------------------------------------------------

/** Deepest nesting of arrays and objects a patch or probe file may have (theirs is 5 at most;
 *  free-form provenance values may nest 32). */
export const MAX_JSON_DEPTH = 64;
/** Longest JSON text read, in characters (a million flips is ~50 MB). */
export const MAX_JSON_TEXT = 256 << 20;
/** Keys that reach an object's prototype when copied (`__proto__`) or looked up
 *  (`constructor`, `prototype`): no file format here has them, so every reader refuses them. */
export const PROTOTYPE_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Where a parsed JSON value breaks the limits, with the fix. */
export interface JsonLimitProblem {
  /** JSON path of the culprit (`flips[3].tensor`), '' for the top level. */
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

interface Frame {
  readonly value: object;
  readonly depth: number;
  readonly parent?: Frame;
  readonly key: string | number;
}

function framePath(f: Frame, last?: string): string {
  const keys: (string | number)[] = last === undefined ? [] : [last];
  for (let x: Frame | undefined = f; x?.parent; x = x.parent) keys.push(x.key);
  let path = '';
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i]!;
    path = typeof k === 'number' ? `${path}[${k}]` : path ? `${path}.${k}` : k;
  }
  return path;
}

/**
 * The first place (in document order) where a parsed JSON value nests deeper than `maxDepth`
 * arrays and objects, or has a prototype key (PROTOTYPE_KEYS); undefined when there is none.
 * Iterative: any depth is walked without recursion.
 */
export function jsonLimitProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonLimitProblem | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Frame[] = [{ value, depth: 1, key: '' }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.depth > maxDepth) {
      let shown: Frame = f; // the path down to 8 levels, then "..."
      while (shown.depth > 8 && shown.parent) shown = shown.parent;
      return { path: `${framePath(shown)}...`, problem: `nested more than ${maxDepth} levels deep`, fix: 'flatten this value: no patch or probe file nests this deep' };
    }
    const v = f.value;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const c: unknown = v[i];
        if (typeof c === 'object' && c !== null) stack.push({ value: c, depth: f.depth + 1, parent: f, key: i });
      }
      continue;
    }
    const keys = Object.keys(v);
    const children: Frame[] = [];
    for (const k of keys) {
      if (PROTOTYPE_KEYS.includes(k)) {
        return { path: framePath(f, k), problem: `the key "${k}" is not allowed (it names a JavaScript object prototype)`, fix: 'rename or remove this key' };
      }
      const c: unknown = (v as Record<string, unknown>)[k];
      if (typeof c === 'object' && c !== null) children.push({ value: c, depth: f.depth + 1, parent: f, key: k });
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

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
    if (PROTOTYPE_KEYS.includes(key)) fail(at(where, key), `the key "${key}" is not allowed (it names a JavaScript object prototype)`, 'rename or remove this key');
    if (value[key] === undefined) continue;
    out[key] = checkJson(value[key], at(where, key), depth + 1);
  }
  return out;
}

export function checkJsonObject(value: unknown, where: Where): JsonObject {
  if (!isPlainObject(value)) fail(where, `must be an object, got ${show(value)}`, 'write a JSON object { ... }');
  return sortedObject(value, where, 0);
}

/** Parses JSON text read from a file: at most MAX_JSON_TEXT characters, nested at most
 *  MAX_JSON_DEPTH deep, no prototype keys; any problem is a PatchFormatError naming the file
 *  and the JSON path. */
export function parseJsonText(text: string, file?: string): unknown {
  if (text.length > MAX_JSON_TEXT) {
    fail({ file, path: '' }, `${text.length} characters of JSON, more than any patch (${MAX_JSON_TEXT})`, 'pass a patch file, not a model or a data dump');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    fail({ file, path: '' }, `not valid JSON (${(e as Error).message})`, 'fix the JSON syntax or pass the right file');
  }
  const problem = jsonLimitProblem(value);
  if (problem) fail({ file, path: problem.path }, problem.problem, problem.fix);
  return value;
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
