import { matmulFlops } from '../core/matmul.js';
import type { HardwareCalibration } from './calibration.js';

/** The work of a (possibly batched) GEMM X[m×k]·W[k×n], `batch` times; m may be fractional (an expectation). */
export interface GemmWork {
  m: number;
  k: number;
  n: number;
  batch: number;
}

/**
 * Seconds the tensor cores need for a GEMM at `peak × efficiency`, with tile and wave
 * quantization: M and N round up to whole tiles, and the tiles run in whole waves over
 * the device's compute units, so a GEMM of 133 tiles on 132 units takes two waves.
 * A calibration with 1×1 tiles on one unit (the datasheet roofline) gives exactly
 * 2·m·k·n·batch / peak.
 *
 * @example
 * gemmComputeSeconds({ m: 1, k: 4096, n: 4096, batch: 1 }, 1e15, SPEC_CALIBRATION, 1) // => 3.36e-8
 */
export function gemmComputeSeconds(w: GemmWork, peakFlopsPerSecond: number, cal: HardwareCalibration, efficiency: number): number {
  const rate = peakFlopsPerSecond * efficiency;
  if (w.m <= 0 || w.n <= 0 || w.k <= 0 || w.batch <= 0) return 0;
  const tm = cal.gemmTileM;
  const tn = cal.gemmTileN;
  const units = cal.computeUnits;
  if (tm === 1 && tn === 1 && units === 1) return matmulFlops(w.m, w.k, w.n, w.batch) / rate;
  const tiles = Math.ceil(w.m / tm) * Math.ceil(w.n / tn) * Math.ceil(w.batch);
  const waves = Math.ceil(tiles / units);
  // One wave keeps every unit busy on one tile each: units × (tm×k·k×tn matmul) FLOPs at `rate`.
  return (waves * units * matmulFlops(tm, w.k, tn)) / rate;
}
