import type { StepWork } from '../core/types.js';
import { simulateServing } from '../batching/simulate.js';
import { servingBacklog, type ServingBacklog } from '../batching/benchmark.js';
import { engineDevice, servingEnginePreset, type ServingEngineName, type ServingEnginePreset } from '../batching/engines.js';
import type { ServingLengthSpec, ServingResult, ServingStepCost } from '../batching/types.js';
import { checkInt, checkNumber, checkPositive } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { presetMemoryFraction } from '../batching/replica.js';
import type { HardwareSpec } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { precisionOfClasses } from '../roofline/deployment.js';
import { checkPrecision, layoutParallelism } from './layout.js';
import { defaultStepModel } from './perf.js';
import { checkSlo, searchCandidates, searchPointCoordinates } from './search.js';
import type { SearchPoint, SearchSpace, Slo } from './search.js';
import type { DeploymentPrecision, DeviceStepModel, PoolLayout } from './types.js';
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
  /** KV tokens the rank holds: what the step model's memory fit leaves beside the weights (null: unbounded). */
  kvCapacityTokens: number | null;
  /** Whether the rank kept up with its arrivals (`servingBacklog`; null for a run too short to tell): where `growing`, the percentiles grow with the number of requests. */
  backlog: ServingBacklog | null;
  /** The run, less its per-request log. */
  result: ServingResult;
}

/**
 * The share of each device's memory that holds weights and KV cache when an engine
 * preset sizes the cache of a pool (presetMemoryFraction at the layout's parallelism
 * and the precision's classes): what `deploy --simulate --engine` and
 * `simulateSearchPoint` with `engine` size the rank's KV cache by.
 *
 * @example
 * layoutPresetMemoryFraction(servingEnginePreset('trtllm'), loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), layout, uniformPrecision('fp8')) // => 0.9 + 0.1 · weights / device memory
 */
export function layoutPresetMemoryFraction(preset: ServingEnginePreset, model: ModelSpec, hw: HardwareSpec, layout: PoolLayout, precision: DeploymentPrecision): number {
  return presetMemoryFraction(preset, model, hw, { parallelism: layoutParallelism(model, layout), precision: precisionOfClasses(checkPrecision(precision)) });
}

/**
 * Runs the serving simulator on one attention rank of a deployment (colocated,
 * continuous batching up to `maxBatch` sequences, KV capacity from the memory left
 * beside the weights) at `ratePerSecond` Poisson arrivals, and returns its TTFT and
 * TPOT percentiles. With `engine`, the rank schedules as that engine's preset instead
 * (servingEnginePreset: its batch and token budget replace `maxBatch`). A pure function
 * of its inputs and `seed`.
 *
 * With `pipelineStages` p > 1 the rank is a pipeline holding p micro-batches in flight,
 * as `decodePerformance` prices it: each is simulated as an engine of up to `maxBatch`
 * sequences whose every step crosses all p stages (p × one stage's step, the step model's
 * interval), at 1/p of the arrivals and of the KV cache (each device holds its layers'
 * cache for every micro-batch). The streams share no queue, so this splits the load
 * evenly where a real scheduler would fill the next free micro-batch: a bound on
 * neither side, an approximation.
 *
 * @example
 * simulateDeployment(step, { ratePerSecond: 4, promptTokens: { kind: 'fixed', tokens: 1000 },
 *   outputTokens: { kind: 'fixed', tokens: 200 }, maxBatch: 64, requests: 2000 }, 1).ttftP99
 */
export function simulateDeployment(
  step: DeviceStepModel,
  opts: { ratePerSecond: number; promptTokens: ServingLengthSpec; outputTokens: ServingLengthSpec; maxBatch: number; requests: number; engine?: ServingEngineName | ServingEnginePreset; pipelineStages?: number },
  seed: number,
): DeploymentServing {
  const rate = checkPositive('ratePerSecond', opts.ratePerSecond, 1e6);
  const maxBatch = checkInt('maxBatch', opts.maxBatch, { min: 1, max: 1 << 16 });
  const requests = checkInt('requests', opts.requests, { min: 1, max: 1_000_000 });
  const stages = checkInt('pipelineStages', opts.pipelineStages ?? 1, { min: 1, max: 1 << 10 });
  assertMemoryFit(step, 1, 1, 'one device of the rank');
  // The rank's KV capacity from the one memory fit: what an empty batch leaves beside the weights, over one token's KV.
  const free = step.fit(0, 1).headroomBytes;
  const kvPerToken = step.fit(1, 1).kvCacheBytes;
  const kvCapacityTokens = free > 0 && kvPerToken > 0 ? Math.floor(free / kvPerToken) : undefined;
  const stageCost = deploymentStepCost(step);
  // One micro-batch stream of the pipeline: its steps cross every stage.
  const stepCost = stages === 1 ? stageCost : Object.assign((w: StepWork) => stages * stageCost(w), { label: `${stageCost.label} × ${stages} pipeline stages` });
  const full = simulateServing(
    {
      arrivals: { kind: 'poisson', ratePerSecond: rate / stages },
      requests,
      promptTokens: opts.promptTokens,
      outputTokens: opts.outputTokens,
      ...(opts.engine === undefined ? { policy: { kind: 'continuous' as const, maxBatch } } : { engine: opts.engine }),
      stepCost,
      kvCapacityTokens: kvCapacityTokens === undefined ? undefined : Math.floor(kvCapacityTokens / stages),
    },
    seed,
  );
  // The request log only tells whether the queue grew; the result kept is without it.
  const backlog = servingBacklog(full);
  const { requestLog: _, ...result } = full;
  return {
    ttftP50: result.ttft.p50,
    ttftP99: result.ttft.p99,
    tpotP50: result.tpot ? result.tpot.p50 : null,
    tpotP99: result.tpot ? result.tpot.p99 : null,
    outputTokensPerSecond: result.throughputTokensPerSecond * stages,
    kvCapacityTokens: kvCapacityTokens ?? null,
    backlog,
    result,
  };
}

/**
 * Runs the serving simulator on one attention rank of a search point: its layout,
 * precision and hardware, continuous batching up to the point's batch, the load's
 * prompt (cache misses only) and output lengths, at `utilisation` of the rank's
 * capacity (1 / device-seconds per request × the rank's devices; by default the share
 * the search's load keeps it busy, `searchPointLoadShare`). Gives the TTFT and
 * TPOT percentiles the analytic search only bounds. With `engine`, the rank schedules
 * as that engine's preset on the point's hardware at the layout's tensor parallelism,
 * and its KV cache is what the preset's memory rule leaves beside the weights
 * (layoutPresetMemoryFraction, as `deploy --simulate --engine`); `memoryFraction` says
 * which share of memory that was (null without an engine: the step model's default).
 *
 * @example
 * simulateSearchPoint(space, searchCheapestDeployment(space, slo).best!, { requests: 2000 }, 1).tpotP99
 */
export function simulateSearchPoint(
  space: SearchSpace,
  point: SearchPoint,
  opts: { utilisation?: number; requests: number; engine?: ServingEngineName },
  seed: number,
): DeploymentServing & { ratePerSecond: number; loadFraction: number; memoryFraction: number | null } {
  if (!point || !point.feasible) throw new InputError('point', point?.reason ?? point, 'a feasible SearchPoint of the space');
  const co = searchPointCoordinates(space, point.index);
  // By default the rank runs the load the search priced the point for (it ran at 0.8 of capacity, whatever the load).
  const u = checkNumber('utilisation', opts.utilisation ?? searchPointLoadShare(space, point), { min: 0, exclusiveMin: true, max: 1 });
  const layout = space.layouts[co.l];
  const hw = space.hardware[co.h];
  const precision = checkPrecision(space.precisions[co.p]);
  const make = space.stepModel ?? defaultStepModel;
  const preset = opts.engine === undefined ? undefined : servingEnginePreset(opts.engine, engineDevice(hw, layout.tensorParallel));
  const memoryFraction = preset ? layoutPresetMemoryFraction(preset, space.model, hw, layout, precision) : null;
  const step = make(space.model, hw, layout, precision, 'decode', memoryFraction === null ? undefined : { memoryFraction });
  // A factory that ignores the memory share would size the cache by its own default without a word.
  if (memoryFraction !== null && Math.abs(step.fit(0, 1).capacityBytes - hw.memoryCapacityBytes * memoryFraction) > 1e-6 * hw.memoryCapacityBytes) {
    throw new InputError('space.stepModel', step.label, `a step model factory that sizes memory by extras.memoryFraction (${memoryFraction} under the ${opts.engine} preset)`);
  }
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
      pipelineStages: layout.pipelineParallel,
      ...(preset === undefined ? {} : { engine: preset }),
    },
    seed,
  );
  return { ...sim, ratePerSecond: rate, loadFraction: u, memoryFraction };
}

/**
 * The percentile a simulated check holds TTFT and TPOT to: MLPerf Inference's Server
 * scenario, whose queries arrive as a Poisson process, as here, and whose LLM latency
 * limits (TTFT and TPOT) hold at the 99th percentile (mlcommons/inference_policies,
 * inference_rules.adoc, "Scenarios" table, commit ac93e89).
 */
export const SIMULATED_SLO_PERCENTILE = 99;

/**
 * The share of its rank's time a search point's load keeps busy: the load's request rate
 * × the device-seconds a request takes, over the devices the search gives it (the
 * utilisation `simulateSearchPoint` runs the rank at to see that load).
 *
 * @example
 * searchPointLoadShare(space, point) // => 0.62: each rank busy 62 % of the time
 */
export function searchPointLoadShare(space: SearchSpace, point: SearchPoint): number {
  if (!point || !point.feasible) throw new InputError('point', point?.reason ?? point, 'a feasible SearchPoint of the space');
  const share = (checkPositive('load.requestsPerSecond', space.load.requestsPerSecond, 1e9) * point.deviceSecondsPerRequest) / point.devicesNeeded;
  // Whole units round the devices up, so the share never exceeds 1 but for rounding.
  return Math.min(1, share);
}

/** One candidate of `simulatedCheapestDeployment`, run under its load. */
export interface SimulatedCandidate {
  point: SearchPoint;
  serving: DeploymentServing & { ratePerSecond: number; loadFraction: number; memoryFraction: number | null };
  /** Whether the simulated p99 TTFT and p99 TPOT meet the SLO (`SIMULATED_SLO_PERCENTILE`). */
  meets: boolean;
  /** The limits it breaks (`simulatedSloMisses`); none where it meets them. */
  missed: string[];
}

/**
 * The cheapest deployment whose SLO holds under its load in the serving simulator: the
 * search's candidates (`searchCandidates`), cheapest first, each run on one rank at the
 * share of time its load keeps busy (`searchPointLoadShare`, Poisson arrivals, continuous
 * batching up to the point's batch), until one meets the SLO at p99
 * (`SIMULATED_SLO_PERCENTILE`). The search prices TTFT as one prompt's prefill and TPOT as
 * a decode step at the batch; the simulation adds queueing and prompts sharing steps with
 * decodes, so an answer can fail here that passed there. `best` is null when none of the
 * first `candidates` holds. A pure function of its inputs and `seed`.
 *
 * @example
 * simulatedCheapestDeployment(space, { ttftSeconds: 1, tpotSeconds: 0.04 }, { requests: 2000, candidates: 10 }, 1).best?.point.index
 */
export function simulatedCheapestDeployment(
  space: SearchSpace,
  slo: Slo,
  opts: { requests: number; candidates: number; onCandidate?: (done: number, of: number) => void },
  seed: number,
): { best: SimulatedCandidate | null; checked: SimulatedCandidate[]; candidates: number } {
  const s = checkSlo(slo);
  const checked: SimulatedCandidate[] = [];
  const list = searchCandidates(space, s, opts.candidates);
  for (const point of list) {
    opts.onCandidate?.(checked.length, list.length);
    const serving = simulateSearchPoint(space, point, { utilisation: searchPointLoadShare(space, point), requests: opts.requests }, seed);
    const missed = simulatedSloMisses(serving, s);
    const c = { point, serving, meets: missed.length === 0, missed };
    checked.push(c);
    if (c.meets) return { best: c, checked, candidates: list.length };
  }
  return { best: null, checked, candidates: list.length };
}

/**
 * The limits of an SLO a simulated run breaks at p99 (`SIMULATED_SLO_PERCENTILE`), each as
 * "TTFT p99 1.03 s > 1 s"; none where it holds. A run with no TPOT (one output token) breaks
 * a TPOT limit: nothing shows it holds.
 *
 * @example
 * simulatedSloMisses({ ttftP99: 1.2, tpotP99: 0.03 }, { ttftSeconds: 1, tpotSeconds: 0.04 }) // => ['TTFT p99 1.20 s > 1.00 s']
 */
export function simulatedSloMisses(serving: Pick<DeploymentServing, 'ttftP99' | 'tpotP99'>, slo: Slo): string[] {
  const s = checkSlo(slo);
  const t = (x: number): string => (x >= 1 ? `${x.toFixed(2)} s` : `${(x * 1e3).toPrecision(3)} ms`);
  const out: string[] = [];
  if (s.ttftSeconds !== undefined && !(serving.ttftP99 <= s.ttftSeconds)) out.push(`TTFT p99 ${t(serving.ttftP99)} > ${t(s.ttftSeconds)}`);
  if (s.tpotSeconds !== undefined && !(serving.tpotP99 !== null && serving.tpotP99 <= s.tpotSeconds)) out.push(`TPOT p99 ${serving.tpotP99 === null ? 'none' : t(serving.tpotP99)} > ${t(s.tpotSeconds)}`);
  return out;
}
