import { randomLcg, randomExponential, randomGamma, randomNormal, randomLogNormal, randomUniform } from 'd3-random';
import { checkInt, checkPositive, checkNumber } from './validate.js';

/**
 * A seeded source of uniform numbers in [0, 1). Every stochastic model in batchlab
 * takes one of these (or a seed), never Math.random, so that a (config, seed) pair
 * always gives bit-identical results.
 */
export type Rng = () => number;

/**
 * A deterministic uniform generator for a seed (d3-random's linear congruential
 * generator). Derived streams (`fork`) keep components independent of each other's
 * draw counts: adding a draw to arrivals must not shift the routing samples.
 *
 * @example
 * const r = rng(42); r() === rng(42)() // => true
 */
export function rng(seed: number): Rng {
  checkNumber('seed', seed);
  return randomLcg(seed);
}

/** A child stream for a named component, stable for (seed, name). */
export function fork(seed: number, name: string): Rng {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  // Mix the seed in as a float in [0,1): randomLcg takes seeds in [0,1) as-is.
  const s = ((Math.abs(seed) * 0.6180339887498949 + h / 4294967296) % 1 + 1) % 1;
  return randomLcg(s);
}

/** Exponential draws with the given rate (events per unit time). */
export function exponential(source: Rng, rate: number): () => number {
  checkPositive('rate', rate);
  return randomExponential.source(source)(rate);
}

/**
 * Gamma draws with a given mean and coefficient of variation (shape = 1/cv², scale = mean·cv²):
 * the usual model of bursty inter-arrival times; cv = 1 is exponential.
 */
export function gammaByMeanCv(source: Rng, mean: number, cv: number): () => number {
  checkPositive('mean', mean);
  checkPositive('cv', cv, 100);
  const shape = 1 / (cv * cv);
  return randomGamma.source(source)(shape, mean / shape);
}

export function normal(source: Rng, mu: number, sigma: number): () => number {
  return randomNormal.source(source)(mu, sigma);
}

export function logNormal(source: Rng, mu: number, sigma: number): () => number {
  return randomLogNormal.source(source)(mu, sigma);
}

export function uniform(source: Rng, lo: number, hi: number): () => number {
  return randomUniform.source(source)(lo, hi);
}

/** A uniform integer in [0, n). */
export function randomInt(source: Rng, n: number): number {
  checkInt('n', n, { min: 1 });
  return Math.floor(source() * n);
}
