export { InputError } from './errors.js';
export { checkNumber, checkInt, checkPositive, checkFraction, checkOneOf, checkArray } from './validate.js';
export type { Bounds } from './validate.js';
export { smallestIntegerWhere } from './search.js';
export { summarizeSample } from './stats.js';
export type { SampleSummary } from './stats.js';
export { rng, fork, exponential, gammaByMeanCv, normal, logNormal, uniform, randomInt } from './random.js';
export type { Rng } from './random.js';
export type { Provenance } from './provenance.js';
