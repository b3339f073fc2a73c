import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel } from '../../lib/models/index.js';
import { decodeOpRoofline, decodeThroughputCurve, publishedComparisons } from '../../lib/roofline/index.js';
import { rooflineChart, rooflineOpTimeChart, rooflineThroughputChart, rooflineCriticalBatchChart, publishedComparisonChart, stepBreakdownChart } from '../../lib/plot/roofline.js';
import { InputError } from '../../lib/util/errors.js';

const h100 = loadHardware('h100-sxm');
const rows = decodeOpRoofline(loadModel('llama-3.1-70b'), h100, { dtype: 'bf16', batch: 32, context: 1024 });

test('rooflineChart(): one ceiling per series bending at peak/bandwidth, one marker per operation with FLOPs', () => {
  const fig = rooflineChart([
    { label: 'H100 bf16', hw: h100, dtype: 'bf16', rows },
    { label: 'H200 bf16', hw: loadHardware('h200'), dtype: 'bf16', rows },
  ]);
  assert.equal(fig.data.length, 4);
  const ceiling = fig.data[0] as { x: number[]; y: number[] };
  // H100 SXM datasheet: ridge = 989.5e12 / 3.35e12 FLOP/byte, flat at the dense bf16 peak after it.
  assert.equal(ceiling.x[1], 989.5e12 / 3.35e12);
  assert.deepEqual(ceiling.y.slice(1), [989.5e12, 989.5e12]);
  assert.ok(Math.abs(ceiling.y[0] / ceiling.x[0] - 3.35e12) < 1);
  const markers = fig.data[1] as { x: number[]; y: number[] };
  assert.equal(markers.x.length, rows.filter((r) => r.flops > 0).length);
  // Every operation sits on or under its ceiling.
  markers.x.forEach((x, i) => assert.ok(markers.y[i] <= Math.min(989.5e12, x * 3.35e12) * (1 + 1e-9)));
  assert.equal((fig.layout.xaxis as { type: string }).type, 'log');
  assert.throws(() => rooflineChart([]), InputError);
});

test('rooflineOpTimeChart(): bars split by binding limit, summing to the step time', () => {
  const fig = rooflineOpTimeChart(rows);
  const total = fig.data.flatMap((d) => d.x as number[]).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - rows.reduce((s, r) => s + r.seconds * 1e3, 0)) < 1e-9);
  assert.deepEqual(fig.data.map((d) => d.name), ['memory-bound', 'compute-bound']);
  assert.throws(() => rooflineOpTimeChart([]), InputError);
});

test('rooflineThroughputChart() and rooflineCriticalBatchChart() carry their points; infinite batches are left out', () => {
  const pts = decodeThroughputCurve(loadModel('llama-3.1-8b'), h100, { dtype: 'bf16', context: 0, batches: [1, 16, 256] });
  const fig = rooflineThroughputChart([{ label: 'Llama-3.1-8B', points: pts }]);
  assert.deepEqual(fig.data[0].x, [1, 16, 256]);
  assert.deepEqual(fig.data[0].y, pts.map((p) => p.tokensPerSecond));
  const cb = rooflineCriticalBatchChart([
    { series: 'bf16', hardware: 'H100', criticalBatch: 311 },
    { series: 'fp8', hardware: 'H100', criticalBatch: 311 },
    { series: 'bf16', hardware: 'H200', criticalBatch: Infinity },
  ]);
  assert.equal(cb.data.length, 2);
  assert.deepEqual(cb.data[0].y, [311]);
  // Regression: equal neighbouring bars printed their upright labels as one ("64006400").
  assert.ok(cb.data.every((d) => d.textangle === -90));
  assert.throws(() => rooflineCriticalBatchChart([]), InputError);
});

test('publishedComparisonChart(): a published and a predicted bar per case, the predicted one labelled with its error', () => {
  const comparisons = publishedComparisons();
  const fig = publishedComparisonChart(comparisons);
  const [pub, pred] = fig.data as Array<{ x: string[]; y: number[]; text?: string[] }>;
  assert.deepEqual(pub.x, comparisons.map((c) => c.id));
  assert.deepEqual(pub.y, comparisons.map((c) => c.published));
  assert.deepEqual(pred.y, comparisons.map((c) => c.predicted));
  // The label is the rounded percent error, predicted / published − 1.
  assert.equal(pred.text?.[0], `${comparisons[0].error >= 0 ? '+' : ''}${(comparisons[0].error * 100).toFixed(0)} %`);
  assert.throws(() => publishedComparisonChart([]), InputError);
});

test('stepBreakdownChart(): the parts of each step stack to 100 % of its interval', () => {
  const steps = publishedComparisons().map((c) => ({ label: c.id, step: c.step }));
  const fig = stepBreakdownChart(steps);
  const data = fig.data as Array<{ y: number[]; name: string }>;
  assert.deepEqual(data.map((d) => d.name), ['GEMMs', 'attention', 'auxiliary kernels', 'launches', 'exposed communication']);
  // gemm + attention + auxiliary + launch = compute; compute + exposed + pipeline = the stage interval.
  steps.forEach((_, i) => assert.ok(Math.abs(data.reduce((s, d) => s + d.y[i], 0) - 100) < 1e-9));
  assert.throws(() => stepBreakdownChart([]), InputError);
});
