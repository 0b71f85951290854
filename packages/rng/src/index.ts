export { hash32, Rng, SplitMix32 } from './rng.js';
