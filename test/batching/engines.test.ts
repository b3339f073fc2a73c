import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateServing, servingEnginePreset, describeEnginePreset, engineDevice, resolveEnginePreset, constantStepCost, type ServingEngineConfig } from '../../lib/batching/index.js';
import { loadHardware } from '../../lib/hardware/index.js';

const device = (id: string) => engineDevice(loadHardware(id));

test('servingEnginePreset(vllm) takes the API-server batch defaults of a ≥ 70 GiB GPU that is not an A100', () => {
  // vllm/engine/arg_utils.py @ 99d7eb5d: OPENAI_API_SERVER 8192 batched tokens, 1024 sequences;
  // H100 SXM has 80 · 2^30 bytes (data/hardware/h100-sxm.json) ≥ 70 · 2^30.
  const p = servingEnginePreset('vllm', device('h100-sxm'));
  assert.deepEqual(p.policy, { kind: 'chunked', maxBatch: 1024, tokenBudget: 8192 });
  assert.equal(p.kvAdmission, 'blocks');
  // The A100 is excluded by name, and an unknown device takes the same smaller table: 2048 and 256.
  for (const q of [servingEnginePreset('vllm', device('a100-80gb')), servingEnginePreset('vllm')]) {
    assert.deepEqual(q.policy, { kind: 'chunked', maxBatch: 256, tokenBudget: 2048 });
  }
  for (const d of p.defaults.filter((x) => x.setting !== 'max_cudagraph_capture_size')) assert.match(d.source, /vllm\/engine\/arg_utils\.py @ 99d7eb5d/);
  assert.match(describeEnginePreset(p), /max_num_batched_tokens 8192, max_num_seqs 1024/);
});

test('servingEnginePreset(trtllm) takes BuildConfig max_num_tokens and max_batch_size and never evicts', () => {
  // tensorrt_llm/builder.py @ 008b2b8d: max_batch_size 2048, max_num_tokens 8192; GUARANTEED_NO_EVICT by default.
  const p = servingEnginePreset('trtllm', device('h100-sxm'));
  assert.deepEqual(p.policy, { kind: 'chunked', maxBatch: 2048, tokenBudget: 8192 });
  assert.equal(p.kvAdmission, 'reserve');
  assert.ok(p.defaults.some((d) => d.setting === 'capacity_scheduler_policy' && d.value === 'GUARANTEED_NO_EVICT'));
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
  const pinned = simulateServing({ ...base, policy: p.policy, kvAdmission: p.kvAdmission, decodeGraphSizes: p.decodeGraphSizes }, 3);
  assert.deepEqual({ ...unconfigured, provenance: null }, { ...pinned, provenance: null });
  assert.match(unconfigured.provenance.config, /vllm preset \(vLLM V1 engine, source at commit 99d7eb5d/);
  assert.equal(resolveEnginePreset(base)!.engine, 'vllm');
  // An explicit kvAdmission wins over the preset's.
  assert.equal(simulateServing({ ...base, engine: 'vllm', kvAdmission: 'reserve' }, 3).preemptions, 0);
});

test('simulateServing refuses an engine together with a policy', () => {
  assert.throws(() => simulateServing({ ...base, engine: 'vllm', policy: { kind: 'continuous', maxBatch: 8 } } as never, 1), /engine must be left out when policy is given|engine/);
});

test('servingEnginePreset(sglang) sizes its prefill chunk by device memory and does not mix prefill with decode', () => {
  // SGLang server_args.py GPU-memory tiers: 8192 tokens from 60 to 160 GiB (H100 80 GiB, H200 141 GiB),
  // 16384 at or above 160 GiB (B200, 180 GiB in data/hardware/b200.json), 2048 below 35 GiB (RTX 4090, 24 GB), 4096 with no device.
  const chunk = (id?: string) => (servingEnginePreset('sglang', id ? device(id) : undefined).policy as { tokenBudget: number }).tokenBudget;
  assert.deepEqual([chunk('h100-sxm'), chunk('h200'), chunk('b200'), chunk('rtx-4090'), chunk()], [8192, 8192, 16384, 2048, 4096]);
  const p = servingEnginePreset('sglang', device('h100-sxm'));
  assert.equal((p.policy as { priority?: string }).priority, 'prefill-first');
  assert.ok(p.defaults.some((d) => d.setting === 'enable_mixed_chunk' && d.value === false && /@ 001067ff/.test(d.source)));
});

test('servingEnginePreset(vllm) captures CUDA graphs at [1, 2, 4] + 8..248 by 8 + 256..min(2·max_num_seqs, 512) by 16', () => {
  // vllm/config/compilation.py, max_cudagraph_capture_size: 3 + 31 + 17 = 51 sizes up to 512.
  const g = servingEnginePreset('vllm', device('h100-sxm')).decodeGraphSizes!;
  assert.equal(g.length, 51);
  assert.deepEqual(g.slice(0, 5), [1, 2, 4, 8, 16]);
  assert.equal(g[g.length - 1], 512);
  assert.equal(servingEnginePreset('trtllm').decodeGraphSizes, undefined);
});
