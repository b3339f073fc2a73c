import { median as ssMedian, mean as ssMean } from '../util/stats.js';
import { matmulBytes as gemmBytes, matmulFlops as gemmFlops } from '../core/matmul.js';
import { InputError, described } from '../util/errors.js';
import { checkArray, checkInt, checkNumber, checkOneOf, checkPositive } from '../util/validate.js';
import { nelderMead } from './nelder-mead.js';
import { matmulKneeBatch, rooflineSeconds } from '../perf/bound.js';
import type { Dtype, FittedRoofline, MatmulCostModel, MatmulShape } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import type { Table } from '../util/table.js';

/**
 * How the compute and memory times combine. `max` is the roofline: whichever is
 * slower hides the other completely. `sum` is the smooth form: no overlap at all,
 * which follows CPU kernels better around the knee, where they are neither purely
 * compute- nor purely memory-bound. A fit without `form` is `max`.
 */
export type RooflineForm = 'max' | 'sum';
/** Every form a roofline fit can take. */
export const ROOFLINE_FORMS: readonly RooflineForm[] = ['max', 'sum'];

/**
 * A FittedRoofline that may say which form it was fitted with, and what the data
 * could not pin down (`warnings`, e.g. a peak when no point was compute-bound).
 */
export type FittedRooflineWithForm = FittedRoofline & { form?: RooflineForm; warnings?: string[] };

// Weight of a weak pull toward the start point, in squared log units. Identified
// parameters move by ~1e-6 relative at most; a parameter the data cannot see (the peak
// of a sweep that never leaves the overhead) stays at its data-derived start instead of
// drifting to 1e300.
const RIDGE = 1e-6;

// A term must explain at least this share of some point's time to count as measured.
const IDENTIFIED_SHARE = 0.3;

function combine(form: RooflineForm | undefined, compute: number, memory: number): number {
  return form === 'sum' ? compute + memory : rooflineSeconds(compute, memory, 1, 1);
}

/** One measured matmul time to fit: X[m×k]·W[k×n], `batch` times, in `seconds`. */
export interface RooflineFitPoint {
  m: number;
  k: number;
  n: number;
  batch?: number;
  dtype: Dtype;
  seconds: number;
}

/**
 * Points of a GEMM table: the rows of case 'sweep' (one matmul per repetition) with
 * their median time. Tables without a `case` column are taken whole.
 *
 * @example
 * rooflineFitPoints(readMeasuredGemm().table)[0] // => { m: 1, k: 1024, n: 1024, dtype: 'fp32', seconds: 0.0002 }
 */
export function rooflineFitPoints(table: Table): RooflineFitPoint[] {
  const names = new Set(table.columnNames());
  for (const c of ['m', 'k', 'n', 'dtype', 'median_s']) if (!names.has(c)) throw new InputError('table', described(`columns ${[...names].join(',')}`), `a GEMM table with column ${c}`);
  const rows = table.objects() as Array<Record<string, unknown>>;
  return rows
    .filter((r) => !names.has('case') || r.case === 'sweep')
    .map((r) => ({ m: r.m as number, k: r.k as number, n: r.n as number, batch: (r.batch as number | undefined) ?? 1, dtype: r.dtype as Dtype, seconds: r.median_s as number }));
}

/** Validates fit points (or a GEMM table's sweep rows), naming the offending field. */
export function checkPoints(input: Table | readonly RooflineFitPoint[]): RooflineFitPoint[] {
  const pts = Array.isArray(input) ? (input as RooflineFitPoint[]) : rooflineFitPoints(input as Table);
  checkArray('points', pts, 1_000_000);
  pts.forEach((p, i) => {
    checkInt(`points[${i}].m`, p.m, { min: 1 });
    checkInt(`points[${i}].k`, p.k, { min: 1 });
    checkInt(`points[${i}].n`, p.n, { min: 1 });
    checkInt(`points[${i}].batch`, p.batch ?? 1, { min: 1 });
    checkOneOf(`points[${i}].dtype`, p.dtype, DTYPES);
    checkPositive(`points[${i}].seconds`, p.seconds);
  });
  return pts;
}

/**
 * Roofline seconds of one matmul under a fit: overhead + max(FLOPs / peak, bytes / bandwidth),
 * bytes counted at the shape's dtype (X, W and Y once each).
 *
 * @example
 * fittedRooflineSeconds({ overheadSeconds: 1e-5, peakFlopsPerSecond: 1e11, bytesPerSecond: 1e10, dtype: 'fp32', label: '' },
 *   { m: 1, k: 4096, n: 4096, dtype: 'fp32' }) // => 1e-5 + 67.1e6 / 1e10 ≈ 0.00672
 */
export function fittedRooflineSeconds(fit: FittedRooflineWithForm, shape: MatmulShape): number {
  const batch = shape.batch ?? 1;
  const flops = gemmFlops(shape.m, shape.k, shape.n, batch);
  const bytes = gemmBytes(shape.m, shape.k, shape.n, shape.dtype, batch, shape.wDtype ?? shape.dtype);
  return fit.overheadSeconds + combine(fit.form, flops / fit.peakFlopsPerSecond, bytes / fit.bytesPerSecond);
}

/** Options of `fitRoofline`. */
export interface RooflineFitOptions {
  /** Label of the fit; default built from the table's backend, host and date, or "fitted roofline". */
  label?: string;
  /** How compute and memory time combine (default 'max', the roofline). */
  form?: RooflineForm;
}

function defaultLabel(input: Table | readonly RooflineFitPoint[]): string {
  if (Array.isArray(input)) return 'fitted roofline';
  const t = input as Table;
  const names = new Set(t.columnNames());
  if (!names.has('backend') || !names.has('host') || t.numRows() === 0) return 'fitted roofline';
  const r = t.object(0) as Record<string, unknown>;
  const date = typeof r.timestamp === 'string' ? r.timestamp.slice(0, 10) : '';
  return `fitted to ${r.backend} on ${r.host}${date ? `, ${date}` : ''}`;
}

/**
 * Fits t(M,K,N) = overhead + max(2MKN / peak, bytes / bandwidth) to measured times,
 * minimising squared log-errors (every point counts by its relative error, whether it
 * took 10 µs or 1 s) with Nelder–Mead over the logs of the three parameters, from a
 * start read off the data and two restarts. Needs points on both sides of the knee
 * and a few tiny shapes to pin each parameter; with only one regime the others are
 * whatever the data allows. All points must share a dtype.
 *
 * @example
 * const fit = fitRoofline(await sweepGemm({ ms: gemmBatchSizes(1024), shapes: [{ k: 64, n: 64 }, { k: 1024, n: 1024 }] }));
 * fit.peakFlopsPerSecond // => e.g. 1.4e11 on a 2-core CPU
 */
export function fitRoofline(input: Table | readonly RooflineFitPoint[], opts: RooflineFitOptions = {}): FittedRooflineWithForm {
  const pts = checkPoints(input);
  const form = checkOneOf('form', opts.form ?? 'max', ROOFLINE_FORMS);
  const dtype = pts[0].dtype;
  const other = pts.find((p) => p.dtype !== dtype);
  if (other) throw new InputError('points', described(`dtypes ${dtype} and ${other.dtype}`), 'points of a single dtype (fit each dtype separately)');
  const flops = pts.map((p) => gemmFlops(p.m, p.k, p.n, p.batch ?? 1));
  const bytes = pts.map((p) => gemmBytes(p.m, p.k, p.n, p.dtype, p.batch ?? 1));
  const logT = pts.map((p) => Math.log(p.seconds));
  const loss = ([lo, lp, lb]: number[]): number => {
    const o = Math.exp(lo);
    const P = Math.exp(lp);
    const B = Math.exp(lb);
    let s = 0;
    for (let i = 0; i < pts.length; i++) {
      const r = Math.log(o + combine(form, flops[i] / P, bytes[i] / B)) - logT[i];
      s += r * r;
    }
    return s + RIDGE * ((lo - start[0]) ** 2 + (lp - start[1]) ** 2 + (lb - start[2]) ** 2);
  };
  const start = [
    Math.log(Math.min(...pts.map((p) => p.seconds)) / 2),
    Math.log(Math.max(...pts.map((p, i) => flops[i] / p.seconds))),
    Math.log(Math.max(...pts.map((p, i) => bytes[i] / p.seconds))),
  ];
  let best = nelderMead(loss, start, { step: 1 });
  for (let restart = 0; restart < 2; restart++) {
    const next = nelderMead(loss, best.x, { step: 0.3 });
    if (next.value >= best.value) break;
    best = next;
  }
  const [lo, lp, lb] = best.x;
  const o = Math.exp(lo);
  const P = Math.exp(lp);
  const B = Math.exp(lb);
  const warnings: string[] = [];
  const share = (term: (i: number) => number): number => Math.max(...pts.map((_, i) => term(i) / (o + combine(form, flops[i] / P, bytes[i] / B))));
  if (share((i) => flops[i] / P) < IDENTIFIED_SHARE) warnings.push('no point is compute-bound: peakFlopsPerSecond is a lower bound, add larger M');
  if (share((i) => bytes[i] / B) < IDENTIFIED_SHARE) warnings.push('no point is memory-bound: bytesPerSecond is a lower bound, add small M with large K and N');
  if (share(() => o) < IDENTIFIED_SHARE) warnings.push('no point is overhead-bound: overheadSeconds is uncertain, add tiny shapes');
  return {
    overheadSeconds: o,
    peakFlopsPerSecond: P,
    bytesPerSecond: B,
    dtype,
    label: opts.label ?? defaultLabel(input),
    form,
    ...(warnings.length ? { warnings } : {}),
  };
}

function checkFit(fit: FittedRooflineWithForm): FittedRooflineWithForm {
  if (typeof fit !== 'object' || fit === null) throw new InputError('fit', fit, 'a FittedRoofline');
  checkNumber('fit.overheadSeconds', fit.overheadSeconds, { min: 0 });
  checkPositive('fit.peakFlopsPerSecond', fit.peakFlopsPerSecond);
  checkPositive('fit.bytesPerSecond', fit.bytesPerSecond);
  checkOneOf('fit.dtype', fit.dtype, DTYPES);
  if (fit.form !== undefined) checkOneOf('fit.form', fit.form, ROOFLINE_FORMS);
  return fit;
}

/**
 * A MatmulCostModel (kind 'fitted') from a fit, for the roofline and the simulators.
 * Other dtypes than the fitted one keep the fitted peak and move their own byte
 * counts: a CPU backend computes every float type at one rate.
 *
 * @example
 * const cost = fittedMatmulCost(fit);
 * cost.matmulSeconds({ m: 8, k: 4096, n: 4096, dtype: 'fp32' }) // => seconds on this machine
 */
export function fittedMatmulCost(fit: FittedRooflineWithForm): MatmulCostModel {
  const f = { ...checkFit(fit) };
  return {
    kind: 'fitted',
    label: f.label,
    matmulSeconds(shape: MatmulShape): number {
      checkInt('shape.m', shape.m, { min: 0 });
      checkInt('shape.k', shape.k, { min: 1 });
      checkInt('shape.n', shape.n, { min: 1 });
      checkInt('shape.batch', shape.batch ?? 1, { min: 1 });
      checkOneOf('shape.dtype', shape.dtype, DTYPES);
      if (shape.wDtype !== undefined) checkOneOf('shape.wDtype', shape.wDtype, DTYPES);
      if (shape.m === 0) return 0;
      return fittedRooflineSeconds(f, shape);
    },
  };
}

/**
 * The knee (critical batch) of a fitted roofline for weights K×N: the M at which
 * 2MKN / peak equals the bytes (M·K + K·N + M·N)·b over bandwidth, i.e.
 * M* = (b·K·N / bw) / (2·K·N / peak − b·(K + N) / bw). Below it the matmul is
 * memory-bound and extra tokens are nearly free; Infinity when it never turns
 * compute-bound. For a `sum` fit it is where the two terms are equal.
 *
 * @example
 * fittedKneeBatch({ overheadSeconds: 0, peakFlopsPerSecond: 1.5e11, bytesPerSecond: 2e10, dtype: 'fp32', label: '' }, 4096, 4096)
 * // => ≈ 15.1
 */
export function fittedKneeBatch(fit: FittedRoofline, k: number, n: number, dtype: Dtype = fit.dtype): number {
  checkFit(fit);
  checkInt('k', k, { min: 1 });
  checkInt('n', n, { min: 1 });
  const b = DTYPE_BYTES[checkOneOf('dtype', dtype, DTYPES)];
  return matmulKneeBatch(fit.peakFlopsPerSecond, fit.bytesPerSecond, b, k, n);
}

/** Relative prediction errors |predicted − measured| / measured of a fit on points. */
export interface RooflineFitError {
  median: number;
  mean: number;
  max: number;
  n: number;
}

/**
 * How well a fit predicts measured points.
 *
 * @example
 * rooflineFitError(fit, points).median // => e.g. 0.08 (8 %)
 */
export function rooflineFitError(fit: FittedRooflineWithForm, input: Table | readonly RooflineFitPoint[]): RooflineFitError {
  checkFit(fit);
  const pts = checkPoints(input);
  const errs = pts.map((p) => Math.abs(fittedRooflineSeconds(fit, p) - p.seconds) / p.seconds);
  return { median: ssMedian(errs), mean: ssMean(errs), max: Math.max(...errs), n: errs.length };
}

/**
 * The default held-out split of a sweep: within each weight shape (K, N, batch, dtype),
 * every other distinct M trains and the rest is held out, so that repeated
 * measurements of one M never sit on both sides. Shared by the fitted roofline and the
 * measured table, so their held-out errors are comparable.
 *
 * @example
 * alternateBatchSplit([1, 2, 4, 8].map((m) => ({ m, k: 64, n: 64, dtype: 'fp32', seconds: 1e-5 }))) // => [true, false, true, false]
 */
export function alternateBatchSplit(pts: readonly RooflineFitPoint[]): boolean[] {
  const groups = new Map<string, number[]>();
  pts.forEach((p, i) => {
    const key = `${p.k}|${p.n}|${p.batch ?? 1}|${p.dtype}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const isTrain = pts.map(() => false);
  for (const idx of groups.values()) {
    const ms = [...new Set(idx.map((i) => pts[i].m))].sort((a, b) => a - b);
    for (const i of idx) isTrain[i] = ms.indexOf(pts[i].m) % 2 === 0;
  }
  return isTrain;
}

/**
 * Held-out error: fits on the points `train` selects and reports the error on the
 * rest. The default split alternates along M within each (K, N): fit on the 1st, 3rd,
 * 5th… batch size, predict the 2nd, 4th….
 *
 * @example
 * heldOutFitError(points).test.median // => e.g. 0.1
 */
export function heldOutFitError(
  input: Table | readonly RooflineFitPoint[],
  train?: (p: RooflineFitPoint, index: number) => boolean,
  opts: RooflineFitOptions = {},
): { fit: FittedRooflineWithForm; train: RooflineFitError; test: RooflineFitError } {
  const pts = checkPoints(input);
  const isTrain = train ? pts.map((p, i) => train(p, i)) : alternateBatchSplit(pts);
  const trainPts = pts.filter((_, i) => isTrain[i]);
  const testPts = pts.filter((_, i) => !isTrain[i]);
  if (trainPts.length < 3) throw new InputError('train', trainPts.length, 'a split with at least 3 training points');
  if (testPts.length < 1) throw new InputError('train', testPts.length, 'a split leaving at least 1 held-out point');
  const fit = fitRoofline(trainPts, { label: 'held-out fit', ...opts });
  return { fit, train: rooflineFitError(fit, trainPts), test: rooflineFitError(fit, testPts) };
}
