import type { Dtype } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { hardwarePeakFlops, loadHardware } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { InputError, described } from '../util/errors.js';
import { checkOneOf } from '../util/validate.js';
import { ridgeIntensity } from './matmul.js';
import type { CriticalBatchGridPoint, OpRooflineRow } from './model.js';
import { decodeOpRoofline } from './model.js';

/** One device at one dtype: a catalog id (data/hardware) or a spec, such as thisMachineHardware's. */
export interface HardwareAtDtype {
  hw: HardwareSpec | string;
  dtype: Dtype;
}

const MAX_MACHINES = 100;

function checkMachines(machines: readonly HardwareAtDtype[]): Array<{ hw: HardwareSpec; dtype: Dtype }> {
  if (!Array.isArray(machines) || machines.length === 0 || machines.length > MAX_MACHINES) {
    throw new InputError('machines', machines, `a non-empty array of at most ${MAX_MACHINES} { hw, dtype }`);
  }
  return machines.map((m, i) => {
    if (m === null || typeof m !== 'object') throw new InputError(`machines[${i}]`, m, 'an object { hw: hardware id or spec, dtype }');
    const hw = typeof m.hw === 'string' ? loadHardware(m.hw) : m.hw;
    if (hw === null || typeof hw !== 'object' || typeof hw.name !== 'string') {
      throw new InputError(`machines[${i}].hw`, m.hw, 'a hardware id from data/hardware or a HardwareSpec');
    }
    const dtype = checkOneOf(`machines[${i}].dtype`, m.dtype, DTYPES);
    hardwarePeakFlops(hw, dtype);
    return { hw, dtype };
  });
}

/** One row of `hardwareRooflines`: a device's roofline at one dtype. */
export interface HardwareRooflineRow {
  /** "<hardware name> <dtype>", e.g. "NVIDIA H100 SXM5 80GB bf16". */
  label: string;
  /** The hardware id. */
  hardware: string;
  /** The hardware's display name. */
  name: string;
  dtype: Dtype;
  /** Dense peak FLOP/s at this dtype. */
  peakFlopsPerSecond: number;
  /** Memory bandwidth, bytes/s. */
  bytesPerSecond: number;
  /** FLOP per byte where the compute and memory roofs meet (peak / bandwidth). */
  ridgeIntensity: number;
  /** Where the peak figure comes from (the spec's `sources["peakFlops.<dtype>"]`). */
  peakSource: string;
}

/**
 * The roofline of each device at its dtype: peak FLOP/s, bandwidth, ridge intensity
 * and the peak's source, one row per entry in the order given. The rows also serve
 * as spec lines for `gemmThroughputChart` (`label`, `peakFlopsPerSecond`,
 * `bytesPerSecond`, `dtype`).
 *
 * @example
 * hardwareRooflines([{ hw: 'h100-sxm', dtype: 'bf16' }, { hw: 'h200', dtype: 'bf16' }]).map((r) => r.ridgeIntensity)
 * // => [295.4, 206.1] (989.5e12 / 3.35e12 and 989.5e12 / 4.8e12, the datasheets)
 */
export function hardwareRooflines(machines: readonly HardwareAtDtype[]): HardwareRooflineRow[] {
  return checkMachines(machines).map(({ hw, dtype }) => ({
    label: `${hw.name} ${dtype}`,
    hardware: hw.id,
    name: hw.name,
    dtype,
    peakFlopsPerSecond: hardwarePeakFlops(hw, dtype),
    bytesPerSecond: hw.memoryBytesPerSecond,
    ridgeIntensity: ridgeIntensity(hw, dtype),
    peakSource: hw.sources[`peakFlops.${dtype}`]?.source ?? 'not given',
  }));
}

/** One device's operations of a decode step: a series of `rooflineChart`. */
export interface DecodeOpRooflineSeries {
  /** "<hardware name> (<dtype>)". */
  label: string;
  hw: HardwareSpec;
  dtype: Dtype;
  rows: OpRooflineRow[];
}

/**
 * `decodeOpRoofline` of one model on each device at its dtype, with the same decode
 * batch and context: one series per device, in the order given, ready for
 * `rooflineChart`.
 *
 * @example
 * const series = decodeOpRooflines(loadModel('llama-3.1-70b'), [{ hw: 'h100-sxm', dtype: 'bf16' }, { hw: 'h200', dtype: 'bf16' }],
 *   { batch: 64, context: 4096 });
 * series[0].rows.find((r) => r.name === 'ffn.down_proj')?.bound // => 'memory'
 */
export function decodeOpRooflines(
  model: ModelSpec,
  machines: readonly HardwareAtDtype[],
  opts: { batch: number; context: number },
): DecodeOpRooflineSeries[] {
  if (opts === null || typeof opts !== 'object') throw new InputError('opts', opts, 'an object { batch, context }');
  return checkMachines(machines).map(({ hw, dtype }) => ({
    label: `${hw.name} (${dtype})`,
    hw,
    dtype,
    rows: decodeOpRoofline(model, hw, { dtype, batch: opts.batch, context: opts.context }),
  }));
}

/** The answer of `criticalBatchRatios`. */
export interface CriticalBatchRatios {
  /** One row per (hardware, dtype) where both models have a finite critical batch, in the grid's order. */
  rows: Array<{ hardware: string; dtype: Dtype; ratio: number }>;
  min: number;
  max: number;
}

/**
 * How many times `model`'s critical decode batch is `over`'s, on every hardware and
 * dtype of a `criticalBatchGrid` where both are finite; with the smallest and largest
 * ratio. An InputError when no (hardware, dtype) holds both.
 *
 * @example
 * const grid = criticalBatchGrid([loadModel('llama-3.1-70b'), loadModel('deepseek-v3')], [loadHardware('h100-sxm')], ['bf16']);
 * criticalBatchRatios(grid, { model: 'deepseek-v3', over: 'llama-3.1-70b' }).max // => about 22 (6804 / 311)
 */
export function criticalBatchRatios(points: readonly CriticalBatchGridPoint[], opts: { model: string; over: string }): CriticalBatchRatios {
  if (!Array.isArray(points)) throw new InputError('points', points, 'an array of criticalBatchGrid points');
  if (opts === null || typeof opts !== 'object' || typeof opts.model !== 'string' || typeof opts.over !== 'string') {
    throw new InputError('opts', opts, 'an object { model: model id, over: model id }');
  }
  const rows: CriticalBatchRatios['rows'] = [];
  for (const p of points) {
    if (p.model !== opts.model || !Number.isFinite(p.criticalBatch)) continue;
    const q = points.find((o) => o.model === opts.over && o.hardware === p.hardware && o.dtype === p.dtype);
    if (q === undefined || !Number.isFinite(q.criticalBatch)) continue;
    rows.push({ hardware: p.hardware, dtype: p.dtype, ratio: p.criticalBatch / q.criticalBatch });
  }
  if (rows.length === 0) {
    throw new InputError('points', described(`${points.length} points`), `points of "${opts.model}" and "${opts.over}" on a shared hardware and dtype, both finite`);
  }
  const ratios = rows.map((r) => r.ratio);
  return { rows, min: Math.min(...ratios), max: Math.max(...ratios) };
}
