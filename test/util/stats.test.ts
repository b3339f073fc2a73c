import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeSample } from '../../lib/util/index.js';

test('summarizeSample(values) matches hand-computed statistics', () => {
  const s = summarizeSample([10, 1, 4, 3, 2]);
  // sorted 1,2,3,4,10: mean 4, median 3; sample variance Σ(x−4)²/4 = (9+4+1+0+36)/4 = 12.5.
  assert.equal(s.count, 5);
  assert.equal(s.mean, 4);
  assert.equal(s.median, 3);
  assert.equal(s.variance, 12.5);
  assert.ok(Math.abs(s.std - Math.sqrt(12.5)) < 1e-12);
  assert.equal(s.min, 1);
  assert.equal(s.max, 10);
  // numpy.percentile([1,2,3,4,10], 10) = 1 + 0.4·(2 − 1) = 1.4; 90th: 4 + 0.6·(10 − 4) = 7.6 (linear, rank (n−1)p).
  assert.ok(Math.abs(s.p10 - 1.4) < 1e-12);
  assert.ok(Math.abs(s.p90 - 7.6) < 1e-12);
});

test('summarizeSample skips NaN and leaves std NaN for one value (pandas convention)', () => {
  const s = summarizeSample([2, NaN, 2]);
  assert.equal(s.count, 2);
  assert.equal(s.mean, 2);
  assert.equal(s.std, 0);
  const one = summarizeSample([5]);
  assert.equal(one.count, 1);
  assert.ok(Number.isNaN(one.std));
  assert.equal(summarizeSample([]).count, 0);
});
