import { hostname } from 'node:os';
import { matmulBytes, matmulFlops } from '../core/matmul.js';
import type { FittedRoofline } from '../core/types.js';
import { activeBackend } from '../backend/registry.js';
import { checkInt } from '../util/validate.js';
import { timeTfOp } from './timing.js';

/** Sizes of the quick probe; the defaults take about a second on a 2-core CPU. */
export interface RooflineProbeOptions {
  /** Side of the square fp32 matmul that estimates the compute peak (default 1024). */
  size?: number;
  /** Side of the fp32 weight of the matrix-vector product that estimates bandwidth (default 4096: 64 MiB). */
  gemvSize?: number;
  /** Timed repetitions per shape; the median counts (default 5). */
  reps?: number;
}

/**
 * A rough roofline of this machine from three fp32 shapes on the active tfjs
 * backend: a tiny matmul (per-call overhead), a square matmul (compute peak) and a
 * matrix-vector product (memory bandwidth), medians of a few repetitions. It is a
 * stand-in for the GEMM harness's fitted roofline, labelled "quick probe" so that
 * it is never mistaken for one.
 *
 * @example
 * const fit = await probeMachineRoofline();
 * thisMachineHardware(fit).peakFlops.fp32 // => e.g. 6e10 on a 2-core CPU
 */
export async function probeMachineRoofline(opts: RooflineProbeOptions = {}): Promise<FittedRoofline> {
  const size = checkInt('size', opts.size ?? 1024, { min: 16, max: 8192 });
  const gemvSize = checkInt('gemvSize', opts.gemvSize ?? 4096, { min: 16, max: 16384 });
  const reps = checkInt('reps', opts.reps ?? 5, { min: 1, max: 1000 });
  const backend = await activeBackend();
  const tf = backend.tf;

  // The harness's own timing loop, so that the probe and a sweep agree on what a
  // repetition is (warm-up, completion mode, tensors disposed).
  const time = async (m: number, k: number, n: number): Promise<number> => {
    const a = tf.randomUniform([m, k]);
    const b = tf.randomUniform([k, n]);
    try {
      const t = await timeTfOp(() => tf.matMul(a, b), { warmup: 1, minReps: reps, maxReps: reps, minTimeMs: 0 });
      return t.stats.median;
    } finally {
      a.dispose();
      b.dispose();
    }
  };

  const overheadSeconds = await time(4, 4, 4);
  const square = await time(size, size, size);
  const gemv = await time(1, gemvSize, gemvSize);
  // Subtracting the per-call overhead keeps small probes from understating the peaks;
  // the floor keeps a noisy overhead from producing a negative time.
  const peakFlopsPerSecond = matmulFlops(size, size, size) / Math.max(square - overheadSeconds, square * 0.1);
  const bytesPerSecond = matmulBytes(1, gemvSize, gemvSize, 'fp32') / Math.max(gemv - overheadSeconds, gemv * 0.1);
  const date = new Date().toISOString().slice(0, 10);
  return {
    overheadSeconds,
    peakFlopsPerSecond,
    bytesPerSecond,
    dtype: 'fp32',
    label: `quick probe (${size}³ matmul, ${gemvSize}² GEMV) on ${backend.name}, ${hostname()}, ${date}`,
  };
}

/** `probeMachineRoofline`'s sizes and how many times the whole probe runs. */
export interface RooflineProbeRepeatOptions extends RooflineProbeOptions {
  /** Independent probes, each a full `probeMachineRoofline` (default 5). */
  repeats?: number;
}

/**
 * `probeMachineRoofline` run `repeats` times in a row: one fit per repetition, each
 * labelled "probe i of n". A machine shared with other processes, or one whose clocks
 * move, gives a different fit each time; a figure derived from each fit then carries
 * the spread of the repetitions (summarizeSample's median, p10 and p90) instead of
 * one draw stated as a fact.
 *
 * @example
 * const fits = await probeMachineRooflines({ repeats: 5 });
 * medianBy(fits, (f) => f.peakFlopsPerSecond / f.bytesPerSecond) // => the probe with the median ridge
 */
export async function probeMachineRooflines(opts: RooflineProbeRepeatOptions = {}): Promise<FittedRoofline[]> {
  const repeats = checkInt('repeats', opts.repeats ?? 5, { min: 1, max: 100 });
  const fits: FittedRoofline[] = [];
  for (let i = 0; i < repeats; i++) {
    const fit = await probeMachineRoofline(opts);
    fits.push({ ...fit, label: `${fit.label}, probe ${i + 1} of ${repeats}` });
  }
  return fits;
}
