import { smallestIntegerWhere } from '../util/search.js';

/**
 * The roofline bound and the critical batch, each written once. Every model of
 * batchlab that prices work against a peak and a bandwidth (the spec roofline, a fit
 * to this machine, a calibrated deployment, the charts) calls these.
 */

/**
 * Seconds of work at the roofline: max(flops / peak, bytes / bandwidth). Compute and
 * memory traffic overlap perfectly, so the slower of the two sets the time.
 *
 * @example
 * rooflineSeconds(2e12, 1e9, 1e15, 3e12) // => 0.002 (compute-bound: 2e12 / 1e15)
 */
export function rooflineSeconds(flops: number, bytes: number, peakFlopsPerSecond: number, bytesPerSecond: number): number {
  return Math.max(flops / peakFlopsPerSecond, bytes / bytesPerSecond);
}

/**
 * Critical batch of a weight matmul [B×k]·[k×n] under a peak and a bandwidth: the
 * token count B at which 2·B·k·n / P equals (k·n + B·(k + n))·s / W, i.e.
 * B* = R·s·k·n / (2·k·n − R·s·(k + n)) with R = P / W. About R·s/2 for large k
 * and n; Infinity when the matmul never reaches the ridge.
 *
 * @example
 * matmulKneeBatch(989.5e12, 3.35e12, 2, 8192, 28672) // => about 307
 */
export function matmulKneeBatch(peakFlopsPerSecond: number, bytesPerSecond: number, bytesPerElement: number, k: number, n: number): number {
  const R = peakFlopsPerSecond / bytesPerSecond;
  const denom = 2 * k * n - R * bytesPerElement * (k + n);
  return denom > 0 ? (R * bytesPerElement * k * n) / denom : Infinity;
}

/**
 * Critical batch of a weight matmul whose weights stream over a slow link (host memory,
 * an SSD) while its activations stay in device memory: the token count B at which
 * 2·B·k·n / P equals k·n·s / W, i.e. B* = P·s / (2·W), whatever k and n. The large-k, n
 * limit of `matmulKneeBatch`, but finite however slow the link.
 *
 * @example
 * weightStreamKneeBatch(165e12, 7e9, 0.6) // => about 7,071 tokens per expert
 */
export function weightStreamKneeBatch(peakFlopsPerSecond: number, linkBytesPerSecond: number, bytesPerElement: number): number {
  return (peakFlopsPerSecond * bytesPerElement) / (2 * linkBytesPerSecond);
}

/**
 * Smallest integer x in [1, max] with pred(x) true, for a monotone predicate; Infinity
 * when even `max` fails. The critical batch of a whole step or of one operation inside
 * it (where no closed form exists: expert batches and attention grow differently) is
 * this search over "compute time ≥ memory time".
 *
 * @example
 * smallestTrue((x) => x * x >= 50, 1 << 20) // => 8
 */
export function smallestTrue(pred: (x: number) => boolean, max: number): number {
  return smallestIntegerWhere(pred, 1, max);
}
