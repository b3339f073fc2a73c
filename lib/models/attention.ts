import type { Dtype, MatmulCostModel } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import type { DisaggregationResult, KvBatchLimit, KvSharding } from '../attention/index.js';
import { attentionKvBytesPerSequence, disaggregationWhatIf, kvBatchLimit } from '../attention/index.js';
import { InputError } from '../util/errors.js';
import { smallestIntegerWhere } from '../util/search.js';
import { checkArray, checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { modelStepOps } from './ops.js';
import { paramCounts } from './params.js';
import type { ModelSpec } from './spec.js';
import { modelAttentionShape } from './attention-shape.js';

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

const FFN_GROUPS = new Set(['ffn', 'router', 'routed-expert', 'shared-expert']);

/**
 * A model's decode step split into its attention part (embedding, projections,
 * attention core, LM head) and its FFN part (dense FFN, router, experts), each as
 * seconds for a batch on `devices` tensor-parallel devices: every matmul priced by
 * `cost` (e.g. `rooflineMatmulCost(hw, dtype)`), split evenly over the devices.
 *
 * @example
 * const { attentionSeconds, ffnSeconds } = modelDecodePartSeconds(loadModel('deepseek-v3'), { cost, dtype: 'fp8', context: 4096 });
 * ffnSeconds(256, 8) // => seconds of the FFN part of a 256-sequence step on 8 devices
 */
export function modelDecodePartSeconds(
  model: ModelSpec,
  opts: { cost: MatmulCostModel; dtype: Dtype; context: number },
): { attentionSeconds: (tokens: number, devices: number) => number; ffnSeconds: (tokens: number, devices: number) => number } {
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  const context = checkNumber('context', opts.context, { min: 0, max: 1 << 24 });
  if (typeof opts.cost?.matmulSeconds !== 'function') throw new InputError('cost', opts.cost, 'a MatmulCostModel');
  const part = (ffn: boolean) => (tokens: number, devices: number): number => {
    checkNumber('tokens', tokens, { min: 0, exclusiveMin: true, max: 1 << 24 });
    checkInt('devices', devices, { min: 1, max: 4096 });
    // Micro-batches may hold a fractional mean number of sequences; price the step at that mean.
    const ops = modelStepOps(model, { prefillTokens: 0, decodeTokens: Math.max(1, Math.round(tokens)), contextTokens: Math.max(1, Math.round(tokens)) * context, dtype });
    let t = 0;
    for (const op of ops) {
      if (FFN_GROUPS.has(op.group) !== ffn) continue;
      for (const sh of op.matmuls) t += opts.cost.matmulSeconds(sh) * op.calls;
    }
    return t / devices;
  };
  return { attentionSeconds: part(false), ffnSeconds: part(true) };
}

/** What an attention–FFN split of a model is priced with, whatever the split. */
export interface DisaggregationModelOptions {
  cost: MatmulCostModel;
  dtype: Dtype;
  context: number;
  batch: number;
  linkBytesPerSecond: number;
  deviceMemoryBytes: number;
  microBatches?: number;
}

/**
 * The disaggregation what-if for a catalog model: `disaggregationWhatIf` with the
 * model's decode parts priced by `cost`, its attention and FFN weights, and its KV
 * cache at `context`.
 *
 * @example
 * modelDisaggregation(loadModel('deepseek-v3'), { cost, dtype: 'fp8', context: 4096, batch: 2048, attentionDevices: 8, ffnDevices: 8, linkBytesPerSecond: 50e9, deviceMemoryBytes: 141e9 })
 */
export function modelDisaggregation(
  model: ModelSpec,
  opts: DisaggregationModelOptions & { attentionDevices: number; ffnDevices: number },
): DisaggregationResult {
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  const context = checkInt('context', opts.context, { min: 1, max: 1 << 24 });
  const parts = modelDecodePartSeconds(model, { cost: opts.cost, dtype, context });
  const p = paramCounts(model);
  const s = DTYPE_BYTES[dtype];
  const ffnParams = p.denseFfn + p.routedExperts + p.sharedExperts + p.router;
  return disaggregationWhatIf({
    layers: model.numLayers,
    hiddenSize: model.hiddenSize,
    dtype,
    batch: opts.batch,
    microBatches: opts.microBatches,
    attentionDevices: opts.attentionDevices,
    ffnDevices: opts.ffnDevices,
    linkBytesPerSecond: opts.linkBytesPerSecond,
    attentionSeconds: parts.attentionSeconds,
    ffnSeconds: parts.ffnSeconds,
    memory: {
      deviceMemoryBytes: opts.deviceMemoryBytes,
      attentionWeightBytes: (p.total - ffnParams) * s,
      ffnWeightBytes: ffnParams * s,
      kvBytesPerSequence: attentionKvBytesPerSequence(modelAttentionShape(model), dtype, context),
    },
  });
}

/** Bytes a decode step reads, by kind, at one context length. */
export interface DecodeTrafficRow {
  model: string;
  context: number;
  batch: number;
  /** Weight bytes of the step (MoE: the experts the batch reaches). */
  weightBytes: number;
  /** KV bytes the attention core reads. */
  kvBytes: number;
  /** Smallest batch whose KV reads reach its weight reads at this context (Infinity if none up to 2^24). */
  crossoverBatch: number;
}

/**
 * Weight reads against KV reads of a decode step as context grows: weights are read
 * once per step whatever the batch, KV once per sequence, so past the crossover batch
 * attention dominates decode and batching stops paying for itself in bytes.
 *
 * @example
 * decodeTraffic(loadModel('llama-3.1-70b'), { batch: 64, contexts: [1024, 8192, 131072], dtype: 'bf16' })[0].crossoverBatch
 */
export function decodeTraffic(model: ModelSpec, opts: { batch: number; contexts: readonly number[]; dtype: Dtype }): DecodeTrafficRow[] {
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  const batch = checkInt('batch', opts.batch, { min: 1, max: 1 << 24 });
  const bytes = (b: number, c: number): { w: number; kv: number } => {
    let w = 0;
    let kv = 0;
    for (const op of modelStepOps(model, { prefillTokens: 0, decodeTokens: b, contextTokens: b * c, dtype })) {
      w += op.weightBytes;
      kv += op.kvBytes;
    }
    return { w, kv };
  };
  return checkArray<number>('contexts', opts.contexts, 10_000).map((c, i) => {
    checkInt(`contexts[${i}]`, c, { min: 1, max: 1 << 24 });
    const at = bytes(batch, c);
    const dominates = (b: number): boolean => {
      const x = bytes(b, c);
      return x.kv >= x.w;
    };
    // KV bytes grow with the batch faster than weight bytes (read once per step): monotone.
    const crossover = smallestIntegerWhere(dominates, 1, 1 << 24);
    return { model: model.id, context: c, batch, weightBytes: at.w, kvBytes: at.kv, crossoverBatch: crossover };
  });
}

/** One deployment for `kvBatchLimits`. */
export interface KvDeployment {
  model: ModelSpec;
  hardware: { id: string; memoryCapacityBytes: number };
  devices: number;
  dtype: Dtype;
}

/** The largest concurrent batch of one deployment at one context. */
export interface KvBatchLimitRow {
  model: string;
  hardware: string;
  devices: number;
  dtype: Dtype;
  context: number;
  sequences: number;
  kvShards: number;
  blocksPerSequence: number;
  kvGbPerDevice: number;
}

/**
 * `modelKvBatchLimit` for each deployment at each context: a table of how many
 * sequences fit. `memoryUtilization` and `blockTokens` are an engine's (an engine
 * preset's memory rule and block size, e.g. the default engine's as `simulate` sizes it).
 *
 * @example
 * kvBatchLimits([{ model: loadModel('llama-3.1-70b'), hardware: loadHardware('h100-sxm'), devices: 8, dtype: 'bf16' }], { contexts: [4096, 32768] })
 */
export function kvBatchLimits(deployments: readonly KvDeployment[], opts: { contexts: readonly number[]; blockTokens?: number; memoryUtilization?: number }): KvBatchLimitRow[] {
  checkArray<KvDeployment>('deployments', deployments, 1000);
  const contexts = checkArray<number>('contexts', opts.contexts, 1000);
  return deployments.flatMap((d) =>
    contexts.map((context) => {
      const lim = modelKvBatchLimit(d.model, { dtype: d.dtype, context, deviceMemoryBytes: d.hardware.memoryCapacityBytes, devices: d.devices, blockTokens: opts.blockTokens, memoryUtilization: opts.memoryUtilization });
      return {
        model: d.model.id,
        hardware: d.hardware.id,
        devices: d.devices,
        dtype: d.dtype,
        context,
        sequences: lim.sequences,
        kvShards: lim.kvShards,
        blocksPerSequence: lim.blocksPerSequence,
        kvGbPerDevice: lim.kvBytesPerDevice / 1e9,
      };
    }),
  );
}

/** One layout of `disaggregationTable`. */
export interface DisaggregationRow {
  layout: string;
  attentionDevices: number;
  ffnDevices: number;
  batch: number;
  stepSeconds: number;
  tokensPerSecondPerDevice: number;
  /** Largest batch the layout's memory holds at the context. */
  maxBatch: number;
  bound: string;
  /** Link bandwidth per device and direction that hides the transfers. */
  linkGBpsToHide: number;
  parkedActivationMB: number;
}

/**
 * The disaggregation what-if over several splits of the same devices, with the
 * colocated replica (all devices running both parts) first: one row per layout.
 *
 * @example
 * disaggregationTable(loadModel('deepseek-v3'), { cost, dtype: 'fp8', context: 4096, batch: 2048, splits: [[4, 12], [8, 8]], linkBytesPerSecond: 50e9, deviceMemoryBytes: 141e9 })
 */
export function disaggregationTable(
  model: ModelSpec,
  opts: DisaggregationModelOptions & { splits: ReadonlyArray<readonly [number, number]> },
): DisaggregationRow[] {
  const splits = checkArray<readonly [number, number]>('splits', opts.splits, 100);
  const rows: DisaggregationRow[] = [];
  splits.forEach(([a, f], i) => {
    if (!Array.isArray(opts.splits[i]) || opts.splits[i].length !== 2) throw new InputError(`splits[${i}]`, opts.splits[i], 'a pair [attentionDevices, ffnDevices]');
    const r = modelDisaggregation(model, { ...opts, attentionDevices: a, ffnDevices: f });
    if (i === 0) {
      rows.push({
        layout: `colocated ×${a + f}`,
        attentionDevices: a + f,
        ffnDevices: a + f,
        batch: opts.batch,
        stepSeconds: r.colocated.stepSeconds,
        tokensPerSecondPerDevice: r.colocated.tokensPerSecondPerDevice,
        maxBatch: r.colocated.maxBatch ?? 0,
        bound: 'both parts in turn',
        linkGBpsToHide: 0,
        parkedActivationMB: 0,
      });
    }
    rows.push({
      layout: `attention ×${a} + FFN ×${f}`,
      attentionDevices: a,
      ffnDevices: f,
      batch: opts.batch,
      stepSeconds: r.disaggregated.stepSeconds,
      tokensPerSecondPerDevice: r.disaggregated.tokensPerSecondPerDevice,
      maxBatch: r.disaggregated.maxBatch ?? 0,
      bound: r.disaggregated.bound,
      linkGBpsToHide: r.linkBytesPerSecondToHide / 1e9,
      parkedActivationMB: r.parkedActivationBytes / 1e6,
    });
  });
  return rows;
}
