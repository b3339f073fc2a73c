import type { Dtype, MatmulShape } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { checkPrefillSequences, prefillAttentionPairs } from '../core/matmul.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import type { AttentionShape } from './shape.js';
import { checkAttentionShape } from './shape.js';

const MAX_TOKENS = 1 << 24;

/**
 * The attention core of one kind of layer in one step (full or sliding, decode or
 * prefill): its two matmuls (scores Q·Kᵀ and values P·V) and what one layer does.
 * Dimensions may be fractional where they are means (context per sequence).
 */
export interface AttentionCoreCall {
  phase: 'decode' | 'prefill';
  sliding: boolean;
  /** Layers that run this call. */
  layers: number;
  score: MatmulShape;
  value: MatmulShape;
  /** Per layer: FLOPs of both matmuls, keys and values read, queries read and outputs written. */
  flops: number;
  kvBytes: number;
  activationBytes: number;
}

/** Totals of attention work over all layers. */
export interface AttentionCost {
  flops: number;
  kvBytes: number;
  activationBytes: number;
  bytes: number;
}

/**
 * Query–key pairs of one causal prompt of `tokens` tokens whose queries see at most
 * `window` keys (null: no window).
 *
 * @example
 * windowedCausalPairs(4, null) // => 10
 * windowedCausalPairs(4, 2)    // => 7 (1 + 2 + 2 + 2)
 */
export function windowedCausalPairs(tokens: number, window: number | null): number {
  if (window === null || tokens <= window) return prefillAttentionPairs(tokens, 0);
  return prefillAttentionPairs(window, 0) + (tokens - window) * window;
}

function layerKinds(shape: AttentionShape): Array<{ sliding: boolean; layers: number }> {
  const out = [{ sliding: false, layers: shape.layers - shape.slidingLayers }];
  if (shape.slidingLayers > 0) out.push({ sliding: true, layers: shape.slidingLayers });
  return out.filter((k) => k.layers > 0);
}

/**
 * The decode attention core of a step: `sequences` sequences each add one query
 * token and read their caches, `contextTokens` tokens in all. GQA: the g = heads/kvHeads
 * query heads of a group share one K and V, so each matmul has g rows per sequence and
 * KV head; FLOPs are 2·heads·(headDim + valueDim) per cached token. MLA (absorbed):
 * all heads read the one (latent + rope)-wide cache; FLOPs are
 * 2·heads·(latent + rope + latent) per cached token. Sliding layers read at most the
 * window per sequence (applied to the mean context).
 *
 * @example
 * decodeAttentionCalls(gqaShape({ hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, layers: 80 }), { sequences: 2, contextTokens: 2000, dtype: 'bf16' })[0].flops
 * // => 4 × 64 × 128 × 2000
 */
export function decodeAttentionCalls(shape: AttentionShape, opts: { sequences: number; contextTokens: number; dtype: Dtype }): AttentionCoreCall[] {
  const a = checkAttentionShape(shape);
  const D = checkInt('sequences', opts.sequences, { min: 0, max: MAX_TOKENS });
  const C = checkNumber('contextTokens', opts.contextTokens, { min: 0, max: MAX_TOKENS * MAX_TOKENS });
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  if (D === 0 && C > 0) throw new InputError('contextTokens', C, '0 when sequences is 0');
  if (D === 0 || C === 0) return [];
  const s = DTYPE_BYTES[dtype];
  const cbar = C / D;
  return layerKinds(a).map(({ sliding, layers }) => {
    const ctx = sliding && a.slidingWindow !== null ? Math.min(cbar, a.slidingWindow) : cbar;
    const total = ctx * D;
    if (a.mla) {
      const lat = a.mla.latentDim + a.mla.ropeDim;
      return {
        phase: 'decode' as const,
        sliding,
        layers,
        score: { m: a.heads, k: lat, n: ctx, dtype, batch: D },
        value: { m: a.heads, k: ctx, n: a.mla.latentDim, dtype, batch: D },
        flops: 2 * a.heads * (lat + a.mla.latentDim) * total,
        kvBytes: lat * total * s,
        activationBytes: D * a.heads * (lat + a.mla.latentDim) * s,
      };
    }
    const g = a.heads / a.kvHeads;
    return {
      phase: 'decode' as const,
      sliding,
      layers,
      score: { m: g, k: a.headDim, n: ctx, dtype, batch: a.kvHeads * D },
      value: { m: g, k: ctx, n: a.valueDim, dtype, batch: a.kvHeads * D },
      flops: 2 * a.heads * (a.headDim + a.valueDim) * total,
      kvBytes: a.kvHeads * (a.headDim + a.valueDim) * total * s,
      activationBytes: D * a.heads * (a.headDim + a.valueDim) * s,
    };
  });
}

/**
 * The prefill attention core of a step: `tokens` prompt tokens in `sequences` prompts
 * (or prompt chunks). FLOPs follow the causal query–key pairs: 2·heads·(headDim +
 * valueDim) per pair, so k prompts cost k single prompts and a chunk pays for the
 * earlier chunks it attends to. `pairs` is the exact sum of
 * `prefillAttentionPairs(chunk, offset)` over the chunks; without it the prompts are
 * taken as equal and starting from an empty cache. Sliding layers see at most the
 * window: with `pairs` given they are priced at min(pairs, tokens·window), exact for
 * chunks wholly past the window and an upper bound otherwise. Bytes are each new
 * token's query, key, value and output once (re-reading earlier chunks' keys is not
 * in the pair count and is left out).
 *
 * @example
 * prefillAttentionCalls(shape, { tokens: 512, sequences: 4, dtype: 'bf16' })[0].flops
 * // => 2 · heads · (headDim + valueDim) · 4 · (128·129/2)
 */
export function prefillAttentionCalls(
  shape: AttentionShape,
  opts: { tokens: number; sequences?: number; pairs?: number; dtype: Dtype },
): AttentionCoreCall[] {
  const a = checkAttentionShape(shape);
  const P = checkInt('tokens', opts.tokens, { min: 0, max: MAX_TOKENS });
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  if (P === 0) {
    if (opts.pairs !== undefined && opts.pairs !== 0) throw new InputError('prefillAttentionPairs', opts.pairs, '0 or absent when there are no prefill tokens');
    return [];
  }
  const S = checkPrefillSequences(opts.sequences, P);
  // Each token sees at least itself; a token can see at most the longest context there is.
  const pairs = opts.pairs === undefined ? undefined : checkNumber('prefillAttentionPairs', opts.pairs, { min: P, max: P * MAX_TOKENS });
  const s = DTYPE_BYTES[dtype];
  const g = a.heads / a.kvHeads;
  const Lp = P / S;
  return layerKinds(a).map(({ sliding, layers }) => {
    const w = sliding ? a.slidingWindow : null;
    const pr = pairs === undefined ? S * windowedCausalPairs(Lp, w) : w === null ? pairs : Math.min(pairs, P * w);
    return {
      phase: 'prefill' as const,
      sliding,
      layers,
      score: { m: g * Lp, k: a.headDim, n: pr / P, dtype, batch: a.kvHeads * S },
      value: { m: g * Lp, k: pr / P, n: a.valueDim, dtype, batch: a.kvHeads * S },
      flops: 2 * a.heads * (a.headDim + a.valueDim) * pr,
      kvBytes: a.kvHeads * (a.headDim + a.valueDim) * P * s,
      activationBytes: P * a.heads * (a.headDim + a.valueDim) * s,
    };
  });
}

function total(calls: AttentionCoreCall[]): AttentionCost {
  const c = { flops: 0, kvBytes: 0, activationBytes: 0, bytes: 0 };
  for (const x of calls) {
    c.flops += x.flops * x.layers;
    c.kvBytes += x.kvBytes * x.layers;
    c.activationBytes += x.activationBytes * x.layers;
  }
  c.bytes = c.kvBytes + c.activationBytes;
  return c;
}

/**
 * Attention FLOPs and bytes of one decode token of one sequence with `context`
 * cached tokens, over all layers. A batch's decode attention is the sum over its
 * sequences: it grows with every sequence's context, unlike weight reads.
 *
 * @example
 * decodeAttentionCost(llama70b, { context: 1, dtype: 'bf16' }).kvBytes // => 327680 (its KV bytes per token)
 */
export function decodeAttentionCost(shape: AttentionShape, opts: { context: number; dtype: Dtype }): AttentionCost {
  const context = checkNumber('context', opts.context, { min: 0, exclusiveMin: true, max: MAX_TOKENS });
  return total(decodeAttentionCalls(shape, { sequences: 1, contextTokens: context, dtype: opts.dtype }));
}

/**
 * Attention FLOPs and bytes of prefilling a chunk of `tokens` prompt tokens after
 * `offset` tokens of the same prompt already cached, over all layers. Chunks of a
 * prompt sum exactly to the prompt in one piece (FLOPs and bytes).
 *
 * @example
 * prefillAttentionCost(shape, { tokens: 4096, dtype: 'bf16' }).flops
 * // === prefillAttentionCost(shape, { tokens: 2048, dtype: 'bf16' }).flops + prefillAttentionCost(shape, { tokens: 2048, offset: 2048, dtype: 'bf16' }).flops
 */
export function prefillAttentionCost(shape: AttentionShape, opts: { tokens: number; offset?: number; dtype: Dtype }): AttentionCost {
  const tokens = checkInt('tokens', opts.tokens, { min: 1, max: MAX_TOKENS });
  const offset = checkInt('offset', opts.offset ?? 0, { min: 0, max: MAX_TOKENS });
  const a = checkAttentionShape(shape);
  const calls: AttentionCoreCall[] = [];
  const full = a.layers - a.slidingLayers;
  if (full > 0) calls.push(...prefillAttentionCalls({ ...a, layers: full, slidingLayers: 0 }, { tokens, pairs: prefillAttentionPairs(tokens, offset), dtype: opts.dtype }));
  if (a.slidingLayers > 0) {
    // The chunk's own windowed pairs: what the prompt up to its end covers minus what its earlier chunks did.
    const w = a.slidingWindow as number;
    const pairs = windowedCausalPairs(offset + tokens, w) - windowedCausalPairs(offset, w);
    calls.push(...prefillAttentionCalls({ ...a, layers: a.slidingLayers }, { tokens, pairs, dtype: opts.dtype }));
  }
  return total(calls);
}
