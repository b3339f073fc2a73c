import type { Dtype, MatmulShape } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { expectedDistinctExperts } from '../core/moe.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import type { ModelSpec } from './spec.js';

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
  /** Prompts the prefill tokens split into, equally (default 1). */
  prefillSequences?: number;
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

/** Query-key pairs of one causal sequence of L tokens whose queries see at most `window` keys. */
function causalPairs(L: number, window: number | null): number {
  if (window === null || L <= window) return (L * (L + 1)) / 2;
  return (window * (window + 1)) / 2 + (L - window) * window;
}

/**
 * Every operation of one forward step over `prefillTokens` prompt tokens and
 * `decodeTokens` decoding sequences: embeddings, attention projections (MLA:
 * down/up projections for prefill, the absorbed-weight path for decode), the
 * attention core against the context, dense FFN, router, routed experts (per
 * active expert), shared experts, and the LM head (run only for decode tokens and
 * the last token of each prompt). Norms, rotary embeddings and activations are
 * elementwise and left out. Prompts are prefilled from an empty cache.
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
  const S = P === 0 ? 0 : checkInt('prefillSequences', input.prefillSequences ?? 1, { min: 1, max: P });
  const s = DTYPE_BYTES[dtype];
  const T = P + D;
  const h = model.hiddenSize;
  const L = model.numLayers;
  const Ls = model.slidingLayers;
  const Lf = L - Ls;
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
      flops: 2 * m * k * n * batch * calls,
      weightBytes: k * n * batch * s * calls,
      activationBytes: (m * k + m * n) * batch * s * calls,
      kvBytes: 0,
      bytes: (k * n + m * k + m * n) * batch * s * calls,
      dtype,
    });
  };
  const core = (
    name: string,
    calls: number,
    score: MatmulShape,
    value: MatmulShape,
    flopsPerCall: number,
    kvPerCall: number,
    actPerCall: number,
  ): void => {
    if (calls <= 0 || flopsPerCall <= 0) return;
    ops.push({
      name,
      group: 'attention-core',
      m: score.m,
      k: score.k,
      n: score.n,
      batch: score.batch ?? 1,
      matmuls: [score, value],
      calls,
      flops: flopsPerCall * calls,
      weightBytes: 0,
      activationBytes: actPerCall * calls,
      kvBytes: kvPerCall * calls,
      bytes: (actPerCall + kvPerCall) * calls,
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
  const cbar = D > 0 ? C / D : 0;
  const Lp = S > 0 ? P / S : 0;
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
    if (D > 0 && C > 0) {
      core(
        'attn.core.decode',
        L,
        { m: a.numHeads, k: lat, n: cbar, dtype, batch: D },
        { m: a.numHeads, k: cbar, n: a.kvLoraRank, dtype, batch: D },
        2 * a.numHeads * (lat + a.kvLoraRank) * C,
        lat * C * s,
        D * a.numHeads * (lat + a.kvLoraRank) * s,
      );
    }
    if (P > 0) {
      const pairs = causalPairs(Lp, null);
      core(
        'attn.core.prefill',
        L,
        { m: Lp, k: qk, n: pairs / Lp, dtype, batch: a.numHeads * S },
        { m: Lp, k: pairs / Lp, n: a.vHeadDim, dtype, batch: a.numHeads * S },
        2 * a.numHeads * (qk + a.vHeadDim) * pairs * S,
        P * a.numHeads * (qk + a.vHeadDim) * s,
        P * a.numHeads * (qk + a.vHeadDim) * s,
      );
    }
  } else {
    const d = a.headDim;
    const g = a.numHeads / a.numKvHeads;
    linear('attn.qkv_proj', 'attention', T, h, (a.numHeads + 2 * a.numKvHeads) * d, L);
    linear('attn.o_proj', 'attention', T, a.numHeads * d, h, L);
    // The g query heads of a KV group share one K and V, so the core's matmul rows are g·(queries).
    const decodeCore = (name: string, calls: number, ctx: number): void => {
      if (D === 0 || ctx <= 0) return;
      core(
        name,
        calls,
        { m: g, k: d, n: ctx, dtype, batch: a.numKvHeads * D },
        { m: g, k: ctx, n: d, dtype, batch: a.numKvHeads * D },
        4 * a.numHeads * d * ctx * D,
        2 * a.numKvHeads * d * ctx * D * s,
        2 * D * a.numHeads * d * s,
      );
    };
    const prefillCore = (name: string, calls: number, window: number | null): void => {
      if (P === 0) return;
      const pairs = causalPairs(Lp, window);
      core(
        name,
        calls,
        { m: g * Lp, k: d, n: pairs / Lp, dtype, batch: a.numKvHeads * S },
        { m: g * Lp, k: pairs / Lp, n: d, dtype, batch: a.numKvHeads * S },
        4 * a.numHeads * d * pairs * S,
        2 * a.numKvHeads * d * P * s,
        2 * P * a.numHeads * d * s,
      );
    };
    decodeCore('attn.core.decode', Lf, cbar);
    decodeCore('attn.core.decode.sliding', Ls, model.slidingWindow === null ? cbar : Math.min(cbar, model.slidingWindow));
    prefillCore('attn.core.prefill', Lf, null);
    prefillCore('attn.core.prefill.sliding', Ls, model.slidingWindow);
  }

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
