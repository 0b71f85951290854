// Every published package ships its LICENSE and README, says which Node it needs, and ships
// source maps that carry their sources (dist/*.js.map point at src/, which is not published).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const dirs = ['packages', 'strategies'].flatMap((top) => readdirSync(join(ROOT, top)).map((d) => `${top}/${d}`)).concat(['engine-wasm', 'apps/cli'])
  .filter((d) => existsSync(join(ROOT, d, 'package.json')));

describe('published packages', () => {
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { private?: boolean; name: string; license?: string; engines?: { node?: string }; files?: string[] };
    if (pkg.private) continue;
    it(`${pkg.name} (${dir}): LICENSE, README, engines, files`, () => {
      expect(pkg.license).toBe('Apache-2.0');
      expect(readFileSync(join(ROOT, dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
      expect(readFileSync(join(ROOT, dir, 'README.md'), 'utf8')).toMatch(new RegExp(`^# ${pkg.name.replace('/', '\\/')}\\b`));
      expect(pkg.engines?.node).toBe('>=20.19');
      expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'LICENSE']));
    });
  }

  it('source maps carry their sources (src/ is not published)', () => {
    const map = JSON.parse(readFileSync(join(ROOT, 'packages/gguf/dist/reader.js.map'), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('export async function readGguf');
  });
});
