import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from './run.js';

test('batchlab roofline says first that a configuration does not fit, with the shortfall (405B on a 24 GB card)', async () => {
  const r = await run(['roofline', '--model', 'llama-3.1-405b', '--hardware', 'rtx-4090']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.match(lines[0], /^does not fit: short by [\d.]+ GB per device/);
  const j = JSON.parse((await run(['--json', 'roofline', '--model', 'llama-3.1-405b', '--hardware', 'rtx-4090'])).out);
  assert.equal(j.memory.fits, false);
  // The RTX 4090 catalog entry holds 24 GB; the bf16 weights alone are 2 bytes × 405 B parameters ≈ 811 GB.
  assert.equal(j.memory.capacityBytes, 24e9);
  assert.ok(j.memory.weightBytes > 800e9 && j.memory.weightBytes < 820e9);
  assert.equal(j.memory.shortfallBytes, j.memory.totalBytes - j.memory.capacityBytes);
  assert.ok(lines[0].startsWith(`does not fit: short by ${(j.memory.shortfallBytes / 1e9).toFixed(1)} GB per device`));
  // A configuration that fits prints no such line: Llama-3.1-8B (16 GB of bf16 weights) on a 141 GB H200.
  const ok = await run(['roofline', '--model', 'llama-3.1-8b', '--hardware', 'h200']);
  assert.doesNotMatch(ok.out, /does not fit/);
  assert.equal(JSON.parse((await run(['--json', 'roofline'])).out).memory.shortfallBytes, 0);
});

test('batchlab roofline: with no finite critical batch it says the step stays memory-bound (it printed "batch Infinity")', async () => {
  const args = ['roofline', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm', '--batch', '64', '--context', '4096'];
  const r = await run(args);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /the step stays memory-bound at every batch at context 4096/);
  assert.doesNotMatch(r.out, /Infinity/);
  const j = JSON.parse((await run(['--json', ...args])).out);
  assert.equal(j.criticalBatch, null);
  assert.match(j.criticalBatchReason, /memory-bound at every batch/);
  // At context 0 only the weights count: a finite batch, and no reason field.
  const w = JSON.parse((await run(['--json', 'roofline', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm'])).out);
  assert.ok(Number.isInteger(w.criticalBatch) && w.criticalBatch > 1);
  assert.equal(w.criticalBatchReason, undefined);
  assert.match((await run(['roofline', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm'])).out, new RegExp(`turns compute-bound at batch ${w.criticalBatch}$`));
});
