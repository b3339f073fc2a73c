export type {
  ServingArrivalSpec,
  ServingLengthSpec,
  ServingPolicy,
  ServingPolicyKind,
  ServingStepCost,
  ServingConfig,
  ServingTrace,
  ServingLatencyStats,
  ServingRequestLog,
  ServingResult,
} from './types.js';
export { constantStepCost, affineStepCost } from './cost.js';
export type { AffineStepCostParams } from './cost.js';
export { parseServingTrace, loadServingTrace, MAX_TRACE_ROWS } from './trace.js';
export { MAX_SERVING_REQUESTS, MAX_SERVING_BATCH } from './config.js';
export { simulateServing } from './simulate.js';
export { servingSweepPoints, runServingSweepPoint, servingSweep, servingFrontier } from './sweep.js';
export type { ServingSweepGrid, ServingSweepRow } from './sweep.js';
export { catalogServingReplica, servingCapacity, servingReplicaSweep } from './replica.js';
export type { ServingReplica } from './replica.js';
