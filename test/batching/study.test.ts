import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constantStepCost,
  affineStepCost,
  simulateServing,
  servingLoadUnderLimit,
  servingLoadUnderLimitTable,
  servingConcurrencySweep,
  servingReplicaSweep,
  type ServingWorkload,
} from '../../lib/batching/index.js';
import { InputError } from '../../lib/util/errors.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const oneToken: ServingWorkload = { requests: 4000, promptTokens: { kind: 'fixed', tokens: 1 }, outputTokens: { kind: 'fixed', tokens: 1 } };
const S = 0.01;
const replica = { label: 'constant 10 ms', stepCost: constantStepCost(S) };

test('servingLoadUnderLimit returns the largest load within the limit, to the bisection resolution', () => {
  const policy = { kind: 'continuous' as const, maxBatch: 1 };
  const limits = { e2eP99: 0.1 };
  const r = servingLoadUnderLimit(replica, oneToken, policy, limits, 1, { iterations: 8, maxLoad: 1.5 });
  // One-token requests at batch 1 and 10 ms per step: an M/D/1 queue of capacity 1/S = 100/s.
  assert.ok(rel(r.capacityRps, 1 / S) < 1e-9, `${r.capacityRps}`);
  const at = (load: number) => simulateServing({ ...oneToken, arrivals: { kind: 'poisson', ratePerSecond: load * r.capacityRps }, policy, stepCost: replica.stepCost }, 1).e2e.p99;
  assert.ok(r.load > 0 && at(r.load) <= 0.1, `load ${r.load}`);
  assert.ok(at(r.load + 1.5 / 2 ** 8) > 0.1);
  close(r.ratePerSecond, r.load * r.capacityRps);
  close(r.throughputTokS, r.ratePerSecond); // one output token per request
  // The bisection ends with a failing load one resolution step above the answer, and names the limit it broke.
  close(r.brokenAtLoad as number, r.load + 1.5 / 2 ** 8);
  assert.deepEqual(r.brokenLimits, ['e2eP99']);
});

test('servingLoadUnderLimit: a limit no load can meet gives load 0, the lightest load tried and the limit it broke', () => {
  // A 10 ms step can never finish a request within 5 ms.
  const r = servingLoadUnderLimit(replica, oneToken, { kind: 'continuous', maxBatch: 1 }, { e2eP99: 0.005, ttftP99: 10 }, 1, { iterations: 6, maxLoad: 1.5 });
  assert.equal(r.load, 0);
  assert.equal(r.throughputTokS, 0);
  close(r.brokenAtLoad as number, 1.5 / 2 ** 6);
  assert.deepEqual(r.brokenLimits, ['e2eP99']);
  // A limit every load meets: nothing broke.
  const easy = servingLoadUnderLimit(replica, oneToken, { kind: 'continuous', maxBatch: 1 }, { ttftP99: 1e6 }, 1, { iterations: 2, maxLoad: 0.5 });
  assert.equal(easy.load, 0.5);
  assert.equal(easy.brokenAtLoad, null);
  assert.deepEqual(easy.brokenLimits, []);
});
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${a} != ${b}`);

test('servingLoadUnderLimit: a load past capacity is not carried though every limit holds (its queue grows); the backlog is named', () => {
  // A TTFT limit of 10^6 s holds at every load of a 4,000-request run, and 1.5 × the M/D/1 capacity of 100/s was
  // reported as carried (its served rate is the capacity's). Now a load serving under 95 % of its arrivals is not:
  // at most 1 / 0.95 of capacity, plus the bisection's resolution (1.5 / 2^8), with 'backlog' above it.
  const r = servingLoadUnderLimit(replica, oneToken, { kind: 'continuous', maxBatch: 1 }, { ttftP99: 1e6 }, 1, { iterations: 8, maxLoad: 1.5 });
  assert.ok(r.load <= 1 / 0.95 + 1.5 / 2 ** 8 && r.load > 0.8, `load ${r.load}`);
  assert.deepEqual(r.brokenLimits, ['backlog']);
  assert.ok((r.brokenAtLoad as number) > r.load);
});

test('servingLoadUnderLimitTable: one row per replica × policy; a longer static window never carries more under a TTFT limit', () => {
  const work: ServingWorkload = { requests: 1500, promptTokens: { kind: 'fixed', tokens: 64 }, outputTokens: { kind: 'uniform', min: 1, max: 32 } };
  const cost = { label: 'affine', stepCost: affineStepCost({ fixedSeconds: 0.01, perPrefillToken: 1e-5, perDecodeToken: 1e-4 }) };
  const t = servingLoadUnderLimitTable([cost], work, [5, 50, 200].map((w) => ({ kind: 'static' as const, windowMs: w, maxBatch: 32 })), { ttftP99: 0.5 }, 1, { iterations: 6 });
  const rows = t.objects() as Array<{ windowMs: number; load: number; limits: string; replica: string }>;
  assert.equal(rows.length, 3);
  assert.equal(rows[0].limits, 'ttftP99 ≤ 0.5 s');
  assert.ok(rows[0].load >= rows[1].load && rows[1].load >= rows[2].load, JSON.stringify(rows));
});

test('servingConcurrencySweep: one client obeys X = 1/(R + Z) and N* = X_max·(R(1) + Z) = (S + Z)/S', () => {
  // One-token requests at 10 ms steps: a lone client's request takes S, then it thinks Z.
  const Z = 0.04;
  const c = servingConcurrencySweep(replica, oneToken, { kind: 'continuous', maxBatch: 1 }, [1, 2, 5, 10, 40], 1, { thinkSeconds: Z, requestsPerClient: 200 });
  const rows = c.table.objects() as Array<{ clients: number; throughputRps: number; e2eMean: number }>;
  // 200 cycles of S + Z, less the think after the last answer, which no request follows.
  assert.ok(rel(rows[0].throughputRps, 200 / (200 * (S + Z) - Z)) < 1e-9, `${rows[0].throughputRps}`);
  // Saturated at 40 clients: X_max = 1/S (one request per step).
  assert.ok(rel(c.maxThroughputRps, 1 / S) < 1e-3, `${c.maxThroughputRps}`);
  assert.ok(rel(c.saturationClients, (S + Z) / S) < 2e-3, `${c.saturationClients}`);
  assert.throws(() => servingConcurrencySweep(replica, oneToken, { kind: 'continuous', maxBatch: 1 }, [0], 1), (e: unknown) => e instanceof InputError && e.field === 'clients[0]');
  assert.throws(() => servingConcurrencySweep(replica, oneToken, { kind: 'continuous', maxBatch: 1 }, [1], 1, { thinkSeconds: -1 }), (e: unknown) => e instanceof InputError && e.field === 'thinkSeconds');
});

test('servingLoadUnderLimit rejects empty or unknown limits naming the field', () => {
  const p = { kind: 'continuous' as const, maxBatch: 1 };
  assert.throws(() => servingLoadUnderLimit(replica, oneToken, p, {}, 1), (e: unknown) => e instanceof InputError && e.field === 'limits');
  assert.throws(() => servingLoadUnderLimit(replica, oneToken, p, { p50: 1 } as never, 1), (e: unknown) => e instanceof InputError && e.field === 'limits.p50');
  assert.throws(() => servingLoadUnderLimit(replica, oneToken, p, { ttftP99: -1 }, 1), (e: unknown) => e instanceof InputError && e.field === 'limits.ttftP99');
});

test('servingReplicaSweep keeps each load exactly as given and prices busy time per million tokens', () => {
  const t = servingReplicaSweep([{ ...replica, usdPerHour: 36 }], { workload: { ...oneToken, requests: 500, arrivals: { kind: 'poisson', ratePerSecond: 1 } }, policies: ['window'], windowsMs: [0, 20], maxBatches: [4], loads: [0.3, 0.7] }, 1);
  const rows = t.objects() as Array<{ load: number; loadLabel: string; busySecondsPer1kTokens: number; usdPerMTok: number }>;
  assert.deepEqual([...new Set(rows.map((r) => r.load))], [0.3, 0.7]);
  assert.equal(rows[0].loadLabel, '30 % load');
  // $36/h = $0.01/s; busy seconds per 1k tokens × 1000 × $0.01.
  for (const r of rows) close(r.usdPerMTok, r.busySecondsPer1kTokens * 10);
});

test('servingConcurrencySweep: closed-loop clients with fixed lengths resend in the groups their first wave was prefilled in', () => {
  // 10 clients send 300-token prompts at t = 0 into whole-prompt steps of 1000 tokens: the
  // first wave is prefilled 3 + 3 + 3 + 1 (each step's budget less its running decodes:
  // 1000, 997, 994, 991 tokens, room for 3 prompts of 300 each), so 4 groups.
  const workload: ServingWorkload = { promptTokens: { kind: 'fixed', tokens: 300 }, outputTokens: { kind: 'fixed', tokens: 20 } };
  const policy = { kind: 'chunked' as const, maxBatch: 64, tokenBudget: 1000, wholePrompts: true };
  const row = (stepCost: typeof replica.stepCost) =>
    (servingConcurrencySweep({ label: 'grouping', stepCost }, { ...workload, kvAdmission: 'reserve' } as ServingWorkload, policy, [10], 1, { requestsPerClient: 6 }).table.objects()[0] as { requestsPerSendInstant: number; meanAdmitted: number });
  const steady = row(constantStepCost(S));
  // Every later round keeps the groups: 50 measured requests at 4 × 5 send instants.
  assert.equal(steady.requestsPerSendInstant, 10 / 4);
  assert.equal(steady.meanAdmitted, 10 / 4);
  // Step times that vary from step to step do not split a group: its members share every step.
  let x = 1;
  const noisy = Object.assign(() => {
    x = (x * 48271) % 2147483647;
    return S * (0.5 + x / 2147483647);
  }, { label: 'constant 10 ms ± 50 %, seeded' });
  const jittered = row(noisy);
  assert.equal(jittered.requestsPerSendInstant, 10 / 4);
  assert.equal(jittered.meanAdmitted, 10 / 4);
  // One client alone sends each request at its own instant.
  const one = servingConcurrencySweep({ label: 'one', stepCost: constantStepCost(S) }, { ...workload, kvAdmission: 'reserve' } as ServingWorkload, policy, [1], 1, { requestsPerClient: 6 }).table.objects()[0] as { requestsPerSendInstant: number };
  assert.equal(one.requestsPerSendInstant, 1);
});
