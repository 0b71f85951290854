// The three runtimes the packages promise to run on, as installed by npm (never from PATH, never
// downloaded): Node is the one running the tests; Deno and Bun are the binaries inside their npm
// platform packages (@deno/<platform>, @oven/bun-<platform>), which the `deno` and `bun` packages
// of test/package.json pull in as optional dependencies. Their postinstall scripts never run
// (pnpm-workspace.yaml allowBuilds), so the binaries are used where pnpm unpacked them.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type RuntimeName = 'node' | 'deno' | 'bun';

export interface Runtime {
  name: RuntimeName;
  /** Absolute path of the executable. */
  bin: string;
  /** Arguments that run `script` with `args` offline, resolving packages from node_modules. */
  argv(script: string, args: readonly string[]): string[];
  /** Extra environment: no update checks, telemetry or crash reports (nothing leaves the machine). */
  env: Record<string, string>;
}

/** npm platform package holding each binary, by `${process.platform}-${process.arch}` (glibc on Linux). */
const DENO_PACKAGES: Record<string, string> = {
  'linux-x64': '@deno/linux-x64-glibc',
  'linux-arm64': '@deno/linux-arm64-glibc',
  'darwin-x64': '@deno/darwin-x64',
  'darwin-arm64': '@deno/darwin-arm64',
  'win32-x64': '@deno/win32-x64',
  'win32-arm64': '@deno/win32-arm64',
};
const BUN_PACKAGES: Record<string, string> = {
  'linux-x64': '@oven/bun-linux-x64',
  'linux-arm64': '@oven/bun-linux-aarch64',
  'darwin-x64': '@oven/bun-darwin-x64',
  'darwin-arm64': '@oven/bun-darwin-aarch64',
  'win32-x64': '@oven/bun-windows-x64',
  'win32-arm64': '@oven/bun-windows-aarch64',
};

const platform = `${process.platform}-${process.arch}`;
const exe = process.platform === 'win32' ? '.exe' : '';

/**
 * Path of the binary inside `platformPackage`, resolved from the wrapper package (`deno` / `bun`)
 * that depends on it; a clear error when it is not installed.
 */
function binaryIn(wrapper: string, platformPackage: string, relPath: string): string {
  const fromTest = createRequire(new URL('../package.json', import.meta.url));
  let pkgJson: string;
  try {
    const wrapperJson = fromTest.resolve(`${wrapper}/package.json`);
    pkgJson = createRequire(wrapperJson).resolve(`${platformPackage}/package.json`);
  } catch (e) {
    throw new Error(
      `${wrapper}: cannot find its platform package ${platformPackage} (${(e as Error).message.split('\n')[0]}); ` +
      'run `flock /tmp/pnpm.lock npx pnpm install` without --no-optional',
    );
  }
  const bin = join(dirname(pkgJson), relPath);
  if (!existsSync(bin)) throw new Error(`${platformPackage}: ${bin} is missing; reinstall the package`);
  return bin;
}

/** Why a runtime cannot be tested on this machine, or undefined when it can. */
export function unsupported(name: RuntimeName): string | undefined {
  if (name === 'deno' && !DENO_PACKAGES[platform]) return `no Deno npm binary for ${platform}`;
  if (name === 'bun' && !BUN_PACKAGES[platform]) return `no Bun npm binary for ${platform}`;
  return undefined;
}

export function runtime(name: RuntimeName): Runtime {
  const why = unsupported(name);
  if (why) throw new Error(why);
  if (name === 'node') {
    return { name, bin: process.execPath, argv: (script, args) => [script, ...args], env: {} };
  }
  if (name === 'deno') {
    return {
      name,
      bin: binaryIn('deno', DENO_PACKAGES[platform]!, `deno${exe}`),
      // manual: use the pnpm-made node_modules as is (Deno installs nothing); --cached-only:
      // any remote module would be an error, not a download; --no-lock: write no deno.lock
      argv: (script, args) => ['run', '-A', '--node-modules-dir=manual', '--cached-only', '--no-lock', script, ...args],
      env: { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    };
  }
  return {
    name,
    bin: binaryIn('bun', BUN_PACKAGES[platform]!, `bin/bun${exe}`),
    // --no-install: never auto-install a missing package from the registry
    argv: (script, args) => ['--no-install', script, ...args],
    env: { DO_NOT_TRACK: '1', NO_COLOR: '1' },
  };
}

/**
 * A command prefix that runs a process without network access (`unshare -rn`: a new user and
 * network namespace with only a down loopback), when this Linux host allows it; else undefined
 * and runs rely on the runtimes' own offline flags above.
 */
export function noNetworkPrefix(): string[] | undefined {
  if (process.platform !== 'linux') return undefined;
  const probe = spawnSync('unshare', ['-rn', 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? ['unshare', '-rn'] : undefined;
}
