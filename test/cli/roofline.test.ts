import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from './run.js';

test('batchlab roofline says first that a configuration does not fit, with the shortfall (405B on a 24 GB card)', async () => {
  const r = await run(['roofline', '--model', 'llama-3.1-405b', '--hardware', 'rtx-4090', '--tp', '1']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.match(lines[0], /^does not fit: short by [\d.]+ GB per device/);
  const j = JSON.parse((await run(['--json', 'roofline', '--model', 'llama-3.1-405b', '--hardware', 'rtx-4090', '--tp', '1'])).out);
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

test('batchlab roofline with no flags bounds the deployment batchlab deploy prices with none (Llama-3.1-70B, TP4 on H100, batch 64, context 2048): deploy --efficiency spec gives its step', async () => {
  const roof = JSON.parse((await run(['--json', 'roofline'])).out);
  const spec = JSON.parse((await run(['--json', 'deploy', '--efficiency', 'spec'])).out);
  assert.equal(roof.model, 'llama-3.1-70b');
  assert.equal(roof.tp, 4);
  assert.ok(Math.abs(roof.stepSeconds - spec.decode.tpotSeconds) <= 1e-9 * spec.decode.tpotSeconds, `${roof.stepSeconds} against ${spec.decode.tpotSeconds}`);
});

test('batchlab roofline: with no finite critical batch it says the step stays memory-bound (it printed "batch Infinity")', async () => {
  const args = ['roofline', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm', '--batch', '64', '--context', '4096'];
  const r = await run(args);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /the step stays memory-bound at every batch searched: at 16,777,216 sequences \(the largest batch searched\) its FLOPs take [\d.]+ % of the time its bytes take: at context 4096 each sequence's KV reads grow with the batch as its FLOPs do/);
  assert.doesNotMatch(r.out, /Infinity/);
  const j = JSON.parse((await run(['--json', ...args])).out);
  assert.equal(j.criticalBatch, null);
  assert.match(j.criticalBatchReason, /memory-bound at every batch/);
  // At context 0 only the weights count: a finite batch, and no reason field.
  const w = JSON.parse((await run(['--json', 'roofline', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm', '--context', '0'])).out);
  assert.ok(Number.isInteger(w.criticalBatch) && w.criticalBatch > 1);
  assert.equal(w.criticalBatchReason, undefined);
  assert.match((await run(['roofline', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm', '--context', '0'])).out, new RegExp(`turns compute-bound at batch ${w.criticalBatch}$`));
  // A critical batch beyond what memory holds says so, with the most that fits (maxBatchThatFits, the one memory fit).
  const far = await run(['--json', 'roofline', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--batch', '64', '--context', '300']);
  const fj = JSON.parse(far.out);
  assert.ok(fj.criticalBatch > fj.maxBatchThatFits && fj.maxBatchThatFits > 64, `${fj.criticalBatch} vs ${fj.maxBatchThatFits}`);
  assert.match((await run(['roofline', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--tp', '1', '--batch', '64', '--context', '300'])).out, new RegExp(`turns compute-bound at batch ${fj.criticalBatch}, beyond memory: at context 300 1 device holds at most ${fj.maxBatchThatFits} sequences, so memory caps the batch first`));
  // At context 0 on a device whose ridge no batch reaches (10^21 FLOP/s over 1 B/s), the reason is the ridge, not KV reads.
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-ridge-'));
  try {
    const hw = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../data/hardware/h100-sxm.json'), 'utf8'));
    hw.id = 'ridge';
    hw.peakFlops.bf16.value = 1e21;
    hw.memoryBytesPerSecond.value = 1;
    delete hw.calibration;
    writeFileSync(join(dir, 'ridge.json'), JSON.stringify(hw));
    const x = JSON.parse((await run(['--json', 'roofline', '--model', 'llama-3.1-8b', '--hardware', join(dir, 'ridge.json'), '--context', '0'])).out);
    assert.equal(x.criticalBatch, null);
    assert.match(x.criticalBatchReason, /its FLOPs take [\d.e-]+ % of the time its bytes take: with no cached tokens the hardware's ridge lies past any batch a step holds/);
    assert.doesNotMatch(x.criticalBatchReason, /KV/);
    // With one cached token the share still levels off, and the reason says why at that context.
    const one = JSON.parse((await run(['--json', 'roofline', '--model', 'llama-3.1-8b', '--hardware', join(dir, 'ridge.json'), '--context', '1'])).out);
    assert.match(one.criticalBatchReason, /at context 1 each sequence's KV reads grow with the batch as its FLOPs do/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab roofline refuses a context past the model\'s own, as deploy and simulate do, and names the figures deploy gives for the device', async () => {
  // Llama-3.1-8B's config.json: max_position_embeddings 131072.
  const long = await run(['roofline', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--context', '1048576']);
  assert.equal(long.code, 2);
  assert.match(long.err, /--context must be small enough that --context \(1,048,576 tokens\) is at most llama-3\.1-8b's context of 131,072 tokens/);
  // MI300X has no calibration (data/hardware/mi300x.json): deploy's figures there are typical ones.
  const amd = await run(['roofline', '--model', 'llama-3.1-8b', '--hardware', 'mi300x']);
  assert.match(amd.out, /`batchlab deploy` gives typical figures .*\(AMD Instinct MI300X 192GB has no calibration\)/);
  const h100 = await run(['roofline', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm']);
  // data/kernels holds h100_sxm/vllm: deploy prices from those tables by default, and from the calibration with --efficiency.
  assert.match(h100.out, /`batchlab deploy` gives figures priced from vllm's measured kernel tables, calibrated figures .*sourced calibration\) with `--efficiency calibrated`/);
});
