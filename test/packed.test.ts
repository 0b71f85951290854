// The packages as an npm user gets them: every published package is packed with `pnpm pack` (so
// `workspace:^` ranges become versions), the tarballs are installed with plain npm into a new
// project in the system temp folder, outside the repository (the tarballs satisfy each other; the
// other dependencies come from npm's cache or the registry), and from there:
//   - the README's "As a library" snippet runs on Node, Deno and Bun (the tiny model and a patch
//     in place of its file names) and gives what the repository's own packages give;
//   - the README's custom strategy, saved as a file there, runs through runSearch on Node, Deno
//     and Bun (the same patch, the one the repository's copy of that strategy finds), and through
//     the packed `bankai search --strategy ./first-rows.mjs`.
// Each tarball is also checked for what a consumer needs: no workspace: range left, LICENSE,
// README and every `exports` target inside it.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource, readGgufFile } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { createManifest, formatManifest, modelShapeOf } from '@bankai/patch-format';
import { tinyProbeSpec } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { runSearch, type SearchConfig } from '@bankai/search';
import { modelPath as repoModelPath } from '@bankai/tiny-model';
import firstRows from './fixtures/first-rows-strategy.mjs';
import { noNetworkPrefix, runtime, unsupported, type RuntimeName } from './embedding/runtimes.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PNPM = join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'pnpm.cmd' : 'pnpm');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const RUNTIMES: RuntimeName[] = ['node', 'deno', 'bun'];

/** The published packages: every package.json of the workspace but private ones. */
function packageDirs(): string[] {
  const dirs = ['packages', 'strategies'].flatMap((top) => readdirSync(join(ROOT, top)).map((d) => join(ROOT, top, d)));
  return [...dirs, join(ROOT, 'engine-wasm'), join(ROOT, 'apps', 'cli')]
    .filter((d) => existsSync(join(d, 'package.json')) && JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).private !== true);
}

/** The first ```ts block after `marker` in the README. */
function readmeBlock(marker: string): string {
  const at = README.indexOf(marker);
  if (at < 0) throw new Error(`README.md: no "${marker}"`);
  const m = /```ts\n([\s\S]*?)```/.exec(README.slice(at));
  if (!m) throw new Error(`README.md: no ts block after "${marker}"`);
  return m[1]!;
}

// The search both runs do: the README strategy from index 40 of the last layer's down rows.
const CONFIG: SearchConfig = {
  strategy: 'first-rows', strategyOptions: { start: 40 }, seed: 1, iterations: 4, layers: [3], projs: ['down'],
  granularity: 'row', metric: 'seq_logprob', lambda: 1, aggregate: 'mean', minGain: -1, ownAnswerDistractors: false,
};
const N_TARGET = 8;
const N_CONTROL = 8;

const RUN_STRATEGY = `import process from 'node:process';
import { fileSource } from '@bankai/gguf/node';
import { Model } from '@bankai/model';
import { tinyProbeSpec } from '@bankai/probes';
import { readProbeFile } from '@bankai/probes/node';
import { runSearch } from '@bankai/search';
import { modelPath } from '@bankai/tiny-model';
import strategy from './first-rows.mjs';

const src = await fileSource(modelPath);
const model = await Model.load(src);
await src.close();
const target = (await readProbeFile(tinyProbeSpec('multiplication', 'SEARCH'))).probes.slice(0, ${N_TARGET});
const control = (await readProbeFile(tinyProbeSpec('addition', 'CONTROL'))).probes.slice(0, ${N_CONTROL});
const r = await runSearch({ model, target: target.map((probe) => ({ probe, domain: 'multiplication' })), control, strategy, config: ${JSON.stringify(CONFIG)}, workers: 2 });
process.stdout.write(JSON.stringify({ modelPath, strategy: strategy.name, flips: r.flips, fitness: r.fitness, evaluations: r.evaluations }) + '\\n');
process.exit(0); // piscina is closed; a runtime that keeps an idle handle must not hang the caller
`;

let work: string;
let app: string;
let denoDir: string;
let offline: string[] | undefined;
const packed = new Map<string, { file: string; pkg: Record<string, unknown>; entries: string[] }>();

/** The same file in the consumer's installed @bankai/tiny-model. */
const inApp = (repoPath: string) => join(app, 'node_modules', '@bankai', 'tiny-model', relative(join(ROOT, 'packages', 'tiny-model'), repoPath));

/** Runs `script` (in the consumer project) on `name`; stdout's last line as JSON. */
async function runIn(name: RuntimeName, script: string): Promise<Record<string, unknown>> {
  const rt = runtime(name);
  const [cmd, ...args] = [...(offline ?? []), rt.bin, ...rt.argv(join(app, script), [])];
  try {
    const { stdout } = await run(cmd!, args, { cwd: app, env: { ...process.env, ...rt.env, DENO_DIR: denoDir }, maxBuffer: 1 << 26, timeout: 180_000 });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${name} ${script}: ${err.message}\n${err.stderr?.slice(-3000) ?? ''}`);
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bankai-packed-'));
  expect(relative(ROOT, work).startsWith('..')).toBe(true); // outside the repository
  denoDir = join(work, 'deno-dir');
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  for (const dir of packageDirs()) {
    const out = (await run(PNPM, ['pack', '--json', '--pack-destination', tarballs], { cwd: dir })).stdout;
    const info = JSON.parse(out) as { name: string; filename: string };
    const pkg = JSON.parse(execFileSync('tar', ['-xzOf', info.filename, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
    const entries = execFileSync('tar', ['-tzf', info.filename], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n').map((e) => e.replace(/^package\//, ''));
    packed.set(info.name, { file: info.filename, pkg, entries });
  }
  // a plain npm project: every tarball a dependency, and the tarballs override the registry for
  // their names (so no @bankai/* package is ever looked up there)
  app = join(work, 'app');
  mkdirSync(app);
  const deps = Object.fromEntries([...packed].map(([name, p]) => [name, `file:${p.file}`]));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bankai-consumer', private: true, type: 'module', dependencies: deps, overrides: deps }, null, 2));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: app, timeout: 240_000, maxBuffer: 1 << 24 });

  // the README's library snippet, with the shipped tiny model and a patch for it as its files
  const consumerModel = inApp(repoModelPath);
  writeFileSync(join(app, 'patch.json'), formatManifest(createManifest({
    provenance: { tool: 'test' }, flips: [{ tensor: 'blk.3.ffn_down', row: 5 }, { tensor: 'blk.2.ffn_up', row: 17 }],
    model: modelShapeOf(await readGgufFile(repoModelPath)),
  })));
  const snippet = readmeBlock('## As a library').replace(`'Bonsai-8B.gguf'`, JSON.stringify(consumerModel));
  expect(snippet).toContain(consumerModel);
  writeFileSync(join(app, 'library.mjs'), `${snippet}
process.stdout.write('\\n' + JSON.stringify({
  runtime: globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node',
  greedy: model.generate('Q: what is 12*7? A:').text,
  logprob: model.score('Q: what is 12*7? A:', ' 84').logprob,
  flips: manifest.flips.length,
}) + '\\n');
process.exit(0);
`);
  writeFileSync(join(app, 'first-rows.mjs'), readmeBlock('A search strategy is a package'));
  // the same two snippets as TypeScript, for a type check against the packed .d.ts files
  writeFileSync(join(app, 'library.ts'), `${readmeBlock('## As a library')}export {};\n`);
  writeFileSync(join(app, 'first-rows.ts'), readmeBlock('A search strategy is a package'));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
    },
    files: ['library.ts', 'first-rows.ts'],
  }));
  writeFileSync(join(app, 'run-strategy.mjs'), RUN_STRATEGY);
  offline = noNetworkPrefix();
}, 420_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed packages in a plain npm project outside the repository', () => {
  it('every tarball: versions for workspace: ranges, LICENSE, README, and every exports target inside', () => {
    expect(packed.size).toBe(packageDirs().length);
    for (const [name, { pkg, entries }] of packed) {
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries((pkg[field] as Record<string, string> | undefined) ?? {})) {
          expect(range, `${name} ${field}.${dep}`).not.toMatch(/^workspace:/);
        }
      }
      expect(entries, name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
      const targets: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string') targets.push(v);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(pkg.exports);
      walk(pkg.bin);
      expect(targets.length, `${name}: exports`).toBeGreaterThan(0);
      for (const t of targets) expect(entries, `${name}: ${t}`).toContain(t.replace(/^\.\//, ''));
      expect(entries.filter((e) => e.endsWith('.test.js')), name).toEqual([]);
    }
  });

  it('the README snippets typecheck against the packed types (strict TypeScript, nodenext resolution)', async () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const r = await run(tsc, ['-p', app], { cwd: app }).catch((e: { stdout?: string; message: string }) => ({ stdout: `${e.message}\n${e.stdout ?? ''}` }));
    expect(r.stdout).toBe('');
  }, 120_000);

  it('the README library snippet runs on Node, Deno and Bun and gives what the repository gives', async () => {
    const src = await fileSource(repoModelPath);
    const model = await Model.load(src);
    await src.close();
    const want = { greedy: model.generate('Q: what is 12*7? A:').text, logprob: model.score('Q: what is 12*7? A:', ' 84').logprob, flips: 2 };
    for (const name of RUNTIMES) {
      if (unsupported(name)) continue;
      expect(await runIn(name, 'library.mjs'), name).toEqual({ runtime: name, ...want });
    }
  }, 300_000);

  it('the README custom strategy, saved outside the repository, searches on Node, Deno and Bun: the repository\'s patch', async () => {
    const src = await fileSource(repoModelPath);
    const model = await Model.load(src);
    await src.close();
    const target = (await readProbeFile(tinyProbeSpec('multiplication', 'SEARCH'))).probes.slice(0, N_TARGET);
    const control = (await readProbeFile(tinyProbeSpec('addition', 'CONTROL'))).probes.slice(0, N_CONTROL);
    const r = await runSearch({ model, target: target.map((probe) => ({ probe, domain: 'multiplication' })), control, strategy: firstRows, config: CONFIG, workers: 2 });
    expect(r.flips).toHaveLength(CONFIG.iterations);
    for (const name of RUNTIMES) {
      if (unsupported(name)) continue;
      const got = await runIn(name, 'run-strategy.mjs');
      expect(got.modelPath, name).toContain(join(app, 'node_modules'));
      expect(got, name).toMatchObject({ strategy: 'first-rows', flips: r.flips, fitness: r.fitness, evaluations: r.evaluations });
    }
  }, 300_000);

  it('the packed bankai CLI loads the saved strategy by path and its built-in strategies by name', async () => {
    const bin = join(app, 'node_modules', '.bin', 'bankai');
    const exec = async (...args: string[]) => {
      const [cmd, ...rest] = [...(offline ?? []), bin, ...args];
      return (await run(cmd!, rest, { cwd: app, maxBuffer: 1 << 26, timeout: 180_000 })).stdout;
    };
    expect(await exec('search', '--strategy', './first-rows.mjs', '--help-strategy')).toMatch(/strategy first-rows[\s\S]*--opt start=NUMBER/);
    expect(await exec('search', '--strategy', 'greedy', '--help-strategy')).toMatch(/^strategy greedy/);
    const j = JSON.parse(await exec(
      'search', '--strategy', './first-rows.mjs', '--opt', 'start=40', '--target', inApp(tinyProbeSpec('multiplication', 'SEARCH')),
      '--layers', '3', '--projs', 'down', '--iters', '2', '--objective', 'gap', '--min-gain', '-1', '--validation', '0', '--no-own-answers',
      '--metric', 'seq_logprob', '--null', '0', '--workers', '1', '--quiet', '--out', join(app, 'p.json'), '--json',
    ));
    expect(j.strategy).toBe('first-rows');
    expect(j.model).toContain(join(app, 'node_modules', '@bankai', 'tiny-model'));
    expect(j.result.flips.map((f: { row: number }) => f.row)).toEqual([40, 41]);
    expect(existsSync(inApp(tinyProbeSpec('multiplication', 'SEARCH')).split('#')[0]!)).toBe(true);
  }, 300_000);
});
