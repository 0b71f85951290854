import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One run over every package: tests live beside the code (`*.test.ts`), cross-package tests
// under test/. Packages import each other's built `dist/` (run `pnpm build` first; `npm test` does).
export default defineConfig({
  test: {
    include: ['{engine-wasm,packages,strategies,apps,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // one test file per core: vitest's default (cores - 1) runs the suite serially on the 2-core CI
    // machines, where the tests are single-threaded engine work that waits on nothing. The limits
    // above are hang guards, wide enough for a slow machine with both cores busy.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
