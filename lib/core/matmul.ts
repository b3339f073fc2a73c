import { DTYPE_BYTES } from './types.js';
import { InputError } from '../util/errors.js';
import type { Dtype } from './types.js';

/**
 * Floating-point operations of X[m×k]·W[k×n], `batch` times: 2·m·k·n per product.
 * The one place batchlab counts matmul FLOPs.
 *
 * @example
 * matmulFlops(2, 3, 4) // => 48
 */
export function matmulFlops(m: number, k: number, n: number, batch = 1): number {
  return 2 * m * k * n * batch;
}

/**
 * Bytes a matmul must move at least: read X and W, write Y, once each. W may be
 * stored in a narrower `wDtype` than X and Y (an FP8 KV cache read by BF16 attention).
 *
 * @example
 * matmulBytes(1, 4096, 4096, 'bf16') // => 33570816
 * matmulBytes(1, 4096, 4096, 'bf16', 1, 'fp8') // => 16793600 (W at one byte, X and Y at two)
 */
export function matmulBytes(m: number, k: number, n: number, dtype: Dtype, batch = 1, wDtype: Dtype = dtype): number {
  if (wDtype === dtype) return DTYPE_BYTES[dtype] * (m * k + k * n + m * n) * batch;
  return (DTYPE_BYTES[dtype] * (m * k + m * n) + DTYPE_BYTES[wDtype] * k * n) * batch;
}

/**
 * Bytes of the weight matrices alone: what a decode step streams from memory.
 *
 * @example
 * matmulWeightBytes(4096, 4096, 'fp8') // => 16777216
 */
export function matmulWeightBytes(k: number, n: number, dtype: Dtype, batch = 1): number {
  return DTYPE_BYTES[dtype] * k * n * batch;
}

/**
 * Query–key pairs of causal attention for a chunk of `chunk` new tokens whose prompt
 * already has `offset` tokens cached: each new token attends to the cached ones and to
 * the new ones up to itself. Summing it over chunks gives the whole prompt's pairs, so
 * chunked prefill is priced like the prompt in one piece.
 *
 * @example
 * prefillAttentionPairs(4, 0) // => 10
 * prefillAttentionPairs(2, 2) + prefillAttentionPairs(2, 0) // => 10
 */
export function prefillAttentionPairs(chunk: number, offset = 0): number {
  return chunk * offset + (chunk * (chunk + 1)) / 2;
}

/**
 * The prompts a step's `prefillTokens` belong to (`StepWork.prefillSequences`), checked:
 * a number in (0, prefillTokens], default 1. A whole number is that many prompts or
 * chunks; any other is the mean of a steady state that prefills whole prompts of
 * `prefillTokens / prefillSequences` tokens (0.096: one prompt every 10.4 steps).
 * Anything else is an InputError naming the field.
 *
 * @example
 * checkPrefillSequences(undefined, 512) // => 1
 * checkPrefillSequences(0.096, 96) // => 0.096 (a 1000-token prompt every 10.4 steps)
 */
export function checkPrefillSequences(value: unknown, prefillTokens: number): number {
  const v = value ?? 1;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= prefillTokens) return v;
  throw new InputError('prefillSequences', value, `a number in (0, ${prefillTokens}]: whole prompts or chunks, or the mean number of whole prompts a steady-state step holds`);
}
