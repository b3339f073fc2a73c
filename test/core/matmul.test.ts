import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPrefillSequences, matmulBytes, prefillAttentionPairs } from '../../lib/core/matmul.js';
import { InputError } from '../../lib/util/errors.js';

test('prefillAttentionPairs(c, o) equals c·o + c·(c+1)/2, and chunks of a prompt sum to the prompt in one piece', () => {
  // Closed form: 4 new tokens from an empty cache see 1 + 2 + 3 + 4 = 10 keys.
  assert.equal(prefillAttentionPairs(4, 0), 10);
  assert.equal(prefillAttentionPairs(2, 2) + prefillAttentionPairs(2, 0), prefillAttentionPairs(4, 0));
});

test('checkPrefillSequences(v, P) takes whole prompts in [1, P] and a steady-state mean in (0, P]; anything else names prefillSequences', () => {
  assert.equal(checkPrefillSequences(undefined, 512), 1);
  assert.equal(checkPrefillSequences(4, 512), 4);
  // One 1,000-token prompt every 10.4 steps: 96 tokens and 0.096 prompts per mean step.
  assert.equal(checkPrefillSequences(0.096, 96), 0.096);
  assert.equal(checkPrefillSequences(2.5, 2500), 2.5);
  for (const bad of [0, -1, Number.NaN, Infinity, 513, '2']) {
    assert.throws(() => checkPrefillSequences(bad, 512), (e: unknown) => e instanceof InputError && e.field === 'prefillSequences', String(bad));
  }
});

test('matmulBytes(m, k, n, dtype, batch, wDtype) moves X and Y at dtype and W at wDtype; without wDtype all at dtype', () => {
  // Closed form: X[m×k] and Y[m×n] at 2 bytes (bf16), W[k×n] at 1 byte (fp8), times batch.
  assert.equal(matmulBytes(8, 128, 4096, 'bf16', 256, 'fp8'), (2 * (8 * 128 + 8 * 4096) + 128 * 4096) * 256);
  assert.equal(matmulBytes(8, 128, 4096, 'bf16', 256), 2 * (8 * 128 + 128 * 4096 + 8 * 4096) * 256);
  assert.equal(matmulBytes(8, 128, 4096, 'bf16', 256, 'bf16'), matmulBytes(8, 128, 4096, 'bf16', 256));
});
