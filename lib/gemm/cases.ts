import type { Tensor } from '@tensorflow/tfjs-core';
import { deviceInfo } from '../backend/device.js';
import type { Dtype } from '../core/types.js';
import { DTYPE_BYTES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkOneOf } from '../util/validate.js';
import { assertGemmMemory, defaultGemmMemoryBudget } from './memory.js';
import { gemmRow } from './row.js';
import type { GemmRow } from './row.js';
import { checkDim, gemmBytes, gemmFlops, gemmWeightBytes } from './shapes.js';
import { gemmBackend, gemmDtypes, gemmTable, gemmTiming, gemmVariantProduct } from './sweep.js';
import type { GemmBenchOptions } from './sweep.js';
import { timeTfOp } from './timing.js';
import type { TimingStats } from './stats.js';
import type { Table } from '../util/table.js';

/** One point of the one-big-vs-many-small comparison. */
export interface OneVsManyPoint {
  batch: number;
  /** Seconds for one X[B×K]·W matmul. */
  oneSeconds: number;
  /** Seconds for B matmuls of one token each. */
  manySeconds: number;
  /** manySeconds / oneSeconds: how much faster batching the B tokens is (medians). */
  speedup: number;
  /**
   * The speed-up's spread over the repetitions: the fastest 'many' (p10) over the slowest
   * 'one' (p90), and the slowest 'many' over the fastest 'one'. A shared, noisy machine
   * moves the median within this range from run to run.
   */
  speedupLow: number;
  speedupHigh: number;
}

/**
 * Case (b): one matmul of B tokens against B matmuls of one token each, on the same
 * weight ("ten tokens in one GEMM"). Rows have variant 'one' (calls = 1) and 'many'
 * (calls = B); `points` pairs them into a speed-up curve over B.
 *
 * @example
 * const r = await benchOneVsMany({ batches: [1, 4, 16], k: 512, n: 512, minTimeMs: 20 });
 * r.points.map((p) => p.speedup) // => e.g. [1.0, 3.6, 11]
 */
export async function benchOneVsMany(
  opts: GemmBenchOptions & { batches: number[]; k: number; n: number; dtype?: Dtype },
): Promise<{ table: Table; points: OneVsManyPoint[] }> {
  const batches = checkArray<number>('batches', opts.batches, 4096);
  batches.forEach((b, i) => checkInt(`batches[${i}]`, b, { min: 1, max: 65_536 }));
  const k = checkDim('k', opts.k);
  const n = checkDim('n', opts.n);
  const dtype = checkOneOf('dtype', opts.dtype ?? 'fp32', gemmDtypes(opts.backend));
  const timing = gemmTiming(opts);
  const budget = opts.memoryBudgetBytes ?? defaultGemmMemoryBudget();
  const maxB = Math.max(...batches);
  assertGemmMemory(`X[${maxB}×${k}]·W[${k}×${n}] and its ${maxB} one-token slices`, gemmBytes(maxB, k, n, dtype) + DTYPE_BYTES[dtype] * maxB * (k + n), budget);
  const { tf } = await gemmBackend(opts.backend);
  const info = await deviceInfo();
  const seed = opts.seed ?? 1;
  const w = tf.randomUniform([k, n], -1, 1, 'float32', seed);
  const rows: GemmRow[] = [];
  const points: OneVsManyPoint[] = [];
  try {
    for (const b of [...new Set(batches)].sort((a, c) => a - c)) {
      const x = tf.randomUniform([b, k], -1, 1, 'float32', seed + b);
      // The single-token operands exist before timing starts: a server has each
      // request's activations already, and slicing is not the cost being compared.
      const xs = tf.split(x, b, 0);
      try {
        const one = await timeTfOp(() => tf.matMul(x, w), timing);
        const many = await timeTfOp(() => xs.map((xi) => tf.matMul(xi, w)), timing);
        const base = { k, n, dtype, weightBytes: gemmWeightBytes(k, n, dtype) };
        rows.push(gemmRow({ ...base, case: 'one-vs-many', variant: 'one', m: b, flops: gemmFlops(b, k, n), bytes: gemmBytes(b, k, n, dtype) }, one, info));
        rows.push(
          gemmRow(
            { ...base, case: 'one-vs-many', variant: 'many', m: b, calls: b, flops: gemmFlops(b, k, n), bytes: gemmBytes(1, k, n, dtype) * b, weightBytes: gemmWeightBytes(k, n, dtype) * b },
            many,
            info,
          ),
        );
        points.push({
          batch: b,
          oneSeconds: one.stats.median,
          manySeconds: many.stats.median,
          speedup: many.stats.median / one.stats.median,
          speedupLow: many.stats.p10 / one.stats.p90,
          speedupHigh: many.stats.p90 / one.stats.p10,
        });
      } finally {
        tf.dispose([x, ...xs]);
      }
    }
  } finally {
    w.dispose();
  }
  return { table: gemmTable(rows), points };
}

/**
 * Case (c): the fixed cost of one call, from the smallest matmul (1×1×1), timed with
 * the backend's completion mode and again with a forced one-element read-back. The
 * first is the dispatch overhead the cost model's `overheadSeconds` should match; the
 * difference is what synchronising costs.
 *
 * @example
 * const d = await benchDispatchOverhead({ minTimeMs: 50 });
 * d.dispatchSeconds // => e.g. 6e-5 on native TensorFlow
 */
export async function benchDispatchOverhead(
  opts: GemmBenchOptions = {},
): Promise<{ table: Table; dispatchSeconds: number; readbackSeconds: number }> {
  const timing = gemmTiming(opts);
  const { tf } = await gemmBackend(opts.backend);
  const info = await deviceInfo();
  const a = tf.ones([1, 1]);
  const b = tf.ones([1, 1]);
  try {
    const call = await timeTfOp(() => tf.matMul(a, b), timing);
    const forced = await timeTfOp(() => tf.matMul(a, b), { ...timing, sync: 'readback' });
    const spec = { case: 'dispatch', m: 1, k: 1, n: 1, dtype: 'fp32' as Dtype, flops: 2, bytes: 12, weightBytes: 4 };
    const rows = [gemmRow({ ...spec, variant: 'matmul-1x1x1' }, call, info), gemmRow({ ...spec, variant: 'matmul-1x1x1+readback' }, forced, info)];
    return { table: gemmTable(rows), dispatchSeconds: call.stats.median, readbackSeconds: Math.max(0, forced.stats.median - call.stats.median) };
  } finally {
    tf.dispose([a, b]);
  }
}

/** Options of `benchGroupedExperts`. */
export interface GroupedExpertsOptions extends GemmBenchOptions {
  /** Tokens routed to each expert (an array or e.g. moeRouteCounts' Int32Array); zeros are allowed (that expert is idle and skipped). */
  tokensPerExpert: ArrayLike<number>;
  /** Expert input width (e.g. 7168 for DeepSeek-V3). */
  k: number;
  /** Expert output width (e.g. 2048 for DeepSeek-V3's expert intermediate size). */
  n: number;
  dtype?: Dtype;
  /**
   * How every weight is stored, the same in all three formulations: 'transposed-w'
   * (default) keeps W as [N×K] and computes X·Wᵀ, the layout of a PyTorch
   * `nn.Linear` and of HF checkpoints; 'plain' keeps W as [K×N]. It matters: with
   * TensorFlow's oneDNN kernels on a CPU, X·W at 32 ≤ M ≤ 256 ran 1.3–1.8× slower
   * than X·Wᵀ (bench/gemm-vs-reference), which would be charged to the experts.
   */
  layout?: 'plain' | 'transposed-w';
}

/** Medians of the three grouped-expert formulations and what they imply. */
export interface GroupedExpertsSummary {
  /** Experts with at least one token. */
  activeExperts: number;
  totalTokens: number;
  maxTokens: number;
  /** Useful rows / padded rows of the batched call: Σc / (E_active · max c). */
  paddingEfficiency: number;
  batchedSeconds: number;
  separateSeconds: number;
  denseSeconds: number;
  /** separateSeconds / batchedSeconds. */
  batchedSpeedup: number;
  /** separateSeconds / denseSeconds: the cost of spreading the same FLOPs over experts. */
  expertPenalty: number;
  /** The repetitions behind each median (seconds): p10, p90 and count, the spread a report quotes (benchGroupedExperts always sets it). */
  timings?: { batched: TimingStats; separate: TimingStats; dense: TimingStats };
}

/**
 * Case (d): E experts, expert e receiving `tokensPerExpert[e]` tokens, measured three
 * ways (only active experts hold weights and are computed, as a MoE layer does):
 * - `padded-batched`: one batched matmul X[E×c_max×K]·W[E×K×N] (or ·Wᵀ, see `layout`), every expert's
 *   tokens padded to the largest count. tfjs has no ragged or grouped matmul, and a
 *   gather-based batched call would also need equal row counts per batch entry, so
 *   padding is the only single-call formulation; its wasted rows are reported as
 *   `paddingEfficiency`.
 * - `separate`: E matmuls X_e[c_e×K]·W_e[K×N], one call per active expert.
 * - `dense`: one X[T×K]·W[K×N] with T = Σ c_e: the same useful FLOPs on one weight.
 * Phases run one after another so that peak memory is one set of expert weights.
 *
 * @example
 * const r = await benchGroupedExperts({ tokensPerExpert: [3, 0, 5, 1], k: 256, n: 128, minTimeMs: 20 });
 * r.summary.activeExperts // => 3
 */
export async function benchGroupedExperts(opts: GroupedExpertsOptions): Promise<{ table: Table; summary: GroupedExpertsSummary }> {
  const raw = opts.tokensPerExpert;
  const counts = checkArray<number>('tokensPerExpert', ArrayBuffer.isView(raw) ? Array.from(raw) : raw, 65_536);
  counts.forEach((c, i) => checkInt(`tokensPerExpert[${i}]`, c, { min: 0, max: 1 << 20 }));
  const k = checkDim('k', opts.k);
  const n = checkDim('n', opts.n);
  const dtype = checkOneOf('dtype', opts.dtype ?? 'fp32', gemmDtypes(opts.backend));
  const layout = checkOneOf('layout', opts.layout ?? 'transposed-w', ['plain', 'transposed-w'] as const);
  const tb = layout === 'transposed-w';
  // The same product as the sweep's plain and transposed-w variants, checked per backend by the correctness suite.
  const product = { transposeB: tb, weightFirst: false };
  const active = counts.filter((c) => c > 0);
  if (active.length === 0) throw new InputError('tokensPerExpert', counts, 'an array with at least one positive count');
  const timing = gemmTiming(opts);
  const budget = opts.memoryBudgetBytes ?? defaultGemmMemoryBudget();
  const e = active.length;
  const total = active.reduce((s, c) => s + c, 0);
  const cmax = Math.max(...active);
  const b = DTYPE_BYTES[dtype];
  const weights = b * e * k * n;
  const padded = b * e * cmax * (k + n);
  assertGemmMemory(`${e} experts of W[${k}×${n}] with ${cmax} padded tokens each`, weights + padded + b * total * (k + n), budget);

  const { tf } = await gemmBackend(opts.backend);
  const info = await deviceInfo();
  const seed = opts.seed ?? 1;
  const detail = `E=${e};T=${total};max=${cmax};counts=${active.join(',')};layout=${layout}`;
  const base = { case: 'grouped-experts', k, n, dtype, detail };
  const usefulFlops = gemmFlops(total, k, n);
  const rows: GemmRow[] = [];

  // Phase 1: one padded batched call.
  let batched;
  {
    const w3 = tf.randomUniform(tb ? [e, n, k] : [e, k, n], -1, 1, 'float32', seed);
    const x3 = tf.randomUniform([e, cmax, k], -1, 1, 'float32', seed + 1);
    try {
      batched = await timeTfOp(() => gemmVariantProduct(tf, product, w3, x3), timing);
    } finally {
      tf.dispose([w3, x3]);
    }
    rows.push(gemmRow({ ...base, variant: 'padded-batched', m: total, batch: e, flops: usefulFlops, bytes: weights + padded, weightBytes: weights }, batched, info));
  }
  // Phase 2: one call per active expert.
  let separate;
  {
    const ws: Tensor[] = [];
    const xs: Tensor[] = [];
    try {
      active.forEach((c, i) => {
        ws.push(tf.randomUniform(tb ? [n, k] : [k, n], -1, 1, 'float32', seed + 2 + 2 * i));
        xs.push(tf.randomUniform([c, k], -1, 1, 'float32', seed + 3 + 2 * i));
      });
      separate = await timeTfOp(() => xs.map((x, i) => gemmVariantProduct(tf, product, ws[i], x)), timing);
    } finally {
      tf.dispose([...ws, ...xs]);
    }
    rows.push(
      gemmRow({ ...base, variant: 'separate', m: total, batch: e, calls: e, flops: usefulFlops, bytes: weights + b * total * (k + n), weightBytes: weights }, separate, info),
    );
  }
  // Phase 3: the same FLOPs as one dense matmul.
  let dense;
  {
    const w = tf.randomUniform(tb ? [n, k] : [k, n], -1, 1, 'float32', seed + 2);
    const x = tf.randomUniform([total, k], -1, 1, 'float32', seed + 3);
    try {
      dense = await timeTfOp(() => gemmVariantProduct(tf, product, w, x), timing);
    } finally {
      tf.dispose([w, x]);
    }
    rows.push(gemmRow({ ...base, variant: 'dense', m: total, flops: usefulFlops, bytes: gemmBytes(total, k, n, dtype), weightBytes: gemmWeightBytes(k, n, dtype) }, dense, info));
  }
  const summary: GroupedExpertsSummary = {
    activeExperts: e,
    totalTokens: total,
    maxTokens: cmax,
    paddingEfficiency: total / (e * cmax),
    batchedSeconds: batched.stats.median,
    separateSeconds: separate.stats.median,
    denseSeconds: dense.stats.median,
    batchedSpeedup: separate.stats.median / batched.stats.median,
    expertPenalty: separate.stats.median / dense.stats.median,
    timings: { batched: batched.stats, separate: separate.stats, dense: dense.stats },
  };
  return { table: gemmTable(rows), summary };
}
