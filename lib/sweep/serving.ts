import type { Dtype } from '../core/types.js';
import { resolveHardware } from '../hardware/spec.js';
import { checkModelContext, resolveModel } from '../models/spec.js';
import type { EfficiencyMode, Parallelism } from '../roofline/deployment.js';
import { perfModelText, replicaLabel, specFramework } from '../batching/replica.js';
import { defaultKernelDb } from '../kernels/load.js';
import { kernelFrameworksOf, kernelTablesText } from '../kernels/pricer.js';
import { kvCacheCapacity, perfStepCost } from '../roofline/deployment.js';
import { runServingSweepPoint, servingSweepPoints } from '../batching/sweep.js';
import type { ServingSweepGrid, ServingSweepRow } from '../batching/sweep.js';
import type { ServingArrivalSpec, ServingLengthSpec, ServingPolicyKind } from '../batching/types.js';
import { InputError } from '../util/errors.js';
import { policiesReading } from '../batching/policy.js';
import '../batching/policies/index.js';
import { checkInt, checkKnownKeys } from '../util/validate.js';
import type { SweepDefinition } from './run.js';

/**
 * A serving-simulator sweep as plain JSON: a model (catalog id or HF config.json path) on
 * hardware (catalog id or hardware file path; its step cost from the performance model), a workload, and the grid of policies, batch limits,
 * windows, token budgets and arrival rates that `servingSweepPoints` expands.
 */
export interface ServingSweepSpec {
  model: string;
  hardware: string;
  precision?: Dtype;
  parallelism?: Parallelism;
  efficiency?: EfficiencyMode;
  /**
   * Whose measured kernel tables (data/kernels) price the steps where they hold the hardware:
   * a framework name, or null for the performance model alone; default the default engine's
   * (vllm), unless `efficiency` is given (then the model alone), as a search spec and
   * `batchlab deploy` have it (specFramework).
   */
  framework?: string | null;
  arrivals: ServingArrivalSpec;
  requests: number;
  promptTokens: ServingLengthSpec;
  outputTokens: ServingLengthSpec;
  kvCapacityTokens?: number;
  policies: ServingPolicyKind[];
  maxBatches: number[];
  windowsMs?: number[];
  tokenBudgets?: number[];
  ratesPerSecond?: number[];
  /** One seed for every point (common random numbers). */
  seed: number;
}

const SIMULATED_SECONDS = 'seconds, simulated';

/**
 * What each serving-sweep row field is (ServingSweepRow), with its unit: every figure is
 * simulated over steps the row's `cost` names; latencies are seconds.
 */
export const SERVING_SWEEP_COLUMNS: Readonly<Record<string, string>> = {
  index: 'the point of the grid, 0 … size − 1',
  engine: "the engine preset the point runs (vllm, sglang, trtllm); null: a policy of the spec's policies",
  policy: 'the scheduling policy: window, static, continuous or chunked (an engine preset schedules as chunked or continuous)',
  windowMs: 'the collection window, milliseconds (window and static policies; null otherwise)',
  maxBatch: 'most sequences in one step',
  tokenBudget: 'most tokens in one step (chunked policies; null otherwise)',
  ratePerSecond: 'offered arrival rate, requests per second (null: the arrivals set their own)',
  throughputRps: 'completed requests per second, simulated',
  throughputTokS: 'output tokens per second, simulated',
  waitP50: `queueing before admission, ${SIMULATED_SECONDS}`,
  waitP99: `queueing before admission, ${SIMULATED_SECONDS}`,
  ttftP50: `time to first token, ${SIMULATED_SECONDS}`,
  ttftP99: `time to first token, ${SIMULATED_SECONDS}`,
  tpotP50: `time per output token after the first, per request, ${SIMULATED_SECONDS}`,
  tpotP99: `time per output token after the first, per request, ${SIMULATED_SECONDS}`,
  itlP50: `inter-token latency, per token, ${SIMULATED_SECONDS}`,
  itlP99: `inter-token latency, per token, ${SIMULATED_SECONDS}`,
  e2eP50: `request latency, arrival to last token, ${SIMULATED_SECONDS}`,
  e2eP90: `request latency, arrival to last token, ${SIMULATED_SECONDS}`,
  e2eP99: `request latency, arrival to last token, ${SIMULATED_SECONDS}`,
  utilisation: 'fraction of the run the replica was busy, simulated',
  busySecondsPer1kTokens: 'busy seconds per 1,000 output tokens, simulated',
  tokensPerBusySecond: 'output tokens per busy second, simulated',
  meanBatch: 'sequences per step, mean, simulated',
  meanAdmitted: 'requests admitted at one admission instant, mean, simulated',
  requests: 'requests simulated',
  mfu: "achieved FLOP/s over busy time against the step model's peak, simulated; null where the step model reports no FLOPs",
  bandwidthUtilisation: "achieved bytes/s over busy time against the step model's peak bandwidth, simulated; null where the step model reports no bytes",
  goodputRps: 'requests per second that met an SLO; null, since a serving sweep spec sets none',
  preemptions: 'sequences preempted for KV blocks (each recomputed later), simulated',
  cost: 'the step model that priced every step',
  seed: "the point's random seed (the spec's seed)",
  config: 'the simulated configuration in words',
};

/**
 * A serving sweep spec as a sweep: point i is `runServingSweepPoint(grid, i, seed)`, so
 * it shards over a scheduler and merges back identically.
 *
 * @example
 * runSweepShard(servingSweepDefinition(spec), parseShard('0/8')).rows[0].ttftP99
 */
export function servingSweepDefinition(spec: ServingSweepSpec): SweepDefinition<ServingSweepRow> {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new InputError('spec', spec, 'a serving sweep spec object');
  checkKnownKeys('spec', spec, ['model', 'hardware', 'precision', 'parallelism', 'efficiency', 'framework', 'arrivals', 'requests', 'promptTokens', 'outputTokens', 'kvCapacityTokens', 'policies', 'maxBatches', 'windowsMs', 'tokenBudgets', 'ratesPerSecond', 'seed']);
  // A field the grid would not read is refused, as an unknown one is: the spec is what a user wrote.
  const policies: unknown[] = Array.isArray(spec.policies) ? spec.policies : [];
  for (const [list, field] of [['windowsMs', 'windowMs'], ['tokenBudgets', 'tokenBudget']] as const) {
    const readers = policiesReading(field);
    if (spec[list] !== undefined && !policies.some((p) => readers.includes(p as string))) {
      throw new InputError(`spec.${list}`, spec[list], `left out when no listed policy reads it (${readers.map((k) => `'${k}'`).join(' and ')} ${readers.length === 1 ? 'does' : 'do'})`);
    }
  }
  const rate = (spec.arrivals as { ratePerSecond?: unknown } | undefined)?.ratePerSecond;
  if (spec.ratesPerSecond !== undefined && rate !== undefined) {
    throw new InputError('spec.arrivals.ratePerSecond', rate, 'left out when spec.ratesPerSecond lists the rates (each point takes one of them)');
  }
  // As a search spec: a catalog id or the path of an HF config.json, and a catalog id or a hardware file (read relative to the working folder).
  if (typeof spec.model !== 'string') throw new InputError('model', spec.model, 'a model catalog id or the path of an HF config.json');
  if (typeof spec.hardware !== 'string') throw new InputError('hardware', spec.hardware, 'a hardware catalog id or the path of a hardware file');
  const seed = checkInt('seed', spec.seed, { min: 0, max: 2 ** 32 - 1 });
  // The spec's framework's kernel tables price every row where they hold the hardware, else
  // the performance model, and each row names which as a catalog replica's label does. The KV
  // cache is the spec's own capacity, else what the memory fit leaves beside the weights, as
  // `simulate --model` has it (rows without a bound held 2× more).
  const model = resolveModel(spec.model, 'model');
  const hw = resolveHardware(spec.hardware, 'hardware');
  const framework = specFramework(spec);
  const tables = framework !== null && kernelFrameworksOf(defaultKernelDb(), hw).includes(framework);
  // Where the spec's framework has no tables for the device, the performance model alone (not the default engine's tables).
  const config = { precision: spec.precision, parallelism: spec.parallelism, efficiency: spec.efficiency, framework: tables ? framework! : null };
  const stepCost = perfStepCost(model, hw, config);
  const kvCapacityTokens = spec.kvCapacityTokens ?? kvCapacityOf(model, hw, config);
  // Every length spec has a largest value: a request past the model's context is refused, as simulate refuses it.
  const most = (l: ServingLengthSpec | undefined): number => (l === undefined ? 0 : l.kind === 'fixed' ? l.tokens : l.max);
  const longest = most(spec.promptTokens) + most(spec.outputTokens);
  checkModelContext(model, longest, 'spec.promptTokens + spec.outputTokens', longest, 'the largest prompt plus the largest output');
  const par = spec.parallelism ?? {};
  const kvText = spec.kvCapacityTokens === undefined ? `KV ${kvCapacityTokens} tok (memory fit)` : `KV ${kvCapacityTokens} tok (the spec's)`;
  const missing = framework !== null && !tables ? `; ${kernelTablesText(defaultKernelDb(), hw, framework)}` : '';
  const label = replicaLabel(model, hw, spec.precision ?? 'bf16', (par.tp ?? 1) * (par.dp ?? 1) * (par.pp ?? 1), `${perfModelText(hw, config)}${missing}; ${kvText}`);
  const grid: ServingSweepGrid = {
    base: {
      arrivals: spec.arrivals,
      requests: spec.requests,
      promptTokens: spec.promptTokens,
      outputTokens: spec.outputTokens,
      stepCost,
      costLabel: label,
      kvCapacityTokens,
    },
    policies: spec.policies,
    maxBatches: spec.maxBatches,
    windowsMs: spec.windowsMs,
    tokenBudgets: spec.tokenBudgets,
    ratesPerSecond: spec.ratesPerSecond,
  };
  const size = servingSweepPoints(grid).length;
  // Hashed as priced (framework resolved), so a spec that leaves out the default framework and one that names it merge.
  return { kind: 'serving', spec: { ...spec, framework }, size, point: (i) => runServingSweepPoint(grid, i, seed), columns: SERVING_SWEEP_COLUMNS };
}

// The memory fit's KV cache; where the weights leave none, the refusal names what the spec can change.
function kvCapacityOf(model: ReturnType<typeof resolveModel>, hw: ReturnType<typeof resolveHardware>, config: Parameters<typeof kvCacheCapacity>[2]): number {
  try {
    return kvCacheCapacity(model, hw, config).tokens;
  } catch (e) {
    if (!(e instanceof InputError) || e.field !== 'memory') throw e;
    throw new InputError('spec.parallelism', config.parallelism ?? {}, 'a layout whose weights leave room for a KV cache (more tensor or pipeline parallelism, or a narrower spec.precision), or give spec.kvCapacityTokens', e.detail ?? e.message);
  }
}
