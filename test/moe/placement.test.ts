import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../lib/util/errors.js';
import {
  moeStaticPlacement,
  moeDeviceLoads,
  moeLoadImbalance,
  moeBalanceExperts,
  moeExpertParallelSteps,
  moeImbalanceSweep,
  moeZipfPopularity,
  moeDeviceExpertTokens,
  moeDeviceImbalance,
} from '../../lib/moe/index.js';
import type { MoeExpertPlacement } from '../../lib/moe/index.js';

/** Invariants of any placement: slot counts, copy counts, never two copies on one device. */
function assertValidPlacement(p: MoeExpertPlacement, redundant: number): void {
  const cap = Math.ceil((p.experts + redundant) / p.devices);
  const copies = new Int32Array(p.experts);
  p.deviceExperts.forEach((ids, d) => {
    assert.equal(new Set(ids).size, ids.length, `device ${d} holds two copies of one expert: ${ids}`);
    assert.ok(ids.length <= cap, `device ${d} holds ${ids.length} > ${cap} slots`);
    for (const e of ids) copies[e]++;
  });
  assert.deepEqual(copies, p.replicas);
  assert.equal(copies.reduce((a, b) => a + b, 0), p.experts + redundant);
  for (const c of copies) assert.ok(c >= 1);
}

// A small load matrix: 4 steps × 8 experts, one hot expert and a long tail (tokens per step).
const LOADS = [
  [90, 40, 12, 10, 8, 6, 4, 2],
  [110, 35, 14, 9, 7, 5, 3, 1],
  [95, 45, 10, 11, 9, 6, 4, 2],
  [105, 40, 12, 10, 8, 7, 3, 3],
];

test('moeStaticPlacement puts experts in contiguous blocks, ⌊e·G/E⌋', () => {
  assert.deepEqual(moeStaticPlacement(8, 4).deviceExperts, [[0, 1], [2, 3], [4, 5], [6, 7]]);
  assert.deepEqual(moeStaticPlacement(5, 2).deviceExperts, [[0, 1, 2], [3, 4]]);
  assertValidPlacement(moeStaticPlacement(256, 32), 0);
});

test('moeDeviceLoads splits an expert evenly over its copies and conserves tokens', () => {
  const p: MoeExpertPlacement = { experts: 3, devices: 2, deviceExperts: [[0, 1], [0, 2]], replicas: Int32Array.of(2, 1, 1) };
  assert.deepEqual(moeDeviceLoads(p, [10, 4, 2]), Float64Array.of(9, 7)); // 10/2 + 4, 10/2 + 2
  assert.equal(moeLoadImbalance([9, 7]), 9 / 8);
  assert.equal(moeLoadImbalance([0, 0]), 1);
  const loads = moeDeviceLoads(moeStaticPlacement(8, 4), LOADS[0]);
  assert.equal(loads.reduce((a, b) => a + b, 0), LOADS[0].reduce((a, b) => a + b, 0));
});

test('moeBalanceExperts on a small load matrix lowers max/mean on every step and never doubles an expert on a device', () => {
  const fixed = moeStaticPlacement(8, 4);
  for (const R of [0, 2, 4]) {
    const p = moeBalanceExperts(LOADS, { devices: 4, redundant: R });
    assertValidPlacement(p, R);
    for (const step of LOADS) {
      const before = moeLoadImbalance(moeDeviceLoads(fixed, step));
      const after = moeLoadImbalance(moeDeviceLoads(p, step));
      assert.ok(after < before, `R=${R}: ${after} not below static ${before}`);
    }
  }
  // Copies go to the hottest expert first: with 4 redundant copies on 4 devices, expert 0
  // (mean load 100 of 1/3 of all tokens) gets as many copies as there are devices.
  const p4 = moeBalanceExperts(LOADS, { devices: 4, redundant: 4 });
  assert.equal(p4.replicas[0], 4);
  // More copies never make the mean step worse here.
  const mean = (p: MoeExpertPlacement) => LOADS.reduce((s, step) => s + moeLoadImbalance(moeDeviceLoads(p, step)), 0) / LOADS.length;
  assert.ok(mean(p4) <= mean(moeBalanceExperts(LOADS, { devices: 4, redundant: 0 })));
});

test('moeBalanceExperts reaches the packing optimum on a load that splits evenly', () => {
  // 2 devices, loads 100 and 10 × 10: one copy of the hot expert each, five light ones each → 100/100.
  const p = moeBalanceExperts([100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], { devices: 2, redundant: 1 });
  assertValidPlacement(p, 1);
  assert.equal(moeLoadImbalance(moeDeviceLoads(p, [100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10])), 1);
});

test('moeBalanceExperts gives a valid placement for 200 varied loads, device and copy counts', () => {
  for (let seed = 0; seed < 200; seed++) {
    const E = 3 + (seed % 5);
    const G = 2 + (seed % 3);
    const load = Array.from({ length: E }, (_, i) => ((i * 7919 + seed * 104729) % 97) + 1);
    const R = Math.min(E * (G - 1), (seed % 4) * 2);
    if (E + R < G) continue;
    assertValidPlacement(moeBalanceExperts(load, { devices: G, redundant: R }), R);
  }
});

test('moeExpertParallelSteps is seeded; with Zipf skew the balanced placement beats the static one', () => {
  const popularity = moeZipfPopularity(64, 1.0, undefined);
  const spec = { kind: 'weighted' as const, experts: 64, topK: 4, popularity };
  const a = moeExpertParallelSteps(spec, { tokens: 512, devices: 8, redundant: 8, steps: 20, seed: 3 });
  const b = moeExpertParallelSteps(spec, { tokens: 512, devices: 8, redundant: 8, steps: 20, seed: 3 });
  assert.deepEqual(a.balancedImbalance, b.balancedImbalance);
  assertValidPlacement(a.balanced, 8);
  // Unshuffled Zipf stacks the 8 hottest experts on device 0: static imbalance is large.
  assert.ok(a.staticSummary.mean > 2);
  assert.ok(a.balancedSummary.high < a.staticSummary.low);
  for (const x of a.balancedImbalance) assert.ok(x >= 1);
});

test('moeImbalanceSweep: one static row per exponent, one balanced row per redundant count', () => {
  const rows = moeImbalanceSweep({ experts: 32, topK: 4, tokens: 256, devices: 8, zipfExponents: [0, 1.2], redundant: [0, 8], steps: 10, warmupSteps: 5, seed: 1 });
  assert.equal(rows.length, 2 * 3);
  const at = (s: number, policy: string, R: number) => rows.find((r) => r.zipfExponent === s && r.policy === policy && r.redundant === R)!;
  // Skew hurts the static placement; copies help the balanced one under skew.
  assert.ok(at(1.2, 'static', 0).imbalance.mean > at(0, 'static', 0).imbalance.mean);
  assert.ok(at(1.2, 'balanced', 8).imbalance.mean < at(1.2, 'static', 0).imbalance.mean);
  const g = moeImbalanceSweep({ experts: 32, topK: 4, tokens: 128, devices: 8, zipfExponents: [0.5], redundant: [0], steps: 5, warmupSteps: 2, seed: 1, groups: 4, groupsPerToken: 2 });
  assert.equal(g.length, 2);
});

test('moeDeviceExpertTokens splits an expert over its copies in whole tokens and picks the busiest device', () => {
  assert.deepEqual(moeDeviceExpertTokens(moeStaticPlacement(4, 2), [3, 0, 5, 1], 'busiest'), { device: 1, experts: [2, 3], tokens: [5, 1] });
  assert.deepEqual(moeDeviceExpertTokens(moeStaticPlacement(4, 2), [3, 0, 5, 1], 0).tokens, [3, 0]);
  const p = moeBalanceExperts(LOADS, { devices: 4, redundant: 4 });
  const step = LOADS[1];
  // Summed over devices, every expert's copies carry exactly its tokens.
  const back = new Array(8).fill(0);
  for (let d = 0; d < 4; d++) {
    const t = moeDeviceExpertTokens(p, step, d);
    t.experts.forEach((e, i) => (back[e] += t.tokens[i]));
    for (const x of t.tokens) assert.ok(Number.isInteger(x));
  }
  assert.deepEqual(back, step);
  assert.throws(() => moeDeviceExpertTokens(p, step, 4), (e: unknown) => e instanceof InputError && e.field === 'device');
  assert.throws(() => moeDeviceExpertTokens(p, [1.5, 0, 0, 0, 0, 0, 0, 0], 0), (e: unknown) => e instanceof InputError && e.field === 'expertTokens[0]');
});

test('bad placement input throws InputError naming the field', () => {
  const bad: Array<[() => unknown, string]> = [
    [() => moeStaticPlacement(4, 8), 'devices'],
    [() => moeBalanceExperts([1, 2, 3], { devices: 2, redundant: 4 }), 'redundant'],
    [() => moeBalanceExperts([1, 2], { devices: 4 }), 'devices'],
    [() => moeBalanceExperts([1, -2], { devices: 1 }), 'load[1]'],
    [() => moeBalanceExperts([[1, 2], [1]], { devices: 1 }), 'load[1]'],
    [() => moeDeviceLoads(moeStaticPlacement(4, 2), [1, 2, 3]), 'expertTokens'],
    [() => moeLoadImbalance([]), 'loads'],
    [() => moeExpertParallelSteps({ kind: 'uniform', experts: 8, topK: 2 }, { tokens: 10, devices: 2, steps: 1, seed: 1 }), 'steps'],
    [() => moeImbalanceSweep({ experts: 8, topK: 2, tokens: 8, devices: 2, zipfExponents: [], redundant: [0], steps: 2, seed: 1 }), 'zipfExponents'],
  ];
  for (const [fn, field] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof InputError && e.field === field, `expected InputError on ${field}`);
  }
});

test('moeDeviceImbalance(rows, point) is the busiest / mean device load of the point and its excess ratio − 1; one device is exactly 1', () => {
  // One device holds every expert: the busiest device is the mean device (ratio exactly 1, excess 0).
  const one = moeImbalanceSweep({ experts: 16, topK: 2, tokens: 64, devices: 1, zipfExponents: [0, 1], redundant: [0], steps: 5, seed: 1 });
  for (const s of [0, 1]) assert.deepEqual(moeDeviceImbalance(one, { policy: 'static', redundant: 0, zipfExponent: s }), { ratio: 1, excess: 0 });
  const rows = moeImbalanceSweep({ experts: 64, topK: 4, tokens: 256, devices: 8, zipfExponents: [0, 1.25], redundant: [0, 8], steps: 10, seed: 2 });
  for (const r of rows) {
    const got = moeDeviceImbalance(rows, r);
    assert.equal(got.ratio, r.imbalance.mean);
    assert.equal(got.excess, r.imbalance.mean - 1);
    // The busiest device never carries less than the mean.
    assert.ok(got.ratio >= 1);
  }
  assert.throws(() => moeDeviceImbalance(rows, { policy: 'balanced', redundant: 3, zipfExponent: 0 }), (e: unknown) => e instanceof InputError && e.field === 'point' && /balanced R=8 s=0/.test(e.message));
  assert.throws(() => moeDeviceImbalance([], { policy: 'static', redundant: 0, zipfExponent: 0 }), (e: unknown) => e instanceof InputError && e.field === 'rows');
});
