import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as aq from 'arquero';
import {
  fitRoofline,
  fittedRooflineSeconds,
  fittedMatmulCost,
  fittedKneeBatch,
  rooflineFitError,
  heldOutFitError,
  rooflineFitPoints,
  saveFittedRoofline,
  loadLatestFittedRoofline,
} from '../../lib/cost/index.js';
import type { RooflineFitPoint, RooflineForm } from '../../lib/cost/index.js';
import type { FittedRoofline } from '../../lib/core/index.js';
import { gemmBatchSizes } from '../../lib/gemm/shapes.js';
import { InputError } from '../../lib/util/errors.js';
import { rng, normal } from '../../lib/util/random.js';

// Parameters of the synthetic machine: a 40 µs call, 120 GFLOP/s and 15 GB/s, the
// order of magnitude of the 2-core CPU batchlab was developed on (lib/gemm measured
// 45–75 µs, 110–150 GFLOP/s, 10–25 GB/s there).
const TRUE: FittedRoofline = { overheadSeconds: 40e-6, peakFlopsPerSecond: 120e9, bytesPerSecond: 15e9, dtype: 'fp32', label: 'synthetic' };

function synthetic(form: RooflineForm, noiseSigma: number, seed = 7): RooflineFitPoint[] {
  const noise = normal(rng(seed), 0, noiseSigma);
  const pts: RooflineFitPoint[] = [];
  // Tiny shapes pin the overhead, K=N=4096 at small M the bandwidth, large M the peak.
  for (const [k, n] of [[64, 64], [1024, 1024], [4096, 4096]]) {
    for (const m of gemmBatchSizes(4096)) {
      const exact = fittedRooflineSeconds({ ...TRUE, form } as FittedRoofline, { m, k, n, dtype: 'fp32' });
      pts.push({ m, k, n, dtype: 'fp32', seconds: exact * Math.exp(noiseSigma ? noise() : 0) });
    }
  }
  return pts;
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / b;
}

test('fitRoofline recovers overhead, peak and bandwidth from noise-free roofline data to 0.1 %', () => {
  const fit = fitRoofline(synthetic('max', 0));
  assert.ok(relErr(fit.overheadSeconds, TRUE.overheadSeconds) < 1e-3, `overhead ${fit.overheadSeconds}`);
  assert.ok(relErr(fit.peakFlopsPerSecond, TRUE.peakFlopsPerSecond) < 1e-3, `peak ${fit.peakFlopsPerSecond}`);
  assert.ok(relErr(fit.bytesPerSecond, TRUE.bytesPerSecond) < 1e-3, `bw ${fit.bytesPerSecond}`);
  assert.equal(fit.form, 'max');
  assert.equal(fit.dtype, 'fp32');
});

test('fitRoofline recovers known parameters within 5 % under 5 % log-normal timing noise', () => {
  for (const seed of [1, 2, 3]) {
    const fit = fitRoofline(synthetic('max', 0.05, seed));
    assert.ok(relErr(fit.overheadSeconds, TRUE.overheadSeconds) < 0.05, `seed ${seed} overhead ${fit.overheadSeconds}`);
    assert.ok(relErr(fit.peakFlopsPerSecond, TRUE.peakFlopsPerSecond) < 0.05, `seed ${seed} peak ${fit.peakFlopsPerSecond}`);
    assert.ok(relErr(fit.bytesPerSecond, TRUE.bytesPerSecond) < 0.05, `seed ${seed} bw ${fit.bytesPerSecond}`);
  }
});

test("fitRoofline({form: 'sum'}) recovers the parameters of additive (no-overlap) data", () => {
  const fit = fitRoofline(synthetic('sum', 0.02), { form: 'sum' });
  assert.equal(fit.form, 'sum');
  assert.ok(relErr(fit.peakFlopsPerSecond, TRUE.peakFlopsPerSecond) < 0.05);
  assert.ok(relErr(fit.bytesPerSecond, TRUE.bytesPerSecond) < 0.05);
  assert.ok(relErr(fit.overheadSeconds, TRUE.overheadSeconds) < 0.05);
  // The max form cannot express additive data as well: its error must be larger.
  const pts = synthetic('sum', 0);
  assert.ok(rooflineFitError(fitRoofline(pts), pts).median > rooflineFitError(fitRoofline(pts, { form: 'sum' }), pts).median);
});

test('fittedRooflineSeconds is overhead + max(2MKN/peak, 4(MK+KN+MN)/bw) for fp32', () => {
  // M=1, K=N=4096: bytes = 4·(4096 + 4096² + 4096) = 67 141 632; FLOPs = 2·4096² = 33 554 432.
  const t = fittedRooflineSeconds(TRUE, { m: 1, k: 4096, n: 4096, dtype: 'fp32' });
  assert.ok(Math.abs(t - (40e-6 + 67_141_632 / 15e9)) < 1e-12);
  // M=4096: FLOPs 2·4096³ = 137 438 953 472 dominate.
  const big = fittedRooflineSeconds(TRUE, { m: 4096, k: 4096, n: 4096, dtype: 'fp32' });
  assert.ok(Math.abs(big - (40e-6 + 137_438_953_472 / 120e9)) < 1e-9);
  // batch multiplies FLOPs and bytes, not the overhead.
  const b4 = fittedRooflineSeconds(TRUE, { m: 1, k: 4096, n: 4096, dtype: 'fp32', batch: 4 });
  assert.ok(Math.abs(b4 - (40e-6 + (4 * 67_141_632) / 15e9)) < 1e-12);
});

test('fittedKneeBatch equals the closed form and balances compute and memory time there', () => {
  const fit: FittedRoofline = { overheadSeconds: 0, peakFlopsPerSecond: 1.5e11, bytesPerSecond: 2e10, dtype: 'fp32', label: '' };
  const knee = fittedKneeBatch(fit, 4096, 4096);
  // M* = (4·4096²/2e10) / (2·4096²/1.5e11 − 4·8192/2e10) = 0.0033554432 / 0.00022205 ≈ 15.111
  assert.ok(Math.abs(knee - 0.0033554432 / (33_554_432 / 1.5e11 - 32_768 / 2e10)) < 1e-9);
  assert.ok(Math.abs(knee - 15.111) < 1e-3);
  const flops = 2 * knee * 4096 * 4096;
  const bytes = 4 * (knee * 4096 + 4096 * 4096 + knee * 4096);
  assert.ok(relErr(flops / fit.peakFlopsPerSecond, bytes / fit.bytesPerSecond) < 1e-12);
  // With bandwidth far above compute (1e15 B/s vs 1.5e11 FLOP/s) every M is compute-bound:
  // the closed form gives M* = 3.36e-8 / 2.24e-4 ≈ 1.5e-4.
  assert.ok(fittedKneeBatch({ ...fit, bytesPerSecond: 1e15 }, 4096, 4096) < 1e-3);
  // K=N=1 caps intensity at 2 FLOP / 12 bytes: 1.5e11/2e10 = 7.5 FLOP/byte is never reached.
  assert.equal(fittedKneeBatch(fit, 1, 1), Infinity);
});

test('fittedMatmulCost is a fitted MatmulCostModel: label kept, zero at m=0, increasing in m', () => {
  const cost = fittedMatmulCost(TRUE);
  assert.equal(cost.kind, 'fitted');
  assert.equal(cost.label, 'synthetic');
  assert.equal(cost.matmulSeconds({ m: 0, k: 4096, n: 4096, dtype: 'fp32' }), 0);
  let prev = 0;
  for (const m of gemmBatchSizes(4096)) {
    const t = cost.matmulSeconds({ m, k: 4096, n: 4096, dtype: 'fp32' });
    assert.ok(t >= prev, `non-decreasing at m=${m}`);
    prev = t;
  }
  // bf16 halves the bytes at the fitted peak: M=1 is memory-bound, so the time drops by about half.
  const f32 = cost.matmulSeconds({ m: 1, k: 4096, n: 4096, dtype: 'fp32' }) - 40e-6;
  const b16 = cost.matmulSeconds({ m: 1, k: 4096, n: 4096, dtype: 'bf16' }) - 40e-6;
  assert.ok(Math.abs(b16 / f32 - 0.5) < 1e-9);
  assert.throws(() => cost.matmulSeconds({ m: -1, k: 8, n: 8, dtype: 'fp32' }), (e: unknown) => e instanceof InputError && e.field === 'shape.m');
  assert.throws(() => fittedMatmulCost({ ...TRUE, peakFlopsPerSecond: NaN }), (e: unknown) => e instanceof InputError && e.field === 'fit.peakFlopsPerSecond');
});

test('fitRoofline rejects mixed dtypes, NaN or non-positive times and non-integer sizes, naming the field', () => {
  const ok: RooflineFitPoint = { m: 1, k: 8, n: 8, dtype: 'fp32', seconds: 1e-5 };
  assert.throws(() => fitRoofline([ok, { ...ok, dtype: 'bf16' }]), (e: unknown) => e instanceof InputError && e.field === 'points');
  assert.throws(() => fitRoofline([ok, { ...ok, seconds: NaN }]), (e: unknown) => e instanceof InputError && e.field === 'points[1].seconds');
  assert.throws(() => fitRoofline([{ ...ok, seconds: 0 }]), (e: unknown) => e instanceof InputError && e.field === 'points[0].seconds');
  assert.throws(() => fitRoofline([{ ...ok, m: 2.5 }]), (e: unknown) => e instanceof InputError && e.field === 'points[0].m');
  assert.throws(() => fitRoofline([]), (e: unknown) => e instanceof InputError && e.field === 'points');
});

test('heldOutFitError fits on alternate batch sizes and predicts the others', () => {
  const pts = synthetic('max', 0.02);
  const h = heldOutFitError(pts);
  // 3 shapes × 24 batch sizes (gemmBatchSizes(4096): 13 powers of two 1…4096 and 11 points
  // 3·2^j between them); alternate M: 12 train + 12 test per shape.
  assert.equal(h.train.n, 36);
  assert.equal(h.test.n, 36);
  // 2 % noise: held-out error stays at the noise level.
  assert.ok(h.test.median < 0.04, `median ${h.test.median}`);
  const custom = heldOutFitError(pts, (p) => p.k !== 1024);
  assert.equal(custom.test.n, 24);
  assert.throws(() => heldOutFitError(pts, () => false), (e: unknown) => e instanceof InputError && e.field === 'train');
});

test('rooflineFitPoints takes the sweep rows of a GEMM table with their median times', () => {
  const t = aq.table({
    case: ['sweep', 'sweep', 'one-vs-many'],
    m: [1, 2, 4],
    k: [8, 8, 8],
    n: [8, 8, 8],
    batch: [1, 1, 1],
    dtype: ['fp32', 'fp32', 'fp32'],
    median_s: [1e-5, 2e-5, 3e-5],
  });
  assert.deepEqual(rooflineFitPoints(t), [
    { m: 1, k: 8, n: 8, batch: 1, dtype: 'fp32', seconds: 1e-5 },
    { m: 2, k: 8, n: 8, batch: 1, dtype: 'fp32', seconds: 2e-5 },
  ]);
  assert.throws(() => rooflineFitPoints(aq.table({ m: [1] })), (e: unknown) => e instanceof InputError && e.field === 'table');
});

test('saveFittedRoofline / loadLatestFittedRoofline round-trip, filter by host and backend, and pick the newest date', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-fit-'));
  const prov = (host: string, backend: string, date: string) => ({ source: 'measured', host, backend, date });
  const older = saveFittedRoofline({ fit: TRUE, provenance: prov('box', 'tensorflow', '2026-01-01') }, dir);
  saveFittedRoofline({ fit: { ...TRUE, overheadSeconds: 1e-6 }, provenance: prov('box', 'tensorflow', '2026-02-01'), points: 12 }, dir);
  saveFittedRoofline({ fit: { ...TRUE, overheadSeconds: 2e-6 }, provenance: prov('box', 'wasm', '2026-03-01') }, dir);
  saveFittedRoofline({ fit: { ...TRUE, overheadSeconds: 3e-6 }, provenance: prov('other', 'tensorflow', '2026-04-01') }, dir);
  writeFileSync(join(dir, 'broken.json'), '{"fit": ');
  // A newer mtime must not beat a newer provenance date.
  utimesSync(older, new Date(), new Date(Date.now() + 60_000));
  assert.equal(loadLatestFittedRoofline({ host: 'box', backend: 'tensorflow', dir })?.fit.overheadSeconds, 1e-6);
  assert.equal(loadLatestFittedRoofline({ host: 'box', backend: 'tensorflow', dir })?.points, 12);
  assert.equal(loadLatestFittedRoofline({ host: 'box', dir })?.fit.overheadSeconds, 2e-6);
  assert.equal(loadLatestFittedRoofline({ host: '*', dir })?.fit.overheadSeconds, 3e-6);
  assert.equal(loadLatestFittedRoofline({ host: 'nobody', dir }), undefined);
  assert.equal(loadLatestFittedRoofline({ dir: join(dir, 'missing') }), undefined);
  assert.throws(() => saveFittedRoofline({ fit: TRUE, provenance: { source: 'measured', host: '', backend: 'x', date: 'd' } }, dir), (e: unknown) => e instanceof InputError && e.field === 'provenance.host');
});

test('fitRoofline warns about parameters the data cannot pin down instead of returning absurd values', () => {
  // Only tiny shapes: every time is the 40 µs overhead, so peak and bandwidth are invisible.
  const tiny: RooflineFitPoint[] = [1, 2, 4, 8].map((m) => ({ m, k: 8, n: 8, dtype: 'fp32', seconds: fittedRooflineSeconds(TRUE, { m, k: 8, n: 8, dtype: 'fp32' }) }));
  const fit = fitRoofline(tiny);
  assert.ok(relErr(fit.overheadSeconds, TRUE.overheadSeconds) < 0.01);
  assert.equal(fit.warnings?.length, 2);
  assert.match(fit.warnings?.[0] ?? '', /peakFlopsPerSecond is a lower bound/);
  // The weak pull keeps the unseen parameters finite and within a few decades of what the data
  // shows (at most 2·8·8·8 FLOP in 40 µs = 25.6 MFLOP/s); without it they drifted past 1e20.
  assert.ok(fit.peakFlopsPerSecond < 1e12 && fit.bytesPerSecond < 1e12);
  assert.equal(fitRoofline(synthetic('max', 0)).warnings, undefined);
});
