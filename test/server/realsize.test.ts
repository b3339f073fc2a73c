import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEngineVsLocal, measureEngineVsLocal } from '../../lib/server/realsize.js';
import { InputError } from '../../lib/util/errors.js';

test('measureEngineVsLocal(): each batch measured beside a calibrated prediction that reads every weight; memory against weights + KV + 2 GiB', async () => {
  // Llama-3.2-1B at 1/8 width, 1/8 depth, 1/64 vocab: a model of a few million parameters.
  const r = await measureEngineVsLocal({ scale: { width: 0.125, depth: 0.125, vocab: 1 / 64 }, batches: [1, 4], rounds: 2, prompt: 4 });
  assert.deepEqual(r.rows.map((x) => x.batch), [1, 4]);
  for (const x of r.rows) {
    assert.ok(x.measuredStepSeconds > 0 && Number.isFinite(x.measuredStepSeconds));
    assert.equal(x.measuredTokensPerSecond, x.batch / x.measuredStepSeconds);
    // The median round lies between the slowest and the fastest.
    assert.ok(x.measuredTokensPerSecondRange[0] <= x.measuredTokensPerSecond && x.measuredTokensPerSecond <= x.measuredTokensPerSecondRange[1], String(x.measuredTokensPerSecondRange));
    assert.ok(Math.abs(x.error - (x.predictedTokensPerSecond / x.measuredTokensPerSecond - 1)) < 1e-12);
    // This machine's bandwidth is measured: the prediction is calibrated by measurement, and a step reads every
    // float32 weight at least once at that bandwidth.
    assert.equal(x.calibration, 'calibrated');
    assert.ok(x.predictedStepSeconds >= (r.parameters * 4) / r.machine.bytesPerSecond - 1e-12);
    assert.ok(r.machine.flopsPerSecond[x.batch] > 0);
  }
  assert.equal(r.memory.weightBytes, r.parameters * 4);
  assert.equal(r.memory.budgetBytes, r.memory.weightBytes + r.memory.kvBytes + 2 * 2 ** 30);
  assert.ok(r.memory.peakRssBytes > 0);
  assert.equal(r.batchCost.measured, r.rows[1].measuredStepSeconds / r.rows[0].measuredStepSeconds);
  const text = describeEngineVsLocal(r);
  assert.ok(text.includes(r.model) && text.includes(r.rows[0].measuredTokensPerSecond.toFixed(2)));
  // A measured speed is quoted with the spread of its rounds.
  const [lo, hi] = r.rows[0].measuredTokensPerSecondRange;
  assert.ok(lo <= r.rows[0].measuredTokensPerSecond && r.rows[0].measuredTokensPerSecond <= hi);
  assert.ok(text.includes(`slowest–fastest round ${lo.toFixed(2)}–${hi.toFixed(2)}`), text);
  await assert.rejects(() => measureEngineVsLocal({ batches: [0] }), (e: unknown) => e instanceof InputError && e.field === 'batches[0]');
});
