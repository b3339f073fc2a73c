import type { Dtype, MatmulCostModel } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import type { Rng } from '../util/random.js';
import { fork } from '../util/random.js';
import { decodeAttentionCalls } from './cost.js';
import type { AttentionShape } from './shape.js';
import { checkAttentionShape } from './shape.js';

const MAX_TOKENS = 1 << 24;
const MAX_BATCH = 1 << 20;

/**
 * How a decode step batches the attention of sequences with different context lengths:
 * - `per-sequence`: one kernel per sequence;
 * - `exact-shape`: one kernel per distinct length, over the sequences of that length
 *   (dense batched kernels need one shape; the essay's constraint);
 * - `padded`: one kernel, every sequence padded to the longest and masked;
 * - `bucketed`: k kernels, sequences sorted into k equal-count buckets, each padded to its longest;
 * - `ragged`: one kernel over all lengths, no padding (paged/ragged kernels: vLLM's
 *   PagedAttention, FlashInfer, FlashMLA).
 */
export type RaggedStrategy = 'per-sequence' | 'exact-shape' | 'padded' | 'bucketed' | 'ragged';
export const RAGGED_STRATEGIES: readonly RaggedStrategy[] = ['per-sequence', 'exact-shape', 'padded', 'bucketed', 'ragged'];

/** One kernel of a strategy: the sequences it covers (indices into the batch) and the length it runs at. */
export interface RaggedGroup {
  indices: number[];
  /** Context length the kernel runs every sequence at (its longest; for `ragged`, the mean). */
  length: number;
  /** Tokens actually cached, summed over the group's sequences. */
  usefulTokens: number;
  /** Tokens the kernel touches: length × sequences (ragged: the useful tokens). */
  executedTokens: number;
}

/**
 * The kernels a strategy runs for one layer of a decode step over sequences with
 * context `lengths`. Deterministic: groups come in ascending length, and indices
 * within a group in batch order.
 *
 * @example
 * raggedGroups([5, 3, 5], 'exact-shape').map((g) => g.indices) // => [[1], [0, 2]]
 */
export function raggedGroups(lengths: readonly number[], strategy: RaggedStrategy, opts: { buckets?: number } = {}): RaggedGroup[] {
  const L = checkArray<number>('lengths', lengths, MAX_BATCH);
  L.forEach((x, i) => checkInt(`lengths[${i}]`, x, { min: 1, max: MAX_TOKENS }));
  checkOneOf('strategy', strategy, RAGGED_STRATEGIES);
  const order = L.map((_, i) => i).sort((a, b) => L[a] - L[b] || a - b);
  const group = (idx: number[], padded: boolean): RaggedGroup => {
    const sorted = [...idx].sort((a, b) => a - b);
    const useful = sorted.reduce((s, i) => s + L[i], 0);
    const longest = Math.max(...sorted.map((i) => L[i]));
    return { indices: sorted, length: padded ? longest : useful / sorted.length, usefulTokens: useful, executedTokens: padded ? longest * sorted.length : useful };
  };
  switch (strategy) {
    case 'per-sequence':
      return order.map((i) => group([i], true));
    case 'exact-shape': {
      const out: number[][] = [];
      for (const i of order) {
        const last = out[out.length - 1];
        if (last && L[last[0]] === L[i]) last.push(i);
        else out.push([i]);
      }
      return out.map((g) => group(g, true));
    }
    case 'padded':
      return [group(order, true)];
    case 'bucketed': {
      const k = checkInt('buckets', opts.buckets ?? 4, { min: 1, max: MAX_BATCH });
      const n = Math.min(k, L.length);
      const out: RaggedGroup[] = [];
      for (let b = 0; b < n; b++) {
        const lo = Math.floor((b * L.length) / n);
        const hi = Math.floor(((b + 1) * L.length) / n);
        out.push(group(order.slice(lo, hi), true));
      }
      return out;
    }
    case 'ragged':
      return [group(order, false)];
  }
}

/** What a strategy costs for one decode step, over all layers. */
export interface RaggedPlan {
  strategy: RaggedStrategy;
  sequences: number;
  /** Kernels per layer. */
  kernelsPerLayer: number;
  /** Kernel launches per step (kernels per layer × layers with attention). */
  launches: number;
  usefulTokens: number;
  executedTokens: number;
  usefulFlops: number;
  executedFlops: number;
  wastedFlops: number;
  usefulBytes: number;
  executedBytes: number;
  wastedBytes: number;
  /** wastedFlops / executedFlops. */
  wasteFraction: number;
}

/**
 * Waste and launches of one strategy for a decode step over sequences with context
 * `lengths`: padded slots cost FLOPs and KV reads like real ones (they are read and
 * masked), so waste is zero for equal lengths and grows with the spread.
 *
 * @example
 * raggedBatchPlan(shape, { lengths: [100, 100, 100], strategy: 'padded', dtype: 'bf16' }).wastedFlops // => 0
 */
export function raggedBatchPlan(
  shape: AttentionShape,
  opts: { lengths: readonly number[]; strategy: RaggedStrategy; buckets?: number; dtype: Dtype },
): RaggedPlan {
  const a = checkAttentionShape(shape);
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  const groups = raggedGroups(opts.lengths, opts.strategy, { buckets: opts.buckets });
  const work = (sequences: number, tokens: number): { flops: number; bytes: number } => {
    let flops = 0;
    let bytes = 0;
    for (const c of decodeAttentionCalls(a, { sequences, contextTokens: tokens, dtype })) {
      flops += c.flops * c.layers;
      bytes += (c.kvBytes + c.activationBytes) * c.layers;
    }
    return { flops, bytes };
  };
  let usefulTokens = 0;
  let executedTokens = 0;
  let executedFlops = 0;
  let executedBytes = 0;
  for (const g of groups) {
    usefulTokens += g.usefulTokens;
    executedTokens += g.executedTokens;
    const w = work(g.indices.length, g.executedTokens);
    executedFlops += w.flops;
    executedBytes += w.bytes;
  }
  const useful = work(opts.lengths.length, usefulTokens);
  return {
    strategy: opts.strategy,
    sequences: opts.lengths.length,
    kernelsPerLayer: groups.length,
    launches: groups.length * a.layers,
    usefulTokens,
    executedTokens,
    usefulFlops: useful.flops,
    executedFlops,
    wastedFlops: executedFlops - useful.flops,
    usefulBytes: useful.bytes,
    executedBytes,
    wastedBytes: executedBytes - useful.bytes,
    wasteFraction: executedFlops === 0 ? 0 : (executedFlops - useful.flops) / executedFlops,
  };
}

/**
 * Predicted seconds of a step's decode attention under a strategy: per layer, each
 * kernel pays `launchSeconds` and its two matmuls priced by `cost` (a roofline or a
 * model fitted to measurements). Sliding layers run at their window.
 *
 * @example
 * raggedBatchSeconds(shape, { lengths, strategy: 'exact-shape', dtype: 'bf16', cost: rooflineMatmulCost(h100, 'bf16'), launchSeconds: 4e-6 })
 */
export function raggedBatchSeconds(
  shape: AttentionShape,
  opts: { lengths: readonly number[]; strategy: RaggedStrategy; buckets?: number; dtype: Dtype; cost: MatmulCostModel; launchSeconds: number },
): number {
  const a = checkAttentionShape(shape);
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  const launch = checkNumber('launchSeconds', opts.launchSeconds, { min: 0, max: 1 });
  if (typeof opts.cost?.matmulSeconds !== 'function') throw new InputError('cost', opts.cost, 'a MatmulCostModel');
  let t = 0;
  for (const g of raggedGroups(opts.lengths, opts.strategy, { buckets: opts.buckets })) {
    for (const c of decodeAttentionCalls(a, { sequences: g.indices.length, contextTokens: g.executedTokens, dtype })) {
      t += c.layers * (launch + opts.cost.matmulSeconds(c.score) + opts.cost.matmulSeconds(c.value));
    }
  }
  return t;
}

/**
 * Context lengths of a running decode batch drawn from a request mix: `batch`
 * requests picked uniformly from (prompt, output) pairs, each caught at a uniform
 * point of its generation (context = prompt + tokens generated so far, ≥ 1). Seeded
 * by `rng`, so a seed gives the same batch.
 *
 * @example
 * decodeLengthsFromMix({ promptTokens: trace.promptTokens, outputTokens: trace.outputTokens, batch: 32, rng: rng(1) })
 */
export function decodeLengthsFromMix(opts: { promptTokens: ArrayLike<number>; outputTokens: ArrayLike<number>; batch: number; rng: Rng }): number[] {
  const n = opts.promptTokens?.length;
  checkInt('promptTokens.length', n, { min: 1, max: 1e8 });
  if (opts.outputTokens?.length !== n) throw new InputError('outputTokens.length', opts.outputTokens?.length, `equal to promptTokens.length (${n})`);
  const batch = checkInt('batch', opts.batch, { min: 1, max: MAX_BATCH });
  const out: number[] = [];
  for (let i = 0; i < batch; i++) {
    const j = Math.min(n - 1, Math.floor(opts.rng() * n));
    const p = checkInt(`promptTokens[${j}]`, opts.promptTokens[j], { min: 0, max: MAX_TOKENS });
    const o = checkInt(`outputTokens[${j}]`, opts.outputTokens[j], { min: 0, max: MAX_TOKENS });
    out.push(Math.max(1, p + Math.floor(opts.rng() * (o + 1))));
  }
  return out;
}

/** One strategy's row of `raggedStrategyTable`. */
export interface RaggedStrategyRow extends RaggedPlan {
  seconds: number;
  /** seconds / the ragged kernel's seconds. */
  vsRagged: number;
}

/**
 * Every strategy for one batch of lengths, side by side: waste, launches and
 * predicted seconds (`raggedBatchSeconds`), each relative to a ragged kernel.
 *
 * @example
 * raggedStrategyTable(shape, { lengths, dtype: 'bf16', cost: rooflineMatmulCost(h100, 'bf16'), launchSeconds: 4e-6 })
 */
export function raggedStrategyTable(
  shape: AttentionShape,
  opts: { lengths: readonly number[]; dtype: Dtype; cost: MatmulCostModel; launchSeconds: number; buckets?: number },
): RaggedStrategyRow[] {
  const seconds = (strategy: RaggedStrategy): number => raggedBatchSeconds(shape, { ...opts, strategy });
  const ragged = seconds('ragged');
  return RAGGED_STRATEGIES.map((strategy) => {
    const t = seconds(strategy);
    return { ...raggedBatchPlan(shape, { lengths: opts.lengths, strategy, buckets: opts.buckets, dtype: opts.dtype }), seconds: t, vsRagged: t / ragged };
  });
}

/**
 * Batches of context lengths to measure: for each batch size, lengths spread
 * uniformly by ±s around `mean` for each spread s (0: all equal), and, with `mix`,
 * lengths drawn from a request mix (`decodeLengthsFromMix`) scaled by `mix.scale`.
 * Seeded; labels read 'equal', '±50%', 'request mix'.
 *
 * @example
 * lengthCases({ batches: [16], mean: 512, spreads: [0, 0.5], seed: 1 }).map((c) => c.spread) // => ['equal', '±50%']
 */
export function lengthCases(opts: {
  batches: readonly number[];
  mean: number;
  spreads: readonly number[];
  mix?: { promptTokens: ArrayLike<number>; outputTokens: ArrayLike<number>; scale?: number };
  seed: number;
}): Array<{ spread: string; lengths: number[] }> {
  const batches = checkArray<number>('batches', opts.batches, 100);
  const mean = checkInt('mean', opts.mean, { min: 1, max: 1 << 20 });
  const spreads = checkArray<number>('spreads', opts.spreads, 100);
  const out: Array<{ spread: string; lengths: number[] }> = [];
  for (const [bi, b] of batches.entries()) {
    checkInt(`batches[${bi}]`, b, { min: 1, max: 4096 });
    const r = rngFor(opts.seed, bi);
    for (const [si, s] of spreads.entries()) {
      checkNumber(`spreads[${si}]`, s, { min: 0, max: 1 });
      const lengths = Array.from({ length: b }, () => Math.max(1, Math.round(mean * (1 + s * (2 * r() - 1)))));
      out.push({ spread: s === 0 ? 'equal' : `±${Math.round(s * 100)}%`, lengths });
    }
    if (opts.mix) {
      const scale = checkNumber('mix.scale', opts.mix.scale ?? 1, { min: 0, exclusiveMin: true, max: 1 });
      const lengths = decodeLengthsFromMix({ ...opts.mix, batch: b, rng: r }).map((l) => Math.max(1, Math.round(l * scale)));
      out.push({ spread: 'request mix', lengths });
    }
  }
  return out;
}

function rngFor(seed: number, index: number): Rng {
  return fork(seed, `lengthCases/${index}`);
}
