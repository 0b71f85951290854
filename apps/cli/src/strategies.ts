// The strategies `bankai search --strategy NAME` knows by name: the strategy packages the CLI
// depends on. @bankai/search names none (the strategy packages depend on it); it loads what this
// table points to, and any other package name or path the user gives.

import { loadStrategy, type NamedStrategies, type Strategy } from '@bankai/search';

export const BUILTIN_STRATEGIES: NamedStrategies = {
  guided: () => import('@bankai/strategy-guided'),
  greedy: () => import('@bankai/strategy-greedy'),
  random: () => import('@bankai/strategy-random'),
  joint: () => import('@bankai/strategy-joint'),
  evolution: () => import('@bankai/strategy-evolution'),
};

/** A built-in name, an installed package name (resolved from the CLI, then as Node resolves it), or a path from the working directory. */
export function loadCliStrategy(spec: string): Promise<Strategy> {
  return loadStrategy(spec, process.cwd(), { named: BUILTIN_STRATEGIES, importer: (s) => import(s) });
}
