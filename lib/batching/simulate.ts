import { InputError } from '../util/errors.js';
import { resolveServing } from './config.js';
import { runServingEngine, type EngineRun } from './engine.js';
import { servingPolicyModule } from './policy.js';
import { latencyStats } from './stats.js';
import type { ServingConfig, ServingEngineConfig, ServingResult } from './types.js';

/**
 * Simulates one serving replica, event by event, and returns per-request latency
 * statistics, per-token inter-token latency, throughput, cost per token, utilisation
 * and the batch-size distribution. A pure function of (config, seed): the same pair
 * gives bit-identical results.
 *
 * Model: the engine runs one step at a time; a step's duration is `config.stepCost`
 * of its work. The step that finishes a prompt emits that request's first token; every
 * later step that decodes emits one token per decoding sequence. What runs in each
 * step is decided by the registered policy module named by `config.policy.kind`
 * (static, window, continuous, chunked; see ServingPolicy). Each step's StepWork
 * counts its prompt chunks (`prefillSequences`) and their causal attention pairs
 * (`prefillAttentionPairs`, a chunk covering its prompt's earlier chunks and cached
 * prefix), so k prompts prefilled together are priced as k prompts, not one k times longer.
 *
 * @example
 * // 10 requests/s: about half of what this step cost serves (20.5/s at batch 64), so a steady state
 * const r = simulateServing({
 *   arrivals: { kind: 'poisson', ratePerSecond: 10 },
 *   requests: 10_000,
 *   promptTokens: { kind: 'fixed', tokens: 512 },
 *   outputTokens: { kind: 'uniform', min: 16, max: 256 },
 *   policy: { kind: 'continuous', maxBatch: 64 },
 *   stepCost: affineStepCost({ fixedSeconds: 0.015, perPrefillToken: 2e-5, perDecodeToken: 5e-5 }),
 * }, 1);
 * r.e2e.p99; r.itl?.p99; r.busySecondsPer1kTokens; // e2e p99 ≈ 4.7 s
 * servingBacklog(r).growing // => false (at 50/s: true, and e2e p99 ≈ 281 s)
 */
export function simulateServing(config: ServingConfig | ServingEngineConfig, seed: number): ServingResult {
  const R = resolveServing(config, seed);
  const module = servingPolicyModule(R.policy.kind);
  const run = runServingEngine(R, config.stepCost, module.decider(R.policy));
  return servingResult(run, config, R.description, R.costLabel, R.slo, seed);
}

function servingResult(run: EngineRun, config: ServingConfig | ServingEngineConfig, description: string, costLabel: string, slo: ServingConfig['slo'] | null, seed: number): ServingResult {
  const { n, state } = run;
  const { arrival, admitted, firstToken, finish, prompt, output } = state;
  let first = Infinity;
  for (let r = 0; r < n; r++) if (arrival[r] < first) first = arrival[r];
  const makespan = run.lastT - first;
  // Steps of denormal length (5e-324 s) finish a run in no representable time: rates would be Infinity.
  if (!Number.isFinite(Math.max(n, run.outputTotal) / makespan)) {
    throw new InputError('stepCost', costLabel, 'step times that give the run a representable length (steps of at least about 1e-300 s)', `the run took ${makespan} s`);
  }
  const scratch = new Float64Array(n);
  for (let r = 0; r < n; r++) scratch[r] = admitted[r] - arrival[r];
  const wait = latencyStats(scratch, n);
  for (let r = 0; r < n; r++) scratch[r] = firstToken[r] - arrival[r];
  const ttft = latencyStats(scratch, n);
  let m = 0;
  for (let r = 0; r < n; r++) if (output[r] > 1) scratch[m++] = (finish[r] - firstToken[r]) / (output[r] - 1);
  const tpot = m > 0 ? latencyStats(scratch, m) : null;
  for (let r = 0; r < n; r++) scratch[r] = finish[r] - arrival[r];
  const e2e = latencyStats(scratch, n);
  let goodputRps: number | null = null;
  if (slo) {
    let good = 0;
    for (let r = 0; r < n; r++) {
      const okFirst = firstToken[r] - arrival[r] <= slo.ttftSeconds;
      const okRest = output[r] === 1 || (finish[r] - firstToken[r]) / (output[r] - 1) <= slo.tpotSeconds;
      if (okFirst && okRest) good++;
    }
    goodputRps = good / makespan;
  }
  const cost = config.stepCost;
  const mfu = cost.flops && cost.peakFlopsPerSecond ? run.flops / run.busySeconds / cost.peakFlopsPerSecond : null;
  const bw = cost.bytes && cost.peakBytesPerSecond ? run.bytes / run.busySeconds / cost.peakBytesPerSecond : null;

  const result: ServingResult = {
    requests: n,
    makespanSeconds: makespan,
    throughputRequestsPerSecond: n / makespan,
    throughputTokensPerSecond: run.outputTotal / makespan,
    wait,
    ttft,
    tpot,
    itl: run.itl.stats(),
    e2e,
    utilisation: run.busySeconds / makespan,
    busySecondsPer1kTokens: (1000 * run.busySeconds) / run.outputTotal,
    mfu,
    bandwidthUtilisation: bw,
    goodputRps,
    preemptions: run.preemptions,
    kvPeakTokens: run.kvPeakTokens,
    steps: run.steps,
    meanBatch: run.seqSum / run.steps,
    batchHistogram: run.batchHistogram,
    meanAdmitted: run.admittedTotal / run.admissions,
    admissions: run.admissions,
    meanInSystem: run.areaSystem / makespan,
    meanQueued: run.areaQueue / makespan,
    tokens: { prompt: run.promptTotal, output: run.outputTotal, emitted: run.emitted, prefilled: run.prefilled, cached: run.cached, recomputed: run.recomputed },
    provenance: { config: description, seed, cost: costLabel },
  };
  if (run.itlSteady !== null) result.itlAfterWarmup = { warmupRequests: config.warmupRequests ?? 0, itl: run.itlSteady.stats() };
  if (run.thinkCount > 0 || config.arrivals.kind === 'closed') result.meanThinkSeconds = run.thinkCount > 0 ? run.thinkSum / run.thinkCount : 0;
  if (config.keepRequests !== false) {
    result.requestLog = { arrival, admitted, firstToken, finish, promptTokens: prompt, outputTokens: output };
  }
  return result;
}
