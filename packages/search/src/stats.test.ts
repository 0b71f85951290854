import { describe, expect, it } from 'vitest';
import { spearman, spread } from './stats.js';

describe('stats', () => {
  it('spearman: 1 for the same order, -1 reversed, a hand-computed value otherwise', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 45])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks (0,1,2,3) vs (1,0,3,2): 1 - 6 * 4 / (4 * 15) = 0.6
    expect(spearman([1, 2, 3, 4], [2, 1, 4, 3])).toBeCloseTo(0.6, 12);
    expect(() => spearman([1], [1])).toThrow(/same length >= 2/);
  });

  it('spread: mean, range and the sample standard deviation', () => {
    expect(spread([1, 2, 3])).toEqual({ mean: 2, min: 1, max: 3, sd: 1 });
    expect(spread([])).toEqual({ mean: 0, min: 0, max: 0, sd: 0 });
  });
});
