import { resolveServing } from '../../lib/batching/config.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { simulateServing, constantStepCost, parseServingTrace, loadServingTrace, type ServingConfig } from '../../lib/batching/index.js';
import { InputError } from '../../lib/util/errors.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const good: ServingConfig = {
  arrivals: { kind: 'poisson', ratePerSecond: 10 },
  requests: 100,
  promptTokens: { kind: 'fixed', tokens: 16 },
  outputTokens: { kind: 'fixed', tokens: 4 },
  policy: { kind: 'continuous', maxBatch: 8 },
  stepCost: constantStepCost(0.01),
};

/** Asserts an InputError whose field matches and whose message names the field. */
function rejects(fn: () => unknown, field: string | RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    if (typeof field === 'string') assert.equal(e.field, field);
    else assert.match(e.field, field);
    assert.ok(e.message.startsWith(e.field));
    return true;
  });
}

test('simulateServing rejects bad configs with an InputError naming the field', () => {
  const cases: Array<[string, Partial<ServingConfig>]> = [
    ['arrivals.ratePerSecond', { arrivals: { kind: 'poisson', ratePerSecond: -5 } }],
    ['arrivals.ratePerSecond', { arrivals: { kind: 'poisson', ratePerSecond: 0 } }],
    ['arrivals.cv', { arrivals: { kind: 'gamma', ratePerSecond: 1, cv: NaN } }],
    ['arrivals.kind', { arrivals: { kind: 'uniform' } as never }],
    ['policy.windowMs', { policy: { kind: 'static', windowMs: NaN, maxBatch: 8 } }],
    ['policy.windowMs', { policy: { kind: 'static', windowMs: 0, maxBatch: 8 } }],
    ['policy.maxBatch', { policy: { kind: 'continuous', maxBatch: 0 } }],
    ['policy.maxBatch', { policy: { kind: 'static', windowMs: 5, maxBatch: 2.5 } }],
    ['policy.tokenBudget', { policy: { kind: 'chunked', maxBatch: 64, tokenBudget: 32 } }],
    ['policy.kind', { policy: { kind: 'nope', maxBatch: 1 } as never }],
    ['requests', { requests: 0 }],
    ['requests', { requests: 1e9 }],
    ['requests', { requests: undefined }],
    ['promptTokens', { promptTokens: undefined }],
    ['outputTokens.tokens', { outputTokens: { kind: 'fixed', tokens: 0 } }],
    ['promptTokens.max', { promptTokens: { kind: 'uniform', min: 10, max: 5 } }],
    ['stepCost', { stepCost: 0.01 as never }],
    ['kvCapacityTokens', { kvCapacityTokens: 19 }], // one request needs 16 + 4 = 20
    ['seed', {}],
  ];
  for (const [field, patch] of cases) {
    rejects(() => simulateServing({ ...good, ...patch }, field === 'seed' ? NaN : 1), field);
  }
  // A field out of place is refused by name (a rate beside arrivals was ignored), and a seed's message names what seeds are.
  rejects(() => simulateServing({ ...good, ratePerSecond: 5 } as never, 1), 'config.ratePerSecond');
  assert.throws(() => simulateServing(good, Infinity), /: seed must be a finite number \(every finite number seeds its own stream\); got Infinity$/);
});

test('simulateServing rejects a step cost that returns NaN, zero or a negative time', () => {
  for (const bad of [NaN, 0, -1, Infinity]) {
    rejects(() => simulateServing({ ...good, stepCost: () => bad }, 1), 'stepCost');
  }
});

test('parseServingTrace reports a malformed row with its line number', () => {
  // fixtures/malformed-row.csv: line 4 has two fields.
  rejects(() => loadServingTrace(fixture('malformed-row.csv')), 'trace line 4');
  rejects(() => parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,1,1\n# note\n0.5,abc,3\n'), 'trace line 4: prompt_tokens');
  rejects(() => parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,1,1\n0.5,2,0\n'), 'trace line 3: output_tokens');
  rejects(() => parseServingTrace('timestamp,prompt_tokens,output_tokens\n1,1,1\n0.5,2,2\n'), 'trace line 3: timestamp');
  rejects(() => parseServingTrace('timestamp,prompt_tokens,output_tokens\nNaN,1,1\n'), 'trace line 2: timestamp');
  rejects(() => parseServingTrace('time,prompt_tokens,output_tokens\n0,1,1\n'), 'trace line 1');
  rejects(() => parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,"1,1\n'), /^trace line/);
});

test('parseServingTrace rejects empty and header-only traces', () => {
  rejects(() => parseServingTrace(''), 'trace');
  rejects(() => parseServingTrace('# only a comment\n\n'), 'trace');
  rejects(() => loadServingTrace(fixture('header-only.csv')), 'trace');
  rejects(() => loadServingTrace(fixture('does-not-exist.csv')), 'path');
  rejects(() => simulateServing({ ...good, arrivals: { kind: 'trace', trace: undefined as never } }, 1), 'arrivals.trace');
});

test('parseServingTrace reads columns in any order and skips comments and blank lines', () => {
  const t = parseServingTrace('# comment\noutput_tokens,Timestamp,prompt_tokens\n\n5,0.25,100\n7,0.5,200\n', 'x.csv');
  assert.deepEqual([...t.timestamps], [0.25, 0.5]);
  assert.deepEqual([...t.promptTokens], [100, 200]);
  assert.deepEqual([...t.outputTokens], [5, 7]);
  assert.equal(t.source, 'x.csv');
});

test('loadServingTrace reads the shipped bursty-chat trace and replays every row', () => {
  const path = fileURLToPath(new URL('../../data/traces/bursty-chat.csv', import.meta.url));
  const trace = loadServingTrace(path);
  // 500 rows: bench/simulator-make-trace.ts writes ROWS = 500.
  assert.equal(trace.timestamps.length, 500);
  const r = simulateServing({ arrivals: { kind: 'trace', trace }, policy: { kind: 'continuous', maxBatch: 32 }, stepCost: constantStepCost(0.02) }, 1);
  assert.equal(r.requests, 500);
  let out = 0;
  for (const o of trace.outputTokens) out += o;
  assert.equal(r.tokens.emitted, out);
  // requests below the trace length replays a prefix; above it is refused.
  assert.equal(simulateServing({ arrivals: { kind: 'trace', trace }, requests: 10, policy: { kind: 'continuous', maxBatch: 32 }, stepCost: constantStepCost(0.02) }, 1).requests, 10);
  rejects(() => simulateServing({ arrivals: { kind: 'trace', trace }, requests: 501, policy: { kind: 'continuous', maxBatch: 32 }, stepCost: constantStepCost(0.02) }, 1), 'requests');
});

test('loadServingTrace finds a shipped trace by its name or its path in the package from any working folder (an installed package\'s user got ENOENT)', () => {
  const byPath = loadServingTrace(fixture('../../../data/traces/bursty-chat.csv'));
  const cwd = process.cwd();
  try {
    process.chdir(fileURLToPath(new URL('./fixtures/', import.meta.url)));
    assert.deepEqual(loadServingTrace('bursty-chat').promptTokens, byPath.promptTokens);
    assert.deepEqual(loadServingTrace('data/traces/bursty-chat.csv').promptTokens, byPath.promptTokens);
    assert.throws(() => loadServingTrace('no-such-trace'), (e: unknown) => e instanceof InputError && e.field === 'path');
  } finally {
    process.chdir(cwd);
  }
});

test('resolveServing caps expected, not worst-case, work: 10^6 chat requests with long capped tails pass, 2,000 × 10^7-token answers do not', () => {
  // bench/simulator.ts's workload: lognormal prompts (median 512, σ 0.8, ≤ 8192) and outputs
  // (median 96, ≤ 2048): about 840 tokens per request on average, 8.4e8 for 10^6 requests.
  const chat = {
    arrivals: { kind: 'poisson' as const, ratePerSecond: 20 },
    requests: 1_000_000,
    promptTokens: { kind: 'lognormal' as const, median: 512, sigma: 0.8, max: 8192 },
    outputTokens: { kind: 'lognormal' as const, median: 96, sigma: 0.8, max: 2048 },
    policy: { kind: 'continuous' as const, maxBatch: 256 },
    stepCost: constantStepCost(0.01),
  };
  assert.equal(resolveServing(chat, 1).n, 1_000_000);
  const huge = { ...chat, requests: 2000, outputTokens: { kind: 'fixed' as const, tokens: 10_000_000 } };
  assert.throws(() => resolveServing(huge, 1), (e: unknown) => e instanceof InputError && e.field === 'requests');
});
