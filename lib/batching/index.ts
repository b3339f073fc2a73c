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
  ServingSlo,
} from './types.js';
export { registerServingPolicy, servingPolicyModule, servingPolicyKinds, policiesReading, checkServingPolicy } from './policy.js';
export type { SchedulerView, PolicyDecision, PolicyDecider, PolicyConfigBase, ServingPolicyModule } from './policy.js';
export { staticPolicy, windowPolicy, continuousPolicy, chunkedPolicy, admitFifo, iterationStep, WAIT_FOR_EVENT } from './policies/index.js';
export type { StaticPolicy, WindowPolicy, ContinuousPolicy, ChunkedPolicy, StepPriority } from './policies/index.js';
export { runServingEngine } from './engine.js';
export { DurationHistogram } from './metrics.js';
export { constantStepCost, affineStepCost } from './cost.js';
export type { AffineStepCostParams } from './cost.js';
export { parseServingTrace, loadServingTrace, traceLengthMoments, MAX_TRACE_ROWS } from './trace.js';
export { MAX_SERVING_REQUESTS, MAX_SERVING_BATCH, resolveServing, decodePaddingOf } from './config.js';
export type { ResolvedServing } from './config.js';
export { simulateServing } from './simulate.js';
export { servingSweepPoints, runServingSweepPoint, servingSweep, servingFrontier } from './sweep.js';
export type { ServingSweepGrid, ServingSweepRow } from './sweep.js';
export { catalogServingReplica, servingCapacity, servingReplicaSweep, presetMemoryFraction, servingSweepSpread, specFramework, replicaEngine, replicaKvCapacity } from './replica.js';
export type { ServingReplica } from './replica.js';
export type { CatalogReplicaOptions } from './replica.js';
export { servingLoadUnderLimit, servingLoadUnderLimitTable, servingConcurrencySweep, CONCURRENCY_COLUMNS } from './study.js';
export type { ServingWorkload, ServingLatencyLimits, ConcurrencyCurve } from './study.js';
export { servingSweepRow, describeWindowEffect, describeStaticVsWindow, describeLoadUnderLimit, describeChange, servingMetricLabel, servingLoadPercent, describeBacklog } from './describe.js';
export type { ServingSweepRowKey, ServingReplicaSweepRow } from './describe.js';
export { SERVING_ENGINES, DEFAULT_SERVING_ENGINE, servingEnginePreset, describeEnginePreset, engineDevice, engineMemoryFraction } from './engines.js';
export type { ServingEngineName, ServingEnginePreset, EngineDefault, EngineDevice, EngineMemoryRule } from './engines.js';
export { resolveEnginePreset } from './config.js';
export type { ServingEngineConfig } from './types.js';
export { serveBenchmarkMetrics, servingBacklog } from './benchmark.js';
export type { ServeBenchmarkMetrics, ServingBacklog } from './benchmark.js';
export { readPublishedCurves, checkPublishedCurve, predictPublishedCurve, publishedSaturation, publishedCurveTargets } from './published-curves.js';
export type { PublishedCurve, PublishedCurvePoint, PublishedCurveComparison, CurveTarget, CurveTargetRow, CurvePlateau } from './published-curves.js';
