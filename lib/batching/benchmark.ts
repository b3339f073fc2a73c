import { InputError } from '../util/errors.js';
import { checkInt } from '../util/validate.js';
import { median } from '../util/stats.js';
import { latencyStats } from './stats.js';
import type { ServingResult } from './types.js';

/**
 * A run's figures as `vllm bench serve` reports them (vLLM 0.34.0, vllm/benchmarks/serve.py
 * calculate_metrics at :602), over the measured requests: every request but the warm-up
 * ones, which `vllm bench serve --num-warmups` sends before the benchmark starts and
 * leaves out of every figure (serve.py:926-948; the clock starts after them, :1048).
 *
 * - TTFT: first token − send; E2EL: last token − send.
 * - TPOT: (E2EL − TTFT) / (output − 1), per request with more than one output token
 *   (serve.py:656-657); it excludes the first token.
 * - ITL: every gap between two consecutive tokens of a request
 *   (vllm/benchmarks/lib/endpoint_request_func.py:289-295), pooled over requests
 *   (serve.py:661), median and percentiles over that pool (:797-799).
 * - Throughputs: completed requests, output tokens, and prompt + output tokens, over
 *   the steady-state window: first measured send to last measured finish.
 *
 * Means, medians and p99 are over requests (TTFT, TPOT, E2EL) or tokens (ITL), with
 * linear interpolation between ranks as numpy's percentile does. Times in ms.
 */
export interface ServeBenchmarkMetrics {
  completed: number;
  /** Requests left out of every figure: the first `warmupRequests` sent. */
  warmupRequests: number;
  totalInput: number;
  totalOutput: number;
  /** The steady-state window the figures cover: first measured send, seconds from the run's start. */
  windowStartSeconds: number;
  /** Last measured finish, seconds from the run's start. */
  windowEndSeconds: number;
  /** First measured send to last measured finish, seconds. */
  durationSeconds: number;
  /** Last measured finish − last measured send: the drain at the end of the window, when fewer requests are in flight. */
  drainSeconds: number;
  requestThroughput: number;
  outputThroughput: number;
  totalTokenThroughput: number;
  meanTtftMs: number;
  medianTtftMs: number;
  p99TtftMs: number;
  meanTpotMs: number | null;
  medianTpotMs: number | null;
  p99TpotMs: number | null;
  /** Exact over the measured requests: their gaps sum to (last − first token) per request. */
  meanItlMs: number | null;
  /**
   * Median and p99 ITL over the measured requests' tokens, from the run's log histogram
   * (0.1 % bins): the whole run's when no request is left out, else the one the run kept
   * for its requests after the warm-up (ServingConfig.warmupRequests, which must equal
   * `warmupRequests`; null when the run kept none for this warm-up).
   */
  medianItlMs: number | null;
  p99ItlMs: number | null;
  meanE2elMs: number;
  medianE2elMs: number;
  p99E2elMs: number;
}

/**
 * The `vllm bench serve` figures of a simulated run that kept its request log, leaving
 * out the first `warmupRequests` requests sent (a closed loop's first round, one per
 * client, all sent at t = 0: the ramp-up a benchmark's warm-up absorbs). Simulate the
 * run with the same `warmupRequests` for exact median and p99 ITL of the rest.
 *
 * @example
 * const r = simulateServing({ ...config, arrivals: { kind: 'closed', clients: 16 }, warmupRequests: 16 }, 1);
 * serveBenchmarkMetrics(r, 16).medianItlMs
 */
export function serveBenchmarkMetrics(r: ServingResult, warmupRequests: number): ServeBenchmarkMetrics {
  const log = r.requestLog;
  if (!log) throw new InputError('result.requestLog', log, 'a run simulated with keepRequests (the default)');
  const n = r.requests;
  const w = checkInt('warmupRequests', warmupRequests, { min: 0, max: n - 1 });
  const m = n - w;
  const { arrival, firstToken, finish, promptTokens, outputTokens } = log;
  const scratch = new Float64Array(m);
  let start = Infinity;
  let lastSend = -Infinity;
  let end = -Infinity;
  let input = 0;
  let output = 0;
  let decodeSeconds = 0;
  let gaps = 0;
  for (let i = w; i < n; i++) {
    if (arrival[i] < start) start = arrival[i];
    if (arrival[i] > lastSend) lastSend = arrival[i];
    if (finish[i] > end) end = finish[i];
    input += promptTokens[i];
    output += outputTokens[i];
    decodeSeconds += finish[i] - firstToken[i];
    gaps += outputTokens[i] - 1;
  }
  const ms = (s: number) => s * 1000;
  for (let i = w; i < n; i++) scratch[i - w] = firstToken[i] - arrival[i];
  const ttft = latencyStats(scratch, m);
  let k = 0;
  for (let i = w; i < n; i++) if (outputTokens[i] > 1) scratch[k++] = (finish[i] - firstToken[i]) / (outputTokens[i] - 1);
  const tpot = k > 0 ? latencyStats(scratch, k) : null;
  for (let i = w; i < n; i++) scratch[i - w] = finish[i] - arrival[i];
  const e2el = latencyStats(scratch, m);
  const dur = end - start;
  const itl = w === 0 ? r.itl : r.itlAfterWarmup?.warmupRequests === w ? r.itlAfterWarmup.itl : null;
  let first = Infinity;
  for (let i = 0; i < n; i++) if (arrival[i] < first) first = arrival[i];
  return {
    completed: m,
    warmupRequests: w,
    totalInput: input,
    totalOutput: output,
    windowStartSeconds: start - first,
    windowEndSeconds: end - first,
    durationSeconds: dur,
    drainSeconds: end - lastSend,
    requestThroughput: m / dur,
    outputThroughput: output / dur,
    totalTokenThroughput: (input + output) / dur,
    meanTtftMs: ms(ttft.mean),
    medianTtftMs: ms(ttft.p50),
    p99TtftMs: ms(ttft.p99),
    meanTpotMs: tpot ? ms(tpot.mean) : null,
    medianTpotMs: tpot ? ms(tpot.p50) : null,
    p99TpotMs: tpot ? ms(tpot.p99) : null,
    meanItlMs: gaps > 0 ? ms(decodeSeconds / gaps) : null,
    medianItlMs: itl && gaps > 0 ? ms(itl.p50) : null,
    p99ItlMs: itl && gaps > 0 ? ms(itl.p99) : null,
    meanE2elMs: ms(e2el.mean),
    medianE2elMs: ms(e2el.p50),
    p99E2elMs: ms(e2el.p99),
  };
}

/** Whether an open-loop run kept up with its arrivals. */
export interface ServingBacklog {
  /** The window: from the arrival of the first request of the second quarter to the last arrival, seconds. */
  fromSeconds: number;
  toSeconds: number;
  /** Requests that arrived, and that finished, within the window. */
  arrived: number;
  finished: number;
  /** The same two as rates over the window. */
  offeredPerSecond: number;
  servedPerSecond: number;
  /** Median end-to-end latency of the second quarter of requests and of the last quarter, in arrival order, seconds. */
  e2eSecondQuarter: number;
  e2eLastQuarter: number;
  /**
   * The queue grew through the run: more requests arrived than finished in the window, by
   * over a tenth of the arrivals and over three standard deviations of a Poisson count, and
   * the last quarter's median end-to-end latency is at least 1.5 times the second quarter's.
   * Both are needed. A stable queue's in-flight count at the window's ends can leave the
   * first true in a short run, while its quarters share one latency distribution; a queue
   * that grows for the whole run makes each request wait longer than the one before (at 1.5
   * times a replica's capacity the last quarter's median is about 1.9 times the second's
   * with a 1.3 s service time, tending to 7/3 as waits dominate). An overload of a few per
   * cent grows too slowly to pass both within one run, and is not flagged.
   */
  growing: boolean;
}

/**
 * Finishes against arrivals, and end-to-end latency early against late, over an open-loop
 * run's arrivals after its first quarter (its ramp-up), from its request log. Null for a
 * run of fewer than 8 requests or whose arrivals span no time (a burst), where no rate is
 * defined.
 *
 * @example
 * const r = simulateServing({ ...config, arrivals: { kind: 'poisson', ratePerSecond: 200 } }, 1);
 * servingBacklog(r)?.growing // => true when the replica serves well below 200 req/s
 */
export function servingBacklog(r: ServingResult): ServingBacklog | null {
  const log = r.requestLog;
  if (!log) throw new InputError('result.requestLog', log, 'a run simulated with keepRequests (the default)');
  const n = r.requests;
  if (n < 8) return null;
  const { arrival, finish } = log;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => arrival[a] - arrival[b] || a - b);
  const from = arrival[order[Math.floor(n / 4)]];
  const last = arrival[order[n - 1]];
  if (!(last > from)) return null;
  let arrived = 0;
  let finished = 0;
  for (let i = 0; i < n; i++) {
    if (arrival[i] > from && arrival[i] <= last) arrived++;
    if (finish[i] > from && finish[i] <= last) finished++;
  }
  const medianE2e = (lo: number, hi: number): number => median(order.slice(lo, hi).map((i) => finish[i] - arrival[i]));
  const e2eSecondQuarter = medianE2e(Math.floor(n / 4), Math.floor(n / 2));
  const e2eLastQuarter = medianE2e(Math.floor((3 * n) / 4), n);
  const span = last - from;
  return {
    fromSeconds: from,
    toSeconds: last,
    arrived,
    finished,
    offeredPerSecond: arrived / span,
    servedPerSecond: finished / span,
    e2eSecondQuarter,
    e2eLastQuarter,
    growing: arrived - finished > Math.max(0.1 * arrived, 3 * Math.sqrt(arrived)) && e2eLastQuarter >= 1.5 * e2eSecondQuarter,
  };
}
