import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitRequest, createRequest } from '../../lib/batching/engine-admission.js';
import { completeStep, retireRequest } from '../../lib/batching/engine-completion.js';
import { handState } from './engine-helpers.js';

/** A state whose request 0 was admitted at 0 and has had its whole prompt prefilled. */
function prefilled(opts: Parameters<typeof handState>[0] = {}) {
  const s = handState(opts);
  createRequest(s, 0);
  s.events.pop();
  s.inSystem = 1;
  admitRequest(s, 0, 0);
  s.prefillPending -= s.req.prefillLeft[0];
  s.req.prefillLeft[0] = 0;
  s.busy = true;
  return s;
}

test('completeStep: a finished prompt emits its first token and joins decoding, its last token due output − 1 rounds later', () => {
  const s = prefilled({ prompt: 100, output: 5 });
  completeStep(s, 0.3);
  assert.equal(s.busy, false);
  assert.equal(s.req.firstToken[0], 0.3);
  assert.equal(s.req.generated[0], 1);
  assert.equal(s.req.phase[0], 2);
  assert.equal(s.decoding, 1);
  assert.equal(s.contextSum, 101);
  assert.equal(s.emitted, 1);
  assert.equal(s.req.finishRound[0], 4); // rounds 1..4 emit tokens 2..5
  assert.equal(s.finishing.peek(), 0);
  // It joined in a step that did not decode: one ITL group from 0.3 s.
  assert.equal(s.groups, 1);
  assert.equal(s.groupTime[0], 0.3);
  assert.equal(s.groupCount[0], 1);
});

test('completeStep: decode rounds record each token’s latency and retire the sequence on its last round', () => {
  const s = prefilled({ prompt: 100, output: 3 });
  completeStep(s, 0.3); // first token
  const times = [0.35, 0.45];
  for (const t of times) {
    s.stepDecoding = s.decoding;
    s.busy = true;
    completeStep(s, t);
  }
  // Tokens 2 and 3 came 0.05 s and 0.1 s after their previous one.
  assert.equal(s.itl.count, 2);
  assert.ok(Math.abs(s.itl.sum - 0.15) < 1e-12);
  assert.equal(s.req.finish[0], 0.45);
  assert.equal(s.req.phase[0], 3);
  assert.equal(s.decoding, 0);
  assert.equal(s.contextSum, 0);
  assert.equal(s.running, 0);
  assert.equal(s.kvUsed, 0);
  assert.equal(s.completed, 1);
  assert.equal(s.emitted, 3);
});

test('completeStep: a one-token request leaves when its prompt is done and frees its paged blocks', () => {
  const s = prefilled({ prompt: 100, output: 1, kvAdmission: 'blocks', kvBlockTokens: 16, kvCapacityTokens: 1600 });
  assert.equal(s.kvUsed, 7); // ceil(100 / 16)
  completeStep(s, 0.2);
  assert.equal(s.req.firstToken[0], 0.2);
  assert.equal(s.req.finish[0], 0.2);
  assert.equal(s.kvUsed, 0);
  assert.equal(s.runHead, -1);
  assert.equal(s.decoding, 0);
});

test('retireRequest in a closed loop sends the client’s next request after its think time', () => {
  const s = handState({ arrivals: { kind: 'closed', clients: 1, thinkSeconds: 0.5 } });
  createRequest(s, 0);
  s.events.pop();
  s.inSystem = 1;
  admitRequest(s, 0, 0);
  retireRequest(s, 0, 2);
  assert.equal(s.req.finish[0], 2);
  assert.equal(s.created, 2);
  assert.equal(s.req.arrival[1], 2.5);
  assert.equal(s.thinkSum, 0.5);
  assert.equal(s.events.peekValue(), 2.5);
});

test('completeStep keeps the warm-up requests out of the measured ITL: request 0 of a one-request warm-up counts only in the whole-run histogram', () => {
  // Request 0 is the warm-up (warmupRequests 1): its two gaps (0.05 s, 0.1 s) go to itl, none to itlSteady.
  const s = prefilled({ prompt: 100, output: 3, warmupRequests: 1 });
  completeStep(s, 0.3);
  assert.deepEqual([s.decoding, s.decodingM, s.groupM[0]], [1, 0, 0]);
  for (const t of [0.35, 0.45]) {
    s.stepDecoding = s.decoding;
    s.stepDecodingM = s.decodingM;
    s.busy = true;
    completeStep(s, t);
  }
  assert.equal(s.itl.count, 2);
  assert.equal(s.itlSteady!.count, 0);
  assert.equal(s.decodingM, 0);
  // Without a warm-up every request is measured and no second histogram is kept.
  assert.equal(prefilled({ prompt: 100, output: 3 }).itlSteady, null);
});
