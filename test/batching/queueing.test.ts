import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateServing, constantStepCost, affineStepCost, type ServingConfig } from '../../lib/batching/index.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

// M/D/1: Poisson arrivals, one server, deterministic service S. Pollaczek–Khinchine
// mean wait Wq = ρ·S / (2(1−ρ)) with ρ = λS (Kleinrock, Queueing Systems Vol. 1, eq. 5.73
// with E[S²] = S²).
function md1(policy: ServingConfig['policy']): ServingConfig {
  return {
    arrivals: { kind: 'poisson', ratePerSecond: 70 },
    requests: 200_000,
    promptTokens: { kind: 'fixed', tokens: 1 },
    outputTokens: { kind: 'fixed', tokens: 1 },
    policy,
    stepCost: constantStepCost(0.01),
    keepRequests: false,
  };
}
const S = 0.01;
const rho = 70 * S;
const pkWait = (rho * S) / (2 * (1 - rho));

test('simulateServing mean wait matches Pollaczek–Khinchine for M/D/1 under continuous batching (batch 1) within 2 %', () => {
  const r = simulateServing(md1({ kind: 'continuous', maxBatch: 1 }), 1);
  assert.ok(rel(r.wait.mean, pkWait) < 0.02, `wait ${r.wait.mean} vs P-K ${pkWait}`);
  // Utilisation of a single server is ρ = λS.
  assert.ok(rel(r.utilisation, rho) < 0.01, `utilisation ${r.utilisation} vs ρ ${rho}`);
  // Every request is one step long once admitted.
  assert.ok(rel(r.e2e.mean - r.wait.mean, S) < 1e-9);
});

test('simulateServing mean wait matches Pollaczek–Khinchine for M/D/1 under a window with batch limit 1 within 2 %', () => {
  // A batch limit of 1 dispatches on every arrival to an idle engine, whatever the window.
  const r = simulateServing(md1({ kind: 'static', windowMs: 50, maxBatch: 1 }), 2);
  assert.ok(rel(r.wait.mean, pkWait) < 0.02, `wait ${r.wait.mean} vs P-K ${pkWait}`);
});

test("simulateServing satisfies Little's law L = λ·W within 1 % for the system and for the queue", () => {
  const lambda = 10; // about 60 % of the decode capacity at batch 32: a stable queue
  const r = simulateServing(
    {
      arrivals: { kind: 'poisson', ratePerSecond: lambda },
      requests: 100_000,
      promptTokens: { kind: 'uniform', min: 50, max: 800 },
      outputTokens: { kind: 'uniform', min: 1, max: 200 },
      policy: { kind: 'continuous', maxBatch: 32 },
      stepCost: affineStepCost({ fixedSeconds: 0.01, perPrefillToken: 1e-5, perDecodeToken: 2e-4 }),
      keepRequests: false,
    },
    3,
  );
  // λ is the configured arrival rate, not a quantity measured from the run, so this is a
  // statistical check of the time-averaged occupancy against per-request latencies.
  assert.ok(rel(r.meanInSystem, lambda * r.e2e.mean) < 0.01, `L ${r.meanInSystem} vs λW ${lambda * r.e2e.mean}`);
  assert.ok(rel(r.meanQueued, lambda * r.wait.mean) < 0.01, `Lq ${r.meanQueued} vs λWq ${lambda * r.wait.mean}`);
  // Over the whole run (empty to empty) the identity is exact with the realised rate n / makespan.
  assert.ok(rel(r.meanInSystem, r.throughputRequestsPerSecond * r.e2e.mean) < 1e-9);
});

test('simulateServing with gamma arrivals reproduces the configured rate and coefficient of variation', () => {
  const r = simulateServing(
    {
      arrivals: { kind: 'gamma', ratePerSecond: 10, cv: 2 },
      requests: 100_000,
      promptTokens: { kind: 'fixed', tokens: 1 },
      outputTokens: { kind: 'fixed', tokens: 1 },
      policy: { kind: 'continuous', maxBatch: 1000 },
      stepCost: constantStepCost(1e-4),
    },
    4,
  );
  const a = r.requestLog!.arrival;
  let s = 0;
  let s2 = 0;
  for (let i = 1; i < a.length; i++) {
    const g = a[i] - a[i - 1];
    s += g;
    s2 += g * g;
  }
  const m = s / (a.length - 1);
  const cv = Math.sqrt(s2 / (a.length - 1) - m * m) / m;
  // Mean gap 1/rate = 0.1 s and cv = 2 are the spec; sampling error over 1e5 gaps is well under 3 %.
  assert.ok(rel(m, 0.1) < 0.02, `mean gap ${m}`);
  assert.ok(rel(cv, 2) < 0.03, `cv ${cv}`);
});

test('simulateServing under a collection window catches a zero-truncated Poisson batch, λW / (1 − e^(−λW))', () => {
  // Steps far shorter than the window: every tick finds the engine idle and takes all
  // arrivals of the last window; empty windows dispatch nothing, hence the truncation.
  for (const [rate, windowMs] of [
    [2000, 5],
    [100, 5],
  ]) {
    const lw = (rate * windowMs) / 1000;
    const expected = lw / (1 - Math.exp(-lw));
    const r = simulateServing(
      {
        arrivals: { kind: 'poisson', ratePerSecond: rate },
        requests: 50_000,
        promptTokens: { kind: 'fixed', tokens: 1 },
        outputTokens: { kind: 'fixed', tokens: 1 },
        policy: { kind: 'static', windowMs, maxBatch: 100_000 },
        stepCost: constantStepCost(1e-6),
        keepRequests: false,
      },
      5,
    );
    assert.ok(rel(r.meanAdmitted, expected) < 0.02, `λW=${lw}: caught ${r.meanAdmitted} vs ${expected}`);
    // Waiting for the next tick costs W/2 on average (arrivals uniform within a window).
    assert.ok(rel(r.wait.mean, windowMs / 2000) < 0.03, `wait ${r.wait.mean}`);
  }
});
