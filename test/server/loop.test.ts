import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../lib/backend/registry.js';
import { simulateServing } from '../../lib/batching/simulate.js';
import type { ServingPolicy, ServingStepCost } from '../../lib/batching/types.js';
import type { StepWork } from '../../lib/core/types.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { seededWeights } from '../../lib/engine/weights.js';
import type { EngineConfig } from '../../lib/engine/config.js';
import { ServingLoop } from '../../lib/server/loop.js';
import type { RequestSink } from '../../lib/server/loop.js';
import { exponential, fork } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';

type Tf = typeof import('@tensorflow/tfjs-core');
let tf: Tf;
before(async () => {
  tf = (await selectBackend('auto', { log: () => {} })).tf;
});

const CFG: EngineConfig = {
  id: 'loop-test',
  hiddenSize: 64,
  numLayers: 2,
  vocabSize: 256,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  intermediateSize: 128,
  numExperts: 0,
  expertsPerToken: 0,
  tieWordEmbeddings: true,
  ropeTheta: 10_000,
  rmsNormEps: 1e-5,
  maxContext: 128,
};

function sink(): { s: RequestSink; tokens: number[]; finished: Promise<void> } {
  let resolve!: () => void;
  const finished = new Promise<void>((r) => (resolve = r));
  const tokens: number[] = [];
  return { s: { token: (t, i) => (assert.equal(i, tokens.length), tokens.push(t)), done: () => resolve() }, tokens, finished };
}

/**
 * Feeds a live run's own arrivals and step durations to simulateServing: if the loop
 * schedules as the simulator does, the simulator asks for exactly the same sequence of
 * steps. The loop sees a request at its first look at the queue after the request came
 * in (it yields to I/O between steps, and wakes from idle a moment after an arrival),
 * so the replayed arrival is that moment; step k lasts, for the simulator, from the
 * loop's decision on it to the loop's next look.
 */
async function replayMatches(policy: ServingPolicy): Promise<void> {
  const engine = new DecodeEngine(tf, CFG, seededWeights(CFG, 3));
  const loop = new ServingLoop(engine, policy);
  const running = loop.run();
  const n = 24;
  const gap = exponential(fork(5, 'gaps'), 40);
  const lens = fork(5, 'lengths');
  const finished: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const p = 4 + Math.floor(lens() * 28);
    const o = 1 + Math.floor(lens() * 12);
    const k = sink();
    loop.submit(Array.from({ length: p }, (_, j) => (i * 7 + j) % 256), o, k.s);
    finished.push(k.finished.then(() => assert.equal(k.tokens.length, o)));
    await new Promise((r) => setTimeout(r, gap() * 1000));
  }
  await Promise.all(finished);
  await loop.stop();
  await running;
  const steps = loop.steps;
  const arrivals = loop.arrivals;
  assert.equal(arrivals.length, n);
  let k = 0;
  const works: StepWork[] = [];
  const cost: ServingStepCost = (w) => {
    works.push({ ...w });
    const s = steps[k++];
    const end = Number.isNaN(s?.nextDecision) ? s.end : s?.nextDecision;
    return s ? Math.max(1e-9, end - s.start) : 1;
  };
  const decisions = loop.decisions;
  const seen = (a: number): number => decisions.find((d) => d >= a) ?? a;
  const trace = {
    timestamps: Float64Array.from(arrivals.map((a) => seen(a.arrival))),
    promptTokens: Int32Array.from(arrivals.map((a) => a.promptTokens)),
    outputTokens: Int32Array.from(arrivals.map((a) => a.outputTokens)),
    source: 'live run',
  };
  simulateServing({ arrivals: { kind: 'trace', trace }, policy, stepCost: cost }, 1);
  assert.equal(works.length, steps.length, `simulator ran ${works.length} steps, the loop ${steps.length}`);
  works.forEach((w, i) => assert.deepEqual(w, steps[i].work, `step ${i}`));
  assert.deepEqual(engine.sequences(), []);
  engine.dispose();
}

test('ServingLoop(continuous) runs the step sequence simulateServing chooses for the same arrivals and durations', async () => {
  await replayMatches({ kind: 'continuous', maxBatch: 4 });
});

test('ServingLoop(chunked) runs the step sequence simulateServing chooses for the same arrivals and durations', async () => {
  await replayMatches({ kind: 'chunked', maxBatch: 4, tokenBudget: 12 });
});

test('ServingLoop(static) runs a batch to completion before anyone joins, dispatching on a window tick', async () => {
  const engine = new DecodeEngine(tf, CFG, seededWeights(CFG, 3));
  const loop = new ServingLoop(engine, { kind: 'static', windowMs: 15, maxBatch: 4 });
  const running = loop.run();
  const a = sink();
  const b = sink();
  const c = sink();
  // C arrives while A and B decode: at A's third token (a timer could fire after a late tick on a busy machine).
  loop.submit([1, 2, 3], 60, { token: (t, i) => (a.s.token(t, i), i === 2 && loop.submit([6, 7], 3, c.s)), done: a.s.done });
  loop.submit([4, 5], 60, b.s);
  await Promise.all([a.finished, b.finished, c.finished]);
  await loop.stop();
  await running;
  const [ra, rb, rc] = loop.arrivals;
  // A and B were caught by the first tick (t = W = 15 ms, the clock starting at A's arrival) in one batch.
  assert.equal(ra.firstToken, rb.firstToken);
  assert.ok(loop.steps[0].start >= 0.015 && loop.steps[0].work.prefillSequences === 2, JSON.stringify(loop.steps[0]));
  assert.ok(rc.arrival < Math.max(ra.finish, rb.finish));
  assert.ok(rc.firstToken > Math.max(ra.finish, rb.finish));
  engine.dispose();
});

test('ServingLoop: cancelling a queued and a running request frees their KV and the loop keeps serving', async () => {
  const engine = new DecodeEngine(tf, CFG, seededWeights(CFG, 3));
  const loop = new ServingLoop(engine, { kind: 'continuous', maxBatch: 1 });
  const running = loop.run();
  const a = sink();
  const b = sink();
  const ha = loop.submit([1, 2, 3], 50, { token: (t, i) => (a.s.token(t, i), i === 2 && ha.cancel()), done: a.s.done });
  const hb = loop.submit([4, 5], 50, b.s);
  hb.cancel(); // still queued behind a (batch limit 1)
  const c = sink();
  loop.submit([6, 7, 8], 5, c.s);
  await c.finished;
  assert.equal(a.tokens.length, 3);
  assert.equal(b.tokens.length, 0);
  assert.equal(c.tokens.length, 5);
  const m = loop.metrics();
  assert.deepEqual([m.accepted, m.completed, m.cancelled], [3, 1, 2]);
  await loop.stop();
  await running;
  assert.deepEqual(engine.sequences(), []);
  engine.dispose();
});

test('ServingLoop.stop() finishes every accepted request, then refuses new ones', async () => {
  const engine = new DecodeEngine(tf, CFG, seededWeights(CFG, 3));
  const loop = new ServingLoop(engine, { kind: 'window', windowMs: 5, maxBatch: 2 });
  const running = loop.run();
  const sinks = [sink(), sink(), sink()];
  sinks.forEach((k, i) => loop.submit([i + 1, 9], 7, k.s));
  await loop.stop();
  await running;
  for (const k of sinks) assert.equal(k.tokens.length, 7);
  assert.throws(() => loop.submit([1], 1, sink().s), /stopping/);
  engine.dispose();
});

test('ServingLoop.submit names the field of a request the engine could never run', () => {
  const engine = new DecodeEngine(tf, CFG, seededWeights(CFG, 3));
  const loop = new ServingLoop(engine, { kind: 'continuous', maxBatch: 2 });
  const bad: Array<[number[], number, RegExp]> = [
    [[], 4, /prompt/],
    [[1, 2], 0, /max_tokens/],
    [new Array(120).fill(1), 9, /at most 128 tokens together/],
    // An output limit that alone fills the 128-token context (CFG) names max_tokens, not the prompt: 128 − 2 = 126 left.
    [[1, 2], 1e9, /^max_tokens must be at most 126 with this 2-token prompt/],
    // A prompt that alone fills the context is named, not max_tokens with a limit of 0 or below (it said "at most -36").
    [new Array(128).fill(1), 128, /^prompt must be fewer than the engine's context of 128 tokens/],
    [new Array(200).fill(1), 64, /^prompt must be fewer than the engine's context of 128 tokens/],
    [[256], 1, /prompt\[0\].*\[0, 255\]/],
  ];
  for (const [p, m, re] of bad) assert.throws(() => loop.submit(p, m, sink().s), (e: unknown) => e instanceof InputError && re.test(e.message));
  assert.throws(() => new ServingLoop(engine, { kind: 'continuous', maxBatch: 0 }), /policy.maxBatch/);
  assert.throws(() => new ServingLoop(engine, { kind: 'fifo', maxBatch: 2 }), /policy.kind/);
  engine.dispose();
});

