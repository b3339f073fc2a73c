import type { KernelDb } from '../../lib/kernels/load.js';
import { defaultKernelDb, loadKernelDb } from '../../lib/kernels/load.js';
import { kernelDeviceFolder } from '../../lib/kernels/pricer.js';
import type { HardwareSpec } from '../../lib/hardware/spec.js';
import type { KernelUsage } from '../../lib/roofline/kernel-step.js';
import { InputError } from '../../lib/util/errors.js';
import { asFlags } from './context.js';

/**
 * The kernel-database options of `--framework` and `--kernel-db`: none without
 * `--framework`; `--kernel-db` alone is refused (it names tables no framework picks).
 * `--kernel-db` may be an aiconfigurator checkout: only `hw`'s device and the framework
 * are converted (every device without `hw`).
 *
 * @example
 * kernelOptionsFromFlags({ framework: 'trtllm' }) // => { framework: 'trtllm', kernelDb: undefined }
 */
export function kernelOptionsFromFlags(o: { framework?: string; kernelDb?: string }, hw?: HardwareSpec): { framework?: string; kernelDb?: KernelDb } {
  if (o.framework === undefined) {
    if (o.kernelDb !== undefined) throw new InputError('--framework', undefined, 'given with --kernel-db: the framework folder to read, e.g. trtllm');
    return {};
  }
  // An aiconfigurator checkout converts only the tables this command reads (its device, its framework).
  const only = { devices: hw ? [kernelDeviceFolder(hw)] : undefined, frameworks: [o.framework] };
  const kernelDb = o.kernelDb === undefined ? undefined : asFlags(() => loadKernelDb(o.kernelDb, only), { kernelDb: '--kernel-db', frameworks: '--framework' });
  const db = kernelDb ?? defaultKernelDb();
  const held = [...new Set(db.entries.map((e) => e.framework))].sort();
  if (!held.includes(o.framework)) throw new InputError('--framework', o.framework, `one of the frameworks ${o.kernelDb ?? 'data/kernels'} holds: ${held.join(', ')}`);
  return { framework: o.framework, kernelDb };
}

/**
 * One line per (kernel family, kind, source) of a step's pricing, e.g.
 * "gemm: 161 interpolated calls (6 table rows) from data/kernels/h200_sxm/trtllm/1.3.0rc20/gemm.csv.gz".
 *
 * @example
 * kernelUsageLines([{ op: 'gemm', kind: 'measured', from: 'gemm.csv', calls: 160, rows: 2 }]) // => ['gemm: 160 measured calls (2 table rows) from gemm.csv']
 */
export function kernelUsageLines(usage: readonly KernelUsage[]): string[] {
  return usage.map((u) => `${u.op}: ${u.calls} ${u.kind} calls${u.rows > 0 ? ` (${u.rows} table rows)` : ''} from ${u.from}`);
}
