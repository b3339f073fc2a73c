import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel } from '../../lib/models/index.js';
import { perfDeviceStepModel } from '../../lib/deployment/perf.js';
import { uniformPrecision } from '../../lib/deployment/layout.js';
import { simulateDeployment } from '../../lib/deployment/serve.js';
import { engineDevice, servingEnginePreset } from '../../lib/batching/index.js';

test('simulateDeployment with an engine schedules the rank as the preset, and without one as continuous batching', () => {
  const hw = loadHardware('h100-sxm');
  const step = perfDeviceStepModel(loadModel('llama-3.1-8b'), hw, { gpusPerNode: 8, tensorParallel: 1, dataParallelAttention: 1, pipelineParallel: 1, expertParallel: 1, redundantExperts: 0, microBatchOverlap: false }, uniformPrecision('bf16'), { efficiency: 'spec' });
  // Prompts of 12,000 tokens exceed vLLM's 8192-token step on an H100 (vllm/engine/arg_utils.py @ 99d7eb5d),
  // so the preset splits each prompt over two steps where continuous batching prefills it in one.
  const opts = { ratePerSecond: 0.5, promptTokens: { kind: 'fixed' as const, tokens: 12_000 }, outputTokens: { kind: 'fixed' as const, tokens: 32 }, maxBatch: 64, requests: 200 };
  const plain = simulateDeployment(step, opts, 1);
  const vllm = simulateDeployment(step, { ...opts, engine: servingEnginePreset('vllm', engineDevice(hw)) }, 1);
  assert.match(plain.result.provenance.config, /continuous, batch ≤ 64/);
  assert.match(vllm.result.provenance.config, /vllm preset .*chunked prefill, budget 8192 tok\/step, batch ≤ 1024/);
  assert.equal(plain.result.tokens.prefilled, 200 * 12_000);
  assert.equal(vllm.result.tokens.prefilled, 200 * 12_000);
  assert.ok(vllm.result.steps > plain.result.steps);
  // 0.5 req/s is far below what the rank serves: its queue does not grow. The result keeps no per-request log.
  assert.equal(plain.backlog?.growing, false);
  assert.equal(plain.result.requestLog, undefined);
  // Each 12,000-token prompt is 192 TFLOP of prefill (2 × 8 B parameters × 12,000), about 0.19 s at the H100's 989 dense
  // bf16 TFLOPS: the rank serves at most about 5 req/s, and 20 are offered. The queue grows, and the backlog says so.
  const over = simulateDeployment(step, { ...opts, ratePerSecond: 20 }, 1);
  assert.equal(over.backlog?.growing, true, `${over.backlog?.servedPerSecond} of ${over.backlog?.offeredPerSecond} req/s`);
  assert.ok(over.backlog!.servedPerSecond < 0.6 * over.backlog!.offeredPerSecond);
});

test('simulateSearchPoint with an engine sizes the KV cache by the preset memory rule (closed form from llama-3.1-70b config.json)', async () => {
  const { candidateLayouts } = await import('../../lib/deployment/compare.js');
  const { searchCheapestDeployment } = await import('../../lib/deployment/search.js');
  const { simulateSearchPoint, layoutPresetMemoryFraction } = await import('../../lib/deployment/serve.js');
  const { memoryFit } = await import('../../lib/roofline/deployment.js');
  const m = loadModel('llama-3.1-70b');
  const hw = loadHardware('h100-sxm');
  const space = { model: m, hardware: [hw], layouts: candidateLayouts(m), precisions: [uniformPrecision('bf16')], batches: [8, 16, 32, 64], load: { requestsPerSecond: 5, promptTokens: 500, outputTokens: 100 } };
  const best = searchCheapestDeployment(space, { tpotSeconds: 0.05 }).best!;
  const tp = space.layouts[best.layout].tensorParallel;
  const M = hw.memoryCapacityBytes;
  // Weights per device, the one memory fit's figure (bf16 shard of the checkpoint over tp).
  const W = memoryFit(m, hw, { parallelism: { tp }, precision: 'bf16', memoryFraction: 1 }, { batch: 0, context: 0 }).weightBytes;
  // config.json: 80 layers × 8 KV heads × head 128, K and V in bf16 (2 bytes), heads split over min(tp, 8) devices.
  const kvPerToken = (2 * 80 * 8 * 128 * 2) / Math.min(tp, 8);
  const plain = simulateSearchPoint(space, best, { requests: 200 }, 1);
  assert.equal(plain.memoryFraction, null);
  // The KV cache is what an empty batch leaves beside the weights. No engine: the whole device (USABLE_MEMORY_FRACTION = 1).
  assert.equal(plain.kvCapacityTokens, Math.floor((M - W) / kvPerToken));
  const trt = simulateSearchPoint(space, best, { requests: 200, engine: 'trtllm' }, 1);
  // trtllm-serve: free_gpu_memory_fraction 0.9 of the memory the weights leave, so weights and KV hold 0.9 + 0.1 · W / M.
  const f = 0.9 + (0.1 * W) / M;
  assert.ok(Math.abs(trt.memoryFraction! - f) < 1e-12);
  assert.equal(trt.kvCapacityTokens, Math.floor((M * trt.memoryFraction! - W) / kvPerToken));
  assert.ok(trt.kvCapacityTokens! < plain.kvCapacityTokens!);
  // SGLang: mem_fraction_static of the device at the layout's tp, the same rule as deploy --simulate --engine.
  const sg = simulateSearchPoint(space, best, { requests: 200, engine: 'sglang' }, 1);
  const sgPreset = servingEnginePreset('sglang', engineDevice(hw, tp));
  assert.equal(sg.memoryFraction, sgPreset.memory.fraction);
  assert.equal(sg.memoryFraction, layoutPresetMemoryFraction(sgPreset, m, hw, space.layouts[best.layout], uniformPrecision('bf16')));
  assert.equal(sg.kvCapacityTokens, Math.floor((M * sgPreset.memory.fraction - W) / kvPerToken));
  // A factory that ignores extras.memoryFraction is refused rather than sizing the cache by its own default.
  const deaf = { ...space, stepModel: (mm: typeof m, h: typeof hw, l: (typeof space.layouts)[number], p: ReturnType<typeof uniformPrecision>) => perfDeviceStepModel(mm, h, l, p) };
  assert.throws(() => simulateSearchPoint(deaf, best, { requests: 200, engine: 'trtllm' }, 1), (e: unknown) => e instanceof Error && (e as { field?: string }).field === 'space.stepModel');
});

test('simulatedCheapestDeployment walks the search\'s answers cheapest first and stops at the first whose simulated p99 TTFT and TPOT hold the SLO', async () => {
  const { candidateLayouts } = await import('../../lib/deployment/compare.js');
  const { searchCandidates, searchCheapestDeployment } = await import('../../lib/deployment/search.js');
  const { simulatedCheapestDeployment, simulateSearchPoint, searchPointLoadShare, SIMULATED_SLO_PERCENTILE } = await import('../../lib/deployment/serve.js');
  const m = loadModel('llama-3.1-70b');
  const hw = loadHardware('h100-sxm');
  const { calibratedStepModel } = await import('../../lib/deployment/perf.js');
  // The calibrated model, named: a space that names none prices from the default engine's tables.
  const space = { model: m, hardware: [hw], layouts: candidateLayouts(m), precisions: [uniformPrecision('fp8')], batches: [16, 32, 64, 128], load: { requestsPerSecond: 10, promptTokens: 2000, outputTokens: 200 }, stepModel: calibratedStepModel };
  const slo = { ttftSeconds: 1, tpotSeconds: 0.04 };
  // The candidates are the search's own order: the first is its answer, and cost never falls along them.
  const cands = searchCandidates(space, slo, 50);
  assert.equal(cands[0].index, searchCheapestDeployment(space, slo).best!.index);
  for (let i = 1; i < cands.length; i++) assert.ok(cands[i].usdPerRequest >= cands[i - 1].usdPerRequest * (1 - 1e-12));
  const r = simulatedCheapestDeployment(space, slo, { requests: 400, candidates: 50 }, 1);
  assert.equal(SIMULATED_SLO_PERCENTILE, 99);
  assert.deepEqual(r.checked.map((c) => c.point.index), cands.slice(0, r.checked.length).map((c) => c.index));
  // Each check is simulateSearchPoint at the share of time the point's load keeps a rank busy: rps × device-s per request / devices.
  for (const c of r.checked) {
    const share = (space.load.requestsPerSecond * c.point.deviceSecondsPerRequest) / c.point.devicesNeeded;
    assert.ok(Math.abs(searchPointLoadShare(space, c.point) - Math.min(1, share)) < 1e-12);
    assert.equal(c.serving.ttftP99, simulateSearchPoint(space, c.point, { utilisation: searchPointLoadShare(space, c.point), requests: 400 }, 1).ttftP99);
    assert.equal(c.meets, c.serving.ttftP99 <= slo.ttftSeconds && c.serving.tpotP99! <= slo.tpotSeconds);
  }
  // Every check before the answer misses; the answer holds; nothing after it is checked. Here the
  // search's own answer (calibrated model, 10 req/s of 2000-token prompts) misses under load: its
  // decode-step TPOT leaves out the prompts that share its steps.
  assert.ok(r.checked.slice(0, -1).every((c) => !c.meets));
  assert.ok(r.best && r.best === r.checked.at(-1));
  assert.ok(r.checked.length > 1);
  assert.ok(r.checked[0].serving.tpotP99! > r.checked[0].point.tpotSeconds);
  // Deterministic for a seed.
  assert.deepEqual(simulatedCheapestDeployment(space, slo, { requests: 400, candidates: 50 }, 1).checked.map((c) => c.serving.ttftP99), r.checked.map((c) => c.serving.ttftP99));
});

test('simulateDeployment with pipeline stages: a token crosses every stage, so one sequence alone decodes at decodePerformance\'s TPOT (it took one stage\'s step)', async () => {
  const { decodePerformance } = await import('../../lib/deployment/pool.js');
  const hw = loadHardware('h100-sxm');
  const layout = { gpusPerNode: 8, tensorParallel: 1, dataParallelAttention: 1, pipelineParallel: 4, expertParallel: 1, redundantExperts: 0, microBatchOverlap: false };
  const step = perfDeviceStepModel(loadModel('llama-3.1-70b'), hw, layout, uniformPrecision('fp8'));
  // One request every 100 s: each decodes alone, with a context that grows from 100 to 116 tokens.
  const opts = { ratePerSecond: 0.01, promptTokens: { kind: 'fixed' as const, tokens: 100 }, outputTokens: { kind: 'fixed' as const, tokens: 32 }, maxBatch: 8, requests: 20 };
  const piped = simulateDeployment(step, { ...opts, pipelineStages: 4 }, 1);
  const alone = decodePerformance(step, layout, { sequencesPerRank: 1, context: 108 }).tpotSeconds;
  assert.ok(Math.abs(piped.tpotP50! - alone) <= 0.02 * alone, `${piped.tpotP50} vs ${alone}`);
  // Without the stages the same step model gives a quarter of it: the defect this fixes.
  const flat = simulateDeployment(step, opts, 1);
  assert.ok(Math.abs(flat.tpotP50! * 4 - piped.tpotP50!) <= 0.02 * piped.tpotP50!);
});
