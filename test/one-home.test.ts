// One home for each concept (issue 11): the Q1_0 sizes live in the type table of
// packages/gguf/src/types.ts, the Qwen3 tensor names and the Bonsai shapes in the plan of
// packages/gguf/src/qwen3.ts, the seeded generators in @bankai/rng.
// No other shipped source (packages/*/src, strategies/*/src, apps/*/src; tests excluded) may
// compute with the Q1_0 block sizes as literals or list the block tensors' names.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TYPE_TABLE = 'packages/gguf/src/types.ts';
const PLAN = 'packages/gguf/src/qwen3.ts';

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(relative(ROOT, p));
    }
  };
  for (const top of ['packages', 'strategies', 'apps']) {
    for (const pkg of readdirSync(join(ROOT, top), { withFileTypes: true })) {
      if (!pkg.isDirectory()) continue;
      try {
        walk(join(ROOT, top, pkg.name, 'src'));
      } catch {
        // a package without src/
      }
    }
  }
  return out.sort();
}

/** The code of a source without its comments (line comments after code too), line by line. */
function codeLines(text: string): string[] {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .split('\n')
    .map((l) => l.replace(/(^|[\s;,{}()])\/\/.*$/, '$1'));
}

/** Arithmetic on 128 (weights a Q1_0 block) or 18 (bytes a block), or the type id 41 as a literal. */
const SIZE_LITERAL = /([*/%+]\s*(128|18)\b|\b(128|18)\s*[*/%]|\b41\b)/;
/** The block tensors' GGUF names. */
const BLOCK_NAME = /\b(attn_norm|attn_q|attn_k|attn_v|attn_output|attn_q_norm|attn_k_norm|ffn_norm|ffn_gate|ffn_up|ffn_down)\b/g;

describe('one home for Q1_0 sizes and Qwen3 tensor names', () => {
  const files = sources();

  it('finds the sources it checks (the plan, the type table, the model, search and patch code)', () => {
    for (const f of [TYPE_TABLE, PLAN, 'packages/model/src/patching.ts', 'packages/search/src/space.ts', 'packages/patch-format/src/shape.ts']) {
      expect(files).toContain(f);
    }
  });

  it('no source but the type table computes with 128 or 18 or spells type id 41', () => {
    const found: string[] = [];
    for (const f of files) {
      if (f === TYPE_TABLE) continue;
      codeLines(readFileSync(join(ROOT, f), 'utf8')).forEach((line, i) => {
        if (SIZE_LITERAL.test(line)) found.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found, 'use Q1_0_BLOCK / Q1_0_BYTES / Q1_0_SCALE_BYTES / GGML_TYPE.Q1_0 of @bankai/gguf').toEqual([]);
  });

  it('no source but the plan names more than one block tensor (an example in a hint is fine; a list is not)', () => {
    const found: string[] = [];
    for (const f of files) {
      if (f === PLAN) continue;
      const names = new Set(codeLines(readFileSync(join(ROOT, f), 'utf8')).flatMap((l) => [...l.matchAll(BLOCK_NAME)].map((m) => m[1]!)));
      if (names.size > 1) found.push(`${f}: ${[...names].join(', ')}`);
    }
    expect(found, 'build the list from QWEN3_BLOCK_TENSORS / qwen3Tensors / QWEN3_PROJECTION_TENSOR of @bankai/gguf').toEqual([]);
  });

  it('no source but the plan spells a Bonsai shape, and only @bankai/rng defines a seeded generator', () => {
    const found: string[] = [];
    for (const f of files) {
      const code = codeLines(readFileSync(join(ROOT, f), 'utf8'));
      code.forEach((line, i) => {
        // the Bonsai vocabulary and widths (1.7B 2048 x 6144, 4B 2560 x 9728, 8B 4096 x 12288)
        if (f !== PLAN && /[:=]\s*(151936|6144|9728|12288)\b/.test(line)) found.push(`${f}:${i + 1}: ${line.trim()}`);
        if (!f.startsWith('packages/rng/') && /\bclass\s+\w*(Rng|Random|SplitMix)\w*/.test(line)) found.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found, 'use BONSAI_SHAPES of @bankai/gguf and Rng / SplitMix32 of @bankai/rng').toEqual([]);
  });
});
