// Deployments: layouts and precisions over the per-device step model, pool
// throughput and memory fit, cost per token over a day, DeepSeek's published day,
// local setups, and SLO-driven search.
export type { DeploymentPrecision, PoolLayout, DeviceStepInput, DeviceStepBreakdown, DeviceStepModel, PoolRole, StepModelFactory } from './types.js';
export { resolveLayout, checkPrecision, uniformPrecision } from './layout.js';
export { layoutParallelism } from './layout.js';
export type { ResolvedLayout } from './layout.js';
export { checkStepInput } from './step.js';
export { speculativeTokensPerStep, deviceMemoryFit, assertMemoryFit, maxSequencesThatFit, decodePerformance, decodeAtUserSpeed, prefillPerformance } from './pool.js';
export type { SpeculativeDecoding, DeviceMemoryFit, DecodePerformance, PrefillPerformance } from './pool.js';
export { checkLoadCurve, checkDailyLoad, checkPrice, checkPrices, dailyCostUsd, dailyRevenueUsd, costProfitMargin, priceDay, requestPrice, usdPerMillionAtLoad } from './cost.js';
export type { LoadCurve, DailyLoad, TokenPrices, PoolRates, DayCost, RequestPrice } from './cost.js';
export { deepseekPublishedDay } from './published.js';
export type { PublishedDay } from './published.js';
export { deepseekDayReproduction } from './deepseek.js';
export type { PublishedVsPredicted, DeepseekDayReproduction } from './deepseek.js';
export { listLocalSetups, loadLocalSetup, singleDeviceSetup, localDecode, localSetupFromJson, loadLocalSetupFile, withSetupOverrides, listLocalRuntimes, loadLocalRuntime, runtimeFactorFor, PREFILL_CHUNK } from './local.js';
export type { LocalSetup, LocalOffload, HostCompute, LocalRunOptions, LocalTier, LocalRun, LocalSetupOverrides, LocalRuntime, RuntimeFactor, AppliedRuntimeFactor } from './local.js';
export { searchSpaceSize, searchPointCoordinates, evaluateSearchPoint, evaluateSearchSpace, cheapestByBruteForce, searchCheapestDeployment, searchCandidates, meetsSlo, deploymentFrontier, searchDecodeContext, checkSlo } from './search.js';
export type { SearchLoad, Slo, SearchSpace, SearchPoint } from './search.js';
export { searchSpaceFromSpec, searchSweep, searchSweepColumns } from './spec.js';
export type { SearchSpec, SearchSweepRow } from './spec.js';
export { deploymentStepCost, simulateDeployment, simulateSearchPoint, simulatedCheapestDeployment, simulatedSloMisses, searchPointLoadShare, SIMULATED_SLO_PERCENTILE } from './serve.js';
export type { SimulatedCandidate } from './serve.js';
export { layoutPresetMemoryFraction } from './serve.js';
export type { DeploymentServing } from './serve.js';
export { perfDeviceStepModel, calibratedStepModel, defaultStepModel, specBoundStepModel } from './perf.js';
export { rooflineDeviceStepModel } from './perf.js';
export type { PerfStepOptions } from './perf.js';
export { denseVsMoe, candidateLayouts } from './compare.js';
export type { ArchitectureRow } from './compare.js';
export { thisMachineSetup, localVsScale, describeDeepseekDay, describeLocalVsScale, describeDenseVsMoe, describeTitleAnswer, describeSimulatedPoint } from './essay.js';
export type { LocalVsScaleRow } from './essay.js';
export { evaluateDeployment, prefillFromMix } from './deployment.js';
export type { Deployment, DeploymentEvaluation } from './deployment.js';
export { kernelTableStepModel } from './perf.js';
