export { hash32, Rng } from './rng.js';
