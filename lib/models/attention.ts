import type { Dtype } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import type { AttentionShape, KvBatchLimit, KvSharding } from '../attention/index.js';
import { checkAttentionShape, kvBatchLimit } from '../attention/index.js';
import { checkInt, checkOneOf } from '../util/validate.js';
import { paramCounts } from './params.js';
import type { ModelSpec } from './spec.js';

/**
 * The attention numbers of a model, as lib/attention prices them.
 *
 * @example
 * modelAttentionShape(loadModel('deepseek-v3')).mla // => { latentDim: 512, ropeDim: 64 }
 */
export function modelAttentionShape(model: ModelSpec): AttentionShape {
  const a = model.attention;
  const common = { hiddenSize: model.hiddenSize, layers: model.numLayers, slidingLayers: model.slidingLayers, slidingWindow: model.slidingWindow };
  if (a.kind === 'mla') {
    return checkAttentionShape({
      kind: 'mla',
      heads: a.numHeads,
      kvHeads: a.numHeads,
      headDim: a.qkNopeHeadDim + a.qkRopeHeadDim,
      valueDim: a.vHeadDim,
      mla: { latentDim: a.kvLoraRank, ropeDim: a.qkRopeHeadDim },
      ...common,
    });
  }
  return checkAttentionShape({ kind: 'gqa', heads: a.numHeads, kvHeads: a.numKvHeads, headDim: a.headDim, valueDim: a.headDim, mla: null, ...common });
}

/**
 * Activation workspace of one device for a step of `tokens` tokens: the widest
 * layer's temporaries (hidden state in and out, the gated FFN's 2·width, the
 * attention projections) for every token, plus fp32 logits for `logitRows` rows.
 * A sized estimate of what an engine reserves, not a measurement.
 *
 * @example
 * stepActivationBytes(loadModel('llama-3.1-70b'), { tokens: 8192, logitRows: 256, dtype: 'bf16' })
 */
export function stepActivationBytes(model: ModelSpec, opts: { tokens: number; logitRows: number; dtype: Dtype }): number {
  const tokens = checkInt('tokens', opts.tokens, { min: 0, max: 1 << 24 });
  const rows = checkInt('logitRows', opts.logitRows, { min: 0, max: 1 << 24 });
  const s = DTYPE_BYTES[checkOneOf('dtype', opts.dtype, DTYPES)];
  const a = model.attention;
  const ffn = Math.max(model.intermediateSize, (model.moe?.expertIntermediateSize ?? 0) * (model.moe?.expertsPerToken ?? 0));
  const attn = a.kind === 'mla' ? a.numHeads * (a.qkNopeHeadDim + a.qkRopeHeadDim + a.vHeadDim) * 2 : (a.numHeads + 2 * a.numKvHeads) * a.headDim * 2;
  const perToken = 2 * model.hiddenSize + Math.max(2 * ffn, attn);
  return tokens * perToken * s + rows * model.vocabSize * 4;
}

/**
 * The largest concurrent decode batch of a model on `devices` devices of
 * `deviceMemoryBytes` each at a context length: weights (every parameter at `dtype`),
 * a step's activations (`maxBatchedTokens` tokens, default 8192, vLLM's
 * max_num_batched_tokens default for chunked prefill; fp32 logits for at most 256
 * sampled rows, vLLM's max_num_seqs default), then paged KV blocks.
 *
 * @example
 * modelKvBatchLimit(loadModel('llama-3.1-70b'), { dtype: 'bf16', context: 8192, deviceMemoryBytes: 80e9, devices: 8 }).sequences
 */
export function modelKvBatchLimit(
  model: ModelSpec,
  opts: {
    dtype: Dtype;
    context: number;
    deviceMemoryBytes: number;
    devices?: number;
    maxBatchedTokens?: number;
    memoryUtilization?: number;
    kvSharding?: KvSharding;
    blockTokens?: number;
    sharedPrefixTokens?: number;
  },
): KvBatchLimit {
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  const tokens = checkInt('maxBatchedTokens', opts.maxBatchedTokens ?? 8192, { min: 1, max: 1 << 24 });
  const devices = checkInt('devices', opts.devices ?? 1, { min: 1, max: 4096 });
  return kvBatchLimit({
    shape: modelAttentionShape(model),
    dtype,
    context: opts.context,
    deviceMemoryBytes: opts.deviceMemoryBytes,
    devices,
    weightBytes: paramCounts(model).total * DTYPE_BYTES[dtype],
    // Tensor parallelism splits a step's widest temporaries across the devices; logits are gathered whole.
    activationBytes: stepActivationBytes(model, { tokens, logitRows: 0, dtype }) / devices + stepActivationBytes(model, { tokens: 0, logitRows: Math.min(tokens, 256), dtype }),
    memoryUtilization: opts.memoryUtilization,
    kvSharding: opts.kvSharding,
    blockTokens: opts.blockTokens,
    sharedPrefixTokens: opts.sharedPrefixTokens,
  });
}
