import type { Dtype, MatmulCostModel, StepCostFn, StepWork } from '../core/types.js';
import { checkPrefillSequences } from '../core/matmul.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkKnownKeys, checkNumber, checkOneOf } from '../util/validate.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { hardwarePeakFlops, THIS_MACHINE, USABLE_MEMORY_FRACTION } from '../hardware/spec.js';
import { measuredMatmulCostForMachine } from '../cost/table.js';
import type { ModelSpec } from '../models/spec.js';
import type { ModelOperation } from '../models/ops.js';
import { modelStepOps } from '../models/ops.js';
import { kvCacheBytesPerSequence, paramCounts } from '../models/params.js';
import type { HardwareCalibration } from '../perf/calibration.js';
import { calibrationGemmEfficiency, SPEC_CALIBRATION, TYPICAL_CALIBRATION } from '../perf/calibration.js';
import { rooflineSeconds, smallestTrue } from '../perf/bound.js';
import { gemmComputeSeconds } from '../perf/gemm.js';
import type { Link } from '../perf/collective.js';
import { linkSeconds, ringAllReduceSeconds } from '../perf/collective.js';
import { fractionalMatmulSeconds } from './matmul.js';
import type { KernelAnswer } from '../kernels/schema.js';
import type { KernelDb } from '../kernels/load.js';
import { defaultKernelDb } from '../kernels/load.js';
import type { KernelPricer } from '../kernels/pricer.js';
import { kernelFrameworksOf, kernelPricer } from '../kernels/pricer.js';
import type { GroupWork, KernelUsage } from './kernel-step.js';
import { EXPERT_ALL_TO_ALLS, KernelTally, NO_WIDE_EP_MOE_TABLE, eplbNote, eplbTableGap, keepsSixteenBitWeights, kernelWeightDtype, kernelOpSeconds, largeExpertParallel, sharedExpertsOverlapRouted, wideEpLayoutGap } from './kernel-step.js';
import type { ExpertAllToAll } from './kernel-step.js';
import { ROUTING_SAMPLE_MAX_TOKENS, uniformRoutingLoadFactor } from './routing.js';

/**
 * How a model is spread over devices. One instance serves one step on
 * `tp · dp · pp` devices: each of the `pp` pipeline stages holds a slice of the layers
 * and `tp · dp` devices; within a stage, `dp` attention groups of `tp` devices each run
 * attention and the dense layers on their own share of the sequences, and the routed
 * experts of every MoE layer are spread over `ep` of the stage's devices.
 */
export interface Parallelism {
  /** Tensor-parallel degree of attention and dense layers (default 1): each device holds 1/tp of every weight's output columns. */
  tp?: number;
  /** Data-parallel attention groups per stage (default 1): the busiest group (⌈sequences/dp⌉) sets the step. */
  dp?: number;
  /**
   * Expert-parallel degree (default 1): the routed experts are spread over `ep` devices,
   * and each expert is tensor-parallel over the stage's remaining (tp·dp)/ep devices.
   * With ep = dp = 1 an MoE layer is plain tensor parallelism (all-reduce, no all-to-all).
   */
  ep?: number;
  /** Pipeline stages (default 1): layers split evenly, activations sent point-to-point between stages. */
  pp?: number;
  /** Devices per node (default 8): a collective spanning more devices crosses the inter-node network. */
  devicesPerNode?: number;
  /**
   * How dispatch reaches a token's experts: 'per-expert' sends one copy per routed
   * expert (DeepEP's low-latency kernels, decode); 'per-node' sends one copy per
   * distinct remote node and forwards inside the node (DeepEP's normal kernels, prefill).
   * Default 'per-expert'.
   */
  dispatch?: 'per-expert' | 'per-node';
  /** At most this many nodes per token (DeepSeek-V3's group-limited routing: 4); default: no limit. */
  maxNodesPerToken?: number;
  /**
   * Overlap communication with computation over two micro-batches of half the work
   * each (default false). What full overlap hides depends on the step: in a decode step
   * with 'per-expert' dispatch (DeepEP's low-latency kernels, which hold no compute units)
   * each MoE layer's dispatch and combine hide only behind the compute of their stage of
   * DeepSeek's and SGLang's decode schedule (`decodeScheduleExposed`), and tensor-parallel
   * all-reduces run on the compute lane, never hidden; otherwise (prefill, or 'per-node'
   * normal kernels, which hold some units) the shorter of the whole step's computation and
   * communication hides, computation slowed by the units communication holds. `true` hides the calibration's `overlapEfficiency` share of that (all of it at
   * the datasheet, efficiency 'spec'); a number in [0, 1] hides that fraction of it.
   */
  overlap?: boolean | number;
  /**
   * Busiest expert device's tokens over the mean (default 1: balanced routing). Take it
   * from the MoE placement tools (`moeLoadImbalance`, `moeImbalanceSweep`). The
   * performance model's imbalance only: where an MoE table prices the routed experts,
   * the routing distribution its rows were measured under carries the imbalance
   * (`expertRouting`), and this factor is not applied on top of it. Absent under
   * `expertRouting: 'eplb'`, where the placement model gives it.
   */
  expertLoadFactor?: number;
  /**
   * How the deployment routes tokens to its experts (default 'power-law'), one meaning for
   * the performance model and the MoE tables:
   * - 'power-law': the architecture's power law, whose table rows time the busiest
   *   expert-parallel rank (aiconfigurator's default `workload_distribution`); the
   *   performance model takes `expertLoadFactor`.
   * - 'balanced': the deployment states perfectly balanced experts: rows measured with
   *   equal tokens per expert.
   * - 'eplb': the deployment states expert-parallel load balancing (EPLB) over its
   *   `redundantExperts` copies. The busiest device carries the load factor batchlab's
   *   placement model gives uniform top-k routing over the layout's experts and copies
   *   (`uniformRoutingLoadFactor`, sampled as `expertLoadSample` says); the performance model
   *   applies it as its expert load factor, and the MoE tables are read at their 'uniform' rows
   *   (every local expert given the mean's tokens) at that factor times the layer's tokens.
   *   A table without 'uniform' rows for the layout's dtype does not price them: the
   *   performance model does, and the step's usage says why. An MoE model only.
   */
  expertRouting?: ExpertRouting;
  /** Under `expertRouting: 'eplb'`: the redundant expert copies the layout places beside its experts (default 0). */
  redundantExperts?: number;
  /**
   * Under `expertRouting: 'eplb'`: the routing sample the placement model draws
   * (`uniformRoutingLoadFactor`): its seed (default 1), its steps (default 5, that
   * function's own), and the tokens of one step (default: the step's tokens entering an MoE
   * layer, every data-parallel rank's together).
   */
  expertLoadSample?: { seed?: number; steps?: number; tokens?: number };
  /**
   * The expert all-to-all the deployment's source states it ran ('deepep': DeepEP's
   * kernels). With one whole expert per device (ep = tp·dp, ep > 1), such a layout is
   * large expert-parallel whatever tables price it (`largeExpertParallel`): its routed
   * experts are not read from the fused MoE table.
   */
  expertAllToAll?: ExpertAllToAll;
}

/** How a deployment routes tokens to its experts: the architecture's power law, every expert alike, or EPLB over redundant copies (see `Parallelism.expertRouting`). */
export type ExpertRouting = 'power-law' | 'balanced' | 'eplb';

/** Every ExpertRouting, for validation. */
const EXPERT_ROUTINGS: readonly ExpertRouting[] = ['power-law', 'balanced', 'eplb'];

/** An element type per tensor class. */
export interface Precision {
  /** Stored weights; also the tensor-core dtype of weight GEMMs unless `compute` says otherwise. */
  weights: Dtype;
  /**
   * Activations between operations, and the attention core's compute dtype. Narrower than
   * 16 bits it quantizes the inputs of GEMMs and attention only: the residual stream, its
   * norms and the tensor-parallel all-reduce stay 16-bit (`residualStreamDtype`).
   */
  activations: Dtype;
  kvCache: Dtype;
  /** Expert-parallel dispatch (tokens to experts) and combine (results back). */
  dispatch: Dtype;
  combine: Dtype;
  /** Tensor-core dtype of weight GEMMs (default: `weights`). */
  compute: Dtype;
}

/**
 * A Precision from the tensor classes of a deployment (lib/deployment's
 * DeploymentPrecision): `weights` is also the GEMMs' compute dtype, `attention` the
 * activations', and the KV cache's unless `kvCache` gives its own (an FP8 cache under
 * BF16 attention). The one mapping between the two vocabularies.
 *
 * @example
 * precisionOfClasses({ weights: 'fp8', attention: 'bf16', dispatch: 'fp8', combine: 'bf16' }).kvCache // => 'bf16'
 * precisionOfClasses({ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'fp8' }).kvCache // => 'fp8'
 */
export function precisionOfClasses(p: { weights: Dtype; attention: Dtype; dispatch: Dtype; combine: Dtype; kvCache?: Dtype; compute?: Dtype }): Precision {
  if (typeof p !== 'object' || p === null) throw new InputError('precision', p, 'an object { weights, attention, dispatch, combine, kvCache?, compute? }');
  const weights = checkOneOf('precision.weights', p.weights, DTYPES);
  const attention = checkOneOf('precision.attention', p.attention, DTYPES);
  return {
    weights,
    compute: p.compute === undefined ? weights : checkOneOf('precision.compute', p.compute, DTYPES),
    activations: attention,
    kvCache: p.kvCache === undefined ? attention : checkOneOf('precision.kvCache', p.kvCache, DTYPES),
    dispatch: checkOneOf('precision.dispatch', p.dispatch, DTYPES),
    combine: checkOneOf('precision.combine', p.combine, DTYPES),
  };
}

/**
 * How efficiently the hardware is assumed to run: 'spec' prices every operation at the
 * datasheet roofline (the lower bound); 'calibrated' uses the entry's sourced
 * calibration (an InputError when it has none); 'typical' uses TYPICAL_CALIBRATION.
 */
export type EfficiencyMode = 'spec' | 'calibrated' | 'typical';
/**
 * Every EfficiencyMode, for validation and menus.
 *
 * @example
 * EFFICIENCY_MODES.includes('spec') // => true
 */
export const EFFICIENCY_MODES: readonly EfficiencyMode[] = ['spec', 'calibrated', 'typical'];

/** Per-kernel launch cost: none, inside a captured graph, or launched one by one. */
export type LaunchMode = 'none' | 'graph' | 'eager';
/**
 * Every LaunchMode.
 *
 * @example
 * LAUNCH_MODES // => ['none', 'graph', 'eager']
 */
export const LAUNCH_MODES: readonly LaunchMode[] = ['none', 'graph', 'eager'];

/** Everything `stepTime` needs beyond the model, the hardware and the work. */
export interface PerfConfig {
  parallelism?: Parallelism;
  /** One dtype for everything, or per tensor class (missing classes take `activations`, then bf16). Default bf16. */
  precision?: Dtype | Partial<Precision>;
  /** Default: 'calibrated' when the hardware has a calibration, else 'typical'. */
  efficiency?: EfficiencyMode;
  /** Default: 'graph', or 'none' with efficiency 'spec'. */
  launch?: LaunchMode;
  /**
   * Seconds of weight and attention matmuls from a cost model (a fit or a measured
   * table) instead of the roofline. Default on "this-machine": the measured table of
   * this machine's saved GEMM sweeps (by machine id) when they cover the compute dtype.
   */
  matmulCost?: MatmulCostModel;
  /** Refuse a step whose weights, KV cache and activations do not fit (default true). */
  checkMemory?: boolean;
  /**
   * Share of each device's memory the server may fill, as an engine is told it (vLLM's
   * `gpu_memory_utilization`, SGLang's `mem_fraction_static`). Default 1
   * (`USABLE_MEMORY_FRACTION`): the datasheet capacity, with weights, KV cache and
   * activations each counted. Every "does it fit" of batchlab asks `memoryFit`.
   */
  memoryFraction?: number;
  /**
   * Price GEMMs, attention and tensor-parallel all-reduces from the kernel database's
   * tables of this serving framework ('trtllm', 'sglang', 'vllm', or a user table's
   * folder name). Default: the default engine's (DEFAULT_PRICING_FRAMEWORK, vLLM) where the
   * kernel database holds the device and no `efficiency` is asked (`pricingFramework`), as
   * the CLI prices; `null`: none, the performance model alone.
   */
  framework?: string | null;
  /** Framework version (default: the newest the database holds). */
  frameworkVersion?: string;
  /**
   * With `framework`: the framework whose wide-EP tables (wide-EP MoE compute, DeepEP
   * dispatch and combine) price a large expert-parallel layout (`largeExpertParallel`),
   * where a source states which kernels its deployment ran and another framework's
   * tables time them (a case field says which and why). Default: `framework`'s own.
   */
  wideEpFramework?: string;
  /**
   * The kernel database `framework` reads (default: the shipped data/kernels); `false`
   * switches it off, so every op is priced by the efficiency mode's model.
   */
  kernelDb?: KernelDb | false;
  /**
   * With `framework`: how the checkpoint scales its FP8 weight GEMMs, which picks the
   * kernel table; by default the checkpoint's own (`fp8ScalingOf`: its config.json's
   * quantization_config), else 'dynamic'. 'dynamic': one scale per tensor, the activations' computed
   * every call, the tables' 'fp8' rows; 'static': the checkpoint's calibrated per-tensor
   * activation scale (NVIDIA ModelOpt FP8 checkpoints), priced as those kernels less the
   * activation-quantize passes they skip (`KernelPricer.gemmFp8Static`); 'block': 128-wide
   * blocks of weights and activations (DeepSeek-V3's `weight_block_size`), the tables'
   * 'fp8_block' rows. aiconfigurator maps checkpoints the same way
   * (aic-core/src/aiconfigurator_core/sdk/models/helpers.py:598-612 and sdk/utils.py:1205-1207, commit 095f58a5).
   */
  fp8Scaling?: Fp8Scaling;
  /**
   * Kernels a step launches besides its weight GEMMs and attention cores (norms,
   * residual adds, rotary, activations, splits, sampling), each paying the launch
   * cost. Default 6 per layer (`ELEMENTWISE_KERNELS_PER_LAYER`: a serving engine's
   * fused kernels); an unfused engine counts its own (tf.profile of a step).
   */
  auxiliaryKernels?: number;
}

/** How a checkpoint scales its FP8 GEMMs (see `PerfConfig.fp8Scaling`). */
export type Fp8Scaling = 'dynamic' | 'static' | 'block';

/** Every Fp8Scaling, for validation. */
export const FP8_SCALINGS: readonly Fp8Scaling[] = ['dynamic', 'static', 'block'];

/**
 * The FP8 GEMM scaling a step is priced with: the one asked for, else the checkpoint's
 * own (`ModelSpec.checkpointFp8Scaling`, from its config.json), else 'dynamic' (a 16-bit
 * checkpoint quantized when served, as vLLM's `--quantization fp8` does), with where it
 * came from.
 *
 * @example
 * fp8ScalingOf(loadModel('deepseek-v3')) // => { scaling: 'block', from: 'checkpoint' }
 * fp8ScalingOf(loadModel('llama-3.1-70b'), 'static') // => { scaling: 'static', from: 'asked' }
 */
export function fp8ScalingOf(model: Pick<ModelSpec, 'checkpointFp8Scaling'>, asked?: Fp8Scaling): { scaling: Fp8Scaling; from: 'asked' | 'checkpoint' | 'default' } {
  if (asked !== undefined) return { scaling: checkOneOf('fp8Scaling', asked, FP8_SCALINGS), from: 'asked' };
  if (model.checkpointFp8Scaling !== undefined) return { scaling: model.checkpointFp8Scaling, from: 'checkpoint' };
  return { scaling: 'dynamic', from: 'default' };
}

/** Where a step's seconds go, per device of the busiest stage, summed over its layers. */
export interface StepTimeBreakdown {
  /** Weight GEMMs (projections, dense FFN, experts, LM head). */
  gemmSeconds: number;
  /** The attention core (scores and values against the KV cache). */
  attentionSeconds: number;
  /** Auxiliary kernels (norms, residual adds, activations, casts, routing, permutation): the larger of their bytes at achieved bandwidth and the calibrated share of GEMM + attention time. */
  elementwiseSeconds: number;
  /** Kernel launch or graph-node gaps. */
  launchSeconds: number;
  /** Tensor-parallel all-reduces. */
  tensorParallelSeconds: number;
  /** Expert-parallel all-to-all: tokens to experts and results back. */
  dispatchSeconds: number;
  combineSeconds: number;
  /** Point-to-point activation sends between pipeline stages. */
  pipelineSeconds: number;
  /** gemm + attention + elementwise + launch. */
  computeSeconds: number;
  /** tensor-parallel + dispatch + combine. */
  communicationSeconds: number;
  /**
   * Communication not hidden behind computation (all of it without overlap); with
   * overlap it includes the slowdown of computation while all-to-all kernels hold
   * compute units.
   */
  exposedCommunicationSeconds: number;
  /** Of gemm + attention: time of operations bound by compute, and by memory traffic. */
  computeBoundSeconds: number;
  memoryBoundSeconds: number;
  /** Of gemm + attention: the summed compute side and memory side of every operation (before the max per operation). */
  flopSeconds: number;
  byteSeconds: number;
}

/** The time of one engine step of a deployment. */
export interface StepTime {
  /** Latency of the step through every pipeline stage. */
  seconds: number;
  /** Time between step completions with `pp` steps in flight (the slowest stage); equals `seconds` without pipelining. */
  intervalSeconds: number;
  /** What sets the time: compute, memory traffic, exposed communication or kernel launches. */
  bound: 'compute' | 'memory' | 'communication' | 'launch';
  breakdown: StepTimeBreakdown;
  /** tp · dp · pp. */
  devices: number;
  /**
   * The performance model's mode: what priced every op without `framework`, and with one
   * the ops its kernel tables do not hold (`fromTables` says how much of the step that is).
   */
  efficiency: EfficiencyMode;
  /**
   * The datasheet lower bound and the typical estimate, for a spec-only device: one
   * number would claim a precision its entry does not have. Absent for 'spec' and 'calibrated'.
   */
  band?: { boundSeconds: number; typicalSeconds: number };
  /** With `framework`: which kernel-table rows (and which model, where no table held an op) priced the step. */
  kernels?: KernelUsage[];
  /**
   * With `framework`: the seconds of the step's kernels and collectives, summed before any
   * overlap hides some of them (`opSeconds`), and those of them table rows priced
   * (`tableSeconds`); the rest is the performance model's.
   */
  fromTables?: { tableSeconds: number; opSeconds: number };
  /** Under `expertRouting: 'eplb'`: the placement model's load factor that priced the step, and the routing sample it was drawn at. */
  expertLoad?: EplbLoad;
}

/** Memory one device of a deployment needs, against what it has. */
export interface MemoryFit {
  fits: boolean;
  weightBytes: number;
  kvCacheBytes: number;
  activationBytes: number;
  totalBytes: number;
  capacityBytes: number;
  /** capacity − total: negative when it does not fit. */
  headroomBytes: number;
  /** A sentence for a human: what is needed, what there is, and by how much it fails or fits. */
  message: string;
}

// ---------------------------------------------------------------- validated config

interface Resolved {
  /** Non-GEMM, non-attention kernels per step, when the config counts them. */
  auxiliaryKernels?: number;
  tp: number;
  dp: number;
  ep: number;
  pp: number;
  /** Tensor-parallel degree inside one expert: (tp·dp)/ep. */
  etp: number;
  perNode: number;
  dispatchMode: 'per-expert' | 'per-node';
  maxNodes: number;
  /** Fraction of what full overlap hides that is hidden (see Parallelism.overlap). */
  overlap: number;
  loadFactor: number;
  routing: ExpertRouting;
  /** Under 'eplb': the placement model's layout and routing sample, and, once a step's tokens are known, the load factor it gives (`withEplbLoad`). */
  eplb?: EplbLoad;
  precision: Precision;
  mode: EfficiencyMode;
  cal: HardwareCalibration;
  launchSecondsPerKernel: number;
  matmulCost?: MatmulCostModel;
  checkMemory: boolean;
  /** Share of the datasheet capacity the fit may fill. */
  memoryFraction: number;
  kernels?: KernelPricer;
  fp8Scaling: Fp8Scaling;
  /** aiconfigurator's large expert-parallel graph (`largeExpertParallel`): routed experts priced by the performance model. */
  largeExpertParallel: boolean;
}


const MAX_DEVICES = 1 << 16;
const MAX_TOKENS = 1 << 24;

/**
 * The dtype of the residual stream between a layer's GEMMs: its norms, residual adds and
 * tensor-parallel all-reduce. The activations' dtype where it is 16 or 32 bits; bf16 where
 * the activations are narrower, since 8- and 4-bit activations exist only as the inputs of
 * a GEMM or attention kernel, quantized there, while the GEMMs write and the all-reduce
 * sums 16-bit outputs (aiconfigurator prices every all-reduce at 16 bits unless told
 * otherwise, whatever the checkpoint: ModelConfig.comm_quant_mode = CommQuantMode.half,
 * aic-core/src/aiconfigurator_core/sdk/config.py:25, which no checkpoint inference changes,
 * sdk/models/helpers.py:677-689, commit 095f58a5).
 *
 * @example
 * residualStreamDtype({ weights: 'fp8', compute: 'fp8', activations: 'fp8', kvCache: 'fp8', dispatch: 'fp8', combine: 'fp8' }) // => 'bf16'
 */
export function residualStreamDtype(p: Pick<Precision, 'activations'>): Dtype {
  return DTYPE_BYTES[p.activations] >= 2 ? p.activations : 'bf16';
}

function resolvePrecision(p: PerfConfig['precision']): Precision {
  if (p === undefined || typeof p === 'string') {
    const d = checkOneOf('precision', p ?? 'bf16', DTYPES);
    return { weights: d, activations: d, kvCache: d, dispatch: d, combine: d, compute: d };
  }
  if (typeof p !== 'object' || p === null) throw new InputError('precision', p, 'a dtype or an object { weights, activations, kvCache, dispatch, combine, compute }');
  const act = checkOneOf('precision.activations', p.activations ?? 'bf16', DTYPES);
  const weights = checkOneOf('precision.weights', p.weights ?? act, DTYPES);
  return {
    weights,
    activations: act,
    kvCache: checkOneOf('precision.kvCache', p.kvCache ?? act, DTYPES),
    dispatch: checkOneOf('precision.dispatch', p.dispatch ?? act, DTYPES),
    combine: checkOneOf('precision.combine', p.combine ?? act, DTYPES),
    compute: checkOneOf('precision.compute', p.compute ?? weights, DTYPES),
  };
}

/** A layout's EPLB as the placement model prices it: its redundant copies, its routing sample, and the load factor that sample gives. */
export interface EplbLoad {
  redundantExperts: number;
  seed: number;
  steps: number;
  /** Tokens of the sampled step: the layout's stated sample, else the step's own. */
  tokens?: number;
  /** The busiest expert device's load over the mean (`uniformRoutingLoadFactor`), once priced. */
  factor?: number;
}

/**
 * Under 'eplb', the resolved layout with the placement model's load factor at the step's
 * tokens (every data-parallel rank's, as they enter an MoE layer), or at the stated sample's:
 * the performance model's expert load factor, and the factor the MoE tables' 'uniform' rows are
 * read at. A step split into two micro-batches keeps its whole step's factor.
 */
function withEplbLoad(model: ModelSpec, r: Resolved, w: CheckedWork): Resolved {
  if (!r.eplb) return r;
  const tokens = r.eplb.tokens ?? Math.max(1, Math.round(w.prefillTokens + w.decodeTokens));
  if (tokens > ROUTING_SAMPLE_MAX_TOKENS) {
    throw new InputError('prefillTokens + decodeTokens', tokens, `at most ${ROUTING_SAMPLE_MAX_TOKENS} under expertRouting 'eplb' (the placement model draws the routing of the step's tokens), or a parallelism.expertLoadSample.tokens in [1, ${ROUTING_SAMPLE_MAX_TOKENS}]`);
  }
  const factor = uniformRoutingLoadFactor(model, { expertParallel: r.ep, redundantExperts: r.eplb.redundantExperts }, tokens, r.eplb.seed, r.eplb.steps);
  return { ...r, loadFactor: factor, eplb: { ...r.eplb, tokens, factor } };
}

/** The EPLB fields of a layout, checked: only under `expertRouting: 'eplb'`, only for an MoE model. */
function resolveEplb(model: ModelSpec, par: Parallelism, routing: ExpertRouting, ep: number): Resolved['eplb'] {
  if (routing !== 'eplb') {
    if (par.redundantExperts !== undefined) throw new InputError('parallelism.redundantExperts', par.redundantExperts, "absent unless parallelism.expertRouting is 'eplb'");
    if (par.expertLoadSample !== undefined) throw new InputError('parallelism.expertLoadSample', par.expertLoadSample, "absent unless parallelism.expertRouting is 'eplb'");
    return undefined;
  }
  if (!model.moe) throw new InputError('parallelism.expertRouting', routing, `'power-law' or 'balanced': EPLB balances routed experts, and ${model.id} is a dense model`);
  if (ep === 1) throw new InputError('parallelism.expertRouting', routing, "'power-law' or 'balanced' at ep 1: EPLB balances routed experts over expert-parallel devices (parallelism.ep > 1)");
  if (par.expertLoadFactor !== undefined) throw new InputError('parallelism.expertLoadFactor', par.expertLoadFactor, "absent under expertRouting 'eplb': the placement model gives the load factor (uniformRoutingLoadFactor)");
  const redundantExperts = checkInt('parallelism.redundantExperts', par.redundantExperts ?? 0, { min: 0, max: model.moe.numExperts * Math.max(0, ep - 1) });
  const sample = par.expertLoadSample ?? {};
  if (typeof sample !== 'object' || sample === null) throw new InputError('parallelism.expertLoadSample', sample, 'an object { seed?, steps?, tokens? }');
  return {
    redundantExperts,
    seed: checkInt('parallelism.expertLoadSample.seed', sample.seed ?? 1, { min: 0, max: 2 ** 31 }),
    steps: checkInt('parallelism.expertLoadSample.steps', sample.steps ?? 5, { min: 2, max: 1000 }),
    ...(sample.tokens === undefined ? {} : { tokens: checkInt('parallelism.expertLoadSample.tokens', sample.tokens, { min: 1, max: ROUTING_SAMPLE_MAX_TOKENS }) }),
  };
}


/**
 * The efficiency mode a configuration is priced at: the one asked for, else the hardware's
 * sourced calibration where it has one, else typical (the performance model's default).
 *
 * @example
 * efficiencyModeOf(loadHardware('h100-sxm')) // => 'calibrated'
 * efficiencyModeOf(loadHardware('mi300x')) // => 'typical'
 */
export function efficiencyModeOf(hw: Pick<HardwareSpec, 'calibration'>, efficiency?: EfficiencyMode): EfficiencyMode {
  return efficiency ?? (hw.calibration ? 'calibrated' : 'typical');
}
// Every field of a PerfConfig and of its Parallelism: a misspelt or foreign one ({ tensorParallel: 8 })
// is refused by name rather than priced at the default it leaves in place.
const PERF_CONFIG_KEYS = ['parallelism', 'precision', 'efficiency', 'launch', 'matmulCost', 'checkMemory', 'memoryFraction', 'framework', 'frameworkVersion', 'wideEpFramework', 'kernelDb', 'fp8Scaling', 'auxiliaryKernels'] as const satisfies readonly (keyof PerfConfig)[];
const PARALLELISM_KEYS = ['tp', 'dp', 'ep', 'pp', 'devicesPerNode', 'dispatch', 'maxNodesPerToken', 'overlap', 'expertLoadFactor', 'expertRouting', 'redundantExperts', 'expertLoadSample', 'expertAllToAll'] as const satisfies readonly (keyof Parallelism)[];

function resolve(model: ModelSpec, hw: HardwareSpec, config: PerfConfig): Resolved {
  if (typeof config !== 'object' || config === null) throw new InputError('config', config, 'a PerfConfig object');
  checkKnownKeys('config', config, PERF_CONFIG_KEYS);
  const par = config.parallelism ?? {};
  if (typeof par !== 'object' || par === null) throw new InputError('parallelism', par, 'an object { tp?, dp?, ep?, pp?, ... }');
  checkKnownKeys('parallelism', par, PARALLELISM_KEYS);
  const tp = checkInt('parallelism.tp', par.tp ?? 1, { min: 1, max: MAX_DEVICES });
  const dp = checkInt('parallelism.dp', par.dp ?? 1, { min: 1, max: MAX_DEVICES });
  const ep = checkInt('parallelism.ep', par.ep ?? 1, { min: 1, max: MAX_DEVICES });
  const pp = checkInt('parallelism.pp', par.pp ?? 1, { min: 1, max: model.numLayers });
  if ((tp * dp) % ep !== 0) throw new InputError('parallelism.ep', ep, `a divisor of tp·dp = ${tp * dp} (the devices of one stage)`);
  if (tp * dp * pp > MAX_DEVICES) throw new InputError('parallelism', tp * dp * pp, `at most ${MAX_DEVICES} devices (tp·dp·pp)`);
  if (model.moe && ep > model.moe.numExperts) throw new InputError('parallelism.ep', ep, `at most the ${model.moe.numExperts} routed experts of ${model.id}`);
  // Tensor parallelism splits attention by heads: each device needs whole query heads, and whole KV heads or a copy of one.
  const heads = model.attention.numHeads;
  // MLA caches one latent per token that every head reads: a copy on each device.
  const kvHeads = model.attention.kind === 'mla' ? 1 : model.attention.numKvHeads;
  if (heads % tp !== 0 || (kvHeads % tp !== 0 && tp % kvHeads !== 0)) {
    throw new InputError('parallelism.tp', tp, `a divisor of the ${heads} attention heads of ${model.id} that divides or is a multiple of its ${kvHeads} KV heads`);
  }
  const perNode = checkInt('parallelism.devicesPerNode', par.devicesPerNode ?? 8, { min: 1, max: 1024 });
  const dispatchMode = checkOneOf('parallelism.dispatch', par.dispatch ?? 'per-expert', ['per-expert', 'per-node'] as const);
  const maxNodes = checkInt('parallelism.maxNodesPerToken', par.maxNodesPerToken ?? MAX_DEVICES, { min: 1, max: MAX_DEVICES });
  const overlap =
    par.overlap === undefined || par.overlap === false ? 0 : par.overlap === true ? -1 : checkNumber('parallelism.overlap', par.overlap, { min: 0, max: 1 });
  const loadFactor = checkNumber('parallelism.expertLoadFactor', par.expertLoadFactor ?? 1, { min: 1, max: MAX_DEVICES });
  const routing = checkOneOf('parallelism.expertRouting', par.expertRouting ?? 'power-law', EXPERT_ROUTINGS);
  const eplb = resolveEplb(model, par, routing, ep);
  const allToAll = par.expertAllToAll === undefined ? undefined : checkOneOf('parallelism.expertAllToAll', par.expertAllToAll, EXPERT_ALL_TO_ALLS);
  const precision = resolvePrecision(config.precision);
  for (const d of [precision.compute, precision.activations]) hardwarePeakFlops(hw, d);
  const mode = checkOneOf('efficiency', efficiencyModeOf(hw, config.efficiency), EFFICIENCY_MODES);
  let cal: HardwareCalibration;
  if (mode === 'spec') cal = SPEC_CALIBRATION;
  else if (mode === 'typical') cal = TYPICAL_CALIBRATION;
  else {
    if (!hw.calibration) throw new InputError('efficiency', mode, `'spec' or 'typical': ${hw.id} has no sourced calibration (its figures are the datasheet's, at typical efficiencies or at the bound)`);
    cal = hw.calibration;
  }
  // Checked here so that a missing dtype is reported once, naming the calibration field.
  calibrationGemmEfficiency(cal, precision.compute);
  calibrationGemmEfficiency(cal, precision.activations);
  const launch = checkOneOf('launch', config.launch ?? (mode === 'spec' ? 'none' : 'graph'), LAUNCH_MODES);
  const launchSecondsPerKernel = launch === 'none' ? 0 : launch === 'graph' ? cal.graphKernelSeconds : cal.kernelLaunchSeconds;
  if (config.matmulCost !== undefined && typeof config.matmulCost?.matmulSeconds !== 'function') {
    throw new InputError('matmulCost', config.matmulCost, 'a MatmulCostModel with matmulSeconds(shape)');
  }
  if (config.checkMemory !== undefined && typeof config.checkMemory !== 'boolean') throw new InputError('checkMemory', config.checkMemory, 'true or false');
  const memoryFraction = checkNumber('memoryFraction', config.memoryFraction ?? USABLE_MEMORY_FRACTION, { min: 0, max: 1, exclusiveMin: true });
  const fp8Scaling = fp8ScalingOf(model, config.fp8Scaling).scaling;
  let kernels: KernelPricer | undefined;
  const framework = pricingFramework(hw, config);
  if (framework !== undefined) {
    const db = config.kernelDb === false ? undefined : (config.kernelDb ?? defaultKernelDb());
    kernels = kernelPricer(db, hw, framework, config.frameworkVersion, config.wideEpFramework === undefined ? {} : { wideEp: config.wideEpFramework });
  }
  const auxiliaryKernels = config.auxiliaryKernels === undefined ? undefined : checkNumber('auxiliaryKernels', config.auxiliaryKernels, { min: 0, max: 1e7 });
  return {
    auxiliaryKernels,
    tp,
    dp,
    ep,
    pp,
    // `true` (marked -1 above) takes what the hardware's overlap achieves.
    overlap: overlap < 0 ? (cal.overlapEfficiency ?? 1) : overlap,
    etp: (tp * dp) / ep,
    perNode,
    dispatchMode,
    maxNodes,
    loadFactor,
    routing,
    ...(eplb ? { eplb } : {}),
    precision,
    mode,
    cal,
    launchSecondsPerKernel,
    matmulCost: config.matmulCost ?? (hw.id === THIS_MACHINE && mode !== 'spec' ? measuredTableFor(precision.compute) : undefined),
    checkMemory: config.checkMemory ?? true,
    memoryFraction,
    kernels,
    fp8Scaling,
    largeExpertParallel:
      kernels !== undefined && largeExpertParallel(model, { framework: kernels.wideEpFramework, expertTensorParallel: (tp * dp) / ep, expertParallel: ep, allToAll }),
  };
}

/** The framework whose kernel tables price a configuration that names none and asks no efficiency, as the CLI prices it (vLLM, the default serving engine). */
export const DEFAULT_PRICING_FRAMEWORK = 'vllm';

/**
 * The framework whose kernel tables price a configuration: its `framework`; none for
 * `framework: null` or an asked `efficiency` (the performance model alone, as the CLI's
 * `--efficiency`); else the default engine's (DEFAULT_PRICING_FRAMEWORK) where the kernel
 * database holds its tables for the device, as `batchlab deploy`, `search` and `simulate`
 * price, else none.
 *
 * @example
 * pricingFramework(loadHardware('h100-sxm'), {}) // => 'vllm'
 * pricingFramework(loadHardware('a100-80gb'), {}) // => undefined (data/kernels holds no vllm tables for it)
 */
export function pricingFramework(hw: HardwareSpec, config: Pick<PerfConfig, 'framework' | 'efficiency' | 'matmulCost' | 'kernelDb'>): string | undefined {
  if (config.framework === null) return undefined;
  if (config.framework !== undefined) return config.framework;
  if (config.efficiency !== undefined || config.matmulCost !== undefined || config.kernelDb === false || hw.id === THIS_MACHINE) return undefined;
  return kernelFrameworksOf(config.kernelDb ?? defaultKernelDb(), hw).includes(DEFAULT_PRICING_FRAMEWORK) ? DEFAULT_PRICING_FRAMEWORK : undefined;
}

function measuredTableFor(dtype: Dtype): MatmulCostModel | undefined {
  const table = measuredMatmulCostForMachine();
  return table && table.dtypes.includes(dtype) ? table : undefined;
}

// ---------------------------------------------------------------- pricing

/** The link a collective over `span` consecutive devices uses: inside a node or across nodes. */
function linkFor(hw: HardwareSpec, r: Resolved, span: number): Link {
  return span <= r.perNode
    ? { latencySeconds: r.cal.intraNodeLatencySeconds, bytesPerSecond: hw.intraNodeBytesPerSecond * r.cal.intraNodeEfficiency }
    : { latencySeconds: r.cal.interNodeLatencySeconds, bytesPerSecond: hw.interNodeBytesPerSecond * r.cal.interNodeEfficiency };
}

// FP8 activations travel with one FP32 scale per 1×128 block (DeepSeek-V3 report,
// arXiv:2412.19437 sec. 3.3.2: tile-wise 1×128 activation quantization).
function wireBytesPerElement(d: Dtype): number {
  return DTYPE_BYTES[d] === 1 ? 1 + 4 / 128 : DTYPE_BYTES[d];
}

/** Elementwise kernels per layer: two RMSNorms, two residual adds, rotary embedding, the gated activation. */
const ELEMENTWISE_KERNELS_PER_LAYER = 6;

/** The busiest attention group's share of the work, and the ops it runs. */
function groupWork(work: CheckedWork, dp: number) {
  const P = Math.ceil(work.prefillTokens / dp);
  const D = Math.ceil(work.decodeTokens / dp);
  const C = work.decodeTokens > 0 ? (work.contextTokens * D) / work.decodeTokens : 0;
  // Whole prompts land whole on the busiest group; a steady state's mean number of whole
  // prompts (not a whole number) spreads evenly over the groups.
  const whole = Number.isInteger(work.prefillSequences);
  const S = P > 0 ? (whole ? Math.min(P, Math.ceil(work.prefillSequences / dp)) : work.prefillSequences / dp) : 1;
  // The busiest group's share of the causal pairs, in proportion to its prompt tokens.
  const pairs = work.prefillAttentionPairs === undefined || P === 0 ? undefined : (work.prefillAttentionPairs * P) / work.prefillTokens;
  return { P, D, C, S, pairs };
}

interface CheckedWork {
  prefillTokens: number;
  decodeTokens: number;
  contextTokens: number;
  prefillSequences: number;
  prefillAttentionPairs?: number;
}

interface OpPrice {
  seconds: number;
  /** The roofline's two sides for this op (calibrated), whatever priced `seconds`. */
  computeSeconds: number;
  memorySeconds: number;
  computeBound: boolean;
  /**
   * The seconds are a kernel table's: its rows time calls replayed back to back, so each
   * call's launch gap is inside them and the step adds no launch cost for this op.
   */
  fromTable?: boolean;
}

/** One device's share of an operation and its seconds. */
function priceOp(
  op: ModelOperation,
  model: ModelSpec,
  hw: HardwareSpec,
  r: Resolved,
  split: { n: number; batch: number; m: number; kv: number; heads: number },
  g: GroupWork,
  tally: KernelTally,
): OpPrice {
  const p = r.precision;
  const isCore = op.group === 'attention-core';
  const computeDtype = isCore ? p.activations : p.compute;
  // The ops were built at 1 byte per element, so their byte fields are element counts.
  const weights = (op.weightBytes / (split.n * split.batch)) * DTYPE_BYTES[p.weights];
  const acts = (isCore ? op.activationBytes / split.heads : activationElements(op, split)) * DTYPE_BYTES[p.activations];
  const kv = (op.kvBytes / split.kv) * DTYPE_BYTES[p.kvCache];
  const bytes = weights + acts + kv;
  const memorySeconds = bytes / (hw.memoryBytesPerSecond * (isCore ? r.cal.attentionMemoryEfficiency : r.cal.memoryEfficiency));
  const peak = hardwarePeakFlops(hw, computeDtype);
  let computeSeconds: number;
  if (isCore) {
    const eff = op.name.includes('prefill') ? r.cal.attentionPrefillEfficiency : r.cal.attentionDecodeEfficiency;
    computeSeconds = op.flops / split.heads / (peak * eff);
  } else if (op.matmuls.length === 0) {
    computeSeconds = 0;
  } else {
    const eff = calibrationGemmEfficiency(r.cal, computeDtype);
    computeSeconds = op.calls * gemmComputeSeconds({ m: op.m * split.m, k: op.k, n: op.n / split.n, batch: op.batch / split.batch }, peak, r.cal, eff);
  }
  const computeBound = computeSeconds >= memorySeconds && computeSeconds > 0;
  // Weight-only quantization (4-bit weights, 16-bit math): a GEMM table files a kernel whose
  // weights are its math's width and would read four times the bytes, so the model prices
  // these GEMMs; the LM head and router stay 16-bit (their rows answer) and attention is the KV's.
  const weightOnly = DTYPE_BYTES[p.weights] < DTYPE_BYTES[p.compute] && !isCore && op.matmuls.length > 0 && !keepsSixteenBitWeights(op);
  if (r.kernels && !weightOnly) {
    const dtypes = { weights: p.compute, attention: p.activations, kvCache: p.kvCache, fp8Scaling: r.fp8Scaling, routing: r.routing, largeExpertParallel: r.largeExpertParallel, ...(r.eplb ? { eplb: r.eplb } : {}) };
    const t = kernelOpSeconds(op, model, r.kernels, dtypes, split, g, tally);
    if (t !== undefined) return { seconds: t, computeSeconds, memorySeconds, computeBound, fromTable: true };
    const wideTable = op.group === 'routed-expert' && r.largeExpertParallel ? r.kernels.tableFile('wideep_moe') ?? null : undefined;
    const wideGap = (): string => {
      const why = wideEpLayoutGap(r.kernels!, model, r.ep, kernelWeightDtype(p.compute, r.fp8Scaling), r.routing, g.P > 0 ? 'context' : 'generation', r.eplb);
      return why ? ` (${why})` : '';
    };
    const gap = op.group === 'routed-expert' && r.routing === 'eplb' ? eplbTableGap(r.kernels, r.largeExpertParallel ? 'wideep_moe' : 'moe', kernelWeightDtype(p.compute, r.fp8Scaling), r.largeExpertParallel ? (g.P > 0 ? 'context' : 'generation') : undefined) : undefined;
    const reasons = [
      ...(gap ? [gap] : wideTable === undefined ? [] : [wideTable ? `no row of ${wideTable} holds this layout${wideGap()}` : NO_WIDE_EP_MOE_TABLE]),
      ...(op.group === 'routed-expert' && r.eplb ? [eplbNote(model, r.ep, r.eplb, 'model')] : []),
    ];
    const why = reasons.length ? `: ${reasons.join('; ')}` : '';
    tally.add(isCore ? 'attention' : op.group, { kind: r.mode, from: `${hw.name} performance model (${r.mode})${why}`, rows: [] }, op.calls);
  } else if (r.kernels) {
    tally.add(op.group, { kind: r.mode, from: `${hw.name} performance model (${r.mode}): ${p.weights} weights with ${p.compute} math, which no table files`, rows: [] }, op.calls);
  }
  if (r.matmulCost && op.matmuls.length > 0) {
    let t = 0;
    for (const sh of op.matmuls) {
      const shape = isCore
        ? split.heads > 1 && isMlaDecodeCore(op, model)
          ? { ...sh, m: sh.m / split.heads }
          : { ...sh, batch: (sh.batch ?? 1) / split.heads }
        : { ...sh, m: sh.m * split.m, n: sh.n / split.n, batch: (sh.batch ?? 1) / split.batch };
      // The core's W operand is the keys and values: read at the KV cache's dtype, as `kv` above.
      const wDtype = isCore && p.kvCache !== computeDtype ? { wDtype: p.kvCache } : {};
      t += fractionalMatmulSeconds(r.matmulCost, { ...shape, dtype: computeDtype, ...wDtype });
    }
    return { seconds: t * op.calls, computeSeconds, memorySeconds, computeBound };
  }
  return { seconds: rooflineSeconds(computeSeconds, memorySeconds, 1, 1), computeSeconds, memorySeconds, computeBound };
}

function isMlaDecodeCore(op: ModelOperation, model: ModelSpec): boolean {
  return model.attention.kind === 'mla' && op.name === 'attn.core.decode';
}

/** Activation elements of a linear op on one device: its full input, its share of the output. */
function activationElements(op: ModelOperation, split: { n: number; batch: number; m: number }): number {
  if (op.matmuls.length === 0) return op.activationBytes / split.n;
  const perCall = op.activationBytes / op.calls / op.batch; // m·k + m·n
  const mk = op.m * op.k;
  const mn = perCall - mk;
  return (mk + mn / split.n) * split.m * (op.batch / split.batch) * op.calls;
}

interface StageCost {
  breakdown: StepTimeBreakdown;
  stageSeconds: number;
  p2pSeconds: number;
  kernels?: KernelUsage[];
  fromTables?: { tableSeconds: number; opSeconds: number };
}

function stageCost(model: ModelSpec, hw: HardwareSpec, r: Resolved, work: CheckedWork): StageCost {
  const g = groupWork(work, r.dp);
  const expertParallel = r.ep > 1 || r.dp > 1;
  const groupOps = modelStepOps(model, {
    prefillTokens: g.P,
    decodeTokens: g.D,
    contextTokens: g.D > 0 ? g.C : 0,
    prefillSequences: g.S,
    prefillAttentionPairs: g.pairs,
    dtype: 'fp8',
  });
  // Routed experts see every token of the stage, spread over ep devices.
  const expertOps =
    r.dp === 1
      ? groupOps
      : modelStepOps(model, {
          prefillTokens: work.prefillTokens,
          decodeTokens: work.decodeTokens,
          contextTokens: work.decodeTokens > 0 ? work.contextTokens : 0,
          prefillSequences: work.prefillTokens > 0 ? Math.min(work.prefillTokens, work.prefillSequences) : 1,
          dtype: 'fp8',
        });
  const heads = model.attention.numHeads;
  const kvHeads = model.attention.kind === 'mla' ? 1 : model.attention.numKvHeads;
  const coreSplit = { n: 1, batch: 1, m: 1, heads: Math.min(r.tp, heads), kv: Math.min(r.tp, kvHeads) };
  const denseSplit = { n: r.tp, batch: 1, m: 1, heads: 1, kv: 1 };
  const expertSplit = { n: r.etp, batch: r.ep, m: r.loadFactor, heads: 1, kv: 1 };
  let gemm = 0;
  let attention = 0;
  let cb = 0;
  let mb = 0;
  let kernels = 0;
  // Calls priced from kernel tables, whose rows hold a CUDA graph's launch gap (see `add`).
  let tableKernels = 0;
  let flopSeconds = 0;
  let byteSeconds = 0;
  const tally = new KernelTally();
  // The MoE block's two streams (router and routed experts; shared experts), each split
  // into its compute- and memory-bound seconds, for the decode overlap below.
  const streams = { routed: { cb: 0, mb: 0 }, shared: { cb: 0, mb: 0 } };
  // Seconds of each stage of the two-micro-batch decode schedule (see decodeScheduleExposed), summed over layers.
  const stages: DecodeStages = { beforeCore: 0, core: 0, gate: 0, shared: 0, routed: 0, outside: 0 };
  // Op and collective seconds before any overlap, and the share of them table rows priced.
  let opSeconds = 0;
  let tableSeconds = 0;
  const add = (op: ModelOperation, split: typeof denseSplit): void => {
    const pr = priceOp(op, model, hw, r, split, g, tally);
    opSeconds += pr.seconds;
    if (pr.fromTable) tableSeconds += pr.seconds;
    stages[decodeStageOf(op)] += pr.seconds;
    flopSeconds += pr.computeSeconds;
    byteSeconds += pr.memorySeconds;
    if (op.group === 'attention-core') attention += pr.seconds;
    else gemm += pr.seconds;
    if (pr.computeBound) cb += pr.seconds;
    else mb += pr.seconds;
    const stream = op.group === 'router' || op.group === 'routed-expert' ? streams.routed : op.group === 'shared-expert' ? streams.shared : undefined;
    if (stream && pr.computeBound) stream.cb += pr.seconds;
    else if (stream) stream.mb += pr.seconds;
    // Measured: Llama-3.1-8B steps of table kernels alone, replayed in one CUDA graph on an H200,
    // took the sum of their rows within −10.6 … +16.5 % at 17 batch and prompt sizes
    // (data/examples/measured/steps-h200_sxm-torch-2.11.0.csv, variant 'core'; test/roofline/
    // measured-steps.test.ts). Charging each table call the graph-kernel cost as well adds 0.32 ms
    // to the one-sequence decode step: 6.9 % above its measured 4.49 ms instead of 0.2 % below.
    // An eager launch costs more than a graph's, which the rows do not hold: that difference stays.
    if (pr.fromTable) tableKernels += op.calls;
    else kernels += op.calls;
  };
  for (const op of groupOps) {
    if (op.group === 'routed-expert') continue;
    add(op, op.group === 'attention-core' ? coreSplit : denseSplit);
  }
  for (const op of expertOps) if (op.group === 'routed-expert') add(op, expertSplit);
  // Under a framework's kernel tables, a decode step runs the shared experts on a second
  // stream beside the router and routed experts and pays the longer of the two, as
  // aiconfigurator's graph does (sharedExpertsOverlapRouted): the shorter is hidden. A large
  // expert-parallel layout's graph is that of the framework whose wide-EP tables price it.
  const sharedBesideRouted = r.kernels?.device !== undefined && sharedExpertsOverlapRouted(model, work, { framework: r.kernels.wideEpFramework, largeExpertParallel: r.largeExpertParallel });
  if (sharedBesideRouted) {
    const [a, b] = [streams.routed, streams.shared];
    const hidden = a.cb + a.mb < b.cb + b.mb ? a : b;
    gemm -= hidden.cb + hidden.mb;
    cb -= hidden.cb;
    mb -= hidden.mb;
  }

  // Elementwise traffic per token and layer, in elements: two norms (read h, write h),
  // two residual adds (read 2h, write h) and the gated activation (read 2·F, write F)
  // over the FFN width F a token passes through.
  const h = model.hiddenSize;
  const moe = model.moe;
  const ffnWidthTotal =
    model.intermediateSize * model.denseLayers +
    (moe ? (moe.expertsPerToken * moe.expertIntermediateSize + moe.sharedIntermediateSize * (moe.sharedExperts > 0 ? 1 : 0)) * model.moeLayers : 0);
  const tokens = g.P + g.D;
  const elementwiseElements = tokens * (10 * h * model.numLayers + (3 * ffnWidthTotal) / r.tp);
  // The byte traffic above is a floor; real stacks add casts, routing and permutation
  // kernels, measured as a share of GEMM + attention time (auxiliaryKernelFraction).
  // With kernel tables, GEMM and attention times are measured kernels, not a share to scale:
  // the auxiliary kernels are priced by their bytes alone.
  const residual = residualStreamDtype(r.precision);
  const actBytes = DTYPE_BYTES[residual];
  const elementwiseBytesSeconds = (elementwiseElements * actBytes) / (hw.memoryBytesPerSecond * r.cal.memoryEfficiency);
  const elementwise =
    r.mode === 'spec' ? 0 : r.kernels?.device ? elementwiseBytesSeconds : Math.max(elementwiseBytesSeconds, r.cal.auxiliaryKernelFraction * (gemm + attention));
  if (r.mode !== 'spec') kernels += r.auxiliaryKernels ?? ELEMENTWISE_KERNELS_PER_LAYER * model.numLayers;

  // Communication.
  const tpLink = linkFor(hw, r, r.tp);
  const moeLayers = moe ? model.moeLayers : 0;
  const allReduces = expertParallel ? 2 * (model.numLayers - moeLayers) + moeLayers : 2 * model.numLayers;
  let allReduce = ringAllReduceSeconds(tokens * h * actBytes, r.tp, tpLink);
  if (r.kernels?.device && r.tp > 1 && tokens > 0) {
    const a = r.kernels.allReduce(tokens * h * actBytes, r.tp, r.tp <= r.perNode ? 'intra' : 'inter', residual);
    if (a.kind !== 'bound') allReduce = a.seconds;
    tally.add('allreduce', a.kind === 'bound' ? { kind: r.mode, from: `${hw.name} performance model (${r.mode})`, rows: [] } : a, allReduces);
    if (a.kind !== 'bound') tableSeconds += allReduces * allReduce;
  }
  const tensorParallel = allReduces * allReduce;
  let dispatch = 0;
  let combine = 0;
  if (expertParallel && moe && moeLayers > 0) {
    const sendTokens = tokens / r.tp;
    const k = moe.expertsPerToken;
    const nodes = Math.ceil(r.ep / r.perNode);
    const local = Math.min(r.ep, r.perNode);
    let interCopies: number;
    let intraCopies: number;
    if (nodes <= 1) {
      interCopies = 0;
      intraCopies = (k * (r.ep - 1)) / r.ep;
    } else if (r.dispatchMode === 'per-expert') {
      interCopies = (k * (nodes - 1)) / nodes;
      intraCopies = (k * (local - 1)) / r.ep;
    } else {
      // Distinct nodes reached by k experts placed uniformly over `nodes` nodes, capped by routing's node limit.
      const reached = Math.min(r.maxNodes, nodes * (1 - Math.pow(1 - 1 / nodes, k)));
      interCopies = (reached * (nodes - 1)) / nodes;
      intraCopies = (k * (local - 1)) / local;
    }
    const interLink = linkFor(hw, r, r.perNode + 1);
    const intraLink = linkFor(hw, r, 1);
    const a2a = (d: Dtype): number => {
      const b = sendTokens * h * wireBytesPerElement(d);
      return Math.max(linkSeconds(interCopies * b, interLink), linkSeconds(intraCopies * b, intraLink));
    };
    dispatch = moeLayers * a2a(r.precision.dispatch);
    combine = moeLayers * a2a(r.precision.combine);
    // Dispatch and combine phases priced from DeepEP's tables: table calls (see `add`), the others the model's kernels.
    let tablePhases = 0;
    // A large expert-parallel layout's dispatch and combine are DeepEP's: read from its tables
    // where they hold the layout, as aiconfigurator's MoEAllToAll prices them (blocks/moe.py:569-634).
    if (r.kernels?.device && r.largeExpertParallel) {
      const priced = deepEpSeconds(r.kernels, model, r, work, tokens, (d) => sendTokens * h * wireBytesPerElement(d) * (interCopies + intraCopies));
      for (const [phase, seconds] of [['dispatch', priced.dispatch], ['combine', priced.combine]] as const) {
        if (seconds === undefined) {
          tally.add('deepep', { kind: r.mode, from: `${hw.name} performance model (${r.mode}): ${priced.table ? `no row of ${priced.table} holds this layout` : 'no DeepEP table for the device'}`, rows: [] }, moeLayers);
          continue;
        }
        if (phase === 'dispatch') dispatch = moeLayers * seconds;
        else combine = moeLayers * seconds;
        tableSeconds += moeLayers * seconds;
        tablePhases++;
      }
      for (const a of priced.answers) tally.add('deepep', a, moeLayers);
    }
    if (r.mode !== 'spec') {
      kernels += (2 - tablePhases) * moeLayers;
      tableKernels += tablePhases * moeLayers;
    }
  }
  // A table call's row already holds a graph's launch gap: it pays only what a launch costs
  // beyond that (an eager launch's host overhead), nothing under CUDA graphs.
  const launch = kernels * r.launchSecondsPerKernel + tableKernels * Math.max(0, r.launchSecondsPerKernel - r.cal.graphKernelSeconds);
  const compute = gemm + attention + elementwise + launch;
  const communication = tensorParallel + dispatch + combine;
  // High-throughput all-to-all kernels hold some compute units while they overlap
  // computation, which meanwhile runs on the rest (DeepSeek's prefill: 108 of 132 SMs).
  let overlapped = compute;
  if (r.overlap > 0 && expertParallel && r.dispatchMode === 'per-node' && communication > 0) {
    overlapped = (compute * r.cal.computeUnits) / (r.cal.computeUnits - r.cal.overlapCommunicationUnits);
  }
  const hidden = r.overlap * Math.min(overlapped, communication);
  let exposed = r.overlap > 0 ? overlapped - compute + communication - hidden : communication;
  // All-to-all kernels that hold no compute units (DeepEP's low-latency ones) overlap stage by
  // stage, as DeepSeek's and SGLang's decode schedule runs them: see decodeScheduleExposed.
  // Prefill runs its own schedule (the whole-step rule above); a decode step runs this one.
  if (r.overlap > 0 && moe && moeLayers > 0 && r.dispatchMode === 'per-expert' && dispatch + combine > 0 && work.prefillTokens === 0) {
    // Shared experts on a second stream beside the routed ones (sharedExpertsOverlapRouted) take the longer of the two.
    const lane: DecodeStages = sharedBesideRouted ? { ...stages, routed: Math.max(stages.routed, stages.shared), shared: 0 } : { ...stages };
    // Tensor-parallel all-reduces run on the compute lane, in the stages that prepare attention and
    // the MoE block (SGLang's op_comm_prepare_attn and op_comm_prepare_mlp): they hide the other
    // micro-batch's all-to-all like computation does, and are themselves never hidden.
    const perLayerAllReduce = allReduces > 0 ? tensorParallel / allReduces : 0;
    lane.gate += perLayerAllReduce * moeLayers;
    const scheduled = tensorParallel + decodeScheduleExposed(lane, { layers: model.numLayers, moeLayers, dispatch, combine, otherCompute: elementwise + launch });
    exposed = (1 - r.overlap) * communication + r.overlap * scheduled;
  }
  const pp = r.pp;
  // Pipeline stages hold numLayers/pp layers each; the activations cross each boundary once.
  const stageDevices = r.tp * r.dp;
  const p2p = pp > 1 ? linkSeconds(tokens * h * actBytes, linkFor(hw, r, stageDevices >= r.perNode ? r.perNode + 1 : 1)) : 0;
  const scale = 1 / pp;
  const breakdown: StepTimeBreakdown = {
    gemmSeconds: gemm * scale,
    attentionSeconds: attention * scale,
    elementwiseSeconds: elementwise * scale,
    launchSeconds: launch * scale,
    tensorParallelSeconds: tensorParallel * scale,
    dispatchSeconds: dispatch * scale,
    combineSeconds: combine * scale,
    pipelineSeconds: p2p,
    computeSeconds: compute * scale,
    communicationSeconds: communication * scale,
    exposedCommunicationSeconds: exposed * scale,
    computeBoundSeconds: cb * scale,
    memoryBoundSeconds: mb * scale,
    flopSeconds: flopSeconds * scale,
    byteSeconds: byteSeconds * scale,
  };
  const fromTables = r.kernels ? { tableSeconds: tableSeconds * scale, opSeconds: (opSeconds + elementwise + launch + communication) * scale } : undefined;
  return { breakdown, stageSeconds: (compute + exposed) * scale, p2pSeconds: p2p, kernels: r.kernels ? tally.list() : undefined, fromTables };
}

/** Seconds of a step's ops by where the two-micro-batch decode schedule runs them, summed over layers. */
interface DecodeStages {
  /** Attention ops before the core: norms' neighbours, the Q and KV projections, MLA's query absorption. */
  beforeCore: number;
  /** The attention core and what follows it (MLA's value absorption, the output projection), over all layers. */
  core: number;
  /** The router (and a tensor-parallel layout's all-reduce before the MoE block), MoE layers only; runs beside the combine with the core. */
  gate: number;
  shared: number;
  routed: number;
  /** Embedding, LM head and dense FFN layers: outside the MoE layers' schedule, never overlapped. */
  outside: number;
}

function decodeStageOf(op: ModelOperation): keyof DecodeStages {
  switch (op.group) {
    case 'attention':
      return op.name === 'attn.o_proj' || op.name === 'attn.v_absorb' ? 'core' : 'beforeCore';
    case 'attention-core':
      return 'core';
    case 'router':
      return 'gate';
    case 'shared-expert':
      return 'shared';
    case 'routed-expert':
      return 'routed';
    default:
      return 'outside';
  }
}

/**
 * Communication left exposed when two micro-batches overlap all-to-all kernels that hold no
 * compute units, as DeepSeek's decode runs them (github.com/deepseek-ai/profile-data README,
 * decoding, and its figure assets/decode.jpg: SHARED + ATTN-0 beside DISPATCH, MLP alone,
 * ATTN-1 beside COMBINE) and SGLang's two-batch overlap does
 * (`_compute_moe_deepseek_blog_decode` in python/sglang/srt/operations_strategy.py, commit
 * 1e90555b, and python/sglang/srt/batch_overlap/operations_strategy.py, commit 0e02cef9: the
 * layer in stages split at each yield, the second micro-batch two stages behind). In every MoE layer one micro-batch's
 * dispatch runs while the compute stream runs its shared experts and the other's pre-core
 * attention; its routed experts wait for the dispatch and overlap nothing; its combine runs
 * while the other's core attention and router run. Per MoE layer and micro-batch:
 * max(shared + beforeCore, dispatch) + routed + max(core, combine). The stage seconds are one
 * micro-batch's (attention per layer over all layers; router, experts and a tensor-parallel
 * layout's all-reduce before the MoE block per MoE layer); the step's
 * elementwise and launch seconds spread over the stages in proportion to their seconds; dense
 * layers, embedding and LM head overlap nothing. Returns the seconds the schedule adds to its
 * stages' work (≥ 0, at most the dispatch and combine together); an all-reduce counted in
 * `gate` is work of the compute lane, which the caller adds as exposed itself.
 *
 * @example
 * decodeScheduleExposed({ beforeCore: 6, core: 6, gate: 0, shared: 3, routed: 3, outside: 0 }, { layers: 3, moeLayers: 3, dispatch: 3, combine: 9, otherCompute: 0 })
 * // => 3: per layer max(1 + 2, 1) + 1 + max(2, 3) = 7 against 6 of compute
 */
export function decodeScheduleExposed(st: DecodeStages, c: { layers: number; moeLayers: number; dispatch: number; combine: number; otherCompute: number }): number {
  const inLayers = st.beforeCore + st.core + st.gate + st.shared + st.routed;
  const spread = inLayers > 0 ? 1 + c.otherCompute / (inLayers + st.outside) : 1;
  const beforeCore = (st.beforeCore / c.layers) * spread;
  const core = (st.core / c.layers + st.gate / c.moeLayers) * spread;
  const shared = (st.shared / c.moeLayers) * spread;
  const routed = (st.routed / c.moeLayers) * spread;
  const dispatch = c.dispatch / c.moeLayers;
  const combine = c.combine / c.moeLayers;
  const perLayer = Math.max(shared + beforeCore, dispatch) + routed + Math.max(core, combine) - (shared + beforeCore + routed + core);
  return Math.min(c.dispatch + c.combine, c.moeLayers * perLayer);
}

/**
 * One MoE layer's DeepEP dispatch and combine from the kernel tables, each undefined where
 * no table row holds the layout. As aiconfigurator's large-EP graph queries them
 * (sdk/models/blocks/moe.py:565-583 and 626-634; operators/moe_a2a.rs:136-194, commit
 * 095f58a5): the normal kernels (deepep_ht) for a step with prefill, whose ranks send
 * their attention group's tokens over its tensor parallelism; the low-latency kernels for
 * decode, whose ranks send their group's tokens; over `ceil(ep / devices per node)` nodes.
 */
function deepEpSeconds(
  k: KernelPricer,
  model: ModelSpec,
  r: Resolved,
  work: CheckedWork,
  groupTokens: number,
  wireBytes: (d: Dtype) => number,
): { dispatch?: number; combine?: number; answers: KernelAnswer[]; table?: string } {
  const moe = model.moe!;
  const context = work.prefillTokens > 0;
  const table = k.tableFile(context ? 'deepep_normal' : 'deepep_ll');
  const tokens = Math.floor(context ? groupTokens / r.tp : groupTokens);
  if (tokens < 1) return { answers: [], table };
  const nodes = Math.ceil((r.ep * r.etp) / r.perNode);
  const base = { mode: context ? ('normal' as const) : ('ll' as const), tokens, ep: r.ep, nodes, hidden: model.hiddenSize, topk: moe.expertsPerToken, experts: moe.numExperts, scope: nodes > 1 ? ('inter' as const) : ('intra' as const) };
  const d = k.deepEp({ ...base, phase: 'dispatch', bytes: wireBytes(r.precision.dispatch) });
  const c = k.deepEp({ ...base, phase: 'combine', bytes: wireBytes(r.precision.combine) });
  const answers = [d, c].filter((a) => a.kind !== 'bound');
  return { ...(d.kind !== 'bound' ? { dispatch: d.seconds } : {}), ...(c.kind !== 'bound' ? { combine: c.seconds } : {}), answers, table };
}

function checkWork(work: StepWork): CheckedWork {
  if (typeof work !== 'object' || work === null) throw new InputError('work', work, 'a StepWork object');
  const P = checkInt('prefillTokens', work.prefillTokens, { min: 0, max: MAX_TOKENS });
  const D = checkInt('decodeTokens', work.decodeTokens, { min: 0, max: MAX_TOKENS });
  const C = checkNumber('contextTokens', work.contextTokens, { min: 0, max: MAX_TOKENS * MAX_TOKENS });
  const S = P === 0 ? 1 : checkPrefillSequences(work.prefillSequences, P);
  const out: CheckedWork = { prefillTokens: P, decodeTokens: D, contextTokens: D > 0 ? C : 0, prefillSequences: S };
  if (P > 0 && work.prefillAttentionPairs !== undefined) {
    out.prefillAttentionPairs = checkNumber('prefillAttentionPairs', work.prefillAttentionPairs, { min: 0, max: MAX_TOKENS * MAX_TOKENS });
  }
  return out;
}

function boundOf(b: StepTimeBreakdown): StepTime['bound'] {
  const c: Array<[StepTime['bound'], number]> = [
    ['compute', b.computeBoundSeconds],
    ['memory', b.memoryBoundSeconds + b.elementwiseSeconds],
    ['communication', b.exposedCommunicationSeconds + b.pipelineSeconds],
    ['launch', b.launchSeconds],
  ];
  return c.reduce((a, x) => (x[1] > a[1] ? x : a))[0];
}

/**
 * One of the two micro-batches that overlap runs: half of every token, sequence,
 * cached context and attention pair (DeepSeek balances attention across the two, so a
 * prompt may be split between them: deepseek-ai/profile-data README, prefilling).
 */
function halfWork(w: CheckedWork): CheckedWork {
  const P = w.prefillTokens / 2;
  const D = w.decodeTokens / 2;
  const out: CheckedWork = { prefillTokens: P, decodeTokens: D, contextTokens: w.contextTokens / 2, prefillSequences: halfPrompts(w.prefillSequences) };
  if (w.prefillAttentionPairs !== undefined) out.prefillAttentionPairs = w.prefillAttentionPairs / 2;
  return out;
}

/** Whole prompts split as whole prompts (at least one per micro-batch: a prompt may be split between them); a steady-state mean halves. */
function halfPrompts(S: number): number {
  return Number.isInteger(S) ? Math.max(1, Math.ceil(S / 2)) : S / 2;
}

/** A stage cost of one micro-batch, doubled: both micro-batches run every kernel and every collective. */
function twiceOf(c: StageCost): StageCost {
  const b = Object.fromEntries(Object.entries(c.breakdown).map(([k, v]) => [k, 2 * v])) as unknown as StepTimeBreakdown;
  return { breakdown: b, stageSeconds: 2 * c.stageSeconds, p2pSeconds: 2 * c.p2pSeconds, kernels: c.kernels?.map((u) => ({ ...u, calls: 2 * u.calls })), fromTables: c.fromTables && { tableSeconds: 2 * c.fromTables.tableSeconds, opSeconds: 2 * c.fromTables.opSeconds } };
}

/**
 * Overlap runs the step as two micro-batches of half the work each (DeepSeek's dual
 * micro-batch overlap; SGLang's two-batch overlap "halves the effective batch size"),
 * so every kernel sees half the tokens: memory-bound GEMMs read their weights twice,
 * and every collective pays its latency twice. A step of one token cannot be split.
 */
function stageCostOf(model: ModelSpec, hw: HardwareSpec, r: Resolved, w: CheckedWork): StageCost {
  if (r.overlap > 0 && w.prefillTokens + w.decodeTokens >= 2) return twiceOf(stageCost(model, hw, r, halfWork(w)));
  return stageCost(model, hw, r, w);
}

function stepTimeOf(model: ModelSpec, hw: HardwareSpec, r: Resolved, w: ReturnType<typeof checkWork>): { seconds: number; interval: number; cost: StageCost; eplb?: EplbLoad } {
  const at = (x: typeof w) => {
    const priced = withEplbLoad(model, r, x);
    const cost = stageCostOf(model, hw, priced, x);
    const seconds = r.pp * cost.stageSeconds + (r.pp - 1) * cost.p2pSeconds;
    return { seconds, interval: cost.stageSeconds + cost.p2pSeconds * (r.pp > 1 ? 1 : 0), cost, ...(priced.eplb ? { eplb: priced.eplb } : {}) };
  };
  // An empty step still has to be positive and no dearer than any step with work.
  if (w.prefillTokens + w.decodeTokens === 0) {
    const a = at({ prefillTokens: 1, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 });
    const b = at({ prefillTokens: 0, decodeTokens: 1, contextTokens: 0, prefillSequences: 1 });
    return a.seconds <= b.seconds ? a : b;
  }
  return at(w);
}

/**
 * Seconds of one engine step of `model` deployed on `hw` under `config`: every
 * operation priced per device (GEMMs with tile and wave quantization at the calibrated
 * fraction of peak, attention at its kernel's efficiency, everything against the
 * achieved memory bandwidth), plus elementwise traffic, kernel launches, tensor-parallel
 * all-reduces, expert-parallel dispatch and combine (α + bytes/β over NVLink or the
 * network), and pipeline sends; with `overlap`, communication hides behind
 * computation. The busiest attention group and the busiest expert device set the step.
 * A step that does not fit in memory is refused (InputError naming `memory`, saying by
 * how much). With efficiency 'spec', tp = 1 and one dtype it equals the datasheet
 * roofline of `rooflineStepCost`.
 *
 * A framework's measured kernel tables price every op they hold (`kernels`,
 * `fromTables`) and the performance model the rest (`efficiency`, by default the
 * hardware's calibration). A configuration naming no framework and no efficiency takes
 * the default engine's tables (vLLM's) where the kernel database holds the device, as
 * `batchlab deploy`, `search` and `simulate` price (`pricingFramework`);
 * `framework: null`, or an `efficiency`, prices with the performance model alone.
 *
 * @example
 * const w = { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 };
 * stepTime(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { parallelism: { tp: 4 } }, w).fromTables // the share vLLM's table rows priced: as `batchlab deploy --tp 4 --batch 64`
 * const t = stepTime(loadModel('deepseek-v3'), loadHardware('h800'),
 *   { parallelism: { dp: 32, ep: 32, overlap: true }, precision: { weights: 'fp8', activations: 'bf16' } },
 *   { prefillTokens: 0, decodeTokens: 32 * 128, contextTokens: 32 * 128 * 4096 });
 * t.seconds; t.breakdown.dispatchSeconds; t.bound
 */
export function stepTime(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, work: StepWork): StepTime {
  return stepTimer(model, hw, config)(work);
}

/**
 * `stepTime` with the configuration validated and resolved once (its kernel pricer and
 * table lookups built once, and kept between steps): for a caller that prices many
 * steps of one deployment, as a simulation does. Each call equals `stepTime` of its work.
 *
 * @example
 * const time = stepTimer(loadModel('llama-3.1-70b'), loadHardware('h200'), { parallelism: { tp: 4 }, framework: 'vllm' });
 * time({ prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 }).seconds
 */
export function stepTimer(model: ModelSpec, hw: HardwareSpec, config: PerfConfig): (work: StepWork) => StepTime {
  const r = resolve(model, hw, config);
  return (work: StepWork): StepTime => {
    const w = checkWork(work);
    if (r.checkMemory) {
      const seqs = w.decodeTokens + (w.prefillTokens > 0 ? w.prefillSequences : 0);
      const context = Math.ceil((w.contextTokens + w.prefillTokens) / Math.max(1, seqs));
      const fit = fitOf(model, hw, r, { sequences: seqs, context, tokens: w.prefillTokens + w.decodeTokens });
      if (!fit.fits) throw new InputError('memory', fit.totalBytes, `at most ${fit.capacityBytes} bytes per device`, fit.message);
    }
    const { seconds, interval, cost, eplb } = stepTimeOf(model, hw, r, w);
    const out: StepTime = {
      seconds,
      intervalSeconds: interval,
      bound: boundOf(cost.breakdown),
      breakdown: cost.breakdown,
      devices: r.tp * r.dp * r.pp,
      efficiency: r.mode,
    };
    if (cost.kernels) out.kernels = cost.kernels;
    if (cost.fromTables) out.fromTables = cost.fromTables;
    if (eplb) out.expertLoad = eplb;
    if (r.mode === 'typical') {
      // The datasheet bound hides all of what overlap can hide.
      const bound = stepTimeOf(model, hw, { ...r, mode: 'spec', cal: SPEC_CALIBRATION, launchSecondsPerKernel: 0, overlap: r.overlap > 0 ? 1 : 0, kernels: undefined }, w).seconds;
      out.band = { boundSeconds: bound, typicalSeconds: seconds };
    }
    return out;
  };
}

/**
 * A StepCostFn (seconds only) for simulators: the config is validated once, and each
 * call prices its work without the memory check or the band.
 *
 * @example
 * const cost = perfStepCost(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { parallelism: { tp: 4 } });
 * cost({ prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 }) // => seconds
 */
export function perfStepCost(model: ModelSpec, hw: HardwareSpec, config: PerfConfig): StepCostFn {
  const r = resolve(model, hw, config);
  return (work: StepWork): number => stepTimeOf(model, hw, r, checkWork(work)).seconds;
}

// ---------------------------------------------------------------- memory

function fitOf(model: ModelSpec, hw: HardwareSpec, r: Resolved, x: { sequences: number; context: number; tokens: number }): MemoryFit {
  const pc = paramCounts(model);
  const W = DTYPE_BYTES[r.precision.weights];
  const replicated = pc.total - pc.routedExperts;
  // Under EPLB the devices also hold the redundant copies: (experts + copies) / experts of the routed weights.
  const slotShare = r.eplb && model.moe ? (model.moe.numExperts + r.eplb.redundantExperts) / model.moe.numExperts : 1;
  const weightBytes = ((replicated / r.tp + (pc.routedExperts * slotShare) / (r.ep * r.etp)) * W) / r.pp;
  const seqs = Math.ceil(x.sequences / r.dp);
  const kvSplit = model.attention.kind === 'mla' ? 1 : Math.min(r.tp, model.attention.numKvHeads);
  const kvCacheBytes = (seqs * kvCacheBytesPerSequence(model, r.precision.kvCache, Math.min(MAX_TOKENS, Math.ceil(x.context)))) / kvSplit / r.pp;
  // Live activations of the widest operation: its input and output for the group's tokens.
  const moe = model.moe;
  const widest = Math.max(2 * model.intermediateSize, moe ? 2 * moe.expertIntermediateSize * moe.expertsPerToken : 0, model.vocabSize) / r.tp;
  const tokens = Math.ceil(x.tokens / r.dp);
  const activationBytes = tokens * (2 * model.hiddenSize + widest) * DTYPE_BYTES[residualStreamDtype(r.precision)];
  const totalBytes = weightBytes + kvCacheBytes + activationBytes;
  const capacityBytes = hw.memoryCapacityBytes * r.memoryFraction;
  const headroomBytes = capacityBytes - totalBytes;
  const gb = (b: number): string => `${(b / 1e9).toFixed(1)} GB`;
  const share = r.memoryFraction === 1 ? '' : `, ${+(r.memoryFraction * 100).toFixed(2)} % of memory`;
  const what = `${model.id} on ${r.tp * r.dp * r.pp}× ${hw.id} (tp ${r.tp}, dp ${r.dp}, ep ${r.ep}, pp ${r.pp}${share})`;
  const parts = `${gb(weightBytes)} weights (${r.precision.weights}) + ${gb(kvCacheBytes)} KV cache (${r.precision.kvCache}) + ${gb(activationBytes)} activations`;
  const message =
    headroomBytes >= 0
      ? `${what} fits: ${parts} = ${gb(totalBytes)} of ${gb(capacityBytes)} per device, ${gb(headroomBytes)} to spare`
      : `${what} does not fit: ${parts} = ${gb(totalBytes)} per device, ${gb(-headroomBytes)} more than its ${gb(capacityBytes)}`;
  return { fits: headroomBytes >= 0, weightBytes, kvCacheBytes, activationBytes, totalBytes, capacityBytes, headroomBytes, message };
}

/**
 * Memory one device needs to serve `batch` sequences of `context` tokens each
 * (weights of its shard, KV cache of its attention group's sequences, activations of
 * `tokens` tokens in flight, default `batch`), against its capacity
 * (`USABLE_MEMORY_FRACTION` of the datasheet, or the config's `memoryFraction`). The
 * one home of "does it fit": deployments, searches, published cases, the serving
 * replica and the CLI all ask it.
 *
 * @example
 * memoryFit(loadModel('deepseek-v3'), loadHardware('h100-sxm'), { precision: 'fp8' }, { batch: 1, context: 4096 }).message
 * // => "deepseek-v3 on 1× h100-sxm (tp 1, dp 1, ep 1, pp 1) does not fit: 671.0 GB weights (fp8) + … = 671.2 GB per device, 585.3 GB more than its 85.9 GB"
 */
export function memoryFit(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, opts: { batch: number; context: number; tokens?: number }): MemoryFit {
  const r = resolve(model, hw, config);
  if (typeof opts !== 'object' || opts === null) throw new InputError('opts', opts, 'an object { batch, context, tokens? }');
  const batch = checkInt('batch', opts.batch, { min: 0, max: MAX_TOKENS });
  const context = checkInt('context', opts.context, { min: 0, max: MAX_TOKENS });
  const tokens = checkInt('tokens', opts.tokens ?? batch, { min: 0, max: MAX_TOKENS });
  return fitOf(model, hw, r, { sequences: batch, context, tokens });
}

/**
 * The largest number of sequences of `context` tokens that fits (each decoding one
 * token per step); 0 when not even one does.
 *
 * @example
 * maxBatchThatFits(loadModel('llama-3.1-70b'), loadHardware('h200'), { precision: 'fp8', parallelism: { tp: 2 } }, 4096) // => a few hundred
 */
export function maxBatchThatFits(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, context: number): number {
  const r = resolve(model, hw, config);
  const c = checkInt('context', context, { min: 1, max: MAX_TOKENS });
  const fits = (b: number): boolean => fitOf(model, hw, r, { sequences: b, context: c, tokens: b }).fits;
  if (!fits(1)) return 0;
  const firstMiss = smallestTrue((b) => !fits(b), MAX_TOKENS);
  return Number.isFinite(firstMiss) ? firstMiss - 1 : MAX_TOKENS;
}

/** How much KV cache one instance holds beside its weights. */
export interface KvCapacity {
  /** KV-cache tokens the whole instance holds (every attention group's, summed). */
  tokens: number;
  /** KV-cache bytes one token takes on one device (its shard of heads and layers). */
  bytesPerTokenPerDevice: number;
  /** `memoryFit` of an empty batch: weights against capacity. */
  fit: MemoryFit;
}

/**
 * The KV-cache tokens an instance holds: each device's memory left beside its weights
 * (`memoryFit` of an empty batch) over one token's KV bytes on that device, times the
 * attention groups (each holds its own sequences). An InputError naming `memory` when
 * the weights leave no room for one token.
 *
 * @example
 * kvCacheCapacity(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { parallelism: { tp: 4 } }).tokens // => 617,950
 */
export function kvCacheCapacity(model: ModelSpec, hw: HardwareSpec, config: PerfConfig): KvCapacity {
  const r = resolve(model, hw, config);
  const fit = fitOf(model, hw, r, { sequences: 0, context: 0, tokens: 0 });
  const bytesPerTokenPerDevice = fitOf(model, hw, r, { sequences: 1, context: 1, tokens: 0 }).kvCacheBytes;
  const tokens = Math.floor((r.dp * fit.headroomBytes) / bytesPerTokenPerDevice);
  if (!(tokens >= 1)) throw new InputError('memory', fit.totalBytes, `room beside the weights for the KV cache of one token per device`, fit.message);
  return { tokens, bytesPerTokenPerDevice, fit };
}
