import type { ModelSpec } from '../models/spec.js';
import { moeImbalanceSweep } from '../moe/placement.js';
import { checkInt } from '../util/validate.js';

// Each point is a seeded draw, the same for the same arguments: computed once per process and
// kept while among the most recently used `ROUTING_CACHE_POINTS` (a simulated run asks one point
// per distinct step size, so the cache is bounded; an evicted point is drawn again, identically).
const ROUTING_CACHE_POINTS = 1024;

/** The most tokens one routing sample of `uniformRoutingLoadFactor` draws (each a top-k draw; 524,288 take about 2 s). */
export const ROUTING_SAMPLE_MAX_TOKENS = 1 << 22;
const computed = new Map<string, number>();

/**
 * How many load-factor points `uniformRoutingLoadFactor` holds (at most 1024).
 *
 * @example
 * routingLoadFactorCacheSize() // => 0 before the first call, never above 1024
 */
export function routingLoadFactorCacheSize(): number {
  return computed.size;
}

/**
 * The expert load factor that routing alone gives a layout: the mean over seeded steps
 * of the busiest device's routed tokens over the mean, with uniform top-k routing of
 * `tokens` tokens per step over `expertParallel` devices and EPLB-style placement of
 * `redundantExperts` extra copies (lib/moe `moeImbalanceSweep`). Uniform routing is the
 * most favourable case: real routing is skewed, and only adds to it. 1 for a dense
 * model or without expert parallelism. It is ≥ 1, and as `tokens` grows it tends to the
 * placement's balance of equal expert loads (each device's load is a sum of random routings
 * whose spread shrinks against its mean as 1/√tokens): 1 where the slots divide evenly
 * (256 experts, or 256 + 32 copies, over 32 devices), above 1 where they cannot (256 experts
 * without copies over 72 devices: 4 on some, 3 on others). It is what `expertRouting: 'eplb'` prices a layout's busiest expert device
 * at, in the performance model and under the kernel tables alike.
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
  const key = `${model.moe.numExperts}|${model.moe.expertsPerToken}|${layout.expertParallel}|${layout.redundantExperts}|${tokens}|${seed}|${steps}`;
  const known = computed.get(key);
  if (known !== undefined) {
    // Most recently used last: the Map's first key is the one evicted.
    computed.delete(key);
    computed.set(key, known);
    return known;
  }
  const rows = moeImbalanceSweep({
    experts: model.moe.numExperts,
    topK: model.moe.expertsPerToken,
    tokens: checkInt('tokens', tokens, { min: 1, max: ROUTING_SAMPLE_MAX_TOKENS }),
    devices: layout.expertParallel,
    zipfExponents: [0],
    redundant: [layout.redundantExperts],
    steps,
    seed,
  });
  const balanced = rows.find((r) => r.policy === 'balanced');
  const f = Math.max(1, balanced ? balanced.imbalance.mean : 1);
  computed.set(key, f);
  if (computed.size > ROUTING_CACHE_POINTS) computed.delete(computed.keys().next().value as string);
  return f;
}
