import type { StepWork } from '../core/types.js';
import type { ServingStepCost } from './types.js';
import { checkNumber, checkPositive } from '../util/validate.js';

/**
 * A step cost that ignores the work: every step takes `seconds`. With batch limit 1 and
 * one output token per request this makes the replica an M/D/1 server.
 *
 * @example
 * constantStepCost(0.01)({ prefillTokens: 512, decodeTokens: 0, contextTokens: 0 }) // => 0.01
 */
export function constantStepCost(seconds: number): ServingStepCost {
  checkPositive('seconds', seconds);
  const fn: ServingStepCost = () => seconds;
  fn.label = `constant ${seconds} s/step`;
  return fn;
}

/** Coefficients of an affine step cost; all in seconds. */
export interface AffineStepCostParams {
  /** Fixed per-step cost (weights read once, launch overhead); must be > 0. */
  fixedSeconds: number;
  perPrefillToken?: number;
  perDecodeToken?: number;
  perContextToken?: number;
}

/**
 * fixed + a·prefillTokens + b·decodeTokens + c·contextTokens: the simplest cost with the
 * shape of a memory-bound decode (a fixed weight read plus a per-sequence KV read) and a
 * compute-bound prefill.
 *
 * @example
 * const cost = affineStepCost({ fixedSeconds: 0.02, perPrefillToken: 1e-5, perDecodeToken: 1e-4 });
 * cost({ prefillTokens: 1000, decodeTokens: 10, contextTokens: 0 }) // => 0.031
 */
export function affineStepCost(p: AffineStepCostParams): ServingStepCost {
  const fixed = checkPositive('fixedSeconds', p.fixedSeconds);
  const a = checkNumber('perPrefillToken', p.perPrefillToken ?? 0, { min: 0 });
  const b = checkNumber('perDecodeToken', p.perDecodeToken ?? 0, { min: 0 });
  const c = checkNumber('perContextToken', p.perContextToken ?? 0, { min: 0 });
  const fn: ServingStepCost = (w: StepWork) => fixed + a * w.prefillTokens + b * w.decodeTokens + c * w.contextTokens;
  fn.label = `affine ${fixed} s + ${a} s/prefill tok + ${b} s/decode seq + ${c} s/context tok`;
  return fn;
}
