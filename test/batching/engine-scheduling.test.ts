import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefillAttentionPairs } from '../../lib/core/matmul.js';
import { STEP_END, WAKE } from '../../lib/batching/engine-state.js';
import { admitRequest, createRequest } from '../../lib/batching/engine-admission.js';
import { composeStep, makeRoomForDecode, preempt, refreshView, scheduleNext } from '../../lib/batching/engine-scheduling.js';
import { constantStepCost } from '../../lib/batching/index.js';
import { handState } from './engine-helpers.js';

const step = (admit: number, prefillTokens: number, decode: boolean) => ({ kind: 'step' as const, admit, prefillTokens, decode });

test('composeStep hands the prefill budget first-come first-served and counts chunks and attention pairs', () => {
  const s = handState({ prompt: 300 });
  createRequest(s, 0);
  createRequest(s, 0);
  s.queue.pushBack(0);
  s.queue.pushBack(1);
  // Budget 400: request 0 takes its 300 tokens, request 1 its first 100.
  const seqs = composeStep(s, step(2, 400, true), 0);
  assert.equal(seqs, 2);
  assert.deepEqual({ ...s.work }, {
    prefillTokens: 400,
    decodeTokens: 0,
    contextTokens: 0,
    prefillSequences: 2,
    // Closed form c·o + c(c+1)/2 per chunk, both from an empty cache: 300·301/2 + 100·101/2.
    prefillAttentionPairs: 45150 + 5050,
  });
  assert.equal(s.req.prefillLeft[1], 200);
  assert.equal(s.prefillPending, 200);
  // The next chunk of request 1 attends to its first 100 tokens: 200·100 + 200·201/2.
  composeStep(s, step(0, 1000, true), 1);
  assert.equal(s.work.prefillAttentionPairs, prefillAttentionPairs(200, 100));
  assert.equal(s.work.prefillAttentionPairs, 20000 + 20100);
});

test('composeStep puts every decoding sequence and their context in the step only when asked to decode', () => {
  const s = handState();
  s.decoding = 3;
  s.running = 3;
  s.contextSum = 330;
  assert.equal(composeStep(s, step(0, 0, true), 0), 3);
  assert.equal(s.work.decodeTokens, 3);
  assert.equal(s.work.contextTokens, 330);
  assert.equal(composeStep(s, step(0, 0, false), 0), 0); // nothing in it: not run
  assert.equal(s.work.contextTokens, 0);
});

test('composeStep refuses a decision that admits more than is queued or than the batch limit', () => {
  const s = handState();
  createRequest(s, 0);
  s.queue.pushBack(0);
  assert.throws(() => composeStep(s, step(2, 100, true), 0), /impossible step/);
  s.running = 4; // maxBatch 4
  assert.throws(() => composeStep(s, step(1, 100, true), 0), /impossible step/);
  assert.throws(() => composeStep(s, step(0, NaN, true), 0), /impossible step/);
});

test('preempt returns a decoding sequence to the front of the queue with the tokens it emitted, freeing its blocks', () => {
  // Prompt 30 in 8-token blocks; r joined decoding with 1 token at round 0, then 5 rounds ran.
  const s = handState({ prompt: 30, output: 20, kvAdmission: 'blocks', kvBlockTokens: 8, kvCapacityTokens: 800 });
  createRequest(s, 0);
  createRequest(s, 0);
  s.queue.pushBack(1);
  admitRequest(s, 0, 0);
  s.prefillRing.popFront();
  s.prefillPending = 0;
  s.req.phase[0] = 2;
  s.req.generated[0] = 1;
  s.req.joinRound[0] = 0;
  s.req.joinTime[0] = 0.1;
  s.decoding = 1;
  s.decodeRounds = 5;
  s.contextSum = 30 + 1 + 5;
  s.lastDecodeEnd = 0.6;
  s.mainCount = 1;
  // It holds the KV of prompt + 6 emitted − 1 = 35 tokens: ceil(35 / 8) = 5 blocks.
  s.kvUsed = 5;
  preempt(s, 0);
  assert.equal(s.kvUsed, 0);
  assert.equal(s.req.generated[0], 6);
  assert.equal(s.contextSum, 0);
  assert.equal(s.decoding, 0);
  assert.equal(s.running, 0);
  assert.equal(s.mainCount, 0);
  assert.equal(s.req.joinTime[0], 0.6); // its next token's latency counts from its last one
  assert.equal(s.req.phase[0], 4);
  assert.equal(s.queue.at(0), 0);
  assert.equal(s.queue.at(1), 1);
  assert.equal(s.preemptions, 1);
  assert.equal(s.runTail, -1);
});

test('makeRoomForDecode preempts the latest-admitted sequences until the next round’s new blocks fit', () => {
  const s = handState({ prompt: 16, output: 10, kvAdmission: 'blocks', kvBlockTokens: 16, kvCapacityTokens: 64, requests: 4 });
  for (let r = 0; r < 3; r++) {
    createRequest(s, 0);
    admitRequest(s, r, 0); // one block each
  }
  // Hand-made: all three joined decoding at round 0 with one token, so the next round writes
  // token 17 of each and opens a block (growthKey = (0 + 2 − 16 − 1) mod 16 = 1); 4 − 3 = 1 free.
  s.prefillRing.popFront();
  s.prefillRing.popFront();
  s.prefillRing.popFront();
  s.prefillPending = 0;
  for (let r = 0; r < 3; r++) {
    s.req.phase[r] = 2;
    s.req.generated[r] = 1;
    s.req.joinRound[r] = 0;
  }
  s.decoding = 3;
  s.mainCount = 3;
  s.contextSum = 3 * 17;
  s.bucket[1] = 3;
  makeRoomForDecode(s);
  // Preempting request 2 frees its block (3 − 1 = 2 used) and its growth (2 needed): 2 ≤ 4 − 2.
  assert.equal(s.preemptions, 1);
  assert.equal(s.queue.at(0), 2);
  assert.equal(s.growthNext, 2);
  assert.ok(s.growthNext <= s.kvCap - s.kvUsed);
});

test('refreshView writes what the policy sees, KV free after the next round’s growth', () => {
  const s = handState({ kvCapacityTokens: 500 });
  s.kvUsed = 300;
  s.growthNext = 0;
  s.running = 2;
  s.decoding = 1;
  s.prefillPending = 40;
  const v = refreshView(s, 7);
  assert.equal(v.now, 7);
  assert.equal(v.kvFree, 200);
  assert.equal(v.running, 2);
  assert.equal(v.decoding, 1);
  assert.equal(v.prefillPending, 40);
});

test('scheduleNext starts the step a policy asks for, and sets one wake-up for a wait', () => {
  const s = handState();
  createRequest(s, 0);
  s.events.pop();
  s.queue.pushBack(0);
  scheduleNext(s, 0, () => step(1, Infinity, true), constantStepCost(0.02));
  assert.equal(s.busy, true);
  assert.equal(s.events.peek(), STEP_END);
  assert.equal(s.events.peekValue(), 0.02);
  // Busy: the policy is not asked.
  scheduleNext(s, 0.01, () => assert.fail('asked while busy'), constantStepCost(0.02));
  const w = handState();
  scheduleNext(w, 1, () => ({ kind: 'wait', until: 1.5 }), constantStepCost(0.02));
  scheduleNext(w, 1.2, () => ({ kind: 'wait', until: 1.5 }), constantStepCost(0.02));
  assert.equal(w.events.length, 1); // the same wake-up is not queued twice
  assert.equal(w.events.peek(), WAKE);
  assert.equal(w.pendingWake, 1.5);
});
