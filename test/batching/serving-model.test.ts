import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  simulateServing,
  servingCapacity,
  constantStepCost,
  affineStepCost,
  parseServingTrace,
  type ServingConfig,
  type ServingPolicy,
  type ServingStepCost,
} from '../../lib/batching/index.js';
import type { StepWork } from '../../lib/core/types.js';
import { prefillAttentionPairs } from '../../lib/core/matmul.js';
import { InputError } from '../../lib/util/errors.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);
const cost = affineStepCost({ fixedSeconds: 0.01, perPrefillToken: 2e-5, perDecodeToken: 1e-4, perContextToken: 1e-7 });
const workload: Omit<ServingConfig, 'policy'> = {
  arrivals: { kind: 'gamma', ratePerSecond: 25, cv: 2 },
  requests: 4000,
  promptTokens: { kind: 'lognormal', median: 300, sigma: 1, max: 2000 },
  outputTokens: { kind: 'uniform', min: 1, max: 300 },
  stepCost: cost,
  kvCapacityTokens: 20_000,
};
function traceOf(rows: Array<[number, number, number]>): ServingConfig['arrivals'] {
  return { kind: 'trace', trace: parseServingTrace(['timestamp,prompt_tokens,output_tokens', ...rows.map((r) => r.join(','))].join('\n')) };
}
const recording = (fn: ServingStepCost) => {
  const works: StepWork[] = [];
  const c: ServingStepCost = (w) => (works.push({ ...w }), fn(w));
  return { works, cost: c };
};

test('simulateServing window with W = 0 reproduces continuous batching bit for bit', () => {
  for (const priority of ['decode-first', 'prefill-first'] as const) {
    const a = simulateServing({ ...workload, policy: { kind: 'window', windowMs: 0, maxBatch: 32, priority } }, 5);
    const b = simulateServing({ ...workload, policy: { kind: 'continuous', maxBatch: 32, priority } }, 5);
    assert.deepEqual({ ...a, provenance: null }, { ...b, provenance: null });
  }
});

test('simulateServing tick window: a lone request decodes one token per tick, W apart, after an immediate first tick', () => {
  // Step 10 ms, W = 50 ms: ticks at 0, 50, 100 ms; tokens at 10, 60, 110 ms.
  const r = simulateServing({ arrivals: traceOf([[0, 100, 3]]), policy: { kind: 'window', windowMs: 50, maxBatch: 8 }, stepCost: constantStepCost(0.01) }, 0);
  close(r.ttft.mean, 0.01);
  close(r.requestLog!.finish[0], 0.11, 1e-12);
  assert.equal(r.itl!.count, 2);
  close(r.itl!.mean, 0.05, 1e-12);
});

test('simulateServing tick window: at a fixed load a longer window costs fewer busy seconds per token and more latency', () => {
  const base = { ...workload, arrivals: { kind: 'poisson' as const, ratePerSecond: 10 }, requests: 3000, kvCapacityTokens: undefined };
  const runs = [0, 50, 200].map((windowMs) => simulateServing({ ...base, policy: { kind: 'window', windowMs, maxBatch: 512 } }, 2));
  for (let i = 1; i < runs.length; i++) {
    assert.ok(runs[i].busySecondsPer1kTokens < runs[i - 1].busySecondsPer1kTokens, 'cost per token falls');
    assert.ok(runs[i].itl!.p50 > runs[i - 1].itl!.p50, 'ITL rises');
    assert.ok(runs[i].meanBatch > runs[i - 1].meanBatch, 'batches grow');
  }
  // Ticks start at least W apart unless the batch limit is reached (never, at 512): every ITL ≥ W.
  assert.ok(runs[2].itl!.p50 >= 0.2 * (1 - 1e-3));
});

test('simulateServing closed loop obeys the interactive response-time law X = N / (R + Z) within 1 %', () => {
  for (const [clients, think, how] of [
    [16, 0, 'fixed'],
    [16, 0.5, 'exponential'],
    [64, 2, 'fixed'],
  ] as const) {
    const r = simulateServing({ ...workload, arrivals: { kind: 'closed', clients, thinkSeconds: think, think: how }, requests: 20_000, kvCapacityTokens: undefined, policy: { kind: 'continuous', maxBatch: 64 } }, 3);
    const law = clients / (r.e2e.mean + r.meanThinkSeconds!);
    assert.ok(rel(r.throughputRequestsPerSecond, law) < 0.01, `N=${clients} Z=${think}: X ${r.throughputRequestsPerSecond} vs ${law}`);
    // Never more than N requests in the system: Little's law gives the time-average N·R/(R+Z) ≤ N.
    assert.ok(r.meanInSystem <= clients + 1e-9);
    if (think > 0) assert.ok(rel(r.meanThinkSeconds!, think) < 0.03, `think ${r.meanThinkSeconds}`);
  }
});

test('simulateServing offline batch (burst): every request arrives at t = 0 and the engine never idles', () => {
  const r = simulateServing({ ...workload, arrivals: { kind: 'burst' }, requests: 2000, policy: { kind: 'continuous', maxBatch: 64 } }, 1);
  assert.ok(r.requestLog!.arrival.every((t) => t === 0));
  close(r.utilisation, 1, 1e-9);
});

test('StepWork of k prompts prefilled together sums the work of k single prompts (exact)', () => {
  // Three prompts of 10, 20 and 35 tokens arrive together; a linear cost in the new fields
  // prices the shared step exactly as the three single-prompt steps, less two fixed terms.
  const lengths = [10, 20, 35];
  const price = (w: StepWork) => 1e-3 + 1e-6 * w.prefillTokens + 1e-8 * w.prefillAttentionPairs! + 1e-4 * w.prefillSequences!;
  const together = recording(price);
  simulateServing({ arrivals: traceOf(lengths.map((l) => [0, l, 1])), policy: { kind: 'continuous', maxBatch: 8 }, stepCost: together.cost }, 0);
  assert.equal(together.works.length, 1);
  const alone = lengths.map((l) => {
    const rec = recording(price);
    simulateServing({ arrivals: traceOf([[0, l, 1]]), policy: { kind: 'continuous', maxBatch: 8 }, stepCost: rec.cost }, 0);
    return rec.works[0];
  });
  const w = together.works[0];
  assert.equal(w.prefillTokens, alone.reduce((s, a) => s + a.prefillTokens, 0));
  assert.equal(w.prefillSequences, 3);
  // Σ L(L+1)/2 = 55 + 210 + 630 = 895, not (65·66)/2 = 2145 for one prompt of 65.
  assert.equal(w.prefillAttentionPairs, 895);
  assert.equal(w.prefillAttentionPairs, alone.reduce((s, a) => s + a.prefillAttentionPairs!, 0));
  close(price(w), alone.reduce((s, a) => s + price(a), 0) - 2e-3, 1e-15);
});

test('StepWork of a chunked prompt: the chunks sum to the whole prompt\'s tokens and attention pairs (exact)', () => {
  for (const [prompt, budget] of [
    [131_072, 8192],
    [1000, 64],
    [777, 100],
  ]) {
    const chunked = recording(constantStepCost(0.01));
    simulateServing({ arrivals: traceOf([[0, prompt, 1]]), policy: { kind: 'chunked', maxBatch: 4, tokenBudget: budget }, stepCost: chunked.cost }, 0);
    assert.equal(chunked.works.length, Math.ceil(prompt / budget));
    assert.equal(chunked.works.reduce((s, w) => s + w.prefillAttentionPairs!, 0), prefillAttentionPairs(prompt, 0));
    assert.equal(chunked.works.reduce((s, w) => s + w.prefillTokens, 0), prompt);
    // The second chunk covers the first: c·c + c(c+1)/2 for two equal chunks of c.
    if (prompt >= 2 * budget) assert.equal(chunked.works[1].prefillAttentionPairs, budget * budget + (budget * (budget + 1)) / 2);
  }
});

test('simulateServing prefix cache: cached tokens skip prefill but start each prompt\'s attention offset', () => {
  // Prompt 100 at hit ratio 0.5: 50 cached, 50 computed with offset 50: 50·50 + 50·51/2 = 3775 pairs.
  const rec = recording(constantStepCost(0.01));
  const r = simulateServing({ arrivals: traceOf([[0, 100, 2]]), policy: { kind: 'continuous', maxBatch: 4 }, stepCost: rec.cost, prefixCacheHitRatio: 0.5 }, 0);
  assert.deepEqual([rec.works[0].prefillTokens, rec.works[0].prefillAttentionPairs], [50, 3775]);
  assert.deepEqual([r.tokens.cached, r.tokens.prefilled], [50, 50]);
  // A full hit still computes the last prompt token.
  const full = simulateServing({ arrivals: traceOf([[0, 100, 2]]), policy: { kind: 'continuous', maxBatch: 4 }, stepCost: constantStepCost(0.01), prefixCacheHitRatio: 1 }, 0);
  assert.equal(full.tokens.prefilled, 1);
});

for (const policy of [
  { kind: 'continuous', maxBatch: 64 },
  { kind: 'chunked', maxBatch: 64, tokenBudget: 512 },
  { kind: 'window', windowMs: 30, maxBatch: 64 },
  { kind: 'chunked', maxBatch: 64, tokenBudget: 512, priority: 'prefill-first' },
] as ServingPolicy[]) {
  test(`simulateServing paged KV with recompute preemption (${policy.kind}${'priority' in policy ? ', prefill-first' : ''}) never loses a request or a token`, () => {
    const r = simulateServing({ ...workload, requests: 3000, kvAdmission: 'blocks', kvBlockTokens: 16, kvCapacityTokens: 8000, prefixCacheHitRatio: 0.2, policy }, 7);
    assert.ok(r.preemptions > 0, 'the cache is small enough to preempt');
    // Paged: never more blocks than fit (8000 tokens = 500 blocks of 16), and the cache is used.
    assert.ok(r.kvPeakTokens <= 8000 && r.kvPeakTokens > 7000, `peak ${r.kvPeakTokens}`);
    const log = r.requestLog!;
    let out = 0;
    let pr = 0;
    let ones = 0;
    for (let i = 0; i < r.requests; i++) {
      assert.ok(log.arrival[i] <= log.admitted[i] && log.admitted[i] < log.firstToken[i] && log.firstToken[i] <= log.finish[i], `order of ${i}`);
      out += log.outputTokens[i];
      pr += log.promptTokens[i];
      ones += log.outputTokens[i] - 1;
    }
    assert.equal(r.tokens.emitted, out);
    assert.equal(r.itl!.count, ones); // one inter-token gap per token after the first, resumed or not
    assert.ok(r.tokens.recomputed > 0 && r.tokens.prefilled > pr - r.tokens.cached);
    // The same workload with reserved KV never preempts and computes each prompt once.
    const reserved = simulateServing({ ...workload, requests: 3000, kvCapacityTokens: 8000, prefixCacheHitRatio: 0.2, policy }, 7);
    assert.deepEqual([reserved.preemptions, reserved.tokens.recomputed, reserved.tokens.prefilled], [0, 0, pr - reserved.tokens.cached]);
  });
}

test('simulateServing is bit-identical for a seed under every policy, paged KV and closed loop', () => {
  for (const policy of [
    { kind: 'static', windowMs: 20, maxBatch: 32 },
    { kind: 'window', windowMs: 20, maxBatch: 32 },
    { kind: 'continuous', maxBatch: 32 },
    { kind: 'chunked', maxBatch: 32, tokenBudget: 256 },
  ] as ServingPolicy[]) {
    const c: ServingConfig = { ...workload, requests: 1500, arrivals: { kind: 'closed', clients: 20, thinkSeconds: 0.3, think: 'exponential' }, kvAdmission: 'blocks', kvCapacityTokens: 8000, policy };
    assert.deepEqual(simulateServing(c, 4), simulateServing(c, 4));
  }
});

test('simulateServing per-token ITL: exact mean and count, quantiles within the 0.1 % bins', () => {
  // Constant 10 ms steps, continuous batching: every gap between tokens is one step.
  const r = simulateServing({ arrivals: traceOf([[0, 10, 5], [0.005, 10, 3]]), policy: { kind: 'continuous', maxBatch: 4 }, stepCost: constantStepCost(0.01) }, 0);
  assert.equal(r.itl!.count, 4 + 2);
  close(r.itl!.mean, 0.01, 1e-15);
  assert.ok(rel(r.itl!.p99, 0.01) < 1e-3 && rel(r.itl!.p50, 0.01) < 1e-3);
});

test('simulateServing goodput counts the requests within both limits; MFU and bandwidth come from the cost\'s FLOPs and bytes', () => {
  // A lone request per 1 s at 10 ms steps: TTFT = TPOT = 10 ms.
  const base: ServingConfig = { arrivals: traceOf([[0, 10, 4], [1, 10, 4]]), policy: { kind: 'continuous', maxBatch: 4 }, stepCost: constantStepCost(0.01) };
  const ok = simulateServing({ ...base, slo: { ttftSeconds: 0.0101, tpotSeconds: 0.0101 } }, 0);
  close(ok.goodputRps!, ok.throughputRequestsPerSecond);
  assert.equal(simulateServing({ ...base, slo: { ttftSeconds: 0.0101, tpotSeconds: 0.009 } }, 0).goodputRps, 0);
  const c: ServingStepCost = Object.assign(() => 0.01, { flops: () => 1e12, bytes: () => 1e9, peakFlopsPerSecond: 1e15, peakBytesPerSecond: 1e12 });
  const m = simulateServing({ ...base, stepCost: c }, 0);
  close(m.mfu!, 1e12 / 0.01 / 1e15); // 10 %
  close(m.bandwidthUtilisation!, 1e9 / 0.01 / 1e12);
  assert.equal(ok.mfu, null);
  // Busy seconds per 1,000 output tokens: 8 steps × 10 ms over 8 tokens.
  close(ok.busySecondsPer1kTokens, 10);
});

test('servingCapacity counts whole cycles when static batches depart in waves', () => {
  // Outputs U[1,10], batches of 32 at 10 ms steps: with seed 3 every batch holds a 10-token
  // output, so each cycle is 10 steps and the capacity 32 / 0.1 s = 320 requests/s. Counting
  // departures from mid-batch to the last admission gave 322.7.
  const base = { arrivals: { kind: 'burst' as const }, requests: 12 * 32, promptTokens: { kind: 'fixed' as const, tokens: 16 }, outputTokens: { kind: 'uniform' as const, min: 1, max: 10 }, stepCost: constantStepCost(0.01) };
  assert.ok(rel(servingCapacity(base, { kind: 'static', windowMs: 0.001, maxBatch: 32 }, 3), 320) < 1e-9);
});

test('simulateServing rejects bad load-model and scheduler inputs naming the field', () => {
  const cases: Array<[string, Partial<ServingConfig>]> = [
    ['arrivals.clients', { arrivals: { kind: 'closed', clients: 0 } }],
    ['arrivals.thinkSeconds', { arrivals: { kind: 'closed', clients: 4, thinkSeconds: -1 } }],
    ['arrivals.think', { arrivals: { kind: 'closed', clients: 4, think: 'normal' as never } }],
    ['policy.tokenBudget', { policy: { kind: 'chunked', maxBatch: 1, tokenBudget: 0 } }],
    ['prefixCacheHitRatio', { prefixCacheHitRatio: 1.5 }],
    ['prefixCacheHitRatio', { prefixCacheHitRatio: -0.1 }],
    ['kvAdmission', { kvAdmission: 'lazy' as never }],
    ['kvBlockTokens', { kvAdmission: 'blocks', kvBlockTokens: 0 }],
    ['slo.tpotSeconds', { slo: { ttftSeconds: 1, tpotSeconds: 0 } }],
    ['policy.windowMs', { policy: { kind: 'window', windowMs: -5, maxBatch: 4 } }],
  ];
  for (const [field, patch] of cases) {
    assert.throws(() => simulateServing({ ...workload, policy: { kind: 'continuous', maxBatch: 8 }, ...patch }, 1), (e: unknown) => e instanceof InputError && e.field === field, field);
  }
});

test('simulateServing paged KV at the smallest capacity the config allows still finishes every request, for any block size', () => {
  // Prompts ≤ 400 and outputs ≤ 100 tokens: one request needs at most 500 tokens, rounded up to whole blocks.
  for (const B of [1, 7, 16, 64]) {
    const cap = Math.ceil(500 / B) * B;
    for (const policy of [{ kind: 'continuous', maxBatch: 16 }, { kind: 'chunked', maxBatch: 16, tokenBudget: 64 }] as ServingPolicy[]) {
      const r = simulateServing({
        arrivals: { kind: 'poisson', ratePerSecond: 50 },
        requests: 400,
        promptTokens: { kind: 'uniform', min: 1, max: 400 },
        outputTokens: { kind: 'uniform', min: 1, max: 100 },
        policy,
        stepCost: cost,
        kvAdmission: 'blocks',
        kvBlockTokens: B,
        kvCapacityTokens: cap,
      }, B);
      assert.equal(r.tokens.emitted, r.tokens.output, `B=${B} ${policy.kind}`);
      assert.ok(r.kvPeakTokens <= cap);
    }
  }
  // 2,000 + 300 tokens fit 2,300 reserved, but whole 16-token blocks need 2,304.
  assert.throws(() => simulateServing({ ...workload, policy: { kind: 'continuous', maxBatch: 8 }, kvAdmission: 'blocks', kvBlockTokens: 16, kvCapacityTokens: 2300 }, 1), (e: unknown) => e instanceof InputError && e.field === 'kvCapacityTokens');
});
