import { test } from 'node:test';
import assert from 'node:assert/strict';
import { servingSweep, servingSweepPoints, servingReplicaSweep, servingEnginePreset, simulateServing, constantStepCost, type ServingSweepGrid } from '../../lib/batching/index.js';
import { InputError } from '../../lib/util/errors.js';

const base: ServingSweepGrid['base'] = {
  arrivals: { kind: 'poisson', ratePerSecond: 10 },
  requests: 300,
  promptTokens: { kind: 'fixed', tokens: 3000 },
  outputTokens: { kind: 'fixed', tokens: 20 },
  stepCost: constantStepCost(0.01),
  kvCapacityTokens: 60_000,
};

test('servingSweep runs engine presets beside the policies, one point per engine and rate, labelled by engine', () => {
  const grid: ServingSweepGrid = { base, policies: ['continuous'], maxBatches: [16], engines: ['vllm', 'trtllm'], ratesPerSecond: [5, 20] };
  // Per rate: 1 continuous point + 2 engines = 3; two rates = 6.
  const points = servingSweepPoints(grid);
  assert.equal(points.length, 6);
  const rows = servingSweep(grid, 3).objects() as Array<Record<string, unknown>>;
  assert.deepEqual(rows.map((r) => r.engine), [null, 'vllm', 'trtllm', null, 'vllm', 'trtllm']);
  // A point runs exactly the preset's policy and KV admission: the same run as simulateServing with the engine.
  const vllm = servingEnginePreset('vllm');
  assert.deepEqual(points[1].policy, vllm.policy);
  assert.equal(points[1].kvAdmission, 'blocks');
  const direct = simulateServing({ ...base, arrivals: { kind: 'poisson', ratePerSecond: 5 }, engine: 'vllm', keepRequests: false }, 3);
  assert.equal(rows[1].ttftP99, direct.ttft.p99);
  assert.equal(rows[2].tokenBudget, 8192); // TensorRT-LLM max_num_tokens (tensorrt_llm/builder.py @ 008b2b8d)
  assert.throws(() => servingSweepPoints({ ...grid, engines: ['tgi' as never] }), (e: unknown) => e instanceof InputError && e.field === 'engine');
  assert.throws(() => servingSweepPoints({ ...grid, base: { ...base, engine: 'vllm' } }), (e: unknown) => e instanceof InputError && e.field === 'base.engine');
});

test('servingReplicaSweep names an engine point’s series by its engine', () => {
  const t = servingReplicaSweep([{ label: 'r', stepCost: constantStepCost(0.01), kvCapacityTokens: 60_000 }], { workload: { ...base, stepCost: undefined } as never, policies: ['continuous'], maxBatches: [16], engines: ['vllm'], loads: [0.5] }, 1);
  assert.deepEqual((t.objects() as Array<{ series: string }>).map((r) => r.series), ['r · continuous', 'r · vllm']);
});
