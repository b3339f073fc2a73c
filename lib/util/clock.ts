/**
 * A `performance.now()` reading (milliseconds) on CLOCK_MONOTONIC in seconds: the clock
 * that `process.hrtime` and Python's `time.perf_counter()` read on Linux, so that times
 * taken by different processes on one machine can be put on one axis.
 *
 * @example
 * monotonicSeconds(performance.now()) // => 10512.337 (seconds since boot)
 */
export function monotonicSeconds(performanceMs: number): number {
  return Number(process.hrtime.bigint()) / 1e9 - (performance.now() - performanceMs) / 1000;
}
