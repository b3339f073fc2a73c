import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disaggregationWhatIf } from '../../lib/attention/index.js';
import { loadModel, modelDisaggregation, disaggregationTable, decodeTraffic, kvBatchLimits, modelDecodePartSeconds } from '../../lib/models/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { rooflineMatmulCost, rooflineStepCost } from '../../lib/roofline/index.js';
import { InputError } from '../../lib/util/errors.js';

const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;
const L = 10;
// Linear parts: α = 3 µs and β = 1 µs per token and layer on one device, split perfectly over devices.
const attentionSeconds = (t: number, d: number): number => (L * 3e-6 * t) / d;
const ffnSeconds = (t: number, d: number): number => (L * 1e-6 * t) / d;
const base = { layers: L, hiddenSize: 1024, dtype: 'bf16' as const, batch: 512, attentionSeconds, ffnSeconds };

test('disaggregationWhatIf(): a split in proportion to the work over a free link matches the colocated replica', () => {
  // 3 : 1 work → 12 attention + 4 FFN devices: each micro-batch's a = f, and m·a is the colocated layer time
  // once m = 4 micro-batches cover the chain a + f + 2x of one of them.
  const r = disaggregationWhatIf({ ...base, microBatches: 4, attentionDevices: 12, ffnDevices: 4, linkBytesPerSecond: 1e15 });
  assert.ok(Math.abs(r.disaggregated.stepSeconds / r.colocated.stepSeconds - 1) < 1e-9);
  assert.ok(Math.abs(r.disaggregated.attentionBusy - 1) < 1e-9 && Math.abs(r.disaggregated.ffnBusy - 1) < 1e-9);
  // With two micro-batches the chain a + f + 2x is a hair longer than 2a: latency binds.
  assert.equal(disaggregationWhatIf({ ...base, attentionDevices: 12, ffnDevices: 4, linkBytesPerSecond: 1e15 }).disaggregated.bound, 'latency');
  // Hidden states cross twice per layer: 2 · 512 · 1024 · 2 B · 10 layers.
  assert.equal(r.transferBytesPerStep, 2 * 512 * 1024 * 2 * L);
  assert.equal(r.parkedActivationBytes, 2 * 512 * 1024 * 2);
});

test('disaggregationWhatIf(): an unbalanced split idles the faster pool; one micro-batch serialises; a slow link binds', () => {
  const r = disaggregationWhatIf({ ...base, attentionDevices: 8, ffnDevices: 8, linkBytesPerSecond: 1e15 });
  // a = 3e-6·256/8, f = 1e-6·256/8 per layer: the period is 2a, the FFN pool is busy f/a = 1/3 of it.
  assert.equal(r.disaggregated.bound, 'attention');
  assert.ok(Math.abs(r.disaggregated.ffnBusy - 1 / 3) < 1e-9);
  assert.ok(Math.abs(r.disaggregated.stepSeconds - L * 2 * ((3e-6 * 256) / 8)) < 1e-15);
  const one = disaggregationWhatIf({ ...base, microBatches: 1, attentionDevices: 12, ffnDevices: 4, linkBytesPerSecond: 1e15 });
  assert.equal(one.disaggregated.bound, 'latency');
  // 1 GB/s, 8 micro-batches: x = 64 · 1024 · 2 B / (1e9 · 4) = 32.8 µs per micro-batch, above a = f = 16 µs.
  const slow = disaggregationWhatIf({ ...base, microBatches: 8, attentionDevices: 12, ffnDevices: 4, linkBytesPerSecond: 1e9 });
  assert.equal(slow.disaggregated.bound, 'transfer');
  assert.ok(Math.abs(slow.disaggregated.transferSeconds - (64 * 1024 * 2) / 4e9) < 1e-15);
  assert.throws(() => disaggregationWhatIf({ ...base, attentionDevices: 0, ffnDevices: 4, linkBytesPerSecond: 1e9 }), isInput('attentionDevices'));
  assert.throws(() => disaggregationWhatIf({ ...base, batch: 0, attentionDevices: 1, ffnDevices: 4, linkBytesPerSecond: 1e9 }), isInput('batch'));
});

test('modelDisaggregation(): DeepSeek-V3 on H200s, the FFN weights move off the attention pool', () => {
  const h200 = loadHardware('h200');
  const ds = loadModel('deepseek-v3');
  const opts = { cost: rooflineMatmulCost(h200, 'fp8'), dtype: 'fp8' as const, context: 4096, batch: 1024, linkBytesPerSecond: h200.interNodeBytesPerSecond, deviceMemoryBytes: h200.memoryCapacityBytes };
  const r = modelDisaggregation(ds, { ...opts, attentionDevices: 8, ffnDevices: 8 });
  assert.ok(r.colocated.stepSeconds > 0 && r.disaggregated.stepSeconds > 0);
  // The attention pool holds no expert weights: 8 devices of it hold more sequences than 8 colocated devices would.
  const eight = modelDisaggregation(ds, { ...opts, attentionDevices: 4, ffnDevices: 4 });
  assert.ok((r.disaggregated.maxBatch ?? 0) > (eight.colocated.maxBatch ?? 0));
  const rows = disaggregationTable(ds, { ...opts, splits: [[4, 12], [8, 8]] });
  assert.deepEqual(rows.map((x) => x.layout), ['colocated ×16', 'attention ×4 + FFN ×12', 'attention ×8 + FFN ×8']);
});

test('decodeTraffic(): the crossover batch is where KV bytes reach weight bytes, and it falls as context grows', () => {
  const llama = loadModel('llama-3.1-70b');
  const rows = decodeTraffic(llama, { batch: 64, contexts: [1024, 8192, 65536], dtype: 'bf16' });
  for (const r of rows) {
    // Dense model: weights are fixed, KV is 327,680 B per token: crossover = ceil(weights / (327,680 · context)).
    const weights = decodeTraffic(llama, { batch: 1, contexts: [r.context], dtype: 'bf16' })[0].weightBytes;
    assert.equal(r.crossoverBatch, Math.ceil(weights / (327680 * r.context)));
  }
  assert.ok(rows[0].crossoverBatch > rows[1].crossoverBatch && rows[1].crossoverBatch > rows[2].crossoverBatch);
  const lim = kvBatchLimits([{ model: llama, hardware: loadHardware('h100-sxm'), devices: 8, dtype: 'bf16' }], { contexts: [4096, 32768] });
  assert.ok(lim[0].sequences > 7 * lim[1].sequences && lim[0].sequences < 9 * lim[1].sequences);
});

test('modelDecodePartSeconds(): attention + FFN parts add up to the roofline step, and split over devices', () => {
  const llama = loadModel('llama-3.1-70b');
  const h100 = loadHardware('h100-sxm');
  const parts = modelDecodePartSeconds(llama, { cost: rooflineMatmulCost(h100, 'bf16'), dtype: 'bf16', context: 2048 });
  const step = rooflineStepCost(llama, h100, { dtype: 'bf16' })({ prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 });
  // The parts price each matmul of the attention core on its own and leave out the embedding gather: within 2 %.
  const sum = parts.attentionSeconds(64, 1) + parts.ffnSeconds(64, 1);
  assert.ok(Math.abs(sum / step - 1) < 0.02, `${sum} vs ${step}`);
  assert.ok(Math.abs(parts.ffnSeconds(64, 4) * 4 - parts.ffnSeconds(64, 1)) < 1e-15);
});
