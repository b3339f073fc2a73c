export {
  moeRouteTokens,
  moeRouteCounts,
  moeZipfPopularity,
  moeInclusionProbabilities,
  checkMoeRouting,
  MOE_MAX_EXPERTS,
  MOE_MAX_TOKENS,
  MOE_MAX_ASSIGNED_TOKENS,
} from './routing.js';
export type { MoeRouting } from './routing.js';
export {
  moeBinomialWindow,
  moeBinomialUpperTail,
  moeDistinctExperts,
  moeDistinctExpertsVariance,
  moeDistinctExpertsFromInclusion,
  moeTokensToReachExperts,
  moeTokensPerExpert,
  moeExpectedMaxLoad,
  MOE_MAX_CLOSED_FORM_TOKENS,
} from './closed.js';
export type { BinomialWindow } from './closed.js';
export { moeMeanCi, moeRoutingStats, moeRoutingSweep, moeStepShares, moeRoutingChange } from './montecarlo.js';
export type { MoeMeanCi, MoeRoutingStatsRow, MoeRoutingSweepRow, MoeStepShares, MoeRoutingChange } from './montecarlo.js';
export {
  moeStaticPlacement,
  moeDeviceLoads,
  moeLoadImbalance,
  moeDeviceExpertTokens,
  moeBalanceExperts,
  moeExpertParallelSteps,
  moeImbalanceSweep,
  moeDeviceImbalance,
} from './placement.js';
export type { MoeExpertPlacement, MoeDeviceTokens, MoeExpertParallelRun, MoeImbalanceRow } from './placement.js';
export {
  moeLayerShape,
  moeExpertSeconds,
  moeExpertEfficiency,
  moeBatchForExpertEfficiency,
  moeEfficiencyCurve,
  moeLayerShapes,
  moeEfficiencyCurves,
  moeBatchesForExpertEfficiency,
  MOE_MAX_SEARCH_TOKENS,
} from './efficiency.js';
export type { LabelledMoeLayerShape, LabelledMoeBatchForEfficiency, MoeLayerShape, MoeEfficiencyOptions, MoeBatchForEfficiency, MoeEfficiencyRow } from './efficiency.js';
export { moeBenchDeviceExperts } from './bench.js';
export type { MoeDeviceExpertsBenchOptions, MoeDeviceExpertsBenchRow } from './bench.js';
