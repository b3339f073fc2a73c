import { quantile } from '../util/stats.js';
import type { ServingLatencyStats } from './types.js';

/**
 * Mean, p50/p90/p99 (linear interpolation, numpy's default) and max of the first
 * `count` values of `values`. The quantiles are selected (simple-statistics' quickselect
 * on a copy), not read from a full sort: at 10^6 values, a third of the sort's time.
 */
export function latencyStats(values: Float64Array, count: number): ServingLatencyStats {
  const v = values.subarray(0, count);
  let sum = 0;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const x = v[i];
    sum += x;
    if (x > max) max = x;
  }
  const [p50, p90, p99] = quantile(v as unknown as number[], [0.5, 0.9, 0.99]) as unknown as number[];
  return { count, mean: sum / count, p50, p90, p99, max };
}
