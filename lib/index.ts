// batchlab's entry: named re-exports only, folder by folder (see CONTRIBUTING.md).
// A name is public when a notebook or a user may call it; the second block lists
// helpers that several folders share and that carry no stability promise.

// ---------------------------------------------------------------- public API

// core
export {
  DTYPES,
  DTYPE_BYTES,
  atLeastOnceProbability,
  expectedDistinctExperts,
  matmulBytes,
  matmulFlops,
  matmulWeightBytes,
  prefillAttentionPairs,
} from './core/index.js';
export type {
  Dtype,
  FittedRoofline,
  MatmulCostModel,
  MatmulShape,
  StepCostFn,
  StepWork,
} from './core/index.js';

// util
export {
  InputError,
  fork as forkRng,
  machineFingerprint,
  machineId,
  rng as seededRng,
  thisMachineFacts,
} from './util/index.js';
export type {
  MachineFacts,
  Provenance,
  Rng,
  SoftwareFacts,
} from './util/index.js';

// backend
export {
  BACKEND_NAMES,
  activeBackend,
  detectBackends,
  deviceInfo,
  selectBackend,
} from './backend/index.js';
export type {
  BackendName,
  BackendStatus,
  DeviceInfo,
  SelectedBackend,
} from './backend/index.js';

// gemm
export {
  DEFAULT_MEMORY_FRACTION,
  GEMM_COLUMNS,
  GEMM_VARIANTS,
  MAX_GEMM_DIM,
  SYNC_MODES,
  assertGemmMemory,
  benchDispatchOverhead,
  benchGroupedExperts,
  benchOneVsMany,
  defaultGemmMemoryBudget,
  gemmBackend,
  gemmBatchSizes,
  gemmBytes,
  gemmCsv,
  gemmDtypes,
  gemmFileStem,
  gemmFlops,
  gemmRow,
  gemmRows,
  gemmSweepPoints,
  gemmTable,
  gemmTiming,
  gemmWeightBytes,
  measuredDir,
  parseGemmCsv,
  probeMachineRoofline,
  readGemmCsv,
  readMeasuredGemm,
  sweepGemm,
  sweepGemmToFiles,
  timeTfOp,
  timingStats,
  writeGemmResults,
} from './gemm/index.js';
export type {
  GemmBenchOptions,
  GemmResultDoc,
  GemmRow,
  MeasuredRowProvenance,
  GemmSweepFileOptions,
  GemmSweepOptions,
  GemmVariant,
  GroupedExpertsOptions,
  GroupedExpertsSummary,
  OneVsManyPoint,
  OpTiming,
  RooflineProbeOptions,
  SyncMode,
  TimingOptions,
  TimingStats,
} from './gemm/index.js';

// cost
export {
  ROOFLINE_FORMS,
  fitRoofline,
  fittedKneeBatch,
  fittedMatmulCost,
  fittedRooflineSeconds,
  heldOutFitError,
  heldOutTableError,
  loadLatestFittedRoofline,
  measuredMatmulCost,
  measuredMatmulCostForMachine,
  rooflineFitError,
  rooflineFitPoints,
  saveFittedRoofline,
} from './cost/index.js';
export type {
  FittedRooflineWithForm,
  MeasuredMatmulCost,
  RooflineFitError,
  RooflineFitOptions,
  RooflineFitPoint,
  RooflineForm,
  StoredRooflineFit,
} from './cost/index.js';

// hardware
export {
  THIS_MACHINE,
  hardwareFromJson,
  hardwarePeakFlops,
  listHardware,
  loadHardware,
  thisMachineHardware,
} from './hardware/index.js';
export type {
  HardwareSpec,
  ThisMachineOptions,
} from './hardware/index.js';

// models
export {
  MODEL_ARCHITECTURES,
  decodeOps,
  decodeTraffic,
  disaggregationTable,
  kvBatchLimits,
  kvBytesPerToken,
  kvCacheBytesPerSequence,
  listModelIds,
  loadModel,
  loadModelConfig,
  modelAttentionShape,
  modelDecodePartSeconds,
  modelDisaggregation,
  modelKvBatchLimit,
  modelStepOps,
  paramCounts,
  prefillOps,
  stepActivationBytes,
} from './models/index.js';
export type {
  DecodeTrafficRow,
  DisaggregationRow,
  DisaggregationModelOptions,
  GqaAttentionSpec,
  KvBatchLimitRow,
  KvDeployment,
  MlaAttentionSpec,
  ModelArchitecture,
  ModelOperation,
  ModelSpec,
  MoeSpec,
  OperationGroup,
  ParamCounts,
  StepOpsInput,
} from './models/index.js';

// attention
export {
  ATTENTION_COLUMNS,
  MEASURED_STRATEGIES,
  RAGGED_STRATEGIES,
  attentionError,
  attentionKvBytesPerSequence,
  attentionKvBytesPerToken,
  attentionKvElementsPerTokenPerLayer,
  compareAttentionStrategies,
  decodeAttentionCalls,
  decodeAttentionCost,
  decodeLengthsFromMix,
  disaggregationWhatIf,
  fitAttentionKernelCost,
  gqaShape,
  kvBatchLimit,
  kvBlocksForTokens,
  lengthCases,
  measureDecodeAttention,
  pagedKvUsage,
  prefillAttentionCalls,
  prefillAttentionCost,
  raggedBatchPlan,
  raggedBatchSeconds,
  raggedGroups,
  raggedStrategyTable,
  referenceDecodeAttention,
  saveAttentionRows,
} from './attention/index.js';
export type {
  AttentionCoreCall,
  AttentionCost,
  AttentionKernelFit,
  AttentionRow,
  AttentionShape,
  AttentionStrategyComparison,
  DisaggregationInput,
  DisaggregationResult,
  KvBatchLimit,
  KvBatchLimitInput,
  KvSharding,
  LayoutStep,
  LengthCase,
  MeasureDecodeAttentionOptions,
  MeasuredStrategy,
  PagedKvUsage,
  PartStepSeconds,
  RaggedGroup,
  RaggedPlan,
  RaggedStrategy,
  RaggedStrategyRow,
} from './attention/index.js';

// roofline
export {
  EFFICIENCY_MODES,
  LAUNCH_MODES,
  calibratedMatmulCost,
  criticalBatchGrid,
  criticalBatchRatios,
  decodeCriticalBatch,
  decodeMemoryBatchLimit,
  decodeOpRoofline,
  decodeOpRooflines,
  decodeStepTime,
  decodeThroughputCurve,
  hardwareRooflines,
  matmulCriticalBatch,
  maxBatchThatFits,
  memoryFit,
  moeExpertBatch,
  opRoofline,
  perfStepCost,
  predictPublishedCase,
  prefillOpRoofline,
  publishedCaseLoadFactor,
  publishedCasePromptMix,
  checkPublishedCase,
  publishedCases,
  publishedComparisonNotes,
  publishedComparisonSummary,
  publishedComparisonTable,
  publishedComparisons,
  readPublishedFile,
  ridgeIntensity,
  rooflineMatmulCost,
  rooflineStepCost,
  stepTime,
  uniformRoutingLoadFactor,
} from './roofline/index.js';
export type {
  CriticalBatchGridPoint,
  CriticalBatchRatios,
  DecodeOpRooflineSeries,
  DecodeThroughputPoint,
  EfficiencyMode,
  HardwareAtDtype,
  HardwareRooflineRow,
  LaunchMode,
  MemoryFit,
  OpRooflinePoint,
  OpRooflineRow,
  Parallelism,
  PerfConfig,
  Precision,
  PublishedCase,
  PublishedComparison,
  RooflineBound,
  RooflineOptions,
  StepTime,
  StepTimeBreakdown,
  CasePromptMix,
} from './roofline/index.js';

// perf
export {
  CALIBRATION_FIELDS,
  SPEC_CALIBRATION,
  TYPICAL_CALIBRATION,
  matmulKneeBatch,
  weightStreamKneeBatch,
  rooflineSeconds,
} from './perf/index.js';
export type {
  HardwareCalibration,
} from './perf/index.js';

// moe
export {
  MOE_MAX_ASSIGNED_TOKENS,
  MOE_MAX_CLOSED_FORM_TOKENS,
  MOE_MAX_EXPERTS,
  MOE_MAX_SEARCH_TOKENS,
  MOE_MAX_TOKENS,
  moeBalanceExperts,
  moeBatchForExpertEfficiency,
  moeBatchesForExpertEfficiency,
  moeBenchDeviceExperts,
  moeBinomialUpperTail,
  moeBinomialWindow,
  moeDeviceExpertTokens,
  moeDeviceLoads,
  moeDistinctExperts,
  moeDistinctExpertsFromInclusion,
  moeDistinctExpertsVariance,
  moeEfficiencyCurve,
  moeEfficiencyCurves,
  moeExpectedMaxLoad,
  moeExpertEfficiency,
  moeExpertParallelSteps,
  moeExpertSeconds,
  moeImbalanceSweep,
  moeInclusionProbabilities,
  moeLayerShape,
  moeLayerShapes,
  moeLoadImbalance,
  moeMeanCi,
  moeRouteCounts,
  moeRouteTokens,
  moeRoutingStats,
  moeRoutingSweep,
  moeStaticPlacement,
  moeTokensPerExpert,
  moeTokensToReachExperts,
  moeZipfPopularity,
} from './moe/index.js';
export type {
  BinomialWindow,
  LabelledMoeBatchForEfficiency,
  LabelledMoeLayerShape,
  MoeBatchForEfficiency,
  MoeDeviceExpertsBenchOptions,
  MoeDeviceExpertsBenchRow,
  MoeDeviceTokens,
  MoeEfficiencyOptions,
  MoeEfficiencyRow,
  MoeExpertParallelRun,
  MoeExpertPlacement,
  MoeImbalanceRow,
  MoeLayerShape,
  MoeMeanCi,
  MoeRouting,
  MoeRoutingStatsRow,
  MoeRoutingSweepRow,
} from './moe/index.js';

// pipeline
export {
  PIPELINE_MAX_SLOTS,
  PIPELINE_SCHEDULE_KINDS,
  pipelineBubbleFraction,
  pipelineBubbleSweep,
  pipelineCollectionWindow,
  pipelineLayerSeconds,
  pipelineLayout,
  pipelineSchedule,
  pipelineTickClosedForm,
  pipelineTransferSeconds,
  pipelineWindowSweep,
} from './pipeline/index.js';
export type {
  PipelineBubbleRow,
  PipelineCollectionWindow,
  PipelineLayerCost,
  PipelineLayout,
  PipelineRun,
  PipelineScheduleKind,
  PipelineScheduleSpec,
  PipelineSlot,
  PipelineStageSpec,
  PipelineTickClosedForm,
  PipelineTransferOptions,
  PipelineWindowRow,
} from './pipeline/index.js';

// batching
export {
  MAX_SERVING_BATCH,
  MAX_SERVING_REQUESTS,
  MAX_TRACE_ROWS,
  affineStepCost,
  catalogServingReplica,
  chunkedPolicy,
  constantStepCost,
  continuousPolicy,
  describeLoadUnderLimit,
  describeChange,
  describeStaticVsWindow,
  describeWindowEffect,
  loadServingTrace,
  parseServingTrace,
  registerServingPolicy,
  runServingSweepPoint,
  servingCapacity,
  servingConcurrencySweep,
  servingFrontier,
  servingLoadUnderLimit,
  servingLoadUnderLimitTable,
  servingPolicyKinds,
  servingPolicyModule,
  servingReplicaSweep,
  servingSweep,
  servingSweepPoints,
  servingSweepRow,
  simulateServing,
  staticPolicy,
  windowPolicy,
} from './batching/index.js';
export type {
  AffineStepCostParams,
  ChunkedPolicy,
  ConcurrencyCurve,
  ContinuousPolicy,
  PolicyConfigBase,
  PolicyDecider,
  PolicyDecision,
  SchedulerView,
  ServingArrivalSpec,
  ServingConfig,
  ServingLatencyLimits,
  ServingLatencyStats,
  ServingLengthSpec,
  ServingPolicy,
  ServingPolicyKind,
  ServingPolicyModule,
  ServingReplica,
  ServingReplicaSweepRow,
  ServingRequestLog,
  ServingResult,
  ServingSlo,
  ServingStepCost,
  ServingSweepGrid,
  ServingSweepRow,
  ServingSweepRowKey,
  ServingTrace,
  ServingWorkload,
  StaticPolicy,
  StepPriority,
  WindowPolicy,
} from './batching/index.js';

// engine
export {
  DecodeEngine,
  MAX_ENGINE_CONTEXT,
  defaultStepCostGrid,
  engineConfigFromHf,
  engineConfigFromSpec,
  engineModelSpec,
  engineParamCount,
  engineStepCost,
  fitEngineStepCost,
  fitStepCostSamples,
  loadSafetensorsDir,
  measureEngineStepCost,
  probeEngineSpeed,
  readSafetensors,
  saveSafetensors,
  scaleEngineConfig,
  scaleStepCostFit,
  seededWeights,
  writeSafetensors,
  seededWeightSource,
  engineParamLimit,
  checkEngineFits,
  checkEngineTensor,
  ENGINE_BYTES_PER_PARAM,
  ENGINE_HEADROOM_BYTES,
  openSafetensors,
  openSafetensorsDir,
} from './engine/index.js';
export type {
  EngineConfig,
  EngineScale,
  EngineSegment,
  EngineStepCostFit,
  EngineStepCostPoint,
  EngineWeights,
  HostTensor,
  StepCostGrid,
  StepSample,
  EngineWeightSource,
  SafetensorsFile,
} from './engine/index.js';

// server
export {
  DEFAULT_ENGINE_SCALE,
  ServingLoop,
  comparePrediction,
  describeExperiment,
  describePredictionErrors,
  predictLoad,
  predictedVsMeasured,
  predictionErrorSummary,
  probeServerOverheads,
  resolveEngineConfig,
  runLoad,
  spawnServer,
  startCompletionServer,
  startEngineServer,
  peakRssBytes,
  engineMemoryBudget,
  measureEngineVsLocal,
  describeEngineVsLocal,
} from './server/index.js';
export type {
  ArrivalRecord,
  ChildServer,
  CompletionServer,
  CompletionServerOptions,
  EngineServerOptions,
  ExperimentModel,
  ExperimentPoint,
  ExperimentResult,
  ExperimentSpec,
  LoadOptions,
  LoadRequestRecord,
  LoadResult,
  LoadWorkload,
  PredictionErrorSummary,
  PredictionRow,
  RequestSink,
  ServerOverheads,
  ServingLoopOptions,
  StepRecord,
  EngineVsLocalRow,
  EngineVsLocalResult,
} from './server/index.js';

// deployment
export {
  assertMemoryFit,
  calibratedStepModel,
  candidateLayouts,
  cheapestByBruteForce,
  costProfitMargin,
  dailyCostUsd,
  dailyRevenueUsd,
  decodeAtUserSpeed,
  decodePerformance,
  deepseekDayReproduction,
  deepseekPublishedDay,
  denseVsMoe,
  deploymentFrontier,
  deploymentStepCost,
  describeDeepseekDay,
  describeDenseVsMoe,
  describeLocalVsScale,
  describeSimulatedPoint,
  describeTitleAnswer,
  deviceMemoryFit,
  evaluateDeployment,
  prefillFromMix,
  evaluateSearchPoint,
  evaluateSearchSpace,
  listLocalSetups,
  loadLocalSetup,
  localDecode,
  localVsScale,
  maxSequencesThatFit,
  perfDeviceStepModel,
  prefillPerformance,
  priceDay,
  rooflineDeviceStepModel,
  searchCheapestDeployment,
  searchSpaceFromSpec,
  searchSpaceSize,
  searchSweep,
  simulateDeployment,
  simulateSearchPoint,
  singleDeviceSetup,
  specBoundStepModel,
  speculativeTokensPerStep,
  thisMachineSetup,
  uniformPrecision,
  localSetupFromJson,
  loadLocalSetupFile,
  withSetupOverrides,
  listLocalRuntimes,
  loadLocalRuntime,
  PREFILL_CHUNK,
} from './deployment/index.js';
export type {
  ArchitectureRow,
  DailyLoad,
  DayCost,
  DecodePerformance,
  DeepseekDayReproduction,
  Deployment,
  DeploymentEvaluation,
  DeploymentPrecision,
  DeploymentServing,
  DeviceMemoryFit,
  DeviceStepBreakdown,
  DeviceStepInput,
  DeviceStepModel,
  HostCompute,
  LoadCurve,
  LocalOffload,
  LocalRun,
  LocalRunOptions,
  LocalSetup,
  LocalTier,
  LocalVsScaleRow,
  PerfStepOptions,
  PoolLayout,
  PoolRates,
  PoolRole,
  PrefillPerformance,
  PublishedDay,
  PublishedVsPredicted,
  ResolvedLayout,
  SearchLoad,
  SearchPoint,
  SearchSpace,
  SearchSpec,
  Slo,
  SpeculativeDecoding,
  StepModelFactory,
  TokenPrices,
  LocalSetupOverrides,
  LocalRuntime,
  RuntimeFactor,
} from './deployment/index.js';

// sweep
export {
  SHARD_INDEX_VARIABLES,
  gemmMachineFingerprint,
  mergeGemmCsvFiles,
  mergeSweepShards,
  mergedGemmCsv,
  runSweepShard,
  servingSweepDefinition,
  writeSweepShard,
} from './sweep/index.js';
export type {
  MergedGemm,
  ServingSweepSpec,
  Shard,
  SweepDefinition,
  SweepResult,
  SweepShardFile,
} from './sweep/index.js';

// plot
export {
  attentionStrategiesChart,
  batchLatencyThroughputChart,
  concurrencyCurveChart,
  decodeTrafficChart,
  deploymentFrontierChart,
  disaggregationChart,
  gemmGroupedExpertsChart,
  gemmLatencyChart,
  gemmOneVsManyChart,
  gemmThroughputChart,
  kvBatchLimitChart,
  localSetupChart,
  moeDistinctExpertsChart,
  moeEfficiencyChart,
  moeGroupedBenchChart,
  moeImbalanceChart,
  moeTokensPerExpertChart,
  pipelineBubbleChart,
  pipelineGanttChart,
  pipelineWindowChart,
  predictionChart,
  predictionErrorChart,
  publishedComparisonChart,
  publishedVsPredictedChart,
  raggedPredictionChart,
  rooflineChart,
  rooflineCriticalBatchChart,
  rooflineOpTimeChart,
  rooflineThroughputChart,
  servingBatchSizeChart,
  servingFrontierChart,
  servingLoadLimitChart,
  stepBreakdownChart,
  windowCatchChart,
  windowEffectChart,
} from './plot/index.js';
export type {
  BatchLatencyPoint,
  CriticalBatchPoint,
  Figure,
  FrontierMark,
  GemmModelCurve,
  GemmSpecLine,
  LocalSetupBar,
  MoeGroupedBenchRun,
  RooflineSeries,
} from './plot/index.js';

// report
export {
  describeSamples,
  notebookProfile,
  provenanceLine,
  show,
  showHtml,
  showMarkdown,
  showTable,
  timingSpreadNote,
} from './report/index.js';
export type {
  NotebookProfile,
  ProfileName,
  ProfileTiming,
} from './report/index.js';

// ------------------------------------------------- internals shared across folders

// util
export {
  checkArray,
  checkFraction,
  checkInt,
  checkNumber,
  checkOneOf,
  checkPositive,
  exponential as randomExponential,
  gammaByMeanCv as randomGammaByMeanCv,
  logNormal as randomLogNormal,
  nativeStackVersions,
  normal as randomNormal,
  randomInt,
  smallestIntegerWhere,
  summarizeSample,
  uniform as randomUniform,
} from './util/index.js';
export type {
  Bounds,
  SampleSummary,
} from './util/index.js';

// backend
export {
  nativePackageName,
  tfjs,
} from './backend/index.js';

// gemm
export {
  GEMM_NUMERIC_COLUMNS,
  defaultSyncMode,
  gemmRowKey,
  gemmVariantOperands,
  gemmVariantProduct,
  readbackOne,
  resolveTimingOptions,
  tensorflowSettings,
  versionsString,
} from './gemm/index.js';

// cost
export {
  alternateBatchSplit,
} from './cost/index.js';

// attention
export {
  attentionCsv,
  checkAttentionShape,
  decodeAttentionProblem,
  prepareDecodeAttention,
  windowedCausalPairs,
  parsePromptMix,
  loadPromptMix,
  promptMixStats,
  scalePromptMix,
} from './attention/index.js';
export type {
  DecodeAttentionProblem,
  PreparedDecodeAttention,
  PromptMix,
  PromptMixStats,
  PromptMixScaling,
} from './attention/index.js';

// roofline
export {
  fractionalMatmulSeconds,
} from './roofline/index.js';

// perf
export {
  calibrationFromJson,
  calibrationGemmEfficiency,
  gemmComputeSeconds,
  linkSeconds,
  ringAllReduceSeconds,
  smallestTrue,
} from './perf/index.js';
export type {
  GemmWork,
  Link,
} from './perf/index.js';

// moe
export {
  checkMoeRouting,
} from './moe/index.js';

// batching
export {
  DurationHistogram,
  WAIT_FOR_EVENT,
  admitFifo,
  checkServingPolicy,
  iterationStep,
  resolveServing,
  runServingEngine,
} from './batching/index.js';
export type {
  ResolvedServing,
} from './batching/index.js';

// engine
export {
  checkEngineWeights,
  expectedWeightShapes,
  pointWork,
} from './engine/index.js';

// server
export {
  MAX_BODY_BYTES,
  promptTokens,
  serverStepCost,
  summariseLoad,
  tokenText,
} from './server/index.js';

// deployment
export {
  checkDailyLoad,
  checkLoadCurve,
  checkPrecision,
  checkPrice,
  checkPrices,
  checkStepInput,
  resolveLayout,
  searchPointCoordinates,
} from './deployment/index.js';

// sweep
export {
  parseShard,
  shardRange,
  sweepResultText,
  sweepShardFileName,
  sweepSpecHash,
} from './sweep/index.js';

// plot
export {
  PALETTE,
  baseLayout,
} from './plot/index.js';

// report
export {
  PLOTLY_MIME,
  PLOT_CLASS,
  displayBundle,
  escapeHtml,
  escapeMarkdownHtml,
  figureBundle,
  tableBundle,
} from './report/index.js';
export type {
  MimeBundle,
} from './report/index.js';
export { gemmLineRefinement, GEMM_REFINE_MARGIN, GEMM_REFINE_MAX_EXTRA, type GemmRefineOptions, type GemmLinePoint, type GemmRefineInterval } from './gemm/index.js';
