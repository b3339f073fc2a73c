import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as aq from 'arquero';
import { simulateServing } from '../../lib/batching/simulate.js';
import { fitEngineStepCost } from '../../lib/engine/stepcost.js';
import type { EngineStepCostFit, EngineStepCostPoint } from '../../lib/engine/stepcost.js';
import { planLoad, summariseLoad } from '../../lib/server/load.js';
import type { LoadRequestRecord } from '../../lib/server/load.js';
import { comparePrediction, describePredictionErrors, measuredAfterWarmup, predictLoad, predictLoadDraws, PREDICTION_DRAWS, closedLoopWarmup, predictionErrorSummary, predictionRowsByUnit, servedStepRatio, serverStepCost } from '../../lib/server/predict.js';
import { predictionChart, predictionErrorChart } from '../../lib/plot/server.js';
import { promptTokens, tokenText } from '../../lib/server/http.js';
import { InputError } from '../../lib/util/errors.js';

function fit(): EngineStepCostFit {
  const pts: EngineStepCostPoint[] = [];
  for (const b of [1, 2, 4, 8]) pts.push({ kind: 'decode', sequences: b, tokensPerSequence: 1, context: 16, medianSeconds: 0.01 + 0.001 * b, iqrRelative: 0 });
  pts.push({ kind: 'decode', sequences: 4, tokensPerSequence: 1, context: 100, medianSeconds: 0.0145, iqrRelative: 0 });
  for (const p of [2, 4, 16, 64]) pts.push({ kind: 'prefill', sequences: 1, tokensPerSequence: p, context: 0, medianSeconds: 0.01 + 0.0003 * p, iqrRelative: 0 });
  return fitEngineStepCost(pts, { label: 'test fit', backend: 'none', model: 'none', reps: 1 });
}

/** Records of requests that each send at `send`, get n tokens `gap` apart after `ttft`. */
function records(rows: Array<[number, number, number, number]>): LoadRequestRecord[] {
  return rows.map(([send, ttft, n, gap], i) => {
    const tokenTimes = Array.from({ length: n }, (_, k) => send + ttft + k * gap);
    return { index: i, promptTokens: 8, outputTokens: n, send, tokenTimes, tokens: tokenTimes.map(() => 1), finish: tokenTimes[n - 1], status: 200 };
  });
}

test('serverStepCost(fit, overheads) adds the loop overhead to every step of the engine cost', () => {
  const f = fit();
  const w = { prefillTokens: 0, decodeTokens: 3, contextTokens: 60 };
  assert.equal(serverStepCost(f, { stepSeconds: 0.002, requestSeconds: 0.5 })(w), serverStepCost(f)(w) + 0.002);
  assert.match(serverStepCost(f, { stepSeconds: 0.002, requestSeconds: 0 }).label!, /2\.00 ms loop overhead/);
});

test('summariseLoad computes TTFT, inter-token gaps and throughput from request records', () => {
  // Two requests: sent at 0 and 1 s, first token after 0.1 and 0.3 s, 5 tokens 0.02 s apart.
  const r = summariseLoad(records([[0, 0.1, 5, 0.02], [1, 0.3, 5, 0.02]]), { url: 'x', workload: 'w', seed: 1 });
  // Median of {0.1, 0.3}; (1 + 0.3) − 1 carries float rounding, hence the tolerance.
  assert.ok(Math.abs(r.ttft.p50 - 0.2) < 1e-12 && Math.abs(r.ttft.max - 0.3) < 1e-12);
  assert.ok(Math.abs(r.itl!.p50 - 0.02) < 1e-12);
  // First send 0, last finish 1 + 0.3 + 4·0.02 = 1.38 s; 10 tokens.
  assert.ok(Math.abs(r.makespanSeconds - 1.38) < 1e-12);
  assert.ok(Math.abs(r.throughputTokensPerSecond - 10 / 1.38) < 1e-9);
  // Little's law by construction on the client side: area = Σ e2e = 0.18 + 0.38.
  assert.ok(Math.abs(r.meanInSystem - 0.56 / 1.38) < 1e-12);
  assert.throws(() => summariseLoad([], { url: 'x', workload: 'w', seed: 1 }), InputError);
});

test('summariseLoad follows vllm bench serve: TPOT = (e2e − TTFT) / (n − 1) per request, ITL excludes the first token, offered rate (n − 1) / send span', () => {
  // Request 0: sent at 0, tokens at 0.1, 0.12, 0.14, 0.16, 0.18, response ends at 0.20.
  const rec = records([[0, 0.1, 5, 0.02], [2, 0.3, 5, 0.02], [4, 0.1, 5, 0.02]]);
  rec[0].finish = 0.2;
  const r = summariseLoad(rec, { url: 'x', workload: 'w', seed: 1 }, { nominalRatePerSecond: 0.5, connections: 2 });
  // Request 0's TPOT: (0.2 − 0.1) / 4 = 0.025 (vLLM's benchmarks/serve.py calculate_metrics); the others 0.08 / 4 = 0.02.
  assert.ok(Math.abs(r.tpot!.max - 0.025) < 1e-12, String(r.tpot!.max));
  assert.ok(Math.abs(r.tpot!.p50 - 0.02) < 1e-12);
  // ITL: 4 gaps per request, none from send to the first token.
  assert.equal(r.itl!.count, 12);
  // Sends at 0, 2, 4: two gaps over 4 s.
  assert.equal(r.offeredRatePerSecond, 0.5);
  assert.equal(r.nominalRatePerSecond, 0.5);
  assert.equal(r.connections, 2);
  assert.equal(r.inputTokens, 24);
  assert.equal(r.outputTokens, 15);
  assert.ok(Math.abs(r.totalTokensPerSecond - 39 / r.makespanSeconds) < 1e-9);
});

test('planLoad draws the simulator\'s arrivals and lengths for a seed, the same on every call', () => {
  const w = { arrivals: { kind: 'poisson' as const, ratePerSecond: 4 }, requests: 20, promptTokens: { kind: 'uniform' as const, min: 4, max: 12 }, outputTokens: { kind: 'uniform' as const, min: 2, max: 6 } };
  const a = planLoad(w, 3);
  assert.deepEqual(planLoad(w, 3).requests, a.requests);
  // The arrival times are the ones simulateServing replays for the same workload and seed.
  const sim = simulateServing({ ...w, policy: { kind: 'continuous', maxBatch: 4 }, stepCost: serverStepCost(fit()) }, 3);
  assert.deepEqual(a.requests.map((q) => q.at), Array.from(sim.requestLog!.arrival));
  assert.deepEqual(a.requests.map((q) => q.prompt.length), Array.from(sim.requestLog!.promptTokens));
  assert.ok(a.requests.every((q) => q.prompt.every((t) => Number.isInteger(t) && t >= 0 && t < 256)));
  assert.equal(planLoad({ ...w, arrivals: { kind: 'closed', clients: 5 } }, 3).clients, 5);
});

test('comparePrediction adds the request overhead to predicted TTFT and reports (predicted − measured) / measured', () => {
  const f = fit();
  const workload = { arrivals: { kind: 'poisson' as const, ratePerSecond: 5 }, requests: 30, promptTokens: { kind: 'fixed' as const, tokens: 8 }, outputTokens: { kind: 'fixed' as const, tokens: 5 } };
  const predicted = predictLoad(workload, { kind: 'continuous', maxBatch: 4 }, f, 2);
  // The prediction is simulateServing of the same workload, seed and cost.
  const direct = simulateServing({ ...workload, policy: { kind: 'continuous', maxBatch: 4 }, stepCost: serverStepCost(f) }, 2);
  assert.equal(predicted.ttft.p50, direct.ttft.p50);
  const measured = summariseLoad(records([[0, 0.05, 5, 0.02], [0.5, 0.07, 5, 0.02]]), { url: 'x', workload: 'w', seed: 2 });
  const rows = comparePrediction(measured, predicted, { stepSeconds: 0, requestSeconds: 0.004 });
  const ttft = rows.find((r) => r.metric === 'TTFT p50 (s)')!;
  assert.equal(ttft.predicted, predicted.ttft.p50 + 0.004);
  assert.ok(Math.abs(ttft.measured - 0.06) < 1e-12);
  assert.equal(ttft.error, (ttft.predicted - ttft.measured) / ttft.measured);
  assert.deepEqual(rows.map((r) => r.metric), ['TTFT p50 (s)', 'TTFT p99 (s)', 'ITL p50 (s)', 'TPOT p50 (s)', 'throughput (tok/s)']);
});

test('predictionErrorSummary takes median and max |error| per metric and counts the points within 10 %', () => {
  const s = predictionErrorSummary([
    { metric: 'a', error: 0.05 },
    { metric: 'a', error: -0.2 },
    { metric: 'a', error: 0.1 },
    { metric: 'b', error: -0.3 },
  ]);
  assert.deepEqual(s, [
    { metric: 'a', points: 3, medianAbsError: 0.1, maxAbsError: 0.2, within10: 2 },
    { metric: 'b', points: 1, medianAbsError: 0.3, maxAbsError: 0.3, within10: 0 },
  ]);
  assert.match(describePredictionErrors([{ metric: 'throughput (tok/s)', points: 4, medianAbsError: 0.031, maxAbsError: 0.12, within10: 3 }]), /Throughput was predicted within a median of 3\.1 % \(3 of 4 points within 10 %, worst 12 %\)/);
});

test('predictionChart draws measured markers and predicted lines per model; predictionErrorChart draws the ±10 % band', () => {
  const points = aq.from([
    { model: 'dense', kind: 'window', windowMs: 30, maxBatch: 8, measuredTtftP50: 0.05, predictedTtftP50: 0.04 },
    { model: 'dense', kind: 'window', windowMs: 0, maxBatch: 8, measuredTtftP50: 0.03, predictedTtftP50: 0.02 },
    { model: 'MoE', kind: 'window', windowMs: 0, maxBatch: 8, measuredTtftP50: 0.06, predictedTtftP50: 0.05 },
    { model: 'MoE', kind: 'continuous', windowMs: 0, maxBatch: 2, measuredTtftP50: 1, predictedTtftP50: 1 },
  ]);
  const fig = predictionChart(points, { x: 'windowMs', y: 'ttft', kind: 'window' });
  assert.deepEqual(fig.data.map((d) => d.name), ['dense measured', 'dense predicted', 'MoE measured', 'MoE predicted']);
  assert.deepEqual(fig.data[0].x, [0, 30]); // sorted by the knob
  assert.deepEqual(fig.data[1].y, [20, 40]); // milliseconds
  assert.throws(() => predictionChart(points, { x: 'nope' as never, y: 'ttft' }), InputError);
  const err = predictionErrorChart(aq.from([{ model: 'dense', policy: 'p', point: 'light', metric: 'ITL p50 (s)', error: -0.2 }]));
  assert.deepEqual(err.data[0].y, [-20]);
  assert.deepEqual((err.layout.shapes as Array<{ y0: number }>).map((s) => s.y0), [10, -10]);
});

test('promptTokens reads a string as UTF-8 bytes and refuses batches; tokenText spells an id', () => {
  assert.deepEqual(promptTokens('hé'), [104, 195, 169]);
  assert.deepEqual(promptTokens([5, 6]), [5, 6]);
  // A list of one prompt is OpenAI's batch of one: that prompt.
  assert.deepEqual(promptTokens([[1, 2]]), [1, 2]);
  assert.deepEqual(promptTokens(['hé']), [104, 195, 169]);
  for (const bad of ['', [], [[]], [''], ['a', 'b'], [[1], [2]], [[[1]]], 3, null]) assert.throws(() => promptTokens(bad), InputError);
  assert.equal(tokenText(42), ' 42');
});

test('predictLoad in closed loop counts the request overhead as think time (the server sees each next request that much later)', () => {
  const f = fit();
  const w = { arrivals: { kind: 'closed' as const, clients: 2 }, requests: 10, promptTokens: { kind: 'fixed' as const, tokens: 8 }, outputTokens: { kind: 'fixed' as const, tokens: 4 } };
  const p = predictLoad(w, { kind: 'continuous', maxBatch: 4 }, f, 1, { stepSeconds: 0, requestSeconds: 0.05 });
  const s = simulateServing({ ...w, arrivals: { kind: 'closed', clients: 2, thinkSeconds: 0.05 }, policy: { kind: 'continuous', maxBatch: 4 }, stepCost: serverStepCost(f) }, 1);
  assert.equal(p.makespanSeconds, s.makespanSeconds);
  // Without the overhead the same run finishes sooner.
  assert.ok(predictLoad(w, { kind: 'continuous', maxBatch: 4 }, f, 1).makespanSeconds < p.makespanSeconds);
});

test('predictionRowsByUnit(rows) puts latencies in ms (× 1000, 1 s = 1000 ms) and keeps throughput in tok/s and every error', () => {
  const rows = [
    { model: 'dense', metric: 'TTFT p50 (s)', predicted: 0.012, measured: 0.01, error: 0.2 },
    { model: 'dense', metric: 'throughput (tok/s)', predicted: 90, measured: 100, error: -0.1 },
    { model: 'MoE', metric: 'ITL p50 (s)', predicted: 0.0031, measured: 0.0025, error: 0.24 },
  ];
  const groups = predictionRowsByUnit(rows);
  assert.deepEqual(groups.map((g) => g.unit), ['ms', 'tok/s']);
  const [ms, tput] = groups;
  assert.deepEqual(ms.rows.map((r) => [r.model, r.metric, r.error]), [['dense', 'TTFT p50', 0.2], ['MoE', 'ITL p50', 0.24]]);
  assert.ok(Math.abs(ms.rows[0].predicted - 12) < 1e-12 && Math.abs(ms.rows[0].measured - 10) < 1e-12);
  assert.ok(Math.abs(ms.rows[1].predicted - 3.1) < 1e-12 && Math.abs(ms.rows[1].measured - 2.5) < 1e-12);
  // The error is a ratio of the same unit: converting both sides leaves it as (p − m) / m.
  assert.ok(Math.abs((ms.rows[0].predicted - ms.rows[0].measured) / ms.rows[0].measured - ms.rows[0].error) < 1e-12);
  assert.deepEqual(tput.rows, [{ model: 'dense', metric: 'throughput', predicted: 90, measured: 100, error: -0.1 }]);
  // Every metric comparePrediction names carries its unit: four latencies to ms, throughput kept.
  const f = fit();
  const workload = { arrivals: { kind: 'poisson' as const, ratePerSecond: 5 }, requests: 10, promptTokens: { kind: 'fixed' as const, tokens: 8 }, outputTokens: { kind: 'fixed' as const, tokens: 5 } };
  const compared = comparePrediction(summariseLoad(records([[0, 0.05, 5, 0.02], [0.5, 0.07, 5, 0.02]]), { url: 'x', workload: 'w', seed: 2 }), predictLoad(workload, { kind: 'continuous', maxBatch: 4 }, f, 2));
  assert.deepEqual(predictionRowsByUnit(compared).map((g) => [g.unit, g.rows.length]), [['ms', 4], ['tok/s', 1]]);
  assert.throws(() => predictionRowsByUnit([{ metric: 'no unit', predicted: 1, measured: 1 }]), (e: unknown) => e instanceof InputError && e.field === 'rows[0].metric');
});

test('servedStepRatio(steps, fit) is the median of served step durations over the fit\'s cost for the same work', () => {
  const f = fit();
  const cost = serverStepCost(f);
  const w = (b: number) => ({ prefillTokens: 0, decodeTokens: b, contextTokens: 20 * b });
  // Three steps taking 1.1×, 1.3× and 2× their fitted cost (median 1.3); one without a next decision is left out.
  const steps = [
    { start: 0, nextDecision: 1.1 * cost(w(1)), work: w(1) },
    { start: 1, nextDecision: 1 + 1.3 * cost(w(4)), work: w(4) },
    { start: 2, nextDecision: 2 + 2 * cost(w(8)), work: w(8) },
    { start: 3, nextDecision: null, work: w(2) },
  ];
  assert.ok(Math.abs(servedStepRatio(steps, f) - 1.3) < 1e-9, String(servedStepRatio(steps, f)));
  assert.ok(Number.isNaN(servedStepRatio([], f)));
});

test('serverStepCost(fit, overheads, seed) multiplies each step by a seeded draw from the fit\'s served-step factors', () => {
  const f = { ...fit(), stepFactors: [1, 1, 1, 3] };
  const w = { prefillTokens: 0, decodeTokens: 4, contextTokens: 80 };
  const base = serverStepCost(f)(w);
  const a = serverStepCost(f, undefined, 5);
  const b = serverStepCost(f, undefined, 5);
  const draws = Array.from({ length: 4000 }, () => a(w) / base);
  // Every draw is one of the factors; the same seed gives the same sequence.
  assert.ok(draws.every((d) => Math.abs(d - 1) < 1e-9 || Math.abs(d - 3) < 1e-9));
  assert.deepEqual(Array.from({ length: 4000 }, () => b(w) / base), draws);
  // Mean of the factors {1, 1, 1, 3} is 1.5; 4000 draws of a factor with sd 0.87 land within 0.07 (4.5 sd of the mean).
  const m = draws.reduce((x, y) => x + y, 0) / draws.length;
  assert.ok(Math.abs(m - 1.5) < 0.07, String(m));
  // Without a seed, or without factors, the cost is the fit's own.
  assert.equal(serverStepCost(f)(w), serverStepCost(fit(), undefined, 5)(w));
});

test('predictLoadDraws: one run without a measured spread; with one, PREDICTION_DRAWS seeded runs of the same workload, draw 0 being predictLoad', () => {
  const f = fit();
  const workload = { arrivals: { kind: 'poisson' as const, ratePerSecond: 20 }, requests: 40, promptTokens: { kind: 'uniform' as const, min: 4, max: 32 }, outputTokens: { kind: 'fixed' as const, tokens: 6 } };
  const policy = { kind: 'continuous' as const, maxBatch: 4 };
  assert.equal(predictLoadDraws(workload, policy, f, 1).length, 1);
  // A spread of step factors 1 and 3 (half the steps three times slower): the draws differ, each as seeded.
  const spread: EngineStepCostFit = { ...f, stepFactors: [1, 1, 3, 3] };
  const runs = predictLoadDraws(workload, policy, spread, 1);
  assert.equal(runs.length, PREDICTION_DRAWS);
  assert.equal(runs[0].ttft.p99, predictLoad(workload, policy, spread, 1).ttft.p99);
  assert.deepEqual(predictLoadDraws(workload, policy, spread, 1).map((r) => r.ttft.p99), runs.map((r) => r.ttft.p99));
  assert.ok(new Set(runs.map((r) => r.ttft.p99)).size > 1);
  // Every draw runs the same requests: the arrivals are the workload's, not the draw's.
  for (const r of runs) assert.deepEqual(Array.from(r.requestLog!.arrival), Array.from(runs[0].requestLog!.arrival));
  assert.throws(() => predictLoadDraws(workload, policy, spread, 1, undefined, { draws: 0 }), InputError);
});

test('comparePrediction over several runs: the median of each metric, with the smallest and largest run beside it', () => {
  const f: EngineStepCostFit = { ...fit(), stepFactors: [1, 1, 3, 3] };
  const workload = { arrivals: { kind: 'poisson' as const, ratePerSecond: 20 }, requests: 40, promptTokens: { kind: 'uniform' as const, min: 4, max: 32 }, outputTokens: { kind: 'fixed' as const, tokens: 6 } };
  const runs = predictLoadDraws(workload, { kind: 'continuous', maxBatch: 4 }, f, 1);
  const measured = summariseLoad(records([[0, 0.05, 5, 0.02], [0.5, 0.07, 5, 0.02]]), { url: 'x', workload: 'w', seed: 1 });
  const p99 = comparePrediction(measured, runs).find((r) => r.metric === 'TTFT p99 (s)')!;
  const sorted = runs.map((r) => r.ttft.p99).sort((a, b) => a - b);
  // An odd number of runs: the median is the middle one.
  assert.equal(p99.predicted, sorted[(sorted.length - 1) / 2]);
  assert.equal(p99.predictedMin, sorted[0]);
  assert.equal(p99.predictedMax, sorted[sorted.length - 1]);
  // One run: its own value and no band.
  const one = comparePrediction(measured, runs[0]).find((r) => r.metric === 'TTFT p99 (s)')!;
  assert.equal(one.predicted, runs[0].ttft.p99);
  assert.equal(one.predictedMin, undefined);
});

test('comparePrediction with warm-up leaves the first requests sent out of both sides: a closed loop of 2 whose first round waited 1 s', () => {
  // Measured: requests 0 and 1 (the first round) took 1 s to their first token, the next four 0.1 s.
  const rec = records([[0, 1, 5, 0.02], [0, 1, 5, 0.02], [1.1, 0.1, 5, 0.02], [1.1, 0.1, 5, 0.02], [1.3, 0.1, 5, 0.02], [1.3, 0.1, 5, 0.02]]);
  const measured = summariseLoad(rec, { url: 'x', workload: 'w', seed: 1 });
  const f = fit();
  const workload = { arrivals: { kind: 'closed' as const, clients: 2 }, requests: 6, promptTokens: { kind: 'fixed' as const, tokens: 8 }, outputTokens: { kind: 'fixed' as const, tokens: 5 } };
  const runs = predictLoadDraws(workload, { kind: 'continuous', maxBatch: 4 }, f, 1, undefined, { warmupRequests: 2 });
  const all = comparePrediction(measured, runs);
  const steady = comparePrediction(measured, runs, undefined, { warmupRequests: 2 });
  const at = (rows: typeof all, m: string) => rows.find((r) => r.metric === m)!;
  // With the first round: p99 by linear interpolation over the sorted [0.1, 0.1, 0.1, 0.1, 1, 1] at rank 0.99 × 5 = 4.95, between the two 1 s values: 1; without it every TTFT is 0.1.
  assert.ok(Math.abs(at(all, 'TTFT p99 (s)').measured - 1) < 1e-9);
  assert.ok(Math.abs(at(steady, 'TTFT p99 (s)').measured - 0.1) < 1e-9);
  // Throughput over the rest's window: 4 requests × 5 tokens from the first of them sent (1.1 s) to the last finish (1.3 + 0.1 + 0.08 = 1.48 s).
  assert.ok(Math.abs(at(steady, 'throughput (tok/s)').measured - 20 / 0.38) < 1e-9);
  // The prediction leaves out the simulated first round the same way (serveBenchmarkMetrics).
  const sim = runs[0].requestLog!;
  const order = Array.from(sim.arrival.keys()).sort((a, b) => sim.arrival[a] - sim.arrival[b] || a - b).slice(2);
  const ttfts = order.map((i) => sim.firstToken[i] - sim.arrival[i]).sort((a, b) => a - b);
  assert.ok(Math.abs(at(steady, 'TTFT p50 (s)').predicted - (ttfts[1] + ttfts[2]) / 2) < 1e-9);
  assert.throws(() => comparePrediction(measured, runs, undefined, { warmupRequests: 6 }), InputError);
});

test('closedLoopWarmup: each client\'s first request in a closed loop of more than one round; none in open loop or in a single round', () => {
  const lengths = { promptTokens: { kind: 'fixed' as const, tokens: 8 }, outputTokens: { kind: 'fixed' as const, tokens: 8 } };
  assert.equal(closedLoopWarmup({ ...lengths, arrivals: { kind: 'closed', clients: 16 }, requests: 48 }), 16);
  // 16 requests from 16 clients are all the first round: nothing would be left to measure.
  assert.equal(closedLoopWarmup({ ...lengths, arrivals: { kind: 'closed', clients: 16 }, requests: 16 }), 0);
  assert.equal(closedLoopWarmup({ ...lengths, arrivals: { kind: 'poisson', ratePerSecond: 4 }, requests: 48 }), 0);
});

test('comparePrediction with warm-up refuses runs simulated without it (they carry no ITL of the rest) instead of dropping the ITL row', () => {
  const rec = records([[0, 1, 5, 0.02], [0, 1, 5, 0.02], [1.1, 0.1, 5, 0.02], [1.1, 0.1, 5, 0.02], [1.3, 0.1, 5, 0.02], [1.3, 0.1, 5, 0.02]]);
  const measured = summariseLoad(rec, { url: 'x', workload: 'w', seed: 1 });
  const workload = { arrivals: { kind: 'closed' as const, clients: 2 }, requests: 6, promptTokens: { kind: 'fixed' as const, tokens: 8 }, outputTokens: { kind: 'fixed' as const, tokens: 5 } };
  const policy = { kind: 'continuous' as const, maxBatch: 4 };
  const plain = predictLoadDraws(workload, policy, fit(), 1);
  assert.throws(() => comparePrediction(measured, plain, undefined, { warmupRequests: 2 }), (e: unknown) => e instanceof InputError && /^predicted\[0\]/.test(e.message) && /warmupRequests 2/.test(e.message));
  const warm = predictLoadDraws(workload, policy, fit(), 1, undefined, { warmupRequests: 2 });
  const rows = comparePrediction(measured, warm, undefined, { warmupRequests: 2 });
  // Every metric is there, ITL and TPOT included: each request has 5 tokens, so 4 gaps; the measured ones are all 0.02 s (records above).
  assert.deepEqual(rows.map((r) => r.metric), ['TTFT p50 (s)', 'TTFT p99 (s)', 'ITL p50 (s)', 'TPOT p50 (s)', 'throughput (tok/s)']);
  assert.ok(Math.abs(rows[2].measured - 0.02) < 1e-9);
});

test('measuredAfterWarmup(run, w) leaves out the first w requests sent, whatever their index: e2e p50 of the rest', () => {
  // Indices out of send order: the two sent at 0 (e2e 1 + 4 × 0.02 = 1.08 s) are left out; the rest have e2e 0.18 s and 0.28 s.
  const rec = records([[1.1, 0.1, 5, 0.02], [0, 1, 5, 0.02], [1.2, 0.2, 5, 0.02], [0, 1, 5, 0.02]]);
  const measured = summariseLoad(rec, { url: 'x', workload: 'w', seed: 1 });
  const rest = measuredAfterWarmup(measured, 2);
  assert.equal(rest.requests, 2);
  // Median of {0.18, 0.28} (linear interpolation): 0.23.
  assert.ok(Math.abs(rest.e2e.p50 - 0.23) < 1e-9, String(rest.e2e.p50));
  assert.equal(measuredAfterWarmup(measured, 0), measured);
  assert.throws(() => measuredAfterWarmup(measured, 4), InputError);
});

test('predictLoad(…, { draw }) refuses a draw that is not an integer in [0, 1000000], with or without a measured spread', () => {
  const workload = { arrivals: { kind: 'poisson' as const, ratePerSecond: 20 }, requests: 4, promptTokens: { kind: 'fixed' as const, tokens: 8 }, outputTokens: { kind: 'fixed' as const, tokens: 4 } };
  const policy = { kind: 'continuous' as const, maxBatch: 4 };
  for (const f of [fit(), { ...fit(), stepFactors: [1, 2] }]) {
    for (const draw of [-1, 1.5, NaN, 1_000_001]) assert.throws(() => predictLoad(workload, policy, f, 1, undefined, { draw }), (e: unknown) => e instanceof InputError && /^draw /.test(e.message));
  }
});
