import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STEP_END } from '../../lib/batching/engine-state.js';
import { priceStep } from '../../lib/batching/engine-pricing.js';
import { affineStepCost, type ServingStepCost } from '../../lib/batching/index.js';
import { handState } from './engine-helpers.js';

function composed(blocks = false) {
  const s = handState(blocks ? { kvAdmission: 'blocks', kvCapacityTokens: 1600 } : {});
  Object.assign(s.work, { prefillTokens: 200, decodeTokens: 3, contextTokens: 600, prefillSequences: 1, prefillAttentionPairs: 20100 });
  s.stepDecoding = 3;
  s.stepSequences = 4;
  return s;
}

test('priceStep times the composed work with the step cost, adds it to the totals and schedules its end', () => {
  const s = composed();
  const cost = affineStepCost({ fixedSeconds: 0.01, perPrefillToken: 1e-5, perDecodeToken: 1e-4, perContextToken: 1e-6 });
  // Closed form: 0.01 + 200·1e-5 + 3·1e-4 + 600·1e-6 = 0.0129 s.
  const dt = priceStep(s, 2, cost);
  assert.ok(Math.abs(dt - 0.0129) < 1e-15);
  assert.equal(s.busy, true);
  assert.equal(s.lastStepStart, 2);
  assert.equal(s.steps, 1);
  assert.equal(s.seqSum, 4);
  assert.equal(s.batchHistogram[4], 1);
  assert.equal(s.prefilled, 200);
  assert.equal(s.busySeconds, dt);
  assert.equal(s.events.peek(), STEP_END);
  assert.equal(s.events.peekValue(), 2 + dt);
});

test('priceStep adds the FLOPs and bytes a step cost reports for the same work', () => {
  const s = composed();
  const cost: ServingStepCost = () => 0.01;
  cost.flops = (w) => 2 * (w.prefillTokens + w.decodeTokens);
  cost.bytes = (w) => 10 * w.contextTokens;
  priceStep(s, 0, cost);
  assert.equal(s.flops, 406);
  assert.equal(s.bytes, 6000);
});

test('priceStep grows paged KV by the decode round’s new blocks, and only in a step that decodes', () => {
  const s = composed(true);
  s.kvUsed = 10;
  s.growthNext = 2;
  priceStep(s, 0, () => 0.01);
  assert.equal(s.kvUsed, 12);
  assert.equal(s.kvPeak, 12);
  const p = composed(true);
  p.kvUsed = 10;
  p.growthNext = 2;
  p.stepDecoding = 0;
  priceStep(p, 0, () => 0.01);
  assert.equal(p.kvUsed, 10);
});

test('priceStep names stepCost when the cost returns no positive finite duration', () => {
  for (const bad of [0, -1, NaN, Infinity, 2e6]) {
    assert.throws(() => priceStep(composed(), 0, () => bad), (e: Error) => e.name === 'InputError' && /stepCost/.test(e.message), String(bad));
  }
});
