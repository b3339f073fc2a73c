import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLoadCurve, costProfitMargin, dailyCostUsd, dailyRevenueUsd, priceDay, checkPrice, requestPrice, usdPerMillionAtLoad } from '../../lib/deployment/cost.js';
import { deepseekPublishedDay } from '../../lib/deployment/published.js';
import { InputError } from '../../lib/util/errors.js';

const isField = (field: RegExp) => (e: unknown): boolean => e instanceof InputError && field.test(e.field);

test("dailyCostUsd(226.75, 8, 2) is DeepSeek's published $87,072 exactly", () => {
  // DeepSeek-V3/R1 Inference System Overview (2025-03-01): 226.75 average nodes × 8 H800 × $2/GPU-hour × 24 h = $87,072.
  assert.equal(dailyCostUsd(226.75, 8, 2), 87072);
  const f = deepseekPublishedDay().figures;
  assert.equal(dailyCostUsd(f.averageNodes, f.gpusPerNode, f.pricePerGpuHourUsd), f.dailyCostUsd);
});

test('dailyRevenueUsd() and costProfitMargin() reproduce the published $562,027 and 545 % from the rounded token counts', () => {
  const f = deepseekPublishedDay().figures;
  const load = { inputTokens: f.inputTokens, cacheHitFraction: f.cacheHitFraction, outputTokens: f.outputTokens };
  const prices = { cachedInput: f.priceCachedInputPerMillionUsd, input: f.priceInputPerMillionUsd, output: f.priceOutputPerMillionUsd };
  const rev = dailyRevenueUsd(load, prices);
  // Closed form: (608e9·0.563·0.14 + 608e9·0.437·0.55 + 168e9·2.19) / 1e6 = 561,975.36.
  assert.ok(Math.abs(rev - 561975.36) < 1e-6, String(rev));
  // The published $562,027 comes from unrounded token counts (608 B and 168 B are rounded): within 0.01 %.
  assert.ok(Math.abs(rev / f.revenueUsd - 1) < 1e-4);
  // 545 %: (562,027 − 87,072) / 87,072 = 5.4548.
  assert.equal(Math.round(costProfitMargin(f.revenueUsd, f.dailyCostUsd) * 100), 545);
  assert.equal(Math.round(costProfitMargin(rev, f.dailyCostUsd) * 100), 545);
});

test("priceDay() at DeepSeek's published per-node rates sizes the day at the published 226.75 nodes (within 0.1 %)", () => {
  const f = deepseekPublishedDay().figures;
  const day = priceDay(
    {
      inputTokensPerSecondPerDevice: f.prefillTokensPerNodePerSecond / 8,
      outputTokensPerSecondPerDevice: f.decodeTokensPerNodePerSecond / 8,
      prefillUnitDevices: 32,
      decodeUnitDevices: 144,
      devicesPerNode: 8,
    },
    { inputTokens: f.inputTokens, cacheHitFraction: f.cacheHitFraction, outputTokens: f.outputTokens },
    2,
    { granularity: 'fractional' },
  );
  // 608e9 / (86400·73.7e3) + 168e9 / (86400·14.8e3) = 95.48 + 131.38 = 226.86 nodes.
  assert.ok(Math.abs(day.averageNodes - 226.8636) < 1e-3, String(day.averageNodes));
  assert.ok(Math.abs(day.averageNodes / f.averageNodes - 1) < 1e-3);
  assert.ok(Math.abs(day.costUsd / f.dailyCostUsd - 1) < 1e-3);
  // Fractional sizing provisions exactly the need: utilisation 1.
  assert.ok(Math.abs(day.utilisation - 1) < 1e-12);
  // Output tokens carry the decode pool's cost: 131.38 nodes × 8 × $2 × 24 / 168,000 M tokens.
  assert.ok(Math.abs(day.perMillion.output - (168e9 / (86400 * 14.8e3)) * 8 * 2 * 24 / 168e3) < 1e-9);
});

test('priceDay() in whole units over a load curve: peak sets the peak nodes, utilisation below 1', () => {
  const rates = { inputTokensPerSecondPerDevice: 1000, outputTokensPerSecondPerDevice: 100, prefillUnitDevices: 8, decodeUnitDevices: 8, devicesPerNode: 8 };
  // Mean 1000 input and 100 output tok/s; 12 h at 1.5× and 12 h at 0.5×.
  const load = { inputTokens: 1000 * 86400, cacheHitFraction: 0, outputTokens: 100 * 86400, curve: { hours: [12, 12], relative: [1.5, 0.5] } };
  const day = priceDay(rates, load, 1);
  // Busy half: 1.5 devices each pool → one 8-device unit each; quiet half: 0.5 → one unit each. 16 devices all day.
  assert.equal(day.deviceHours, 16 * 24);
  assert.equal(day.peakNodes, 2);
  // Need: 1000·86400/1000 + 100·86400/100 device-seconds = 2 device-days = 48 device-hours of 384.
  assert.ok(Math.abs(day.utilisation - 48 / 384) < 1e-12);
});

test('checkLoadCurve() normalises to a mean of 1 and refuses a curve that does not cover a day, naming curve.hours', () => {
  assert.deepEqual(checkLoadCurve({ hours: [6, 18], relative: [2, 2] }).relative, [1, 1]);
  assert.throws(() => checkLoadCurve({ hours: [8, 12], relative: [1, 1] }), (e: unknown) => isField(/^curve\.hours$/)(e) && /sum to 20/.test((e as Error).message));
  assert.throws(() => checkLoadCurve({ hours: [24], relative: [1, 2] }), isField(/curve\.relative/));
  assert.throws(() => checkLoadCurve({ hours: [-1, 25], relative: [1, 1] }), isField(/curve\.hours\[0\]/));
});

test('a price ≤ 0 is an InputError naming the price field', () => {
  assert.throws(() => checkPrice('pricePerDeviceHour', 0), isField(/^pricePerDeviceHour$/));
  assert.throws(() => dailyCostUsd(10, 8, -2), isField(/^pricePerDeviceHour$/));
  const load = { inputTokens: 1, cacheHitFraction: 0, outputTokens: 1 };
  assert.throws(() => dailyRevenueUsd(load, { cachedInput: 0.1, input: 0, output: 1 }), isField(/^prices\.input$/));
  assert.throws(() => priceDay({ inputTokensPerSecondPerDevice: 1, outputTokensPerSecondPerDevice: 1, prefillUnitDevices: 1, decodeUnitDevices: 1, devicesPerNode: 1 }, load, NaN), isField(/^pricePerDeviceHour$/));
});

test('requestPrice(): prefill and decode device-seconds times the price, per output and per input token (closed form)', () => {
  // 1400 computed tokens at 14,000 tok/s = 0.1 s; 500 output tokens at 1000 tok/s = 0.5 s; $3.60/h = $0.001/s.
  const r = requestPrice({ promptTokens: 2000, computedPromptTokens: 1400, outputTokens: 500, prefillTokensPerSecondPerDevice: 14000, decodeTokensPerSecondPerDevice: 1000, usdPerDeviceHour: 3.6 });
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * Math.abs(b);
  assert.ok(near(r.prefillDeviceSeconds, 0.1) && near(r.decodeDeviceSeconds, 0.5) && near(r.deviceSecondsPerRequest, 0.6));
  assert.ok(near(r.usdPerRequest, 0.0006));
  // All-in: $0.0006 over 500 tokens = $1.20 per million; decode alone $1.00; prefill over 2000 input tokens $0.05.
  assert.ok(near(r.usdPerMillionOutput, 1.2) && near(r.usdPerMillionOutputDecode, 1) && near(r.usdPerMillionInputPrefill, 0.05));
  // An owned machine (price 0) costs nothing; a bad rate names its field.
  assert.equal(requestPrice({ promptTokens: 1, computedPromptTokens: 1, outputTokens: 1, prefillTokensPerSecondPerDevice: 1, decodeTokensPerSecondPerDevice: 1, usdPerDeviceHour: 0 }).usdPerMillionOutput, 0);
  assert.throws(() => requestPrice({ promptTokens: 1, computedPromptTokens: 2, outputTokens: 1, prefillTokensPerSecondPerDevice: 1, decodeTokensPerSecondPerDevice: 1, usdPerDeviceHour: 1 }), isField(/^computedPromptTokens$/));
  assert.throws(() => requestPrice({ promptTokens: 1, computedPromptTokens: 1, outputTokens: 1, prefillTokensPerSecondPerDevice: 1, decodeTokensPerSecondPerDevice: NaN, usdPerDeviceHour: 1 }), isField(/^decodeTokensPerSecondPerDevice$/));
});

test('usdPerMillionAtLoad(): the hourly bill over the tokens a steady load produces in an hour', () => {
  // 8 devices × $2.50 = $20/h; 20 req/s × 500 tokens × 3600 s = 36 M tokens/h → $0.5556 per million.
  assert.ok(Math.abs(usdPerMillionAtLoad({ devices: 8, usdPerDeviceHour: 2.5, requestsPerSecond: 20, outputTokens: 500 }) - 20 / 36) < 1e-12);
  assert.throws(() => usdPerMillionAtLoad({ devices: 8, usdPerDeviceHour: 2.5, requestsPerSecond: 0, outputTokens: 500 }), isField(/^requestsPerSecond$/));
});
