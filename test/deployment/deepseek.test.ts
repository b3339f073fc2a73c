import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deepseekDayReproduction } from '../../lib/deployment/deepseek.js';
import { specBoundStepModel } from '../../lib/deployment/perf.js';
import { deepseekPublishedDay } from '../../lib/deployment/published.js';

test("deepseekPublishedDay(): every figure carries a source, and the overview's own numbers agree with each other", () => {
  const d = deepseekPublishedDay();
  for (const [k, v] of Object.entries(d.sources)) assert.ok(v.source.length > 15, k);
  const f = d.figures;
  // 342 B / 608 B = 56.25 %, published as 56.3 %.
  assert.ok(Math.abs(f.cachedInputTokens / f.inputTokens - f.cacheHitFraction) < 5e-4);
  // 278 peak ≥ 226.75 average nodes.
  assert.ok(f.peakNodes >= f.averageNodes);
  assert.equal(d.prefill.expertParallel, 32);
  assert.equal(d.decode.expertParallel, 144);
});

test('deepseekDayReproduction(): published arithmetic exact; predictions side by side with their ratio and the datasheet bound', () => {
  const r = deepseekDayReproduction();
  assert.equal(r.arithmetic.dailyCostUsd, 87072);
  assert.equal(Math.round(r.arithmetic.margin * 100), 545);
  const byName = Object.fromEntries(r.rows.map((x) => [x.figure, x]));
  const prefill = byName['prefill input tokens/s per node (cache hits counted)'];
  const decode = byName['decode output tokens/s per node'];
  const cost = byName['daily cost'];
  assert.equal(prefill.published, 73700);
  assert.equal(decode.published, 14800);
  assert.equal(cost.published, 87072);
  for (const row of r.rows) {
    assert.ok(Number.isFinite(row.predicted) && row.predicted > 0, row.figure);
    assert.equal(row.ratio, row.predicted / row.published);
    assert.equal(row.within25, Math.abs(row.ratio - 1) <= 0.25);
    assert.ok(row.bound !== undefined && row.bound > 0);
  }
  // The bound runs every kernel at peak: at least the calibrated throughput, at most its cost.
  assert.ok(prefill.bound! >= prefill.predicted);
  assert.ok(decode.bound! >= decode.predicted);
  assert.ok(cost.bound! <= cost.predicted);
  // The day's cost is the predicted nodes at $2 per GPU-hour.
  assert.ok(Math.abs(cost.predicted - r.day.averageNodes * 8 * 2 * 24) < 1e-6);
  // Both pools fit in 80 GB per H800.
  assert.ok(r.decode.memory.fits);
  // The reproduction is deterministic.
  assert.deepEqual(deepseekDayReproduction().rows, r.rows);
  // Printed side by side (the report quotes these).
  for (const row of r.rows) console.log(`${row.figure}: published ${row.published}, predicted ${row.predicted.toFixed(1)} (${row.ratio.toFixed(2)}×), bound ${row.bound!.toFixed(1)}`);
});

test('deepseekDayReproduction({ stepModel }) swaps the per-device model without touching the cost arithmetic', () => {
  const a = deepseekDayReproduction({ stepModel: specBoundStepModel, bound: false });
  const b = deepseekDayReproduction();
  assert.deepEqual(a.arithmetic, b.arithmetic);
  assert.deepEqual(a.rows.map((r) => r.predicted), b.rows.map((r) => r.bound));
});
