import { defineConfig } from 'vitest/config';

// One run over every package: tests live beside the code (`*.test.ts`), cross-package tests
// under test/. Packages import each other's built `dist/` (run `pnpm build` first; `npm test` does).
export default defineConfig({
  test: {
    include: ['{engine-wasm,packages,strategies,apps,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
