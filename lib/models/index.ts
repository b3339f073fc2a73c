export { loadModelConfig, loadModel, listModelIds, MODEL_ARCHITECTURES, loadModelFile, resolveModel, checkModelContext } from './spec.js';
export type { ModelSpec, ModelArchitecture, GqaAttentionSpec, MlaAttentionSpec, MoeSpec } from './spec.js';
export { paramCounts, kvBytesPerToken, kvCacheBytesPerSequence } from './params.js';
export type { ParamCounts } from './params.js';
export { modelStepOps, decodeOps, prefillOps } from './ops.js';
export type { ModelOperation, OperationGroup, StepOpsInput } from './ops.js';
export { modelAttentionShape } from './attention-shape.js';
export { modelKvBatchLimit, stepActivationBytes, modelDecodePartSeconds, modelDisaggregation, decodeTraffic, kvBatchLimits, disaggregationTable } from './attention.js';
export type { DecodeTrafficRow, KvDeployment, KvBatchLimitRow, DisaggregationRow, DisaggregationModelOptions } from './attention.js';
