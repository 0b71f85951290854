// Strategy options: defineStrategy checks each default against its spec, resolveOptions parses
// key=value strings and refuses unknown keys, bad types, choices and values outside a number
// option's declared range, each with a StrategyError naming the option.
import { describe, expect, it } from 'vitest';
import { defineStrategy, optionRange, resolveOptions, StrategyError } from './strategy.js';

const make = (options: Parameters<typeof defineStrategy>[0]['options']) => defineStrategy({ name: 'opts', description: 'options only', options, async run() {} });

describe('strategy options', () => {
  const s = make({
    steps: { type: 'number', integer: true, min: 1, default: 4, help: 'h' },
    alpha: { type: 'number', min: 0, max: 1, default: 0.5, help: 'h' },
    net: { type: 'number', integer: true, default: 0, help: 'h' },
    free: { type: 'number', default: -3.5, help: 'h' },
    mode: { type: 'string', default: 'a', choices: ['a', 'b'], help: 'h' },
  });

  it('resolves defaults and given values, numbers from strings', () => {
    expect(resolveOptions(s)).toEqual({ steps: 4, alpha: 0.5, net: 0, free: -3.5, mode: 'a' });
    expect(resolveOptions(s, { steps: '7', alpha: '1', net: '-2', free: '1e9', mode: 'b' })).toEqual({ steps: 7, alpha: 1, net: -2, free: 1e9, mode: 'b' });
  });

  it('refuses values outside the declared range, naming the option, the range and the value', () => {
    for (const [k, v, range] of [['steps', '0', 'an integer >= 1'], ['steps', '2.5', 'an integer >= 1'], ['alpha', '1.01', 'a number in [0, 1]'], ['alpha', '-0.1', 'a number in [0, 1]'], ['net', '0.5', 'an integer']] as const) {
      expect(() => resolveOptions(s, { [k]: v })).toThrow(new StrategyError(`strategy opts: option ${k} must be ${range}, got "${v}"`));
    }
    expect(() => resolveOptions(s, { free: 'x' })).toThrow(/option free must be a number, got "x"/);
    expect(() => resolveOptions(s, { mode: 'c' })).toThrow(/must be one of a, b/);
    expect(() => resolveOptions(s, { other: '1' })).toThrow(/has no option "other"; its options: steps, alpha, net, free, mode/);
  });

  it('says each range in words; a default outside its own range is a definition error', () => {
    expect(optionRange(s.options.steps)).toBe('an integer >= 1');
    expect(optionRange({ type: 'number', max: 3, default: 0, help: '' })).toBe('a number <= 3');
    expect(optionRange(s.options.free)).toBeUndefined();
    expect(optionRange(s.options.mode)).toBeUndefined();
    expect(() => make({ k: { type: 'number', integer: true, min: 1, default: 0, help: 'h' } })).toThrow(/option k's default 0 is not an integer >= 1/);
  });
});
