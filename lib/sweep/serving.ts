import type { Dtype } from '../core/types.js';
import { loadHardware } from '../hardware/spec.js';
import { loadModel } from '../models/spec.js';
import type { EfficiencyMode, Parallelism } from '../roofline/deployment.js';
import { catalogServingReplica } from '../batching/replica.js';
import { runServingSweepPoint, servingSweepPoints } from '../batching/sweep.js';
import type { ServingSweepGrid, ServingSweepRow } from '../batching/sweep.js';
import type { ServingArrivalSpec, ServingLengthSpec, ServingPolicyKind } from '../batching/types.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkKnownKeys } from '../util/validate.js';
import type { SweepDefinition } from './run.js';

/**
 * A serving-simulator sweep as plain JSON: a model on catalog hardware (its step cost
 * from the performance model), a workload, and the grid of policies, batch limits,
 * windows, token budgets and arrival rates that `servingSweepPoints` expands.
 */
export interface ServingSweepSpec {
  model: string;
  hardware: string;
  precision?: Dtype;
  parallelism?: Parallelism;
  efficiency?: EfficiencyMode;
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

/**
 * A serving sweep spec as a sweep: point i is `runServingSweepPoint(grid, i, seed)`, so
 * it shards over a scheduler and merges back identically.
 *
 * @example
 * runSweepShard(servingSweepDefinition(spec), parseShard('0/8')).rows[0].ttftP99
 */
export function servingSweepDefinition(spec: ServingSweepSpec): SweepDefinition<ServingSweepRow> {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new InputError('spec', spec, 'a serving sweep spec object');
  checkKnownKeys('spec', spec, ['model', 'hardware', 'precision', 'parallelism', 'efficiency', 'arrivals', 'requests', 'promptTokens', 'outputTokens', 'kvCapacityTokens', 'policies', 'maxBatches', 'windowsMs', 'tokenBudgets', 'ratesPerSecond', 'seed']);
  if (typeof spec.model !== 'string') throw new InputError('model', spec.model, 'a model catalog id');
  if (typeof spec.hardware !== 'string') throw new InputError('hardware', spec.hardware, 'a hardware catalog id');
  const seed = checkInt('seed', spec.seed, { min: 0, max: 2 ** 32 - 1 });
  // The catalog replica's step cost and label (what priced every row), as the simulator CLI names it.
  const { stepCost, label } = catalogServingReplica(loadModel(spec.model), loadHardware(spec.hardware), { precision: spec.precision, parallelism: spec.parallelism, efficiency: spec.efficiency });
  const grid: ServingSweepGrid = {
    base: {
      arrivals: spec.arrivals,
      requests: spec.requests,
      promptTokens: spec.promptTokens,
      outputTokens: spec.outputTokens,
      stepCost,
      costLabel: label,
      kvCapacityTokens: spec.kvCapacityTokens,
    },
    policies: spec.policies,
    maxBatches: spec.maxBatches,
    windowsMs: spec.windowsMs,
    tokenBudgets: spec.tokenBudgets,
    ratesPerSecond: spec.ratesPerSecond,
  };
  const size = servingSweepPoints(grid).length;
  return { kind: 'serving', spec, size, point: (i) => runServingSweepPoint(grid, i, seed) };
}
