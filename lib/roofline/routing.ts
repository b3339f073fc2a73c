import type { ModelSpec } from '../models/spec.js';
import { moeImbalanceSweep } from '../moe/placement.js';
import { checkInt } from '../util/validate.js';

/**
 * The expert load factor that routing alone gives a layout: the mean over seeded steps
 * of the busiest device's routed tokens over the mean, with uniform top-k routing of
 * `tokens` tokens per step over `expertParallel` devices and EPLB-style placement of
 * `redundantExperts` extra copies (lib/moe `moeImbalanceSweep`). Uniform routing is the
 * most favourable case: real routing is skewed, and only adds to it. 1 for a dense
 * model or without expert parallelism.
 *
 * @example
 * uniformRoutingLoadFactor(loadModel('deepseek-v3'), { expertParallel: 144, redundantExperts: 32 }, 128 * 2 * 144, 1) // => about 1.18
 */
export function uniformRoutingLoadFactor(
  model: ModelSpec,
  layout: { expertParallel: number; redundantExperts: number },
  tokens: number,
  seed: number,
  steps = 5,
): number {
  if (!model.moe || layout.expertParallel === 1) return 1;
  const rows = moeImbalanceSweep({
    experts: model.moe.numExperts,
    topK: model.moe.expertsPerToken,
    tokens: checkInt('tokens', tokens, { min: 1, max: 1 << 22 }),
    devices: layout.expertParallel,
    zipfExponents: [0],
    redundant: [layout.redundantExperts],
    steps,
    seed,
  });
  const balanced = rows.find((r) => r.policy === 'balanced');
  return Math.max(1, balanced ? balanced.imbalance.mean : 1);
}
