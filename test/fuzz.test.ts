// A seeded slice of the fuzz suite (bench/fuzz.ts runs >= 100,000 inputs): mutated GGUF files,
// patch JSON, binary patches and probe files must each end accepted or in one of the project's
// typed errors: no raw JS error, no input that takes seconds.
import { describe, expect, it } from 'vitest';
import { READERS, runSlice } from '../bench/fuzz/readers.js';

const PER_READER = 500;

describe('fuzz slice (seed 7)', () => {
  for (const reader of READERS) {
    it(`${reader}: ${PER_READER} mutated inputs, zero raw errors`, async () => {
      const s = await runSlice(reader, 7, 0, PER_READER);
      expect(s.inputs).toBe(PER_READER);
      expect(s.rawErrors.map((e) => `#${e.index} ${e.error}\n${e.stack}`)).toEqual([]);
      expect(s.raw).toBe(0);
      expect(s.typed).toBeGreaterThan(PER_READER / 2); // the mutations do reach the checks
      expect(s.slowestMs).toBeLessThan(5000);
    });
  }
});
