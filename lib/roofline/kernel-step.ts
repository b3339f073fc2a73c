import type { Dtype } from '../core/types.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import type { KernelAnswer, KernelAnswerKind } from '../kernels/schema.js';
import type { KernelPricer } from '../kernels/pricer.js';
import type { ModelOperation } from '../models/ops.js';
import type { ModelSpec } from '../models/spec.js';

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

/**
 * Seconds of one operation from the kernel database, or undefined where no table
 * holds it (routed experts, MLA attention and its batched per-head matmuls,
 * sliding-window attention, a dtype the tables lack, a spec-only device): the caller
 * then prices it with its own model.
 *
 * - Weight GEMMs: one GEMM-table query per matmul at the device's (m, n/tp, k), times
 *   the independent operands and the layers.
 * - Decode attention: the generation-attention table at the group's sequences, their
 *   mean cached tokens and the device's heads.
 * - Prefill attention: the context-attention table at the group's prompts and their
 *   mean computed length, scaled by the step's causal pairs over those prompts' own.
 *
 * @example
 * kernelOpSeconds(op, model, pricer, { weights: 'bf16', attention: 'bf16', kvCache: 'bf16' }, split, group, tally) // => seconds or undefined
 */
export function kernelOpSeconds(
  op: ModelOperation,
  model: ModelSpec,
  k: KernelPricer,
  dtypes: { weights: Dtype; attention: Dtype; kvCache: Dtype },
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
      const prompt = g.P / g.S;
      const own = g.S * prefillAttentionPairs(prompt, 0);
      const scale = g.pairs === undefined ? 1 : g.pairs / own;
      const s = take('attention', k.contextAttention({ ...base, batch: g.S, prompt }), op.calls);
      return s === undefined ? undefined : s * scale * op.calls;
    }
    return undefined;
  }
  if (op.group === 'routed-expert' || op.matmuls.length === 0) return undefined;
  // A batched matmul (MLA's per-head absorbed projections) runs as one kernel, not as
  // `batch` separate GEMMs: the GEMM table does not price it.
  if (op.matmuls.some((sh) => (sh.batch ?? 1) / split.batch > 1)) return undefined;
  let t = 0;
  for (const sh of op.matmuls) {
    // A GEMM runs at least one row: an expected fractional row count prices as one.
    const m = Math.max(1, sh.m * split.m);
    const operands = (sh.batch ?? 1) / split.batch;
    const s = take('gemm', k.gemm(m, sh.n / split.n, sh.k, dtypes.weights), op.calls * operands);
    if (s === undefined) return undefined;
    t += s * operands;
  }
  return t * op.calls;
}
