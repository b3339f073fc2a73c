import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogServingReplica, servingCapacity, servingReplicaSweep, servingSweepSpread, constantStepCost, simulateServing, servingSweepPoints, presetMemoryFraction, servingEnginePreset, engineDevice } from '../../lib/batching/index.js';
import * as aq from 'arquero';
import { loadModel } from '../../lib/models/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { InputError } from '../../lib/util/errors.js';
import { kvCacheCapacity, memoryFit, perfStepCost } from '../../lib/roofline/deployment.js';

test('servingCapacity equals maxBatch / S for one-step requests at constant step time S', () => {
  // All 1000 requests are queued at t = 0; each 10 ms step serves 10 of them.
  const base = {
    arrivals: { kind: 'poisson' as const, ratePerSecond: 1 }, // replaced by a burst
    requests: 1000,
    promptTokens: { kind: 'fixed' as const, tokens: 1 },
    outputTokens: { kind: 'fixed' as const, tokens: 1 },
    stepCost: constantStepCost(0.01),
  };
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9 * b, `${a} vs ${b}`);
  close(servingCapacity(base, { kind: 'continuous', maxBatch: 10 }, 1), 1000);
  // A window dispatches a full batch at once too: the same 1000 requests/s.
  close(servingCapacity(base, { kind: 'static', windowMs: 1000, maxBatch: 10 }, 1), 1000);
  // Ten-token outputs: cohorts of 10 run 1 prefill + 9 decode steps, so 10 / (10 × 10 ms) = 100/s
  // in steady state, although the last cohort's drain makes n / makespan lower.
  close(servingCapacity({ ...base, outputTokens: { kind: 'fixed', tokens: 10 } }, { kind: 'continuous', maxBatch: 10 }, 1), 100);
  // Burst arrivals take no rate axis in a sweep.
  assert.throws(
    () => servingSweepPoints({ base: { ...base, arrivals: { kind: 'burst' } }, policies: ['continuous'], maxBatches: [1], ratesPerSecond: [5] }),
    (e: unknown) => e instanceof InputError && e.field === 'ratesPerSecond',
  );
});

test('catalogServingReplica KV capacity for Llama-3.1-70B bf16 on 4×H100 is (4·80 GiB − weights) / 327,680 B: memoryFit\'s whole capacity', () => {
  // 327,680 B/token = 2 (K,V) × 8 KV heads × 128 head dim × 80 layers × 2 bytes (data/models/llama-3.1-70b.json);
  // 80 GiB per H100 SXM (data/hardware/h100-sxm.json, from aiconfigurator's h100_sxm.yaml). The capacity is what
  // memoryFit leaves beside the weights (USABLE_MEMORY_FRACTION = 1). This test used to expect 0.9·4·80 GB
  // (about 448,300 tokens): a second memory assumption that only the replica made; it is now
  // the explicit memoryFraction below.
  const model = loadModel('llama-3.1-70b');
  const r = catalogServingReplica(model, loadHardware('h100-sxm'), { dtype: 'bf16', devices: 4 });
  const weights = 70.55e9 * 2; // ≈70.55 B parameters (Meta's model card rounds to 70B)
  const expected = (4 * 80 * 2 ** 30 - weights) / 327_680;
  assert.ok(Math.abs(r.kvCapacityTokens - expected) / expected < 0.002, `${r.kvCapacityTokens} vs ${expected}`);
  // vLLM's default gpu_memory_utilization (0.9), given as the engine's setting.
  const v = catalogServingReplica(model, loadHardware('h100-sxm'), { dtype: 'bf16', devices: 4, memoryFraction: 0.9 });
  const expected09 = (0.9 * 4 * 80 * 2 ** 30 - weights) / 327_680;
  assert.ok(Math.abs(v.kvCapacityTokens - expected09) / expected09 < 0.002, `${v.kvCapacityTokens} vs ${expected09}`);
  // The same answer as the one memory fit: that many tokens fit, in sequences of 4,096, and one more sequence does not.
  const seqs = Math.floor(r.kvCapacityTokens / 4096);
  const cfg = { parallelism: { tp: 4 }, precision: 'bf16' as const, efficiency: 'spec' as const };
  assert.equal(memoryFit(model, loadHardware('h100-sxm'), cfg, { batch: seqs, context: 4096, tokens: 0 }).fits, true);
  assert.equal(memoryFit(model, loadHardware('h100-sxm'), cfg, { batch: seqs + 1, context: 4096, tokens: 0 }).fits, false);
  assert.match(r.label, /llama-3\.1-70b bf16 on 4× h100-sxm \(spec roofline\)/);
  assert.equal(r.stepCost.label, r.label);
  // The step cost is the model's roofline: a batch-1 decode step reads every weight but the
  // embedding table (128,256 × 8,192 bf16, from the config) at 4 × 3.35 TB/s (H100 SXM datasheet).
  const t = r.stepCost({ prefillTokens: 0, decodeTokens: 1, contextTokens: 1000 });
  const read = (weights - 128_256 * 8_192 * 2) / (4 * 3.35e12);
  assert.ok(t > read && t < 1.2 * read, `${t} vs ${read}`);
});

test('catalogServingReplica refuses a replica whose weights do not fit, naming devices', () => {
  // DeepSeek-V3 has 671 B parameters: 671 GB in fp8 does not fit in one 141 GB H200.
  assert.throws(
    () => catalogServingReplica(loadModel('deepseek-v3'), loadHardware('h200'), { dtype: 'fp8', devices: 1 }),
    (e: unknown) => e instanceof InputError && e.field === 'devices',
  );
});

test('simulateServing on a catalog replica: continuous batching beats a 200 ms window on p99 at the same load', () => {
  const r = catalogServingReplica(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { dtype: 'bf16' });
  const base = {
    arrivals: { kind: 'poisson' as const, ratePerSecond: 20 },
    requests: 600,
    promptTokens: { kind: 'fixed' as const, tokens: 256 },
    outputTokens: { kind: 'fixed' as const, tokens: 32 },
    stepCost: r.stepCost,
    kvCapacityTokens: r.kvCapacityTokens,
  };
  const cont = simulateServing({ ...base, policy: { kind: 'continuous', maxBatch: 64 } }, 1);
  const win = simulateServing({ ...base, policy: { kind: 'static', windowMs: 200, maxBatch: 64 } }, 1);
  // A window adds up to W of collection wait, and newcomers wait for a whole batch to drain.
  assert.ok(cont.e2e.p99 < win.e2e.p99, `${cont.e2e.p99} vs ${win.e2e.p99}`);
  assert.ok(win.wait.mean > 0.05, `${win.wait.mean}`); // at least a fraction of W/2 = 100 ms on average
});

test('servingReplicaSweep sets rates as fractions of each replica\'s capacity and labels every row', () => {
  const workload = {
    arrivals: { kind: 'poisson' as const, ratePerSecond: 1 },
    requests: 400,
    promptTokens: { kind: 'fixed' as const, tokens: 1 },
    outputTokens: { kind: 'fixed' as const, tokens: 1 },
  };
  const fast = { label: 'fast', stepCost: constantStepCost(0.001) };
  const slow = { label: 'slow', stepCost: constantStepCost(0.01) };
  const t = servingReplicaSweep([fast, slow], { workload, policies: ['continuous', 'static'], maxBatches: [1, 4], windowsMs: [5], loads: [0.5] }, 1);
  const rows = t.objects() as Array<{ replica: string; series: string; load: number; capacityRps: number; ratePerSecond: number; cost: string; utilisation: number; maxBatch: number; policy: string }>;
  assert.equal(rows.length, 2 * 4); // per replica: continuous × 2 batch limits + window × 2 batch limits
  for (const r of rows) {
    // Capacity of one-step requests at batch limit 4 is 4 / S (see the servingCapacity test).
    const S = r.replica === 'fast' ? 0.001 : 0.01;
    assert.ok(Math.abs(r.capacityRps - 4 / S) < 1e-6 * r.capacityRps, `${r.capacityRps}`);
    assert.ok(Math.abs(r.ratePerSecond - 0.5 * r.capacityRps) < 1e-9 * r.capacityRps);
    assert.equal(r.series, `${r.replica} · ${r.policy}`);
    assert.equal(r.cost, r.replica);
  }
  // Batch limit 1 at half the batch-4 capacity is ρ = 2: overloaded, the engine never idles.
  const b1 = rows.find((r) => r.replica === 'slow' && r.policy === 'continuous' && r.maxBatch === 1)!;
  assert.ok(b1.utilisation > 0.99, `${b1.utilisation}`);
  assert.throws(() => servingReplicaSweep([fast], { workload: { ...workload, arrivals: { kind: 'burst' } }, policies: ['continuous'], maxBatches: [1], loads: [1] }, 1), (e: unknown) => e instanceof InputError && e.field === 'workload.arrivals.kind');
  assert.throws(() => servingReplicaSweep([fast], { workload, policies: ['continuous'], maxBatches: [1], loads: [0] }, 1), (e: unknown) => e instanceof InputError && e.field === 'loads[0]');
});

test('catalogServingReplica FLOPs follow the work when the engine rewrites one StepWork object', () => {
  const r = catalogServingReplica(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { dtype: 'bf16' });
  const w = { prefillTokens: 0, decodeTokens: 8, contextTokens: 8000, prefillSequences: 0, prefillAttentionPairs: 0 };
  const decodeOnly = { ...w };
  const decode = r.stepCost.flops!(w);
  w.prefillTokens = 512;
  w.prefillSequences = 1;
  w.prefillAttentionPairs = (512 * 513) / 2;
  const mixed = r.stepCost.flops!(w);
  // The same object with 512 more prompt tokens costs more than the decode-only step,
  // and exactly what a fresh copy of those counts costs.
  assert.ok(mixed > decode);
  assert.equal(mixed, r.stepCost.flops!({ ...w }));
  assert.equal(decode, r.stepCost.flops!(decodeOnly));
});

test('catalogServingReplica takes the PerfConfig of stepTime: the default engine\'s kernel tables as the CLI prices (framework null: the calibrated model alone), and its KV capacity from memoryFit', () => {
  const model = loadModel('llama-3.1-70b');
  const hw = loadHardware('h100-sxm'); // carries a sourced calibration (data/hardware/h100-sxm.json)
  // Named no framework, the replica prices as batchlab simulate does: vLLM's tables (data/kernels holds h100_sxm/vllm).
  assert.match(catalogServingReplica(model, hw, { parallelism: { tp: 4 }, precision: 'fp8' }).label, /\(performance model, calibrated, vllm [\d.]+ kernel tables\)/);
  const config = { parallelism: { tp: 4 }, precision: 'fp8' as const, framework: null };
  const r = catalogServingReplica(model, hw, config);
  assert.match(r.label, /llama-3\.1-70b fp8 on 4× h100-sxm \(performance model, calibrated\)/);
  // The step cost is perfStepCost of the same config, to the bit.
  const w = { prefillTokens: 0, decodeTokens: 32, contextTokens: 32 * 2048 };
  assert.equal(r.stepCost(w), perfStepCost(model, hw, config)(w));
  // The calibrated step is slower than the datasheet bound of the same config.
  assert.ok(r.stepCost(w) > perfStepCost(model, hw, { ...config, efficiency: 'spec' })(w));
  assert.equal(r.kvCapacityTokens, kvCacheCapacity(model, hw, config).tokens);
  // fp8 KV: 163,840 B per token (half the bf16 figure of the test above), weights 70.55 GB over 4 devices of 80 GiB.
  const expected = (4 * 80 * 2 ** 30 - 70.55e9) / 163_840;
  assert.ok(Math.abs(r.kvCapacityTokens - expected) / expected < 0.002, `${r.kvCapacityTokens} vs ${expected}`);
  assert.equal(r.usdPerHour, 4 * hw.hourlyPriceUsd);
  // Two ways of saying the same thing are refused, naming the field.
  assert.throws(() => catalogServingReplica(model, hw, { dtype: 'bf16', precision: 'bf16' }), (e: unknown) => e instanceof InputError && e.field === 'precision');
  assert.throws(() => catalogServingReplica(model, hw, { devices: 4, parallelism: { tp: 4 } }), (e: unknown) => e instanceof InputError && e.field === 'devices');
  assert.throws(() => catalogServingReplica(model, hw, { ...config, memoryFraction: 1.5 }), (e: unknown) => e instanceof InputError && e.field === 'memoryFraction');
  // The kernel-table path of stepTime: the same config, the same seconds, and the same memory fit.
  const kt = { parallelism: { tp: 8 }, precision: 'bf16' as const, framework: 'trtllm' };
  const h200 = loadHardware('h200');
  const t = catalogServingReplica(model, h200, kt);
  assert.match(t.label, /\(performance model, calibrated, trtllm 1\.3\.0rc20 kernel tables\)$/);
  assert.equal(t.stepCost(w), perfStepCost(model, h200, kt)(w));
  assert.equal(t.kvCapacityTokens, kvCacheCapacity(model, h200, { ...kt, framework: undefined }).tokens);
  // A calibrated model that does not fit names memory.
  assert.throws(() => catalogServingReplica(loadModel('deepseek-v3'), loadHardware('h200'), { precision: 'fp8' }), (e: unknown) => e instanceof InputError && e.field === 'memory');
});

test('presetMemoryFraction applies an engine preset\'s memory rule to a deployment\'s weights', () => {
  const model = loadModel('llama-3.1-8b');
  const hw = loadHardware('h100-sxm');
  const config = { precision: 'fp8' as const, parallelism: { tp: 1 } };
  // Weights by memoryFit (about 8e9 parameters at 1 byte) over 80 · 2^30 bytes (data/hardware/h100-sxm.json).
  const w = memoryFit(model, hw, config, { batch: 0, context: 0 }).weightBytes / (80 * 2 ** 30);
  // trtllm: 90 % of the memory left beside the weights (serve.py @ 00209af1): 0.9 + 0.1 · w.
  assert.ok(Math.abs(presetMemoryFraction(servingEnginePreset('trtllm'), model, hw, config) - (0.9 + 0.1 * w)) < 1e-12);
  // vLLM 0.34: gpu_memory_utilization 1.0 of the device; SGLang: its mem_fraction_static, whatever the weights.
  assert.equal(presetMemoryFraction(servingEnginePreset('vllm'), model, hw, config), 1);
  const sg = servingEnginePreset('sglang', engineDevice(hw));
  assert.equal(presetMemoryFraction(sg, model, hw, config), sg.memory.fraction);
  assert.throws(() => presetMemoryFraction(null as never, model, hw, config), /preset/);
});

test('servingSweepSpread(sweeps, { keys, columns }) gives each point the median, p10 and p90 over the repetitions (linear interpolation between ranks)', () => {
  // Five hand-made repetitions of two points: values 1..5 at W = 0 (listed out of order) and 10 at W = 5 in all but one.
  const reps = [3, 1, 5, 2, 4].map((v, i) => aq.from([{ loadLabel: '50 % load', windowMs: 0, itlP99: v, other: 'x' }, { loadLabel: '50 % load', windowMs: 5, itlP99: i === 2 ? null : 10 }]));
  const [w0, w5] = servingSweepSpread(reps, { keys: ['loadLabel', 'windowMs'], columns: ['itlP99'] }).objects() as Array<Record<string, unknown>>;
  // R type 7 on 1..5: median 3, p10 = 1 + 0.1·4 = 1.4, p90 = 1 + 0.9·4 = 4.6.
  assert.deepEqual(w0, { loadLabel: '50 % load', windowMs: 0, repeats: 5, itlP99: 3, itlP99P10: 1.4, itlP99P90: 4.6 });
  // A null is skipped, not read as 0: four repetitions of 10.
  assert.deepEqual(w5, { loadLabel: '50 % load', windowMs: 5, repeats: 4, itlP99: 10, itlP99P10: 10, itlP99P90: 10 });
  // Real sweeps of one replica at three step costs: the median of each point is the middle of its three values.
  const workload = { requests: 200, arrivals: { kind: 'poisson' as const, ratePerSecond: 1 }, promptTokens: { kind: 'fixed' as const, tokens: 32 }, outputTokens: { kind: 'fixed' as const, tokens: 8 } };
  const sweeps = [0.01, 0.012, 0.015].map((s) => servingReplicaSweep([{ label: 'r', stepCost: constantStepCost(s) }], { workload, policies: ['window'], windowsMs: [0, 20], maxBatches: [16], loads: [0.5] }, 1));
  const spread = servingSweepSpread(sweeps, { keys: ['loadLabel', 'windowMs'], columns: ['itlP99', 'busySecondsPer1kTokens'] }).objects() as Array<Record<string, number>>;
  assert.equal(spread.length, 2);
  for (const p of spread) {
    const values = sweeps.map((t) => (t.objects() as Array<Record<string, number>>).find((r) => r.windowMs === p.windowMs)!.itlP99).sort((a, b) => a - b);
    assert.equal(p.itlP99, values[1]);
    assert.ok(p.itlP99P10 >= values[0] && p.itlP99P10 <= p.itlP99 && p.itlP99P90 <= values[2] && p.itlP99P90 >= p.itlP99);
  }
  assert.throws(() => servingSweepSpread([], { keys: ['windowMs'], columns: ['itlP99'] }), (e: unknown) => e instanceof InputError && e.field === 'sweeps');
  assert.throws(() => servingSweepSpread(reps, { keys: ['nope'], columns: ['itlP99'] }), (e: unknown) => e instanceof InputError && e.field === 'keys');
  assert.throws(() => servingSweepSpread(reps, { keys: ['windowMs'], columns: [] }), (e: unknown) => e instanceof InputError && e.field === 'columns');
});
