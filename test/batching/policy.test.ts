import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  registerServingPolicy,
  servingPolicyModule,
  servingPolicyKinds,
  continuousPolicy,
  type SchedulerView,
} from '../../lib/batching/index.js';
import { InputError } from '../../lib/util/errors.js';

/** A hand-made scheduler state: queued requests as [prompt, kvNeed, arrival] rows. */
function view(v: Partial<SchedulerView> & { queue?: Array<[number, number, number]> }): SchedulerView {
  const q = v.queue ?? [];
  return {
    now: 0,
    lastStepStart: -Infinity,
    lastStepEnd: -Infinity,
    running: 0,
    decoding: 0,
    prefilling: 0,
    prefillPending: 0,
    kvFree: Infinity,
    ...v,
    queued: q.length,
    queuedPrefill: (i) => q[i][0],
    queuedKvNeed: (i) => q[i][1],
    queuedArrival: (i) => q[i][2],
  };
}

const decider = (config: object) => {
  const m = servingPolicyModule((config as { kind: string }).kind);
  return m.decider(m.check(config));
};

test('servingPolicyKinds lists the four built-in policies; registering a name twice is an InputError', () => {
  assert.deepEqual(servingPolicyKinds(), ['static', 'window', 'continuous', 'chunked']);
  assert.throws(() => registerServingPolicy(continuousPolicy), (e: unknown) => e instanceof InputError && e.field === 'module.kind');
  assert.throws(() => servingPolicyModule('nope'), (e: unknown) => e instanceof InputError && e.field === 'policy.kind');
});

test('continuous decider admits FIFO up to the batch limit and stops at the first request the KV cache cannot hold', () => {
  const d = decider({ kind: 'continuous', maxBatch: 4 });
  // 1 running, room for 3 more; the third queued needs 50 KV tokens of the 40 left after 30 + 20 ... stops there.
  assert.deepEqual(d(view({ running: 1, decoding: 1, kvFree: 100, queue: [[10, 30, 0], [10, 30, 0], [10, 50, 0], [1, 1, 0]] })), { kind: 'step', admit: 2, prefillTokens: Infinity, decode: true });
  assert.deepEqual(d(view({ running: 4, decoding: 4, queue: [[10, 1, 0]] })), { kind: 'step', admit: 0, prefillTokens: Infinity, decode: true });
  assert.deepEqual(d(view({})), { kind: 'wait', until: Infinity });
  // Prefill-first: a step with new prompts pauses the decodes.
  const p = decider({ kind: 'continuous', maxBatch: 4, priority: 'prefill-first' });
  assert.deepEqual(p(view({ running: 1, decoding: 1, queue: [[10, 1, 0]] })), { kind: 'step', admit: 1, prefillTokens: Infinity, decode: false });
  assert.deepEqual(p(view({ running: 1, decoding: 1 })), { kind: 'step', admit: 0, prefillTokens: Infinity, decode: true });
});

test('chunked decider gives decodes their token first, earlier prompts the next, and admits only with budget left', () => {
  const d = decider({ kind: 'chunked', maxBatch: 8, tokenBudget: 64 });
  // Budget 64 − 4 decodes = 60; 50 pending prompt tokens leave 10: one newcomer admitted (it takes all 10).
  assert.deepEqual(d(view({ running: 5, decoding: 4, prefilling: 1, prefillPending: 50, queue: [[30, 1, 0], [5, 1, 0]] })), { kind: 'step', admit: 1, prefillTokens: 60, decode: true });
  // 60 pending fill the budget: nobody joins.
  assert.equal((d(view({ running: 5, decoding: 4, prefilling: 1, prefillPending: 60, queue: [[30, 1, 0]] })) as { admit: number }).admit, 0);
});

test('chunked decider with wholePrompts admits a prompt only when the budget left holds all of it', () => {
  const d = decider({ kind: 'chunked', maxBatch: 8, tokenBudget: 64, wholePrompts: true });
  // Budget 64 − 4 decodes = 60: 30 fits whole, then 25 of the 30 left fits, then 10 does not (5 left).
  assert.deepEqual(d(view({ running: 4, decoding: 4, queue: [[30, 1, 0], [25, 1, 0], [10, 1, 0]] })), { kind: 'step', admit: 2, prefillTokens: 60, decode: true });
  // 61 tokens never fit beside 4 decodes; without wholePrompts the same head is admitted and split.
  assert.equal((d(view({ running: 4, decoding: 4, queue: [[61, 1, 0]] })) as { admit: number }).admit, 0);
  assert.equal((decider({ kind: 'chunked', maxBatch: 8, tokenBudget: 64 })(view({ running: 4, decoding: 4, queue: [[61, 1, 0]] })) as { admit: number }).admit, 1);
  assert.throws(() => decider({ kind: 'chunked', maxBatch: 8, tokenBudget: 64, wholePrompts: 'yes' }), (e: unknown) => e instanceof InputError && e.field === 'policy.wholePrompts');
});

test('window decider waits until W after the previous tick started unless the batch limit is reached; W = 0 never waits', () => {
  const d = decider({ kind: 'window', windowMs: 50, maxBatch: 4 });
  assert.deepEqual(d(view({ now: 1.02, lastStepStart: 1, running: 2, decoding: 2, queue: [[10, 1, 1.01]] })), { kind: 'wait', until: 1.05 });
  assert.deepEqual(d(view({ now: 1.05, lastStepStart: 1, running: 2, decoding: 2, queue: [[10, 1, 1.01]] })), { kind: 'step', admit: 1, prefillTokens: Infinity, decode: true });
  // Two running + two queued reach maxBatch 4: the tick starts at once.
  assert.equal(d(view({ now: 1.02, lastStepStart: 1, running: 2, decoding: 2, queue: [[10, 1, 1.01], [10, 1, 1.015]] })).kind, 'step');
  const zero = decider({ kind: 'window', windowMs: 0, maxBatch: 4 });
  const cont = decider({ kind: 'continuous', maxBatch: 4 });
  const v = view({ now: 1.0000001, lastStepStart: 1, running: 1, decoding: 1, queue: [[10, 1, 1]] });
  assert.deepEqual(zero(v), cont(v));
});

test('static decider continues a running batch without admitting, and dispatches an idle queue on the W grid', () => {
  const d = decider({ kind: 'static', windowMs: 10, maxBatch: 3 });
  assert.deepEqual(d(view({ running: 2, decoding: 2, queue: [[1, 1, 0]] })), { kind: 'step', admit: 0, prefillTokens: Infinity, decode: true });
  // Idle since 0.013 with a request from 0.011: the window closes at the 0.02 tick.
  assert.deepEqual(d(view({ now: 0.013, lastStepEnd: 0.013, queue: [[1, 1, 0.011]] })), { kind: 'wait', until: 0.02 });
  assert.deepEqual(d(view({ now: 0.02, lastStepEnd: 0.013, queue: [[1, 1, 0.011]] })), { kind: 'step', admit: 1, prefillTokens: Infinity, decode: true });
  // A full batch goes at once.
  assert.equal(d(view({ now: 0.014, lastStepEnd: 0.013, queue: [[1, 1, 0.011], [1, 1, 0.012], [1, 1, 0.0135]] })).kind, 'step');
});

test('policy modules reject bad options naming the field', () => {
  const cases: Array<[object, string]> = [
    [{ kind: 'window', windowMs: -1, maxBatch: 4 }, 'policy.windowMs'],
    [{ kind: 'static', windowMs: 0, maxBatch: 4 }, 'policy.windowMs'],
    [{ kind: 'chunked', maxBatch: 1, tokenBudget: 0 }, 'policy.tokenBudget'],
    [{ kind: 'continuous', maxBatch: 4, priority: 'fastest' }, 'policy.priority'],
  ];
  for (const [c, field] of cases) {
    assert.throws(() => servingPolicyModule((c as { kind: string }).kind).check(c), (e: unknown) => e instanceof InputError && e.field === field, field);
  }
});

test('each policy module names the config fields it reads (reads), and a config field is what its check keeps', async () => {
  const { policiesReading, servingPolicyKinds, servingPolicyModule } = await import('../../lib/batching/policy.js');
  assert.deepEqual(policiesReading('windowMs'), ['static', 'window']);
  assert.deepEqual(policiesReading('tokenBudget'), ['chunked']);
  const full = { maxBatch: 8, windowMs: 5, tokenBudget: 64 };
  for (const kind of servingPolicyKinds()) {
    const m = servingPolicyModule(kind);
    const kept = m.check({ kind, ...full }) as unknown as Record<string, unknown>;
    // A field the module says it reads survives its check; one it does not read is dropped.
    for (const f of ['windowMs', 'tokenBudget']) assert.equal(f in kept, (m.reads ?? []).includes(f), `${kind}.${f}`);
  }
});
