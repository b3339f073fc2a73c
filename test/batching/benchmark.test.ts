import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateServing, serveBenchmarkMetrics, servingBacklog, servingConcurrencySweep, constantStepCost, parseServingTrace, type ServingConfig } from '../../lib/batching/index.js';
import { InputError } from '../../lib/util/errors.js';
import { CONCURRENCY_COLUMNS, catalogServingReplica, engineDevice, presetMemoryFraction, replicaKvCapacity, servingEnginePreset, servingReplicaSweep } from '../../lib/batching/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel } from '../../lib/models/index.js';

const S = 0.01;
const close = (a: number | null, b: number, tol = 1e-9) => assert.ok(a !== null && Math.abs(a - b) <= tol * Math.abs(b), `${a} != ${b}`);

test('serveBenchmarkMetrics: one client at a constant step S has TTFT S, TPOT = ITL = S, E2EL o·S', () => {
  // Closed form: whole-prompt prefill is one step (the first token), then o − 1 decode steps,
  // and the client sends its next request the moment the last one finishes.
  const o = 8;
  const config: ServingConfig = {
    arrivals: { kind: 'closed', clients: 1 },
    requests: 50,
    promptTokens: { kind: 'fixed', tokens: 100 },
    outputTokens: { kind: 'fixed', tokens: o },
    policy: { kind: 'continuous', maxBatch: 4 },
    stepCost: constantStepCost(S),
    warmupRequests: 1,
  };
  const m = serveBenchmarkMetrics(simulateServing(config, 1), 1);
  assert.equal(m.completed, 49);
  assert.equal(m.warmupRequests, 1);
  close(m.meanTtftMs, 1000 * S);
  close(m.p99TtftMs, 1000 * S);
  close(m.meanTpotMs, 1000 * S);
  close(m.meanItlMs, 1000 * S);
  close(m.medianItlMs, 1000 * S, 1e-3); // histogram bin, 0.05 %
  close(m.p99ItlMs, 1000 * S, 1e-3);
  // The steady-state window: the second request is sent when the first finishes (o · S) and the last finishes at 50 o S.
  close(m.windowStartSeconds, o * S);
  close(m.windowEndSeconds, 50 * o * S);
  close(m.meanE2elMs, 1000 * o * S);
  close(m.durationSeconds, 49 * o * S);
  close(m.drainSeconds, o * S);
  close(m.requestThroughput, 1 / (o * S));
  close(m.outputThroughput, 1 / S);
  close(m.totalTokenThroughput, (100 + o) / (o * S));
  assert.equal(m.totalInput, 49 * 100);
  assert.equal(m.totalOutput, 49 * o);
});

test('serveBenchmarkMetrics leaves the warm-up round out: its requests wait for the first synchronised prefill', () => {
  // 8 clients at t = 0 with one-token outputs at batch 1: the first round queues behind
  // itself (TTFT S, 2S, ..., 8S); later rounds too, so the warm-up changes the count, not the law.
  const config: ServingConfig = {
    arrivals: { kind: 'closed', clients: 8 },
    requests: 80,
    promptTokens: { kind: 'fixed', tokens: 10 },
    outputTokens: { kind: 'fixed', tokens: 1 },
    policy: { kind: 'continuous', maxBatch: 1 },
    stepCost: constantStepCost(S),
  };
  const r = simulateServing(config, 1);
  const all = serveBenchmarkMetrics(r, 0);
  const warm = serveBenchmarkMetrics(r, 8);
  assert.equal(all.completed, 80);
  assert.equal(warm.completed, 72);
  // Batch 1, one step per request: request k finishes at (k + 1) S. The first measured
  // request (the 9th) is sent when the first finishes, at S; the last finishes at 80 S.
  close(warm.durationSeconds, 79 * S);
  close(warm.requestThroughput, 72 / (79 * S));
  close(all.requestThroughput, 80 / (80 * S));
  // Warm-up TTFTs are S..8S (mean 4.5 S); in steady state each request waits for the 7 others: 8 S.
  close(all.meanTtftMs, 1000 * S * (4.5 * 8 + 8 * 72) / 80);
  close(warm.meanTtftMs, 1000 * 8 * S);
  assert.equal(warm.meanTpotMs, null); // one-token outputs have no TPOT
  assert.equal(warm.meanItlMs, null);
});

// A hand-made timeline (trace replay, prefill-first continuous batching, a constant step S):
// r0 (warm-up) arrives at 0, r1 at 1.5 S.
//   [0, S)   prefill r0            -> r0 token 1 at S
//   [S, 2S)  decode r0             -> r0 token 2 at 2S (gap S)
//   [2S, 3S) prefill r1, r0 paused -> r1 token 1 at 3S
//   [3S, 4S) decode r0, r1         -> r0 token 3 at 4S (gap 2S, done), r1 token 2 at 4S (gap S, done)
// ITL as vllm bench serve pools it (vllm/benchmarks/serve.py:661, endpoint_request_func.py:289-295):
// all requests {S, 2S, S}; after the one warm-up request {S}. TPOT (serve.py:656-657): r0 (4S − S) / 2 = 1.5 S, r1 S.
const timeline: ServingConfig = {
  arrivals: { kind: 'trace', trace: parseServingTrace(`timestamp,prompt_tokens,output_tokens\n0,16,3\n${1.5 * S},16,2\n`) },
  promptTokens: { kind: 'fixed', tokens: 16 },
  outputTokens: { kind: 'fixed', tokens: 2 },
  policy: { kind: 'continuous', maxBatch: 4, priority: 'prefill-first' },
  stepCost: constantStepCost(S),
};

test('serveBenchmarkMetrics of a hand-made timeline: the warm-up request\'s long gap leaves median and p99 ITL', () => {
  const all = serveBenchmarkMetrics(simulateServing(timeline, 1), 0);
  const warm = serveBenchmarkMetrics(simulateServing({ ...timeline, warmupRequests: 1 }, 1), 1);
  close(all.meanItlMs, (1000 * 4 * S) / 3); // (S + 2S + S) / 3
  close(all.meanTpotMs, 1000 * 1.25 * S); // (1.5 S + S) / 2
  assert.ok(all.p99ItlMs! > 1000 * 1.9 * S, `${all.p99ItlMs}`); // the 2S gap is in the pool
  close(warm.meanItlMs, 1000 * S);
  close(warm.medianItlMs, 1000 * S, 1e-3);
  close(warm.p99ItlMs, 1000 * S, 1e-3); // r1's one gap, S: the warm-up's 2S is left out
  close(warm.meanTpotMs, 1000 * S);
  close(warm.meanTtftMs, 1000 * 1.5 * S); // r1: sent at 1.5 S, first token at 3S
  // Steady-state window: r1's send (1.5 S) to its finish (4S).
  close(warm.windowStartSeconds, 1.5 * S);
  close(warm.windowEndSeconds, 4 * S);
  close(warm.outputThroughput, 2 / (2.5 * S));
  // A run simulated without that warm-up kept no separate ITL for it: no median or p99 to give.
  const other = serveBenchmarkMetrics(simulateServing(timeline, 1), 1);
  assert.equal(other.medianItlMs, null);
  assert.equal(other.p99ItlMs, null);
  close(other.meanItlMs, 1000 * S); // the mean comes from the request log, exact either way
});

test('simulateServing refuses a warm-up that leaves no request to measure', () => {
  assert.throws(() => simulateServing({ ...timeline, warmupRequests: 2 }, 1), (e: unknown) => e instanceof InputError && e.field === 'warmupRequests');
});

test('serveBenchmarkMetrics names the field of a bad warm-up or a run without its log', () => {
  const config: ServingConfig = { arrivals: { kind: 'burst' }, requests: 4, promptTokens: { kind: 'fixed', tokens: 4 }, outputTokens: { kind: 'fixed', tokens: 2 }, policy: { kind: 'continuous', maxBatch: 4 }, stepCost: constantStepCost(S) };
  assert.throws(() => serveBenchmarkMetrics(simulateServing(config, 1), 4), (e: unknown) => e instanceof InputError && e.field === 'warmupRequests');
  assert.throws(() => serveBenchmarkMetrics(simulateServing({ ...config, keepRequests: false }, 1), 0), (e: unknown) => e instanceof InputError && e.field === 'result.requestLog');
});

test('servingConcurrencySweep reports the bench-serve figures per row and takes an engine name', () => {
  const workload = { requests: 400, promptTokens: { kind: 'fixed' as const, tokens: 64 }, outputTokens: { kind: 'fixed' as const, tokens: 16 } };
  const replica = { label: 'constant 10 ms', stepCost: constantStepCost(S) };
  const c = servingConcurrencySweep(replica, workload, 'vllm', [1, 8], 1, { requestsPerClient: 20 });
  const rows = c.table.objects() as Array<Record<string, number | string>>;
  assert.equal(rows[0].completed, 19); // 20 requests, the first one warm-up
  assert.equal(rows[1].completed, 160 - 8);
  assert.match(String(rows[0].config), /vllm preset/);
  // Output throughput = output tokens / duration; with 16-token outputs, 16 × the request throughput.
  close(rows[1].outputThroughput as number, 16 * (rows[1].requestThroughput as number));
  assert.throws(() => servingConcurrencySweep(replica, workload, 'vllm', [8], 1, { requestsPerClient: 1 }), (e: unknown) => e instanceof InputError && e.field === 'requestsPerClient');
});

test('servingConcurrencySweep: an engine named by its name takes the preset for the replica\'s device, as the CLI does', () => {
  const workload = { promptTokens: { kind: 'fixed' as const, tokens: 1000 }, outputTokens: { kind: 'fixed' as const, tokens: 64 } };
  const hw = loadHardware('h100-sxm');
  const replica = catalogServingReplica(loadModel('llama-3.1-8b'), hw, { parallelism: { tp: 1 }, precision: 'bf16', efficiency: 'spec' });
  assert.deepEqual(replica.device, engineDevice(hw, 1));
  const rows = (c: ReturnType<typeof servingConcurrencySweep>) => JSON.stringify(c.table.objects());
  const named = servingConcurrencySweep(replica, workload, 'vllm', [1, 64], 1, { requestsPerClient: 4 });
  const forDevice = servingConcurrencySweep(replica, workload, servingEnginePreset('vllm', engineDevice(hw, 1)), [1, 64], 1, { requestsPerClient: 4 });
  assert.equal(rows(named), rows(forDevice));
  // vLLM sizes its token budget by the device's memory (vllm/engine/arg_utils.py:3010-3043, get_batch_defaults: 8192 tokens at ≥ 70 GiB, else 2048):
  // an H100's differs from an unknown device's, so the device is not ignored.
  // A replica whose steps name no device (a hand-built step cost): neither it nor its step cost says where it runs.
  const { device: _, kvCapacityUnder: _k, ...rest } = replica;
  const anonymous = { ...rest, stepCost: Object.assign((w: Parameters<typeof replica.stepCost>[0]) => replica.stepCost(w), { label: replica.stepCost.label }) };
  assert.notEqual(rows(servingConcurrencySweep(anonymous, workload, 'vllm', [1, 64], 1, { requestsPerClient: 4 })), rows(named));
  // simulateServing given the replica's step cost takes the same device's preset for a named engine, and for the
  // default engine of a configuration with no policy (it took the unknown device's 2048-token budget and 256 sequences).
  const config = { ...workload, requests: 8, arrivals: { kind: 'burst' as const }, stepCost: replica.stepCost, kvCapacityTokens: replica.kvCapacityTokens };
  for (const run of [simulateServing({ ...config, engine: 'vllm' }, 1), simulateServing(config, 1)]) assert.match(run.provenance.config, /vllm preset .*budget 8192 tok\/step, batch ≤ 1024/);
});

test('CONCURRENCY_COLUMNS describes every column of a concurrency table, no more and no fewer (it described 13 of 39)', () => {
  const r = catalogServingReplica(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { parallelism: { tp: 1 }, efficiency: 'spec' });
  const c = servingConcurrencySweep(r, { promptTokens: { kind: 'fixed', tokens: 200 }, outputTokens: { kind: 'fixed', tokens: 20 } }, 'vllm', [1, 4], 1, { requestsPerClient: 3 });
  for (const row of c.table.objects() as Array<Record<string, unknown>>) assert.deepEqual(Object.keys(row).sort(), Object.keys(CONCURRENCY_COLUMNS).sort());
});

test('servingConcurrencySweep under a named engine sizes the KV cache by its memory rule, as simulate --engine does (SGLang on 70B TP2: it ran on the replica\'s 0.9 share, 23× the tokens)', () => {
  const hw = loadHardware('h100-sxm');
  const model = loadModel('llama-3.1-70b');
  const config = { parallelism: { tp: 2 }, precision: 'bf16' as const, efficiency: 'spec' as const };
  const replica = catalogServingReplica(model, hw, config);
  const preset = servingEnginePreset('sglang', engineDevice(hw, 2));
  const under = replicaKvCapacity(replica, preset)!;
  // The preset's rule is presetMemoryFraction's share, and the CLI sizes its replica by the same share.
  assert.equal(under, catalogServingReplica(model, hw, { ...config, memoryFraction: presetMemoryFraction(preset, model, hw, config) }).kvCapacityTokens);
  assert.ok(under < replica.kvCapacityTokens / 4, `${under} against ${replica.kvCapacityTokens}`);
  const c = servingConcurrencySweep(replica, { promptTokens: { kind: 'fixed', tokens: 200 }, outputTokens: { kind: 'fixed', tokens: 20 } }, 'sglang', [4], 1, { requestsPerClient: 2 });
  assert.match(String((c.table.objects()[0] as { config: string }).config), new RegExp(`KV ${under} tok`));
  // servingReplicaSweep's engine points hold the same; its policy points keep the replica's own cache.
  const sweep = servingReplicaSweep([replica], { workload: { requests: 40, arrivals: { kind: 'poisson', ratePerSecond: 1 }, promptTokens: { kind: 'fixed', tokens: 200 }, outputTokens: { kind: 'fixed', tokens: 20 } }, policies: ['continuous'], engines: ['sglang'], maxBatches: [8], loads: [0.5] }, 1).objects() as Array<{ engine: string | null; config: string }>;
  assert.match(sweep.find((r) => r.engine === 'sglang')!.config, new RegExp(`KV ${under} tok`));
  assert.match(sweep.find((r) => r.engine === null)!.config, new RegExp(`KV ${replica.kvCapacityTokens} tok`));
  // A share the caller fixed stands: the preset's rule does not replace it.
  const fixed = catalogServingReplica(model, hw, { ...config, memoryFraction: 0.95 });
  assert.equal(replicaKvCapacity(fixed, preset), fixed.kvCapacityTokens);
});

test('itlAfterWarmup holds exactly the measured requests\' gaps, through preemptions and recomputes', () => {
  // Every request after the warm-up contributes output − 1 gaps summing to finish − first token (the request log).
  const config: ServingConfig = {
    arrivals: { kind: 'closed', clients: 24 },
    requests: 240,
    promptTokens: { kind: 'uniform', min: 20, max: 400 },
    outputTokens: { kind: 'uniform', min: 2, max: 120 },
    policy: { kind: 'chunked', maxBatch: 24, tokenBudget: 256 },
    kvAdmission: 'blocks',
    kvBlockTokens: 16,
    kvCapacityTokens: 2400,
    stepCost: constantStepCost(S),
    warmupRequests: 24,
  };
  const r = simulateServing(config, 5);
  assert.ok(r.preemptions > 0, 'the tight KV cache preempts');
  const log = r.requestLog!;
  let gaps = 0;
  let seconds = 0;
  for (let i = 24; i < r.requests; i++) {
    gaps += log.outputTokens[i] - 1;
    seconds += log.finish[i] - log.firstToken[i];
  }
  const steady = r.itlAfterWarmup!;
  assert.equal(steady.warmupRequests, 24);
  assert.equal(steady.itl!.count, gaps);
  close(steady.itl!.mean, seconds / gaps, 1e-9);
  assert.ok(r.itl!.count > gaps);
  // Simulating with a warm-up changes nothing else of the run.
  const plain = simulateServing({ ...config, warmupRequests: undefined }, 5);
  const { itlAfterWarmup: _kept, ...rest } = r;
  assert.deepEqual({ ...plain, provenance: null }, { ...rest, provenance: null });
});

test('servingBacklog: a replica serving one request per step S keeps up with arrivals every 2S and falls behind arrivals every S/2', () => {
  // One sequence a step (maxBatch 1), one output token: each request is one step of S, so the
  // replica serves at most 1/S = 100 req/s.
  const trace = (gap: number) => parseServingTrace(`timestamp,prompt_tokens,output_tokens\n${Array.from({ length: 80 }, (_, i) => `${(i * gap).toFixed(6)},16,1`).join('\n')}\n`);
  const run = (gap: number) => simulateServing({ arrivals: { kind: 'trace', trace: trace(gap) }, promptTokens: { kind: 'fixed', tokens: 16 }, outputTokens: { kind: 'fixed', tokens: 1 }, policy: { kind: 'continuous', maxBatch: 1 }, stepCost: constantStepCost(S) }, 1);
  // Every 2S (50 req/s): the window runs from request 20's arrival (0.40 s) to the last (1.58 s);
  // requests 21–79 arrive in it (59) and requests 20–78 finish in it (finish = arrival + S): 59.
  const calm = servingBacklog(run(2 * S))!;
  close(calm.fromSeconds, 0.4);
  close(calm.toSeconds, 1.58);
  assert.equal(calm.arrived, 59);
  assert.equal(calm.finished, 59);
  // Every request takes S end to end: both quarters' medians are S.
  close(calm.e2eSecondQuarter, S);
  close(calm.e2eLastQuarter, S);
  assert.equal(calm.growing, false);
  // Every S/2 (200 req/s): the window is 0.100–0.395 s, 59 arrive; the busy replica finishes
  // request k at (k + 1)·S, so k = 10 … 38 finish in it: 29, about 100 of 200 req/s.
  const busy = servingBacklog(run(S / 2))!;
  assert.equal(busy.arrived, 59);
  assert.ok(Math.abs(busy.finished - 29) <= 1, `${busy.finished}`);
  assert.ok(Math.abs(busy.servedPerSecond - 1 / S) <= 0.05 / S, `${busy.servedPerSecond}`);
  close(busy.offeredPerSecond, 59 / 0.295);
  // Request k waits for the k before it: end to end (k + 1)·S − k·S/2 = S + k·S/2. The second
  // quarter's (k = 20 … 39) median is at k = 29.5, 15.75 S; the last's (k = 60 … 79) at 69.5, 35.75 S.
  close(busy.e2eSecondQuarter, 15.75 * S, 1e-6);
  close(busy.e2eLastQuarter, 35.75 * S, 1e-6);
  assert.equal(busy.growing, true);
  // Too few requests for a rate, and a run without its log, are said so.
  assert.equal(servingBacklog(simulateServing({ ...timeline }, 1)), null);
  assert.throws(() => servingBacklog(simulateServing({ ...timeline, keepRequests: false }, 1)), (e: unknown) => e instanceof InputError && e.field === 'result.requestLog');
});
