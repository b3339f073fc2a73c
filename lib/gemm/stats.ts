import { summarizeSample } from '../util/stats.js';
import { checkArray, checkNumber } from '../util/validate.js';

/** Robust summary of repeated timings, in the unit of the samples. */
export interface TimingStats {
  median: number;
  p10: number;
  p90: number;
  mean: number;
  /** Coefficient of variation (sample standard deviation / mean); 0 for a single sample. */
  cv: number;
  /** Number of samples. */
  n: number;
}

/**
 * Median, 10th and 90th percentiles, mean and coefficient of variation of a sample.
 * The median is what batchlab reports: on a shared machine a few slow repetitions
 * (another process, a page fault) would drag a mean far more than the median.
 *
 * @example
 * timingStats([3, 1, 2]).median // => 2
 */
export function timingStats(samples: readonly number[]): TimingStats {
  checkArray<number>('samples', samples);
  samples.forEach((s, i) => checkNumber(`samples[${i}]`, s, { min: 0 }));
  const s = summarizeSample(samples);
  const sd = s.count > 1 ? s.std : 0;
  return { median: s.median, p10: s.p10, p90: s.p90, mean: s.mean, cv: s.mean > 0 ? sd / s.mean : 0, n: s.count };
}
