// Loading a strategy by name, package name or file path.
import { isStrategy, StrategyError, type Strategy } from './strategy.js';

export const BUILTIN_STRATEGIES: Record<string, string> = {
  greedy: '@bankai/strategy-greedy',
  random: '@bankai/strategy-random',
  joint: '@bankai/strategy-joint',
  guided: '@bankai/strategy-guided',
  evolution: '@bankai/strategy-evolution',
};

/**
 * `greedy` / `guided` / `random` / `joint` / `evolution` (built in), a package name (`bankai-strategy-foo`), or a path to
 * a module (`./my-strategy.js`, resolved against `cwd`). The module's default export must be a
 * strategy made with defineStrategy.
 */
export async function loadStrategy(spec: string, cwd: string, importer: (s: string) => Promise<unknown> = (s) => import(s)): Promise<Strategy> {
  const isPath = spec.startsWith('.') || spec.startsWith('/') || /^[A-Za-z]:[\\/]/.test(spec) || spec.startsWith('file:');
  const target = BUILTIN_STRATEGIES[spec] ?? (isPath ? new URL(spec, `file://${cwd.replace(/\\/g, '/')}/`).href : spec);
  let mod: unknown;
  try {
    mod = await importer(target);
  } catch (e) {
    throw new StrategyError(`cannot load strategy "${spec}" (${(e as Error).message}); pass greedy, guided, random, joint, evolution, an installed package name or a path to a module`);
  }
  const s = (mod as { default?: unknown }).default ?? mod;
  if (!isStrategy(s)) throw new StrategyError(`strategy "${spec}": its default export is not a strategy (make it with defineStrategy from @bankai/search)`);
  return s;
}
