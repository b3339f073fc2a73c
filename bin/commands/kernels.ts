import type { KernelDb } from '../../lib/kernels/load.js';
import { defaultKernelDb, loadKernelDb } from '../../lib/kernels/load.js';
import { kernelDeviceFolder, kernelFrameworksOf, kernelTablesText } from '../../lib/kernels/pricer.js';
import type { HardwareSpec } from '../../lib/hardware/spec.js';
import type { KernelUsage } from '../../lib/roofline/kernel-step.js';
import { InputError } from '../../lib/util/errors.js';
import { checkOneOf } from '../../lib/util/validate.js';
import { FP8_SCALINGS } from '../../lib/roofline/deployment.js';
import type { EfficiencyMode, Fp8Scaling } from '../../lib/roofline/deployment.js';
import { asFlags } from './context.js';
import { countOf } from '../../lib/util/words.js';
import { DEFAULT_SERVING_ENGINE } from '../../lib/batching/engines.js';

/**
 * The kernel-database options of `--framework`, `--kernel-db` and `--fp8-scaling`: none
 * without `--framework`; `--kernel-db` or `--fp8-scaling` alone is refused (each only
 * picks tables, and without a framework no table prices the step).
 * `--kernel-db` may be an aiconfigurator checkout: only `hw`'s device and the framework
 * are converted (every device without `hw`). `implied`: the framework was not typed but
 * stands in for an engine preset's or a search spec's, and says which (a `--kernel-db`
 * without it is refused naming it).
 *
 * @example
 * kernelOptionsFromFlags({ framework: 'trtllm' }) // => { framework: 'trtllm', kernelDb: undefined }
 */
export function kernelOptionsFromFlags(
  o: { framework?: string; kernelDb?: string; fp8Scaling?: string },
  hw?: HardwareSpec,
  implied?: string,
): { framework?: string; kernelDb?: KernelDb; fp8Scaling?: Fp8Scaling } {
  const fp8Scaling = o.fp8Scaling === undefined ? undefined : (checkOneOf('--fp8-scaling', o.fp8Scaling, FP8_SCALINGS) as Fp8Scaling);
  if (o.framework === undefined) {
    if (o.kernelDb !== undefined) throw new InputError('--framework', undefined, 'given with --kernel-db: the framework folder to read, e.g. trtllm');
    if (fp8Scaling !== undefined) throw new InputError('--fp8-scaling', fp8Scaling, 'given with --framework: it picks the FP8 GEMM kernel table, e.g. --framework trtllm');
    return {};
  }
  // An aiconfigurator checkout converts only the tables this command reads (its device, its framework).
  const only = { devices: hw ? [kernelDeviceFolder(hw)] : undefined, frameworks: [o.framework] };
  const kernelDb = o.kernelDb === undefined ? undefined : asFlags(() => loadKernelDb(o.kernelDb, only), { kernelDb: '--kernel-db', frameworks: '--framework' });
  const db = kernelDb ?? defaultKernelDb();
  const held = kernelFrameworksOf(db);
  if (!held.includes(o.framework)) {
    if (implied !== undefined) throw new InputError('--framework', undefined, `given with --kernel-db ${o.kernelDb}: it holds ${held.join(', ') || 'no table'}, not the ${o.framework} tables ${implied}`);
    throw new InputError('--framework', o.framework, `one of the frameworks ${o.kernelDb ?? 'data/kernels'} holds: ${held.join(', ')}`);
  }
  // Typed for one device the database holds no table of: nothing it asks for can price the step
  // (another framework's tables on the device are refused by kernelPricer, naming them).
  if (hw !== undefined && implied === undefined && kernelFrameworksOf(db, hw).length === 0) {
    throw new InputError('--framework', o.framework, `left out for ${hw.id}: ${o.kernelDb ?? 'data/kernels'} holds no kernel table for it (without --framework the performance model prices it, and says so)`);
  }
  return { framework: o.framework, kernelDb, ...(fp8Scaling === undefined ? {} : { fp8Scaling }) };
}

/**
 * Whether the kernel options of `kernelOptionsFromFlags` price anything from tables on `hw`:
 * a framework whose tables the database (given or shipped) holds for the device (or its
 * compute donor). Otherwise every op is the performance model's, and the output says so.
 *
 * @example
 * tablesPrice({ framework: 'vllm' }, loadHardware('h100-sxm')) // => true
 * tablesPrice({ framework: 'vllm' }, loadHardware('mi300x')) // => false
 */
export function tablesPrice(kernels: { framework?: string | null; kernelDb?: KernelDb }, hw: HardwareSpec): boolean {
  return typeof kernels.framework === 'string' && kernelFrameworksOf(kernels.kernelDb ?? defaultKernelDb(), hw).includes(kernels.framework);
}

/**
 * The short name of what a command's figures are, as every `--json` gives it: kernel tables
 * where tables priced the step, else the performance model's mode, 'bound' for spec.
 *
 * @example
 * figuresKind(false, 'spec') // => 'bound'
 */
export function figuresKind(tables: boolean, mode: EfficiencyMode): string {
  return tables ? 'kernel tables' : mode === 'spec' ? 'bound' : mode;
}

/**
 * How an op the kernel tables do not hold is priced, by the performance model's efficiency mode.
 *
 * @example
 * efficiencyText('spec') // => 'at the datasheet bound'
 */
export function efficiencyText(mode: EfficiencyMode): string {
  if (mode === 'spec') return 'at the datasheet bound';
  return mode === 'calibrated' ? "at the hardware's sourced calibration efficiencies" : 'at typical efficiencies';
}

/**
 * The kernel options of a run under an engine preset: `kernelOptionsFromFlags`, with the
 * engine's own framework standing in for `--framework` when neither it nor `--efficiency`
 * was given (an engine preset is priced by its engine's kernels). Where the database holds
 * none of that engine's tables for the device, the performance model prices every op:
 * `missing` then says so for the label, and `--fp8-scaling`, which only picks a table, is
 * refused. A `--kernel-db` without the engine's framework is refused naming both flags.
 *
 * @example
 * engineKernelOptions({}, loadHardware('a100-80gb'), 'vllm') // => { kernels: {}, missing: 'no vllm kernel tables for a100-80gb' }
 */
export function engineKernelOptions(
  o: { framework?: string; kernelDb?: string; fp8Scaling?: string; efficiency?: string },
  hw: HardwareSpec,
  engine: string | undefined,
): { kernels: { framework?: string | null; kernelDb?: KernelDb; fp8Scaling?: Fp8Scaling }; missing?: string } {
  if (o.efficiency !== undefined && o.framework === undefined && o.kernelDb !== undefined) {
    throw new InputError('--kernel-db', o.kernelDb, 'left out with --efficiency and no --framework: --efficiency keeps kernel tables out (give --framework to read this database)');
  }
  if (engine === undefined || o.framework !== undefined || o.efficiency !== undefined) return { kernels: kernelOptionsFromFlags(o, hw) };
  const kernels = kernelOptionsFromFlags({ ...o, framework: engine }, hw, `the engine preset reads (${DEFAULT_SERVING_ENGINE}'s without --engine)`);
  if (tablesPrice(kernels, hw)) return { kernels };
  const missing = kernelTablesText(kernels.kernelDb ?? defaultKernelDb(), hw, engine);
  if (kernels.fp8Scaling !== undefined) throw new InputError('--fp8-scaling', kernels.fp8Scaling, `left out: it picks an FP8 GEMM table, and there are ${missing}`);
  // The performance model alone: not the default engine's tables, which the library takes for a configuration naming none.
  return { kernels: { framework: null }, missing };
}

/** The `--framework` help text's list of frameworks, shared by the commands that take it. */
export const FRAMEWORK_FLAG_HELP = "trtllm, sglang or vllm in the shipped data/kernels; with --kernel-db, any framework folder it holds (e.g. torch for bench/gpu's tables)";

/** The `--fp8-scaling` help text, shared by the commands that take it. */
export const FP8_SCALING_FLAG_HELP = `where kernel tables price the step (--framework's, or by default ${DEFAULT_SERVING_ENGINE}'s): how the checkpoint scales its FP8 GEMMs, which picks their kernel table: ${FP8_SCALINGS.join(', ')} (default: the checkpoint's own, read from its config.json's quantization_config, e.g. block for DeepSeek-V3; else dynamic)`;

/**
 * Which rows of the GEMM table priced a step's FP8 weight GEMMs under `scaling`
 * (PerfConfig `fp8Scaling`; the mapping is `kernelOpSeconds` in lib/roofline/kernel-step.ts).
 *
 * @example
 * fp8TableText({ scaling: 'static' }) // => "static scaling: the GEMM table's 'fp8' rows less its compute_scale and scale_matrix passes"
 */
export function fp8TableText({ scaling, from }: { scaling: Fp8Scaling; from?: 'asked' | 'checkpoint' | 'default' } = { scaling: 'dynamic' }): string {
  const whose = from === 'checkpoint' ? ", the checkpoint's own (its config.json's quantization_config; --fp8-scaling overrides it)" : '';
  if (scaling === 'block') return `block scaling${whose}: the GEMM table's 'fp8_block' rows`;
  if (scaling === 'static') return `static scaling${whose}: the GEMM table's 'fp8' rows less its compute_scale and scale_matrix passes`;
  return `dynamic scaling${whose}: the GEMM table's 'fp8' rows`;
}

/**
 * One line per (kernel family, kind, source) of a step's pricing, e.g.
 * "gemm: 161 interpolated calls (6 table rows) from data/kernels/h200_sxm/trtllm/1.3.0rc20/gemm.csv.gz".
 *
 * @example
 * kernelUsageLines([{ op: 'gemm', kind: 'measured', from: 'gemm.csv', calls: 160, rows: 2 }]) // => ['gemm: 160 measured calls (2 table rows) from gemm.csv']
 * kernelUsageLines([{ op: 'attention', kind: 'measured', from: 'attention.csv', calls: 1, rows: 1 }]) // => ['attention: 1 measured call (1 table row) from attention.csv']
 */
export function kernelUsageLines(usage: readonly KernelUsage[]): string[] {
  return usage.map((u) => `${u.op}: ${u.calls} ${u.kind} call${u.calls === 1 ? '' : 's'}${u.rows > 0 ? ` (${countOf(u.rows, 'table row')})` : ''} from ${u.from}`);
}

/**
 * A calibrated model asked for a dtype its hardware's calibration has no GEMM efficiency
 * for, as the `--precision` the user typed: the dtypes it has, and the flag that prices
 * others (`--efficiency typical` or `spec`). Any other error is returned as it is.
 *
 * @example
 * throw calibrationAsPrecision(err, 'int8', loadHardware('h100-sxm'))
 */
export function calibrationAsPrecision(e: unknown, precision: string, hw: HardwareSpec): unknown {
  if (!(e instanceof InputError) || !e.field.startsWith('calibration.gemmEfficiency.')) return e;
  const has = Object.keys(hw.calibration?.gemmEfficiency ?? {}).join(', ');
  return new InputError('--precision', precision, `a dtype ${hw.id}'s calibration prices (${has}), or give --efficiency typical or spec to price ${precision} without it`);
}
