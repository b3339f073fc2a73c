// GEMM benchmark harness: timing primitive, batch sweeps, the one-vs-many,
// dispatch and grouped-expert cases, and resumable CSV/JSON results.
export { timingStats } from './stats.js';
export type { TimingStats } from './stats.js';
export { timeTfOp, timeTfCallsInTurn, defaultSyncMode, readbackOne, resolveTimingOptions, SYNC_MODES, TIMING_DEFAULTS } from './timing.js';
export type { SyncMode, TimingOptions, OpTiming } from './timing.js';
export { assertGemmMemory, defaultGemmMemoryBudget, DEFAULT_MEMORY_FRACTION } from './memory.js';
export { gemmBatchSizes, gemmFlops, gemmBytes, gemmWeightBytes, MAX_GEMM_DIM } from './shapes.js';
export { GEMM_COLUMNS, GEMM_NUMERIC_COLUMNS, gemmRow, gemmRowKey, versionsString, tensorflowSettings } from './row.js';
export type { GemmRow, MeasuredRowProvenance } from './row.js';
export { sweepGemm, gemmSweepPoints, gemmTable, gemmRows, gemmDtypes, gemmBackend, gemmTiming, gemmVariantOperands, gemmVariantProduct, GEMM_VARIANTS } from './sweep.js';
export type { GemmVariant, GemmBenchOptions, GemmSweepOptions } from './sweep.js';
export { benchOneVsMany, benchDispatchOverhead, benchGroupedExperts } from './cases.js';
export type { OneVsManyPoint, GroupedExpertsOptions, GroupedExpertsSummary } from './cases.js';
export { measuredDir, gemmFileStem, gemmCsv, parseGemmCsv, readGemmCsv, writeGemmResults, sweepGemmToFiles, readMeasuredGemm, readGemmCsvForResume } from './store.js';
export type { GemmResultDoc, GemmSweepFileOptions } from './store.js';
export { probeMachineRoofline, probeMachineRooflines } from './probe.js';
export type { RooflineProbeOptions, RooflineProbeRepeatOptions } from './probe.js';
export { gemmLineRefinement, GEMM_REFINE_MARGIN, GEMM_REFINE_MAX_EXTRA } from './refine.js';
export type { GemmLinePoint, GemmRefineOptions, GemmRefineInterval } from './refine.js';
