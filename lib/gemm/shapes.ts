import { checkInt } from '../util/validate.js';

/** Largest size of one matmul dimension the harness accepts. */
export const MAX_GEMM_DIM = 1 << 20;

/**
 * Batch sizes for a sweep: powers of two from 1 to `max`, and, with `between`, the
 * point 1.5× each power of two (3, 6, 12, …) so that a knee between two powers shows.
 *
 * @example
 * gemmBatchSizes(16) // => [1, 2, 3, 4, 6, 8, 12, 16]
 * gemmBatchSizes(16, { between: false }) // => [1, 2, 4, 8, 16]
 */
export function gemmBatchSizes(max = 4096, opts: { between?: boolean } = {}): number[] {
  checkInt('max', max, { min: 1, max: MAX_GEMM_DIM });
  const out: number[] = [];
  for (let p = 1; p <= max; p *= 2) {
    out.push(p);
    const mid = p + p / 2;
    if ((opts.between ?? true) && p >= 2 && mid <= max && mid < 2 * p) out.push(mid);
  }
  return out;
}

// The matmul counts live in lib/core; the harness keeps its historical names.
export { matmulFlops as gemmFlops, matmulBytes as gemmBytes, matmulWeightBytes as gemmWeightBytes } from '../core/matmul.js';

/** Validates one dimension, naming it in the error. */
export function checkDim(field: string, v: unknown): number {
  return checkInt(field, v, { min: 1, max: MAX_GEMM_DIM });
}
