import { quantileSorted } from '../util/stats.js';
import type { ServingLatencyStats } from './types.js';

/**
 * Mean, p50/p90/p99 (linear interpolation, numpy's default) and max of the first
 * `count` values of `values`. Sorts `values` in place: pass a scratch copy.
 */
export function latencyStatsInPlace(values: Float64Array, count: number): ServingLatencyStats {
  const v = values.subarray(0, count);
  v.sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += v[i];
  const sorted = v as unknown as number[];
  return {
    count,
    mean: sum / count,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    max: v[count - 1],
  };
}
