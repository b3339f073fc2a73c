import { checkInt, checkNumber } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { MOE_MAX_EXPERTS } from './routing.js';
import { atLeastOnceProbability, expectedDistinctExperts } from '../core/moe.js';
import { smallestIntegerWhere } from '../util/search.js';

/** Largest batch the closed forms accept (they stay O(√batch) per call). */
export const MOE_MAX_CLOSED_FORM_TOKENS = 1e12;

/**
 * The probability mass of Binomial(n, p) over the window [lo, lo + pmf.length) that
 * holds all but ~1e-16 of it. Built outward from the mode with the pmf's ratio
 * recurrence and normalised at the end, so it neither underflows at large n nor
 * needs log-gamma; width is O(√(n·p)).
 */
export interface BinomialWindow {
  lo: number;
  pmf: Float64Array;
}

/**
 * Binomial(n, p) mass over the window that carries all but ~1e-16 of it.
 *
 * @example
 * moeBinomialWindow(4, 0.5) // => { lo: 0, pmf: [0.0625, 0.25, 0.375, 0.25, 0.0625] }
 */
export function moeBinomialWindow(n: number, p: number): BinomialWindow {
  checkInt('n', n, { min: 0, max: MOE_MAX_CLOSED_FORM_TOKENS });
  checkNumber('p', p, { min: 0, max: 1 });
  if (p === 0 || n === 0) return { lo: 0, pmf: Float64Array.of(1) };
  if (p === 1) return { lo: n, pmf: Float64Array.of(1) };
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const odds = p / (1 - p);
  const cut = 1e-18;
  const down: number[] = [];
  let v = 1;
  for (let x = mode; x > 0; x--) {
    v *= x / ((n - x + 1) * odds);
    if (v < cut) break;
    down.push(v);
  }
  const up: number[] = [];
  v = 1;
  for (let x = mode; x < n; x++) {
    v *= ((n - x) * odds) / (x + 1);
    if (v < cut) break;
    up.push(v);
  }
  const pmf = new Float64Array(down.length + 1 + up.length);
  for (let i = 0; i < down.length; i++) pmf[down.length - 1 - i] = down[i];
  pmf[down.length] = 1;
  for (let i = 0; i < up.length; i++) pmf[down.length + 1 + i] = up[i];
  let sum = 0;
  for (let i = 0; i < pmf.length; i++) sum += pmf[i];
  for (let i = 0; i < pmf.length; i++) pmf[i] /= sum;
  return { lo: mode - down.length, pmf };
}

/**
 * P(X ≥ x) for X ~ Binomial(n, p), accurate in the far upper tail (summed from the top).
 *
 * @example
 * moeBinomialUpperTail(4, 0.5, 4) // => 0.0625
 */
export function moeBinomialUpperTail(n: number, p: number, x: number): number {
  checkNumber('x', x, { min: -Infinity });
  const w = moeBinomialWindow(n, p);
  if (x <= w.lo) return 1;
  const i0 = Math.ceil(x) - w.lo;
  if (i0 >= w.pmf.length) return 0;
  let s = 0;
  for (let i = w.pmf.length - 1; i >= i0; i--) s += w.pmf[i];
  return Math.min(1, s);
}

function checkEKB(experts: number, topK: number, tokens: number): void {
  checkInt('experts', experts, { min: 1, max: MOE_MAX_EXPERTS });
  checkInt('topK', topK, { min: 1, max: experts });
  checkInt('tokens', tokens, { min: 0, max: MOE_MAX_CLOSED_FORM_TOKENS });
}

/**
 * Expected number of distinct experts a batch of `tokens` tokens reaches under
 * uniform top-k routing: E·(1 − (1 − k/E)^B), exact (each expert is missed by a token
 * with probability 1 − k/E, independently across tokens).
 *
 * @example
 * moeDistinctExperts(256, 8, 10) // => about 69.6 (DeepSeek-V3, 10 decoding requests)
 */
export function moeDistinctExperts(experts: number, topK: number, tokens: number): number {
  checkEKB(experts, topK, tokens);
  return expectedDistinctExperts(experts, topK, tokens);
}

/**
 * Smallest batch of tokens whose expected number of experts left idle,
 * E − E·(1 − (1 − k/E)^B) = E·(1 − k/E)^B, is at most `idle` under uniform top-k
 * routing: how many decoding requests a step needs before all but `idle` experts run.
 *
 * @example
 * moeTokensToReachExperts(8, 2, 0.5) // => 10 (8·0.75^10 = 0.45 ≤ 0.5, 8·0.75^9 = 0.60)
 * moeTokensToReachExperts(256, 8, 1) // => 175 (DeepSeek-V3: all but one expert)
 */
export function moeTokensToReachExperts(experts: number, topK: number, idle: number): number {
  checkEKB(experts, topK, 0);
  checkNumber('idle', idle, { min: 0, max: experts, exclusiveMin: true });
  return smallestIntegerWhere((b) => experts - expectedDistinctExperts(experts, topK, b) <= idle, 0, MOE_MAX_CLOSED_FORM_TOKENS);
}

/**
 * Variance of the distinct-expert count under uniform top-k routing, exact:
 * E·q1 + E(E−1)·q2 − (E·q1)² with q1 = (1 − k/E)^B the chance one expert is missed and
 * q2 = ((E−k)(E−k−1)/(E(E−1)))^B the chance two given experts both are.
 *
 * @example
 * moeDistinctExpertsVariance(8, 2, 1) // => 0 (one token always reaches exactly 2)
 */
export function moeDistinctExpertsVariance(experts: number, topK: number, tokens: number): number {
  checkEKB(experts, topK, tokens);
  if (tokens === 0) return 0;
  const E = experts;
  const q1 = Math.exp(tokens * Math.log1p(-topK / E));
  const pairMiss = E > 1 ? ((E - topK) * (E - topK - 1)) / (E * (E - 1)) : 0;
  const q2 = pairMiss > 0 ? Math.exp(tokens * Math.log(pairMiss)) : 0;
  const v = E * q1 + E * (E - 1) * q2 - (E * q1) ** 2;
  // Cancellation can leave a tiny negative where the true variance is 0.
  return Math.max(0, v);
}

/**
 * Expected distinct experts for any router whose tokens are independent, from each
 * expert's per-token inclusion probability (`moeInclusionProbabilities`): Σ 1 − (1 − π_i)^B.
 *
 * @example
 * moeDistinctExpertsFromInclusion(new Float64Array(256).fill(1 / 32), 10) // => moeDistinctExperts(256, 8, 10)
 */
export function moeDistinctExpertsFromInclusion(inclusion: ArrayLike<number>, tokens: number): number {
  const pi = checkInclusion(inclusion);
  checkInt('tokens', tokens, { min: 0, max: MOE_MAX_CLOSED_FORM_TOKENS });
  let s = 0;
  for (let i = 0; i < pi.length; i++) s += atLeastOnceProbability(pi[i], tokens);
  return s;
}

/** Validates a per-expert inclusion vector (probabilities, at most 1 each). */
export function checkInclusion(inclusion: ArrayLike<number>): Float64Array {
  if (inclusion === null || typeof inclusion !== 'object' || typeof inclusion.length !== 'number' || inclusion.length < 1 || inclusion.length > MOE_MAX_EXPERTS) {
    throw new InputError('inclusion', inclusion, `an array of 1..${MOE_MAX_EXPERTS} per-expert probabilities`);
  }
  const out = new Float64Array(inclusion.length);
  for (let i = 0; i < out.length; i++) out[i] = checkNumber(`inclusion[${i}]`, inclusion[i], { min: 0, max: 1 });
  return out;
}

/**
 * The distribution of tokens one expert receives from a batch under uniform top-k
 * routing: exactly Binomial(B, k/E), as a window of its mass plus mean and variance.
 *
 * @example
 * moeTokensPerExpert(8, 2, 4000).mean // => 1000 (Mixtral-8x7B, 4000 tokens)
 */
export function moeTokensPerExpert(experts: number, topK: number, tokens: number): BinomialWindow & { mean: number; variance: number } {
  checkEKB(experts, topK, tokens);
  const p = topK / experts;
  return { ...moeBinomialWindow(tokens, p), mean: tokens * p, variance: tokens * p * (1 - p) };
}

/**
 * Expected load of the busiest expert, E[max_i X_i], under uniform top-k routing,
 * with the experts' counts treated as independent Binomial(B, k/E):
 * Σ_{x≥1} 1 − F(x−1)^E. The true counts share a fixed total and are negatively
 * associated (Joag-Dev & Proschan 1983: a uniform k-subset is, and sums of
 * independent ones stay so), under which P(max < x) ≤ F(x−1)^E: this is a lower bound
 * on the exact value, tight to about a percent at E ≥ 8 (see test/moe).
 *
 * @example
 * moeExpectedMaxLoad(256, 8, 4096) // => about 160.6 tokens on the busiest expert (mean 128)
 */
export function moeExpectedMaxLoad(experts: number, topK: number, tokens: number): number {
  checkEKB(experts, topK, tokens);
  if (tokens === 0) return 0;
  return expectedMaxIndependent(moeBinomialWindow(tokens, topK / experts), experts);
}

function expectedMaxIndependent(w: BinomialWindow, copies: number): number {
  // For x ≤ lo, P(max ≥ x) is 1 to within the window's 1e-16 cut.
  let total = Math.max(0, w.lo);
  let tail = 0;
  const tails = new Float64Array(w.pmf.length);
  for (let i = w.pmf.length - 1; i >= 0; i--) {
    tail += w.pmf[i];
    tails[i] = tail;
  }
  // x runs over lo+1 .. hi: P(X ≥ x) = tails[x − lo].
  for (let i = 1; i < w.pmf.length; i++) {
    const s = Math.min(1, tails[i]);
    total += atLeastOnceProbability(s, copies);
  }
  return total;
}
