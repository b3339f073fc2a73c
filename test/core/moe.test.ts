import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atLeastOnceProbability, expectedDistinctExperts } from '../../lib/core/index.js';
import { expectedActiveExperts } from '../../lib/models/ops.js';
import { moeDistinctExperts } from '../../lib/moe/closed.js';

test('atLeastOnceProbability(p, n) equals 1 − (1 − p)^n where that is exact, and keeps tiny p', () => {
  // 1 − 0.5² = 0.75 and 1 − 0.9³ = 0.271, by hand.
  assert.equal(atLeastOnceProbability(0.5, 2), 0.75);
  assert.ok(Math.abs(atLeastOnceProbability(0.1, 3) - 0.271) < 1e-15);
  assert.equal(atLeastOnceProbability(1, 0), 0);
  assert.equal(atLeastOnceProbability(1, 5), 1);
  assert.equal(atLeastOnceProbability(0.3, 0), 0);
  // p = 1e-18 vanishes in 1 − p, so the naive form gives 0; the series 1 − e^(−np) ≈ np = 1e-9.
  assert.equal(1 - Math.pow(1 - 1e-18, 1e9), 0);
  assert.ok(Math.abs(atLeastOnceProbability(1e-18, 1e9) / 1e-9 - 1) < 1e-9);
});

test('expectedDistinctExperts(E, k, T) is k for one token, E·(1 − (1 − k/E)^T) in general, and below E', () => {
  assert.equal(expectedDistinctExperts(256, 8, 1), 8);
  // DeepSeek-V3 (E = 256, k = 8), 10 tokens: 256·(1 − (31/32)^10) = 69.585… (closed form by hand).
  assert.ok(Math.abs(expectedDistinctExperts(256, 8, 10) - 256 * (1 - (31 / 32) ** 10)) < 1e-12);
  assert.equal(expectedDistinctExperts(8, 8, 0), 0);
  assert.equal(expectedDistinctExperts(8, 8, 3), 8);
  assert.ok(expectedDistinctExperts(256, 8, 1e6) <= 256);
});

test('expectedActiveExperts (models) and moeDistinctExperts (moe) both return the core formula', () => {
  for (const [E, k, T] of [[256, 8, 10], [8, 2, 3], [128, 8, 4000], [64, 64, 2]]) {
    assert.equal(expectedActiveExperts(E, k, T), expectedDistinctExperts(E, k, T));
    assert.equal(moeDistinctExperts(E, k, T), expectedDistinctExperts(E, k, T));
  }
});
