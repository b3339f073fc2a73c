import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  simulateServing,
  constantStepCost,
  affineStepCost,
  parseServingTrace,
  loadServingTrace,
  type ServingConfig,
  type ServingPolicy,
  type ServingResult,
} from '../../lib/batching/index.js';
import type { StepWork } from '../../lib/core/types.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

function traceOf(rows: Array<[number, number, number]>): ServingConfig['arrivals'] {
  const csv = ['timestamp,prompt_tokens,output_tokens', ...rows.map((r) => r.join(','))].join('\n');
  return { kind: 'trace', trace: parseServingTrace(csv) };
}

test('simulateServing window policy dispatches on the W grid (hand-worked fixture)', () => {
  // Fixture: arrivals at 0, 3 and 12 ms (after the shift to t = 0), W = 10 ms, 2 ms steps.
  // Ticks fire at 10, 20, ... ms: the 10 ms tick takes the first two together (done at
  // 12 ms); the third arrives just after that tick and waits for the 20 ms one (done at 22 ms).
  const r = simulateServing(
    {
      arrivals: { kind: 'trace', trace: loadServingTrace(fixture('window-grid.csv')) },
      policy: { kind: 'static', windowMs: 10, maxBatch: 8 },
      stepCost: constantStepCost(0.002),
    },
    0,
  );
  const log = r.requestLog!;
  [0.01, 0.01, 0.02].forEach((t, i) => close(log.admitted[i], t, 1e-9));
  [0.012, 0.012, 0.022].forEach((t, i) => close(log.finish[i], t, 1e-9));
  assert.equal(r.admissions, 2);
  // With a batch limit of 2 the second arrival fills the batch and dispatches at once (3 ms).
  const full = simulateServing(
    {
      arrivals: { kind: 'trace', trace: loadServingTrace(fixture('window-grid.csv')) },
      policy: { kind: 'static', windowMs: 10, maxBatch: 2 },
      stepCost: constantStepCost(0.002),
    },
    0,
  ).requestLog!;
  [0.003, 0.003, 0.02].forEach((t, i) => close(full.admitted[i], t, 1e-9));
});

test('simulateServing window batch runs one prefill step then shrinking decode steps (hand-worked)', () => {
  // Requests at 0 and 3 ms (prompts 10 and 20, outputs 1 and 3) are caught by the 5 ms tick:
  // one prefill step of 30 tokens emits both first tokens; two decode steps serve
  // request 1 alone with context 20+1 and 20+2 tokens.
  // Cost: 1 ms + 0.1 ms/prefill token + 1 ms/decode seq + 0.01 ms/context token.
  const works: StepWork[] = [];
  const base = affineStepCost({ fixedSeconds: 1e-3, perPrefillToken: 1e-4, perDecodeToken: 1e-3, perContextToken: 1e-5 });
  const cost = (w: StepWork) => (works.push({ ...w }), base(w));
  const r = simulateServing(
    {
      arrivals: traceOf([
        [0, 10, 1],
        [0.003, 20, 3],
      ]),
      policy: { kind: 'static', windowMs: 5, maxBatch: 8 },
      stepCost: cost,
    },
    0,
  );
  // The prefill step holds two prompts: causal pairs 10·11/2 + 20·21/2 = 55 + 210 = 265.
  assert.deepEqual(works, [
    { prefillTokens: 30, decodeTokens: 0, contextTokens: 0, prefillSequences: 2, prefillAttentionPairs: 265 },
    { prefillTokens: 0, decodeTokens: 1, contextTokens: 21, prefillSequences: 0, prefillAttentionPairs: 0 },
    { prefillTokens: 0, decodeTokens: 1, contextTokens: 22, prefillSequences: 0, prefillAttentionPairs: 0 },
  ]);
  const log = r.requestLog!;
  close(log.admitted[0], 0.005);
  close(log.admitted[1], 0.005);
  close(log.finish[0], 0.005 + 4e-3); // 1 ms + 30 × 0.1 ms
  close(log.finish[1], 0.009 + 2.21e-3 + 2.22e-3);
  assert.equal(r.admissions, 1);
  assert.equal(r.meanAdmitted, 2);
});

test('simulateServing continuous batching: a lone request takes one prefill step then o − 1 decode steps', () => {
  // TTFT = one step, TPOT = one step, e2e = o steps for constant step time S.
  const S = 0.02;
  const r = simulateServing(
    { arrivals: traceOf([[0, 100, 5]]), policy: { kind: 'continuous', maxBatch: 4 }, stepCost: constantStepCost(S) },
    0,
  );
  close(r.ttft.mean, S);
  close(r.tpot!.mean, S);
  close(r.e2e.mean, 5 * S);
  assert.equal(r.steps, 5);
});

test('simulateServing continuous batching admits a newcomer at the next step boundary and mixes prefill with decode', () => {
  const works: StepWork[] = [];
  const cost = (w: StepWork) => (works.push({ ...w }), 0.01);
  // Request A (prompt 8, 4 tokens) at 0; request B (prompt 6, 2 tokens) at 15 ms, during A's second step.
  const r = simulateServing(
    {
      arrivals: traceOf([
        [0, 8, 4],
        [0.015, 6, 2],
      ]),
      policy: { kind: 'continuous', maxBatch: 4 },
      stepCost: cost,
    },
    0,
  );
  assert.deepEqual(works, [
    // Causal prefill pairs of a lone prompt of L tokens: L(L+1)/2 (8 → 36, 6 → 21).
    { prefillTokens: 8, decodeTokens: 0, contextTokens: 0, prefillSequences: 1, prefillAttentionPairs: 36 }, // [0,10) A prefill
    { prefillTokens: 0, decodeTokens: 1, contextTokens: 9, prefillSequences: 0, prefillAttentionPairs: 0 }, // [10,20) A token 2
    { prefillTokens: 6, decodeTokens: 1, contextTokens: 10, prefillSequences: 1, prefillAttentionPairs: 21 }, // [20,30) B joins; A token 3
    { prefillTokens: 0, decodeTokens: 2, contextTokens: 11 + 7, prefillSequences: 0, prefillAttentionPairs: 0 }, // [30,40) A token 4, B token 2
  ]);
  const log = r.requestLog!;
  close(log.admitted[1], 0.02);
  close(log.firstToken[1], 0.03);
  close(log.finish[0], 0.04);
  close(log.finish[1], 0.04);
  assert.deepEqual([...r.batchHistogram.slice(0, 3)], [0, 2, 2]);
});

test('simulateServing chunked prefill splits a prompt by the token budget, decodes first', () => {
  const works: StepWork[] = [];
  const cost = (w: StepWork) => (works.push({ ...w }), 0.01);
  // Budget 40, prompt 100: chunks 40, 40, 20; the 3rd step emits the first token; 2 more decode steps.
  const r = simulateServing(
    { arrivals: traceOf([[0, 100, 3]]), policy: { kind: 'chunked', maxBatch: 4, tokenBudget: 40 }, stepCost: cost },
    0,
  );
  assert.deepEqual(
    works.map((w) => [w.prefillTokens, w.decodeTokens]),
    [
      [40, 0],
      [40, 0],
      [20, 0],
      [0, 1],
      [0, 1],
    ],
  );
  close(r.ttft.mean, 0.03);
  close(r.e2e.mean, 0.05);
});

test('simulateServing chunked prefill gives decodes their token first and prompts the remainder', () => {
  const works: StepWork[] = [];
  const cost = (w: StepWork) => (works.push({ ...w }), 0.01);
  // A (prompt 4, 5 tokens) at 0; B (prompt 30) at 5 ms. Budget 12: B's prompt goes 11, 11, 8
  // beside A's decode token in steps 2-4.
  simulateServing(
    {
      arrivals: traceOf([
        [0, 4, 5],
        [0.005, 30, 2],
      ]),
      policy: { kind: 'chunked', maxBatch: 4, tokenBudget: 12 },
      stepCost: cost,
    },
    0,
  );
  assert.deepEqual(
    works.slice(0, 5).map((w) => [w.prefillTokens, w.decodeTokens]),
    [
      [4, 0],
      [11, 1],
      [11, 1],
      [8, 1],
      [0, 2],
    ],
  );
});

test('simulateServing KV admission holds a request until enough capacity is freed', () => {
  // Each request needs 100 + 10 = 110 KV tokens; capacity 150 fits one at a time.
  const r = simulateServing(
    {
      arrivals: traceOf([
        [0, 100, 10],
        [0, 100, 10],
      ]),
      policy: { kind: 'continuous', maxBatch: 8 },
      stepCost: constantStepCost(0.01),
      kvCapacityTokens: 150,
    },
    0,
  );
  const log = r.requestLog!;
  close(log.admitted[1], log.finish[0]);
  close(log.finish[1], 0.2); // two strictly sequential runs of 10 steps
});

function invariants(r: ServingResult, policy: ServingPolicy, kv = Infinity) {
  const log = r.requestLog!;
  const n = r.requests;
  let out = 0;
  let pr = 0;
  const events: Array<[number, number, number]> = [];
  for (let i = 0; i < n; i++) {
    assert.ok(log.arrival[i] <= log.admitted[i] && log.admitted[i] < log.firstToken[i] && log.firstToken[i] <= log.finish[i], `order for request ${i}`);
    out += log.outputTokens[i];
    pr += log.promptTokens[i];
    events.push([log.admitted[i], 1, log.promptTokens[i] + log.outputTokens[i]], [log.finish[i], -1, log.promptTokens[i] + log.outputTokens[i]]);
  }
  // Conservation: every token asked for was prefilled or emitted exactly once.
  assert.equal(r.tokens.output, out);
  assert.equal(r.tokens.emitted, out);
  assert.equal(r.tokens.prompt, pr);
  assert.equal(r.tokens.prefilled, pr);
  assert.equal(r.batchHistogram.reduce((a, b) => a + b, 0), r.steps);
  // Concurrency and KV never exceed their limits (departures before admissions at equal times).
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let seqs = 0;
  let kvUsed = 0;
  for (const [, d, tok] of events) {
    seqs += d;
    kvUsed += d * tok;
    assert.ok(seqs <= policy.maxBatch, `running ${seqs} > ${policy.maxBatch}`);
    assert.ok(kvUsed <= kv, `KV ${kvUsed} > ${kv}`);
  }
  assert.equal(seqs, 0);
}

for (const policy of [
  { kind: 'static', windowMs: 20, maxBatch: 16 },
  { kind: 'continuous', maxBatch: 16 },
  { kind: 'chunked', maxBatch: 16, tokenBudget: 256 },
] as ServingPolicy[]) {
  test(`simulateServing (${policy.kind}) conserves requests and tokens and respects batch and KV limits`, () => {
    const kv = 6000;
    const r = simulateServing(
      {
        arrivals: { kind: 'gamma', ratePerSecond: 15, cv: 3 },
        requests: 3000,
        promptTokens: { kind: 'lognormal', median: 300, sigma: 1, max: 2000 },
        outputTokens: { kind: 'uniform', min: 1, max: 300 },
        policy,
        stepCost: affineStepCost({ fixedSeconds: 0.01, perPrefillToken: 2e-5, perDecodeToken: 1e-4, perContextToken: 1e-7 }),
        kvCapacityTokens: kv,
      },
      11,
    );
    assert.equal(r.requests, 3000);
    invariants(r, policy, kv);
  });
}

test('simulateServing is bit-identical for the same seed and differs for another', () => {
  const config: ServingConfig = {
    arrivals: { kind: 'poisson', ratePerSecond: 30 },
    requests: 5000,
    promptTokens: { kind: 'lognormal', median: 200, sigma: 0.7, max: 4000 },
    outputTokens: { kind: 'lognormal', median: 80, sigma: 0.7, max: 1000 },
    policy: { kind: 'chunked', maxBatch: 32, tokenBudget: 512 },
    stepCost: affineStepCost({ fixedSeconds: 0.008, perPrefillToken: 1e-5, perDecodeToken: 1e-4 }),
  };
  const a = simulateServing(config, 99);
  const b = simulateServing(config, 99);
  const c = simulateServing(config, 100);
  assert.deepEqual(a, b);
  assert.deepEqual(a.requestLog!.finish, b.requestLog!.finish);
  assert.notDeepEqual(a.requestLog!.arrival, c.requestLog!.arrival);
  assert.equal(a.provenance.seed, 99);
  assert.match(a.provenance.cost, /^affine/);
});

test('simulateServing reports the same statistics with and without the request log', () => {
  const config: ServingConfig = {
    arrivals: { kind: 'poisson', ratePerSecond: 30 },
    requests: 2000,
    promptTokens: { kind: 'fixed', tokens: 64 },
    outputTokens: { kind: 'fixed', tokens: 8 },
    policy: { kind: 'static', windowMs: 30, maxBatch: 64 },
    stepCost: constantStepCost(0.005),
  };
  const a = simulateServing(config, 1);
  const b = simulateServing({ ...config, keepRequests: false }, 1);
  assert.equal(b.requestLog, undefined);
  assert.deepEqual({ ...a, requestLog: undefined }, { ...b, requestLog: undefined });
});
