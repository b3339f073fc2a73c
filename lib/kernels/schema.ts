/**
 * The kernel database's row schema. A table holds measured seconds of one kernel
 * family (an "op") on one device under one serving framework version; every row is one
 * measured shape. Tables live at `<root>/<device>/<framework>/<version>/<op>.csv[.gz]`,
 * one header line naming the op's columns plus `time_us`.
 *
 * Each op names its categorical keys (matched exactly: dtypes, head dim, collective)
 * and its numeric axes (interpolated in log space, outermost first).
 */

/** Kernel families the database prices. */
export type KernelOp =
  | 'gemm'
  | 'context_attention'
  | 'generation_attention'
  | 'mla_context'
  | 'mla_generation'
  | 'mla_bmm'
  | 'moe'
  | 'allreduce'
  | 'nccl'
  | 'compute_scale'
  | 'scale_matrix'
  | 'wideep_moe'
  | 'deepep_normal'
  | 'deepep_ll';

/** Every KernelOp, in the order tables are listed. */
export const KERNEL_OPS: readonly KernelOp[] = [
  'gemm',
  'context_attention',
  'generation_attention',
  'mla_context',
  'mla_generation',
  'mla_bmm',
  'moe',
  'allreduce',
  'nccl',
  'compute_scale',
  'scale_matrix',
  'wideep_moe',
  'deepep_normal',
  'deepep_ll',
];

/** What kind of number a kernel-database answer is. */
export type KernelAnswerKind = 'measured' | 'interpolated' | 'extrapolated' | 'bound';

/** Columns of one op's table: categorical keys, then numeric axes (outermost first). */
export interface KernelOpSchema {
  /** Matched exactly (strings, or integers such as head_dim). */
  keys: readonly string[];
  /** Interpolated in log space; all positive integers or sizes. */
  axes: readonly string[];
  /** Key columns holding numbers (validated as positive integers; the rest are strings). */
  numericKeys: readonly string[];
}

/**
 * The schema of every op. Dimensions follow NVIDIA aiconfigurator's tables
 * (aic-core/src/aiconfigurator_core/systems/data): attention heads are per device
 * (after tensor parallelism), `context` is the KV length a decode step reads,
 * collective `bytes` is the message one rank contributes, `scope` 'intra' or 'inter' node.
 * `compute_scale` (an activation's per-tensor amax and scale) and `scale_matrix` (its
 * conversion to the `dtype`) are the two quantize passes over an `m`×`k` activation that a
 * GEMM with dynamic FP8 activations runs and one with static scales does not.
 * MLA rows are filed under the heads on one device alone, whatever tensor parallelism
 * they were collected at (their `tp` column is provenance), and a decode kernel's under
 * its KV dtype alone, as aiconfigurator's loaders file them
 * (aic-core/rust/aiconfigurator-core/src/perf_database/mla.rs:865-989, commit 095f58a5).
 * `moe` rows name the routing `distribution` the kernel was timed under ('balanced',
 * 'power_law_1.01', ...) and `tokens`, the tokens entering one MoE layer before dispatch
 * (all attention data-parallel ranks' together). `mla_bmm` holds MLA's absorbed per-head
 * decode matmuls, `phase` 'pre' (query · W_UK) or 'post' (output · W_UV), at exact head
 * counts per device (`heads` is a key: aiconfigurator never interpolates it).
 *
 * The wide-EP tables price a large expert-parallel layout (aiconfigurator's MoEExpertCompute
 * and MoEAllToAll ops; aic-core/src/aiconfigurator_core/sdk/models/blocks/moe.py:520-652,
 * commit 095f58a5). `wideep_moe`: one expert-parallel rank's routed-expert compute, one whole
 * expert per device, at the `tokens` entering the layer (all attention data-parallel ranks'),
 * `phase` 'context' or 'generation'; its shape walk is exact, only tokens interpolate
 * (perf_database/moe_expert_compute.rs:337-394). `deepep_normal` (prefill) and `deepep_ll`
 * (decode): one DeepEP dispatch or combine (`phase`) of `tokens` per rank over `nodes` 8-GPU
 * nodes (`ep` = nodes · 8), the normal kernels at an SM budget `sms` (perf_database/moe_a2a.rs:1-50).
 * A row of these tables may carry the framework version it was measured under (`version`
 * column, the source file's own) where aiconfigurator reads it from an earlier version's
 * folder, and the device folder whose GPU measured it (`measured_on`) where that is not
 * the folder it is filed under.
 */
export const KERNEL_SCHEMA: Readonly<Record<KernelOp, KernelOpSchema>> = {
  gemm: { keys: ['dtype'], axes: ['n', 'k', 'm'], numericKeys: [] },
  context_attention: { keys: ['dtype', 'kv_dtype', 'kv_heads', 'head_dim'], axes: ['heads', 'prompt', 'batch'], numericKeys: ['kv_heads', 'head_dim'] },
  generation_attention: { keys: ['dtype', 'kv_dtype', 'kv_heads', 'head_dim'], axes: ['heads', 'context', 'batch'], numericKeys: ['kv_heads', 'head_dim'] },
  mla_context: { keys: ['dtype', 'kv_dtype'], axes: ['heads', 'prompt', 'batch'], numericKeys: [] },
  mla_generation: { keys: ['kv_dtype'], axes: ['heads', 'context', 'batch'], numericKeys: [] },
  mla_bmm: { keys: ['dtype', 'phase', 'heads'], axes: ['tokens'], numericKeys: ['heads'] },
  moe: { keys: ['dtype', 'distribution', 'experts', 'topk', 'tp', 'ep'], axes: ['hidden', 'inter', 'tokens'], numericKeys: ['experts', 'topk', 'tp', 'ep'] },
  allreduce: { keys: ['dtype', 'scope'], axes: ['ranks', 'bytes'], numericKeys: [] },
  nccl: { keys: ['collective', 'dtype', 'scope'], axes: ['ranks', 'bytes'], numericKeys: [] },
  compute_scale: { keys: ['dtype'], axes: ['k', 'm'], numericKeys: [] },
  scale_matrix: { keys: ['dtype'], axes: ['k', 'm'], numericKeys: [] },
  wideep_moe: { keys: ['dtype', 'distribution', 'phase', 'experts', 'topk', 'hidden', 'inter', 'ep'], axes: ['tokens'], numericKeys: ['experts', 'topk', 'hidden', 'inter', 'ep'] },
  deepep_normal: { keys: ['phase', 'nodes', 'ep', 'hidden', 'topk', 'experts', 'sms'], axes: ['tokens'], numericKeys: ['nodes', 'ep', 'hidden', 'topk', 'experts', 'sms'] },
  deepep_ll: { keys: ['phase', 'nodes', 'ep', 'hidden', 'topk', 'experts'], axes: ['tokens'], numericKeys: ['nodes', 'ep', 'hidden', 'topk', 'experts'] },
};

/** Where a row was read: a file and its 1-based line (the header is line 1). */
export interface KernelRowSource {
  file: string;
  line: number;
}

/** One measured kernel time. */
export interface KernelRow {
  device: string;
  framework: string;
  version: string;
  op: KernelOp;
  /** The op's key and axis columns (see KERNEL_SCHEMA). */
  dims: Readonly<Record<string, string | number>>;
  /** The element type of the kernel's inputs (the `dtype` key). */
  dtype: string;
  /** Measured microseconds per call. */
  timeUs: number;
  /**
   * The framework version the row was measured under, where its table names one (a `version`
   * column) other than its folder's: aiconfigurator reads some tables from earlier versions.
   */
  measuredVersion?: string;
  /**
   * The device folder whose GPU measured the row, where its table names one (a `measured_on`
   * column) other than the folder it is filed under: aiconfigurator files some H100 SXM
   * DeepEP rows under h200_sxm (scripts/kernel-db-from-aiconfigurator.mjs, FILED_COPIES).
   */
  measuredOn?: string;
  source: KernelRowSource;
}

/** A kernel time and what it rests on. */
export interface KernelAnswer {
  seconds: number;
  kind: KernelAnswerKind;
  /** The measured rows it was read or interpolated from (none for a bound). */
  rows: readonly KernelRow[];
  /** The table file it came from, or the datasheet it is bounded by. */
  from: string;
}
