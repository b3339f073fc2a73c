import type { Dtype } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { computeKernelDonorId, hardwarePeakFlops, THIS_MACHINE } from '../hardware/spec.js';
import { machineId, thisMachineFacts } from '../util/machine.js';
import { rooflineSeconds } from '../perf/bound.js';
import { ringAllReduceSeconds } from '../perf/collective.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import type { KernelDb } from './load.js';
import { newestKernelVersion } from './load.js';
import type { KernelAnswer, KernelOp } from './schema.js';
import { KERNEL_OPS } from './schema.js';
import type { KernelHold, KernelTable } from './table.js';
import { lookupKernel } from './table.js';

/** Serving frameworks whose kernels the shipped database holds. */
export type KernelFramework = 'trtllm' | 'sglang' | 'vllm';

/**
 * Every shipped framework, for validation and menus.
 *
 * @example
 * KERNEL_FRAMEWORKS.includes('trtllm') // => true
 */
export const KERNEL_FRAMEWORKS: readonly KernelFramework[] = ['trtllm', 'sglang', 'vllm'];

/**
 * Kernel-database device folder of each catalog entry whose silicon the shipped tables
 * measured (aiconfigurator's system names). A catalog id that is itself a folder (this
 * machine's id, a user's own table) needs no entry; "this-machine" reads its machine id's
 * folder. H800 has none of its own: its hardware file names H100 SXM's for compute
 * (`computeKernelsFrom`), and its links differ.
 */
const DEVICE_FOLDER: Readonly<Record<string, string>> = { 'a100-80gb': 'a100_sxm', 'h100-sxm': 'h100_sxm', h200: 'h200_sxm', b200: 'b200_sxm' };

/** The device's own folder: aiconfigurator's system name, this machine's id, else the catalog id. */
function ownFolder(id: string): string {
  return DEVICE_FOLDER[id] ?? (id === THIS_MACHINE ? machineId(thisMachineFacts()) : id);
}

/**
 * Kernel families that are communication: read from the device's own folder only, never
 * borrowed, since they run over the device's own links.
 */
const LINK_OPS: ReadonlySet<KernelOp> = new Set<KernelOp>(['allreduce', 'nccl', 'deepep_normal', 'deepep_ll']);

/**
 * The large expert-parallel (wide-EP) tables: read from the folder of the framework that
 * `kernelPricer`'s `wideEp` option names, else the pricer's own framework's.
 */
const WIDE_EP_OPS: ReadonlySet<KernelOp> = new Set<KernelOp>(['wideep_moe', 'deepep_normal', 'deepep_ll']);

/**
 * DeepEP normal kernels' SM budget that aiconfigurator queries: its config's default
 * (aic-core/src/aiconfigurator_core/sdk/config.py:49, `sms: int = 20`; blocks/moe.py:578, commit 095f58a5).
 */
const DEEPEP_NORMAL_SMS = 20;

/** Which folders of a kernel database price a device (`kernelTablesOf`). */
export interface KernelTablesOf {
  /**
   * The folder of its compute and memory kernels: GEMM, attention, MLA, MLA BMM, MoE
   * expert compute and the quantize passes. aiconfigurator's MoE table times one
   * expert-parallel rank's grouped GEMMs on one GPU with no collective. At commit 095f58a5,
   * collector/trtllm/collect_moe.py:273-293 pins one device, 342-345 sets `moe_ep_size` on a
   * fresh Mapping, and 504-513 passes `reduce_results: False`. Its roofline
   * (aic-core/rust/aiconfigurator-core/src/operators/moe.rs:785-817, moe_sol) counts only
   * tensor-core FLOPs and memory bytes. All-to-all has its own table (moe_a2a).
   */
  compute: string;
  /** The folder of its collectives (all-reduce, NCCL, all-to-all): always its own. */
  links: string;
  /** The catalog id of the device whose compute tables these are, where they are another's. */
  donor?: string;
  /** Why `compute` is another device's folder, where it is; undefined for its own. */
  borrowed?: string;
}

/**
 * The kernel-database folders that price a catalog device. A device whose hardware file
 * names `computeKernelsFrom` (same datasheet compute and memory figures, checked by
 * `computeKernelDonor`) reads that device's folder for its compute and memory kernels
 * and its own for collectives, unless the database holds a folder of its own, whose
 * measurements then price everything. Every other device reads its own folder.
 *
 * @example
 * kernelTablesOf(loadHardware('h800')) // => { compute: 'h100_sxm', links: 'h800', donor: 'h100-sxm', borrowed: "h800 borrows h100-sxm's compute and memory kernel tables: same datasheet compute and memory figures" }
 * kernelTablesOf(loadHardware('h200')) // => { compute: 'h200_sxm', links: 'h200_sxm' }
 */
export function kernelTablesOf(hw: HardwareSpec, db?: KernelDb): KernelTablesOf {
  const own = ownFolder(hw.id);
  const donor = computeKernelDonorId(hw);
  if (!donor || db?.entries.some((e) => e.device === own)) return { compute: own, links: own };
  return { compute: ownFolder(donor), links: own, donor, borrowed: `${hw.id} borrows ${donor}'s compute and memory kernel tables: same datasheet compute and memory figures` };
}

/**
 * The kernel-database folder of a catalog device's compute kernels: aiconfigurator's
 * system name for the parts its tables measured, this machine's id for "this-machine"
 * (its own rows from `batchlab bench gemm`), the folder of the device it borrows compute
 * tables from (`kernelTablesOf`), else the catalog id itself.
 *
 * @example
 * kernelDeviceFolder(loadHardware('h200')) // => 'h200_sxm'
 * kernelDeviceFolder(loadHardware('h800')) // => 'h100_sxm'
 */
export function kernelDeviceFolder(hw: HardwareSpec): string {
  return kernelTablesOf(hw).compute;
}

/**
 * The frameworks whose compute tables a kernel database holds for a catalog device,
 * sorted (none for a device it does not hold: a spec-only part); without `hw`, for any
 * device. A device that borrows another's compute tables lists that device's frameworks.
 *
 * @example
 * kernelFrameworksOf(defaultKernelDb(), loadHardware('h200')) // => ['sglang', 'trtllm', 'vllm']
 * kernelFrameworksOf(defaultKernelDb(), loadHardware('h800')) // => ['sglang', 'trtllm', 'vllm'] (H100 SXM's)
 * kernelFrameworksOf(defaultKernelDb()) // => ['sglang', 'trtllm', 'vllm']
 */
export function kernelFrameworksOf(db: KernelDb | undefined, hw?: HardwareSpec): string[] {
  const folder = hw === undefined ? undefined : kernelTablesOf(hw, db).compute;
  return [...new Set((db?.entries ?? []).filter((e) => folder === undefined || e.device === folder).map((e) => e.framework))].sort();
}

/**
 * How a step model's label names the kernel tables of `framework` on a device: the
 * tables and their release (the newest the database holds for the device: a kernel of
 * another release is another kernel, and an engine preset may name a newer one), with
 * the donor of a device that borrows another's compute tables, or that the database
 * holds none for the device (every op is then the performance model's).
 *
 * @example
 * kernelTablesText(defaultKernelDb(), loadHardware('h800'), 'trtllm') // => "trtllm 1.3.0rc20 kernel tables (h100-sxm's for compute)"
 * kernelTablesText(defaultKernelDb(), loadHardware('mi300x'), 'vllm') // => 'no vllm kernel tables for mi300x'
 */
export function kernelTablesText(db: KernelDb | undefined, hw: HardwareSpec, framework: string): string {
  if (!kernelFrameworksOf(db, hw).includes(framework)) return `no ${framework} kernel tables for ${hw.id}`;
  const of = kernelTablesOf(hw, db);
  const version = newestKernelVersion(db, of.compute, framework);
  return `${framework}${version ? ` ${version}` : ''} kernel tables${of.donor ? ` (${of.donor}'s for compute)` : ''}`;
}

/** The element type a kernel-table dtype runs on the tensor cores, for its datasheet bound. */
function peakDtype(d: string): Dtype {
  if (d === 'fp8_block') return 'fp8';
  return checkOneOf('dtype', d, DTYPES);
}

/** A routing distribution's name as the tables file it ('balanced', 'power_law_1.01'). */
function checkDistribution(op: string, d: unknown): void {
  if (typeof d !== 'string' || !/^[A-Za-z0-9_.]+$/.test(d)) throw new InputError(`${op}.distribution`, d, "a routing distribution's name, e.g. 'balanced' or 'power_law_1.01'");
}

/**
 * Where an answer's rows were measured under versions other than their table folder's, which
 * (`KernelRow.measuredVersion`, the source file's version column); and where they were
 * measured on another device than the folder they are filed under, which (`KernelRow.measuredOn`).
 */
function measuredUnder(t: KernelTable, a: KernelAnswer): string[] {
  const versions = [...new Set(a.rows.map((r) => r.measuredVersion).filter((v): v is string => v !== undefined))];
  const devices = [...new Set(a.rows.map((r) => r.measuredOn).filter((v): v is string => v !== undefined))];
  return [
    ...(versions.length ? [`rows measured under ${t.framework} ${versions.join(', ')}, read from the earlier version folders aiconfigurator reads for ${t.version}`] : []),
    ...(devices.length ? [`rows measured on ${devices.join(', ')}, filed under ${t.device} by aiconfigurator`] : []),
  ];
}

const KIND_ORDER: readonly KernelAnswer['kind'][] = ['measured', 'interpolated', 'extrapolated', 'bound'];

/** The least certain kind among answers combined into one. */
function worstKind(parts: readonly KernelAnswer[]): KernelAnswer['kind'] {
  return parts.reduce<KernelAnswer['kind']>((w, p) => (KIND_ORDER.indexOf(p.kind) > KIND_ORDER.indexOf(w) ? p.kind : w), 'measured');
}

/** Query of context (prefill) attention: one call over `batch` prompts of `prompt` tokens. */
export interface ContextAttentionQuery {
  batch: number;
  prompt: number;
  /** Query heads and KV heads on one device (after tensor parallelism). */
  heads: number;
  kvHeads: number;
  headDim: number;
  dtype: string;
  kvDtype: string;
}

/** Query of generation (decode) attention: `batch` sequences each reading `context` cached tokens. */
export interface GenerationAttentionQuery {
  batch: number;
  context: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  dtype: string;
  kvDtype: string;
}

/** Query of MLA attention (DeepSeek's 192-wide query-key and 128-wide value heads over a 576-wide latent). */
export interface MlaQuery {
  batch: number;
  /** Prompt tokens (context phase) or cached tokens (generation phase). */
  tokens: number;
  /** Query heads on one device (after tensor parallelism). */
  heads: number;
  /** The attention kernel's dtype (the decode tables key on `kvDtype` alone). */
  dtype: string;
  kvDtype: string;
}

/** Query of one MoE layer's grouped expert GEMMs (gate, up and down projections of a gated FFN). */
export interface MoeQuery {
  /** Tokens entering the layer before dispatch: every attention data-parallel rank's together. */
  tokens: number;
  experts: number;
  topk: number;
  hidden: number;
  inter: number;
  dtype: string;
  tp: number;
  ep: number;
  /**
   * The routing distribution the kernel was timed under ('balanced', 'power_law_1.01', ...);
   * one the table lacks for `dtype` falls back to 'uniform', as aiconfigurator's does.
   */
  distribution: string;
}

/**
 * Query of one MoE layer's routed experts in a large expert-parallel layout: one whole
 * expert per device (aiconfigurator's MoEExpertCompute). A `distribution` the table lacks
 * for the phase falls back to 'uniform', then to the first the table holds for it.
 */
export interface WideEpMoeQuery extends Omit<MoeQuery, 'tp'> {
  /** 'context' (a step with prefill) or 'generation'. */
  phase: 'context' | 'generation';
  /**
   * The layout's expert slots: its experts plus their redundant copies (SGLang's physical
   * experts, `num_logical_experts + ep_num_redundant_experts`); `experts` where absent. At an
   * EP the table does not hold, they set the rows read (`wideEpTableReading`).
   */
  slots?: number;
}

/**
 * The factor that carries a DeepEP low-latency dispatch or combine timed over `fromNodes`
 * 8-GPU nodes to `toNodes` (both at least 2) at the same tokens per rank: the ratio of the
 * ranks' inter-node shares, `((toNodes − 1)/toNodes) / ((fromNodes − 1)/fromNodes)`.
 * batchlab's all-to-all model prices a per-expert dispatch (`dispatch: 'per-expert'`, as
 * DeepSeek's decode cases state it) as top-k copies of each token, a `(nodes − 1)/nodes` share
 * of them off the node; the rows' utilization of that bound is held, as the tables hold it
 * past their measured tokens. On H100 SXM's rows (7168 hidden, top-8 of 256) it
 * carries EP32 (4 nodes) to EP64 (8 nodes) as × 7/6 = 1.1667: the measured 142.97 µs dispatch
 * of 128 tokens per rank gives 166.80 µs against 166.77 µs measured, combine 263.27 µs gives
 * 307.15 µs against 304.73 µs.
 *
 * @example
 * deepEpLowLatencyEpScale(8, 18) // => (17/18) / (7/8) = 1.0794
 */
export function deepEpLowLatencyEpScale(fromNodes: number, toNodes: number): number {
  const a = checkInt('fromNodes', fromNodes, { min: 2, max: 1 << 16 });
  const b = checkInt('toNodes', toNodes, { min: 2, max: 1 << 16 });
  return ((b - 1) / b) / ((a - 1) / a);
}

/** Where the wide-EP MoE table is read for one layout: the EP of its rows and the tokens asked of them. */
export interface WideEpReading {
  /** The EP whose rows are read. */
  ep: number;
  /** The layer's tokens asked of those rows. */
  tokens: number;
  /** Provenance where the rows are another EP's: which, and the token scaling. */
  note?: string;
}

/**
 * Where a large-EP layout's routed experts are read from the wide-EP MoE table, whose rows
 * hold `experts / ep` whole experts per device and the layer's `tokens` (every attention
 * data-parallel rank's, each device given `tokens · topk / ep` rows on average). At an EP the
 * table holds (`held`), its own rows at the layer's tokens. At another, a device's expert work
 * is its slots (`slots / ep` experts, SGLang asserting that EP divides the slots:
 * python/sglang/srt/eplb/expert_location.py, `ExpertLocationMetadata._init_common`, commit
 * 01fec5c2) and its tokens: the rows at `EP' = experts / (slots / ep)` hold the same experts
 * per device, and read at `tokens · EP' / ep` they give each device the same
 * `tokens · topk / ep` rows. Where the slots per device are not whole, or the table holds no
 * `EP'`, a gap saying which (the caller's model then prices the experts).
 *
 * @example
 * wideEpTableReading({ experts: 256, slots: 288, ep: 144, tokens: 9216, topk: 8 }, [2, 4, 8, 16, 32, 64, 128, 256])
 * // => { ep: 128, tokens: 8192, note: 'EP 144 read at EP 128 …' }
 * wideEpTableReading({ experts: 256, slots: 256, ep: 72, tokens: 9216, topk: 8 }, [64, 128]).gap // => 'no EP 72 rows, and 256 slots over 72 devices are 3.556 per device, not whole …'
 */
export function wideEpTableReading(q: { experts: number; slots: number; ep: number; tokens: number; topk: number }, held: readonly number[]): WideEpReading | { gap: string } {
  const experts = checkInt('wideEp.experts', q.experts, { min: 1, max: 1 << 20 });
  const slots = checkInt('wideEp.slots', q.slots, { min: experts, max: experts * 64 });
  const ep = checkInt('wideEp.ep', q.ep, { min: 1, max: 1 << 20 });
  const tokens = checkNumber('wideEp.tokens', q.tokens, { min: 0, exclusiveMin: true, max: 1e15 });
  const topk = checkNumber('wideEp.topk', q.topk, { min: 0, exclusiveMin: true, max: experts });
  if (held.includes(ep)) return { ep, tokens };
  const eps = held.length ? `it holds EP ${[...held].sort((a, b) => a - b).join(', ')}` : 'it holds no row of this shape';
  const perDevice = slots / ep;
  if (!Number.isInteger(perDevice)) {
    return { gap: `no EP ${ep} rows, and ${slots} slots over ${ep} devices are ${+perDevice.toFixed(3)} per device, not whole (SGLang requires EP to divide the slots; ${eps})` };
  }
  const at = experts / perDevice;
  if (!Number.isInteger(at) || !held.includes(at)) {
    return { gap: `no EP ${ep} rows, and no EP whose rows hold ${perDevice} experts per device (${experts} / ${perDevice} = ${+at.toFixed(3)}; ${eps})` };
  }
  const perDeviceTokens = (tokens * topk) / ep;
  return {
    ep: at,
    tokens: (tokens * at) / ep,
    note: `EP ${ep} read at EP ${at}, whose rows hold the same ${perDevice} experts per device (${slots} slots over ${ep} devices), at tokens × ${at}/${ep}: the same ${+perDeviceTokens.toFixed(2)} routed tokens per device`,
  };
}

/** Query of one DeepEP dispatch or combine of one MoE layer (aiconfigurator's MoEAllToAll on the deepep backends). */
export interface DeepEpQuery {
  /** 'normal' (DeepEP's prefill kernels, aiconfigurator's deepep_ht) or 'll' (low-latency decode kernels). */
  mode: 'normal' | 'll';
  phase: 'dispatch' | 'combine';
  /** Tokens one rank sends (its attention group's, over its attention tensor parallelism in prefill). */
  tokens: number;
  /** Expert-parallel ranks and the nodes they span. */
  ep: number;
  nodes: number;
  hidden: number;
  topk: number;
  experts: number;
  /** Bytes one rank puts on the wire, for the datasheet bound where no table holds the layout. */
  bytes: number;
  scope: KernelScope;
}

/** Query of one of MLA's absorbed per-head decode matmuls (DeepSeek's 128-wide heads and 512-wide latent). */
export interface MlaBmmQuery {
  /** Decode tokens (rows per head). */
  tokens: number;
  /** Heads on one device. */
  heads: number;
  dtype: string;
  /** 'pre': the query's no-position part into the latent (W_UK); 'post': the latent output out to the heads (W_UV). */
  phase: 'pre' | 'post';
}

/** Where a collective runs: inside one node (NVLink) or across nodes. */
export type KernelScope = 'intra' | 'inter';

/** Kernel times of one (device, framework), with the datasheet bound where no table holds the kernel. */
export interface KernelPricer {
  /** The device folder the compute tables came from, or undefined for a spec-only device. */
  readonly device: string | undefined;
  /**
   * Where the compute tables are another device's (same datasheet compute and memory:
   * `kernelTablesOf`), why; each such answer's `from` says it too. Collectives are
   * never borrowed.
   */
  readonly borrowed?: string;
  readonly framework: string;
  /**
   * The framework whose wide-EP tables price a large expert-parallel layout: `kernelPricer`'s
   * `wideEp` option where named, else `framework`. A large-EP graph's structure follows it.
   */
  readonly wideEpFramework: string;
  gemm(m: number, n: number, k: number, dtype: string): KernelAnswer;
  /**
   * An FP8 GEMM whose activations carry a static per-tensor scale (a calibrated
   * checkpoint's), as aiconfigurator's `fp8_static` mode prices it: the measured dynamic
   * FP8 GEMM less the activation's amax-and-scale pass (`compute_scale`) it does not run,
   * and less the conversion pass too (`scale_matrix`) when its input already arrives in
   * FP8 (`quantizedInput`), never below the GEMM's datasheet roofline. Without the
   * quantize tables: the dynamic kernel's time, an upper bound.
   */
  gemmFp8Static(m: number, n: number, k: number, quantizedInput: boolean): KernelAnswer;
  contextAttention(q: ContextAttentionQuery): KernelAnswer;
  /** GQA/MHA decode attention; past the measured contexts or batches, the boundary row's utilization of the decode-attention roofline held ('extrapolated'), as aiconfigurator holds it. */
  generationAttention(q: GenerationAttentionQuery): KernelAnswer;
  /** MLA prefill attention; past the measured prompts or batches, the boundary row's utilization of aiconfigurator's context-MLA roofline held ('extrapolated'). */
  mlaContext(q: MlaQuery): KernelAnswer;
  /** MLA decode attention; past the measured contexts or batches, the boundary row's utilization of aiconfigurator's generation-MLA roofline held ('extrapolated'). */
  mlaGeneration(q: MlaQuery): KernelAnswer;
  /**
   * One absorbed MLA decode matmul as aiconfigurator's MLABmm prices it: the exact head
   * count's rows, else the next power of two's scaled by heads / that power; the 16-bit
   * rows where the table holds none of `dtype`; past the measured tokens, the boundary's
   * utilization of the BMM roofline held ('extrapolated').
   */
  mlaBmm(q: MlaBmmQuery): KernelAnswer;
  /**
   * One MoE layer's expert GEMMs from the MoE table at the query's routing distribution;
   * past the measured token counts, the boundary row's utilization of the MoE roofline
   * held ('extrapolated'), as aiconfigurator's MoE query does.
   */
  moe(q: MoeQuery): KernelAnswer;
  /**
   * One MoE layer's routed experts of a large expert-parallel layout from the wide-EP MoE
   * table (aiconfigurator's MoEExpertCompute): exact shape, the routing distribution, else
   * 'uniform', else the first the table holds for the phase; past the measured tokens the
   * boundary row's utilization of the MoE roofline held ('extrapolated'), as aiconfigurator
   * does. Between measured tokens batchlab interpolates in log-log space, as every table;
   * aiconfigurator interpolates this family linearly in raw values
   * (perf_database/axis_curve.rs:104-143, from moe_expert_compute.rs:394, commit 095f58a5).
   * The two differ by about 1 %: H100 SXM, context, EP 32, power_law_1.01, 419,430 tokens
   * between the 262,144- and 524,288-token rows reads 30.52 ms in log space, 30.27 ms linearly (+0.8 %).
   * At an EP the table lacks, the rows with the same experts per device (`q.slots / q.ep`) at the
   * tokens that give each device the same load (`wideEpTableReading`), the answer saying so;
   * where there are none, the bound, its `from` saying why.
   */
  wideEpMoe(q: WideEpMoeQuery): KernelAnswer;
  /**
   * Where `wideEpMoe` reads the query from (`wideEpTableReading` over the EPs the wide-EP
   * table holds for its shape, at the distribution it resolves), or undefined where the
   * pricer reads no wide-EP rows of that dtype and phase.
   */
  wideEpReading(q: WideEpMoeQuery): WideEpReading | { gap: string } | undefined;
  /**
   * One DeepEP dispatch or combine from the DeepEP tables (normal kernels at aiconfigurator's
   * default SM budget of 20, or low-latency): exact layout; past the measured tokens time per
   * token held ('extrapolated'), as aiconfigurator's token-proportional proxy roofline does.
   * Between measured tokens batchlab interpolates in log-log space, aiconfigurator linearly in
   * raw values (perf_database/axis_curve.rs:104-143 from moe_a2a.rs:221): on H100 SXM's normal
   * dispatch at 4 nodes, 3,000 tokens between the 2,048- and 4,096-token rows reads 1,404.4 µs
   * in log space and 1,397.2 µs linearly (+0.5 %). A low-latency query at an EP the table lacks
   * reads the largest multi-node EP below it that the table holds for the shape, times
   * `deepEpLowLatencyEpScale` ('extrapolated', the answer saying which EP it was read at);
   * aiconfigurator answers none there (perf_database/moe_a2a.rs:142-212).
   */
  deepEp(q: DeepEpQuery): KernelAnswer;
  /** The table file of an op this pricer reads, or undefined where it holds none. */
  tableFile(op: KernelOp): string | undefined;
  /**
   * The routing distributions an MoE table files rows under for `dtype` (and, for the wide-EP
   * table, `phase`), sorted; none where the pricer reads no such table. An fp16 query reads
   * bf16 rows where the device allows it, so it lists the distributions of both. The MoE queries fall
   * back from a distribution the table lacks; a caller that must not fall back asks here first.
   */
  moeDistributions(op: 'moe' | 'wideep_moe', dtype: string, phase?: 'context' | 'generation'): string[];
  /** All-reduce of a `bytes` buffer over `ranks` devices. */
  allReduce(bytes: number, ranks: number, scope: KernelScope, dtype: string): KernelAnswer;
  /** All-to-all where each rank sends `bytes` in all. */
  allToAll(bytes: number, ranks: number, scope: KernelScope, dtype: string): KernelAnswer;
  /** One point-to-point send (no table holds it: always the datasheet bound). */
  p2p(bytes: number, scope: KernelScope): KernelAnswer;
}

// The pricer methods whose answers are memoized (see the end of kernelPricer), and how many answers each keeps.
const MEMO_METHODS = ['gemm', 'gemmFp8Static', 'mlaBmm', 'moe', 'wideEpMoe', 'deepEp', 'allReduce', 'allToAll'] as const satisfies readonly (keyof KernelPricer)[];
const MEMO_LIMIT = 50_000;

/**
 * The kernel pricer of one device under one framework: answers from the database's
 * tables where it holds the kernel (measured, interpolated or extrapolated, with the
 * rows used), else the datasheet roofline with kind 'bound'. A device the database
 * does not hold (a spec-only catalog entry) answers every query as a bound.
 *
 * @example
 * const k = kernelPricer(loadKernelDb(), loadHardware('h200'), 'trtllm');
 * k.gemm(1, 1280, 8192, 'bf16').kind // => 'interpolated' (or 'measured' on a measured shape)
 */
export function kernelPricer(db: KernelDb | undefined, hw: HardwareSpec, framework: string, version?: string, opts: { wideEp?: string } = {}): KernelPricer {
  if (typeof framework !== 'string' || framework === '') throw new InputError('framework', framework, `a framework name, e.g. ${KERNEL_FRAMEWORKS.join(', ')}`);
  const wideEp = opts.wideEp === undefined ? undefined : checkOneOf('wideEp', opts.wideEp, KERNEL_FRAMEWORKS);
  const tables = kernelTablesOf(hw, db);
  const folder = tables.compute;
  const held = db?.entries.some((e) => e.device === folder && e.framework === framework && (version === undefined || e.version === version));
  if (db && !held && db.entries.some((e) => e.device === folder)) {
    const have = [...new Set(db.entries.filter((e) => e.device === folder).map((e) => `${e.framework} ${e.version}`))];
    throw new InputError('framework', version ? `${framework} ${version}` : framework, `one the kernel database holds for ${hw.id}${tables.borrowed ? ` (${tables.borrowed})` : ''}: ${have.join(', ')}`);
  }
  const device = held ? folder : undefined;
  const borrowed = device ? tables.borrowed : undefined;
  const datasheet = `${hw.name} datasheet roofline`;
  const bound = (seconds: number): KernelAnswer => ({ seconds, kind: 'bound', rows: [], from: datasheet });
  // Collectives read the device's own folder: borrowed compute tables never price its links.
  // The wide-EP tables of another framework (`opts.wideEp`) are read at its newest version;
  // those of the pricer's own framework at its pinned version, as every other table.
  // Each op's table, found once: a simulation prices thousands of steps with one pricer.
  const tableMemo = new Map<KernelOp, KernelTable | undefined>();
  const tableOf = (op: KernelOp): KernelTable | undefined => {
    if (!device || !db) return undefined;
    if (tableMemo.has(op)) return tableMemo.get(op);
    const folder = LINK_OPS.has(op) ? tables.links : device;
    const t = wideEp !== undefined && wideEp !== framework && WIDE_EP_OPS.has(op) ? db.table(folder, wideEp, op) : db.table(folder, framework, op, version);
    tableMemo.set(op, t);
    return t;
  };
  // fp16 where a table files only bf16 rows: read the bf16 rows when the device's datasheet
  // gives the two the same tensor-core peak (both are 2 bytes, so the same traffic).
  // aiconfigurator runs its float16 FMHA mode on the bf16 pipeline for the same reason
  // (aic-core/src/aiconfigurator_core/sdk/common.py:1275, FMHAQuantMode.float16, commit 095f58a5).
  // A collective moves bytes only, so its fp16 rows are its bf16 rows on any device.
  const sixteenAlike = hw.peakFlops.fp16 !== undefined && hw.peakFlops.fp16 === hw.peakFlops.bf16;
  const aliases = (op: KernelOp): boolean => sixteenAlike || LINK_OPS.has(op);
  const asBf16 = (op: KernelOp, query: Record<string, string | number>): Record<string, string | number> | undefined => {
    if (!aliases(op) || (query.dtype !== 'fp16' && query.kv_dtype !== 'fp16')) return undefined;
    return { ...query, ...(query.dtype === 'fp16' ? { dtype: 'bf16' } : {}), ...(query.kv_dtype === 'fp16' ? { kv_dtype: 'bf16' } : {}) };
  };
  const aliasNote = (op: KernelOp): string =>
    LINK_OPS.has(op)
      ? 'fp16 read from the bf16 rows: a collective moves bytes, and both are 2 bytes an element'
      : `fp16 read from the bf16 rows: ${hw.name}'s datasheet gives fp16 and bf16 the same tensor-core peak (${(hardwarePeakFlops(hw, 'bf16') / 1e12).toFixed(1)} TFLOP/s dense), both 2 bytes`;
  const ask = (op: KernelOp, query: Record<string, string | number>, hold?: KernelHold, note?: string): KernelAnswer | undefined => {
    const t = tableOf(op);
    let a = t ? lookupKernel(t, query, hold) : undefined;
    let alias: string | undefined;
    const bf16 = !a && t ? asBf16(op, query) : undefined;
    if (bf16) {
      a = lookupKernel(t!, bf16, hold);
      alias = aliasNote(op);
    }
    if (!a) return undefined;
    const notes = [
      ...(note ? [note] : []),
      ...(alias ? [alias] : []),
      ...(wideEp !== undefined && wideEp !== framework && WIDE_EP_OPS.has(op) ? [`${wideEp}'s wide-EP table`] : []),
      ...measuredUnder(t!, a),
      ...(borrowed && !LINK_OPS.has(op) ? [borrowed] : []),
    ];
    return notes.length ? { ...a, from: `${a.from} (${notes.join('; ')})` } : a;
  };
  // Whether a table files any row under these leading key values (a dtype, a distribution).
  const holds = (op: KernelOp, ...lead: string[]): boolean => {
    const whole = lead.join('|');
    return [...(tableOf(op)?.index.keys() ?? [])].some((k) => k === whole || k.startsWith(`${whole}|`));
  };
  // The dtype whose rows answer a query of `dtype` filed under the key values `lead` (a
  // distribution, a phase, a shape): its own where they hold it, else bf16's where `ask`
  // reads fp16 from them. Judged on the whole lead, so a table that files some fp16 rows
  // chooses a distribution among the rows that will answer, as `ask` falls back row by row.
  const tableDtype = (op: KernelOp, dtype: string, ...lead: string[]): string =>
    dtype === 'fp16' && aliases(op) && !holds(op, 'fp16', ...lead) && holds(op, 'bf16', ...lead) ? 'bf16' : dtype;
  // The attention (FMHA) dtype whose rows answer an attention query over a `kvDtype` cache,
  // and why where it is not the one asked. Decode: aiconfigurator keys no generation table on
  // the attention dtype, only on the cache's ('no generation table keys on fmha',
  // sdk/models/helpers.py:892; query_generation_attention_table takes the KV mode alone,
  // rust/aiconfigurator-core/src/operators/attention.rs:704-713, commit 095f58a5), so a table
  // that files its rows under one attention dtype answers every other. Prefill: where the
  // table holds no rows at the asked attention dtype over that cache but holds bf16 ones,
  // they answer (MLA prefill likewise: aiconfigurator's context op for the DeepSeek family is
  // its MLA module), as aiconfigurator falls back from an FP8 FMHA the tables lack
  // (helpers.py:936-943; vLLM's tables hold only bf16 FMHA, helpers.py:718-721): slower than
  // an engine that runs FP8 attention, which the note says.
  const attentionMemo = new Map<string, { dtype: string; note?: string }>();
  const attentionDtype = (op: 'context_attention' | 'generation_attention' | 'mla_context', dtype: string, kvDtype: string): { dtype: string; note?: string } => {
    const key = `${op}|${dtype}|${kvDtype}`;
    let a = attentionMemo.get(key);
    if (a === undefined) attentionMemo.set(key, (a = resolveAttentionDtype(op, dtype, kvDtype)));
    return a;
  };
  const resolveAttentionDtype = (op: 'context_attention' | 'generation_attention' | 'mla_context', dtype: string, kvDtype: string): { dtype: string; note?: string } => {
    if (holds(op, tableDtype(op, dtype, kvDtype), kvDtype)) return { dtype };
    const filed = [...new Set([...(tableOf(op)?.index.keys() ?? [])].map((k) => k.split('|')).filter((k) => k[1] === kvDtype).map((k) => k[0]))].sort();
    if (op === 'generation_attention' && filed.length > 0) {
      const under = filed.includes('bf16') ? 'bf16' : filed[0];
      return { dtype: under, note: `${dtype} attention with the KV cache in ${kvDtype}, read from the rows filed under ${under} attention: decode-attention tables are keyed by the cache's dtype alone, as aiconfigurator's` };
    }
    if ((op === 'context_attention' || op === 'mla_context') && filed.includes('bf16')) {
      return { dtype: 'bf16', note: `no ${dtype}-attention rows with the KV cache in ${kvDtype}: the table's bf16-attention rows, as aiconfigurator falls back; slower than an engine running ${dtype} attention` };
    }
    return { dtype };
  };
  // Every dtype whose rows can answer a query of `dtype`.
  const answeringDtypes = (op: KernelOp, dtype: string): string[] => (dtype === 'fp16' && aliases(op) ? ['fp16', 'bf16'] : [dtype]);
  const link = (scope: KernelScope) => ({ latencySeconds: 0, bytesPerSecond: scope === 'intra' ? hw.intraNodeBytesPerSecond : hw.interNodeBytesPerSecond });
  const mem = hw.memoryBytesPerSecond;
  const bytesOf = (d: string): number => DTYPE_BYTES[peakDtype(d)];
  // Every size is checked up front, so a bound never turns a bad query into NaN.
  const sizes = (op: string, q: Record<string, unknown>): void => {
    for (const f in q) {
      const v = q[f];
      // The common case checked without building the field's name; checkNumber words the refusal.
      if (typeof v === 'string' || (typeof v === 'number' && v > 0 && v <= 1e15)) continue;
      checkNumber(`${op}.${f}`, v, { min: 0, exclusiveMin: true, max: 1e15 });
    }
  };
  const gemmRoofline = (m: number, n: number, k: number, dtype: string): number =>
    rooflineSeconds(2 * m * n * k, (m * k + k * n + m * n) * bytesOf(dtype), hardwarePeakFlops(hw, peakDtype(dtype)), mem);
  // aiconfigurator's MoE roofline (aic-core/rust/aiconfigurator-core/src/operators/moe.rs:799-817,
  // moe_sol, commit 095f58a5), in real rather than integer division: a gated FFN's three
  // GEMMs over tokens·topk routed rows split tp·ep ways; bytes are the rows in and out, the
  // intermediate, and the weights of the experts those rows can reach.
  const moeRoofline = (q: Pick<MoeQuery, 'topk' | 'ep' | 'tp' | 'experts' | 'dtype'>, tokens: number, hidden: number, inter: number): number => {
    const rows = tokens * q.topk;
    const flops = (rows * hidden * inter * 3 * 2) / q.ep / q.tp;
    const elements = (rows / q.ep) * hidden * 2 + ((rows / q.ep) * inter * 3) / q.tp + ((hidden * inter * 3) / q.tp) * Math.min(q.experts / q.ep, rows / q.ep);
    return rooflineSeconds(flops, elements * bytesOf(q.dtype), hardwarePeakFlops(hw, peakDtype(q.dtype)), mem);
  };
  // moe_expert_compute.rs:299-336 (_resolve_ep_distribution): the requested distribution where
  // the table holds it for the dtype and phase, else 'uniform', else the first it holds.
  const wideDistribution = (q: WideEpMoeQuery): string | undefined => {
    const held = (d: string): boolean => holds('wideep_moe', tableDtype('wideep_moe', q.dtype, d, q.phase), d, q.phase);
    const dts = answeringDtypes('wideep_moe', q.dtype);
    const first = [...(tableOf('wideep_moe')?.index.keys() ?? [])].map((k) => k.split('|')).find((k) => dts.includes(k[0]) && k[2] === q.phase)?.[1];
    return held(q.distribution) ? q.distribution : held('uniform') ? 'uniform' : first;
  };
  // The EPs the wide-EP table files rows under for the query's shape (the key's last field).
  const wideReading = (q: WideEpMoeQuery, distribution: string): WideEpReading | { gap: string } => {
    const rest = [distribution, q.phase, q.experts, q.topk, q.hidden, q.inter].map(String);
    const shape = [tableDtype('wideep_moe', q.dtype, ...rest), ...rest].join('|');
    const held = [...(tableOf('wideep_moe')?.index.keys() ?? [])].filter((k) => k.startsWith(`${shape}|`)).map((k) => Number(k.slice(shape.length + 1)));
    return wideEpTableReading({ experts: q.experts, slots: q.slots ?? q.experts, ep: q.ep, tokens: q.tokens, topk: q.topk }, held);
  };
  // DeepEP's low-latency kernels at an EP their table lacks: the nearest multi-node EP below
  // it that the table holds for the shape, scaled by `deepEpLowLatencyEpScale`.
  const lowLatencyAtOtherEp = (q: DeepEpQuery, hold: KernelHold): KernelAnswer | undefined => {
    const shape = `|${q.hidden}|${q.topk}|${q.experts}`;
    const held = [...(tableOf('deepep_ll')?.index.keys() ?? [])]
      .filter((k) => k.startsWith(`${q.phase}|`) && k.endsWith(shape))
      .map((k) => k.split('|').map(Number))
      .map(([, nodes, ep]) => ({ nodes, ep }))
      .filter((r) => r.nodes >= 2 && r.ep < q.ep && q.nodes > r.nodes)
      .sort((a, b) => b.ep - a.ep);
    const from = held[0];
    if (!from) return undefined;
    const a = ask('deepep_ll', { phase: q.phase, nodes: from.nodes, ep: from.ep, hidden: q.hidden, topk: q.topk, experts: q.experts, tokens: q.tokens }, hold);
    if (!a) return undefined;
    const scale = deepEpLowLatencyEpScale(from.nodes, q.nodes);
    const note = `EP ${q.ep} over ${q.nodes} nodes read at EP ${from.ep} over ${from.nodes} nodes × ${scale.toFixed(4)}, the inter-node share (${q.nodes} − 1)/${q.nodes} over (${from.nodes} − 1)/${from.nodes}: the row's utilization of the per-expert all-to-all bound held`;
    return { ...a, seconds: a.seconds * scale, kind: 'extrapolated', from: `${a.from} (${note})` };
  };
  const pricer: KernelPricer = {
    device,
    ...(borrowed ? { borrowed } : {}),
    framework,
    wideEpFramework: wideEp ?? framework,
    gemm(m, n, k, dtype) {
      sizes('gemm', { m, n, k });
      return ask('gemm', { dtype, m, n, k }) ?? bound(gemmRoofline(m, n, k, dtype));
    },
    gemmFp8Static(m, n, k, quantizedInput) {
      sizes('gemm', { m, n, k });
      // aic-core/rust/aiconfigurator-core/src/operators/gemm.rs:73-167 (query, the fp8_static branch)
      // at commit 095f58a5: the 'fp8' table less compute_scale(m, k), less scale_matrix(m, k)
      // with low_precision_input, floored at the GEMM's roofline.
      const floor = gemmRoofline(m, n, k, 'fp8');
      const g = ask('gemm', { dtype: 'fp8', m, n, k });
      if (!g) return bound(floor);
      const passes = [ask('compute_scale', { dtype: 'fp8', m, k }), ...(quantizedInput ? [ask('scale_matrix', { dtype: 'fp8', m, k })] : [])];
      if (passes.some((p) => p === undefined)) return g;
      const parts = [g, ...(passes as KernelAnswer[])];
      const seconds = Math.max(floor, g.seconds - parts.slice(1).reduce((s, p) => s + p.seconds, 0));
      return { seconds, kind: worstKind(parts), rows: parts.flatMap((p) => p.rows), from: g.from };
    },
    contextAttention(q) {
      sizes('contextAttention', { ...q });
      const kvKey = q.heads === q.kvHeads ? q.heads : q.kvHeads;
      const fmha = attentionDtype('context_attention', q.dtype, q.kvDtype);
      const found = ask('context_attention', { dtype: fmha.dtype, kv_dtype: q.kvDtype, kv_heads: kvKey, head_dim: q.headDim, heads: q.heads, prompt: q.prompt, batch: q.batch }, undefined, fmha.note);
      if (found) return found;
      const flops = 4 * q.batch * q.heads * q.headDim * prefillAttentionPairs(q.prompt, 0);
      const bytes = q.batch * q.prompt * q.headDim * (2 * q.heads * bytesOf(q.dtype) + 2 * q.kvHeads * bytesOf(q.kvDtype));
      return bound(rooflineSeconds(flops, bytes, hardwarePeakFlops(hw, peakDtype(q.dtype)), mem));
    },
    generationAttention(q) {
      sizes('generationAttention', { ...q });
      const kvKey = q.heads === q.kvHeads ? q.heads : q.kvHeads;
      // The decode-attention roofline: 4·b·n·h·s FLOPs, the cache's b·s·2·n_kv·h elements read.
      const roofline = (p: Readonly<Record<string, number>>): number =>
        rooflineSeconds(4 * p.batch * p.heads * q.headDim * p.context, p.batch * p.context * 2 * q.kvHeads * q.headDim * bytesOf(q.kvDtype), hardwarePeakFlops(hw, peakDtype(q.dtype)), mem);
      // Past the measured contexts and batches (the collector stops at about 2^19 cached tokens
      // per call, so a large batch at a long context lies outside) the boundary row's utilization
      // of the roofline is held, as aiconfigurator does for generation attention ('Past the
      // collected range — including the truncated large-seq x large-batch staircase corner — the
      // engine holds the boundary util', aic-core/rust/aiconfigurator-core/src/perf_database/
      // attention.rs:24-27, commit 095f58a5): a log-log slope below 1 along the batch would read
      // the cache faster than any measured row (H200 SXM's bf16 rows at 8 KV heads reach 91 % of
      // the datasheet bandwidth; the slope read Llama 3.1 8B's at 1,000 + 500 tokens and
      // batch 492 at 100 %).
      const point = { heads: q.heads, context: q.context, batch: q.batch };
      const fmha = attentionDtype('generation_attention', q.dtype, q.kvDtype);
      const found = ask('generation_attention', { dtype: fmha.dtype, kv_dtype: q.kvDtype, kv_heads: kvKey, head_dim: q.headDim, ...point }, { axes: ['context', 'batch'], roofline }, fmha.note);
      return found ?? bound(roofline(point));
    },
    mlaContext(q) {
      sizes('mlaContext', { ...q });
      // aiconfigurator's context-MLA roofline at no prefix (aic-core/rust/aiconfigurator-core/src/
      // perf_database/mla.rs:689-705, commit 095f58a5): DeepSeek-V3's 192-wide query-key and
      // 128-wide value heads, b·n·320·s² FLOPs at the attention dtype's peak; b·n·320·s
      // elements of KV cache and twice that of activations.
      const roofline = (p: Readonly<Record<string, number>>): number =>
        rooflineSeconds(p.batch * p.heads * 320 * p.prompt * p.prompt, p.batch * p.heads * (bytesOf(q.kvDtype) * p.prompt * 320 + 2 * p.prompt * 320), hardwarePeakFlops(hw, peakDtype(q.dtype)), mem);
      // Past the measured prompts and batches the boundary row's utilization is held, as
      // aiconfigurator's perf_interp engine holds one (perf_interp.rs:19-25; for several
      // axes at once it transfers it from the nearest collected rows instead, 471-487).
      const point = { heads: q.heads, prompt: q.tokens, batch: q.batch };
      const fmha = attentionDtype('mla_context', q.dtype, q.kvDtype);
      const found = ask('mla_context', { dtype: fmha.dtype, kv_dtype: q.kvDtype, ...point }, { axes: ['prompt', 'batch'], roofline }, fmha.note);
      return found ?? bound(roofline(point));
    },
    mlaGeneration(q) {
      sizes('mlaGeneration', { ...q });
      // aiconfigurator's generation-MLA roofline (perf_database/mla.rs:728-741): 2·b·n·1088·s
      // FLOPs at the FP8 peak for an FP8 cache, else the 16-bit one; b·(n·1088·2 + (s − 1)·576)
      // elements, the latent in the cache's dtype.
      const peak = hardwarePeakFlops(hw, q.kvDtype === 'fp8' ? 'fp8' : 'bf16');
      const roofline = (p: Readonly<Record<string, number>>): number =>
        rooflineSeconds(2 * p.batch * p.heads * 1088 * p.context, p.batch * (p.heads * 1088 * 2 + Math.max(0, p.context - 1) * 576 * bytesOf(q.kvDtype)), peak, mem);
      const point = { heads: q.heads, context: q.tokens, batch: q.batch };
      const found = ask('mla_generation', { kv_dtype: q.kvDtype, ...point }, { axes: ['context', 'batch'], roofline });
      return found ?? bound(roofline(point));
    },
    mlaBmm(q) {
      sizes('mlaBmm', { ...q });
      checkOneOf('mlaBmm.phase', q.phase, ['pre', 'post'] as const);
      // aic-core/rust/aiconfigurator-core/src/perf_database/mla.rs:763-775 (mla_bmm_sol, commit
      // 095f58a5): 2·t·n·128·512 FLOPs; n·(t·640 + 128·512) elements of the requested dtype.
      const roofline = (tokens: number): number =>
        rooflineSeconds(2 * tokens * q.heads * 128 * 512, q.heads * (tokens * 640 + 128 * 512) * bytesOf(q.dtype), hardwarePeakFlops(hw, peakDtype(q.dtype)), mem);
      // mla.rs:307-318 and 484-495: the requested dtype's rows where the table holds any, else bfloat16's.
      const dtype = holds('mla_bmm', q.dtype) ? q.dtype : 'bf16';
      // operators/mla.rs:437-457 (resolve_bmm_slice_heads): exact heads, else the next power
      // of two's rows scaled linearly by the head ratio (the BMM is batched per head).
      const pow2 = 2 ** Math.ceil(Math.log2(q.heads));
      const exact = pow2 === q.heads || holds('mla_bmm', dtype, q.phase, String(q.heads));
      const heads = exact ? q.heads : pow2;
      const scale = q.heads / heads;
      const hold: KernelHold = { axes: ['tokens'], roofline: (p) => roofline(p.tokens) };
      const found = ask('mla_bmm', { dtype, phase: q.phase, heads, tokens: q.tokens }, hold);
      return found ? { ...found, seconds: found.seconds * scale } : bound(roofline(q.tokens));
    },
    moe(q) {
      checkDistribution('moe', q.distribution);
      sizes('moe', { ...q });
      const roofline = (tokens: number, hidden: number, inter: number): number => moeRoofline(q, tokens, hidden, inter);
      // perf_database/moe_index.rs:84-125 (resolve_uniform): the requested distribution where
      // the table holds it for the dtype, else 'uniform'.
      const distribution = holds('moe', tableDtype('moe', q.dtype, q.distribution), q.distribution) ? q.distribution : 'uniform';
      // perf_database/moe.rs:146-209: beyond the measured token counts the boundary's
      // utilization of the roofline is held (k_tail = 1).
      const hold: KernelHold = { axes: ['tokens'], roofline: (p) => roofline(p.tokens, p.hidden, p.inter) };
      const found = ask('moe', { dtype: q.dtype, distribution, experts: q.experts, topk: q.topk, tp: q.tp, ep: q.ep, hidden: q.hidden, inter: q.inter, tokens: q.tokens }, hold);
      return found ?? bound(roofline(q.tokens, q.hidden, q.inter));
    },
    wideEpMoe(q) {
      checkDistribution('wideEpMoe', q.distribution);
      checkOneOf('wideEpMoe.phase', q.phase, ['context', 'generation'] as const);
      sizes('wideEpMoe', { ...q });
      // The WideEP roofline (perf_database/moe_expert_compute.rs:453-501, get_sol_latency,
      // commit 095f58a5) is the fused one with tp 1 and num_slots = num_experts.
      const roofline = (tokens: number): number => moeRoofline({ ...q, tp: 1 }, tokens, q.hidden, q.inter);
      const distribution = wideDistribution(q);
      const reading = distribution === undefined ? undefined : wideReading(q, distribution);
      if (!reading || 'gap' in reading) return reading ? { ...bound(roofline(q.tokens)), from: `${datasheet} (${reading.gap})` } : bound(roofline(q.tokens));
      // moe_expert_compute.rs:362-394: beyond the measured tokens the boundary's utilization of the
      // roofline is held; one measured token count queried below is no answer. Between them the
      // table's log-log reading, not aiconfigurator's linear one (see `wideEpMoe`'s doc). At another
      // EP's rows (`wideEpTableReading`) the roofline is that EP's, as the rows are.
      const at = { ...q, ep: reading.ep };
      const hold: KernelHold = { axes: ['tokens'], roofline: (p) => moeRoofline({ ...at, tp: 1 }, p.tokens, q.hidden, q.inter) };
      const { dtype, phase, experts, topk, hidden, inter } = q;
      const found = ask('wideep_moe', { dtype, distribution: distribution!, phase, experts, topk, hidden, inter, ep: reading.ep, tokens: reading.tokens }, hold);
      if (!found) return bound(roofline(q.tokens));
      return reading.note ? { ...found, from: `${found.from} (${reading.note})` } : found;
    },
    wideEpReading(q) {
      checkDistribution('wideEpMoe', q.distribution);
      checkOneOf('wideEpMoe.phase', q.phase, ['context', 'generation'] as const);
      sizes('wideEpMoe', { ...q });
      const distribution = wideDistribution(q);
      return distribution === undefined ? undefined : wideReading(q, distribution);
    },
    deepEp(q) {
      checkOneOf('deepEp.mode', q.mode, ['normal', 'll'] as const);
      checkOneOf('deepEp.phase', q.phase, ['dispatch', 'combine'] as const);
      checkOneOf('deepEp.scope', q.scope, ['intra', 'inter'] as const);
      sizes('deepEp', { ...q });
      // perf_database/moe_a2a.rs:39-46: past the measured tokens the proxy roofline is the token
      // count itself, so the boundary's time per token is held.
      const hold: KernelHold = { axes: ['tokens'], roofline: (p) => p.tokens };
      const { phase, nodes, ep, hidden, topk, experts, tokens } = q;
      const found =
        q.mode === 'normal'
          ? ask('deepep_normal', { phase, nodes, ep, hidden, topk, experts, sms: DEEPEP_NORMAL_SMS, tokens }, hold)
          : (ask('deepep_ll', { phase, nodes, ep, hidden, topk, experts, tokens }, hold) ?? lowLatencyAtOtherEp(q, hold));
      return found ?? bound(q.bytes / link(q.scope).bytesPerSecond);
    },
    tableFile(op) {
      return tableOf(checkOneOf('op', op, KERNEL_OPS))?.file;
    },
    moeDistributions(op, dtype, phase) {
      checkOneOf('op', op, ['moe', 'wideep_moe'] as const);
      // Both tables' keys lead with dtype and distribution; the wide-EP table's third is the phase.
      const keys = [...(tableOf(op)?.index.keys() ?? [])].map((k) => k.split('|'));
      const dts = answeringDtypes(op, dtype);
      const held = keys.filter((k) => dts.includes(k[0]) && (op === 'moe' || phase === undefined || k[2] === phase)).map((k) => k[1]);
      return [...new Set(held)].sort();
    },
    allReduce(bytes, ranks, scope, dtype) {
      sizes('allReduce', { bytes, ranks });
      if (ranks <= 1) return bound(0);
      const q = { dtype, scope, ranks, bytes };
      return ask('allreduce', q) ?? ask('nccl', { ...q, collective: 'all_reduce' }) ?? bound(ringAllReduceSeconds(bytes, ranks, link(scope)));
    },
    allToAll(bytes, ranks, scope, dtype) {
      sizes('allToAll', { bytes, ranks });
      if (ranks <= 1) return bound(0);
      return ask('nccl', { collective: 'alltoall', dtype, scope, ranks, bytes }) ?? bound((((ranks - 1) / ranks) * bytes) / link(scope).bytesPerSecond);
    },
    p2p(bytes, scope) {
      sizes('p2p', { bytes });
      return bound(bytes / link(scope).bytesPerSecond);
    },
  };
  // A simulation prices thousands of steps whose GEMMs, expert layers and collectives repeat
  // the same sizes (the batch is a small integer): their answers are kept, keyed by every
  // argument. Attention, whose context changes every step, is asked afresh. A pure function
  // of its arguments either way, so the memo changes no answer.
  for (const name of MEMO_METHODS) {
    const f = pricer[name] as (...args: unknown[]) => KernelAnswer;
    const memo = new Map<string, KernelAnswer>();
    (pricer as unknown as Record<string, unknown>)[name] = (...args: unknown[]): KernelAnswer => {
      // Field names and values in the caller's order: an order that differs only misses the memo.
      let key = '';
      for (const a of args) {
        if (typeof a === 'object' && a !== null) for (const k in a) key += `${k}=${(a as Record<string, unknown>)[k]},`;
        else key += `${a}|`;
      }
      let answer = memo.get(key);
      if (answer === undefined) {
        answer = f(...args);
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(key, answer);
      }
      return answer;
    };
  }
  return pricer;
}
