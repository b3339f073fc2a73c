import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GemmRow } from '../gemm/row.js';
import { InputError } from '../util/errors.js';
import { writeFileSafe } from '../util/files.js';
import type { KernelOp } from './schema.js';
import { KERNEL_SCHEMA } from './schema.js';
import { readKernelRows, SAFE_NAME } from './load.js';

/** The GEMM-harness fields a kernel row is made from (also written by bench/gpu/torch_gemm_sweep.py). */
export type GemmTiming = Pick<GemmRow, 'case' | 'variant' | 'm' | 'k' | 'n' | 'batch' | 'calls' | 'median_s'> & { dtype: string };

/**
 * Kernel-database GEMM rows from the GEMM harness's rows: each plain sweep point of
 * one product per call becomes (dtype, m, n, k, time_us), at its median time per call.
 * Other cases (one-vs-many, dispatch, grouped experts) time several products per call
 * and are left out.
 *
 * @example
 * kernelRowsFromGemm([{ case: 'sweep', variant: 'plain', m: 8, k: 4096, n: 4096, batch: 1, calls: 1, dtype: 'fp32', median_s: 2e-4 }])
 * // => [{ dtype: 'fp32', m: 8, n: 4096, k: 4096, time_us: 200 }]
 */
export function kernelRowsFromGemm(rows: readonly GemmTiming[]): Array<Record<string, string | number>> {
  return rows
    .filter((r) => r.case === 'sweep' && r.variant === 'plain' && r.batch === 1 && r.calls >= 1 && r.median_s > 0)
    .map((r) => ({ dtype: r.dtype, m: r.m, n: r.n, k: r.k, time_us: (r.median_s / r.calls) * 1e6 }));
}

/**
 * Writes rows into `<root>/<device>/<framework>/<version>/<op>.csv` atomically, merged
 * with the rows already there (a shape measured again replaces its old row), and
 * returns the path. Names must be plain folder names; every row is checked as the
 * loader checks it.
 *
 * @example
 * writeKernelTable('data/measured/kernels', { device: 'epyc-2c-8g-3f09a1c2', framework: 'tfjs-tensorflow', version: '4.22.0', op: 'gemm' }, rows)
 */
export function writeKernelTable(root: string, meta: { device: string; framework: string; version: string; op: KernelOp }, rows: ReadonlyArray<Record<string, string | number>>): string {
  for (const f of ['device', 'framework', 'version'] as const) {
    if (typeof meta[f] !== 'string' || !SAFE_NAME.test(meta[f])) throw new InputError(f, meta[f], 'a folder name of letters, digits and . _ + - (not starting with one of them)');
  }
  const s = KERNEL_SCHEMA[meta.op];
  if (!s) throw new InputError('op', meta.op, `one of ${Object.keys(KERNEL_SCHEMA).join(', ')}`);
  const cols = [...s.keys, ...s.axes];
  const dir = join(root, meta.device, meta.framework, meta.version);
  const path = join(dir, `${meta.op}.csv`);
  const merged = new Map<string, string>();
  if (existsSync(path)) {
    for (const r of readKernelRows(path, meta)) merged.set(cols.map((c) => r.dims[c]).join(','), `${cols.map((c) => r.dims[c]).join(',')},${r.timeUs}`);
  }
  for (const [i, r] of rows.entries()) {
    const t = Number(r.time_us);
    if (!Number.isFinite(t) || t <= 0) throw new InputError(`rows[${i}].time_us`, r.time_us, 'a finite number > 0');
    for (const c of cols) {
      const v = r[c];
      if (v === undefined || v === '' || String(v).includes(',')) throw new InputError(`rows[${i}].${c}`, v, 'a value without commas');
      if (s.axes.includes(c) && !(Number(v) > 0 && Number.isFinite(Number(v)))) throw new InputError(`rows[${i}].${c}`, v, 'a finite number > 0');
    }
    const key = cols.map((c) => r[c]).join(',');
    merged.set(key, `${key},${Number(t.toPrecision(6))}`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSafe('root', path, `${[...cols, 'time_us'].join(',')}\n${[...merged.values()].join('\n')}\n`);
  return path;
}
