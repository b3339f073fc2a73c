import { quantileSorted } from '../util/stats.js';
import { InputError } from '../util/errors.js';
import { KERNEL_SCHEMA } from './schema.js';
import type { KernelRow } from './schema.js';
import type { KernelTable } from './table.js';

/** Two tables' measurements of the same shapes: `ratio` is `table` over `reference`. */
export interface KernelTableAgreement {
  /** Shapes both tables measured (every key and axis equal), with their times. */
  pairs: Array<{ dims: Readonly<Record<string, string | number>>; seconds: number; referenceSeconds: number; ratio: number }>;
  /** Median, 10th and 90th percentile of the ratios (NaN-free: undefined when no shape is shared). */
  median?: number;
  p10?: number;
  p90?: number;
}

/**
 * Sets two tables of one op side by side on the shapes both measured, e.g. the shipped
 * aiconfigurator rows of a GPU against rows measured on another unit of it by
 * bench/gpu/kernel_tables.py. Only exact shapes are paired: nothing is interpolated.
 * `where` keeps a subset (e.g. one dtype).
 *
 * @example
 * const db = loadKernelDb('data/examples/measured/kernels');
 * kernelTableAgreement(defaultKernelDb().table('h200_sxm', 'trtllm', 'gemm')!, db.table('h200_sxm', 'torch', 'gemm')!, (d) => d.dtype === 'bf16').median
 */
export function kernelTableAgreement(table: KernelTable, reference: KernelTable, where: (dims: Readonly<Record<string, string | number>>) => boolean = () => true): KernelTableAgreement {
  if (table.op !== reference.op) throw new InputError('reference.op', reference.op, `the same op as the table (${table.op})`);
  const s = KERNEL_SCHEMA[table.op];
  const cols = [...s.keys, ...s.axes];
  const key = (r: KernelRow): string => cols.map((c) => String(r.dims[c])).join('|');
  const ref = new Map<string, KernelRow>();
  for (const r of reference.rows) if (!ref.has(key(r))) ref.set(key(r), r);
  const pairs: KernelTableAgreement['pairs'] = [];
  const seen = new Set<string>();
  for (const r of table.rows) {
    const k = key(r);
    const b = ref.get(k);
    if (!b || seen.has(k) || !where(r.dims)) continue;
    seen.add(k);
    pairs.push({ dims: r.dims, seconds: r.timeUs / 1e6, referenceSeconds: b.timeUs / 1e6, ratio: r.timeUs / b.timeUs });
  }
  if (pairs.length === 0) return { pairs };
  const sorted = pairs.map((p) => p.ratio).sort((a, b) => a - b);
  return { pairs, median: quantileSorted(sorted, 0.5), p10: quantileSorted(sorted, 0.1), p90: quantileSorted(sorted, 0.9) };
}
