import { randomExponential, randomGamma, randomNormal, randomLogNormal, randomUniform } from 'd3-random';
import { InputError } from './errors.js';
import { checkInt, checkPositive, checkNumber } from './validate.js';

/**
 * A seeded source of uniform numbers in [0, 1). Every stochastic model in batchlab
 * takes one of these (or a seed), never Math.random, so that a (config, seed) pair
 * always gives bit-identical results.
 */
export type Rng = () => number;

// Seeds are hashed, never truncated: the 64 bits of the seed (as an IEEE double) and the
// stream name go through a 128-bit hash (cyrb128's mixing, public domain) into the
// 128-bit state of sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, which
// passes PractRand and BigCrush). So s and -s, 1e17 and 2e17, and every seed in a run of
// consecutive integers give distinct streams, and a fork's stream depends on every bit of
// its seed and name. Each draw takes 53 bits (two sfc32 outputs): a full double in [0, 1).
const seedView = new DataView(new ArrayBuffer(8));

function seedWords(seed: number): [number, number] {
  seedView.setFloat64(0, seed === 0 ? 0 : seed); // -0 and 0 are one seed
  return [seedView.getUint32(0), seedView.getUint32(4)];
}

function hash128(words: readonly number[]): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (const w of words) {
    const k = w >>> 0;
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

function sfc32(state: [number, number, number, number]): Rng {
  const next = sfc32Words(state);
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

/** The raw 32-bit outputs of sfc32 from a hashed state, its first outputs discarded. */
function sfc32Words(state: [number, number, number, number]): () => number {
  let [a, b, c, d] = state;
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: the counter-based generator needs a few rounds to spread a
  // hashed state (the authors' seeding procedure uses 12 or more).
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** A seed checked: any finite number (an InputError naming `seed` otherwise). */
export function checkSeed(seed: unknown): number {
  // Any finite number seeds its own stream: only that is asked (checkNumber's default range read "[-inf, inf)").
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new InputError('seed', seed, 'a finite number (every finite number seeds its own stream)');
  return seed;
}

/**
 * A deterministic uniform generator for a seed: 53-bit draws in [0, 1) from a 128-bit
 * state hashed from all 64 bits of the seed. Any finite number is a seed; every distinct
 * seed gives a distinct stream.
 *
 * @example
 * const r = rng(42); r() === rng(42)() // => true
 */
export function rng(seed: number): Rng {
  return sfc32(hash128([...seedWords(checkSeed(seed)), 0x9e3779b9]));
}

/**
 * A child stream for a named component, stable for (seed, name) and independent of the
 * parent stream and of every other name: adding a draw to arrivals must not shift the
 * routing samples.
 *
 * @example
 * fork(7, 'arrivals')() === fork(7, 'arrivals')() // => true
 */
export function fork(seed: number, name: string): Rng {
  return sfc32(forkState(seed, name));
}

function forkState(seed: number, name: string): [number, number, number, number] {
  const s = checkSeed(seed);
  if (typeof name !== 'string') throw new InputError('name', name, 'a string naming the stream');
  const words = [...seedWords(s), name.length];
  for (let i = 0; i < name.length; i++) words.push(name.charCodeAt(i));
  return hash128(words);
}

/**
 * The named stream of `fork` as uniform draws on [0, 1) with 24 random bits each (the
 * precision of a float32) from one 32-bit output apiece: half the work of `fork`'s
 * 53-bit draws, for filling large float32 arrays.
 *
 * @example
 * const r = forkFloat32(7, 'weights'); r() // => in [0, 1), a multiple of 2^-24
 */
export function forkFloat32(seed: number, name: string): Rng {
  const next = sfc32Words(forkState(seed, name));
  return () => (next() >>> 8) * 5.960464477539063e-8;
}

/**
 * Exponential draws with the given rate (events per unit time): Poisson inter-arrival gaps.
 *
 * @example
 * const gap = exponential(rng(1), 4);
 * Array.from({ length: 1e5 }, gap).reduce((a, b) => a + b) / 1e5 // => 0.2500 (mean 1/rate)
 */
export function exponential(source: Rng, rate: number): () => number {
  checkPositive('rate', rate);
  return randomExponential.source(source)(rate);
}

/**
 * Gamma draws with a given mean and coefficient of variation (shape = 1/cv², scale = mean·cv²):
 * the usual model of bursty inter-arrival times; cv = 1 is exponential.
 *
 * @example
 * const gap = gammaByMeanCv(rng(1), 0.1, 2); // bursty: gaps of 0.1 s on average, cv 2
 * Array.from({ length: 1e5 }, gap).reduce((a, b) => a + b) / 1e5 // => 0.1002
 */
export function gammaByMeanCv(source: Rng, mean: number, cv: number): () => number {
  checkPositive('mean', mean);
  checkPositive('cv', cv, 100);
  const shape = 1 / (cv * cv);
  return randomGamma.source(source)(shape, mean / shape);
}

/**
 * Normal draws N(mu, sigma²) from a seeded source.
 *
 * @example
 * const z = normal(rng(1), 0, 1); z() // => a standard normal draw
 */
export function normal(source: Rng, mu: number, sigma: number): () => number {
  return randomNormal.source(source)(mu, sigma);
}

/**
 * Log-normal draws exp(N(mu, sigma²)) from a seeded source.
 *
 * @example
 * const x = logNormal(rng(1), Math.log(256), 0.5); x() // => a length near 256
 */
export function logNormal(source: Rng, mu: number, sigma: number): () => number {
  return randomLogNormal.source(source)(mu, sigma);
}

/**
 * Uniform draws in [lo, hi) from a seeded source.
 *
 * @example
 * const u = uniform(rng(1), 2, 4); u() // => a number in [2, 4)
 */
export function uniform(source: Rng, lo: number, hi: number): () => number {
  return randomUniform.source(source)(lo, hi);
}

/**
 * A uniform integer in [0, n).
 *
 * @example
 * randomInt(rng(1), 6) // => one of 0..5
 */
export function randomInt(source: Rng, n: number): number {
  checkInt('n', n, { min: 1 });
  return Math.floor(source() * n);
}
