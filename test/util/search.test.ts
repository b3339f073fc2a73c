import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smallestIntegerWhere } from '../../lib/util/index.js';

test('smallestIntegerWhere(pred, lo, hi) finds the threshold of a monotone predicate, Infinity when none', () => {
  // 8 is the smallest integer with x² ≥ 50 (7² = 49).
  assert.equal(smallestIntegerWhere((x) => x * x >= 50, 1, 100), 8);
  assert.equal(smallestIntegerWhere(() => true, 5, 100), 5);
  assert.equal(smallestIntegerWhere((x) => x >= 100, 1, 100), 100);
  assert.equal(smallestIntegerWhere((x) => x > 100, 1, 100), Infinity);
  for (let t = 1; t <= 64; t++) assert.equal(smallestIntegerWhere((x) => x >= t, 1, 64), t);
});

test('smallestIntegerWhere(pred, lo, hi, { guess }) gallops from the guess to the same answer', () => {
  for (const guess of [0.5, 1, 3, 1000, 5e6, 2e9]) {
    assert.equal(smallestIntegerWhere((x) => x >= 3_000_000, 1, 1e9, { guess }), 3_000_000);
    assert.equal(smallestIntegerWhere((x) => x >= 2, 1, 1e9, { guess }), 2);
  }
  assert.equal(smallestIntegerWhere((x) => x > 1e9, 1, 1e9, { guess: 10 }), Infinity);
});

test('smallestIntegerWhere calls the predicate O(log range) times', () => {
  let calls = 0;
  smallestIntegerWhere((x) => (calls++, x >= 123_456_789), 1, 1 << 30);
  // log2(2^30) = 30 bisections, plus the two end checks.
  assert.ok(calls <= 32, `${calls} calls`);
});
