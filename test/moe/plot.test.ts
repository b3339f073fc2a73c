import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../lib/util/errors.js';
import { moeRoutingSweep, moeImbalanceSweep, moeEfficiencyCurve } from '../../lib/moe/index.js';
import {
  moeDistinctExpertsChart,
  moeTokensPerExpertChart,
  moeImbalanceChart,
  moeEfficiencyChart,
  moeGroupedBenchChart,
} from '../../lib/plot/moe.js';
import type { MatmulCostModel, MatmulShape } from '../../lib/core/types.js';

const sweep = moeRoutingSweep({
  models: [
    { label: 'A', experts: 8, topK: 2 },
    { label: 'B', experts: 64, topK: 4 },
  ],
  tokens: [1, 10, 100],
  trials: 20,
  seed: 1,
});

test('moeDistinctExpertsChart: a closed-form line and a Monte Carlo series per model, as shares of E', () => {
  const f = moeDistinctExpertsChart(sweep, { markBatches: [10, 100] });
  assert.equal(f.data.length, 4);
  const line = f.data[0] as { x: number[]; y: number[] };
  assert.deepEqual(line.x, [1, 10, 100]);
  assert.ok(Math.abs(line.y[0] - 2 / 8) < 1e-12); // one token reaches k of E experts
  assert.equal((f.layout.shapes as unknown[]).length, 2);
  assert.equal((f.layout.xaxis as { type: string }).type, 'log');
});

test('moeTokensPerExpertChart: per-active, busiest bound and busiest Monte Carlo per model', () => {
  const f = moeTokensPerExpertChart(sweep);
  assert.equal(f.data.length, 6);
  const perActive = f.data[0] as { y: number[] };
  assert.ok(Math.abs(perActive.y[0] - 1) < 1e-12); // B = 1: each of its k experts gets 1 token
});

test('moeImbalanceChart: one series per policy and copy count, x = Zipf exponent', () => {
  const rows = moeImbalanceSweep({ experts: 16, topK: 2, tokens: 64, devices: 4, zipfExponents: [0, 1], redundant: [0, 4], steps: 4, warmupSteps: 2, seed: 1 });
  const f = moeImbalanceChart(rows);
  assert.deepEqual(f.data.map((d) => d.name), ['static placement', 'balanced, no copies', 'balanced, 4 redundant copies']);
  assert.deepEqual((f.data[0] as { x: number[] }).x, [0, 1]);
});

test('moeEfficiencyChart and moeGroupedBenchChart build series from their inputs', () => {
  const cost: MatmulCostModel = { kind: 'roofline', label: 't', matmulSeconds: (s: MatmulShape) => Math.max((2 * s.m * s.k * s.n) / 2e14, (s.k * s.n) / 1e12) };
  const rows = moeEfficiencyCurve({ hiddenSize: 64, experts: 8, topK: 2, expertIntermediate: 32 }, cost, { dtype: 'fp8', tokens: [1, 100], efficiency: 0.5 });
  const f = moeEfficiencyChart([{ label: 'X', rows }], { showShare: true });
  assert.equal(f.data.length, 3);
  const b = moeGroupedBenchChart([{ label: '10 requests', batchedSeconds: 0.004, separateSeconds: 0.003, denseSeconds: 0.001 }]);
  assert.deepEqual(b.data.map((d) => (d as { y: number[] }).y[0]), [4, 3, 1]); // times over the dense time
  assert.deepEqual((b.data[0] as { text: string[] }).text, ['4.00 ms']);
  assert.throws(() => moeGroupedBenchChart([{ label: 'x', batchedSeconds: 1, separateSeconds: 1, denseSeconds: 0 }]), (e: unknown) => e instanceof InputError && e.field === 'runs[0].denseSeconds');
  assert.throws(() => moeDistinctExpertsChart([]), InputError);
});

test('moeEfficiencyChart draws dense curves within 2 points of one another once, naming every model, and keeps apart those that differ', () => {
  const rows = (denseAt100: number) => [
    { tokens: 1, moeEfficiency: 0.01, denseEfficiency: 0.05, expertShareAtTarget: 0 },
    { tokens: 100, moeEfficiency: 0.2, denseEfficiency: denseAt100, expertShareAtTarget: 0 },
  ] as unknown as Parameters<typeof moeEfficiencyChart>[0][number]['rows'];
  const names = (f: ReturnType<typeof moeEfficiencyChart>) => f.data.map((d) => (d as { name: string }).name).filter((n) => n.includes('dense'));
  // 0.60, 0.61 and 0.615: within 0.02 everywhere, one dashed curve (the first's) for the three.
  assert.deepEqual(names(moeEfficiencyChart([{ label: 'A', rows: rows(0.6) }, { label: 'B', rows: rows(0.61) }, { label: 'C', rows: rows(0.615) }])), [
    "A ≈ B ≈ C dense, equal active (within 2 points of one another: A's drawn)",
  ]);
  assert.deepEqual(names(moeEfficiencyChart([{ label: 'A', rows: rows(0.6) }, { label: 'B', rows: rows(0.6) }])), ['A = B dense, equal active (identical curves)']);
  assert.deepEqual(names(moeEfficiencyChart([{ label: 'A', rows: rows(0.6) }, { label: 'B', rows: rows(0.7) }])), ['A dense, equal active', 'B dense, equal active']);
});
