import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeMachineRoofline, probeMachineRooflines } from '../../lib/gemm/index.js';
import { thisMachineHardware } from '../../lib/hardware/index.js';
import { InputError } from '../../lib/util/errors.js';

test('probeMachineRoofline() measures a positive fp32 peak, bandwidth and overhead, labelled as a quick probe', async () => {
  const fit = await probeMachineRoofline({ size: 128, gemvSize: 256, reps: 3 });
  assert.equal(fit.dtype, 'fp32');
  for (const v of [fit.peakFlopsPerSecond, fit.bytesPerSecond]) assert.ok(Number.isFinite(v) && v > 0);
  assert.ok(fit.overheadSeconds >= 0 && fit.overheadSeconds < 1);
  // No CPU or GPU reaches 1e16 FLOP/s or 1e14 B/s: a larger number would be a timing bug.
  assert.ok(fit.peakFlopsPerSecond < 1e16 && fit.bytesPerSecond < 1e14);
  assert.match(fit.label, /^quick probe \(128³ matmul, 256² GEMV\) on /);
  const hw = thisMachineHardware(fit);
  assert.equal(hw.peakFlops.fp32, fit.peakFlopsPerSecond);
});

test('probeMachineRoofline() rejects sizes outside its range before touching the backend', async () => {
  await assert.rejects(probeMachineRoofline({ size: 0 }), (e: unknown) => e instanceof InputError && /size/.test(e.message));
  await assert.rejects(probeMachineRoofline({ gemvSize: 1e6 }), /gemvSize/);
  await assert.rejects(probeMachineRoofline({ reps: 1.5 }), /reps/);
});

test('probeMachineRooflines({ repeats }) runs the whole probe that many times: one labelled, positive fit per repetition', async () => {
  const fits = await probeMachineRooflines({ size: 64, gemvSize: 128, reps: 2, repeats: 3 });
  assert.equal(fits.length, 3);
  fits.forEach((f, i) => {
    assert.match(f.label, new RegExp(`^quick probe \\(64³ matmul, 128² GEMV\\) on .*, probe ${i + 1} of 3$`));
    for (const v of [f.peakFlopsPerSecond, f.bytesPerSecond]) assert.ok(Number.isFinite(v) && v > 0);
  });
  // Repetitions are timed separately: the three fits are three objects, not one copied.
  assert.equal(new Set(fits).size, 3);
  await assert.rejects(probeMachineRooflines({ repeats: 0 }), (e: unknown) => e instanceof InputError && e.field === 'repeats');
  await assert.rejects(probeMachineRooflines({ repeats: 2, size: 0 }), (e: unknown) => e instanceof InputError && e.field === 'size');
});
