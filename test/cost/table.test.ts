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

test('measuredMatmulCost() interpolates in log M between neighbours and follows the roofline beyond the table', () => {
  const pts = grid(1024, 1024, [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  const cost = measuredMatmulCost(pts);
  // Between measured M the bump is followed to within 10 % (the roofline alone misses it by up to 30 %); the
  // worst points straddle the knee (M ≈ 20 here), where the truth bends between two measured M.
  for (const m of [3, 6, 12, 24, 48, 96, 192]) assert.ok(Math.abs(cost.matmulSeconds({ m, k: 1024, n: 1024, dtype: 'fp32' }) / truth(m, 1024, 1024) - 1) < 0.1, `m ${m}`);
  // Beyond the table: the fitted roofline times the last measured ratio to it.
  const fit = fitRoofline(pts);
  const last = pts[pts.length - 1];
  const ratio = last.seconds / fittedRooflineSeconds(fit, last);
  const q = { m: 4096, k: 1024, n: 1024, dtype: 'fp32' as const };
  assert.ok(Math.abs(cost.matmulSeconds(q) / (fittedRooflineSeconds(fit, q) * ratio) - 1) < 1e-12);
  assert.throws(() => cost.matmulSeconds({ m: 1, k: 1024, n: 1024, dtype: 'bf16' }), InputError);
  assert.throws(() => measuredMatmulCost([{ m: 1, k: 1, n: 1, dtype: 'fp32', seconds: -1 }]), /points\[0\]\.seconds/);
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
