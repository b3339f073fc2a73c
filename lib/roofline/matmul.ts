import type { Dtype, MatmulCostModel, MatmulShape } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { checkNumber, checkOneOf } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { hardwarePeakFlops } from '../hardware/spec.js';
import type { ModelOperation } from '../models/ops.js';
import { matmulBytes, matmulFlops } from '../core/matmul.js';
import { matmulKneeBatch, rooflineSeconds } from '../perf/bound.js';
import { calibrationGemmEfficiency, TYPICAL_CALIBRATION } from '../perf/calibration.js';
import { gemmComputeSeconds } from '../perf/gemm.js';

const MAX_DIM = 2 ** 40;

function checkShape(shape: MatmulShape, fallbackDtype: Dtype): { m: number; k: number; n: number; b: number; dtype: Dtype; wDtype: Dtype } {
  if (typeof shape !== 'object' || shape === null) throw new InputError('shape', shape, 'an object { m, k, n, dtype, batch?, wDtype? }');
  const dtype = checkOneOf('dtype', shape.dtype ?? fallbackDtype, DTYPES);
  return {
    m: checkNumber('m', shape.m, { min: 0, max: MAX_DIM }),
    k: checkNumber('k', shape.k, { min: 0, max: MAX_DIM }),
    n: checkNumber('n', shape.n, { min: 0, max: MAX_DIM }),
    b: checkNumber('batch', shape.batch ?? 1, { min: 0, max: MAX_DIM }),
    dtype,
    wDtype: checkOneOf('wDtype', shape.wDtype ?? dtype, DTYPES),
  };
}

/**
 * The spec-sheet roofline as a MatmulCostModel: a matmul takes
 * max(2·b·m·k·n / peak, b·(m·k + k·n + m·n)·bytes / bandwidth) seconds, each operand
 * moved through memory exactly once. It is a lower bound: real kernels add launch
 * overhead and reach a fraction of both peaks. Shapes may carry their own dtype;
 * `dtype` is used when they do not.
 *
 * @example
 * rooflineMatmulCost(loadHardware('h100-sxm'), 'bf16').matmulSeconds({ m: 1, k: 8192, n: 8192, dtype: 'bf16' })
 * // => about 4.0e-5 (134 MB of weights at 3.35 TB/s)
 */
export function rooflineMatmulCost(hw: HardwareSpec, dtype: Dtype): MatmulCostModel {
  checkOneOf('dtype', dtype, DTYPES);
  hardwarePeakFlops(hw, dtype);
  return {
    kind: 'roofline',
    label: `${hw.name} spec roofline (${dtype})`,
    matmulSeconds(shape: MatmulShape): number {
      const { m, k, n, b, dtype: dt, wDtype } = checkShape(shape, dtype);
      return rooflineSeconds(matmulFlops(m, k, n, b), matmulBytes(m, k, n, dt, b, wDtype), hardwarePeakFlops(hw, dt), hw.memoryBytesPerSecond);
    },
  };
}

/**
 * What a device's GEMM kernels achieve, as a MatmulCostModel: the larger of the tensor-core
 * time (M and N in whole tiles, tiles in whole waves over the compute units, at the
 * calibrated fraction of the dtype's peak) and the traffic time (X, W and Y once each
 * at the calibrated fraction of the bandwidth). A spec-only device uses
 * TYPICAL_CALIBRATION and says so in its label.
 *
 * @example
 * calibratedMatmulCost(loadHardware('h800'), 'fp8').matmulSeconds({ m: 4096, k: 7168, n: 4096, dtype: 'fp8' })
 * // => about 1.9e-4 (DeepGEMM measured 1304 TFLOPS: 1.84e-4 s)
 */
export function calibratedMatmulCost(hw: HardwareSpec, dtype: Dtype): MatmulCostModel {
  checkOneOf('dtype', dtype, DTYPES);
  const cal = hw.calibration ?? TYPICAL_CALIBRATION;
  calibrationGemmEfficiency(cal, dtype);
  hardwarePeakFlops(hw, dtype);
  return {
    kind: 'roofline',
    label: `${hw.name} ${hw.calibration ? 'calibrated' : 'typical (spec-only entry)'} GEMM (${dtype})`,
    matmulSeconds(shape: MatmulShape): number {
      const { m, k, n, b, dtype: dt, wDtype } = checkShape(shape, dtype);
      const compute = gemmComputeSeconds({ m, k, n, batch: b }, hardwarePeakFlops(hw, dt), cal, calibrationGemmEfficiency(cal, dt));
      const memory = matmulBytes(m, k, n, dt, b, wDtype) / (hw.memoryBytesPerSecond * cal.memoryEfficiency);
      return rooflineSeconds(compute, memory, 1, 1);
    },
  };
}

/**
 * A cost model's seconds for a shape whose m, n or batch is fractional (an expected
 * token count per expert, a mean context): multilinear interpolation between the
 * neighbouring integer shapes, so a fitted model with integer-only measurements
 * sees only integer shapes and the expected work is preserved.
 *
 * @example
 * fractionalMatmulSeconds(cost, { m: 2.5, k: 4096, n: 4096, dtype: 'bf16' })
 * // => 0.5 · cost(m = 2) + 0.5 · cost(m = 3)
 */
export function fractionalMatmulSeconds(cost: MatmulCostModel, shape: MatmulShape): number {
  const dims = ['m', 'k', 'n', 'batch'] as const;
  const base: Record<(typeof dims)[number], number> = { m: shape.m, k: shape.k, n: shape.n, batch: shape.batch ?? 1 };
  const frac = dims.filter((d) => !Number.isInteger(base[d]));
  let total = 0;
  for (let mask = 0; mask < 1 << frac.length; mask++) {
    const s = { ...base };
    let w = 1;
    frac.forEach((d, i) => {
      const lo = Math.floor(base[d]);
      const up = (mask >> i) & 1;
      // Below 1 there is no smaller shape to blend with: round up (a slight over-estimate).
      if (lo === 0) {
        s[d] = 1;
        w *= up ? 0 : 1;
        return;
      }
      const t = base[d] - lo;
      s[d] = up ? lo + 1 : lo;
      w *= up ? t : 1 - t;
    });
    if (w === 0) continue;
    total += w * cost.matmulSeconds({ m: s.m, k: s.k, n: s.n, batch: s.batch, dtype: shape.dtype, ...(shape.wDtype === undefined ? {} : { wDtype: shape.wDtype }) });
  }
  return total;
}

/** Which limit binds an operation on the roofline. */
export type RooflineBound = 'compute' | 'memory';

/** An operation's position on the spec roofline. */
export interface OpRooflinePoint {
  /** FLOPs / peak FLOP/s. */
  computeSeconds: number;
  /** Bytes / memory bandwidth. */
  memorySeconds: number;
  /** The lower bound: max of the two. */
  seconds: number;
  /** FLOPs per byte moved. */
  intensity: number;
  bound: RooflineBound;
}

/**
 * Where one operation sits on a hardware spec's roofline at a dtype.
 *
 * @example
 * opRoofline(decodeOps(llama, { batch: 1, context: 0 })[1], loadHardware('h100-sxm'), 'bf16').bound // => 'memory'
 */
export function opRoofline(op: ModelOperation, hw: HardwareSpec, dtype: Dtype): OpRooflinePoint {
  const peak = hardwarePeakFlops(hw, dtype);
  const computeSeconds = op.flops / peak;
  const memorySeconds = op.bytes / hw.memoryBytesPerSecond;
  return {
    computeSeconds,
    memorySeconds,
    seconds: rooflineSeconds(op.flops, op.bytes, peak, hw.memoryBytesPerSecond),
    intensity: op.bytes > 0 ? op.flops / op.bytes : 0,
    bound: computeSeconds >= memorySeconds && op.flops > 0 ? 'compute' : 'memory',
  };
}

/**
 * Ridge point of a hardware spec: the arithmetic intensity (FLOP/byte) above which
 * an operation is compute-bound, peak / bandwidth.
 *
 * @example
 * ridgeIntensity(loadHardware('h100-sxm'), 'bf16') // => 295.4 (989.5e12 / 3.35e12)
 */
export function ridgeIntensity(hw: HardwareSpec, dtype: Dtype): number {
  return hardwarePeakFlops(hw, dtype) / hw.memoryBytesPerSecond;
}

/**
 * Critical batch of a weight matmul [B×k]·[k×n]: the smallest token count B at
 * which it turns compute-bound, from 2·B·k·n / P = (k·n + B·(k + n))·s / W:
 * B* = R·s·k·n / (2·k·n − R·s·(k + n)) with R = P/W. About R·s/2 for large k and n;
 * Infinity when the layer can never reach the ridge.
 *
 * @example
 * matmulCriticalBatch(loadHardware('h100-sxm'), 'bf16', 8192, 28672) // => about 307
 */
export function matmulCriticalBatch(hw: HardwareSpec, dtype: Dtype, k: number, n: number): number {
  checkNumber('k', k, { min: 0, exclusiveMin: true, max: MAX_DIM });
  checkNumber('n', n, { min: 0, exclusiveMin: true, max: MAX_DIM });
  return matmulKneeBatch(hardwarePeakFlops(hw, dtype), hw.memoryBytesPerSecond, DTYPE_BYTES[dtype], k, n);
}
