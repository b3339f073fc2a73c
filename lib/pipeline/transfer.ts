import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import type { Dtype } from '../core/types.js';
import { checkInt, checkOneOf, checkPositive } from '../util/validate.js';

/** Options of `pipelineTransferSeconds`. */
export interface PipelineTransferOptions {
  /** Tokens of the micro-batch whose hidden states move to the next stage. */
  tokens: number;
  /** Hidden size of the model (the width of one token's hidden state). */
  hiddenSize: number;
  /** Link bandwidth between the two stages, bytes per second (e.g. a hardware spec's intraNodeBytesPerSecond). */
  bytesPerSecond: number;
  /**
   * Element type of the hidden states on the wire; default bf16, since deployments
   * that run their matmuls in fp8 still keep the residual stream between layers in
   * bf16 (DeepSeek-V3 technical report, §3.3, mixed-precision framework).
   */
  dtype?: Dtype;
}

/**
 * Seconds to hand one micro-batch's hidden states from one pipeline stage to the
 * next: tokens · hiddenSize · bytes per element / link bandwidth (bandwidth-bound;
 * the link's latency is left out, microseconds against a layer's milliseconds).
 *
 * @example
 * pipelineTransferSeconds({ tokens: 8, hiddenSize: 7168, bytesPerSecond: 900e9 }) // => 1.274e-7 (8·7168·2 B over 900 GB/s)
 */
export function pipelineTransferSeconds(opts: PipelineTransferOptions): number {
  const tokens = checkInt('tokens', opts.tokens, { min: 0, max: 1 << 24 });
  const hidden = checkInt('hiddenSize', opts.hiddenSize, { min: 1, max: 1 << 20 });
  const bw = checkPositive('bytesPerSecond', opts.bytesPerSecond);
  const dtype = checkOneOf('dtype', opts.dtype ?? 'bf16', DTYPES);
  return (tokens * hidden * DTYPE_BYTES[dtype]) / bw;
}
