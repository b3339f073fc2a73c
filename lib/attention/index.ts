// Attention and the KV cache from plain shape numbers: FLOPs and bytes of the
// attention core, KV memory and paged blocks, batching strategies for ragged
// lengths, measured batched decode attention, and attention–FFN disaggregation.
export type { AttentionShape } from './shape.js';
export { checkAttentionShape, gqaShape } from './shape.js';
export type { AttentionCoreCall, AttentionCost } from './cost.js';
export { decodeAttentionCalls, prefillAttentionCalls, decodeAttentionCost, prefillAttentionCost, windowedCausalPairs } from './cost.js';
export type { PromptMix, PromptMixStats, PromptMixScaling } from './prompts.js';
export { parsePromptMix, loadPromptMix, promptMixStats, scalePromptMix } from './prompts.js';
export type { PagedKvUsage, KvSharding, KvBatchLimitInput, KvBatchLimit } from './kv.js';
export { attentionKvElementsPerTokenPerLayer, attentionKvBytesPerToken, attentionKvBytesPerSequence, pagedKvUsage, kvBatchLimit, kvBlocksForTokens } from './kv.js';
export type { RaggedStrategy, RaggedGroup, RaggedPlan, RaggedStrategyRow } from './strategies.js';
export { RAGGED_STRATEGIES, raggedGroups, raggedBatchPlan, raggedBatchSeconds, raggedStrategyTable, decodeLengthsFromMix, lengthCases } from './strategies.js';
export type { MeasuredStrategy, DecodeAttentionProblem, PreparedDecodeAttention, AttentionRow, LengthCase, MeasureDecodeAttentionOptions, AttentionKernelFit, AttentionStrategyComparison } from './measure.js';
export {
  MEASURED_STRATEGIES,
  ATTENTION_COLUMNS,
  decodeAttentionProblem,
  referenceDecodeAttention,
  prepareDecodeAttention,
  attentionError,
  measureDecodeAttention,
  attentionCsv,
  saveAttentionRows,
  fitAttentionKernelCost,
  attentionKernelSeconds,
  compareAttentionStrategies,
} from './measure.js';
export type { PartStepSeconds, DisaggregationInput, DisaggregationResult, LayoutStep } from './disaggregation.js';
export { disaggregationWhatIf } from './disaggregation.js';
