import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateServing, servingEnginePreset, describeEnginePreset, engineDevice, engineMemoryFraction, resolveEnginePreset, constantStepCost, type ServingEngineConfig } from '../../lib/batching/index.js';
import { loadHardware } from '../../lib/hardware/index.js';

const device = (id: string) => engineDevice(loadHardware(id));

test('servingEnginePreset(vllm) takes the API-server batch defaults of vLLM 0.34 by device memory and name', () => {
  // vllm/engine/arg_utils.py:3010-3043 (vLLM 0.34.0): OPENAI_API_SERVER 8192 batched tokens and 1024 sequences
  // at ≥ 70 GiB unless an A100; H100 SXM has 80 · 2^30 bytes (data/hardware/h100-sxm.json) ≥ 70 · 2^30.
  const p = servingEnginePreset('vllm', device('h100-sxm'));
  assert.deepEqual(p.policy, { kind: 'chunked', maxBatch: 1024, tokenBudget: 8192 });
  assert.equal(p.kvAdmission, 'blocks');
  // vllm/config/cache.py:185: DEFAULT_BLOCK_SIZE = 64.
  assert.equal(p.kvBlockTokens, 64);
  // The A100 is excluded by name, and an unknown device takes the same smaller table: 2048 and 256.
  for (const q of [servingEnginePreset('vllm', device('a100-80gb')), servingEnginePreset('vllm')]) {
    assert.deepEqual(q.policy, { kind: 'chunked', maxBatch: 256, tokenBudget: 2048 });
  }
  // ≥ 160 GiB (B200: 180 GiB, data/hardware/b200.json): 16384 tokens, 1024 sequences.
  assert.deepEqual(servingEnginePreset('vllm', device('b200')).policy, { kind: 'chunked', maxBatch: 1024, tokenBudget: 16384 });
  for (const d of p.defaults) assert.match(d.source, /^vllm\/(engine|config|v1)\/[a-z_/]+\.py:\d+/);
  assert.match(p.version, /vLLM 0\.34\.0 \(commit 62d4bc3c7/);
  assert.match(describeEnginePreset(p), /max_num_batched_tokens 8192, max_num_seqs 1024/);
  // cache.py:495-501: gpu_memory_utilization resolves to 1.0 with the extensible KV cache (on by default on CUDA).
  assert.deepEqual([p.memory.fraction, p.memory.basis], [1, 'device']);
});

test('servingEnginePreset(trtllm) takes trtllm-serve defaults: BuildConfig batch limits, whole prompts, never evicts, 90 % of free memory', () => {
  // tensorrt_llm/builder.py @ 008b2b8d: max_batch_size 2048, max_num_tokens 8192; commands/serve.py @ 00209af1:
  // GUARANTEED_NO_EVICT, enable_chunked_prefill False, free_gpu_memory_fraction 0.9.
  const p = servingEnginePreset('trtllm', device('h100-sxm'));
  assert.deepEqual(p.policy, { kind: 'chunked', maxBatch: 2048, tokenBudget: 8192, wholePrompts: true });
  assert.equal(p.kvAdmission, 'reserve');
  const value = (k: string) => p.defaults.find((d) => d.setting === k)?.value;
  assert.deepEqual([value('capacity_scheduler_policy'), value('enable_chunked_prefill'), value('free_gpu_memory_fraction')], ['GUARANTEED_NO_EVICT', false, 0.9]);
  assert.deepEqual([p.memory.fraction, p.memory.basis], [0.9, 'free']);
});

test('engineMemoryFraction gives the device share of a rule: f for device-based, f + (1 − f) · weights for free-memory-based', () => {
  // TensorRT-LLM: 90 % of the 56 % left beside weights taking 44 % → 0.44 + 0.9 · 0.56 = 0.944 (closed form).
  assert.ok(Math.abs(engineMemoryFraction(servingEnginePreset('trtllm').memory, 0.44) - 0.944) < 1e-12);
  assert.equal(engineMemoryFraction(servingEnginePreset('vllm').memory, 0.44), 1);
  assert.throws(() => engineMemoryFraction(servingEnginePreset('vllm').memory, 1.5), /weightShare/);
});

test('servingEnginePreset names the field of a bad engine or device', () => {
  assert.throws(() => servingEnginePreset('tgi' as never), /engine/);
  assert.throws(() => servingEnginePreset('vllm', { name: 'x', memoryCapacityBytes: -1 }), /device/);
});

const base: ServingEngineConfig = {
  arrivals: { kind: 'poisson', ratePerSecond: 40 },
  requests: 800,
  promptTokens: { kind: 'lognormal', median: 600, sigma: 0.8, max: 6000 },
  outputTokens: { kind: 'lognormal', median: 80, sigma: 0.8, max: 600 },
  stepCost: constantStepCost(0.01),
  kvCapacityTokens: 40_000,
};

test('simulateServing with neither policy nor engine runs the vLLM preset exactly', () => {
  const p = servingEnginePreset('vllm');
  const unconfigured = simulateServing(base, 3);
  const pinned = simulateServing({ ...base, policy: p.policy, kvAdmission: p.kvAdmission, kvBlockTokens: p.kvBlockTokens, decodeGraphSizes: p.decodeGraphSizes }, 3);
  assert.deepEqual({ ...unconfigured, provenance: null }, { ...pinned, provenance: null });
  assert.match(unconfigured.provenance.config, /vllm preset \(vLLM 0\.34\.0 \(commit 62d4bc3c7/);
  assert.equal(resolveEnginePreset(base)!.engine, 'vllm');
  // An explicit kvAdmission wins over the preset's.
  assert.equal(simulateServing({ ...base, engine: 'vllm', kvAdmission: 'reserve' }, 3).preemptions, 0);
});

test('simulateServing refuses an engine together with a policy', () => {
  assert.throws(() => simulateServing({ ...base, engine: 'vllm', policy: { kind: 'continuous', maxBatch: 8 } } as never, 1), /engine must be left out when policy is given|engine/);
});

test('servingEnginePreset(sglang) sizes its prefill chunk, decode graphs and memory fraction by device memory and tp', () => {
  // sglang/srt/arg_groups/memory_hook.py:88-178 (SGLang 0.5.23), memory in MiB: 8192 tokens from 60 to 160 GiB (H100 80 GiB,
  // H200 141 GiB), 16384 from 160 GiB (B200, 180 GiB), 4096 from 20 to 35 GiB (RTX 4090, 24e9 B), 4096 with no device.
  const chunk = (id?: string) => servingEnginePreset('sglang', id ? device(id) : undefined).defaults.find((d) => d.setting === 'chunked_prefill_size')!.value;
  assert.deepEqual([chunk('h100-sxm'), chunk('h200'), chunk('b200'), chunk('rtx-4090'), chunk()], [8192, 8192, 16384, 4096, 4096]);
  const p = servingEnginePreset('sglang', engineDevice(loadHardware('h100-sxm'), 2));
  assert.deepEqual(p.policy, { kind: 'chunked', maxBatch: 2048, tokenBudget: 8192, priority: 'prefill-first' });
  // Benchmark clients send ignore_eos: SGLang counts every request's whole output (schedule_policy.py:785-794).
  assert.equal(p.kvAdmission, 'reserve');
  assert.ok(p.defaults.some((d) => d.setting === 'enable_mixed_chunk' && d.value === false && /schedule\.py:.*:208-211 \(enable_mixed_chunk = False\)/.test(d.source)));
  // Decode graphs (cuda_graph_hook.py:511-530), max_bs 256 at tp < 4: 1, 2, 4, 8, 12 and 16..256 by 8 → 5 + 31 sizes.
  const g = p.decodeGraphSizes!;
  assert.equal(g.length, 36);
  assert.deepEqual([g[4], g[5], g[g.length - 1]], [12, 16, 256]);
  assert.equal(servingEnginePreset('sglang', engineDevice(loadHardware('h100-sxm'), 8)).decodeGraphSizes!.at(-1), 512);
  // mem_fraction_static (memory_hook.py:281-330, :357-390) on 80 GiB = 81920 MiB, tp 2: reserved = 512 + 1.5 · 8192
  // + 2 / 8 · 1024 + 2 · 256 + 8 · 58 prefill graph sizes up to 8192 = 14032 MiB; (81920 − 14032) / 81920 = 0.8287 → 0.829.
  assert.equal(p.memory.fraction, 0.829);
  assert.equal(servingEnginePreset('sglang').memory.fraction, 0.95);
});

test('servingEnginePreset(vllm) captures CUDA graphs at [1, 2, 4] + 8..248 by 8 + 256..min(2·max_num_seqs, 512) by 16', () => {
  // vllm/config/vllm.py:2398-2408 and :2478-2490: max min(2 · 1024, 512) = 512; 3 + 31 + 17 = 51 sizes up to 512.
  const g = servingEnginePreset('vllm', device('h100-sxm')).decodeGraphSizes!;
  assert.equal(g.length, 51);
  assert.deepEqual(g.slice(0, 5), [1, 2, 4, 8, 16]);
  assert.equal(g[g.length - 1], 512);
  assert.equal(servingEnginePreset('trtllm').decodeGraphSizes, undefined);
});

test('simulateServing with whole prompts (trtllm, chunked prefill off) never splits a prompt: a hand-made timeline', () => {
  // Three 600-token prompts at t = 0, 2-token outputs, a 1000-token step budget, a constant step S.
  // Split (chunked): s1 r0 600 + r1 400; s2 r0 decode + r1 200 + r2 600 → r2's first token at 2S; 3 steps.
  // Whole: s1 r0; s2 r0 decode + r1 (r2 needs 600 of the 399 left); s3 r1 decode + r2; s4 r2 decode → r2's first token at 3S; 4 steps.
  const S = 0.01;
  const cfg = {
    arrivals: { kind: 'burst' as const },
    requests: 3,
    promptTokens: { kind: 'fixed' as const, tokens: 600 },
    outputTokens: { kind: 'fixed' as const, tokens: 2 },
    stepCost: constantStepCost(S),
  };
  const split = simulateServing({ ...cfg, policy: { kind: 'chunked', maxBatch: 4, tokenBudget: 1000 } }, 1);
  const whole = simulateServing({ ...cfg, policy: { kind: 'chunked', maxBatch: 4, tokenBudget: 1000, wholePrompts: true } }, 1);
  assert.deepEqual([split.steps, whole.steps], [3, 4]);
  assert.ok(Math.abs(split.requestLog!.firstToken[2] - 2 * S) < 1e-12);
  assert.ok(Math.abs(whole.requestLog!.firstToken[2] - 3 * S) < 1e-12);
  // A prompt longer than the budget, or paged KV (a recompute could outgrow a step), is refused rather than left to hang.
  assert.throws(() => simulateServing({ ...cfg, policy: { kind: 'chunked', maxBatch: 4, tokenBudget: 500, wholePrompts: true } }, 1), /tokenBudget/);
  assert.throws(() => simulateServing({ ...cfg, kvAdmission: 'blocks', kvCapacityTokens: 4000, policy: { kind: 'chunked', maxBatch: 4, tokenBudget: 1000, wholePrompts: true } }, 1), /kvAdmission/);
});
