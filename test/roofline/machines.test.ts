import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHardware, thisMachineHardware } from '../../lib/hardware/index.js';
import { loadModel } from '../../lib/models/index.js';
import {
  hardwareRooflines,
  decodeOpRooflines,
  criticalBatchRatios,
  criticalBatchGrid,
  decodeOpRoofline,
  ridgeIntensity,
} from '../../lib/roofline/index.js';
import { InputError } from '../../lib/util/errors.js';

test('hardwareRooflines(machines) gives each device\'s datasheet peak, bandwidth and ridge at its dtype, in order', () => {
  const here = thisMachineHardware({ overheadSeconds: 0, peakFlopsPerSecond: 2e11, bytesPerSecond: 2e10, dtype: 'fp32', label: 'test' }, { memoryCapacityBytes: 64e9 });
  const rows = hardwareRooflines([{ hw: 'h100-sxm', dtype: 'bf16' }, { hw: loadHardware('h200'), dtype: 'fp8' }, { hw: here, dtype: 'fp32' }]);
  assert.deepEqual(rows.map((r) => r.hardware), ['h100-sxm', 'h200', here.id]);
  // NVIDIA H100 datasheet (SXM): 989.5 TFLOP/s dense bf16, 3.35 TB/s; H200: 1,979 TFLOP/s dense fp8, 4.8 TB/s.
  assert.equal(rows[0].peakFlopsPerSecond, 989.5e12);
  assert.equal(rows[0].bytesPerSecond, 3.35e12);
  assert.equal(rows[0].ridgeIntensity, 989.5e12 / 3.35e12);
  assert.equal(rows[1].ridgeIntensity, 1979e12 / 4.8e12);
  assert.equal(rows[0].label, `${loadHardware('h100-sxm').name} bf16`);
  assert.match(rows[0].peakSource, /H100 .*datasheet/);
  // This machine: the fitted figures passed in.
  assert.equal(rows[2].peakFlopsPerSecond, 2e11);
  assert.equal(rows[2].ridgeIntensity, ridgeIntensity(here, 'fp32'));
  assert.equal(rows[2].peakSource, 'measured');
});

test('hardwareRooflines() rejects an empty list, an unknown id and a dtype the device has no peak for', () => {
  assert.throws(() => hardwareRooflines([]), (e: unknown) => e instanceof InputError && e.field === 'machines');
  assert.throws(() => hardwareRooflines([{ hw: 'no-such-gpu', dtype: 'bf16' }]), InputError);
  // The A100 datasheet has no FP8 peak.
  assert.throws(() => hardwareRooflines([{ hw: 'a100-80gb', dtype: 'fp8' }]), InputError);
  assert.throws(() => hardwareRooflines([{ hw: 'h100-sxm', dtype: 'fp7' as never }]), (e: unknown) => e instanceof InputError && e.field === 'machines[0].dtype');
});

test('decodeOpRooflines(model, machines, opts) is decodeOpRoofline on each device at its dtype, labelled "<name> (<dtype>)"', () => {
  const llama = loadModel('llama-3.1-70b');
  const opts = { batch: 64, context: 4096 };
  const series = decodeOpRooflines(llama, [{ hw: 'h100-sxm', dtype: 'bf16' }, { hw: 'h200', dtype: 'fp8' }], opts);
  assert.equal(series.length, 2);
  assert.deepEqual(series[1].rows, decodeOpRoofline(llama, loadHardware('h200'), { dtype: 'fp8', ...opts }));
  assert.equal(series[0].label, `${loadHardware('h100-sxm').name} (bf16)`);
  assert.equal(series[1].dtype, 'fp8');
  assert.throws(() => decodeOpRooflines(llama, [{ hw: 'h100-sxm', dtype: 'bf16' }], { batch: 0, context: 4096 }), InputError);
});

test('criticalBatchRatios(points, { model, over }) divides the two models\' critical batches on each shared device and dtype', () => {
  const llama = loadModel('llama-3.1-70b');
  const ds = loadModel('deepseek-v3');
  const grid = criticalBatchGrid([llama, ds], [loadHardware('h100-sxm'), loadHardware('a100-80gb')], ['bf16', 'fp8']);
  const r = criticalBatchRatios(grid, { model: ds.id, over: llama.id });
  // The A100 has no fp8 peak: three (hardware, dtype) pairs.
  assert.deepEqual(r.rows.map((x) => `${x.hardware} ${x.dtype}`), ['h100-sxm bf16', 'h100-sxm fp8', 'a100-80gb bf16']);
  const at = (m: string, h: string, d: string) => grid.find((p) => p.model === m && p.hardware === h && p.dtype === d)!.criticalBatch;
  assert.equal(r.rows[2].ratio, at(ds.id, 'a100-80gb', 'bf16') / at(llama.id, 'a100-80gb', 'bf16'));
  assert.equal(r.min, Math.min(...r.rows.map((x) => x.ratio)));
  assert.equal(r.max, Math.max(...r.rows.map((x) => x.ratio)));
  // Non-finite critical batches are left out rather than turned into 0 or Infinity ratios.
  const withInf = [...grid, { series: 'x', model: ds.id, dtype: 'fp32' as const, hardware: 'h100-sxm', criticalBatch: Infinity },
    { series: 'y', model: llama.id, dtype: 'fp32' as const, hardware: 'h100-sxm', criticalBatch: 40 }];
  assert.equal(criticalBatchRatios(withInf, { model: ds.id, over: llama.id }).rows.length, 3);
  assert.throws(() => criticalBatchRatios(grid, { model: ds.id, over: 'no-such-model' }), (e: unknown) => e instanceof InputError && e.field === 'points');
});
