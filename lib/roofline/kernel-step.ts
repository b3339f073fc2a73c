import type { Dtype } from '../core/types.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import type { KernelAnswer, KernelAnswerKind } from '../kernels/schema.js';
import type { KernelPricer } from '../kernels/pricer.js';
import type { ModelOperation } from '../models/ops.js';
import type { ModelSpec } from '../models/spec.js';
import type { Fp8Scaling } from './deployment.js';

/** How many kernel calls of one family a step priced from one source, and of which kind. */
export interface KernelUsage {
  /** 'gemm', 'attention', 'allreduce', or the op group priced by the performance model instead. */
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
 * Seconds of one operation from the kernel database, or undefined where no table
 * holds it (routed experts, MLA attention and its batched per-head matmuls,
 * sliding-window attention, a dtype the tables lack, a spec-only device): the caller
 * then prices it with its own model.
 *
 * - Weight GEMMs: one GEMM-table query per matmul at the device's (m, n/tp, k), times
 *   the independent operands and the layers; the LM head in the activations' 16 bits;
 *   FP8 GEMMs with static activation scales by `KernelPricer.gemmFp8Static`.
 * - Decode attention: the generation-attention table at the group's sequences, their
 *   mean cached tokens and the device's heads.
 * - Prefill attention: the context-attention table at whole prompts, at the full length
 *   of a chunk with its cached prefix, charged the share of that call the step holds
 *   (`contextAttentionCall`).
 *
 * @example
 * kernelOpSeconds(op, model, pricer, { weights: 'bf16', attention: 'bf16', kvCache: 'bf16' }, split, group, tally) // => seconds or undefined
 */
export function kernelOpSeconds(
  op: ModelOperation,
  model: ModelSpec,
  k: KernelPricer,
  dtypes: { weights: Dtype; attention: Dtype; kvCache: Dtype; fp8Scaling?: Fp8Scaling },
  split: OpSplit,
  g: GroupWork,
  tally: KernelTally,
): number | undefined {
  if (!k.device) return undefined;
  const take = (family: string, a: KernelAnswer, calls: number): number | undefined => {
    if (a.kind === 'bound') return undefined;
    tally.add(family, a, calls);
    return a.seconds;
  };
  if (op.group === 'attention-core') {
    const at = model.attention;
    if (at.kind === 'mla' || op.name.endsWith('.sliding')) return undefined;
    const heads = at.numHeads / split.heads;
    const kvHeads = Math.max(1, at.numKvHeads / split.kv);
    const base = { heads, kvHeads, headDim: at.headDim, dtype: dtypes.attention, kvDtype: dtypes.kvCache };
    if (op.name === 'attn.core.decode') {
      if (g.D <= 0) return undefined;
      const s = take('attention', k.generationAttention({ ...base, batch: g.D, context: Math.max(1, g.C / g.D) }), op.calls);
      return s === undefined ? undefined : s * op.calls;
    }
    if (op.name === 'attn.core.prefill') {
      if (g.P <= 0) return undefined;
      const q = contextAttentionCall(g);
      const s = take('attention', k.contextAttention({ ...base, batch: q.batch, prompt: q.prompt + q.prefix }), op.calls);
      return s === undefined ? undefined : s * q.share * op.calls;
    }
    return undefined;
  }
  if (op.group === 'routed-expert' || op.matmuls.length === 0) return undefined;
  // A batched matmul (MLA's per-head absorbed projections) runs as one kernel, not as
  // `batch` separate GEMMs: the GEMM table does not price it.
  if (op.matmuls.some((sh) => (sh.batch ?? 1) / split.batch > 1)) return undefined;
  // The LM head stays in 16 bits: quantized checkpoints leave it out (ModelOpt FP8's
  // hf_quant_config.json: "exclude_modules": ["lm_head"]), and aiconfigurator prices every
  // model's logits GEMM from its bfloat16 table (aic-core/src/aiconfigurator_core/sdk/
  // models/llama.py:129-136 and 191-197, GEMMQuantMode.bfloat16, commit 095f58a5).
  const weights = dtypes.weights === 'fp8' && dtypes.fp8Scaling === 'block' ? 'fp8_block' : dtypes.weights;
  const dtype = op.group === 'lm-head' ? dtypes.attention : weights;
  const static8 = dtype === 'fp8' && dtypes.fp8Scaling === 'static';
  // The output projection reads attention's output and the down projection the gated
  // activation, both written in FP8 by the kernel before them: aiconfigurator marks these
  // GEMMs low_precision_input (models/llama.py:94-102 and 120-127, commit 095f58a5).
  const quantizedInput = /(^|\.)(o_proj|down_proj)$/.test(op.name);
  let t = 0;
  for (const sh of op.matmuls) {
    // A GEMM runs whole rows: an expected row count m below one (the LM head of a step
    // that holds a share of one prompt's last token) is that share of one call of one
    // row, not a whole call each step; the kernel's fixed cost is never scaled up.
    const rows = sh.m * split.m;
    const m = Math.max(1, rows);
    const operands = (sh.batch ?? 1) / split.batch;
    const s = take('gemm', static8 ? k.gemmFp8Static(m, sh.n / split.n, sh.k, quantizedInput) : k.gemm(m, sh.n / split.n, sh.k, dtype), op.calls * operands);
    if (s === undefined) return undefined;
    t += s * operands * Math.min(1, rows);
  }
  return t * op.calls;
}
