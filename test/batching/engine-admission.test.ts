import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARRIVAL0 } from '../../lib/batching/engine-state.js';
import { absorbTies, admitQueued, admitRequest, arriveRequest, createRequest } from '../../lib/batching/engine-admission.js';
import { handState } from './engine-helpers.js';

test('createRequest stamps the arrival, draws both lengths and schedules the arrival event', () => {
  const s = handState({ prompt: 120, output: 7 });
  const r = createRequest(s, 2.5);
  assert.equal(r, 0);
  assert.equal(s.created, 1);
  assert.equal(s.req.arrival[0], 2.5);
  // Lengths from the config's fixed sources: 120 and 7 tokens.
  assert.equal(s.req.prompt[0], 120);
  assert.equal(s.req.output[0], 7);
  assert.equal(s.promptTotal, 120);
  assert.equal(s.outputTotal, 7);
  assert.equal(s.events.peek(), ARRIVAL0 + 0);
  assert.equal(s.events.peekValue(), 2.5);
});

test('arriveRequest queues the request and, in an open loop, draws exactly the next arrival', () => {
  const s = handState();
  createRequest(s, 0);
  s.events.pop();
  arriveRequest(s, 0);
  assert.equal(s.queue.length, 1);
  assert.equal(s.inSystem, 1);
  assert.equal(s.created, 2); // one ahead of arrivals
  assert.equal(s.events.length, 1);
  // A closed loop draws nothing on arrival: the next request comes when one finishes.
  const c = handState({ arrivals: { kind: 'closed', clients: 2 } });
  createRequest(c, 0);
  c.events.pop();
  arriveRequest(c, 0);
  assert.equal(c.created, 1);
  assert.equal(c.events.length, 0);
});

test('absorbTies queues every arrival at or before t and none after', () => {
  const s = handState({ arrivals: { kind: 'poisson', ratePerSecond: 1 } });
  // Hand-made open loop: requests 0..2 drawn at 1, 2 and 3 s; 0 has arrived.
  for (const t of [1, 2, 3]) createRequest(s, t);
  s.arrived = 1;
  s.queue.pushBack(0);
  s.inSystem = 1;
  absorbTies(s, 2);
  assert.equal(s.arrived, 2);
  assert.deepEqual([s.queue.at(0), s.queue.at(1)], [0, 1]);
  assert.equal(s.queue.length, 2);
});

test('admitRequest reserves prompt + output tokens and skips the cached prefix', () => {
  // Prefix hit 0.25 of a 100-token prompt: floor(25) tokens cached, 75 to prefill.
  const s = handState({ prompt: 100, output: 10, prefixCacheHitRatio: 0.25, kvCapacityTokens: 1000 });
  createRequest(s, 0);
  admitRequest(s, 0, 0.5);
  assert.equal(s.req.admitted[0], 0.5);
  assert.equal(s.req.prefillLeft[0], 75);
  assert.equal(s.req.kvTokens[0], 25);
  assert.equal(s.prefillPending, 75);
  assert.equal(s.cached, 25);
  assert.equal(s.kvUsed, 110); // reserved: prompt + output
  assert.equal(s.kvPeak, 110);
  assert.equal(s.req.phase[0], 1);
  assert.equal(s.running, 1);
  assert.equal(s.prefillRing.length, 1);
});

test('admitRequest under paged KV takes the blocks of its prefill and links it last in admission order', () => {
  // 100 prompt tokens in 16-token blocks: ceil(100 / 16) = 7 blocks.
  const s = handState({ prompt: 100, kvAdmission: 'blocks', kvBlockTokens: 16, kvCapacityTokens: 1600 });
  createRequest(s, 0);
  createRequest(s, 0);
  admitRequest(s, 0, 0);
  admitRequest(s, 1, 0);
  assert.equal(s.kvCap, 100); // 1600 tokens / 16
  assert.equal(s.kvUsed, 14);
  assert.equal(s.runHead, 0);
  assert.equal(s.runTail, 1);
  assert.equal(s.next[0], 1);
  assert.equal(s.prev[1], 0);
});

test('admitRequest of a preempted request keeps its first admission time and recomputes prompt plus emitted tokens', () => {
  const s = handState({ prompt: 100, output: 10 });
  createRequest(s, 0);
  s.req.phase[0] = 4; // queued again after a preemption, 4 tokens emitted
  s.req.admitted[0] = 0.25;
  s.req.generated[0] = 4;
  admitRequest(s, 0, 3);
  assert.equal(s.req.admitted[0], 0.25);
  assert.equal(s.req.prefillLeft[0], 104);
});

test('admitQueued admits the head of the queue in order and counts one admission instant', () => {
  const s = handState();
  for (let i = 0; i < 3; i++) {
    createRequest(s, 0);
    s.queue.pushBack(i);
  }
  admitQueued(s, 2, 1);
  assert.equal(s.queue.length, 1);
  assert.equal(s.queue.at(0), 2);
  assert.equal(s.admissions, 1);
  assert.equal(s.admittedTotal, 2);
  admitQueued(s, 0, 2);
  assert.equal(s.admissions, 1);
});
