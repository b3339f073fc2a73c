import { DTYPE_BYTES } from './types.js';
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
 * Bytes a matmul must move at least: read X and W, write Y, once each.
 *
 * @example
 * matmulBytes(1, 4096, 4096, 'bf16') // => 33570816
 */
export function matmulBytes(m: number, k: number, n: number, dtype: Dtype, batch = 1): number {
  return DTYPE_BYTES[dtype] * (m * k + k * n + m * n) * batch;
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
