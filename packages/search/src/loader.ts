// Loading a strategy by name, package name or file path. This package names no strategy: the
// caller passes the names it knows (the bankai CLI: its built-in strategy packages), each with
// the module that holds it, so the strategy packages (which depend on this one) stay above it.
import { isStrategy, StrategyError, type Strategy } from './strategy.js';

/** Strategy names the caller knows: each the module itself (a function importing it) or a specifier to import. */
export type NamedStrategies = Readonly<Record<string, string | (() => Promise<unknown>)>>;

export interface LoadStrategyOptions {
  /** Names that resolve to a module (`{ mine: () => import('my-strategy-package') }`). */
  named?: NamedStrategies;
  /** import() as seen from the caller, so package names resolve from its node_modules (default: from here). */
  importer?: (specifier: string) => Promise<unknown>;
}

/**
 * A name of `opts.named`, a package name (`bankai-strategy-foo`), or a path to a module
 * (`./my-strategy.js`, resolved against `cwd`). The module's default export must be a strategy
 * made with defineStrategy.
 */
export async function loadStrategy(spec: string, cwd: string, opts: LoadStrategyOptions = {}): Promise<Strategy> {
  const named = opts.named ?? {};
  const importer = opts.importer ?? ((s: string) => import(s));
  const isPath = spec.startsWith('.') || spec.startsWith('/') || /^[A-Za-z]:[\\/]/.test(spec) || spec.startsWith('file:');
  const known = Object.hasOwn(named, spec) ? named[spec] : undefined;
  let mod: unknown;
  try {
    if (typeof known === 'function') mod = await known();
    else mod = await importer(known ?? (isPath ? new URL(spec, `file://${cwd.replace(/\\/g, '/')}/`).href : spec));
  } catch (e) {
    const names = Object.keys(named);
    throw new StrategyError(`cannot load strategy "${spec}" (${(e as Error).message}); pass ${names.length ? `${names.join(', ')}, ` : ''}an installed package name or a path to a module`);
  }
  const s = (mod as { default?: unknown }).default ?? mod;
  if (!isStrategy(s)) throw new StrategyError(`strategy "${spec}": its default export is not a strategy (make it with defineStrategy from @bankai/search)`);
  return s;
}
