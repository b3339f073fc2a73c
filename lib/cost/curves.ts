// Model curves to draw beside measured GEMM rows: the models evaluate here, and the
// chart builder (lib/plot/gemm.ts) only draws the seconds it is given.
import { matmulBytes, matmulFlops } from '../core/matmul.js';
import type { Dtype } from '../core/types.js';
import type { GemmRow } from '../gemm/row.js';
import { rooflineSeconds } from '../perf/bound.js';
import { InputError } from '../util/errors.js';
import { checkPositive } from '../util/validate.js';
import { fittedRooflineSeconds } from './fit.js';
import type { FittedRooflineWithForm } from './fit.js';

/**
 * A model's predicted seconds at each M of one (K, N): a curve to draw beside
 * measurements. `style` says what kind of model it is, which sets how it is drawn:
 * a roofline fitted to this machine, a datasheet (spec) roofline, or any other model.
 */
export interface GemmModelCurve {
  label: string;
  k: number;
  n: number;
  points: ReadonlyArray<{ m: number; seconds: number }>;
  style?: 'fitted' | 'spec' | 'model';
}

/** A spec roofline to draw beside measurements: peak and bandwidth of a device at a dtype. */
export interface GemmSpecLine {
  label: string;
  peakFlopsPerSecond: number;
  bytesPerSecond: number;
  dtype: Dtype;
}

function sweepRows(rows: readonly GemmRow[]): GemmRow[] {
  const sweep = (Array.isArray(rows) ? rows : []).filter((r) => r?.case === 'sweep');
  if (sweep.length === 0) throw new InputError('rows', Array.isArray(rows) ? rows.length : rows, "GEMM rows including case 'sweep'");
  return sweep;
}

function sweepMs(sweep: readonly GemmRow[]): number[] {
  return [...new Set(sweep.map((r) => r.m))].sort((a, b) => a - b);
}

/**
 * The fitted roofline's seconds (`fittedRooflineSeconds`) at every swept M, one curve
 * per measured (K, N) at the fit's dtype: what the fit predicts for the shapes it was
 * fitted to (interpolated within the swept M range).
 *
 * @example
 * fittedRooflineCurves(fitRoofline(table), gemmRows(table))[0].points[0] // => { m: 1, seconds: … }
 */
export function fittedRooflineCurves(fit: FittedRooflineWithForm, rows: readonly GemmRow[]): GemmModelCurve[] {
  const sweep = sweepRows(rows);
  const ms = sweepMs(sweep);
  const shapes = [...new Map(sweep.filter((r) => r.dtype === fit.dtype).map((r) => [`${r.k}x${r.n}`, r])).values()];
  return shapes.map((s) => ({
    label: 'fitted roofline',
    k: s.k,
    n: s.n,
    style: 'fitted',
    points: ms.map((m) => ({ m, seconds: fittedRooflineSeconds(fit, { m, k: s.k, n: s.n, dtype: fit.dtype }) })),
  }));
}

/**
 * Each spec roofline's bound (`rooflineSeconds`: max of compute at peak and bytes at
 * bandwidth) at every swept M, for the (K, N) of the first swept row: a datasheet
 * ceiling, not a prediction of achieved time.
 *
 * @example
 * specRooflineCurves(hardwareRooflines([{ hw: 'h100-sxm', dtype: 'bf16' }]), gemmRows(table))[0].label // => 'NVIDIA H100 SXM5 80GB bf16 spec roofline'
 */
export function specRooflineCurves(specs: readonly GemmSpecLine[], rows: readonly GemmRow[]): GemmModelCurve[] {
  const sweep = sweepRows(rows);
  const ms = sweepMs(sweep);
  const { k, n } = sweep[0];
  return specs.map((s, j) => {
    checkPositive(`specs[${j}].peakFlopsPerSecond`, s.peakFlopsPerSecond);
    checkPositive(`specs[${j}].bytesPerSecond`, s.bytesPerSecond);
    return {
      label: `${s.label} spec roofline`,
      k,
      n,
      style: 'spec',
      points: ms.map((m) => ({ m, seconds: rooflineSeconds(matmulFlops(m, k, n), matmulBytes(m, k, n, s.dtype), s.peakFlopsPerSecond, s.bytesPerSecond) })),
    };
  });
}
