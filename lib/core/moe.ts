/**
 * Probability that an event of per-trial probability `p` happens at least once in
 * `trials` independent trials: 1 − (1 − p)^n, computed as −expm1(n·log1p(−p)) so
 * that it keeps its precision when p is tiny and n huge (where 1 − (1 − p)^n rounds
 * (1 − p) first and loses every digit of p below 1e-16). The one place batchlab
 * writes this formula.
 *
 * @example
 * atLeastOnceProbability(0.5, 2) // => 0.75
 * atLeastOnceProbability(1e-18, 1e9) // => about 1e-9 (1 − (1 − p)^n would give 0)
 */
export function atLeastOnceProbability(p: number, trials: number): number {
  // 0·log(0) would be NaN when p = 1 and no trial happens.
  if (trials === 0) return 0;
  if (p >= 1) return 1;
  // One trial is p itself; expm1(log1p(−p)) would round it by an ulp.
  if (trials === 1) return p;
  return -Math.expm1(trials * Math.log1p(-p));
}

/**
 * Expected number of distinct experts that `tokens` tokens reach when each picks
 * `topK` of `experts` uniformly (top-k routing with a perfectly balanced router):
 * E·(1 − (1 − k/E)^T), exact, because each expert is missed by one token with
 * probability 1 − k/E independently across tokens. One token reaches k; many tokens
 * reach all E. `tokens` may be fractional (an expected batch). The one place batchlab
 * writes this formula; callers validate their input before calling it.
 *
 * @example
 * expectedDistinctExperts(256, 8, 1) // => 8
 * expectedDistinctExperts(256, 8, 10) // => about 69.6 (DeepSeek-V3, 10 decoding requests)
 */
export function expectedDistinctExperts(experts: number, topK: number, tokens: number): number {
  return experts * atLeastOnceProbability(topK / experts, tokens);
}
