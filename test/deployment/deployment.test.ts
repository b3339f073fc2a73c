import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel } from '../../lib/models/index.js';
import { evaluateDeployment } from '../../lib/deployment/deployment.js';
import { uniformPrecision } from '../../lib/deployment/layout.js';
import { InputError } from '../../lib/util/errors.js';

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
const tp4 = { gpusPerNode: 8, tensorParallel: 4, dataParallelAttention: 1, pipelineParallel: 1, expertParallel: 1, redundantExperts: 0, microBatchOverlap: false };
const deployment = {
  model: loadModel('llama-3.1-70b'),
  hardware: loadHardware('h100-sxm'),
  precision: uniformPrecision('bf16'),
  prefill: { layout: tp4, tokensPerRank: 8192 },
  decode: { layout: tp4, sequencesPerRank: 64, context: 2250 },
  load: { inputTokens: 2e9, cacheHitFraction: 0.5, outputTokens: 5e8, promptTokensPerRequest: 2000, curve: { hours: [8, 16], relative: [2, 0.5] } },
};

test('evaluateDeployment(): whole 4-GPU units over the day, peak from the busy hours, costs per token class from the catalog price', () => {
  const e = evaluateDeployment(deployment);
  // Units of 4 devices: device-hours are multiples of 4 per hour of each segment.
  assert.equal(e.day.deviceHours % 4, 0);
  assert.ok(e.day.utilisation > 0 && e.day.utilisation <= 1);
  // $ per device-hour from data/hardware/h100-sxm.json.
  assert.ok(Math.abs(e.day.costUsd - e.day.deviceHours * 2.99) < 1e-9);
  assert.ok(e.day.perMillion.output > e.day.perMillion.input && e.day.perMillion.input > e.day.perMillion.cachedInput);
  // Busy hours at 2× mean set the peak: at least twice the quiet hours' pools.
  assert.ok(e.day.peakNodes * 8 >= e.day.prefillDevices + e.day.decodeDevices);
});

test('evaluateDeployment() refuses a decode batch that does not fit, naming the shortfall, and a missing context', () => {
  assert.throws(() => evaluateDeployment({ ...deployment, decode: { ...deployment.decode, sequencesPerRank: 4096 } }), (e: unknown) => e instanceof InputError && e.field === 'decode.sequencesPerRank' && /short by/.test(e.message));
  assert.throws(() => evaluateDeployment({ ...deployment, decode: { layout: tp4, sequencesPerRank: 8 } }), (e: unknown) => e instanceof InputError && e.field === 'decode.context');
  assert.throws(() => evaluateDeployment({ ...deployment, pricePerDeviceHour: 0 }), (e: unknown) => e instanceof InputError && e.field === 'pricePerDeviceHour');
  assert.throws(() => evaluateDeployment({ ...deployment, load: { ...deployment.load, curve: { hours: [8, 8], relative: [1, 1] } } }), (e: unknown) => e instanceof InputError && e.field === 'curve.hours');
});

test('evaluateDeployment(load.promptMix): prompts shaped like a trace cost more prefill attention than prompts alike at the same means; input counts hits the same way', async () => {
  const { loadPromptMix } = await import('../../lib/attention/index.js');
  const alike = evaluateDeployment(deployment);
  const mixed = evaluateDeployment({ ...deployment, load: { ...deployment.load, promptMix: loadPromptMix('mooncake-conversation-prompts') } });
  // Same computed tokens per step and the same hits per computed token (2,000-token prompts, half cached): attention grows.
  assert.ok(Math.abs(mixed.prefill.promptTokens - alike.prefill.promptTokens) < 1e-6);
  assert.ok(Math.abs(mixed.prefill.cachedTokens - alike.prefill.cachedTokens) < 1e-6);
  assert.ok(mixed.prefill.step.attentionSeconds > alike.prefill.step.attentionSeconds);
  assert.ok(mixed.prefill.inputTokensPerSecondPerDevice < alike.prefill.inputTokensPerSecondPerDevice);
  // Input per device counts hits: computed × prompt / computed-per-prompt, as without a mix.
  const p = mixed.prefill;
  assert.ok(Math.abs(p.inputTokensPerSecondPerDevice - (p.computedTokensPerSecondPerDevice * (p.promptTokens + p.cachedTokens)) / p.promptTokens) < 1e-9 * p.inputTokensPerSecondPerDevice);
  // A mean computed prompt longer than one prefill step is refused with or without a mix, never cut to fit
  // (4,000-token prompts, 25 % cached: 3,000 computed tokens against a 1,024-token step).
  const small = { ...deployment, prefill: { ...deployment.prefill, tokensPerRank: 1024 }, load: { ...deployment.load, promptTokensPerRequest: 4000, cacheHitFraction: 0.25 } };
  assert.throws(() => evaluateDeployment(small), (e: unknown) => e instanceof InputError && e.field === 'promptTokens');
  assert.throws(() => evaluateDeployment({ ...small, load: { ...small.load, promptMix: loadPromptMix('mooncake-conversation-prompts') } }), (e: unknown) => e instanceof InputError && e.field === 'promptTokens');
});

test('simulateSearchPoint(): the simulator on a searched point is seed-deterministic and never beats the analytic TPOT at the median', async () => {
  const { candidateLayouts } = await import('../../lib/deployment/compare.js');
  const { searchCheapestDeployment } = await import('../../lib/deployment/search.js');
  const { simulateSearchPoint } = await import('../../lib/deployment/serve.js');
  const m = loadModel('llama-3.1-70b');
  const space = { model: m, hardware: [loadHardware('h100-sxm')], layouts: candidateLayouts(m), precisions: [uniformPrecision('bf16')], batches: [8, 16, 32, 64], load: { requestsPerSecond: 5, promptTokens: 500, outputTokens: 100 } };
  const best = searchCheapestDeployment(space, { tpotSeconds: 0.05 }).best!;
  const a = simulateSearchPoint(space, best, { requests: 300 }, 2);
  const b = simulateSearchPoint(space, best, { requests: 300 }, 2);
  assert.deepEqual([a.ttftP99, a.tpotP50], [b.ttftP99, b.tpotP50]);
  // By default the rank runs the point's own load: its share (searchPointLoadShare) × devices of the rank / device-seconds
  // per request, which is the load's rate over its ranks (it ran at 0.8 of capacity whatever the load).
  const { searchPointLoadShare } = await import('../../lib/deployment/serve.js');
  const share = searchPointLoadShare(space, best);
  assert.equal(a.loadFraction, share);
  assert.ok(Math.abs(a.ratePerSecond - (share * space.layouts[best.layout].tensorParallel) / best.deviceSecondsPerRequest) < 1e-12);
  const at08 = simulateSearchPoint(space, best, { requests: 300, utilisation: 0.8 }, 2);
  assert.ok(Math.abs(at08.ratePerSecond - (0.8 * space.layouts[best.layout].tensorParallel) / best.deviceSecondsPerRequest) < 1e-12);
  assert.ok(a.tpotP50! >= best.tpotSeconds * 0.999);
  assert.ok(a.ttftP50 >= best.ttftSeconds * 0.999);
});

test('evaluateDeployment() with an FP8 KV cache: a cache hit moves the cache\'s own bytes per token over the network, half the bf16 ones', async () => {
  const { kvBytesPerToken } = await import('../../lib/models/index.js');
  const fp8 = { ...deployment, precision: { ...uniformPrecision('bf16'), kvCache: 'fp8' as const } };
  // Llama-3.1-70B (data/models/llama-3.1-70b.json): 80 layers × 2 × 8 KV heads × 128 dims × 1 byte.
  assert.equal(kvBytesPerToken(deployment.model, 'fp8'), 80 * 2 * 8 * 128);
  for (const [d, kv] of [[deployment, 'bf16'], [fp8, 'fp8']] as const) {
    const e = evaluateDeployment(d);
    // priceDay: a hit costs min(KV bytes / network bandwidth, 1 / prefill rate) device-seconds; computed tokens the rest.
    const inRate = e.prefill.inputTokensPerSecondPerDevice;
    const cached = d.load.inputTokens * d.load.cacheHitFraction;
    const perHit = Math.min(kvBytesPerToken(d.model, kv) / d.hardware.interNodeBytesPerSecond, 1 / inRate);
    const perComputed = (d.load.inputTokens / inRate - cached * perHit) / (d.load.inputTokens - cached);
    const ratio = e.day.perMillion.cachedInput / e.day.perMillion.input;
    assert.ok(rel(ratio, perHit / perComputed) < 1e-9, `${kv}: ${ratio} vs ${perHit / perComputed}`);
  }
});
