/**
 * Contracts shared by every model in batchlab. A cost function is pluggable: the
 * roofline of a catalog hardware spec (lib/roofline) or a model fitted to this
 * machine's GEMM measurements (lib/cost/fit) both implement MatmulCostModel, and a
 * serving simulator only ever sees a StepCostFn built from one of them.
 */

/**
 * Element types a cost can be asked for. 'nvfp4' is NVIDIA's block-scaled 4-bit float
 * (Blackwell's FP4 tensor cores): E2M1 values with one FP8 (E4M3) scale per 16 of them.
 */
export type Dtype = 'fp32' | 'tf32' | 'bf16' | 'fp16' | 'fp8' | 'int8' | 'nvfp4';
/** Every element type batchlab prices, in `DTYPE_BYTES` order of width. */
export const DTYPES: readonly Dtype[] = ['fp32', 'tf32', 'bf16', 'fp16', 'fp8', 'int8', 'nvfp4'];

/**
 * Bytes per element of each dtype. NVFP4 stores two 4-bit values per byte and one FP8
 * scale per 16 values: 0.5 + 1/16 = 0.5625 bytes (NVIDIA NeMo AutoModel, nemo_automodel
 * quantization/nvfp4: "0.5625 bytes per parameter plus 4 bytes per row", the per-row FP32
 * scale left out here).
 */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = { fp32: 4, tf32: 4, bf16: 2, fp16: 2, fp8: 1, int8: 1, nvfp4: 0.5625 };

/** X[m×k] · W[k×n], repeated `batch` times over independent operands (default 1). */
export interface MatmulShape {
  m: number;
  k: number;
  n: number;
  /** The compute dtype, and the element type of X, Y and (unless `wDtype` says otherwise) W. */
  dtype: Dtype;
  batch?: number;
  /**
   * The element type W is stored and read in, when it is not `dtype`: the attention
   * core's keys and values from an FP8 KV cache under BF16 attention (the kernel loads
   * them narrow and computes at `dtype`). Its k·n elements move at these bytes. Default `dtype`.
   */
  wDtype?: Dtype;
}

/** Seconds for one matmul shape. */
export interface MatmulCostModel {
  readonly kind: 'roofline' | 'fitted';
  /** Human-readable origin, e.g. "H100 SXM spec roofline" or "fitted to tensorflow on host-a, 2026-11-28". */
  readonly label: string;
  matmulSeconds(shape: MatmulShape): number;
}

/** The work of one engine step: one forward pass over whatever the scheduler batched. */
export interface StepWork {
  /** Prompt tokens processed this step (prefill, possibly chunked). */
  prefillTokens: number;
  /** Sequences that each produce one output token this step. */
  decodeTokens: number;
  /** KV-cache tokens read by attention this step, summed over the decoding sequences. */
  contextTokens: number;
  /**
   * Prompts (or prompt chunks) the prefill tokens belong to (default 1). k prompts
   * prefilled together cost k single-prompt prefills, not one prompt k times as long.
   * A number that is not whole is the mean of a steady state that prefills whole prompts
   * of `prefillTokens / prefillSequences` tokens (0.096: one prompt every 10.4 steps).
   */
  prefillSequences?: number;
  /**
   * Query–key pairs the step's causal prefill attention covers, summed over its prompt
   * chunks: a chunk of c tokens after o tokens of the same prompt already cached covers
   * `prefillAttentionPairs(c, o)` = c·o + c·(c+1)/2. When absent, the prefill tokens are
   * taken as `prefillSequences` equal prompts starting from an empty cache.
   */
  prefillAttentionPairs?: number;
}

/** Seconds for one engine step. Must be positive, finite and non-decreasing in each field. */
export type StepCostFn = (work: StepWork) => number;

/**
 * The parameters of a roofline fitted to real measurements (lib/cost): time is
 * overhead + max(flops / peakFlops, bytes / bytesPerSecond), possibly smoothed.
 * A hardware entry for "this machine" and the fitted MatmulCostModel both read it.
 */
export interface FittedRoofline {
  /** Fixed per-call cost: dispatch, kernel launch, synchronisation. */
  overheadSeconds: number;
  /** Effective compute peak reached by large matmuls. */
  peakFlopsPerSecond: number;
  /** Effective bandwidth for weight and activation traffic. */
  bytesPerSecond: number;
  dtype: Dtype;
  /** Backend, device, host and date of the sweep it was fitted to. */
  label: string;
}
