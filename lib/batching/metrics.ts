import type { ServingLatencyStats } from './types.js';

// Log-spaced bins 0.1 % wide from 1 ns to 10^6 s: 34,500 bins, quantiles within 0.05 %.
const LO = 1e-9;
const RATIO = 1.001;
const LOG_RATIO = Math.log(RATIO);
const BINS = Math.ceil(Math.log(1e6 / LO) / LOG_RATIO) + 1;

/**
 * A weighted distribution of positive durations (seconds) in log-spaced bins: adding
 * a value with a weight is O(1), so a run can record one inter-token latency per
 * group of tokens emitted together without storing every token. Mean and max are exact.
 *
 * @example
 * const h = new DurationHistogram();
 * h.add(0.01, 30); // 30 tokens 10 ms after their previous one
 * h.stats()!.p50 // => 0.01 within 0.05 %
 */
export class DurationHistogram {
  readonly counts = new Float64Array(BINS);
  count = 0;
  sum = 0;
  max = 0;

  add(seconds: number, weight: number): void {
    if (weight <= 0) return;
    let b = Math.floor(Math.log(seconds / LO) / LOG_RATIO);
    if (!(b >= 0)) b = 0;
    else if (b >= BINS) b = BINS - 1;
    this.counts[b] += weight;
    this.count += weight;
    this.sum += seconds * weight;
    if (seconds > this.max) this.max = seconds;
  }

  /** The q-quantile (nearest rank), read at the geometric centre of its bin; max for q = 1. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let c = 0;
    for (let b = 0; b < BINS; b++) {
      c += this.counts[b];
      if (c >= rank) return Math.min(this.max, LO * Math.pow(RATIO, b + 0.5));
    }
    return this.max;
  }

  stats(): ServingLatencyStats | null {
    if (this.count === 0) return null;
    return { count: this.count, mean: this.sum / this.count, p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99), max: this.max };
  }
}
