import type { StepWork } from '../core/types.js';
import { simulateServing } from '../batching/simulate.js';
import { engineDevice, servingEnginePreset, type ServingEngineName, type ServingEnginePreset } from '../batching/engines.js';
import type { ServingLengthSpec, ServingResult, ServingStepCost } from '../batching/types.js';
import { checkInt, checkNumber, checkPositive } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { checkPrecision } from './layout.js';
import { calibratedStepModel } from './perf.js';
import { searchPointCoordinates } from './search.js';
import type { SearchPoint, SearchSpace } from './search.js';
import type { DeviceStepModel } from './types.js';
import { assertMemoryFit } from './pool.js';

/**
 * A DeviceStepModel as the serving simulator's step cost: a step's prefill tokens,
 * prompts and decoding sequences (at their mean context) on one attention rank. An
 * empty step costs a one-sequence decode with no context.
 *
 * @example
 * simulateServing({ ...config, stepCost: deploymentStepCost(step) }, 1)
 */
export function deploymentStepCost(step: DeviceStepModel): ServingStepCost {
  const f = (w: StepWork): number => {
    const D = w.decodeTokens;
    if (w.prefillTokens + D === 0) return step.step({ prefillTokens: 0, decodeSequences: 1, decodeContext: 0 }).seconds;
    return step.step({
      prefillTokens: w.prefillTokens,
      prefillSequences: w.prefillTokens > 0 ? Math.min(w.prefillTokens, w.prefillSequences ?? 1) : undefined,
      decodeSequences: D,
      decodeContext: D > 0 ? w.contextTokens / D : 0,
    }).seconds;
  };
  return Object.assign(f, { label: step.label });
}

/** TTFT and TPOT percentiles of one rank under load, from the serving simulator. */
export interface DeploymentServing {
  ttftP50: number;
  ttftP99: number;
  tpotP50: number | null;
  tpotP99: number | null;
  /** Output tokens per second of the rank. */
  outputTokensPerSecond: number;
  result: ServingResult;
}

/**
 * Runs the serving simulator on one attention rank of a deployment (colocated,
 * continuous batching up to `maxBatch` sequences, KV capacity from the memory left
 * beside the weights) at `ratePerSecond` Poisson arrivals, and returns its TTFT and
 * TPOT percentiles. With `engine`, the rank schedules as that engine's preset instead
 * (servingEnginePreset: its batch and token budget replace `maxBatch`). A pure function
 * of its inputs and `seed`.
 *
 * @example
 * simulateDeployment(step, { ratePerSecond: 4, promptTokens: { kind: 'fixed', tokens: 1000 },
 *   outputTokens: { kind: 'fixed', tokens: 200 }, maxBatch: 64, requests: 2000 }, 1).ttftP99
 */
export function simulateDeployment(
  step: DeviceStepModel,
  opts: { ratePerSecond: number; promptTokens: ServingLengthSpec; outputTokens: ServingLengthSpec; maxBatch: number; requests: number; engine?: ServingEngineName | ServingEnginePreset },
  seed: number,
): DeploymentServing {
  const rate = checkPositive('ratePerSecond', opts.ratePerSecond, 1e6);
  const maxBatch = checkInt('maxBatch', opts.maxBatch, { min: 1, max: 1 << 16 });
  const requests = checkInt('requests', opts.requests, { min: 1, max: 1_000_000 });
  assertMemoryFit(step, 1, 1, 'one device of the rank');
  // The rank's KV capacity from the one memory fit: what an empty batch leaves beside the weights, over one token's KV.
  const free = step.fit(0, 1).headroomBytes;
  const kvPerToken = step.fit(1, 1).kvCacheBytes;
  const kvCapacityTokens = free > 0 && kvPerToken > 0 ? Math.floor(free / kvPerToken) : undefined;
  const result = simulateServing(
    {
      arrivals: { kind: 'poisson', ratePerSecond: rate },
      requests,
      promptTokens: opts.promptTokens,
      outputTokens: opts.outputTokens,
      ...(opts.engine === undefined ? { policy: { kind: 'continuous' as const, maxBatch } } : { engine: opts.engine }),
      stepCost: deploymentStepCost(step),
      kvCapacityTokens,
      keepRequests: false,
    },
    seed,
  );
  return {
    ttftP50: result.ttft.p50,
    ttftP99: result.ttft.p99,
    tpotP50: result.tpot ? result.tpot.p50 : null,
    tpotP99: result.tpot ? result.tpot.p99 : null,
    outputTokensPerSecond: result.throughputTokensPerSecond,
    result,
  };
}

/**
 * Runs the serving simulator on one attention rank of a search point: its layout,
 * precision and hardware, continuous batching up to the point's batch, the load's
 * prompt (cache misses only) and output lengths, at `utilisation` of the rank's
 * capacity (1 / device-seconds per request × the rank's devices). Gives the TTFT and
 * TPOT percentiles the analytic search only bounds. With `engine`, the rank schedules
 * as that engine's preset on the point's hardware.
 *
 * @example
 * simulateSearchPoint(space, searchCheapestDeployment(space, slo).best!, { requests: 2000 }, 1).tpotP99
 */
export function simulateSearchPoint(
  space: SearchSpace,
  point: SearchPoint,
  opts: { utilisation?: number; requests: number; engine?: ServingEngineName },
  seed: number,
): DeploymentServing & { ratePerSecond: number; loadFraction: number } {
  if (!point || !point.feasible) throw new InputError('point', point?.reason ?? point, 'a feasible SearchPoint of the space');
  const co = searchPointCoordinates(space, point.index);
  const u = checkNumber('utilisation', opts.utilisation ?? 0.8, { min: 0, exclusiveMin: true, max: 1 });
  const layout = space.layouts[co.l];
  const make = space.stepModel ?? calibratedStepModel;
  const step = make(space.model, space.hardware[co.h], layout, checkPrecision(space.precisions[co.p]), 'decode');
  const prompt = Math.max(1, space.load.promptTokens - Math.floor(space.load.promptTokens * (space.load.cacheHitFraction ?? 0)));
  const rate = (u * layout.tensorParallel * layout.pipelineParallel) / point.deviceSecondsPerRequest;
  const sim = simulateDeployment(
    step,
    {
      ratePerSecond: rate,
      promptTokens: { kind: 'fixed', tokens: prompt },
      outputTokens: { kind: 'fixed', tokens: space.load.outputTokens },
      maxBatch: point.batch,
      requests: opts.requests,
      ...(opts.engine === undefined ? {} : { engine: servingEnginePreset(opts.engine, engineDevice(space.hardware[co.h])) }),
    },
    seed,
  );
  return { ...sim, ratePerSecond: rate, loadFraction: u };
}
