import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timingStats, gemmBatchSizes, gemmFlops, gemmBytes, gemmWeightBytes, assertGemmMemory } from '../../lib/gemm/index.js';
import { InputError } from '../../lib/util/errors.js';

test('timingStats of 1…10: median 5.5, p10 1.9, p90 9.1, cv = sd/mean', () => {
  const s = timingStats([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  // simple-statistics 7.8 quantileSorted interpolates linearly at rank (n−1)·p (Hyndman–Fan type 7):
  // p10 at rank 0.9 → 1.9, p90 at rank 8.1 → 9.1, median at 4.5 → 5.5.
  assert.equal(s.median, 5.5);
  assert.ok(Math.abs(s.p10 - 1.9) < 1e-12);
  assert.ok(Math.abs(s.p90 - 9.1) < 1e-12);
  assert.equal(s.mean, 5.5);
  // Sample variance of 1…10 is 55/6; cv = sqrt(55/6)/5.5.
  assert.ok(Math.abs(s.cv - Math.sqrt(55 / 6) / 5.5) < 1e-12);
  assert.equal(s.n, 10);
  assert.equal(timingStats([0.004]).cv, 0);
  assert.throws(() => timingStats([1, NaN]), (e: unknown) => e instanceof InputError && e.field === 'samples[1]');
  assert.throws(() => timingStats([]), (e: unknown) => e instanceof InputError && e.field === 'samples');
});

test('gemmBatchSizes lists powers of two and the 1.5× points between them', () => {
  assert.deepEqual(gemmBatchSizes(16), [1, 2, 3, 4, 6, 8, 12, 16]);
  assert.deepEqual(gemmBatchSizes(16, { between: false }), [1, 2, 4, 8, 16]);
  assert.deepEqual(gemmBatchSizes(1), [1]);
  assert.equal(gemmBatchSizes(4096).at(-1), 4096);
  assert.throws(() => gemmBatchSizes(0), (e: unknown) => e instanceof InputError && e.field === 'max');
});

test('gemmFlops, gemmBytes and gemmWeightBytes follow 2MKN and b·(MK+KN+MN)', () => {
  assert.equal(gemmFlops(8, 4096, 4096), 2 * 8 * 4096 * 4096);
  assert.equal(gemmFlops(8, 4096, 4096, 3), 3 * 2 * 8 * 4096 * 4096);
  assert.equal(gemmBytes(1, 4096, 4096, 'fp32'), 4 * (4096 + 4096 * 4096 + 4096));
  assert.equal(gemmBytes(1, 4096, 4096, 'bf16'), 2 * (4096 + 4096 * 4096 + 4096));
  // DeepSeek-V3 expert up-projection 7168→2048 (config.json hidden_size, moe_intermediate_size) in fp32.
  assert.equal(gemmWeightBytes(7168, 2048, 'fp32'), 58_720_256);
});

test('assertGemmMemory refuses a shape over budget with a message naming the budget and the need', () => {
  assert.doesNotThrow(() => assertGemmMemory('small', 1000, 1001));
  assert.throws(
    () => assertGemmMemory('X[1e5×1e5]', 4e10, 2 ** 30),
    (e: unknown) => e instanceof InputError && e.field === 'memoryBudgetBytes' && /37\.25 GiB/.test(e.message) && /1\.00 GiB/.test(e.message),
  );
  assert.throws(() => assertGemmMemory('x', 10, NaN), (e: unknown) => e instanceof InputError && e.field === 'memoryBudgetBytes');
});
