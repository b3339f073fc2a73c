import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as aq from 'arquero';
import {
  servingSweepPoints,
  runServingSweepPoint,
  servingSweep,
  servingFrontier,
  affineStepCost,
  type ServingSweepGrid,
} from '../../lib/batching/index.js';
import { servingFrontierChart, windowCatchChart, servingBatchSizeChart } from '../../lib/plot/batching.js';
import { InputError } from '../../lib/util/errors.js';

const grid: ServingSweepGrid = {
  base: {
    arrivals: { kind: 'poisson', ratePerSecond: 20 },
    requests: 1500,
    promptTokens: { kind: 'uniform', min: 64, max: 512 },
    outputTokens: { kind: 'uniform', min: 8, max: 128 },
    stepCost: affineStepCost({ fixedSeconds: 0.01, perPrefillToken: 1e-5, perDecodeToken: 1e-4 }),
  },
  policies: ['static', 'continuous', 'chunked'],
  maxBatches: [4, 32],
  windowsMs: [5, 50, 200],
  tokenBudgets: [16, 512],
  ratesPerSecond: [5, 20],
};

test('servingSweepPoints multiplies only the axes that apply to each policy', () => {
  const points = servingSweepPoints(grid);
  // Per rate: window 2 batches × 3 windows = 6; continuous 2; chunked: budget 16 fits batch 4
  // only, budget 512 fits both = 3. Total (6 + 2 + 3) × 2 rates = 22.
  assert.equal(points.length, 22);
  assert.equal(points.filter((p) => p.policy.kind === 'chunked' && p.policy.tokenBudget < p.policy.maxBatch).length, 0);
  assert.deepEqual(
    [...new Set(points.map((p) => (p.arrivals as { ratePerSecond: number }).ratePerSecond))],
    [5, 20],
  );
});

test('runServingSweepPoint is addressable by index and agrees with servingSweep row for row', () => {
  const table = servingSweep(grid, 7);
  const rows = table.objects() as Array<Record<string, unknown>>;
  assert.equal(rows.length, 22);
  for (const i of [0, 9, 21]) assert.deepEqual(runServingSweepPoint(grid, i, 7), rows[i]);
  // Provenance on every row: seed, cost label and the config description.
  assert.ok(rows.every((r) => r.seed === 7 && String(r.cost).startsWith('affine') && String(r.config).length > 0));
  assert.throws(() => runServingSweepPoint(grid, 22, 7), (e: unknown) => e instanceof InputError && e.field === 'index');
});

test('servingSweep: waiting for a longer window never lowers p50 wait at a fixed batch limit and light load', () => {
  const rows = servingSweep({ ...grid, policies: ['static'], maxBatches: [32], ratesPerSecond: [5] }, 3).objects() as Array<{ windowMs: number; waitP50: number }>;
  rows.sort((a, b) => a.windowMs - b.windowMs);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].waitP50 > rows[i - 1].waitP50, JSON.stringify(rows));
});

test('servingFrontier keeps exactly the non-dominated rows, per group', () => {
  const table = servingSweep(grid, 7);
  const front = servingFrontier(table, { latency: 'e2eP99', throughput: 'throughputTokS', groupBy: 'policy' });
  const all = table.objects() as Array<{ index: number; policy: string; e2eP99: number; throughputTokS: number }>;
  const kept = new Set((front.objects() as Array<{ index: number }>).map((r) => r.index));
  for (const r of all) {
    const dominated = all.some(
      (o) => o.policy === r.policy && o !== r && o.throughputTokS >= r.throughputTokS && o.e2eP99 <= r.e2eP99 && (o.throughputTokS > r.throughputTokS || o.e2eP99 < r.e2eP99),
    );
    assert.equal(kept.has(r.index), !dominated, `row ${r.index}`);
  }
  assert.throws(() => servingFrontier(table, { latency: 'nope' }), (e: unknown) => e instanceof InputError && e.field === 'latency');
});

test('servingSweepPoints rejects empty axes, rates on a trace and bad values, naming the field', () => {
  const cases: Array<[string, Partial<ServingSweepGrid>]> = [
    ['policies', { policies: [] }],
    ['policies[0]', { policies: ['nope' as never] }],
    ['maxBatches[1]', { maxBatches: [4, 0] }],
    ['windowsMs[0]', { windowsMs: [NaN] }],
    ['windowsMs', { windowsMs: undefined }],
    ['ratesPerSecond[0]', { ratesPerSecond: [-1] }],
  ];
  for (const [field, patch] of cases) {
    assert.throws(() => servingSweepPoints({ ...grid, ...patch }), (e: unknown) => e instanceof InputError && e.field === field, field);
  }
});

test('servingFrontierChart draws one faint trace per group and one frontier line per group, latency in seconds', () => {
  const table = servingSweep({ ...grid, ratesPerSecond: [20] }, 1);
  const front = servingFrontier(table, { groupBy: 'policy' });
  const fig = servingFrontierChart(table, front, { groupBy: 'policy' });
  assert.equal(fig.data.length, 7); // 3 policies × (points, frontier), and the pale points' one legend key
  assert.equal(fig.data.filter((d) => d.showlegend !== false && /every setting swept/.test(String(d.name))).length, 1);
  const line = fig.data.find((d) => d.name === 'continuous')!;
  const firstFront = (front.objects() as Array<{ policy: string; e2eP99: number }>).find((r) => r.policy === 'continuous')!;
  assert.equal((line.x as number[])[0], firstFront.e2eP99);
  assert.equal((fig.layout.xaxis as { type: string }).type, 'log');
});

test('windowCatchChart pairs each window with its λ·W reference; servingBatchSizeChart normalises histograms', () => {
  const rows = aq.from([
    { windowMs: 5, ratePerSecond: 2000, meanAdmitted: 10.1 },
    { windowMs: 5, ratePerSecond: 200, meanAdmitted: 1.6 },
    { windowMs: 200, ratePerSecond: 2000, meanAdmitted: 399 },
  ]);
  const fig = windowCatchChart(rows);
  assert.equal(fig.data.length, 4);
  assert.deepEqual(fig.data[0].x, [200, 2000]); // sorted by rate
  assert.deepEqual(fig.data[1].y, [1, 10]); // λ·W = 200 × 0.005, 2000 × 0.005
  const h = servingBatchSizeChart({ a: Uint32Array.from([0, 1, 3]) });
  assert.deepEqual(h.data[0].y, [0.25, 0.75]);
  assert.throws(() => servingBatchSizeChart({}), InputError);
});
