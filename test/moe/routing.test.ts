import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';
import {
  moeRouteTokens,
  moeRouteCounts,
  moeZipfPopularity,
  moeInclusionProbabilities,
  moeMeanCi,
} from '../../lib/moe/index.js';
import type { MoeRouting } from '../../lib/moe/index.js';

const zipf16 = moeZipfPopularity(16, 1.2, rng(5));
const SPECS: MoeRouting[] = [
  { kind: 'uniform', experts: 256, topK: 8 },
  { kind: 'uniform', experts: 8, topK: 8 },
  { kind: 'weighted', experts: 16, topK: 4, popularity: zipf16 },
  // Extreme skew drives the redraw fallback path.
  { kind: 'weighted', experts: 16, topK: 6, popularity: moeZipfPopularity(16, 6) },
  { kind: 'group-limited', experts: 256, topK: 8, groups: 8, groupsPerToken: 4 },
];

test('moeRouteTokens: every token makes exactly topK distinct assignments in range (conservation)', () => {
  for (const spec of SPECS) {
    const B = 500;
    const ids = moeRouteTokens(spec, B, rng(11));
    assert.equal(ids.length, B * spec.topK);
    for (let t = 0; t < B; t++) {
      const row = Array.from(ids.subarray(t * spec.topK, (t + 1) * spec.topK));
      assert.equal(new Set(row).size, spec.topK, `${spec.kind}: token ${t} has a repeated expert`);
      for (const e of row) assert.ok(e >= 0 && e < spec.experts);
    }
  }
});

test('moeRouteCounts equals the tally of moeRouteTokens for the same seed and sums to tokens·topK', () => {
  for (const spec of SPECS) {
    const ids = moeRouteTokens(spec, 300, rng(3));
    const tally = new Int32Array(spec.experts);
    for (const e of ids) tally[e]++;
    const counts = moeRouteCounts(spec, 300, rng(3));
    assert.deepEqual(counts, tally);
    assert.equal(counts.reduce((a, b) => a + b, 0), 300 * spec.topK);
  }
});

test('moeRouteCounts is bit-identical for a seed and differs across seeds', () => {
  for (const spec of SPECS.filter((s) => s.topK < s.experts)) {
    assert.deepEqual(moeRouteCounts(spec, 1000, rng(42)), moeRouteCounts(spec, 1000, rng(42)));
    assert.notDeepEqual(moeRouteCounts(spec, 1000, rng(42)), moeRouteCounts(spec, 1000, rng(43)));
  }
});

test('uniform routing: each expert is picked with probability k/E (binomial 99.9 % band)', () => {
  const E = 32;
  const k = 4;
  const B = 20_000;
  const c = moeRouteCounts({ kind: 'uniform', experts: E, topK: k }, B, rng(9));
  // Each count is Binomial(B, k/E): mean 2500, sd √(2500·(1 − 1/8)) ≈ 46.8; 4 sd ≈ 1-in-15,000 per expert.
  const mean = (B * k) / E;
  const sd = Math.sqrt(mean * (1 - k / E));
  for (const x of c) assert.ok(Math.abs(x - mean) < 4 * sd, `count ${x} far from ${mean}`);
});

test('weighted top-1 routing reproduces the popularity (category frequencies within 4 sd)', () => {
  const p = moeZipfPopularity(8, 1);
  const B = 40_000;
  const c = moeRouteCounts({ kind: 'weighted', experts: 8, topK: 1, popularity: p }, B, rng(2));
  p.forEach((pi, i) => {
    const sd = Math.sqrt(B * pi * (1 - pi));
    assert.ok(Math.abs(c[i] - B * pi) < 4 * sd, `expert ${i}: ${c[i]} vs ${B * pi}`);
  });
});

test('weighted top-2 routing matches the successive-sampling inclusion probability, redraw fallback included', () => {
  // Successive sampling: P(i in top-2) = p_i + Σ_{j≠i} p_j·p_i/(1 − p_j) (closed form for k = 2).
  // The second vector makes nearly every redraw hit expert 0, forcing the exact O(E) fallback.
  for (const p of [
    [0.5, 0.3, 0.2],
    [0.999, 0.0007, 0.0003],
  ]) {
    const exact = p.map((pi, i) => pi + p.reduce((s, pj, j) => (j === i ? s : s + (pj * pi) / (1 - pj)), 0));
    const B = 30_000;
    const c = moeRouteCounts({ kind: 'weighted', experts: 3, topK: 2, popularity: p }, B, rng(8));
    exact.forEach((q, i) => {
      const sd = Math.sqrt(B * q * (1 - q));
      assert.ok(Math.abs(c[i] - B * q) < 4 * sd + 1e-9, `expert ${i}: ${c[i] / B} vs ${q}`);
    });
  }
});

test('group-limited routing keeps every token inside at most groupsPerToken groups', () => {
  const spec: MoeRouting = { kind: 'group-limited', experts: 256, topK: 8, groups: 8, groupsPerToken: 4 };
  const ids = moeRouteTokens(spec, 2000, rng(4));
  let usedMoreThanOne = 0;
  for (let t = 0; t < 2000; t++) {
    const groups = new Set(Array.from(ids.subarray(t * 8, t * 8 + 8), (e) => Math.floor(e / 32)));
    assert.ok(groups.size <= 4, `token ${t} spans ${groups.size} groups`);
    if (groups.size > 1) usedMoreThanOne++;
  }
  assert.ok(usedMoreThanOne > 1000, 'routing inside the kept groups should still spread over several of them');
  // With one group per token, all 8 experts come from a single group.
  const one = moeRouteTokens({ ...spec, groupsPerToken: 1 }, 200, rng(4));
  for (let t = 0; t < 200; t++) assert.equal(new Set(Array.from(one.subarray(t * 8, t * 8 + 8), (e) => Math.floor(e / 32))).size, 1);
});

test('group-limited routing with every group allowed matches weighted routing (Gumbel top-k is successive sampling)', () => {
  const p = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04];
  const B = 30_000;
  const g = moeRouteCounts({ kind: 'group-limited', experts: 6, topK: 2, groups: 3, groupsPerToken: 3, popularity: p }, B, rng(6));
  const w = moeRouteCounts({ kind: 'weighted', experts: 6, topK: 2, popularity: p }, B, rng(7));
  for (let i = 0; i < 6; i++) {
    // Difference of two independent binomials: sd ≤ √(2·B·q(1−q)) with q = w/B.
    const q = w[i] / B;
    const sd = Math.sqrt(2 * B * q * (1 - q));
    assert.ok(Math.abs(g[i] - w[i]) < 4 * sd + 1, `expert ${i}: ${g[i]} vs ${w[i]}`);
  }
});

test('moeZipfPopularity: r^-s normalised, shuffled only with an rng', () => {
  const z = moeZipfPopularity(4, 1);
  // 1/H_4 = 12/25 = 0.48 for rank 1; the rest 1/(r·H_4).
  [0.48, 0.24, 0.16, 0.12].forEach((v, i) => assert.ok(Math.abs(z[i] - v) < 1e-12));
  assert.deepEqual(moeZipfPopularity(5, 0), new Float64Array(5).fill(0.2));
  const shuffled = moeZipfPopularity(64, 1, rng(1));
  assert.ok(Math.abs(shuffled.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.deepEqual([...shuffled].sort((a, b) => b - a), [...moeZipfPopularity(64, 1)]);
  assert.notDeepEqual(shuffled, moeZipfPopularity(64, 1));
});

test('moeInclusionProbabilities: k/E for uniform, popularity for top-1, estimate within CI for top-k', () => {
  assert.deepEqual(moeInclusionProbabilities({ kind: 'uniform', experts: 256, topK: 8 }), new Float64Array(256).fill(1 / 32));
  const p = moeZipfPopularity(8, 1);
  const top1 = moeInclusionProbabilities({ kind: 'weighted', experts: 8, topK: 1, popularity: p });
  p.forEach((pi, i) => assert.ok(Math.abs(top1[i] - pi) < 1e-15));
  const q = moeInclusionProbabilities({ kind: 'weighted', experts: 8, topK: 3, popularity: p }, { samples: 20_000, rng: rng(1) });
  assert.ok(Math.abs(q.reduce((a, b) => a + b, 0) - 3) < 1e-9, 'inclusion probabilities of a k-subset sum to k');
  for (let i = 1; i < 8; i++) assert.ok(q[i] <= q[i - 1] + 0.02, 'more popular experts are included more often');
});

test('moeMeanCi: mean, and a 95 % interval of width z·s/√n', () => {
  const ci = moeMeanCi([1, 2, 3, 4]);
  assert.equal(ci.mean, 2.5);
  // s = √(5/3) ≈ 1.291; z ≈ 1.96 → half-width ≈ 1.265.
  assert.ok(Math.abs(ci.halfWidth - (1.96 * Math.sqrt(5 / 3)) / 2) < 0.01);
  assert.throws(() => moeMeanCi([]), InputError);
});

test('bad routing input throws InputError naming the field', () => {
  const bad: Array<[() => unknown, string]> = [
    [() => moeRouteCounts({ kind: 'uniform', experts: 8, topK: 9 }, 10, rng(1)), 'routing.topK'],
    [() => moeRouteCounts({ kind: 'uniform', experts: 0, topK: 1 }, 10, rng(1)), 'routing.experts'],
    [() => moeRouteCounts({ kind: 'uniform', experts: 8, topK: 2 }, -1, rng(1)), 'tokens'],
    [() => moeRouteCounts({ kind: 'uniform', experts: 8, topK: 2 }, 1e12, rng(1)), 'tokens'],
    [() => moeRouteTokens({ kind: 'uniform', experts: 8, topK: 2 }, 1e8, rng(1)), 'tokens'],
    [() => moeRouteCounts({ kind: 'uniform', experts: 8, topK: 2 }, 10, undefined as never), 'rng'],
    [() => moeRouteCounts({ kind: 'nope' } as never, 10, rng(1)), 'routing.kind'],
    [() => moeRouteCounts({ kind: 'weighted', experts: 3, topK: 2, popularity: [1, 2] }, 10, rng(1)), 'routing.popularity'],
    [() => moeRouteCounts({ kind: 'weighted', experts: 3, topK: 2, popularity: [1, 0, 0] }, 10, rng(1)), 'routing.popularity'],
    [() => moeRouteCounts({ kind: 'weighted', experts: 3, topK: 2, popularity: [1, NaN, 1] }, 10, rng(1)), 'routing.popularity[1]'],
    [() => moeRouteCounts({ kind: 'group-limited', experts: 256, topK: 8, groups: 7, groupsPerToken: 4 }, 10, rng(1)), 'routing.groups'],
    [() => moeRouteCounts({ kind: 'group-limited', experts: 16, topK: 8, groups: 8, groupsPerToken: 3 }, 10, rng(1)), 'routing.groupsPerToken'],
    [() => moeZipfPopularity(8, -1), 'exponent'],
    [() => moeInclusionProbabilities({ kind: 'weighted', experts: 4, topK: 2, popularity: [1, 1, 1, 1] }), 'rng'],
  ];
  for (const [fn, field] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof InputError && e.field === field, `expected InputError on ${field}`);
  }
});
