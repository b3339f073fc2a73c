import type { ModelSpec } from '../models/spec.js';
import { moeDeviceLoads, moeExpertParallelSteps, moeLoadImbalance } from '../moe/placement.js';
import { moeZipfPopularity } from '../moe/routing.js';
import { fork } from '../util/random.js';
import { checkInt } from '../util/validate.js';

// Each point is a seeded draw, the same for the same arguments: computed once per process and
// kept while among the most recently used `ROUTING_CACHE_POINTS` (a layout and seed asks at most
// 256 exact points and 33 grid points, so the cache is bounded; an evicted point is drawn again, identically).
const ROUTING_CACHE_POINTS = 1024;

/** The most tokens one routing sample of `uniformRoutingLoadFactor` draws (each a top-k draw, 25 times: 20 warm-up steps and 5 measured). */
export const ROUTING_SAMPLE_MAX_TOKENS = 1 << 22;

/**
 * The largest token count `uniformRoutingLoadFactor` draws: it draws powers of two up to it and
 * carries larger steps by the normal limit (65,536 tokens: about 0.25 s once per layout and seed).
 */
export const ROUTING_GRID_MAX_TOKENS = 1 << 16;

interface Drawn {
  factor: number;
  /** The fitted placement's busiest device over the mean when every expert gets the same tokens. */
  limit: number;
}
const computed = new Map<string, Drawn>();

/**
 * How many load-factor points `uniformRoutingLoadFactor` holds (at most 1024).
 *
 * @example
 * routingLoadFactorCacheSize() // => 0 before the first call, never above 1024
 */
export function routingLoadFactorCacheSize(): number {
  return computed.size;
}

type RoutingLayout = { expertParallel: number; redundantExperts: number };

function draw(model: ModelSpec, layout: RoutingLayout, tokens: number, seed: number, steps: number): Drawn {
  const moe = model.moe!;
  const key = `${moe.numExperts}|${moe.expertsPerToken}|${layout.expertParallel}|${layout.redundantExperts}|${tokens}|${seed}|${steps}`;
  const known = computed.get(key);
  if (known !== undefined) {
    // Most recently used last: the Map's first key is the one evicted.
    computed.delete(key);
    computed.set(key, known);
    return known;
  }
  // lib/moe `moeImbalanceSweep`'s point at Zipf exponent 0 (uniform routing), run directly to keep its placement.
  const popularity = moeZipfPopularity(moe.numExperts, 0, fork(seed, 'moe-zipf'));
  const run = moeExpertParallelSteps(
    { kind: 'weighted', experts: moe.numExperts, topK: moe.expertsPerToken, popularity },
    { tokens: checkInt('tokens', tokens, { min: 1, max: ROUTING_SAMPLE_MAX_TOKENS }), devices: layout.expertParallel, redundant: layout.redundantExperts, steps, seed },
  );
  const equal = new Float64Array(moe.numExperts).fill(1);
  const d: Drawn = { factor: Math.max(1, run.balancedSummary.mean), limit: Math.max(1, moeLoadImbalance(moeDeviceLoads(run.balanced, equal))) };
  computed.set(key, d);
  if (computed.size > ROUTING_CACHE_POINTS) computed.delete(computed.keys().next().value as string);
  return d;
}

/**
 * The load factor of one seeded routing sample of exactly `tokens` tokens per step (what
 * `uniformRoutingLoadFactor` draws at its grid points); the reference its grid is checked against.
 *
 * @example
 * sampledRoutingLoadFactor(loadModel('deepseek-v3'), { expertParallel: 32, redundantExperts: 32 }, 3000, 1) // => about 1.2
 */
export function sampledRoutingLoadFactor(model: ModelSpec, layout: RoutingLayout, tokens: number, seed: number, steps = 5): number {
  if (!model.moe || layout.expertParallel === 1) return 1;
  return draw(model, layout, tokens, seed, steps).factor;
}

/** Up to this many tokens `uniformRoutingLoadFactor` draws every count exactly (each draw under about 1 ms). */
export const ROUTING_EXACT_MAX_TOKENS = 256;

/** Grid point i: round(2^(i/4)) tokens, four per doubling. */
const gridTokens = (i: number): number => Math.round(2 ** (i / 4));

/**
 * How `uniformRoutingLoadFactor` reaches `tokens`: sampled at the count itself (up to
 * `ROUTING_EXACT_MAX_TOKENS`, and at a grid point), interpolated in log tokens between the two grid
 * points around it (four per doubling), or extrapolated past `ROUTING_GRID_MAX_TOKENS`.
 *
 * @example
 * routingLoadFactorBasis(3000) // => 'interpolated in log tokens between samples of 2896 and 3444 tokens'
 */
export function routingLoadFactorBasis(tokens: number): string {
  const r = gridReading(checkInt('tokens', tokens, { min: 1, max: ROUTING_SAMPLE_MAX_TOKENS }));
  if (r.kind === 'extrapolated') return `extrapolated from a sample of ${ROUTING_GRID_MAX_TOKENS} tokens as 1/√tokens towards the placement's balance of equal loads`;
  return r.kind === 'sampled' ? `sampled at ${tokens} tokens` : `interpolated in log tokens between samples of ${r.lo} and ${r.hi} tokens`;
}

function gridReading(t: number): { kind: 'sampled' } | { kind: 'interpolated'; lo: number; hi: number } | { kind: 'extrapolated' } {
  if (t <= ROUTING_EXACT_MAX_TOKENS) return { kind: 'sampled' };
  if (t > ROUTING_GRID_MAX_TOKENS) return { kind: 'extrapolated' };
  let i = Math.floor(4 * Math.log2(t));
  while (gridTokens(i) > t) i--;
  while (gridTokens(i + 1) <= t) i++;
  const lo = gridTokens(i);
  return lo === t ? { kind: 'sampled' } : { kind: 'interpolated', lo, hi: gridTokens(i + 1) };
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
 * Up to `ROUTING_EXACT_MAX_TOKENS` every count is drawn (`sampledRoutingLoadFactor`); above, only a
 * grid of four counts per doubling, round(2^(i/4)), so a simulated run asks a bounded set of draws, not
 * one per step size: between two, the factor is interpolated linearly in log tokens; past `ROUTING_GRID_MAX_TOKENS` (C), `L + (f(C) − L)·√(C / tokens)`, the normal
 * limit's 1/√tokens decay towards the fitted placement's balance of equal loads `L`
 * (`routingLoadFactorBasis` says which). docs/kernels.md (EPLB) gives the measured difference from exact sampling.
 *
 * @example
 * uniformRoutingLoadFactor(loadModel('deepseek-v3'), { expertParallel: 144, redundantExperts: 32 }, 128 * 2 * 144, 1) // => about 1.18
 */
export function uniformRoutingLoadFactor(model: ModelSpec, layout: RoutingLayout, tokens: number, seed: number, steps = 5): number {
  if (!model.moe || layout.expertParallel === 1) return 1;
  const t = checkInt('tokens', tokens, { min: 1, max: ROUTING_SAMPLE_MAX_TOKENS });
  const r = gridReading(t);
  if (r.kind === 'extrapolated') {
    const c = draw(model, layout, ROUTING_GRID_MAX_TOKENS, seed, steps);
    const limit = Math.min(c.limit, c.factor);
    return Math.max(1, limit + (c.factor - limit) * Math.sqrt(ROUTING_GRID_MAX_TOKENS / t));
  }
  if (r.kind === 'sampled') return draw(model, layout, t, seed, steps).factor;
  const lo = draw(model, layout, r.lo, seed, steps).factor;
  const hi = draw(model, layout, r.hi, seed, steps).factor;
  const w = Math.log(t / r.lo) / Math.log(r.hi / r.lo);
  return Math.max(1, lo + (hi - lo) * w);
}
