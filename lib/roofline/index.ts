export { rooflineMatmulCost, calibratedMatmulCost, fractionalMatmulSeconds, opRoofline, ridgeIntensity, matmulCriticalBatch } from './matmul.js';
export type { OpRooflinePoint, RooflineBound } from './matmul.js';
export {
  rooflineStepCost,
  decodeStepTime,
  decodeThroughputCurve,
  decodeOpRoofline,
  prefillOpRoofline,
  decodeCriticalBatch,
  decodeComputeShare,
  DECODE_CRITICAL_BATCH_MAX,
  moeExpertBatch,
  decodeMemoryBatchLimit,
  criticalBatchGrid,
} from './model.js';
export type { RooflineOptions, DecodeThroughputPoint, OpRooflineRow, CriticalBatchGridPoint } from './model.js';
export { stepTime, stepTimer, perfStepCost, memoryFit, maxBatchThatFits, EFFICIENCY_MODES, LAUNCH_MODES, pricingFramework, DEFAULT_PRICING_FRAMEWORK } from './deployment.js';
export { kvCacheCapacity, precisionOfClasses, fp8ScalingOf, residualStreamDtype } from './deployment.js';
export type { Parallelism, Precision, PerfConfig, EfficiencyMode, LaunchMode, StepTime, StepTimeBreakdown, MemoryFit } from './deployment.js';
export type { KvCapacity } from './deployment.js';
export { publishedCases, predictPublishedCase, publishedComparisons, publishedComparisonTable, publishedComparisonSummary, publishedComparisonNotes, readPublishedFile, publishedGridCases, publishedGridComparisons, checkPublishedGrid, publishedCaseLoadFactor, publishedCasePromptMix, publishedCaseLengthMoments, meanContextInFlight, checkPublishedCase } from './published.js';
export { publishedMethodRows, publishedMethodTable, publishedMethodSummary } from './published.js';
export type { PublishedMethodRow } from './published.js';
export { publishedCaseTables } from './published.js';
export type { PublishedCaseTables } from './published.js';
export type { CasePromptMix } from './published.js';
export { uniformRoutingLoadFactor } from './routing.js';
export { sampledRoutingLoadFactor, routingLoadFactorBasis } from './routing.js';
export type { PublishedCase, PublishedComparison, LengthMoments, ConcurrencyRule } from './published.js';
export { hardwareRooflines, decodeOpRooflines, criticalBatchRatios } from './machines.js';
export type { HardwareAtDtype, HardwareRooflineRow, DecodeOpRooflineSeries, CriticalBatchRatios } from './machines.js';
export type { KernelUsage } from './kernel-step.js';
export type { Fp8Scaling } from './deployment.js';
export type { ExpertRouting } from './deployment.js';
export { largeExpertParallel } from './kernel-step.js';
export type { ExpertAllToAll, ExpertLayout } from './kernel-step.js';
export { readMeasuredSteps, compareMeasuredSteps, measuredStepsCheck, measuredStepsSummary, measuredStepLabel, SHIPPED_GPU_STEPS } from './measured-steps.js';
export type { MeasuredStep, MeasuredStepComparison, MeasuredStepsGroup } from './measured-steps.js';
