import { benchGroupedExperts } from '../gemm/cases.js';
import type { GroupedExpertsOptions, GroupedExpertsSummary } from '../gemm/cases.js';
import { checkArray, checkInt } from '../util/validate.js';
import { fork } from '../util/random.js';
import { checkMoeRouting, MOE_MAX_TOKENS } from './routing.js';
import type { MoeRouting } from './routing.js';
import { moeRouteCounts } from './routing.js';
import { moeDeviceExpertTokens, moeStaticPlacement } from './placement.js';

/** Options of `moeBenchDeviceExperts`. */
export interface MoeDeviceExpertsBenchOptions extends Omit<GroupedExpertsOptions, 'tokensPerExpert'> {
  /** How tokens pick their experts. */
  routing: MoeRouting;
  /** Decode steps to time, as the number of requests (one token each) the step holds. */
  requests: readonly number[];
  /** Devices the experts are split over evenly (expert parallelism, `moeStaticPlacement`). */
  devices: number;
  /** Which device's experts are timed: an index, or the one with the most tokens (default). */
  device?: number | 'busiest';
  /** Seed of the routing draws; step r draws from `fork(seed, 'bench-' + r)`. */
  routingSeed: number;
}

/** One timed decode step of `moeBenchDeviceExperts`: its routing, and the grouped-expert timings. */
export interface MoeDeviceExpertsBenchRow extends GroupedExpertsSummary {
  /** "R requests: t1, t2, … tokens", the tokens of the device's experts. */
  label: string;
  requests: number;
  /** Device the experts were timed for. */
  device: number;
  /** Tokens each expert slot of that device received. */
  tokens: number[];
  /** tfjs backend and device the matmuls ran on (from the GEMM harness). */
  backendName: string;
  deviceName: string;
}

/**
 * Times the routed-expert matmuls one device runs in a decode step: for each step size,
 * routes that many tokens with `routing`, takes one device's experts under an even
 * expert-parallel split, and measures them three ways with `benchGroupedExperts`
 * (one padded batched call, one matmul per expert, one dense matmul of equal FLOPs).
 * The routing is seeded, so the token counts are the same on every run.
 *
 * @example
 * const rows = await moeBenchDeviceExperts({ routing: { kind: 'uniform', experts: 256, topK: 8 },
 *   requests: [16, 512], devices: 32, device: 0, routingSeed: 1, k: 7168, n: 2048 });
 * rows[0].expertPenalty // => time of the per-expert matmuls over one dense matmul of equal FLOPs
 */
export async function moeBenchDeviceExperts(opts: MoeDeviceExpertsBenchOptions): Promise<MoeDeviceExpertsBenchRow[]> {
  const routing = checkMoeRouting(opts.routing);
  const requests = checkArray<number>('requests', opts.requests, 64);
  requests.forEach((r, i) => checkInt(`requests[${i}]`, r, { min: 1, max: MOE_MAX_TOKENS }));
  const placement = moeStaticPlacement(routing.experts, opts.devices);
  const which = opts.device ?? 'busiest';
  if (which !== 'busiest') checkInt('device', which, { min: 0, max: opts.devices - 1 });
  checkInt('routingSeed', opts.routingSeed, { min: 0, max: 2 ** 31 });
  const rows: MoeDeviceExpertsBenchRow[] = [];
  for (const r of requests) {
    const counts = moeRouteCounts(opts.routing, r, fork(opts.routingSeed, `bench-${r}`));
    const device = moeDeviceExpertTokens(placement, counts, which);
    const run = await benchGroupedExperts({
      tokensPerExpert: device.tokens,
      k: opts.k,
      n: opts.n,
      dtype: opts.dtype,
      layout: opts.layout,
      backend: opts.backend,
      timing: opts.timing,
      minReps: opts.minReps,
      minTimeMs: opts.minTimeMs,
      memoryBudgetBytes: opts.memoryBudgetBytes,
      seed: opts.seed,
    });
    rows.push({
      label: `${r} requests: ${device.tokens.join(', ')} tokens`,
      requests: r,
      device: device.device,
      tokens: device.tokens,
      ...run.summary,
      backendName: String(run.table.get('backend', 0)),
      deviceName: String(run.table.get('device', 0)),
    });
  }
  return rows;
}
