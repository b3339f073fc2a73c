import { yieldToEventLoop } from '../util/event-loop.js';
import type { Tensor } from '@tensorflow/tfjs-core';
import * as aq from 'arquero';
import { activeBackend, selectBackend } from '../backend/registry.js';
import type { BackendName, SelectedBackend } from '../backend/registry.js';
import { deviceInfo } from '../backend/device.js';
import type { Dtype } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkOneOf } from '../util/validate.js';
import { assertGemmMemory, defaultGemmMemoryBudget } from './memory.js';
import { GEMM_COLUMNS, gemmRow, gemmRowKey } from './row.js';
import type { GemmRow } from './row.js';
import { checkDim, gemmBatchSizes, gemmBytes, gemmFlops, gemmWeightBytes } from './shapes.js';
import { resolveTimingOptions, timeTfOp } from './timing.js';
import type { TimingOptions } from './timing.js';
import { gemmLineRefinement } from './refine.js';
import type { GemmRefineOptions } from './refine.js';
import type { Table } from '../util/table.js';

/**
 * How the weight is stored and multiplied.
 * - `plain`: W is [K×N] row-major, `matMul(X, W)`.
 * - `transposed-w`: W is stored [N×K] (each output's weights contiguous, the layout of
 *   a PyTorch `nn.Linear`), `matMul(X, W, false, true)`.
 * - `feature-major`: activations are kept feature-major, X^T [K×M], and W is [N×K]:
 *   `matMul(W, X^T)` gives Y^T [N×M]. The same product with the batch as the inner
 *   (output-column) dimension; on oneDNN CPUs it is the fastest layout for 8 ≲ M ≲ 256.
 */
export type GemmVariant = 'plain' | 'transposed-w' | 'feature-major';
/** The weight layouts the GEMM harness times (see `gemmVariantOperands`). */
export const GEMM_VARIANTS: readonly GemmVariant[] = ['plain', 'transposed-w', 'feature-major'];

/**
 * The operands and product of one variant: weight shape, activation shape and the
 * call. Weights and activations are created once per point; only `run` is timed.
 *
 * @example
 * gemmVariantOperands('feature-major', 4, 64, 32) // => { wShape: [32, 64], xShape: [64, 4], transposeB: false, weightFirst: true }
 */
export function gemmVariantOperands(variant: GemmVariant, m: number, k: number, n: number): { wShape: [number, number]; xShape: [number, number]; transposeB: boolean; weightFirst: boolean } {
  switch (variant) {
    case 'plain':
      return { wShape: [k, n], xShape: [m, k], transposeB: false, weightFirst: false };
    case 'transposed-w':
      return { wShape: [n, k], xShape: [m, k], transposeB: true, weightFirst: false };
    case 'feature-major':
      return { wShape: [n, k], xShape: [k, m], transposeB: false, weightFirst: true };
  }
}

/**
 * The product the harness times for a variant, on a weight and an activation shaped by
 * `gemmVariantOperands` (pass its answer as `ops`): X·W (plain), X·Wᵀ (transposed-w) or
 * W·X (feature-major, the product transposed). The correctness suite multiplies with
 * this same function, so what is timed is what is checked.
 *
 * @example
 * const ops = gemmVariantOperands('transposed-w', 4, 64, 32);
 * gemmVariantProduct(tf, ops, tf.ones(ops.wShape), tf.ones(ops.xShape)).shape // => [4, 32]
 */
export function gemmVariantProduct(tf: SelectedBackend['tf'], ops: { transposeB: boolean; weightFirst: boolean }, weight: Tensor, x: Tensor): Tensor {
  return ops.weightFirst ? tf.matMul(weight, x) : tf.matMul(x, weight, false, ops.transposeB);
}

/**
 * Element types the tfjs backends can multiply. tfjs 4.22 has no 16-bit or 8-bit
 * float dtype: every floating-point tensor is float32 on all backends.
 *
 * @example
 * gemmDtypes('wasm') // => ['fp32']
 */
export function gemmDtypes(_backend?: BackendName | string): Dtype[] {
  return ['fp32'];
}

/** Options shared by every measurement of the harness. */
export interface GemmBenchOptions {
  /** Backend to run on; default: the active one (BATCHLAB_BACKEND or the best available). */
  backend?: BackendName | 'auto';
  /** Per-point repetition policy (warm-up, minimum count and time). */
  timing?: TimingOptions;
  /** Shorthands for timing.minReps and timing.minTimeMs. */
  minReps?: number;
  minTimeMs?: number;
  /** Bytes of tensors a point may allocate; default: half of free memory. */
  memoryBudgetBytes?: number;
  /** Seed for the operand values (values do not change dense-matmul speed, but runs are reproducible). */
  seed?: number;
}

/** Options of `sweepGemm`. */
export interface GemmSweepOptions extends GemmBenchOptions {
  /** Batch sizes M; default `gemmBatchSizes(4096)`. */
  ms?: number[];
  /** (K, N) pairs; default [{k: 4096, n: 4096}]. */
  shapes?: Array<{ k: number; n: number }>;
  dtypes?: Dtype[];
  variants?: GemmVariant[];
  /** Rows already measured (from a file being resumed): their points are skipped and kept. */
  done?: readonly GemmRow[];
  /** Called after each new point, e.g. to save progress; awaited before the next point. */
  onPoint?: (row: GemmRow, progress: { done: number; total: number }) => void | Promise<void>;
  /** Stops the sweep between points; completed points are returned. */
  signal?: AbortSignal;
  /**
   * Measure more M where a line's time steps (`gemmLineRefinement`): after the grid,
   * every (K, N, dtype, variant) line whose time grows faster than proportionally to M
   * between two measured neighbours is bisected there, point by point, until each step
   * is bracketed between adjacent M or the cap is reached, so that a measured table built
   * from the rows never interpolates across a change of kernel or threading regime.
   * `true` takes the defaults; M of the grid are the base, every other M of a line counts
   * as refined (also in resumed rows). Default: no refinement.
   */
  refine?: boolean | GemmRefineOptions;
}

/**
 * Activates `name` if it is not the active backend, quietly.
 *
 * @example
 * const { tf } = await gemmBackend('cpu');
 */
export async function gemmBackend(name: BackendName | 'auto' | undefined): Promise<SelectedBackend> {
  const active = await activeBackend();
  if (name === undefined || name === active.name) return active;
  if (name === 'auto') return selectBackend('auto', { log: () => {} });
  return selectBackend(name, { log: () => {} });
}

/**
 * The timing options of a GemmBenchOptions, shorthands folded in.
 *
 * @example
 * gemmTiming({ timing: { warmup: 1 }, minReps: 3 }) // => { warmup: 1, minReps: 3 }
 */
export function gemmTiming(opts: GemmBenchOptions): TimingOptions {
  const t = { ...opts.timing };
  if (opts.minReps !== undefined) t.minReps = opts.minReps;
  if (opts.minTimeMs !== undefined) t.minTimeMs = opts.minTimeMs;
  resolveTimingOptions(t);
  return t;
}

/**
 * An arquero table of GEMM rows, with the harness's column order.
 *
 * @example
 * gemmTable(rows).numRows() // => rows.length
 */
export function gemmTable(rows: readonly GemmRow[]): Table {
  const cols: Record<string, unknown[]> = {};
  for (const c of GEMM_COLUMNS) cols[c] = rows.map((r) => r[c]);
  return aq.table(cols);
}

/**
 * Rows of a GEMM table as plain objects.
 *
 * @example
 * gemmRows(await sweepGemm({ ms: [1, 8], shapes: [{ k: 64, n: 64 }] }))[0].median_s // => seconds per matmul at M = 1
 */
export function gemmRows(table: Table): GemmRow[] {
  return table.objects() as unknown as GemmRow[];
}

interface SweepPoint {
  m: number;
  k: number;
  n: number;
  dtype: Dtype;
  variant: GemmVariant;
}

/**
 * The points of a sweep, validated, in measuring order (shape, variant, then M ascending).
 *
 * @example
 * gemmSweepPoints({ ms: [8, 1], shapes: [{ k: 64, n: 64 }] }).map((p) => p.m) // => [1, 8]
 */
export function gemmSweepPoints(opts: GemmSweepOptions): SweepPoint[] {
  const ms = checkArray<number>('ms', opts.ms ?? gemmBatchSizes(4096), 10_000);
  ms.forEach((m, i) => checkDim(`ms[${i}]`, m));
  const shapes = checkArray<{ k: number; n: number }>('shapes', opts.shapes ?? [{ k: 4096, n: 4096 }], 1000);
  shapes.forEach((s, i) => {
    if (typeof s !== 'object' || s === null) throw new InputError(`shapes[${i}]`, s, 'an object {k, n}');
    checkDim(`shapes[${i}].k`, s.k);
    checkDim(`shapes[${i}].n`, s.n);
  });
  const dtypes = checkArray<Dtype>('dtypes', opts.dtypes ?? ['fp32'], 16);
  const supported = gemmDtypes(opts.backend);
  dtypes.forEach((d, i) => checkOneOf(`dtypes[${i}]`, d, supported));
  const variants = checkArray<GemmVariant>('variants', opts.variants ?? ['plain'], 16);
  variants.forEach((v, i) => checkOneOf(`variants[${i}]`, v, GEMM_VARIANTS));
  const points: SweepPoint[] = [];
  for (const { k, n } of shapes)
    for (const dtype of dtypes)
      for (const variant of variants)
        for (const m of [...new Set(ms)].sort((a, b) => a - b)) points.push({ m, k, n, dtype, variant });
  return points;
}

function sweepRowKey(p: SweepPoint): string {
  return gemmRowKey({ case: 'sweep', variant: p.variant, m: p.m, k: p.k, n: p.n, batch: 1, dtype: p.dtype, detail: '' });
}

/**
 * Case (a): the batch sweep. Times X[M×K]·W[K×N] for every M, (K, N), dtype and
 * variant, each after a warm-up and for at least `minReps` repetitions and
 * `minTimeMs` milliseconds. Every shape is checked against the memory budget before
 * anything is allocated. Returns an arquero table of `GemmRow`s (provenance and
 * robust statistics per point), resumed rows first.
 *
 * @example
 * const t = await sweepGemm({ ms: [1, 8, 64], shapes: [{ k: 256, n: 256 }], minTimeMs: 20 });
 * t.array('gflops') // => GFLOP/s per M, rising with M
 */
export async function sweepGemm(opts: GemmSweepOptions = {}): Promise<Table> {
  const points = gemmSweepPoints(opts);
  const timing = gemmTiming(opts);
  const refine = opts.refine === undefined || opts.refine === false ? undefined : opts.refine === true ? {} : opts.refine;
  if (refine !== undefined && (typeof refine !== 'object' || refine === null)) throw new InputError('refine', opts.refine, 'a boolean or refinement options {margin, maxExtra, exclude}');
  // Its options are checked before anything is measured.
  if (refine) gemmLineRefinement([{ m: 1, seconds: 1 }], refine);
  const budget = opts.memoryBudgetBytes ?? defaultGemmMemoryBudget();
  for (const p of points) assertGemmMemory(`X[${p.m}×${p.k}]·W[${p.k}×${p.n}] (${p.dtype})`, gemmBytes(p.m, p.k, p.n, p.dtype), budget);
  const backend = await gemmBackend(opts.backend);
  const tf = backend.tf;
  const info = await deviceInfo();
  const done = new Map((opts.done ?? []).map((r) => [gemmRowKey(r), r]));
  const todo = points.filter((p) => !done.has(sweepRowKey(p)));
  const rows: GemmRow[] = [...done.values()];
  let completed = points.length - todo.length;
  let seed = opts.seed ?? 1;
  let w: Tensor | undefined;
  let wKey = '';
  let total = points.length;
  const measure = async (p: SweepPoint): Promise<void> => {
    const key = `${p.k}|${p.n}|${p.variant}`;
    if (key !== wKey) {
      w?.dispose();
      w = tf.randomUniform(gemmVariantOperands(p.variant, p.m, p.k, p.n).wShape, -1, 1, 'float32', seed++);
      wKey = key;
    }
    const ops = gemmVariantOperands(p.variant, p.m, p.k, p.n);
    const x = tf.randomUniform(ops.xShape, -1, 1, 'float32', seed++);
    const weight = w as Tensor;
    try {
      const t = await timeTfOp(() => gemmVariantProduct(tf, ops, weight, x), timing);
      const row = gemmRow(
        {
          case: 'sweep',
          variant: p.variant,
          m: p.m,
          k: p.k,
          n: p.n,
          dtype: p.dtype,
          flops: gemmFlops(p.m, p.k, p.n),
          bytes: gemmBytes(p.m, p.k, p.n, p.dtype),
          weightBytes: gemmWeightBytes(p.k, p.n, p.dtype),
        },
        t,
        info,
      );
      rows.push(row);
      await opts.onPoint?.(row, { done: ++completed, total });
    } finally {
      x.dispose();
    }
  };
  try {
    for (const p of todo) {
      // Timing loops are synchronous: let a Ctrl-C handler run between points.
      await yieldToEventLoop();
      if (opts.signal?.aborted) break;
      await measure(p);
    }
    if (refine) {
      // The grid's lines, each refined until it asks for nothing. A refined M lies between
      // two measured M of its line, which resumed rows may put beyond the grid: each asked
      // point gets the memory check the grid had.
      const lines = [...new Map(points.map((p) => [`${p.k}|${p.n}|${p.dtype}|${p.variant}`, p])).values()];
      const grid = new Set(points.map((p) => p.m));
      for (;;) {
        const ask: SweepPoint[] = [];
        for (const l of lines) {
          const mine = rows.filter((r) => r.case === 'sweep' && r.variant === l.variant && r.k === l.k && r.n === l.n && r.dtype === l.dtype && r.batch === 1);
          const line = mine
            .filter((r) => r.median_s > 0)
            .sort((a, b) => a.m - b.m)
            .filter((r, i, sorted) => i === 0 || r.m !== sorted[i - 1].m)
            .map((r) => ({ m: r.m, seconds: r.median_s, refined: !grid.has(r.m) }));
          // A point too fast for the clock (median 0) stays out of the line, and is not asked for again.
          const exclude = [...(refine.exclude ?? []), ...mine.filter((r) => !(r.median_s > 0)).map((r) => r.m)];
          if (line.length > 1) for (const m of gemmLineRefinement(line, { ...refine, exclude }).next) ask.push({ ...l, m });
        }
        if (ask.length === 0 || opts.signal?.aborted) break;
        for (const p of ask) assertGemmMemory(`X[${p.m}×${p.k}]·W[${p.k}×${p.n}] (${p.dtype})`, gemmBytes(p.m, p.k, p.n, p.dtype), budget);
        total += ask.length;
        for (const p of ask) {
          await yieldToEventLoop();
          if (opts.signal?.aborted) break;
          await measure(p);
        }
      }
    }
  } finally {
    w?.dispose();
  }
  return gemmTable(rows);
}
