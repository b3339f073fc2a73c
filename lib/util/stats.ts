// The one home of summary statistics: every folder of lib that summarises a sample
// imports from here, and only this file imports simple-statistics.
import { InputError } from './errors.js';
import { max, mean, median, min, probit, quantile, quantileSorted, sampleStandardDeviation, sampleVariance } from 'simple-statistics';

// median and quantile interpolate linearly between ranks (R type 7, numpy's default);
// an even-length sample's median is the mean of its two middle values.
export { mean, median, probit, quantile, quantileSorted, sampleStandardDeviation };

/** Summary of a sample of numbers, pandas `describe()` style plus the 10th and 90th percentiles. */
export interface SampleSummary {
  count: number;
  mean: number;
  /** Sample standard deviation (n − 1 denominator); NaN for a single value, as in pandas. */
  std: number;
  /** Sample variance (n − 1 denominator); NaN for a single value. */
  variance: number;
  min: number;
  /** 10th percentile, linear interpolation between ranks (R type 7, numpy's default). */
  p10: number;
  median: number;
  /** 90th percentile. */
  p90: number;
  max: number;
}

/**
 * Count, mean, spread and quantiles of a non-empty sample of finite numbers, computed
 * with simple-statistics; NaN entries are skipped (pandas' convention), so columns of
 * unequal length can be padded. Callers validate the sample; an empty one (after
 * skipping NaN) gives count 0 and NaN everywhere else.
 *
 * @example
 * summarizeSample([1, 2, 3, 4, 10]).std // => 3.5355… (√12.5, n − 1 denominator)
 * summarizeSample([3, 1, 2]).median // => 2
 */
export function summarizeSample(values: ArrayLike<number>): SampleSummary {
  const xs = Array.from(values).filter((x) => !Number.isNaN(x));
  if (xs.length === 0) return { count: 0, mean: NaN, std: NaN, variance: NaN, min: NaN, p10: NaN, median: NaN, p90: NaN, max: NaN };
  const sorted = xs.sort((a, b) => a - b);
  const variance = sorted.length > 1 ? sampleVariance(sorted) : NaN;
  return {
    count: sorted.length,
    mean: mean(sorted),
    std: sorted.length > 1 ? sampleStandardDeviation(sorted) : NaN,
    variance,
    min: min(sorted),
    p10: quantileSorted(sorted, 0.1),
    median: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    max: max(sorted),
  };
}

/**
 * The item whose key is the median of the items' keys (the lower of the two middle ones
 * for an even count): one real repetition standing for all of them, so that a figure
 * quoted from it and everything derived from the same item stay consistent (a median
 * taken per field could mix repetitions). Non-finite keys are an InputError naming the item.
 *
 * @example
 * medianBy([{ id: 'a', ridge: 30 }, { id: 'b', ridge: 10 }, { id: 'c', ridge: 20 }], (x) => x.ridge).id // => 'c'
 */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  if (!Array.isArray(items) || items.length === 0) throw new InputError('items', items, 'a non-empty array');
  if (typeof key !== 'function') throw new InputError('key', key, 'a function from an item to a number');
  const keyed = items.map((item, i) => {
    const k = key(item);
    if (typeof k !== 'number' || !Number.isFinite(k)) throw new InputError(`key(items[${i}])`, k, 'a finite number');
    return { item, k, i };
  });
  // Ties keep the input order, so the choice is reproducible.
  keyed.sort((a, b) => a.k - b.k || a.i - b.i);
  return keyed[(keyed.length - 1) >> 1].item;
}
