import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateServing, serveBenchmarkMetrics, servingConcurrencySweep, constantStepCost, type ServingConfig } from '../../lib/batching/index.js';
import { InputError } from '../../lib/util/errors.js';

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
  };
  const m = serveBenchmarkMetrics(simulateServing(config, 1), 1);
  assert.equal(m.completed, 49);
  assert.equal(m.warmupRequests, 1);
  close(m.meanTtftMs, 1000 * S);
  close(m.p99TtftMs, 1000 * S);
  close(m.meanTpotMs, 1000 * S);
  close(m.meanItlMs, 1000 * S);
  close(m.medianItlMs, 1000 * S, 1e-3); // histogram bin, 0.05 %
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
