import type { Dtype } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { checkInt, checkOneOf } from '../util/validate.js';
import type { ModelSpec } from './spec.js';
import { attentionKvBytesPerSequence, attentionKvBytesPerToken, attentionKvElementsPerTokenPerLayer } from '../attention/index.js';
import { modelAttentionShape } from './attention-shape.js';

/** Parameter counts of a model, by part. */
export interface ParamCounts {
  /** Every parameter, as stored (excludes multi-token-prediction heads such as DeepSeek-V3's MTP module). */
  total: number;
  /**
   * Parameters one token touches: everything except the routed experts it is not
   * sent to. Includes the input embedding table, as Mistral, DeepSeek and Qwen count
   * it; gpt-oss's model card leaves it out (use active - embedding to compare).
   */
  active: number;
  embedding: number;
  lmHead: number;
  /** Attention projections (and sinks) over all layers. */
  attention: number;
  /** Dense FFN layers. */
  denseFfn: number;
  /** All routed experts over all MoE layers. */
  routedExperts: number;
  /** Shared experts over all MoE layers. */
  sharedExperts: number;
  router: number;
  norms: number;
}

/** Parameters of one layer's attention projections (q, k, v, o and their biases, or MLA's five). */
export function attentionParamsPerLayer(model: ModelSpec): number {
  const h = model.hiddenSize;
  const a = model.attention;
  if (a.kind === 'mla') {
    const qk = a.qkNopeHeadDim + a.qkRopeHeadDim;
    const q = a.qLoraRank === null ? h * a.numHeads * qk : h * a.qLoraRank + a.qLoraRank * a.numHeads * qk;
    const kvA = h * (a.kvLoraRank + a.qkRopeHeadDim);
    const kvB = a.kvLoraRank * a.numHeads * (a.qkNopeHeadDim + a.vHeadDim);
    const o = a.numHeads * a.vHeadDim * h;
    return q + kvA + kvB + o;
  }
  const qOut = a.numHeads * a.headDim;
  const kvOut = a.numKvHeads * a.headDim;
  const weights = h * qOut + 2 * h * kvOut + qOut * h;
  const biases = (a.bias ? qOut + 2 * kvOut : 0) + (a.outputBias ? h : 0);
  return weights + biases + (a.sinks ? a.numHeads : 0);
}

function normsPerLayer(model: ModelSpec): number {
  const a = model.attention;
  let n = 2 * model.hiddenSize; // input_layernorm + post_attention_layernorm
  if (a.kind === 'mla') n += (a.qLoraRank ?? 0) + a.kvLoraRank;
  else if (a.qkNorm) n += 2 * a.headDim;
  return n;
}

function gatedFfnParams(hidden: number, inter: number, bias: boolean): number {
  return 3 * hidden * inter + (bias ? 2 * inter + hidden : 0);
}

/**
 * Total and active parameter counts, with a breakdown by part.
 *
 * @example
 * const p = paramCounts(loadModel('deepseek-v3'));
 * p.total / 1e9 // => about 671; p.active / 1e9 // => about 37.5
 */
export function paramCounts(model: ModelSpec): ParamCounts {
  const h = model.hiddenSize;
  const embedding = model.vocabSize * h;
  const lmHead = model.tieWordEmbeddings ? 0 : model.vocabSize * h;
  const attention = attentionParamsPerLayer(model) * model.numLayers;
  const denseFfn = gatedFfnParams(h, model.intermediateSize, model.mlpBias) * model.denseLayers;
  const norms = normsPerLayer(model) * model.numLayers + h;
  let routedExperts = 0;
  let sharedExperts = 0;
  let router = 0;
  let activeRouted = 0;
  const moe = model.moe;
  if (moe && model.moeLayers > 0) {
    const perExpert = gatedFfnParams(h, moe.expertIntermediateSize, moe.expertBias);
    routedExperts = perExpert * moe.numExperts * model.moeLayers;
    activeRouted = perExpert * moe.expertsPerToken * model.moeLayers;
    sharedExperts = moe.sharedExperts > 0 ? gatedFfnParams(h, moe.sharedIntermediateSize, false) * model.moeLayers : 0;
    router = (h * moe.numExperts + (moe.routerBias ? moe.numExperts : 0)) * model.moeLayers;
  }
  const total = embedding + lmHead + attention + denseFfn + routedExperts + sharedExperts + router + norms;
  return {
    total,
    active: total - routedExperts + activeRouted,
    embedding,
    lmHead,
    attention,
    denseFfn,
    routedExperts,
    sharedExperts,
    router,
    norms,
  };
}

/** KV-cache elements one token adds to one layer: K and V per KV head, or MLA's latent plus its rotary key. */
export function kvElementsPerTokenPerLayer(model: ModelSpec): number {
  return attentionKvElementsPerTokenPerLayer(modelAttentionShape(model));
}

/**
 * KV-cache bytes one token adds over all layers: 2·kv_heads·head_dim·layers·bytes
 * for MHA and GQA, (kv_lora_rank + qk_rope_head_dim)·layers·bytes for MLA (lib/attention).
 * Sliding-window layers are counted too; they stop growing past the window (see
 * kvCacheBytesPerSequence).
 *
 * @example
 * kvBytesPerToken(loadModel('deepseek-v3'), 'bf16') // => 70272 = (512 + 64) × 61 × 2
 */
export function kvBytesPerToken(model: ModelSpec, dtype: Dtype): number {
  return attentionKvBytesPerToken(modelAttentionShape(model), dtype);
}

/**
 * KV-cache bytes of one sequence of `context` tokens: full-attention layers hold
 * every token, sliding-window layers at most the window (lib/attention).
 *
 * @example
 * kvCacheBytesPerSequence(loadModel('llama-3.1-70b'), 'bf16', 1000) // => 1000 × 327680
 */
export function kvCacheBytesPerSequence(model: ModelSpec, dtype: Dtype, context: number): number {
  return attentionKvBytesPerSequence(modelAttentionShape(model), dtype, context);
}
