import type { Dtype } from '../core/types.js';
import type { HardwareSpec } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';

import type { KernelUsage } from '../roofline/kernel-step.js';
import type { EplbLoad, ExpertRouting, MemoryFit } from '../roofline/deployment.js';

/**
 * Element types per tensor class: DeepSeek serves with FP8 matmul weights and FP8
 * dispatch, but BF16 attention (MLA core and KV cache) and BF16 combine. The coarse
 * form of the roofline's Precision (lib/roofline/deployment.ts), mapped by
 * `precisionOfClasses`: weights → weights and compute, attention → activations (and
 * kvCache unless `kvCache` says otherwise), kvCache → kvCache, dispatch → dispatch,
 * combine → combine.
 */
export interface DeploymentPrecision {
  /** Weights and activations of every linear layer (attention projections, FFNs, experts). */
  weights: Dtype;
  /** The attention core, and the KV cache unless `kvCache` is given. */
  attention: Dtype;
  /**
   * The KV cache, when it is stored narrower (or wider) than the attention core computes:
   * an FP8 cache under BF16 attention is vLLM's and SGLang's `--kv-cache-dtype fp8` and
   * TensorRT-LLM's FP8 KV cache (the kernel reads FP8 keys and values and computes in
   * BF16). Default: `attention`.
   */
  kvCache?: Dtype;
  /**
   * The math of the linear layers where the weights are stored narrower and widened inside
   * the kernel (weight-only quantization: 4-bit weights with 16-bit math, W4A16, as Hopper
   * runs MXFP4 or NVFP4 checkpoints, which it has no 4-bit tensor cores for). Default: `weights`.
   */
  compute?: Dtype;
  /** Tokens sent to their experts (all-to-all dispatch). */
  dispatch: Dtype;
  /** Expert outputs sent back (all-to-all combine). */
  combine: Dtype;
}

/**
 * How one pool of devices is laid out. A serving unit is
 * `tensorParallel × dataParallelAttention × pipelineParallel` devices; with expert
 * parallelism the routed experts of each pipeline stage are spread over the
 * `expertParallel` devices of the stage (which must then equal
 * `tensorParallel × dataParallelAttention`), and each data-parallel attention rank
 * runs its own batch.
 */
export interface PoolLayout {
  /** Devices per node (the NVLink domain). */
  gpusPerNode: number;
  tensorParallel: number;
  /** Attention ranks, each with its own batch of sequences (DeepSeek: DP32 prefill, DP144 decode). */
  dataParallelAttention: number;
  pipelineParallel: number;
  /** Devices the routed experts of one stage are spread over; 1 = every device holds every expert. */
  expertParallel: number;
  /** Extra replicas of hot experts (DeepSeek: 32); they balance the load across devices. */
  redundantExperts: number;
  /**
   * Routed experts per device; default (experts + redundant) / expertParallel. More
   * than the model has is an error.
   */
  routedExpertsPerDevice?: number;
  /** Two micro-batches overlap one's communication with the other's computation. */
  microBatchOverlap: boolean;
}
// PoolLayout is the deployment form of the roofline's Parallelism, mapped by
// `layoutParallelism` (layout.ts): tensorParallel → tp, dataParallelAttention → dp,
// expertParallel → ep, pipelineParallel → pp, gpusPerNode → devicesPerNode,
// microBatchOverlap → overlap; redundantExperts and routedExpertsPerDevice enter the
// model as its expertLoadFactor, or, under expertRouting 'eplb', redundantExperts as the
// copies the placement model balances over. Both stay: renaming every layout of data/ and bin/ is
// not worth one vocabulary.

/** The work of one step on one attention rank (one data-parallel batch). */
export interface DeviceStepInput {
  /** Prompt tokens computed this step (cache hits excluded). */
  prefillTokens: number;
  /** Prompts those tokens belong to (default 1 when prefillTokens > 0). */
  prefillSequences?: number;
  /** Tokens of each prompt already in the KV cache (prefix-cache hits), mean (default 0). */
  prefillCachedTokens?: number;
  /**
   * Keys each computed prompt token attends to, mean over computed tokens. Default: as if
   * every prompt had the mean computed and cached tokens; a prompt mix's spread makes it
   * larger (promptMixStats in lib/attention).
   */
  prefillAttentionPairsPerToken?: number;
  /** Sequences decoding this step. */
  decodeSequences: number;
  /** Mean tokens in each decoding sequence's KV cache. */
  decodeContext: number;
  /** Tokens each decoding sequence verifies per step: 1, or 1 + speculative drafts (default 1). */
  decodeTokensPerSequence?: number;
}

/** Where the seconds of one step go, on the busiest device of a rank. */
export interface DeviceStepBreakdown {
  /** Linear layers (projections, dense FFN, shared experts, router, LM head). */
  linearSeconds: number;
  /** The attention core. */
  attentionSeconds: number;
  /** Routed experts held by this device. */
  expertSeconds: number;
  /** All-to-all dispatch and combine, tensor-parallel all-reduce, pipeline sends. */
  communicationSeconds: number;
  /** The step: compute + communication, or their max with micro-batch overlap. */
  seconds: number;
  /** With a kernel-database framework: which table rows (or which model) priced the step. */
  kernels?: KernelUsage[];
  /** With a kernel-database framework: the step's kernel and collective seconds before overlap, and those table rows priced (`StepTime.fromTables`). */
  fromTables?: { tableSeconds: number; opSeconds: number };
  /** Under EPLB: the placement model's load factor that priced the step's busiest expert device, and its routing sample. */
  expertLoad?: EplbLoad;
}

/**
 * The per-device performance model the deployment layer stands on: the seconds of
 * one step of one attention rank under a layout and precision. Swappable, so a
 * calibrated model replaces the spec roofline without touching the cost and search code.
 */
export interface DeviceStepModel {
  readonly label: string;
  step(input: DeviceStepInput): DeviceStepBreakdown;
  /** Bytes each device holds for weights and for one decoding sequence's KV cache at `context` tokens. */
  memory(context: number): { weightBytes: number; kvBytesPerSequence: number; capacityBytes: number };
  /**
   * `memoryFit` (lib/roofline) of `sequences` decoding sequences per attention rank at
   * `context` tokens each: weights, KV cache and activations against the capacity. The
   * one memory fit every pool check asks.
   */
  fit(sequences: number, context: number): MemoryFit;
}

/** Which pool a step model is built for: prefill and decode may run different kernels. */
export type PoolRole = 'prefill' | 'decode';

/** What a pool's step model may be told beyond its layout. */
export interface StepModelExtras {
  /** Busiest expert device's routed tokens over the mean (default 1: perfectly balanced). */
  expertLoadFactor?: number;
  /** How tokens reach the experts (PerfConfig `parallelism.expertRouting`); 'eplb' balances them over the layout's redundant copies, the placement model giving the load factor. */
  expertRouting?: ExpertRouting;
  /** Share of each device's memory for weights and KV cache (PerfConfig `memoryFraction`), e.g. an engine preset's rule; absent: batchlab's default. The model's `fit` reports against it. */
  memoryFraction?: number;
}

/** Builds the per-device performance model of one pool. */
export type StepModelFactory = (model: ModelSpec, hw: HardwareSpec, layout: PoolLayout, precision: DeploymentPrecision, role: PoolRole, extras?: StepModelExtras) => DeviceStepModel;
