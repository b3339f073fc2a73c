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
});
