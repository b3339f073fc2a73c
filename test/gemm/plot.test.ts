import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemmLatencyChart, gemmThroughputChart, gemmOneVsManyChart, gemmGroupedExpertsChart } from '../../lib/plot/gemm.js';
import { fittedRooflineCurves, specRooflineCurves } from '../../lib/cost/curves.js';
import { gemmTestRow as row, gemmTestRows as rows } from './rows.js';
import { InputError } from '../../lib/util/errors.js';

test('gemmLatencyChart: one log-log series per backend and dtype, sorted by M, p10–p90 as error bars in ms', () => {
  const f = gemmLatencyChart(rows);
  assert.equal(f.data.length, 2);
  const s = f.data[0] as { x: number[]; y: number[]; error_y: { array: number[]; arrayminus: number[] } };
  assert.deepEqual(s.x, [1, 2, 4]);
  [1e-2, 1.5e-2, 2e-2].forEach((ms, i) => assert.ok(Math.abs(s.y[i] - ms) < 1e-15));
  // p90 − median = 0.2·median and median − p10 = 0.1·median (row() above).
  assert.ok(Math.abs(s.error_y.array[0] - 0.2 * 1e-2) < 1e-12 && Math.abs(s.error_y.arrayminus[0] - 0.1 * 1e-2) < 1e-12);
  assert.match(String(f.data[1].name), /NVIDIA H200 bf16/);
  assert.equal((f.layout.xaxis as { type: string }).type, 'log');
  assert.throws(() => gemmLatencyChart([]), InputError);
});

test('gemmThroughputChart draws the fitted and spec curves as FLOPs / their seconds: the fit and a ceiling min(peak, bw·intensity)', () => {
  const fit = { overheadSeconds: 1e-5, peakFlopsPerSecond: 1e11, bytesPerSecond: 1e10, dtype: 'fp32' as const, label: 'f' };
  const spec = { label: 'H100 bf16', peakFlopsPerSecond: 989.5e12, bytesPerSecond: 3.35e12, dtype: 'bf16' as const };
  const f = gemmThroughputChart(rows, { curves: [...fittedRooflineCurves(fit, rows), ...specRooflineCurves([spec], rows)] });
  const fitted = f.data.find((d) => String(d.name).startsWith('fitted')) as { x: number[]; y: number[] };
  // M=1, K=N=64: 8192 FLOPs; bytes 4·(64+4096+64) = 16 896 → t = 1e-5 + 1.6896e-6.
  assert.ok(Math.abs(fitted.y[0] - 8192 / (1e-5 + 16_896 / 1e10) / 1e9) < 1e-9);
  const ceiling = f.data.find((d) => String(d.name).startsWith('H100')) as { y: number[] };
  // bf16 M=1: memory-bound, bw · FLOPs/bytes = 3.35e12 · 8192 / (2·4224) GFLOP/s.
  assert.ok(Math.abs(ceiling.y[0] - (3.35e12 * 8192) / 8448 / 1e9) < 1e-6);
});

test('gemmThroughputChart draws model curves computed elsewhere as FLOPs / seconds at their own M', () => {
  const f = gemmThroughputChart(rows, { curves: [{ label: 'measured table', k: 4096, n: 4096, points: [{ m: 2, seconds: 1e-3 }, { m: 8, seconds: 2e-3 }] }] });
  const c = f.data.find((d) => String(d.name).startsWith('measured table')) as { x: number[]; y: number[]; name: string };
  assert.equal(c.name, 'measured table, K=4096 N=4096');
  assert.deepEqual(c.x, [2, 8]);
  // 2·2·4096·4096 FLOPs in 1 ms = 67.1 GFLOP/s.
  assert.ok(Math.abs(c.y[0] - (2 * 2 * 4096 * 4096) / 1e-3 / 1e9) < 1e-9);
});

test('gemmOneVsManyChart plots speed-up against B with the ideal line y = B', () => {
  const f = gemmOneVsManyChart([{ batch: 1, oneSeconds: 1, manySeconds: 1, speedup: 1, speedupLow: 1, speedupHigh: 1 }, { batch: 8, oneSeconds: 1, manySeconds: 6, speedup: 6, speedupLow: 5, speedupHigh: 7 }]);
  assert.deepEqual((f.data[0] as { y: number[] }).y, [1, 6]);
  assert.deepEqual((f.data[1] as { y: number[] }).y, [1, 8]);
  assert.throws(() => gemmOneVsManyChart([]), InputError);
});

test('gemmGroupedExpertsChart groups the three formulations per scenario in ms', () => {
  const summary = { activeExperts: 3, totalTokens: 9, maxTokens: 5, paddingEfficiency: 0.6, batchedSeconds: 0.002, separateSeconds: 0.003, denseSeconds: 0.001, batchedSpeedup: 1.5, expertPenalty: 3 };
  const f = gemmGroupedExpertsChart([{ label: 'a', summary }]);
  assert.deepEqual(f.data.map((d) => (d as { y: number[] }).y[0]), [2, 3, 1]);
  assert.equal((f.data[0] as { text: string[] }).text[0], '60 % rows useful');
  assert.equal(f.layout.barmode, 'group');
});
