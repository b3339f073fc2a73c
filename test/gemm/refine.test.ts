import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemmLineRefinement, GEMM_REFINE_MAX_EXTRA, sweepGemm, gemmRows } from '../../lib/gemm/index.js';
import type { GemmLinePoint } from '../../lib/gemm/index.js';
import { InputError } from '../../lib/util/errors.js';

// The base grid of the GEMM bench's held-out lines (1.5× apart from M = 2 on) with its alternate points kept.
const KEPT = [1, 3, 6, 12, 24, 48, 96, 192, 384, 768];
const HELD = [2, 4, 8, 16, 32, 64, 128, 256, 512];
const line = (ms: readonly number[], t: (m: number) => number, refined: ReadonlySet<number> = new Set()): GemmLinePoint[] =>
  ms.map((m) => ({ m, seconds: t(m), ...(refined.has(m) ? { refined: true } : {}) }));

/** Measures what gemmLineRefinement asks for until it asks for nothing; returns the final line and the calls made. */
function refineLoop(base: readonly number[], t: (m: number) => number, opts: Parameters<typeof gemmLineRefinement>[1] = {}) {
  const refined = new Set<number>();
  let rounds = 0;
  for (;;) {
    const ms = [...base, ...refined].sort((a, b) => a - b);
    const r = gemmLineRefinement(line(ms, t, refined), opts);
    if (r.next.length === 0) return { ms, refined, result: r, rounds };
    for (const m of r.next) {
      assert.ok(!ms.includes(m), `asked again for M = ${m}`);
      refined.add(m);
    }
    rounds++;
    assert.ok(rounds < 100, 'refinement does not terminate');
  }
}

test('gemmLineRefinement() asks for nothing on an affine line a + b·M (a, b ≥ 0), nor on a pure per-row line', () => {
  // One regime: t2/t1 = (a + b·m2)/(a + b·m1) ≤ m2/m1 for a ≥ 0 (values chosen, not measured).
  for (const t of [(m: number) => 1e-5 + 2e-7 * m, (m: number) => 3e-7 * m, () => 4e-5]) {
    const r = gemmLineRefinement(line(KEPT, t));
    assert.deepEqual(r, { intervals: [], next: [] });
  }
  // A line falling with M (noise, or a faster kernel taking over) is no evidence of a step up either.
  assert.deepEqual(gemmLineRefinement(line([4, 8, 16], (m) => 1 / m)).next, []);
});

test('gemmLineRefinement() asks inside a step and converges to adjacent integers around it', () => {
  // TensorFlow's shape at K = N = 64 (bench/gemm-vs-reference.ts): about 11 µs single-threaded up to the step,
  // 30 µs and more once the op is split over two threads; the step is put at 20 | 21 here.
  const step = (m: number) => (m <= 20 ? 10e-6 + 0.08e-6 * m : 30e-6 + 0.09e-6 * m);
  const first = gemmLineRefinement(line(KEPT, step));
  assert.equal(first.intervals.length, 1);
  assert.deepEqual({ ...first.intervals[0], growth: undefined }, { lo: 12, hi: 24, growth: undefined, status: 'measure', next: 18 });
  // growth = (t24 / t12) / (24 / 12), from the closed form above.
  assert.ok(Math.abs(first.intervals[0].growth - step(24) / step(12) / 2) < 1e-12);
  const { ms, refined, result } = refineLoop(KEPT, step);
  // Bisection 12–24 → 18 (below) → 21 (above) → 19 → 20: the step ends between 20 and 21.
  assert.deepEqual([...refined].sort((a, b) => a - b), [18, 19, 20, 21]);
  assert.ok(refined.size <= GEMM_REFINE_MAX_EXTRA);
  assert.deepEqual(result.intervals.map(({ lo, hi, status }) => ({ lo, hi, status })), [{ lo: 20, hi: 21, status: 'bracketed' }]);
  assert.ok(ms.includes(20) && ms.includes(21));
});

test('gemmLineRefinement() never asks for an excluded M, and says when only excluded M are left inside a step', () => {
  // The step between 15 and 16, with 16 a held-out point of the check: bracketed as 15–17 at best.
  const step = (m: number) => (m <= 15 ? 11e-6 : 33e-6);
  const { refined, result } = refineLoop(KEPT, step, { exclude: HELD });
  for (const m of refined) assert.ok(!HELD.includes(m), `asked for held-out M = ${m}`);
  assert.deepEqual(result.intervals.map(({ lo, hi, status }) => ({ lo, hi, status })), [{ lo: 15, hi: 17, status: 'excluded' }]);
  // Without the exclusion it ends between adjacent integers.
  assert.deepEqual(refineLoop(KEPT, step).result.intervals.map(({ lo, hi, status }) => ({ lo, hi, status })), [{ lo: 15, hi: 16, status: 'bracketed' }]);
});

test('gemmLineRefinement() stops at maxExtra refined points per base interval, and counts each base interval apart', () => {
  // Two steps in one wide line (400|401 between 384 and 768, 100|101 between 96 and 192): with the cap at 3
  // neither is bracketed; each base interval gets exactly 3 points.
  const steps = (m: number) => 1e-6 * m * (m > 100 ? 2 : 1) * (m > 400 ? 2 : 1);
  const { refined, result } = refineLoop(KEPT, steps, { maxExtra: 3 });
  const inside = (lo: number, hi: number) => [...refined].filter((m) => m > lo && m < hi).length;
  assert.equal(inside(96, 192), 3);
  assert.equal(inside(384, 768), 3);
  assert.equal(refined.size, 6);
  assert.deepEqual(result.intervals.map((v) => v.status), ['cap', 'cap']);
  // Bisection keeps the step inside the last flagged interval.
  for (const v of result.intervals) assert.ok((v.lo <= 100 && v.hi > 100) || (v.lo <= 400 && v.hi > 400), `${v.lo}–${v.hi}`);
  // Cap 0: flagged, nothing asked.
  const none = gemmLineRefinement(line(KEPT, steps), { maxExtra: 0 });
  assert.deepEqual(none.next, []);
  assert.equal(none.intervals.length, 2);
});

test('gemmLineRefinement(): two steps inside one base interval share its budget, even when both are flagged in the same call', () => {
  // Base points 1 and 64, refined 32 and 48 already (2 of a cap of 3); a slow reading at 32 flags both 1–32 and 48–64.
  const pts = [
    { m: 1, seconds: 1e-5 },
    { m: 32, seconds: 1e-3, refined: true },
    { m: 48, seconds: 1e-3, refined: true },
    { m: 64, seconds: 1 },
  ];
  const r = gemmLineRefinement(pts, { maxExtra: 3 });
  assert.equal(r.next.length, 1);
  assert.deepEqual(r.intervals.map((v) => v.status), ['measure', 'cap']);
});

test('gemmLineRefinement() takes growth within the margin as noise', () => {
  // t24/t12 = 2.18 while M doubles: growth 1.09, within the default margin (0.1), beyond 0.05.
  const pts = [{ m: 12, seconds: 10e-6 }, { m: 24, seconds: 21.8e-6 }];
  assert.deepEqual(gemmLineRefinement(pts).next, []);
  assert.deepEqual(gemmLineRefinement(pts, { margin: 0.05 }).next, [18]);
});

test('gemmLineRefinement() refuses unsorted M, repeats, non-positive or NaN times and bad options, naming the field', () => {
  const field = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => gemmLineRefinement([{ m: 8, seconds: 1 }, { m: 4, seconds: 2 }]), field('line[1].m'));
  assert.throws(() => gemmLineRefinement([{ m: 4, seconds: 1 }, { m: 4, seconds: 2 }]), field('line[1].m'));
  assert.throws(() => gemmLineRefinement([{ m: 4, seconds: 1 }, { m: 8, seconds: 0 }]), field('line[1].seconds'));
  assert.throws(() => gemmLineRefinement([{ m: 4, seconds: -1 }]), field('line[0].seconds'));
  assert.throws(() => gemmLineRefinement([{ m: 4, seconds: NaN }]), field('line[0].seconds'));
  assert.throws(() => gemmLineRefinement([{ m: 1.5, seconds: 1 }]), field('line[0].m'));
  assert.throws(() => gemmLineRefinement([{ m: 0, seconds: 1 }]), field('line[0].m'));
  assert.throws(() => gemmLineRefinement([null as never]), field('line[0]'));
  assert.throws(() => gemmLineRefinement('12' as never), field('line'));
  assert.throws(() => gemmLineRefinement([{ m: 4, seconds: 1, refined: 'yes' as never }]), field('line[0].refined'));
  assert.throws(() => gemmLineRefinement([]), field('line'));
  const ok = [{ m: 4, seconds: 1 }];
  assert.throws(() => gemmLineRefinement(ok, { margin: NaN }), field('margin'));
  assert.throws(() => gemmLineRefinement(ok, { margin: -0.1 }), field('margin'));
  assert.throws(() => gemmLineRefinement(ok, { maxExtra: 2.5 }), field('maxExtra'));
  assert.throws(() => gemmLineRefinement(ok, { exclude: [0] }), field('exclude[0]'));
  assert.throws(() => gemmLineRefinement(ok, { exclude: 3 as never }), field('exclude'));
  // A single point has no neighbour to step from.
  assert.deepEqual(gemmLineRefinement(ok, { exclude: [] }), { intervals: [], next: [] });
});

test('sweepGemm({ refine }) measures inside a step of a resumed line, never a grid M, up to the cap', async () => {
  const FAST = { minReps: 3, minTimeMs: 2, warmup: 1 };
  // An 8×8 weight: every M up to 64 takes microseconds, overhead-bound, so the real line never grows
  // faster than M (t64 / t1 < 64) and refinement asks for nothing.
  const real = gemmRows(await sweepGemm({ ms: [1, 64], shapes: [{ k: 8, n: 8 }], timing: FAST, refine: true }));
  assert.deepEqual(real.map((r) => r.m), [1, 64]);
  // The same rows resumed with a step written in: 10 µs at M = 1, 1 s at M = 64 (10⁵× the time for 64× the M).
  // Real points inside take microseconds (t32 / t1 < 32 unless t32 > 320 µs), so the step stays in the top
  // interval: first 32, then bisection upward, 3 points in all (the cap).
  const done = real.map((r) => ({ ...r, median_s: r.m === 1 ? 1e-5 : 1 }));
  const seen: Array<{ m: number; total: number }> = [];
  const rows = gemmRows(
    await sweepGemm({ ms: [1, 64], shapes: [{ k: 8, n: 8 }], timing: FAST, done, refine: { maxExtra: 3 }, onPoint: (r, p) => void seen.push({ m: r.m, total: p.total }) }),
  );
  assert.equal(rows.length, 5);
  assert.deepEqual(rows.slice(0, 2), done);
  const added = rows.slice(2).map((r) => r.m);
  assert.equal(added[0], 32);
  assert.equal(new Set(added).size, 3);
  for (const m of added) assert.ok(m > 1 && m < 64, `M = ${m}`);
  assert.deepEqual(seen.map((s) => s.m), added);
  // The progress total grows as refinement asks, from the 2 grid points to 5.
  assert.equal(seen[0].total, 3);
  assert.equal(seen.at(-1)?.total, 5);
  await assert.rejects(sweepGemm({ ms: [1], refine: { margin: -1 } }), (e: unknown) => e instanceof InputError && e.field === 'margin');
  await assert.rejects(sweepGemm({ ms: [1], refine: 'yes' as never }), (e: unknown) => e instanceof InputError && e.field === 'refine');
});
