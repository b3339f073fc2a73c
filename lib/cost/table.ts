import { machineId, thisMachineFacts } from '../util/machine.js';
import { median as ssMedian, mean as ssMean } from '../util/stats.js';
import { readMeasuredGemm } from '../gemm/store.js';
import type { Dtype, MatmulCostModel, MatmulShape } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkOneOf } from '../util/validate.js';
import type { FittedRooflineWithForm, RooflineFitError, RooflineFitPoint } from './fit.js';
import { alternateBatchSplit, checkPoints, fitRoofline, fittedRooflineSeconds } from './fit.js';

/** One line of the table: the measured M values of one (K, N, batch, dtype), their median times, and log(measured / roofline) at each. */
interface TableLine {
  k: number;
  n: number;
  batch: number;
  dtype: Dtype;
  ms: number[];
  seconds: number[];
  logM: number[];
  residual: number[];
}

/** A measured-table cost model, with the roofline it extrapolates with. */
export interface MeasuredMatmulCost extends MatmulCostModel {
  /** The roofline fitted to the same points: the shape of the curve outside the measured range. */
  readonly fit: FittedRooflineWithForm;
  /** Measured points behind it. */
  readonly points: number;
  /** The dtypes it has measurements of (others are an InputError). */
  readonly dtypes: readonly Dtype[];
}

/** How M between two measured neighbours is filled in: see measuredMatmulCost. */
const INTERPOLATIONS = ['linear-m', 'log-residual'] as const;

/** Piecewise-linear interpolation of ys over sorted xs, held constant beyond the ends. */
function interp(xs: number[], ys: number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  if (x >= xs[xs.length - 1]) return ys[ys.length - 1];
  let i = 1;
  while (xs[i] < x) i++;
  const t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/**
 * A MatmulCostModel that interpolates this machine's measurements along the nearest
 * measured (K, N) line (nearest in log K + log N + log batch, same dtype). Within the
 * line's measured M range the default, `interpolation: 'linear-m'`, takes the time as
 * linear in M between the two measured neighbours (a GEMM's time is close to affine in
 * M within one kernel regime: a fixed cost plus a per-row cost) and scales it to the
 * asked (K, N) by the ratio of the fitted roofline at the two shapes;
 * `'log-residual'` instead interpolates log(measured / roofline) linearly in log M.
 * Beyond the measured M range both follow the roofline fitted to the points, times the
 * measured ratio to it at the nearest end. So a measured shape is reproduced exactly,
 * and only beyond the table does the roofline alone set the curve's shape. Repeated
 * measurements of one shape enter as their median. A shape whose W is stored in
 * another dtype than it computes in (`wDtype`: an FP8 KV cache read by 16-bit
 * attention) is scaled from its compute dtype's line the same way as an unmeasured
 * (K, N): by the fitted roofline with W's k·n elements at `wDtype`'s bytes.
 *
 * The default was chosen by measurement: the GEMM bench (bench/gemm-vs-reference.ts)
 * prints the held-out error of both on lines measured in rotating rounds. In eight runs
 * on this project's shared 2-core machine (TensorFlow CPU, fp32), linear-in-M had the
 * lower held-out median over all lines in seven, and the lower worst error on 17 of the
 * 24 (run, line) pairs at K = N = 512, 1024 and 4096: it won where the line was clean
 * (e.g. 4.8, 6.3, 3.7 % against 8.9, 11.8, 11.8 %), and the log-residual interpolant
 * won where a point or its neighbour had been slowed by another process. Where the
 * time steps up between two measured M (a change of kernel regime, or a slowed point)
 * neither can place the step, and linear-in-M misses the lower side by more. Such steps
 * are found and narrowed by measuring: `sweepGemm({ refine: true })` (gemmLineRefinement)
 * adds M inside every interval where a line's time grows faster than proportionally to
 * M, until the step lies between adjacent measured M, so that no interpolation spans it.
 * On this project's machine (TensorFlow CPU, 2 cores) the line K = N = 64 steps between
 * M = 16 (about 11 µs, one thread) and M = 17 (30–70 µs: TensorFlow splits the op over
 * two threads from there, and its time depends on whether the other core is free). That
 * step is a fast path of one shape, not a work threshold that other lines could locate:
 * in one run, M·K·N = 65,536 (where it falls at K = N = 64) gave no step at K = N = 32
 * (M = 64), 48, 96 or 128 (M = 4), whose small-M times all sat at 32–51 µs, so a held-out
 * M inside a bracketed step stays out of reach of any interpolant.
 *
 * @example
 * const cost = measuredMatmulCost(rooflineFitPoints(readMeasuredGemm().rows as never));
 * cost.matmulSeconds({ m: 48, k: 4096, n: 4096, dtype: 'fp32' }) // => between the M=32 and M=64 measurements
 */
export function measuredMatmulCost(
  points: readonly RooflineFitPoint[],
  opts: { label?: string; interpolation?: 'linear-m' | 'log-residual' } = {},
): MeasuredMatmulCost {
  const pts = checkPoints(points);
  const interpolation = checkOneOf('interpolation', opts.interpolation ?? 'linear-m', INTERPOLATIONS);
  const byDtype = new Map<Dtype, RooflineFitPoint[]>();
  for (const p of pts) byDtype.set(p.dtype, [...(byDtype.get(p.dtype) ?? []), p]);
  const fits = new Map<Dtype, FittedRooflineWithForm>();
  for (const [d, ps] of byDtype) fits.set(d, fitRoofline(ps, { label: `roofline under the measured table (${d})` }));
  const groups = new Map<string, Map<number, number[]>>();
  for (const p of pts) {
    const key = `${p.k}|${p.n}|${p.batch ?? 1}|${p.dtype}`;
    const g = groups.get(key) ?? new Map<number, number[]>();
    g.set(p.m, [...(g.get(p.m) ?? []), p.seconds]);
    groups.set(key, g);
  }
  const lines: TableLine[] = [];
  for (const [key, g] of groups) {
    const [k, n, batch, dtype] = key.split('|');
    const fit = fits.get(dtype as Dtype) as FittedRooflineWithForm;
    const ms = [...g.keys()].sort((a, b) => a - b);
    const seconds = ms.map((m) => ssMedian(g.get(m) as number[]));
    const shape = (m: number): MatmulShape => ({ m, k: Number(k), n: Number(n), batch: Number(batch), dtype: dtype as Dtype });
    lines.push({
      k: Number(k),
      n: Number(n),
      batch: Number(batch),
      dtype: dtype as Dtype,
      ms,
      seconds,
      logM: ms.map(Math.log),
      residual: ms.map((m, i) => Math.log(seconds[i] / fittedRooflineSeconds(fit, shape(m)))),
    });
  }
  const first = fits.values().next().value as FittedRooflineWithForm;
  return {
    kind: 'fitted',
    label: opts.label ?? `measured table (${pts.length} points) over ${first.label}`,
    fit: first,
    points: pts.length,
    dtypes: [...fits.keys()],
    matmulSeconds(shape: MatmulShape): number {
      checkInt('shape.m', shape.m, { min: 0 });
      checkInt('shape.k', shape.k, { min: 1 });
      checkInt('shape.n', shape.n, { min: 1 });
      const batch = checkInt('shape.batch', shape.batch ?? 1, { min: 1 });
      const dtype = checkOneOf('shape.dtype', shape.dtype, DTYPES);
      // W stored narrower than the measured dtype (an FP8 KV cache under 16-bit attention):
      // the measured kernel's time, scaled by the fitted roofline with W's bytes at its own dtype.
      const wDtype = checkOneOf('shape.wDtype', shape.wDtype ?? dtype, DTYPES);
      if (shape.m === 0) return 0;
      const fit = fits.get(dtype);
      if (!fit) throw new InputError('shape.dtype', dtype, `a measured dtype (${[...fits.keys()].join(', ')})`);
      let best: TableLine | undefined;
      let bestD = Infinity;
      for (const l of lines) {
        if (l.dtype !== dtype) continue;
        const d = Math.abs(Math.log(l.k / shape.k)) + Math.abs(Math.log(l.n / shape.n)) + Math.abs(Math.log(l.batch / batch));
        if (d < bestD) {
          bestD = d;
          best = l;
        }
      }
      const line = best as TableLine;
      const asked = { ...shape, batch, wDtype };
      const m = shape.m;
      if (interpolation === 'linear-m' && m >= line.ms[0] && m <= line.ms[line.ms.length - 1]) {
        const onLine = interp(line.ms, line.seconds, m);
        if (line.k === shape.k && line.n === shape.n && line.batch === batch && wDtype === dtype) return onLine;
        return (onLine * fittedRooflineSeconds(fit, asked)) / fittedRooflineSeconds(fit, { ...asked, k: line.k, n: line.n, batch: line.batch, wDtype: dtype });
      }
      return fittedRooflineSeconds(fit, asked) * Math.exp(interp(line.logM, line.residual, Math.log(m)));
    },
  };
}

/**
 * Held-out error of the measured-table model: built on the points `train` selects
 * (default: alternate M within each (K, N), the 1st, 3rd, … kept) and asked for the
 * rest. Held-out M between two kept ones is interpolated; beyond them, extrapolated.
 * `opts.interpolation` is passed to measuredMatmulCost. `errors` lists every held-out
 * point with its relative error |predicted − measured| / measured, so that a caller
 * can say which points miss and by how much. Points added by refinement
 * (gemmLineRefinement) between training M belong on the training side: pass a `train`
 * that keeps them, as the GEMM bench does, so that the split's held-out M stay the same.
 *
 * @example
 * heldOutTableError(points).test.median // => e.g. 0.05
 * heldOutTableError(points, undefined, { interpolation: 'log-residual' }).test.max // => the older interpolant's worst miss
 */
export function heldOutTableError(
  points: readonly RooflineFitPoint[],
  train?: (p: RooflineFitPoint, index: number) => boolean,
  opts: { interpolation?: 'linear-m' | 'log-residual' } = {},
): { train: RooflineFitError; test: RooflineFitError; errors: Array<{ point: RooflineFitPoint; predicted: number; error: number }> } {
  const pts = checkPoints(points);
  const isTrain = train ? pts.map((p, i) => train(p, i)) : alternateBatchSplit(pts);
  const trainPts = pts.filter((_, i) => isTrain[i]);
  const testPts = pts.filter((_, i) => !isTrain[i]);
  if (trainPts.length < 3) throw new InputError('train', trainPts.length, 'a split with at least 3 training points');
  if (testPts.length < 1) throw new InputError('train', testPts.length, 'a split leaving at least 1 held-out point');
  const cost = measuredMatmulCost(trainPts, { interpolation: opts.interpolation });
  const stats = (e: number[]): RooflineFitError => ({ median: ssMedian(e), mean: ssMean(e), max: Math.max(...e), n: e.length });
  const predict = (p: RooflineFitPoint) => {
    const predicted = cost.matmulSeconds(p);
    return { point: p, predicted, error: Math.abs(predicted - p.seconds) / p.seconds };
  };
  const errors = testPts.map(predict);
  return { train: stats(trainPts.map((p) => predict(p).error)), test: stats(errors.map((e) => e.error)), errors };
}

/**
 * The best matmul cost model a machine's measurements support, chosen automatically:
 * the measured table of the GEMM harness's sweeps saved for `machine` (default: this
 * machine's id, lib/util/machine.ts — never the host name, which machines share) and
 * `backend` (default: the backend with the most rows) under data/measured, when they
 * hold at least `minPoints` points (default 8); else undefined, and the caller falls
 * back to a saved fit or the spec. Rows of the plain weight layout only, repeated
 * measurements pooled by their medians.
 *
 * @example
 * const cost = measuredMatmulCostForMachine() ?? fittedMatmulCost(loadLatestFittedRoofline()!.fit);
 */
export function measuredMatmulCostForMachine(opts: { machine?: string; backend?: string; dir?: string; minPoints?: number } = {}): MeasuredMatmulCost | undefined {
  const machine = opts.machine ?? machineId(thisMachineFacts());
  const minPoints = checkInt('minPoints', opts.minPoints ?? 8, { min: 3 });
  const { rows } = readMeasuredGemm({ dir: opts.dir, machine, where: (r) => r.case === 'sweep' && r.variant === 'plain' && r.backend !== 'numpy' && r.median_s > 0 });
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.backend, (counts.get(r.backend) ?? 0) + 1);
  const backend = opts.backend ?? [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const mine = rows.filter((r) => r.backend === backend);
  if (mine.length < minPoints) return undefined;
  return measuredMatmulCost(
    mine.map((r) => ({ m: r.m, k: r.k, n: r.n, batch: r.batch, dtype: r.dtype, seconds: r.median_s })),
    { label: `measured table: ${backend} on ${machine}, ${mine.length} points` },
  );
}
