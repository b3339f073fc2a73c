import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeBackend } from '../../lib/backend/index.js';
import {
  timeTfOp,
  timeTfCallsInTurn,
  sweepGemm,
  gemmRows,
  benchOneVsMany,
  benchDispatchOverhead,
  benchGroupedExperts,
  defaultSyncMode,
  GEMM_COLUMNS,
  resolveTimingOptions,
  TIMING_DEFAULTS,
} from '../../lib/gemm/index.js';
import { InputError } from '../../lib/util/errors.js';

const FAST = { minReps: 3, minTimeMs: 2, warmup: 1 };
const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;

test('timeTfOp repeats until both the minimum count and the minimum time are reached', async () => {
  const { tf } = await activeBackend();
  const a = tf.ones([16, 16]);
  try {
    const t = await timeTfOp(() => tf.matMul(a, a), { minReps: 4, minTimeMs: 30, warmup: 1 });
    assert.ok(t.stats.n >= 4);
    // The loop stops once the timed calls add up to 30 ms, and not a call later.
    const sum = t.samples.reduce((s, x) => s + x, 0);
    assert.ok(sum >= 0.03 - 1e-9, `sum ${sum}`);
    assert.ok(t.samples.length === 4 || sum - t.samples.at(-1)! < 0.03, `one call too many: sum ${sum}`);
    assert.ok(t.stats.p10 <= t.stats.median && t.stats.median <= t.stats.p90);
    // maxReps caps a point whose minimum time would take too long.
    const capped = await timeTfOp(() => tf.matMul(a, a), { minReps: 2, minTimeMs: 60_000, maxReps: 5, warmup: 0 });
    assert.equal(capped.stats.n, 5);
    assert.equal(t.sync, defaultSyncMode(t.backend));
  } finally {
    a.dispose();
  }
});

test('timeTfCallsInTurn times each call once per round, in order, and leaves no tensor behind', async () => {
  const { tf } = await activeBackend();
  const a = tf.ones([8, 8]);
  const order: number[] = [];
  try {
    const before = tf.memory().numTensors;
    const s = timeTfCallsInTurn(tf, [0, 1, 2].map((i) => () => (order.push(i), tf.matMul(a, a))), { rounds: 3, warmup: 1, sync: 'return' });
    // 3 calls × 3 rounds timed, after one untimed round, each round in the given order.
    assert.deepEqual(s.map((x) => x.length), [3, 3, 3]);
    assert.deepEqual(order, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    for (const x of s.flat()) assert.ok(x > 0 && Number.isFinite(x));
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => timeTfCallsInTurn(tf, [() => tf.matMul(a, a)], { rounds: 0, sync: 'return' }), isInput('rounds'));
  } finally {
    a.dispose();
  }
});

test('defaultSyncMode reads back only on queueing (GPU) backends', () => {
  assert.equal(defaultSyncMode('tensorflow'), 'return');
  assert.equal(defaultSyncMode('wasm'), 'return');
  assert.equal(defaultSyncMode('cpu'), 'return');
  assert.equal(defaultSyncMode('tensorflow-gpu'), 'readback');
});

test('sweepGemm returns one row per point with provenance columns and consistent statistics', async () => {
  const t = await sweepGemm({ ms: [4, 1, 2], shapes: [{ k: 8, n: 16 }], variants: ['plain', 'transposed-w'], timing: FAST });
  assert.deepEqual(t.columnNames(), [...GEMM_COLUMNS]);
  const rows = gemmRows(t);
  assert.equal(rows.length, 6);
  // Sorted M within each variant.
  assert.deepEqual(rows.map((r) => `${r.variant}:${r.m}`), ['plain:1', 'plain:2', 'plain:4', 'transposed-w:1', 'transposed-w:2', 'transposed-w:4']);
  const { name } = await activeBackend();
  for (const r of rows) {
    assert.equal(r.backend, name);
    assert.ok(r.host.length > 0 && r.device.length > 0);
    assert.match(r.versions, /tfjs-core=4\.22\.0/);
    assert.ok(!Number.isNaN(Date.parse(r.timestamp)));
    assert.ok(r.reps >= 3);
    assert.ok(r.p10_s <= r.median_s && r.median_s <= r.p90_s);
    assert.equal(r.flops, 2 * r.m * 8 * 16);
    assert.equal(r.bytes, 4 * (r.m * 8 + 8 * 16 + r.m * 16));
    assert.ok(Math.abs(r.gflops - r.flops / r.median_s / 1e9) < 1e-9);
    assert.ok(Math.abs(r.weight_gbps - (4 * 8 * 16) / r.median_s / 1e9) < 1e-9);
  }
});

test('sweepGemm names the bad argument: non-positive, non-integer or NaN sizes, unsupported dtype', async () => {
  await assert.rejects(sweepGemm({ ms: [1, 0] }), isInput('ms[1]'));
  await assert.rejects(sweepGemm({ ms: [1.5] }), isInput('ms[0]'));
  await assert.rejects(sweepGemm({ ms: [1], shapes: [{ k: NaN, n: 8 }] }), isInput('shapes[0].k'));
  await assert.rejects(sweepGemm({ ms: [1], shapes: [{ k: 8, n: -8 }] }), isInput('shapes[0].n'));
  // tfjs has no 16-bit float dtype: fp32 is the only one offered.
  await assert.rejects(sweepGemm({ ms: [1], dtypes: ['bf16'] }), isInput('dtypes[0]'));
  await assert.rejects(sweepGemm({ ms: [1], minReps: 0 }), isInput('minReps'));
});

test('a shape over the memory budget is refused before any tensor is allocated', async () => {
  const { tf } = await activeBackend();
  const before = tf.memory().numTensors;
  // X[64×64]·W[64×64] in fp32 needs 3·64·64·4 = 49 152 bytes.
  await assert.rejects(sweepGemm({ ms: [1, 64], shapes: [{ k: 64, n: 64 }], memoryBudgetBytes: 40_000, timing: FAST }), isInput('memoryBudgetBytes'));
  await assert.rejects(benchGroupedExperts({ tokensPerExpert: [4, 4], k: 64, n: 64, memoryBudgetBytes: 1000, timing: FAST }), isInput('memoryBudgetBytes'));
  assert.equal(tf.memory().numTensors, before);
});

test('no tensor leaks: tf.memory() is unchanged after a sweep and every case', async () => {
  const { tf } = await activeBackend();
  const before = tf.memory();
  await sweepGemm({ ms: [1, 3], shapes: [{ k: 8, n: 8 }], variants: ['plain', 'transposed-w'], timing: FAST });
  await benchOneVsMany({ batches: [1, 3], k: 8, n: 8, timing: FAST });
  await benchDispatchOverhead({ timing: FAST });
  await benchGroupedExperts({ tokensPerExpert: [2, 0, 3], k: 8, n: 8, timing: FAST });
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
});

test('benchOneVsMany pairs one B-token matmul with B one-token matmuls; speed-up = many / one', async () => {
  const r = await benchOneVsMany({ batches: [4, 1], k: 16, n: 16, timing: FAST });
  assert.deepEqual(r.points.map((p) => p.batch), [1, 4]);
  for (const p of r.points) assert.ok(Math.abs(p.speedup - p.manySeconds / p.oneSeconds) < 1e-12);
  // p10 ≤ median ≤ p90 for each variant, so the range of the ratio brackets the ratio of medians.
  for (const p of r.points) assert.ok(p.speedupLow <= p.speedup + 1e-12 && p.speedup <= p.speedupHigh + 1e-12, `${p.speedupLow} ${p.speedup} ${p.speedupHigh}`);
  const rows = gemmRows(r.table);
  assert.deepEqual(rows.map((x) => `${x.variant}:${x.m}:${x.calls}`), ['one:1:1', 'many:1:1', 'one:4:1', 'many:4:4']);
  // Same useful work both ways.
  assert.equal(rows[2].flops, rows[3].flops);
  await assert.rejects(benchOneVsMany({ batches: [0], k: 8, n: 8 }), isInput('batches[0]'));
});

test('benchDispatchOverhead times the 1×1×1 matmul with and without a forced read-back', async () => {
  const d = await benchDispatchOverhead({ timing: FAST });
  assert.ok(d.dispatchSeconds > 0 && d.dispatchSeconds < 0.05);
  assert.ok(d.readbackSeconds >= 0);
  assert.deepEqual(gemmRows(d.table).map((r) => r.sync), [defaultSyncMode((await activeBackend()).name), 'readback']);
});

test('benchGroupedExperts handles uneven counts and idle experts; padding efficiency = Σc / (E·max c)', async () => {
  const r = await benchGroupedExperts({ tokensPerExpert: [3, 0, 5, 1, 0], k: 16, n: 8, timing: FAST });
  const s = r.summary;
  assert.equal(s.activeExperts, 3);
  assert.equal(s.totalTokens, 9);
  assert.equal(s.maxTokens, 5);
  assert.equal(s.paddingEfficiency, 9 / 15);
  assert.ok(Math.abs(s.batchedSpeedup - s.separateSeconds / s.batchedSeconds) < 1e-12);
  assert.ok(Math.abs(s.expertPenalty - s.separateSeconds / s.denseSeconds) < 1e-12);
  const rows = gemmRows(r.table);
  // The repetitions behind each median travel with it: the same median, p10 ≤ median ≤ p90, as in the table's rows.
  for (const [phase, i] of [['batched', 0], ['separate', 1], ['dense', 2]] as const) {
    const t = s.timings![phase];
    assert.equal(t.median, rows[i].median_s);
    assert.equal(t.p10, rows[i].p10_s);
    assert.equal(t.p90, rows[i].p90_s);
    assert.ok(t.p10 <= t.median && t.median <= t.p90 && t.n >= 1);
  }
  assert.deepEqual(rows.map((x) => x.variant), ['padded-batched', 'separate', 'dense']);
  // Equal useful FLOPs (2·9·16·8); the experts read 3 weights, the dense matmul one.
  for (const x of rows) assert.equal(x.flops, 2 * 9 * 16 * 8);
  assert.equal(rows[1].weight_bytes, 3 * rows[2].weight_bytes);
  assert.equal(rows[1].calls, 3);
  await assert.rejects(benchGroupedExperts({ tokensPerExpert: [0, 0], k: 8, n: 8 }), isInput('tokensPerExpert'));
  await assert.rejects(benchGroupedExperts({ tokensPerExpert: [1, -1], k: 8, n: 8 }), isInput('tokensPerExpert[1]'));
  await assert.rejects(benchGroupedExperts({ tokensPerExpert: [1], k: 8, n: 8, layout: 'columns' as 'plain' }), isInput('layout'));
});

test('benchGroupedExperts stores every weight in the chosen layout (nn.Linear\'s [N×K] by default) and says so in each row', async () => {
  const def = gemmRows((await benchGroupedExperts({ tokensPerExpert: [2, 3], k: 16, n: 8, timing: FAST })).table);
  const plain = gemmRows((await benchGroupedExperts({ tokensPerExpert: [2, 3], k: 16, n: 8, timing: FAST, layout: 'plain' })).table);
  for (const r of def) assert.match(r.detail, /;layout=transposed-w$/);
  for (const r of plain) assert.match(r.detail, /;layout=plain$/);
  // The layout changes where the weights sit, not how much work or traffic there is.
  assert.deepEqual(def.map((r) => [r.flops, r.weight_bytes]), plain.map((r) => [r.flops, r.weight_bytes]));
});

test('resolveTimingOptions: the default repetition cap is never below --min-reps (20,000 asked for failed on a cap no flag sets)', () => {
  assert.equal(resolveTimingOptions({}).maxReps, 10_000);
  assert.equal(resolveTimingOptions({ minReps: 20_000 }).maxReps, 20_000);
  // A cap the caller sets below the minimum is still the caller's error.
  assert.throws(() => resolveTimingOptions({ minReps: 20_000, maxReps: 10 }), (e: unknown) => e instanceof InputError && e.field === 'maxReps');
  // The wall-time cap: max(10 s, 20 × minTimeMs), as the --min-time-ms help states it from TIMING_DEFAULTS.
  assert.equal(resolveTimingOptions({}).maxTimeMs, 10_000);
  assert.equal(resolveTimingOptions({ minTimeMs: 1000 }).maxTimeMs, 20_000);
  assert.deepEqual(TIMING_DEFAULTS, { warmup: 2, minReps: 5, minTimeMs: 200, maxReps: 10_000, maxTimeMsFloor: 10_000, maxTimeMsPerMinTime: 20 });
});
