import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { median } from 'simple-statistics';
import { publishedCases, predictPublishedCase, calibratedMatmulCost } from '../../lib/roofline/index.js';
import { loadHardware } from '../../lib/hardware/index.js';

test('predictPublishedCase(): every published serving throughput beside its prediction (printed), none off by more than 2×', () => {
  const cases = publishedCases();
  // data/published: 3 LMSYS prefill + 1 LMSYS decode + 2 DeepSeek production cases.
  assert.ok(cases.length >= 6);
  const rows = cases.map((c) => {
    assert.ok(c.source.length > 20 && c.published.value > 0, c.id);
    const p = predictPublishedCase(c);
    return { case: c.id, published: p.published, predicted: Math.round(p.predicted), 'error %': +(p.error * 100).toFixed(1), bound: p.step.bound };
  });
  console.table(rows);
  const within = rows.filter((r) => Math.abs(r['error %']) <= 25).length;
  console.log(`${within} of ${rows.length} published cases within ±25 %`);
  // A calibrated model that misses a real system by 2× or more has lost a term or a unit.
  for (const r of rows) assert.ok(Math.abs(Math.log(r.predicted / r.published)) < Math.log(2), `${r.case}: ${r['error %']} %`);
});

test('calibratedMatmulCost(h800, fp8) reproduces DeepGEMM\'s published H800 kernel times: median error ≤ 15 % (printed per shape)', () => {
  const j = JSON.parse(readFileSync(new URL('../../data/published/deepgemm-h800-fp8.json', import.meta.url), 'utf8'));
  const cost = calibratedMatmulCost(loadHardware('h800'), 'fp8');
  const errs = (j.gemms as Array<{ layout: string; groups: number; m: number; n: number; k: number; tflops: number }>).map((g) => {
    const measured = (2 * g.groups * g.m * g.n * g.k) / (g.tflops * 1e12);
    return cost.matmulSeconds({ m: g.m, k: g.k, n: g.n, batch: g.groups, dtype: 'fp8' }) / measured - 1;
  });
  const abs = errs.map(Math.abs);
  console.log(`DeepGEMM H800 FP8, ${errs.length} shapes: median |error| ${(median(abs) * 100).toFixed(1)} %, max ${(Math.max(...abs) * 100).toFixed(1)} %`);
  assert.ok(median(abs) <= 0.15);
  assert.ok(Math.max(...abs) < 0.6);
});
