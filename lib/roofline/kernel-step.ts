import { DTYPE_BYTES, type Dtype } from '../core/types.js';
import { routingLoadFactorBasis } from './routing.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import type { KernelAnswer, KernelAnswerKind } from '../kernels/schema.js';
import { checkNumber } from '../util/validate.js';
import type { KernelPricer } from '../kernels/pricer.js';
import type { ModelOperation } from '../models/ops.js';
import type { ModelSpec } from '../models/spec.js';
import type { EplbLoad, ExpertRouting, Fp8Scaling } from './deployment.js';

/** How many kernel calls of one family a step priced from one source, and of which kind. */
export interface KernelUsage {
  /** 'gemm', 'attention', 'mla' (MLA attention), 'mla_bmm' (its absorbed decode matmuls), 'moe' (routed experts), 'allreduce', or the op group priced by the performance model instead. */
  op: string;
  /** The answer's kind, or the efficiency mode of the model that priced it where no table did. */
  kind: KernelAnswerKind | 'calibrated' | 'typical' | 'spec';
  /** The table file, or the model that priced it. */
  from: string;
  /** Kernel calls priced (one per layer and per matmul). */
  calls: number;
  /** Distinct measured rows those answers rest on. */
  rows: number;
}

/** Collects KernelUsage over one step. */
export class KernelTally {
  private readonly usage = new Map<string, { u: KernelUsage; rows: Set<unknown> }>();
  add(op: string, a: { kind: KernelUsage['kind']; from: string; rows: readonly unknown[] }, calls: number): void {
    const key = `${op}|${a.kind}|${a.from}`;
    let e = this.usage.get(key);
    if (!e) this.usage.set(key, (e = { u: { op, kind: a.kind, from: a.from, calls: 0, rows: 0 }, rows: new Set() }));
    e.u.calls += calls;
    for (const r of a.rows) e.rows.add(r);
  }
  /** The usage so far, `scale` times (both micro-batches of an overlapped step run every kernel). */
  list(scale = 1): KernelUsage[] {
    return [...this.usage.values()].map((e) => ({ ...e.u, calls: e.u.calls * scale, rows: e.rows.size }));
  }
}

/** The busiest attention group's work, as stageCost splits it. */
export interface GroupWork {
  P: number;
  D: number;
  C: number;
  S: number;
  pairs?: number;
}

/** One device's share of an op: output columns split `n` ways, `batch` ways, rows scaled by `m`; heads and KV heads split. */
export interface OpSplit {
  n: number;
  batch: number;
  m: number;
  kv: number;
  heads: number;
}

/** The context-attention kernel calls a step's prefill stands for (see `contextAttentionCall`). */
export interface ContextAttentionCall {
  /** Prompts per kernel call: whole prompts, at least one. */
  batch: number;
  /** New (computed) tokens of each prompt in the call. */
  prompt: number;
  /** Tokens of each prompt already cached that the new ones attend to. */
  prefix: number;
  /** The share of that call's measured time the step pays (≤ 1). */
  share: number;
}

/**
 * How the prefill of one attention group is read from a context-attention table, which
 * measures whole calls of `batch` prompts of `prompt` tokens from an empty cache:
 *
 * - `S` prompts (or chunks) of `c = P / S` new tokens each. The causal pairs beyond
 *   those of fresh prompts, `pairs / S − c·(c+1)/2`, are each new token attending to
 *   `o` cached tokens of its own prompt (`prefillAttentionPairs(c, o)` inverted): a
 *   chunk after earlier chunks, or cache hits.
 * - As aiconfigurator's trtllm engine prices a chunk with a cached prefix, the call is
 *   the table's at the full length `c + o`, charged `((c + o)² − o²) / (c + o)²` of it
 *   (aic-core/rust/aiconfigurator-core/src/operators/attention.rs:64-71 and 427-452,
 *   query_context_attention_table at commit 095f58a5).
 * - A steady-state average step may hold a share of one prompt (`S < 1`: e.g. one prompt
 *   of 1000 tokens every 10.4 steps is 96 tokens of S = 0.096 per step): the call is the
 *   whole prompt's, `ceil(S)` prompts, and the step pays `S / ceil(S)` of it, as
 *   aiconfigurator's mixed step charges a step's share of a prompt: the whole prompts'
 *   context attention divided by `ceil(isl / ctx_tokens)` (aic-core/rust/aiconfigurator-core/src/engine/runtime.rs:717-746, mixed_step_breakdown_with).
 *   A kernel's fixed cost is thus never multiplied by a pair ratio.
 * - Pairs fewer than fresh prompts imply (a caller's own count) scale the call down.
 *
 * @example
 * contextAttentionCall({ P: 96, S: 0.096, pairs: 0.096 * 500500 }) // => { batch: 1, prompt: 1000, prefix: 0, share: 0.096 }
 * contextAttentionCall({ P: 2048, S: 1, pairs: prefillAttentionPairs(2048, 2048) }) // => { batch: 1, prompt: 2048, prefix: 2048, share: 0.75 }
 */
export function contextAttentionCall(g: Pick<GroupWork, 'P' | 'S' | 'pairs'>): ContextAttentionCall {
  const c = g.P / g.S;
  const own = prefillAttentionPairs(c, 0);
  const perPrompt = g.pairs === undefined ? own : g.pairs / g.S;
  const batch = Math.max(1, Math.ceil(g.S));
  const whole = g.S / batch;
  // Rounding in the caller's pair count is not a prefix: under a millionth of a token is none.
  const o = (perPrompt - own) / c;
  if (o <= 1e-6) return { batch, prompt: c, prefix: 0, share: whole * Math.min(1, perPrompt / own) };
  const full = c + o;
  return { batch, prompt: c, prefix: o, share: whole * ((full * full - o * o) / (full * full)) };
}

/**
 * The routing distribution aiconfigurator's model of an architecture times its MoE
 * kernels under (its default `workload_distribution` "power_law" with the model's alpha,
 * aic-core/src/aiconfigurator_core/sdk/config.py:37): DeepSeek-V3's family 1.01
 * (sdk/models/deepseek.py:170 and 241-245), its generic MoE models (Mixtral, Qwen3-MoE,
 * gpt-oss: sdk/common.py:708-711) 1.2 (sdk/models/moe.py:128), commit 095f58a5.
 *
 * `routing: 'balanced'` is aiconfigurator's `workload_distribution="balanced"`, which
 * its models pass to the table untouched (sdk/models/helpers.py:165-175,
 * deepseek.py:241-245): rows measured with every expert given the same tokens
 * (collector/helper.py:1051-1067, balanced_logits).
 *
 * The power-law rows already hold the imbalance: the collector puts the busiest
 * expert-parallel rank's experts on the measured rank (collector/helper.py:1357 and
 * 1422-1433), and the MoE op adds no load factor of its own (operators/moe.rs:274-279).
 * Its fused MoE op, the one these tables serve, ignores EPLB (operators/moe.rs:328-343):
 * a deployment with EPLB keeps the power law unless it states balanced experts.
 *
 * `routing: 'eplb'` (a deployment that states EPLB over redundant experts, which exists to
 * remove that skew) reads the 'uniform' rows instead, at the busiest device's tokens
 * (`eplbMoeTokens`). In the wide-EP table those rows give every local expert the same
 * tokens, `num_token · topk · ep / num_experts` (collector/wideep/sglang/collect_deepep_moe.py:
 * 472-515 in context, 767-776 in generation): the measured rank carries the mean load. (The
 * fused SGLang MoE collector's 'uniform' draws `torch.randn` router logits instead,
 * collector/sglang/collect_moe.py:291-292; the shipped fused tables hold no 'uniform' rows.)
 *
 * @example
 * moeRoutingDistribution(loadModel('deepseek-v3')) // => 'power_law_1.01'
 * moeRoutingDistribution(loadModel('deepseek-v3'), 'balanced') // => 'balanced'
 * moeRoutingDistribution(loadModel('deepseek-v3'), 'eplb') // => 'uniform'
 */
export function moeRoutingDistribution(model: Pick<ModelSpec, 'architecture'>, routing: ExpertRouting = 'power-law'): string {
  if (routing === 'balanced') return 'balanced';
  if (routing === 'eplb') return EPLB_DISTRIBUTION;
  return model.architecture === 'deepseek_v3' ? 'power_law_1.01' : 'power_law_1.2';
}

/** The MoE tables' rows an EPLB layout's routed experts are read from: every local expert given the mean's tokens. */
const EPLB_DISTRIBUTION = 'uniform';

/**
 * The tokens an EPLB layout's MoE-table query asks for: the layer's tokens times the
 * placement model's load factor (the busiest device over the mean), rounded to whole tokens,
 * so that a table timing the mean-load rank ('uniform' rows) answers for the busiest one.
 *
 * @example
 * eplbMoeTokens(524288, 1.0053) // => 527067
 */
export function eplbMoeTokens(tokens: number, factor: number): number {
  checkNumber('tokens', tokens, { min: 1, max: 1e15 });
  checkNumber('factor', factor, { min: 1, max: 1 << 16 });
  return Math.round(tokens * factor);
}

/**
 * Why an EPLB layout's routed experts fall to the performance model where the MoE table
 * the step reads (`table`) files no 'uniform' rows for the experts' dtype, or undefined where
 * it does: the usage says so instead of reading another distribution's rows.
 *
 * @example
 * eplbTableGap(pricer, 'wideep_moe', 'fp8_block', 'context') // => undefined where the table holds 'uniform' rows
 */
export function eplbTableGap(k: KernelPricer, table: 'moe' | 'wideep_moe', dtype: string, phase?: 'context' | 'generation'): string | undefined {
  const file = k.tableFile(table);
  if (file === undefined) return undefined;
  const held = k.moeDistributions(table, dtype, phase);
  if (held.includes(EPLB_DISTRIBUTION)) return undefined;
  return `EPLB reads 'uniform' rows and ${file} files none for ${dtype}${phase ? ` ${phase}` : ''} (it holds ${held.length ? held.join(', ') : 'no row of that dtype'})`;
}

/**
 * The provenance an EPLB layout's routed experts carry: the load factor applied, its value and
 * where it comes from, as the table's 'uniform' rows read it (`priced: 'table'`) or as the
 * performance model applies it (`'model'`).
 *
 * @example
 * eplbNote(loadModel('deepseek-v3'), 32, { redundantExperts: 32, seed: 1, steps: 2, tokens: 524288, factor: 1.0053 }, 'table')
 * // => "EPLB: 'uniform' rows at 1.0053 × the layer's tokens, the busiest device over the mean from batchlab's placement model (… 2 steps, extrapolated from a sample of 65536 tokens …)"
 */
export function eplbNote(model: Pick<ModelSpec, 'moe'>, ep: number, e: EplbLoad, priced: 'table' | 'model'): string {
  const f = (e.factor ?? 1).toFixed(4);
  const what = priced === 'table' ? `'uniform' rows at ${f} × the layer's tokens` : `expert load factor ${f}`;
  return `EPLB: ${what}, the busiest device over the mean from batchlab's placement model (uniformRoutingLoadFactor: uniform top-${model.moe?.expertsPerToken ?? 0} routing of ${e.tokens ?? '?'} tokens over ${ep} devices with ${e.redundantExperts} redundant experts, seed ${e.seed}, ${e.steps} steps, ${e.tokens === undefined ? 'sample unknown' : routingLoadFactorBasis(e.tokens)})`;
}

/**
 * Whether a weight matmul stays 16-bit whatever the checkpoint's weights: the LM head and
 * the MoE router (the reasons and sources are at their table lookup in `kernelOpSeconds`).
 *
 * @example
 * keepsSixteenBitWeights({ group: 'lm-head' }) // => true
 */
export function keepsSixteenBitWeights(op: Pick<ModelOperation, 'group'>): boolean {
  return op.group === 'lm-head' || op.group === 'router';
}

/**
 * The dtype the GEMM and MoE tables file a weight matmul under: FP8 weights with block scales
 * are 'fp8_block' (aiconfigurator's fp8_block mode), any other the weights' own.
 *
 * @example
 * kernelWeightDtype('fp8', 'block') // => 'fp8_block'
 */
export function kernelWeightDtype(weights: Dtype, fp8Scaling?: Fp8Scaling): string {
  return weights === 'fp8' && fp8Scaling === 'block' ? 'fp8_block' : weights;
}

/** An expert all-to-all a source states its deployment ran: DeepEP's (normal kernels in prefill, low-latency in decode). */
export type ExpertAllToAll = 'deepep';

/** Every ExpertAllToAll, for validation. */
export const EXPERT_ALL_TO_ALLS: readonly ExpertAllToAll[] = ['deepep'];

/** Where aiconfigurator's large expert-parallel graph prices routed experts, and that the kernel database holds no such table for the device and framework. */
export const NO_WIDE_EP_MOE_TABLE =
  'no wide-EP MoE table (aiconfigurator prices DeepEP/wide-EP layouts from MoEExpertCompute tables, sdk/models/deepseek.py:97-110, sdk/models/blocks/moe.py:297-312 and 609)';

/** The layout facts that decide aiconfigurator's MoE graph (see `largeExpertParallel`). */
export interface ExpertLayout {
  /**
   * The framework whose large-EP graph the layout would take (aiconfigurator's backend_name):
   * the one whose wide-EP tables price it (`KernelPricer.wideEpFramework`), which is the
   * step's own framework unless a case names another's tables.
   */
  framework: string;
  /** Tensor-parallel degree inside one expert (aiconfigurator's moe_tp_size): (tp·dp)/ep. */
  expertTensorParallel: number;
  /** Expert-parallel degree (moe_ep_size). */
  expertParallel: number;
  /** The expert all-to-all the deployment's source states it ran, if it states one. */
  allToAll?: ExpertAllToAll;
}

/**
 * Whether a layout takes aiconfigurator's large expert-parallel graph (its enumerator
 * sets `moe_comm_backend`: MoEAllToAll + MoEExpertCompute ops priced from wide-EP
 * tables) instead of the fused MoE op its MoE tables serve. Its rule
 * (src/aiconfigurator/sdk/task_v2.py:1375-1420, `_resolve_moe_comm_backend`, and the
 * backends of aic-core/src/aiconfigurator_core/sdk/operations/moe_comm.py:55-112,
 * commit 095f58a5), in batchlab's layout:
 *
 * - one whole expert per device and more than one expert-parallel rank
 *   (`moe_tp == 1`, `moe_ep > 1`; task_v2.py:1396-1398);
 * - SGLang and vLLM: the DeepEP backends (deepep_ht in context, deepep_ll in
 *   generation, no SM minimum; moe_comm.py:86-97), where they can serve the layout:
 *   top-k ≤ 8 and `ep` dividing the routed experts (moe_comm.py:75-82, `feasible`);
 * - TensorRT-LLM: its wide-EP backends (nvlink_two_sided/one_sided) need SM 100 or
 *   newer (moe_comm.py:98-111) and attention data parallelism (task_v2.py:1399-1404).
 *   batchlab's hardware catalog holds no SM version: TensorRT-LLM layouts stay fused;
 * - a deployment whose source states DeepEP (`allToAll: 'deepep'`, the case's own
 *   words) ran DeepEP's kernels whatever tables price it: large EP at any such width,
 *   its published expert placement (redundant experts included) shows that it runs.
 *
 * aiconfigurator also keeps a layout fused where its tables do not cover it
 * (task_v2.py:1406-1420, using `_large_ep_coverage` at 1262-1307): the all-to-all table
 * must hold dispatch and combine rows for the model's shape at that width and node count,
 * and the expert-compute (wide-EP MoE) table must cover the shape under the MoE quantization
 * mode in both the context and the generation phase, whichever phase the worker runs. batchlab keeps the structural rule alone: the layout's kernels are DeepEP's whatever
 * a table covers, and routed experts or a dispatch that no wide-EP row prices fall to the
 * performance model, named in the step's usage. On SGLang
 * its large-EP DeepSeek graph also reads MLA, with its
 * q_b/kv_b/o projections, from WideEP MLA tables (sdk/models/deepseek.py:436-560) and
 * leaves out the router GEMM (blocks/moe.py:660-674): batchlab ships no WideEP MLA table,
 * so MLA and its projections stay priced from the MLA and GEMM tables, and the router,
 * which the deployment runs, stays priced.
 *
 * @example
 * const dsv3 = loadModel('deepseek-v3');
 * largeExpertParallel(dsv3, { framework: 'sglang', expertTensorParallel: 1, expertParallel: 32 }) // => true
 * largeExpertParallel(dsv3, { framework: 'trtllm', expertTensorParallel: 1, expertParallel: 8 }) // => false
 * largeExpertParallel(dsv3, { framework: 'trtllm', expertTensorParallel: 1, expertParallel: 144, allToAll: 'deepep' }) // => true
 */
export function largeExpertParallel(model: Pick<ModelSpec, 'moe'>, layout: ExpertLayout): boolean {
  const moe = model.moe;
  if (!moe || layout.expertTensorParallel !== 1 || layout.expertParallel <= 1) return false;
  if (layout.allToAll === 'deepep') return true;
  if (layout.framework !== 'sglang' && layout.framework !== 'vllm') return false;
  return moe.expertsPerToken <= 8 && layout.expertParallel <= moe.numExperts && moe.numExperts % layout.expertParallel === 0;
}

/**
 * Whether a step runs its shared experts beside its routed ones, the step then paying
 * the longer of the two groups instead of their sum: aiconfigurator's DeepSeek model
 * puts the router GEMM and the routed experts in one group and the shared expert's
 * GEMMs in another of an OverlapOp in generation (sdk/models/deepseek.py:894-896 and
 * 906-987, two CUDA streams under CUDA Graph), priced `max(sum_a, sum_b)`
 * (aic-core/rust/aiconfigurator-core/src/operators/op.rs:459-484; sdk/operations/overlap.py:149-160),
 * commit 095f58a5. Its context phase runs them one after the other (deepseek.py:656-658),
 * and so does a mixed step, whose non-attention work, decode tokens included, it prices
 * with the context ops (engine/runtime.rs:691-715). Its generic MoE models carry no shared expert
 * (sdk/models/moe.py:246-248): only DeepSeek-V3's architecture overlaps.
 *
 * That is the graph of its fused MoE op. A large expert-parallel layout
 * (`largeExpertParallel`) takes its large-EP graph instead, whose shared experts run
 * beside the routed ones on TensorRT-LLM only and in line with them on SGLang and vLLM
 * (sdk/models/blocks/moe.py:640-652, the TensorRT-LLM branch at 647-650). Pass as
 * `framework` the one whose large-EP graph the layout takes, `KernelPricer.wideEpFramework`:
 * a TensorRT-LLM deployment whose large-EP layout SGLang's wide-EP tables price takes
 * SGLang's graph, shared experts in line.
 *
 * @example
 * const fused = { framework: 'trtllm', largeExpertParallel: false };
 * sharedExpertsOverlapRouted(loadModel('deepseek-v3'), { prefillTokens: 0, decodeTokens: 64 }, fused) // => true
 * sharedExpertsOverlapRouted(loadModel('deepseek-v3'), { prefillTokens: 4096, decodeTokens: 64 }, fused) // => false
 * sharedExpertsOverlapRouted(loadModel('deepseek-v3'), { prefillTokens: 0, decodeTokens: 64 }, { framework: 'sglang', largeExpertParallel: true }) // => false
 */
export function sharedExpertsOverlapRouted(
  model: Pick<ModelSpec, 'architecture' | 'moe'>,
  work: { prefillTokens: number; decodeTokens: number },
  deployment: { framework: string; largeExpertParallel: boolean },
): boolean {
  if (model.architecture !== 'deepseek_v3' || (model.moe?.sharedExperts ?? 0) === 0) return false;
  if (work.prefillTokens !== 0 || work.decodeTokens <= 0) return false;
  return !(deployment.largeExpertParallel && deployment.framework !== 'trtllm');
}

/** MLA's absorbed per-head decode matmuls and the phase of aiconfigurator's MLABmm table that times each. */
const MLA_BMM_PHASE: Readonly<Record<string, 'pre' | 'post'>> = { 'attn.q_absorb': 'pre', 'attn.v_absorb': 'post' };

/**
 * Seconds of one operation from the kernel database, or undefined where no table
 * holds it (sliding-window attention, a dtype or shape the tables lack, a spec-only
 * device): the caller then prices it with its own model.
 *
 * - Weight GEMMs: one GEMM-table query per matmul at the device's (m, n/tp, k), times
 *   the independent operands and the layers; the LM head in the activations' 16 bits;
 *   FP8 GEMMs with static activation scales by `KernelPricer.gemmFp8Static`.
 * - Decode attention: the generation-attention table at the group's sequences, their
 *   mean cached tokens and the device's heads.
 * - Prefill attention: the context-attention table at whole prompts, at the full length
 *   of a chunk with its cached prefix, charged the share of that call the step holds
 *   (`contextAttentionCall`).
 * - Routed experts: one MoE-table call per MoE layer for the whole expert FFN (gate, up
 *   and down), at the tokens entering the layer (every data-parallel group's), the expert
 *   tensor- and expert-parallel widths, the weights' dtype (FP8 with block scales:
 *   'fp8_block') and the routing distribution (`moeRoutingDistribution`), whose rows
 *   hold the busiest rank's load: the expert load factor (`split.m`) is not applied on
 *   top of it. The down projection is inside that call. A large expert-parallel layout
 *   (`dtypes.largeExpertParallel`, see `largeExpertParallel`) reads the wide-EP MoE table
 *   instead (`KernelPricer.wideEpMoe`, aiconfigurator's MoEExpertCompute), in the context
 *   phase where the step holds prefill and the generation phase otherwise (aiconfigurator
 *   prices a mixed step's non-attention work with its context ops, engine/runtime.rs:691-715);
 *   where no wide-EP table holds the layout (`NO_WIDE_EP_MOE_TABLE`) the caller's model prices them.
 * - MLA attention (TensorRT-LLM, SGLang): the MLA context and generation tables at the
 *   device's heads, as aiconfigurator's DeepSeek model; its absorbed per-head decode
 *   matmuls from the MLA BMM table. Under vLLM, aiconfigurator prices DeepSeek's attention
 *   as standard attention with one KV head per query head of `v_head_dim` and no BMM: the
 *   attention tables price it so, and the BMMs stay with the caller's model.
 *
 * @example
 * kernelOpSeconds(op, model, pricer, { weights: 'bf16', attention: 'bf16', kvCache: 'bf16' }, split, group, tally) // => seconds or undefined
 */
export function kernelOpSeconds(
  op: ModelOperation,
  model: ModelSpec,
  k: KernelPricer,
  dtypes: { weights: Dtype; attention: Dtype; kvCache: Dtype; fp8Scaling?: Fp8Scaling; routing?: ExpertRouting; largeExpertParallel?: boolean; eplb?: EplbLoad },
  split: OpSplit,
  g: GroupWork,
  tally: KernelTally,
): number | undefined {
  if (!k.device) return undefined;
  const take = (family: string, a: KernelAnswer, calls: number): number | undefined => tallied(tally, family, a, calls);
  if (op.group === 'attention-core') {
    const at = model.attention;
    if (op.name.endsWith('.sliding')) return undefined;
    if (at.kind === 'mla' && k.framework !== 'vllm') {
      // MLA attention from the MLA tables, as aiconfigurator's DeepSeek model on TensorRT-LLM
      // and SGLang prices it (sdk/models/deepseek.py:598-605 ContextMLA and 828-833
      // GenerationMLA, commit 095f58a5), at the device's query heads. aiconfigurator queries
      // `128 // tp` heads for every model of that class; batchlab the model's own heads per
      // device, the same for DeepSeek-V3/R1. The tables key on those heads alone, whatever
      // tensor parallelism a row was collected at (perf_database/mla.rs:217-279 and 865-989).
      const mla = { heads: at.numHeads / split.heads, dtype: dtypes.attention, kvDtype: dtypes.kvCache };
      return attentionCoreSeconds(op, g, tally, 'mla', (batch, tokens) => k.mlaGeneration({ ...mla, batch, tokens }), (batch, tokens) => k.mlaContext({ ...mla, batch, tokens }));
    }
    const heads = at.numHeads / split.heads;
    // aiconfigurator's vLLM DeepSeek: ContextAttention/GenerationAttention at num_heads // tp,
    // num_key_value_heads // tp (DeepSeek-V3's config.json: 128, one per query head) and
    // head_size v_head_dim (sdk/models/deepseek.py:126-132, 588-597 and 809-818, commit 095f58a5).
    const kvHeads = at.kind === 'mla' ? heads : Math.max(1, at.numKvHeads / split.kv);
    const headDim = at.kind === 'mla' ? at.vHeadDim : at.headDim;
    const base = { heads, kvHeads, headDim, dtype: dtypes.attention, kvDtype: dtypes.kvCache };
    return attentionCoreSeconds(op, g, tally, 'attention', (batch, context) => k.generationAttention({ ...base, batch, context }), (batch, prompt) => k.contextAttention({ ...base, batch, prompt }));
  }
  if (op.matmuls.length === 0) return undefined;
  const weights = kernelWeightDtype(dtypes.weights, dtypes.fp8Scaling);
  if (op.group === 'routed-expert') {
    const wide = dtypes.largeExpertParallel ? { phase: g.P > 0 ? ('context' as const) : ('generation' as const) } : undefined;
    return moeSeconds(op, model, k, weights, dtypes.routing ?? 'power-law', split, tally, wide, dtypes.eplb);
  }
  const phase = MLA_BMM_PHASE[op.name];
  if (phase && model.attention.kind === 'mla') {
    // vLLM: aiconfigurator's DeepSeek graph has no BMM op (sdk/models/deepseek.py:804-819).
    if (k.framework === 'vllm') return undefined;
    // The BMMs inherit the kv projection's dtype: FP8 under any quantized GEMM mode, else
    // bfloat16 (sdk/models/deepseek.py:205-212, mla_bmm_quant_mode).
    const dtype = dtypes.weights === 'bf16' || dtypes.weights === 'fp16' ? 'bf16' : 'fp8';
    const sh = op.matmuls[0];
    // MLABmm at num_heads // tp (sdk/models/deepseek.py:821-840): the op's heads over the
    // devices that split its output.
    const heads = (sh.batch ?? 1) / split.n;
    if (!Number.isInteger(heads) || heads < 1) return undefined;
    const rows = sh.m * split.m;
    const s = take('mla_bmm', k.mlaBmm({ tokens: Math.max(1, rows), heads, dtype, phase }), op.calls);
    return s === undefined ? undefined : s * Math.min(1, rows) * op.calls;
  }
  // A batched matmul runs as one kernel, not as `batch` separate GEMMs: the GEMM table
  // does not price it.
  if (op.matmuls.some((sh) => (sh.batch ?? 1) / split.batch > 1)) return undefined;
  // The LM head stays in 16 bits: quantized checkpoints leave it out (ModelOpt FP8's
  // hf_quant_config.json: "exclude_modules": ["lm_head"]), and aiconfigurator prices every
  // model's logits GEMM from its bfloat16 table (aic-core/src/aiconfigurator_core/sdk/
  // models/llama.py:129-136 and 191-197, GEMMQuantMode.bfloat16, commit 095f58a5).
  // So does the MoE router, and every device computes all of its expert scores: aiconfigurator
  // times it at n = num_experts, unsplit, from the bfloat16 table whatever the experts' dtype
  // (sdk/models/deepseek.py:688-699 and 933-939, blocks/moe.py:314-326).
  const router = op.group === 'router';
  // 16 bits even where attention itself runs narrower (an all-FP8 precision).
  const sixteen: Dtype = DTYPE_BYTES[dtypes.attention] >= 2 ? dtypes.attention : 'bf16';
  const dtype = keepsSixteenBitWeights(op) ? sixteen : weights;
  const columns = router ? 1 : split.n;
  const static8 = dtype === 'fp8' && dtypes.fp8Scaling === 'static';
  // The output and down projections are tensor parallelism's row-parallel layers: each
  // device holds a slice of their input features, so a device's GEMM keeps every output
  // column and splits K (aiconfigurator's shapes: models/llama.py:94-102 and 120-127,
  // hidden_size × num_heads·head_size // tp and hidden_size × inter_size // tp, commit
  // 095f58a5); the other projections are column-parallel and split N. Both read inputs
  // written in FP8 by the kernel before them: aiconfigurator marks them low_precision_input.
  const rowParallel = !router && /(^|\.)(o_proj|down_proj)$/.test(op.name);
  let t = 0;
  for (const sh of op.matmuls) {
    // A GEMM runs whole rows: an expected row count m below one (the LM head of a step
    // that holds a share of one prompt's last token) is that share of one call of one
    // row, not a whole call each step; the kernel's fixed cost is never scaled up.
    const rows = sh.m * split.m;
    const m = Math.max(1, rows);
    const operands = (sh.batch ?? 1) / split.batch;
    const [n, kk] = rowParallel ? [sh.n, sh.k / columns] : [sh.n / columns, sh.k];
    const s = take('gemm', static8 ? k.gemmFp8Static(m, n, kk, rowParallel) : k.gemm(m, n, kk, dtype), op.calls * operands);
    if (s === undefined) return undefined;
    t += s * operands * Math.min(1, rows);
  }
  return t * op.calls;
}

/** A table's answer, tallied; undefined for a datasheet bound (the caller's model prices it instead). */
function tallied(tally: KernelTally, family: string, a: KernelAnswer, calls: number): number | undefined {
  if (a.kind === 'bound') return undefined;
  tally.add(family, a, calls);
  return a.seconds;
}

/**
 * One attention core call from a table: decode by `decode(sequences, mean cached tokens)`,
 * prefill by `prefill(prompts, full length)` for the whole-prompt call the step holds a
 * share of (`contextAttentionCall`); undefined where the step has no such work or the
 * table gives only a bound.
 */
function attentionCoreSeconds(
  op: ModelOperation,
  g: GroupWork,
  tally: KernelTally,
  family: string,
  decode: (batch: number, context: number) => KernelAnswer,
  prefill: (batch: number, tokens: number) => KernelAnswer,
): number | undefined {
  if (op.name === 'attn.core.decode') {
    if (g.D <= 0) return undefined;
    const s = tallied(tally, family, decode(g.D, Math.max(1, g.C / g.D)), op.calls);
    return s === undefined ? undefined : s * op.calls;
  }
  if (op.name === 'attn.core.prefill') {
    if (g.P <= 0) return undefined;
    const q = contextAttentionCall(g);
    const s = tallied(tally, family, prefill(q.batch, q.prompt + q.prefix), op.calls);
    return s === undefined ? undefined : s * q.share * op.calls;
  }
  return undefined;
}

/**
 * A layout's expert slots, its experts and their redundant copies: the copies enter with a
 * stated EPLB only (`redundantExperts` is EPLB's), as they do everywhere else.
 */
function moeSlots(model: ModelSpec, routing: ExpertRouting, eplb?: EplbLoad): number {
  return (model.moe?.numExperts ?? 0) + (routing === 'eplb' ? (eplb?.redundantExperts ?? 0) : 0);
}

/**
 * Why a large-EP layout's routed experts find no wide-EP rows (`KernelPricer.wideEpReading`'s
 * gap: an EP the table lacks whose slots per device are not whole, or map to no EP it holds),
 * or undefined where they do or no wide-EP table of that dtype and phase is read.
 *
 * @example
 * wideEpLayoutGap(pricer, loadModel('deepseek-v3'), 72, 'fp8_block', 'power-law', 'generation')
 * // => 'no EP 72 rows, and 256 slots over 72 devices are 3.556 per device, not whole (…)'
 */
export function wideEpLayoutGap(k: KernelPricer, model: ModelSpec, ep: number, dtype: string, routing: ExpertRouting, phase: 'context' | 'generation', eplb?: EplbLoad): string | undefined {
  const moe = model.moe;
  if (!moe) return undefined;
  const q = { tokens: 1, experts: moe.numExperts, topk: moe.expertsPerToken, hidden: model.hiddenSize, inter: moe.expertIntermediateSize, dtype, ep, distribution: moeRoutingDistribution(model, routing), phase, slots: moeSlots(model, routing, eplb) };
  const r = k.wideEpReading(q);
  return r && 'gap' in r ? r.gap : undefined;
}

/**
 * One MoE layer's routed experts from the MoE table, charged on the gate/up op (the
 * table times the whole expert FFN); the down projection is inside that call (0 s).
 * As aiconfigurator's MoE op (operators/moe.rs:274-279, sdk/models/deepseek.py:722-739):
 * the layer's tokens before dispatch, all attention data-parallel ranks' together
 * (`x · attention_dp_size`), at moe_tp and moe_ep, and nothing more: the routing
 * distribution's rows carry the busiest rank's load (`moeRoutingDistribution`).
 * With `wide`, a large expert-parallel layout's experts from the wide-EP MoE table at the
 * same tokens (aiconfigurator's MoEExpertCompute also globalizes them by attention_dp_size:
 * operators/moe_expert_compute.rs:151-154, commit 095f58a5). Its SGLang EPLB correction
 * (context tokens × 0.8 under `enable_eplb`, 159-166) is not applied: it is a heuristic, not a
 * measurement. A layout that states EPLB (`routing: 'eplb'`) reads the 'uniform' rows at the
 * layer's tokens times the placement model's load factor instead (`eplbMoeTokens`), and where
 * the table files no 'uniform' rows for the dtype it is not priced here (`eplbTableGap`).
 * At an EP the wide-EP table lacks, the rows with the same experts per device are read at the
 * tokens that give each device the same load (`wideEpTableReading`), the layout's redundant
 * experts counted in its slots where it states EPLB; the EPLB factor scales the tokens first.
 */
function moeSeconds(
  op: ModelOperation,
  model: ModelSpec,
  k: KernelPricer,
  dtype: string,
  routing: ExpertRouting,
  split: OpSplit,
  tally: KernelTally,
  wide?: { phase: 'context' | 'generation' },
  eplb?: EplbLoad,
): number | undefined {
  const moe = model.moe;
  if (!moe) return undefined;
  const sh = op.matmuls[0];
  // The op runs `batch` active experts of m rows each: tokens × top-k rows in all.
  const layer = Math.round((sh.m * (sh.batch ?? 1)) / moe.expertsPerToken);
  if (layer < 1) return undefined;
  const byEplb = routing === 'eplb';
  if (byEplb && eplbTableGap(k, wide ? 'wideep_moe' : 'moe', dtype, wide?.phase) !== undefined) return undefined;
  const tokens = byEplb ? eplbMoeTokens(layer, eplb?.factor ?? 1) : layer;
  const q = { tokens, experts: moe.numExperts, topk: moe.expertsPerToken, hidden: model.hiddenSize, inter: moe.expertIntermediateSize, dtype, ep: split.batch, distribution: moeRoutingDistribution(model, routing) };
  const a = wide ? k.wideEpMoe({ ...q, phase: wide.phase, slots: moeSlots(model, routing, eplb) }) : k.moe({ ...q, tp: split.n });
  if (a.kind === 'bound') return undefined;
  if (op.name === 'moe.expert.down_proj') return 0;
  if (op.name !== 'moe.expert.gate_up_proj') return undefined;
  tally.add(wide ? 'wideep_moe' : 'moe', byEplb && eplb ? { ...a, from: `${a.from} (${eplbNote(model, split.batch, eplb, 'table')})` } : a, op.calls);
  return a.seconds * op.calls;
}
