import { simulateServing } from '../batching/simulate.js';
import type { ServingPolicy, ServingResult } from '../batching/types.js';
import { engineStepCost } from '../engine/stepcost.js';
import type { EngineStepCostFit } from '../engine/stepcost.js';
import type { LoadResult, LoadWorkload } from './load.js';

/**
 * The simulator's prediction of a measured run: `simulateServing` with the same
 * workload, seed and policy, and the engine's step cost measured on this machine.
 *
 * @example
 * const predicted = predictLoad(workload, { kind: 'continuous', maxBatch: 8 }, fit, 1);
 * predicted.ttft.p50
 */
export function predictLoad(workload: LoadWorkload, policy: ServingPolicy, fit: EngineStepCostFit, seed: number): ServingResult {
  return simulateServing({ ...workload, policy, stepCost: engineStepCost(fit), costLabel: fit.label }, seed);
}

/** One metric, predicted beside measured. */
export interface PredictionRow {
  metric: string;
  predicted: number;
  measured: number;
  /** (predicted − measured) / measured. */
  error: number;
}

/**
 * Predicted and measured TTFT (p50, p99), inter-token latency p50 (every gap between a
 * request's consecutive tokens), time per output token p50 (per request) and output
 * throughput, each with its relative error.
 *
 * @example
 * comparePrediction(measured, predicted).map((r) => `${r.metric}: ${(100 * r.error).toFixed(1)} %`)
 */
export function comparePrediction(measured: LoadResult, predicted: ServingResult): PredictionRow[] {
  const rows: Array<[string, number | undefined, number | undefined]> = [
    ['TTFT p50 (s)', predicted.ttft.p50, measured.ttft.p50],
    ['TTFT p99 (s)', predicted.ttft.p99, measured.ttft.p99],
    ['ITL p50 (s)', predicted.itl?.p50, measured.itl?.p50],
    ['TPOT p50 (s)', predicted.tpot?.p50, measured.tpot?.p50],
    ['throughput (tok/s)', predicted.throughputTokensPerSecond, measured.throughputTokensPerSecond],
  ];
  return rows
    .filter((r): r is [string, number, number] => r[1] !== undefined && r[2] !== undefined)
    .map(([metric, p, m]) => ({ metric, predicted: p, measured: m, error: (p - m) / m }));
}
