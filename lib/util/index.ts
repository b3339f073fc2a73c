export { InputError } from './errors.js';
export { checkNumber, checkInt, checkPositive, checkFraction, checkOneOf, checkArray } from './validate.js';
export type { Bounds } from './validate.js';
export { rng, fork, exponential, gammaByMeanCv, normal, logNormal, uniform, randomInt } from './random.js';
export type { Rng } from './random.js';
export type { Provenance } from './provenance.js';
export { thisMachineFacts, machineId, machineFingerprint, nativeStackVersions } from './machine.js';
export type { MachineFacts, SoftwareFacts } from './machine.js';
