import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moeTokensToReachExperts } from '../../lib/moe/index.js';
import { InputError } from '../../lib/util/errors.js';

test('moeTokensToReachExperts(E, k, idle) is the smallest B with E·(1 − k/E)^B ≤ idle', () => {
  // Counted by hand with Math.pow: 8·0.75^10 = 0.4505 ≤ 0.5 < 8·0.75^9 = 0.6007.
  assert.equal(moeTokensToReachExperts(8, 2, 0.5), 10);
  // DeepSeek-V3 (256, top-8): 256·(31/32)^175 = 0.996 ≤ 1 < 256·(31/32)^174 = 1.03; Qwen3-235B (128, top-8): 76.
  assert.equal(moeTokensToReachExperts(256, 8, 1), 175);
  assert.equal(moeTokensToReachExperts(128, 8, 1), 76);
  // Every expert is reached by one token when k = E; no tokens leave all E idle.
  assert.equal(moeTokensToReachExperts(4, 4, 0.5), 1);
  assert.equal(moeTokensToReachExperts(4, 1, 4 - 1e-9), 1);
});

test('moeTokensToReachExperts rejects an idle count outside (0, E]', () => {
  assert.throws(() => moeTokensToReachExperts(8, 2, 0), (e: unknown) => e instanceof InputError && e.field === 'idle');
  assert.throws(() => moeTokensToReachExperts(8, 2, 9), (e: unknown) => e instanceof InputError && e.field === 'idle');
  assert.throws(() => moeTokensToReachExperts(8, 9, 1), (e: unknown) => e instanceof InputError && e.field === 'topK');
});
