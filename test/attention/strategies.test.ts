import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gqaShape, raggedGroups, raggedBatchPlan, raggedBatchSeconds, raggedStrategyTable, lengthCases, decodeLengthsFromMix, RAGGED_STRATEGIES } from '../../lib/attention/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { rooflineMatmulCost } from '../../lib/roofline/index.js';
import { rng, uniform } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';

const shape = gqaShape({ hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, layers: 80 });
const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;

test('raggedGroups(): one kernel per sequence, per distinct length, one padded, k buckets, one ragged', () => {
  const L = [5, 3, 5, 9, 3, 3];
  assert.equal(raggedGroups(L, 'per-sequence').length, 6);
  assert.deepEqual(raggedGroups(L, 'exact-shape').map((g) => [g.length, g.indices]), [[3, [1, 4, 5]], [5, [0, 2]], [9, [3]]]);
  assert.deepEqual(raggedGroups(L, 'padded').map((g) => [g.length, g.executedTokens]), [[9, 54]]);
  // Sorted 3 3 3 | 5 5 9: two equal-count buckets padded to 3 and to 9.
  assert.deepEqual(raggedGroups(L, 'bucketed', { buckets: 2 }).map((g) => [g.length, g.executedTokens]), [[3, 9], [9, 27]]);
  const r = raggedGroups(L, 'ragged')[0];
  assert.deepEqual([r.usefulTokens, r.executedTokens], [28, 28]);
});

test('raggedBatchPlan(): padded waste is zero for equal lengths and grows as the spread grows', () => {
  const u = uniform(rng(5), -1, 1);
  const draws = Array.from({ length: 64 }, () => u());
  let last = -1;
  for (const spread of [0, 0.1, 0.3, 0.6, 0.9]) {
    const lengths = draws.map((x) => Math.round(2048 * (1 + spread * x)));
    const padded = raggedBatchPlan(shape, { lengths, strategy: 'padded', dtype: 'bf16' });
    if (spread === 0) assert.equal(padded.wastedFlops, 0);
    assert.ok(padded.wastedFlops > last, `spread ${spread}`);
    last = padded.wastedFlops;
    // Waste is (max − L) for every sequence, priced like a cached token: 2·64·256 FLOPs per layer.
    const max = Math.max(...lengths);
    assert.equal(padded.wastedFlops, lengths.reduce((s, l) => s + (max - l), 0) * 80 * 2 * 64 * 256);
    for (const s of ['exact-shape', 'ragged', 'per-sequence'] as const) assert.equal(raggedBatchPlan(shape, { lengths, strategy: s, dtype: 'bf16' }).wastedFlops, 0);
    const bucketed = raggedBatchPlan(shape, { lengths, strategy: 'bucketed', buckets: 4, dtype: 'bf16' });
    assert.ok(bucketed.wastedFlops <= padded.wastedFlops);
    assert.equal(bucketed.launches, 4 * 80);
    assert.equal(raggedBatchPlan(shape, { lengths, strategy: 'exact-shape', dtype: 'bf16' }).launches, new Set(lengths).size * 80);
  }
});

test('raggedBatchSeconds(): on a roofline with launch cost, ragged ≤ exact-shape ≤ per-sequence, and padded equals ragged at equal lengths', () => {
  const cost = rooflineMatmulCost(loadHardware('h100-sxm'), 'bf16');
  const lengths = decodeLengthsFromMix({ promptTokens: [600, 2000, 150, 4000], outputTokens: [150, 800, 40, 300], batch: 64, rng: rng(3) });
  const t = Object.fromEntries(RAGGED_STRATEGIES.map((s) => [s, raggedBatchSeconds(shape, { lengths, strategy: s, dtype: 'bf16', cost, launchSeconds: 4e-6 })]));
  assert.ok(t.ragged <= t['exact-shape'] && t['exact-shape'] <= t['per-sequence']);
  assert.ok(t.ragged < t.padded);
  const equal = Array.from({ length: 32 }, () => 1024);
  const pad = raggedBatchSeconds(shape, { lengths: equal, strategy: 'padded', dtype: 'bf16', cost, launchSeconds: 4e-6 });
  const rag = raggedBatchSeconds(shape, { lengths: equal, strategy: 'ragged', dtype: 'bf16', cost, launchSeconds: 4e-6 });
  assert.ok(Math.abs(pad - rag) <= 1e-12 * rag);
});

test('decodeLengthsFromMix() is seeded and stays within prompt..prompt+output', () => {
  const a = decodeLengthsFromMix({ promptTokens: [100, 200], outputTokens: [10, 20], batch: 50, rng: rng(9) });
  assert.deepEqual(a, decodeLengthsFromMix({ promptTokens: [100, 200], outputTokens: [10, 20], batch: 50, rng: rng(9) }));
  assert.ok(a.every((l) => (l >= 100 && l <= 110) || (l >= 200 && l <= 220)));
});

test('strategy functions reject bad input naming the field', () => {
  assert.throws(() => raggedGroups([], 'padded'), isInput('lengths'));
  assert.throws(() => raggedGroups([4, 0], 'padded'), isInput('lengths[1]'));
  assert.throws(() => raggedGroups([4], 'bucketed', { buckets: 0 }), isInput('buckets'));
  assert.throws(() => raggedGroups([4], 'magic' as never), isInput('strategy'));
});

test('lengthCases(): equal lengths for spread 0, within ±s·mean otherwise, and seeded', () => {
  const cases = lengthCases({ batches: [16], mean: 500, spreads: [0, 0.5], mix: { promptTokens: [100, 3000], outputTokens: [10, 500], scale: 0.5 }, seed: 4 });
  assert.deepEqual(cases.map((c) => c.spread), ['equal', '±50%', 'request mix']);
  assert.ok(cases[0].lengths.every((l) => l === 500));
  assert.ok(cases[1].lengths.every((l) => l >= 250 && l <= 750));
  // Mix lengths: half of prompt + progress, so within [50, 55] or [1500, 1750].
  assert.ok(cases[2].lengths.every((l) => (l >= 50 && l <= 55) || (l >= 1500 && l <= 1750)));
  assert.deepEqual(cases, lengthCases({ batches: [16], mean: 500, spreads: [0, 0.5], mix: { promptTokens: [100, 3000], outputTokens: [10, 500], scale: 0.5 }, seed: 4 }));
});

test('raggedStrategyTable(): every strategy once, ragged at 1×, and the plan of each row matches raggedBatchPlan', () => {
  const cost = rooflineMatmulCost(loadHardware('h200'), 'bf16');
  const lengths = [10, 500, 500, 2000];
  const rows = raggedStrategyTable(shape, { lengths, dtype: 'bf16', cost, launchSeconds: 5e-6 });
  assert.deepEqual(rows.map((r) => r.strategy), [...RAGGED_STRATEGIES]);
  assert.equal(rows.find((r) => r.strategy === 'ragged')!.vsRagged, 1);
  for (const r of rows) assert.equal(r.executedFlops, raggedBatchPlan(shape, { lengths, strategy: r.strategy, dtype: 'bf16' }).executedFlops);
});
