import type { Dtype, MatmulShape } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { checkPrefillSequences, matmulBytes, matmulFlops, matmulWeightBytes } from '../core/matmul.js';
import { expectedDistinctExperts } from '../core/moe.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import type { ModelSpec } from './spec.js';
import { decodeAttentionCalls, prefillAttentionCalls } from '../attention/index.js';
import type { AttentionCoreCall } from '../attention/index.js';
import { modelAttentionShape } from './attention-shape.js';

/** What an operation belongs to, for grouping in tables and charts. */
export type OperationGroup =
  | 'embedding'
  | 'attention'
  | 'attention-core'
  | 'ffn'
  | 'router'
  | 'routed-expert'
  | 'shared-expert'
  | 'lm-head';

/**
 * One operation of a forward step, summed over the layers that run it. The
 * matmul X[m×k]·W[k×n] is repeated `batch` times per call (heads of the attention
 * core, active experts) and `calls` times per step (layers). FLOPs and bytes are
 * totals for the step; bytes split into weights, activations (inputs and outputs)
 * and KV (keys and values read by the attention core). Dimensions can be
 * fractional where they are expectations (tokens per routed expert, mean context).
 */
export interface ModelOperation {
  name: string;
  group: OperationGroup;
  m: number;
  k: number;
  n: number;
  batch: number;
  /** Every matmul of one call (the attention core has two: scores and values); empty for the embedding gather. */
  matmuls: MatmulShape[];
  calls: number;
  flops: number;
  weightBytes: number;
  activationBytes: number;
  kvBytes: number;
  bytes: number;
  dtype: Dtype;
}

/** The work of one forward step, as `modelStepOps` takes it. */
export interface StepOpsInput {
  /** Prompt tokens processed this step. */
  prefillTokens: number;
  /** Sequences producing one token each. */
  decodeTokens: number;
  /** KV tokens read by the decoding sequences, summed over them. */
  contextTokens: number;
  /** Prompts (or prompt chunks) the prefill tokens belong to (default 1), or a steady state's mean of whole prompts (`checkPrefillSequences`). */
  prefillSequences?: number;
  /**
   * Causal query–key pairs of the prefill, summed over its chunks
   * (`prefillAttentionPairs(chunk, offset)` of lib/core); default: `prefillSequences`
   * equal prompts from an empty cache.
   */
  prefillAttentionPairs?: number;
  /** Element type of weights, activations and KV cache (default bf16). */
  dtype?: Dtype;
}

const MAX_TOKENS = 1 << 24;

/**
 * Expected number of distinct routed experts that `tokens` tokens reach when each
 * picks `topK` of `experts` uniformly: E·(1 − (1 − k/E)^T) (`expectedDistinctExperts`
 * in lib/core, after validating). One token reaches k; many tokens reach all E, each
 * with its routed share T·k/E.
 *
 * @example
 * expectedActiveExperts(256, 8, 1) // => 8
 */
export function expectedActiveExperts(experts: number, topK: number, tokens: number): number {
  checkInt('experts', experts, { min: 1, max: 65536 });
  checkInt('topK', topK, { min: 1, max: experts });
  checkNumber('tokens', tokens, { min: 0, max: MAX_TOKENS });
  return expectedDistinctExperts(experts, topK, tokens);
}

/**
 * Every operation of one forward step over `prefillTokens` prompt tokens and
 * `decodeTokens` decoding sequences: embeddings, attention projections (MLA:
 * down/up projections for prefill, the absorbed-weight path for decode), the
 * attention core against the context, dense FFN, router, routed experts (per
 * active expert), shared experts, and the LM head (run only for decode tokens and
 * the last token of each prompt). Norms, rotary embeddings and activations are
 * elementwise and left out. The attention core comes from lib/attention: k prompts
 * cost k single prompts, and with `prefillAttentionPairs` a chunk pays for the
 * earlier chunks of its prompt it attends to.
 *
 * @example
 * modelStepOps(loadModel('llama-3.1-8b'), { prefillTokens: 0, decodeTokens: 16, contextTokens: 16 * 1024 })
 *   .map((o) => o.name) // => ['embed', 'attn.qkv_proj', 'attn.o_proj', 'attn.core.decode', 'ffn.gate_up_proj', ...]
 */
export function modelStepOps(model: ModelSpec, input: StepOpsInput): ModelOperation[] {
  const P = checkInt('prefillTokens', input.prefillTokens, { min: 0, max: MAX_TOKENS });
  const D = checkInt('decodeTokens', input.decodeTokens, { min: 0, max: MAX_TOKENS });
  const C = checkNumber('contextTokens', input.contextTokens, { min: 0, max: MAX_TOKENS * MAX_TOKENS });
  const dtype = checkOneOf('dtype', input.dtype ?? 'bf16', DTYPES);
  if (P + D === 0) throw new InputError('prefillTokens + decodeTokens', 0, 'at least 1');
  if (D === 0 && C > 0) throw new InputError('contextTokens', C, '0 when decodeTokens is 0');
  const S = P === 0 ? 0 : checkPrefillSequences(input.prefillSequences, P);
  const s = DTYPE_BYTES[dtype];
  const T = P + D;
  const h = model.hiddenSize;
  const L = model.numLayers;
  const ops: ModelOperation[] = [];

  const linear = (name: string, group: OperationGroup, m: number, k: number, n: number, calls: number, batch = 1): void => {
    if (m <= 0 || calls <= 0 || batch <= 0) return;
    ops.push({
      name,
      group,
      m,
      k,
      n,
      batch,
      matmuls: [{ m, k, n, dtype, batch }],
      calls,
      flops: matmulFlops(m, k, n, batch) * calls,
      weightBytes: matmulWeightBytes(k, n, dtype, batch) * calls,
      activationBytes: (m * k + m * n) * batch * s * calls,
      kvBytes: 0,
      bytes: matmulBytes(m, k, n, dtype, batch) * calls,
      dtype,
    });
  };
  const core = (call: AttentionCoreCall): void => {
    if (call.layers <= 0 || call.flops <= 0) return;
    const name = `attn.core.${call.phase}${call.sliding ? '.sliding' : ''}`;
    ops.push({
      name,
      group: 'attention-core',
      m: call.score.m,
      k: call.score.k,
      n: call.score.n,
      batch: call.score.batch ?? 1,
      matmuls: [call.score, call.value],
      calls: call.layers,
      flops: call.flops * call.layers,
      weightBytes: 0,
      activationBytes: call.activationBytes * call.layers,
      kvBytes: call.kvBytes * call.layers,
      bytes: (call.activationBytes + call.kvBytes) * call.layers,
      dtype,
    });
  };

  // Embedding: a gather of T rows of the table, not a matmul.
  ops.push({
    name: 'embed',
    group: 'embedding',
    m: T,
    k: model.vocabSize,
    n: h,
    batch: 1,
    matmuls: [],
    calls: 1,
    flops: 0,
    weightBytes: Math.min(T, model.vocabSize) * h * s,
    activationBytes: T * h * s,
    kvBytes: 0,
    bytes: (Math.min(T, model.vocabSize) + T) * h * s,
    dtype,
  });

  const a = model.attention;
  if (a.kind === 'mla') {
    const qk = a.qkNopeHeadDim + a.qkRopeHeadDim;
    const lat = a.kvLoraRank + a.qkRopeHeadDim;
    if (a.qLoraRank === null) linear('attn.q_proj', 'attention', T, h, a.numHeads * qk, L);
    else {
      linear('attn.q_a_proj', 'attention', T, h, a.qLoraRank, L);
      linear('attn.q_b_proj', 'attention', T, a.qLoraRank, a.numHeads * qk, L);
    }
    linear('attn.kv_a_proj', 'attention', T, h, lat, L);
    // Prefill expands the latent into per-head K and V; decode instead folds the
    // up-projections into the query and the output (weight absorption), so the
    // cache is read as one 576-wide latent shared by all heads.
    linear('attn.kv_b_proj', 'attention', P, a.kvLoraRank, a.numHeads * (a.qkNopeHeadDim + a.vHeadDim), L);
    linear('attn.q_absorb', 'attention', D, a.qkNopeHeadDim, a.kvLoraRank, L, a.numHeads);
    linear('attn.v_absorb', 'attention', D, a.kvLoraRank, a.vHeadDim, L, a.numHeads);
    linear('attn.o_proj', 'attention', T, a.numHeads * a.vHeadDim, h, L);
  } else {
    const d = a.headDim;
    linear('attn.qkv_proj', 'attention', T, h, (a.numHeads + 2 * a.numKvHeads) * d, L);
    linear('attn.o_proj', 'attention', T, a.numHeads * d, h, L);
  }
  // The attention core, priced in lib/attention (one home for its FLOPs and bytes).
  const shape = modelAttentionShape(model);
  for (const c of decodeAttentionCalls(shape, { sequences: D, contextTokens: C, dtype })) core(c);
  for (const c of prefillAttentionCalls(shape, { tokens: P, sequences: S || 1, pairs: input.prefillAttentionPairs, dtype })) core(c);

  linear('ffn.gate_up_proj', 'ffn', T, h, 2 * model.intermediateSize, model.denseLayers);
  linear('ffn.down_proj', 'ffn', T, model.intermediateSize, h, model.denseLayers);

  const moe = model.moe;
  if (moe && model.moeLayers > 0) {
    const E = moe.numExperts;
    const k = moe.expertsPerToken;
    const active = expectedActiveExperts(E, k, T);
    const perExpert = (T * k) / active;
    linear('moe.router', 'router', T, h, E, model.moeLayers);
    linear('moe.expert.gate_up_proj', 'routed-expert', perExpert, h, 2 * moe.expertIntermediateSize, model.moeLayers, active);
    linear('moe.expert.down_proj', 'routed-expert', perExpert, moe.expertIntermediateSize, h, model.moeLayers, active);
    if (moe.sharedExperts > 0) {
      linear('moe.shared.gate_up_proj', 'shared-expert', T, h, 2 * moe.sharedIntermediateSize, model.moeLayers);
      linear('moe.shared.down_proj', 'shared-expert', T, moe.sharedIntermediateSize, h, model.moeLayers);
    }
  }

  linear('lm_head', 'lm-head', D + S, h, model.vocabSize, 1);
  return ops;
}

/**
 * The operations of one decode step: `batch` sequences, each with `context` tokens
 * already in its KV cache. `context: 0` leaves the attention core out (the
 * weights-only view).
 *
 * @example
 * decodeOps(loadModel('llama-3.1-70b'), { batch: 64, context: 2048 }).find((o) => o.name === 'ffn.down_proj')
 * // => { m: 64, k: 28672, n: 8192, calls: 80, ... }
 */
export function decodeOps(model: ModelSpec, opts: { batch: number; context: number; dtype?: Dtype }): ModelOperation[] {
  const batch = checkInt('batch', opts.batch, { min: 1, max: MAX_TOKENS });
  const context = checkNumber('context', opts.context, { min: 0, max: MAX_TOKENS });
  return modelStepOps(model, { prefillTokens: 0, decodeTokens: batch, contextTokens: batch * context, dtype: opts.dtype });
}

/**
 * The operations of prefilling `tokens` prompt tokens from an empty cache, split
 * into `sequences` equal prompts (default 1).
 *
 * @example
 * prefillOps(loadModel('deepseek-v3'), { tokens: 4096 }).some((o) => o.name === 'attn.kv_b_proj') // => true
 */
export function prefillOps(model: ModelSpec, opts: { tokens: number; sequences?: number; dtype?: Dtype }): ModelOperation[] {
  const tokens = checkInt('tokens', opts.tokens, { min: 1, max: MAX_TOKENS });
  return modelStepOps(model, { prefillTokens: tokens, decodeTokens: 0, contextTokens: 0, prefillSequences: opts.sequences, dtype: opts.dtype });
}
