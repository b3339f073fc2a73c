import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deepseekDayReproduction } from '../../lib/deployment/deepseek.js';
import { specBoundStepModel } from '../../lib/deployment/perf.js';
import { deepseekPublishedDay } from '../../lib/deployment/published.js';
import { predictPublishedCase, publishedCases } from '../../lib/roofline/published.js';

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
  const decode = byName['decode output tokens/s per node (at the published per-user speed)'];
  const capacity = byName['decode capacity: output tokens/s per node at the profiling batch'];
  const cost = byName['daily cost'];
  assert.equal(prefill.published, 73700);
  assert.equal(decode.published, 14800);
  assert.equal(cost.published, 87072);
  // DeepSeek publishes the margin in percent (545 %), and the row carries it so.
  const margin = byName['cost-profit margin at R1 prices'];
  assert.equal(margin.unit, '%');
  assert.equal(Math.round(margin.published), 545);
  for (const row of r.rows) {
    assert.ok(Number.isFinite(row.predicted) && row.predicted > 0, row.figure);
    assert.equal(row.ratio, row.predicted / row.published);
    assert.equal(row.within25, Math.abs(row.ratio - 1) <= 0.25);
    assert.ok(row.bound !== undefined && row.bound > 0);
  }
  // Issue target: the per-node prefill and decode figures and the daily cost within ±25 % of the published day.
  for (const row of [prefill, decode, cost]) assert.ok(row.within25, `${row.figure}: ${row.ratio.toFixed(3)}×`);
  // The bound runs every kernel at peak: at least the calibrated throughput, at most its cost.
  assert.ok(prefill.bound! >= prefill.predicted);
  assert.ok(decode.bound! >= decode.predicted);
  // Decode at the published per-user speed (overview: 20-22 tok/s) runs fewer sequences than the profiling batch, so below capacity.
  assert.ok(r.decode.tokensPerSecondPerUser >= 21 && r.decode.sequencesPerRank < r.decodeCapacity.sequencesPerRank);
  assert.ok(decode.predicted < capacity.predicted);
  // Utilisation: published over predicted capacity; and DeepSeek's own day over its profile (LMSYS: 32,206 of 62,713 prefill, 14,800 of 18,598 decode).
  assert.ok(Math.abs(r.utilisation.profile.prefill - (73700 * (1 - 0.563)) / 62713) < 1e-12);
  assert.ok(Math.abs(r.utilisation.profile.decode - 14800 / 18598) < 1e-12);
  assert.ok(Math.abs(r.utilisation.decode - 14800 / capacity.predicted) < 1e-12);
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

test("the deployment layer and the published-case table price DeepSeek's day identically (one file of facts, one configuration)", () => {
  const r = deepseekDayReproduction({ bound: false });
  const byId = Object.fromEntries(publishedCases().map((c) => [c.id, predictPublishedCase(c)]));
  const rel = (a: number, b: number): number => Math.abs(a - b) / b;
  assert.ok(rel(r.prefill.inputTokensPerSecondPerDevice * 8, byId['deepseek-prefill'].predicted) < 1e-9);
  assert.ok(rel(r.decode.tokensPerSecondPerDevice * 8, byId['deepseek-decode'].predicted) < 1e-9);
  assert.equal(r.decode.sequencesPerRank, byId['deepseek-decode'].sequencesPerDevice);
  // Both read the published figure from the same file.
  assert.equal(byId['deepseek-prefill'].published, r.published.figures.prefillTokensPerNodePerSecond);
  assert.equal(byId['deepseek-decode'].published, r.published.figures.decodeTokensPerNodePerSecond);
});

test("deepseekDayReproduction() states EPLB as the published deepseek-* cases do (expertRouting 'eplb' over the day's 32 redundant experts): each pool's factor is the placement model's at its own step, and under kernel tables the routed experts are read as EPLB's", async () => {
  const { uniformRoutingLoadFactor } = await import('../../lib/roofline/routing.js');
  const { kernelTableStepModel } = await import('../../lib/deployment/perf.js');
  const { loadModel } = await import('../../lib/models/spec.js');
  const pub = deepseekPublishedDay();
  const ds = loadModel(pub.model);
  const r = deepseekDayReproduction({ bound: false });
  // data/published/deepseek-2025-inference-system.json: 32 redundant routed experts in each pool.
  assert.equal(pub.prefill.redundantExperts, 32);
  assert.equal(pub.decode.redundantExperts, 32);
  // Prefill: the day's tokens per GPU on each of the pool's ranks; decode: the served sequences, each verifying 1 + 1 MTP draft.
  const at = (layout: typeof pub.prefill, tokens: number): number => uniformRoutingLoadFactor(ds, { expertParallel: layout.expertParallel, redundantExperts: layout.redundantExperts }, tokens, 1, 5);
  assert.equal(r.expertLoadFactor.prefill, at(pub.prefill, pub.workload.prefillTokensPerGpu * pub.prefill.dataParallelAttention));
  assert.equal(r.expertLoadFactor.decode, at(pub.decode, r.decode.sequencesPerRank * 2 * pub.decode.dataParallelAttention));
  assert.ok(r.expertLoadFactor.prefill > 1 && r.expertLoadFactor.decode > r.expertLoadFactor.prefill, JSON.stringify(r.expertLoadFactor));
  // Under SGLang's tables the day's routed experts say EPLB, not the power-law rows of an unbalanced deployment.
  const tables = deepseekDayReproduction({ stepModel: kernelTableStepModel({ framework: 'sglang' }), bound: false });
  assert.equal(tables.expertLoadFactor.prefill, r.expertLoadFactor.prefill);
  const make = kernelTableStepModel({ framework: 'sglang' });
  const { loadHardware } = await import('../../lib/hardware/spec.js');
  const step = make(ds, loadHardware(pub.hardware), pub.prefill, pub.precision, 'prefill', { expertRouting: 'eplb' }).step({ prefillTokens: pub.workload.prefillTokensPerGpu, decodeSequences: 0, decodeContext: 0 });
  const routed = (step.kernels ?? []).filter((k) => k.op === 'routed-expert' || /moe/.test(k.op));
  assert.ok(routed.length > 0 && routed.every((k) => /EPLB/.test(k.from)), JSON.stringify(routed));
});
