import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkNumber } from '../util/validate.js';

/** One measured point of a GEMM line (fixed K, N, dtype, layout): M, its time, and whether refinement added it. */
export interface GemmLinePoint {
  m: number;
  seconds: number;
  /** True for a point that a refinement added between two points of the base grid. */
  refined?: boolean;
}

/** Options of `gemmLineRefinement`. */
export interface GemmRefineOptions {
  /**
   * How much faster than proportionally to M the time may grow between two neighbours
   * before the growth counts as a change of regime: flagged when
   * t2/t1 > (m2/m1)·(1 + margin). Default 0.1 (see `GEMM_REFINE_MARGIN`).
   */
  margin?: number;
  /** Most refined points inside one interval of the base grid. Default 6 (see `GEMM_REFINE_MAX_EXTRA`). */
  maxExtra?: number;
  /** M never to ask for (e.g. the held-out points of a check). */
  exclude?: readonly number[];
}

/** One interval of a line whose time grows faster than proportionally to M, and what refinement does with it. */
export interface GemmRefineInterval {
  lo: number;
  hi: number;
  /** (t_hi / t_lo) / (hi / lo): how many times faster than proportionally the time grows (> 1 + margin). */
  growth: number;
  /**
   * `measure`: `next` is the M to measure inside it; `bracketed`: lo and hi are adjacent
   * integers; `excluded`: every integer between them is excluded; `cap`: the base interval
   * around it already holds `maxExtra` refined points.
   */
  status: 'measure' | 'bracketed' | 'excluded' | 'cap';
  next?: number;
}

/**
 * The noise margin of the step test. A GEMM within one kernel and threading regime takes
 * a + b·M with a, b ≥ 0 (a fixed cost plus a per-row cost), so between two measured
 * neighbours t2/t1 ≤ m2/m1; only a change of regime, or noise, lets the time grow faster.
 * Each point the refinement compares is a median of several rotating rounds; on a shared
 * machine two such medians of the same shape still differ by several per cent, so a growth
 * up to 10 % beyond proportional is not taken as evidence of a step. Measured in three
 * runs of the GEMM bench (bench/gemm-vs-reference.ts, TensorFlow CPU, this project's
 * shared 2-core machine): in the two runs whose load held steady, neighbours on the lines
 * without a regime change (K = N = 512, 1024, 4096) grew at most 1.02× faster than M,
 * while TensorFlow's split over two threads at K = N = 64 (M = 16 → 17) made the time
 * grow 2.5–6.2× faster. Load that comes and goes is another matter: in another run
 * another process took one core for part of the K = N = 4096 line and faked a 2× step,
 * which no margin can tell from a real one (the bench re-times neighbours in the same
 * rounds to see it). The test is one-sided
 * and cheap to get wrong: a false alarm costs at most `GEMM_REFINE_MAX_EXTRA` extra (valid)
 * measurements, a miss leaves an interpolation across a regime change.
 */
export const GEMM_REFINE_MARGIN = 0.1;

/**
 * Refined points allowed per interval of the base grid: bisection brackets a step between
 * adjacent integers within ⌈log2(width)⌉ points, so 6 resolves any interval up to 64 wide
 * (every interval of a 1.5×-spaced grid with its alternate points kept, up to M ≈ 128) and
 * narrows wider ones to 1/64 of their width.
 */
export const GEMM_REFINE_MAX_EXTRA = 6;

/**
 * Where a measured GEMM line steps: every pair of neighbours (m1, t1) < (m2, t2) whose
 * time grows faster than proportionally to M, t2/t1 > (m2/m1)·(1 + margin), which no
 * single regime a + b·M (a, b ≥ 0) allows, with the next M to measure inside each
 * (bisection on integers, skipping `exclude`d M). Measuring `next` and calling again with
 * the new points marked `refined` narrows each step until it is bracketed between
 * adjacent integers, or every integer inside is excluded, or the interval of the base
 * grid (the points not marked `refined`) around it holds `maxExtra` refined points. An
 * affine or sub-proportional line asks for nothing. Pure: the measuring loop is the
 * caller's.
 *
 * @example
 * gemmLineRefinement([{ m: 12, seconds: 11e-6 }, { m: 24, seconds: 36.6e-6 }]).next // => [18]
 */
export function gemmLineRefinement(line: readonly GemmLinePoint[], opts: GemmRefineOptions = {}): { intervals: GemmRefineInterval[]; next: number[] } {
  const pts = checkArray<GemmLinePoint>('line', line, 100_000);
  pts.forEach((p, i) => {
    if (typeof p !== 'object' || p === null) throw new InputError(`line[${i}]`, p, 'an object {m, seconds, refined?}');
    checkInt(`line[${i}].m`, p.m, { min: 1 });
    checkNumber(`line[${i}].seconds`, p.seconds, { min: 0, exclusiveMin: true });
    if (i > 0 && p.m <= pts[i - 1].m) throw new InputError(`line[${i}].m`, p.m, `an M above line[${i - 1}].m = ${pts[i - 1].m} (the line sorted by M, no repeats)`);
    if (p.refined !== undefined && typeof p.refined !== 'boolean') throw new InputError(`line[${i}].refined`, p.refined, 'a boolean or undefined');
  });
  const margin = checkNumber('margin', opts.margin ?? GEMM_REFINE_MARGIN, { min: 0, max: 10 });
  const maxExtra = checkInt('maxExtra', opts.maxExtra ?? GEMM_REFINE_MAX_EXTRA, { min: 0, max: 64 });
  const ex = opts.exclude === undefined || (Array.isArray(opts.exclude) && opts.exclude.length === 0) ? [] : checkArray<number>('exclude', opts.exclude, 100_000);
  const exclude = new Set(ex.map((m, i) => checkInt(`exclude[${i}]`, m, { min: 1 })));
  // Refined points inside the base interval that contains pts[i]…pts[i+1], and that
  // interval's first point: several steps inside one base interval share its budget, so
  // asks made in this call count against it too.
  const baseOf = (i: number): number => {
    let lo = i;
    while (lo > 0 && pts[lo].refined) lo--;
    return lo;
  };
  const extraAround = (i: number): number => {
    const lo = baseOf(i);
    let hi = i + 1;
    while (hi < pts.length - 1 && pts[hi].refined) hi++;
    return pts.slice(lo + 1, hi).length;
  };
  const asked = new Map<number, number>();
  const intervals: GemmRefineInterval[] = [];
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i];
    const b = pts[i + 1];
    const growth = b.seconds / a.seconds / (b.m / a.m);
    if (!(growth > 1 + margin)) continue;
    const base = { lo: a.m, hi: b.m, growth };
    const home = baseOf(i);
    if (b.m - a.m === 1) intervals.push({ ...base, status: 'bracketed' });
    else if (extraAround(i) + (asked.get(home) ?? 0) >= maxExtra) intervals.push({ ...base, status: 'cap' });
    else {
      const next = bisectionPoint(a.m, b.m, exclude);
      if (next !== undefined) asked.set(home, (asked.get(home) ?? 0) + 1);
      intervals.push(next === undefined ? { ...base, status: 'excluded' } : { ...base, status: 'measure', next });
    }
  }
  return { intervals, next: intervals.flatMap((v) => (v.next === undefined ? [] : [v.next])) };
}

/** The integer nearest the middle of (lo, hi) that is not excluded; the lower one on a tie. */
function bisectionPoint(lo: number, hi: number, exclude: ReadonlySet<number>): number | undefined {
  const mid = (lo + hi) / 2;
  for (let d = 0; Math.floor(mid - d) > lo || Math.ceil(mid + d) < hi; d++) {
    for (const c of [Math.floor(mid - d), Math.ceil(mid + d)]) if (c > lo && c < hi && !exclude.has(c)) return c;
  }
  return undefined;
}
