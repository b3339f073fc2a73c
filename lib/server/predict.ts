import { simulateServing } from '../batching/simulate.js';
import type { ServingPolicy, ServingResult, ServingStepCost } from '../batching/types.js';
import { engineStepCost } from '../engine/stepcost.js';
import type { EngineStepCostFit } from '../engine/stepcost.js';
import type { LoadResult, LoadWorkload } from './load.js';
import { mean, median } from '../util/stats.js';
import { InputError } from '../util/errors.js';
import { fork } from '../util/random.js';
import { checkInt } from '../util/validate.js';
import { serveBenchmarkMetrics } from '../batching/benchmark.js';
import { summariseLoad } from './load.js';
import type { StepWork } from '../core/types.js';

/**
 * Costs of serving that are not engine steps, measured on the running server before a
 * run (see probeServerOverheads): the loop's work between two steps (emitting tokens,
 * yielding to I/O), and the HTTP path a request and its first token take between the
 * client and the loop.
 */
export interface ServerOverheads {
  /** Added to every step: the loop's time from one step's end to the next decision. */
  stepSeconds: number;
  /** Added to every TTFT and end-to-end latency: client-observed minus loop-observed TTFT. */
  requestSeconds: number;
}

/**
 * The step cost the simulator runs for a server: the engine's measured step cost plus
 * the loop's per-step overhead. With a `seed` and a fit to served steps that carries
 * their measured spread (`stepFactors`), each step's cost is multiplied by a factor drawn
 * from them (seeded, one draw per step), so the prediction carries the slow steps that
 * other processes on the same cores cause, as often as the calibration saw them.
 * `draw` (an integer in [0, 1000000]) picks one of the seed's independent streams of
 * factors (predictLoadDraws runs several); 0, the default, is the stream of a single prediction.
 *
 * @example
 * serverStepCost(fit, { stepSeconds: 5e-4, requestSeconds: 0 })({ prefillTokens: 0, decodeTokens: 4, contextTokens: 200 })
 */
export function serverStepCost(fit: EngineStepCostFit, overheads?: ServerOverheads, seed?: number, draw = 0): ServingStepCost {
  const engine = engineStepCost(fit);
  const extra = overheads?.stepSeconds ?? 0;
  const factors = seed === undefined ? [] : fit.stepFactors ?? [];
  checkInt('draw', draw, { min: 0, max: 1_000_000 });
  // Draw 0 keeps the stream every earlier prediction used; draw i > 0 is its own seeded stream.
  const rng = factors.length ? fork(seed!, draw === 0 ? 'served-step-factors' : `served-step-factors/${draw}`) : undefined;
  const fn: ServingStepCost = rng ? (w) => engine(w) * factors[Math.floor(rng() * factors.length)] + extra : (w) => engine(w) + extra;
  const spread = rng ? ` × a factor drawn per step from ${factors.length} served steps (median ${median(factors).toFixed(2)}, mean ${mean(factors).toFixed(2)})` : '';
  fn.label = `${fit.label}${spread}${extra > 0 ? ` + ${(extra * 1e3).toFixed(2)} ms loop overhead per step` : ''}`;
  return fn;
}

/**
 * The simulator's prediction of a measured run: `simulateServing` with the same
 * workload, seed and policy, and the engine's step cost measured on this machine (plus
 * the loop's measured per-step overhead, when given; a fit to served steps draws each
 * step's factor from their measured spread, seeded by `seed`, see serverStepCost). In closed loop the request
 * overhead (the client's HTTP path) is added to each client's think time, since the
 * server sees the next request that much after the client saw the last token.
 *
 * @example
 * const predicted = predictLoad(workload, { kind: 'continuous', maxBatch: 8 }, fit, 1);
 * predicted.ttft.p50
 */
export function predictLoad(workload: LoadWorkload, policy: ServingPolicy, fit: EngineStepCostFit, seed: number, overheads?: ServerOverheads, opts: PredictOptions = {}): ServingResult {
  const stepCost = serverStepCost(fit, overheads, seed, opts.draw ?? 0);
  // In closed loop a client's HTTP path lies between its finish and the server seeing its next request: think time to the server.
  const a = workload.arrivals;
  const arrivals = a.kind === 'closed' && (overheads?.requestSeconds ?? 0) > 0 && (a.think ?? 'fixed') === 'fixed' ? { ...a, thinkSeconds: (a.thinkSeconds ?? 0) + overheads!.requestSeconds } : a;
  const warmupRequests = opts.warmupRequests ?? 0;
  return simulateServing({ ...workload, arrivals, policy, stepCost, costLabel: stepCost.label, ...(warmupRequests > 0 ? { warmupRequests } : {}) }, seed);
}

/** How a prediction draws the served steps' factors and which requests it counts. */
export interface PredictOptions {
  /** Which seeded stream of step factors to draw from (0, the default, is predictLoad's own). */
  draw?: number;
  /** Requests left out of the latencies as warm-up: the first sent (see serveBenchmarkMetrics). */
  warmupRequests?: number;
}

/**
 * The requests a comparison leaves out as warm-up: in closed loop each client's first
 * request (the clients send them together at the start, and which of them reach the
 * first step is a race of microseconds), when the run sends more than one round; else none.
 *
 * @example
 * closedLoopWarmup({ arrivals: { kind: 'closed', clients: 16 }, requests: 48, promptTokens: { kind: 'fixed', tokens: 8 }, outputTokens: { kind: 'fixed', tokens: 8 } }) // => 16
 */
export function closedLoopWarmup(workload: Pick<LoadWorkload, 'arrivals' | 'requests'>): number {
  const a = workload.arrivals;
  return a.kind === 'closed' && (workload.requests ?? 0) > a.clients ? a.clients : 0;
}

/**
 * Seeded draws of the step factors a prediction takes its median over (odd, so that the
 * median is one draw's value). One draw is one possible run: on the served-step fits of
 * the default engine (seed 1, 48 requests, 303 draws), single draws put the p99 TTFT
 * anywhere from 0.19 to 0.36 s at light load and from 0.35 to 0.78 s at the knee; the
 * median of 101 draws moved by up to 9 % between three disjoint sets of draws (0.456,
 * 0.481, 0.485 s at the knee with batchlab's client; 0.481, 0.522, 0.522 s with the
 * Python client), that of 15 draws by up to 13 %. A simulation of such a run takes
 * milliseconds, so 101 draws cost well under a second.
 */
export const PREDICTION_DRAWS = 101;

/**
 * The simulator's prediction of a measured run as `draws` runs of predictLoad: the same
 * workload, arrivals and lengths (seeded by `seed`), each with its own seeded draw of
 * the step factors. A fit without a measured spread gives one run (every draw would be
 * the same). comparePrediction takes the median of each metric over them.
 *
 * @example
 * const runs = predictLoadDraws(workload, { kind: 'continuous', maxBatch: 16 }, fit, 1, overheads);
 * comparePrediction(measured, runs, overheads) // predicted = median over the runs
 */
export function predictLoadDraws(
  workload: LoadWorkload,
  policy: ServingPolicy,
  fit: EngineStepCostFit,
  seed: number,
  overheads?: ServerOverheads,
  opts: Omit<PredictOptions, 'draw'> & { draws?: number } = {},
): ServingResult[] {
  const draws = checkInt('draws', opts.draws ?? PREDICTION_DRAWS, { min: 1, max: 1001 });
  const n = fit.stepFactors?.length ? draws : 1;
  return Array.from({ length: n }, (_, draw) => predictLoad(workload, policy, fit, seed, overheads, { draw, warmupRequests: opts.warmupRequests }));
}

/**
 * How much slower (> 1) or faster the steps a server ran were than a step-cost fit says
 * for the same work: the median over the logged steps of (next decision − start) /
 * fit(work), the served-step duration the served calibration fits. On a machine shared
 * with other processes it shows how far the machine's speed moved between the
 * calibration and a run; NaN without a timed step.
 *
 * @example
 * servedStepRatio(log.steps, fit) // => 1.08: the run's steps took 8 % longer than the fit
 */
export function servedStepRatio(steps: Array<{ start: number; nextDecision: number | null; work: StepWork }>, fit: EngineStepCostFit): number {
  const cost = engineStepCost(fit);
  const r = steps.filter((s) => Number.isFinite(s.nextDecision ?? NaN)).map((s) => (s.nextDecision! - s.start) / cost(s.work));
  return r.length ? median(r) : NaN;
}

/** One metric, predicted beside measured. */
export interface PredictionRow {
  metric: string;
  /** The prediction: one run's value, or the median over a prediction's draws (predictLoadDraws). */
  predicted: number;
  measured: number;
  /** (predicted − measured) / measured. */
  error: number;
  /** Over several draws: the smallest and largest value a single draw gave (the band of the prediction). */
  predictedMin?: number;
  predictedMax?: number;
}

/**
 * Predicted and measured TTFT (p50, p99), inter-token latency p50 (every gap between a
 * request's consecutive tokens), time per output token p50 (per request) and output
 * throughput, each with its relative error. The request overhead, when given, is added
 * to the predicted TTFT (the simulator's requests arrive at the engine instantly).
 *
 * Given several runs (predictLoadDraws), each metric's prediction is its median over
 * them, with the smallest and largest beside it. With `warmupRequests` w > 0, both sides
 * leave out the first w requests sent, as serveBenchmarkMetrics does for the simulator:
 * every metric is over the rest, throughput over their window (first send to last
 * finish). The runs must have been simulated with the same warm-up (predictLoadDraws'
 * `warmupRequests`: it keeps the ITL of the rest); a run simulated without it is an InputError.
 *
 * @example
 * comparePrediction(measured, predicted).map((r) => `${r.metric}: ${(100 * r.error).toFixed(1)} %`)
 */
export function comparePrediction(measured: LoadResult, predicted: ServingResult | readonly ServingResult[], overheads?: ServerOverheads, opts: { warmupRequests?: number } = {}): PredictionRow[] {
  const req = overheads?.requestSeconds ?? 0;
  const runs: readonly ServingResult[] = Array.isArray(predicted) ? predicted : [predicted as ServingResult];
  if (runs.length === 0) throw new InputError('predicted', runs, 'at least one simulated run');
  const w = checkInt('warmupRequests', opts.warmupRequests ?? 0, { min: 0, max: Math.max(0, measured.records.length - 1) });
  // A run simulated without this warm-up has no ITL of the rest: refuse it rather than drop the ITL row.
  const unmatched = w === 0 ? -1 : runs.findIndex((r) => r.itlAfterWarmup?.warmupRequests !== w);
  if (unmatched >= 0) throw new InputError(`predicted[${unmatched}]`, runs[unmatched].itlAfterWarmup?.warmupRequests ?? 0, `runs simulated with the comparison's warm-up, warmupRequests ${w} (predictLoadDraws(..., { warmupRequests }))`);
  const m = measuredAfterWarmup(measured, w);
  const metricsOf = (r: ServingResult): Array<number | undefined> => {
    if (w === 0) return [r.ttft.p50 + req, r.ttft.p99 + req, r.itl?.p50, r.tpot?.p50, r.throughputTokensPerSecond];
    const b = serveBenchmarkMetrics(r, w);
    return [b.medianTtftMs / 1e3 + req, b.p99TtftMs / 1e3 + req, b.medianItlMs === null ? undefined : b.medianItlMs / 1e3, b.medianTpotMs === null ? undefined : b.medianTpotMs / 1e3, b.outputThroughput];
  };
  const perRun = runs.map(metricsOf);
  const names = ['TTFT p50 (s)', 'TTFT p99 (s)', 'ITL p50 (s)', 'TPOT p50 (s)', 'throughput (tok/s)'];
  const measuredValues = [m.ttft.p50, m.ttft.p99, m.itl?.p50, m.tpot?.p50, m.throughputTokensPerSecond];
  const rows: PredictionRow[] = [];
  names.forEach((metric, j) => {
    const values = perRun.map((v) => v[j]).filter((x): x is number => x !== undefined);
    const mv = measuredValues[j];
    if (values.length !== perRun.length || mv === undefined) return;
    const p = median(values);
    rows.push({ metric, predicted: p, measured: mv, error: (p - mv) / mv, ...(values.length > 1 ? { predictedMin: Math.min(...values), predictedMax: Math.max(...values) } : {}) });
  });
  return rows;
}

/**
 * The metrics of a measured run without its first `warmupRequests` requests sent (the
 * side of comparePrediction's warm-up that the client measured); the run itself when none.
 *
 * @example
 * measuredAfterWarmup(closedLoopRun, closedLoopWarmup(workload)).ttft.p99 // each client's first request left out
 */
export function measuredAfterWarmup(measured: LoadResult, warmupRequests: number): LoadResult {
  const w = checkInt('warmupRequests', warmupRequests, { min: 0, max: Math.max(0, measured.records.length - 1) });
  if (w === 0) return measured;
  const rest = measured.records.slice().sort((x, y) => x.send - y.send).slice(w);
  return summariseLoad(rest, { url: measured.provenance.url, workload: measured.provenance.workload, seed: measured.provenance.seed });
}

/** Prediction rows of one unit, for a table whose headers carry it. */
export interface PredictionRowsOfUnit<T> {
  /** 'ms' for the latencies, else the unit the metric's name carries ('tok/s'). */
  unit: string;
  /** The rows, each metric named without its unit, predicted and measured in `unit`. */
  rows: T[];
}

/**
 * The rows of comparePrediction (or predictedVsMeasured's `table`) grouped by unit for
 * display, latencies in milliseconds as the charts draw them: a metric named
 * "TTFT p50 (s)" becomes "TTFT p50" in the 'ms' group, its predicted and measured
 * values × 1000 (1 s = 1000 ms); "throughput (tok/s)" stays in tok/s. The relative
 * error does not depend on the unit and is kept. Groups come in first-seen order.
 *
 * @example
 * predictionRowsByUnit([{ metric: 'TTFT p50 (s)', predicted: 0.012, measured: 0.010, error: 0.2 }])
 * // => [{ unit: 'ms', rows: [{ metric: 'TTFT p50', predicted: 12, measured: 10, error: 0.2 }] }]
 */
export function predictionRowsByUnit<T extends { metric: string; predicted: number; measured: number }>(rows: readonly T[]): Array<PredictionRowsOfUnit<T>> {
  if (!Array.isArray(rows)) throw new InputError('rows', rows, 'an array of { metric, predicted, measured } rows');
  const groups = new Map<string, T[]>();
  rows.forEach((r, i) => {
    const m = /^(.*\S)\s*\(([^()]+)\)$/.exec(typeof r?.metric === 'string' ? r.metric : '');
    if (!m) throw new InputError(`rows[${i}].metric`, r?.metric, 'a metric name ending in its unit in parentheses, e.g. "TTFT p50 (s)"');
    const seconds = m[2] === 's';
    const unit = seconds ? 'ms' : m[2];
    const scale = seconds ? 1e3 : 1;
    const list = groups.get(unit) ?? [];
    list.push({ ...r, metric: m[1], predicted: r.predicted * scale, measured: r.measured * scale });
    groups.set(unit, list);
  });
  return [...groups].map(([unit, list]) => ({ unit, rows: list }));
}

/** How far off a set of predictions is, for one metric (a plain record, so tables take it). */
export type PredictionErrorSummary = {
  metric: string;
  points: number;
  medianAbsError: number;
  maxAbsError: number;
  /** Points whose |error| ≤ 10 %, the target of the predicted-vs-measured benchmark. */
  within10: number;
};

/**
 * Median and largest |error| per metric over the rows of comparePrediction (or the
 * `table` of predictedVsMeasured), and how many are within 10 %.
 *
 * @example
 * predictionErrorSummary(rows).find((s) => s.metric === 'TTFT p50 (s)')?.medianAbsError
 */
export function predictionErrorSummary(rows: Array<{ metric: string; error: number }>): PredictionErrorSummary[] {
  const metrics = [...new Set(rows.map((r) => r.metric))];
  return metrics.map((metric) => {
    const e = rows.filter((r) => r.metric === metric).map((r) => Math.abs(r.error)).sort((a, b) => a - b);
    return {
      metric,
      points: e.length,
      medianAbsError: median(e),
      maxAbsError: e[e.length - 1],
      within10: e.filter((x) => x <= 0.1).length,
    };
  });
}

/**
 * A sentence with the median error and the count within 10 % of throughput, inter-token
 * latency p50 and TTFT p50 over a set of points.
 *
 * @example
 * showMarkdown(describePredictionErrors(predictionErrorSummary(rows)));
 */
export function describePredictionErrors(summary: PredictionErrorSummary[]): string {
  const part = (metric: string): string => {
    const s = summary.find((x) => x.metric === metric);
    return s ? `within a median of ${(100 * s.medianAbsError).toFixed(1)} % (${s.within10} of ${s.points} points within 10 %, worst ${(100 * s.maxAbsError).toFixed(0)} %)` : 'not at all (not measured)';
  };
  return `Throughput was predicted ${part('throughput (tok/s)')}, inter-token latency p50 ${part('ITL p50 (s)')} and TTFT p50 ${part('TTFT p50 (s)')}.`;
}
