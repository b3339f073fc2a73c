import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measuredMatmulCost, heldOutTableError, heldOutFitError, fitRoofline, fittedRooflineSeconds, measuredMatmulCostForMachine } from '../../lib/cost/index.js';
import type { RooflineFitPoint } from '../../lib/cost/index.js';
import { readGemmCsv } from '../../lib/gemm/index.js';
import { InputError } from '../../lib/util/errors.js';

// A machine whose times follow overhead + max(compute, memory) with a bump the roofline cannot express.
const truth = (m: number, k: number, n: number): number => 2e-5 + Math.max((2 * m * k * n) / 1e11, (4 * (m * k + k * n + m * n)) / 1e10) * (1 + 0.3 * Math.exp(-((Math.log2(m) - 5) ** 2) / 4));
const grid = (k: number, n: number, ms: number[]): RooflineFitPoint[] => ms.map((m) => ({ m, k, n, dtype: 'fp32', seconds: truth(m, k, n) }));

test('measuredMatmulCost() reproduces every measured point exactly', () => {
  const pts = [...grid(1024, 1024, [1, 2, 4, 8, 16, 32, 64, 128, 256]), ...grid(4096, 4096, [1, 8, 64, 512])];
  const cost = measuredMatmulCost(pts);
  for (const p of pts) assert.ok(Math.abs(cost.matmulSeconds(p) / p.seconds - 1) < 1e-12, `m ${p.m} k ${p.k}`);
  assert.equal(cost.matmulSeconds({ m: 0, k: 1024, n: 1024, dtype: 'fp32' }), 0);
});

test('measuredMatmulCost() interpolates an affine line exactly between measured M (the default), which the log-residual interpolant does not', () => {
  // t = a + b·M: one kernel regime, a fixed cost plus a per-row cost (values chosen, not measured).
  const affine = (m: number) => 3e-5 + 2e-7 * m;
  // A second line, from the roofline-with-bump machine, shares the fit, so the roofline cannot bend to the affine line.
  const pts: RooflineFitPoint[] = [...[1, 4, 16, 64, 256].map((m) => ({ m, k: 512, n: 512, dtype: 'fp32' as const, seconds: affine(m) })), ...grid(4096, 4096, [1, 8, 64, 512])];
  const lin = measuredMatmulCost(pts);
  const logr = measuredMatmulCost(pts, { interpolation: 'log-residual' });
  let worstLog = 0;
  for (const m of [2, 3, 10, 40, 100, 200]) {
    const q = { m, k: 512, n: 512, dtype: 'fp32' as const };
    assert.ok(Math.abs(lin.matmulSeconds(q) / affine(m) - 1) < 1e-12, `m ${m}`);
    worstLog = Math.max(worstLog, Math.abs(logr.matmulSeconds(q) / affine(m) - 1));
  }
  // The log-residual interpolant bends between neighbours 4× apart: off by more than 1 % somewhere.
  assert.ok(worstLog > 0.01, `log-residual worst ${worstLog}`);
  for (const p of pts) assert.ok(Math.abs(logr.matmulSeconds(p) / p.seconds - 1) < 1e-12 && Math.abs(lin.matmulSeconds(p) / p.seconds - 1) < 1e-12);
});

test('measuredMatmulCost() scales the nearest line to the asked (K, N) by the roofline ratio, and follows the roofline beyond the table', () => {
  const pts = grid(1024, 1024, [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  const cost = measuredMatmulCost(pts);
  const fit = fitRoofline(pts);
  // Between measured M the bump is followed to within 10 % (the roofline alone misses it by up to 30 %); the
  // worst points straddle the knee (M ≈ 20 here), where the truth bends between two measured M.
  for (const m of [3, 6, 12, 24, 48, 96, 192]) assert.ok(Math.abs(cost.matmulSeconds({ m, k: 1024, n: 1024, dtype: 'fp32' }) / truth(m, 1024, 1024) - 1) < 0.1, `m ${m}`);
  // Another (K, N) inside the M range: the line's time, linear in M between 32 and 64, times roofline(asked) / roofline(line).
  const onLine = truth(32, 1024, 1024) + ((48 - 32) / (64 - 32)) * (truth(64, 1024, 1024) - truth(32, 1024, 1024));
  const asked = { m: 48, k: 1536, n: 768, dtype: 'fp32' as const };
  const scaled = (onLine * fittedRooflineSeconds(fit, asked)) / fittedRooflineSeconds(fit, { ...asked, k: 1024, n: 1024 });
  assert.ok(Math.abs(cost.matmulSeconds(asked) / scaled - 1) < 1e-12);
  // Beyond the table, above and below: the fitted roofline times the measured ratio to it at the nearest end.
  const last = pts[pts.length - 1];
  const q = { m: 4096, k: 1024, n: 1024, dtype: 'fp32' as const };
  assert.ok(Math.abs(cost.matmulSeconds(q) / (fittedRooflineSeconds(fit, q) * (last.seconds / fittedRooflineSeconds(fit, last))) - 1) < 1e-12);
  const upper = grid(1024, 1024, [8, 16, 32]);
  const below = measuredMatmulCost(upper);
  const fitU = fitRoofline(upper);
  const q2 = { m: 2, k: 1024, n: 1024, dtype: 'fp32' as const };
  assert.ok(Math.abs(below.matmulSeconds(q2) / (fittedRooflineSeconds(fitU, q2) * (upper[0].seconds / fittedRooflineSeconds(fitU, upper[0]))) - 1) < 1e-12);
  assert.throws(() => cost.matmulSeconds({ m: 1, k: 1024, n: 1024, dtype: 'bf16' }), InputError);
  assert.throws(() => measuredMatmulCost([{ m: 1, k: 1, n: 1, dtype: 'fp32', seconds: -1 }]), /points\[0\]\.seconds/);
  assert.throws(() => measuredMatmulCost(pts, { interpolation: 'cubic' as never }), /interpolation/);
});

test('measuredMatmulCost({ interpolation: "log-residual" }) interpolates log(measured / roofline) linearly in log M', () => {
  const pts = grid(1024, 1024, [4, 16]);
  const cost = measuredMatmulCost(pts, { interpolation: 'log-residual' });
  const fit = fitRoofline(pts);
  const r = (p: RooflineFitPoint) => Math.log(p.seconds / fittedRooflineSeconds(fit, p));
  // M = 8 is halfway between 4 and 16 in log M.
  const q = { m: 8, k: 1024, n: 1024, dtype: 'fp32' as const };
  assert.ok(Math.abs(cost.matmulSeconds(q) / (fittedRooflineSeconds(fit, q) * Math.exp((r(pts[0]) + r(pts[1])) / 2)) - 1) < 1e-12);
});

test('heldOutTableError() lists every held-out point with its prediction and relative error', () => {
  const pts = grid(512, 512, [1, 2, 3, 4, 6, 8, 12, 16, 24]);
  const h = heldOutTableError(pts);
  assert.deepEqual(h.errors.map((e) => e.point.m), [2, 4, 8, 16]);
  assert.equal(h.test.n, 4);
  assert.equal(h.test.max, Math.max(...h.errors.map((e) => e.error)));
  for (const e of h.errors) assert.ok(Math.abs(e.error - Math.abs(e.predicted - e.point.seconds) / e.point.seconds) < 1e-15);
  // Training points are reproduced exactly.
  assert.ok(h.train.max < 1e-12);
  // The option reaches the model: the two interpolants disagree on this curved line.
  assert.notEqual(heldOutTableError(pts, undefined, { interpolation: 'log-residual' }).test.median, h.test.median);
});

test('heldOutTableError() beats heldOutFitError() on this machine\'s saved GEMM sweep', () => {
  // data/examples/measured/gemm-vm-tensorflow-2026-11-29.csv: the GEMM harness on this project's 2-core VM, medians per point.
  const rows = readGemmCsv(new URL('../../data/examples/measured/gemm-vm-tensorflow-2026-11-29.csv', import.meta.url).pathname).filter((r) => r.case === 'sweep');
  const pts: RooflineFitPoint[] = rows.map((r) => ({ m: r.m, k: r.k, n: r.n, batch: r.batch, dtype: r.dtype, seconds: r.median_s }));
  const table = heldOutTableError(pts);
  const fit = heldOutFitError(pts);
  assert.equal(table.test.n, fit.test.n);
  console.log(`held-out on the saved sweep (${table.test.n} points): table median ${(table.test.median * 100).toFixed(1)} %, max ${(table.test.max * 100).toFixed(1)} %; fitted roofline median ${(fit.test.median * 100).toFixed(1)} %`);
  assert.ok(table.test.median < fit.test.median);
  assert.ok(table.test.median < 0.15);
  // Noise-free synthetic data: interpolation error only.
  const synth = heldOutTableError([...grid(1024, 1024, [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128]), ...grid(64, 64, [1, 4, 16, 64, 256])]);
  assert.ok(synth.test.median < 0.02 && synth.test.max < 0.1, JSON.stringify(synth.test));
});

test('measuredMatmulCostForMachine() picks the saved sweeps of a machine by file name, and nothing for a machine without any', () => {
  const dir = new URL('../../data/examples/measured', import.meta.url).pathname;
  // The shipped example sweep is named gemm-vm-tensorflow-2026-11-29 (saved before files were named by machine id).
  const cost = measuredMatmulCostForMachine({ machine: 'vm', dir });
  assert.ok(cost && cost.points >= 8 && /tensorflow on vm/.test(cost.label));
  assert.equal(measuredMatmulCostForMachine({ machine: 'no-such-machine', dir }), undefined);
});

test('measuredMatmulCost() prices a W stored narrower (wDtype) as its measured line scaled by the fitted roofline with W at wDtype bytes', () => {
  const pts = [...grid(1024, 1024, [1, 2, 4, 8, 16, 32, 64, 128, 256]), ...grid(4096, 4096, [1, 8, 64, 512])];
  const cost = measuredMatmulCost(pts);
  const fit = fitRoofline(pts);
  for (const p of pts) {
    // wDtype equal to the measured dtype is the measured point itself.
    assert.equal(cost.matmulSeconds({ ...p, wDtype: 'fp32' }), cost.matmulSeconds(p));
    // Closed form of the scaling: measured × roofline(W at 1 byte) / roofline(W at 4 bytes).
    const narrow = cost.matmulSeconds({ ...p, wDtype: 'fp8' });
    const expected = (p.seconds * fittedRooflineSeconds(fit, { ...p, wDtype: 'fp8' })) / fittedRooflineSeconds(fit, p);
    assert.ok(Math.abs(narrow / expected - 1) < 1e-12, `m ${p.m} k ${p.k}: ${narrow} vs ${expected}`);
    assert.ok(narrow <= p.seconds);
  }
  // A one-row product is memory-bound on this machine (truth above): a 4× narrower W is clearly faster.
  assert.ok(cost.matmulSeconds({ m: 1, k: 4096, n: 4096, dtype: 'fp32', wDtype: 'fp8' }) < 0.5 * cost.matmulSeconds({ m: 1, k: 4096, n: 4096, dtype: 'fp32' }));
  assert.throws(() => cost.matmulSeconds({ m: 1, k: 4096, n: 4096, dtype: 'fp32', wDtype: 'fp7' as 'fp8' }), (e: unknown) => e instanceof InputError && e.field === 'shape.wDtype');
});
