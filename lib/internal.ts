// batchlab/internal: helpers that several folders, the CLI, the benchmarks and the tests
// share (validators, kernels' helpers, report plumbing). Named re-exports only, folder by
// folder; no stability promise. The public API is lib/index.ts ("batchlab").

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
  checkWritableFile,
  checkWritableDir,
  ensureDir,
  readTextCapped,
  readJsonCapped,
  writeFileSafe,
  writeFileSafeAsync,
  formatUsd,
  countOf,
  fmtFigure,
  monotonicSeconds,
} from './util/index.js';
export type {
  Bounds,
  SampleSummary,
  ReadCaps,
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
  TIMING_DEFAULTS,
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
  attendSegments,
} from './engine/index.js';
export type {
  EngineAttentionDims,
  LayerKv,
} from './engine/index.js';

// server
export {
  MAX_BODY_BYTES,
  promptTokens,
  serverStepCost,
  summariseLoad,
  tokenText,
  checkStop,
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
  MAX_SHARD_BYTES,
  SWEEP_SHARD_FORMAT,
} from './sweep/index.js';

// kernels
export {
  kernelKey,
  kernelTableFromRows,
} from './kernels/index.js';

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
export { ANSWER_MIME, ANSWER_CLASS, DOLLAR_HTML, escapeHtmlText } from './report/index.js';
export { LOG_TICK_FORMAT, formatTick, logTicks, secondsLogAxis, withLogTicks, wrapWords } from './plot/index.js';

// core
export { checkPrefillSequences } from './core/index.js';
