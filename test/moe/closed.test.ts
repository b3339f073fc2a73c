import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gammaln, sampleVariance } from 'simple-statistics';
import { rng, fork } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';
import {
  moeBinomialWindow,
  moeBinomialUpperTail,
  moeDistinctExperts,
  moeDistinctExpertsVariance,
  moeDistinctExpertsFromInclusion,
  moeTokensPerExpert,
  moeExpectedMaxLoad,
  moeRoutingStats,
  moeRoutingSweep,
  moeRouteCounts,
  moeStepShares,
  moeRoutingChange,
} from '../../lib/moe/index.js';

/** Binomial pmf from log-gamma: an independent reference for the ratio-recurrence window. */
function pmfRef(n: number, p: number, x: number): number {
  return Math.exp(gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1) + x * Math.log(p) + (n - x) * Math.log1p(-p));
}

test('moeBinomialWindow matches the log-gamma binomial pmf and carries all the mass', () => {
  for (const [n, p] of [
    [4, 0.5],
    [10, 1 / 32],
    [4096, 1 / 32],
    [1_000_000, 0.25],
  ] as const) {
    const w = moeBinomialWindow(n, p);
    const mass = w.pmf.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(mass - 1) < 1e-12);
    let mean = 0;
    w.pmf.forEach((v, i) => (mean += v * (w.lo + i)));
    assert.ok(Math.abs(mean - n * p) < 1e-6 * Math.max(1, n * p), `mean ${mean} vs n·p = ${n * p}`);
    const mode = Math.floor((n + 1) * p);
    for (const x of [mode, Math.max(w.lo, mode - 3), Math.min(w.lo + w.pmf.length - 1, mode + 5)]) {
      assert.ok(Math.abs(w.pmf[x - w.lo] / pmfRef(n, p, x) - 1) < 1e-8, `n=${n} p=${p} x=${x}`);
    }
  }
  assert.deepEqual(moeBinomialWindow(7, 0), { lo: 0, pmf: Float64Array.of(1) });
  assert.deepEqual(moeBinomialWindow(7, 1), { lo: 7, pmf: Float64Array.of(1) });
  // The window stays O(√n), not O(n): n = 1e9 with sd ≈ 1.4e4.
  assert.ok(moeBinomialWindow(1e9, 0.25).pmf.length < 1e6);
});

test('moeBinomialUpperTail: 1/16 for P(Bin(4, ½) ≥ 4), 11/16 for ≥ 2, 1 below the support', () => {
  assert.ok(Math.abs(moeBinomialUpperTail(4, 0.5, 4) - 1 / 16) < 1e-15);
  assert.ok(Math.abs(moeBinomialUpperTail(4, 0.5, 2) - 11 / 16) < 1e-15);
  assert.equal(moeBinomialUpperTail(4, 0.5, 0), 1);
  assert.equal(moeBinomialUpperTail(4, 0.5, 5), 0);
});

test('moeDistinctExperts(E, k, B) = E·(1 − (1 − k/E)^B): edge values', () => {
  assert.equal(moeDistinctExperts(256, 8, 0), 0);
  assert.equal(moeDistinctExperts(8, 8, 0), 0);
  assert.ok(Math.abs(moeDistinctExperts(256, 8, 1) - 8) < 1e-12); // one token reaches exactly k experts
  assert.ok(Math.abs(moeDistinctExperts(8, 2, 2) - (8 - 8 * (3 / 4) ** 2)) < 1e-12);
  assert.equal(moeDistinctExperts(8, 8, 5), 8);
  // From inclusion probabilities k/E the general form reduces to the uniform one.
  assert.ok(Math.abs(moeDistinctExpertsFromInclusion(new Float64Array(128).fill(8 / 128), 37) - moeDistinctExperts(128, 8, 37)) < 1e-9);
});

test('moeDistinctExperts agrees with Monte Carlo for DeepSeek-V3, Mixtral and Qwen3 shapes', () => {
  // Shapes from data/models: deepseek-v3 (256, top-8), mixtral-8x7b (8, top-2), qwen3-235b-a22b (128, top-8).
  for (const [E, k] of [
    [256, 8],
    [8, 2],
    [128, 8],
  ]) {
    const rows = moeRoutingStats({ kind: 'uniform', experts: E, topK: k }, { tokens: [1, 10, 64], trials: 400, seed: 17 });
    for (const r of rows) {
      const expected = moeDistinctExperts(E, k, r.tokens);
      // 99.9 % interval (z = 3.29) of a 400-trial mean, from the exact variance; the
      // 1e-6 absorbs the case where a batch almost surely reaches every expert.
      const halfWidth = (3.29 * Math.sqrt(moeDistinctExpertsVariance(E, k, r.tokens))) / Math.sqrt(400);
      assert.ok(Math.abs(r.distinctExperts.mean - expected) <= halfWidth + 1e-6,
        `E=${E} k=${k} B=${r.tokens}: MC ${r.distinctExperts.mean} vs ${expected} ± ${halfWidth}`);
    }
  }
});

test('moeDistinctExpertsVariance matches the sample variance of distinct counts', () => {
  const E = 64;
  const k = 4;
  const B = 16;
  const stream = fork(3, 'var');
  const d: number[] = [];
  for (let t = 0; t < 3000; t++) d.push(moeRouteCounts({ kind: 'uniform', experts: E, topK: k }, B, stream).filter((c) => c > 0).length);
  const v = moeDistinctExpertsVariance(E, k, B);
  // Sample variance of n = 3000 draws has relative sd ≈ √(2/n) ≈ 2.6 %: allow 4 sd.
  assert.ok(Math.abs(sampleVariance(d) / v - 1) < 0.11, `sample ${sampleVariance(d)} vs closed form ${v}`);
  assert.equal(moeDistinctExpertsVariance(8, 2, 1), 0);
  assert.equal(moeDistinctExpertsVariance(8, 8, 10), 0);
});

test('moeTokensPerExpert is Binomial(B, k/E): mean and variance, and it matches routed counts', () => {
  const d = moeTokensPerExpert(8, 2, 4000);
  assert.equal(d.mean, 1000); // 4000 · 2 / 8
  assert.equal(d.variance, 750); // 4000 · ¼ · ¾
  // Pool every expert of 50 batches: 400 draws of Binomial(4000, ¼); the pooled mean is exact (fixed total),
  // the pooled variance should be near 750 (relative sd √(2/400) ≈ 7 %, negative correlation lowers it by 1/E).
  const stream = rng(5);
  const xs: number[] = [];
  for (let t = 0; t < 50; t++) xs.push(...moeRouteCounts({ kind: 'uniform', experts: 8, topK: 2 }, 4000, stream));
  assert.ok(Math.abs(sampleVariance(xs) / 750 - 1) < 0.3);
});

test('moeExpectedMaxLoad is a lower bound on the Monte Carlo busiest expert, within a few percent', () => {
  for (const [E, k, B, tol] of [
    [256, 8, 4096, 0.01],
    [8, 2, 4000, 0.01],
    [128, 8, 1000, 0.02],
    [8, 2, 10, 0.06],
  ]) {
    const bound = moeExpectedMaxLoad(E, k, B);
    const [r] = moeRoutingStats({ kind: 'uniform', experts: E, topK: k }, { tokens: [B], trials: 300, seed: 23, level: 0.999 });
    assert.ok(bound <= r.maxLoad.high, `E=${E} B=${B}: bound ${bound} above MC ${r.maxLoad.mean} ± ${r.maxLoad.halfWidth}`);
    assert.ok(bound >= r.maxLoad.mean * (1 - tol), `E=${E} B=${B}: bound ${bound} far below MC ${r.maxLoad.mean}`);
    assert.ok(bound >= (B * k) / E, 'the busiest expert holds at least the mean');
  }
  // One expert with top-1 takes every token.
  assert.equal(moeExpectedMaxLoad(1, 1, 77), 77);
  assert.equal(moeExpectedMaxLoad(256, 8, 0), 0);
});

test('moeRoutingSweep pairs each closed form with its Monte Carlo row', () => {
  const rows = moeRoutingSweep({ models: [{ label: 'Mixtral-8x7B', experts: 8, topK: 2 }], tokens: [10, 4000], trials: 50, seed: 1 });
  assert.equal(rows.length, 2);
  const r = rows[1];
  assert.equal(r.meanTokensPerExpert, 1000); // 4000 · 2 / 8
  assert.ok(Math.abs(r.distinctExpected - 8) < 1e-9);
  assert.ok(Math.abs(r.tokensPerActiveExpert - 1000) < 1e-6);
  assert.ok(r.maxLoadMc.mean >= r.maxLoadBound * 0.98);
});

test('moeStepShares(row) reads E·(1 − (1 − k/E)^B)/E of the routed weights and puts the busiest expert above the average reached one', () => {
  const [ds10] = moeRoutingSweep({ models: [{ label: 'DeepSeek-V3', experts: 256, topK: 8 }], tokens: [10], trials: 200, seed: 1 });
  const s = moeStepShares(ds10);
  // Closed form for uniform top-8 of 256 (DeepSeek-V3 config.json: n_routed_experts, num_experts_per_tok) at B = 10.
  assert.ok(Math.abs(s.weightShareRead - (1 - (1 - 8 / 256) ** 10)) < 1e-12);
  // A busiest expert never holds fewer tokens than the average reached expert.
  assert.ok(s.busiestExcess >= 0);
  // A hand-made row: 2 of 4 experts reached, 5 tokens each on average, the busiest with 6: 50 % read, 20 % above.
  const hand = moeStepShares({ experts: 4, distinctExpected: 2, tokensPerActiveExpert: 5, maxLoadMc: { mean: 6, halfWidth: 0, low: 6, high: 6, samples: 1 } });
  assert.equal(hand.weightShareRead, 0.5);
  assert.ok(Math.abs(hand.busiestExcess - 0.2) < 1e-15);
  assert.throws(() => moeStepShares({ ...ds10, distinctExpected: 300 }), (e: unknown) => e instanceof InputError && e.field === 'row.distinctExpected');
  assert.throws(() => moeStepShares({ ...ds10, tokensPerActiveExpert: 0 }), (e: unknown) => e instanceof InputError && e.field === 'row.tokensPerActiveExpert');
});

test('bad closed-form input throws InputError naming the field', () => {
  const bad: Array<[() => unknown, string]> = [
    [() => moeDistinctExperts(8, 9, 10), 'topK'],
    [() => moeDistinctExperts(8, 2, -1), 'tokens'],
    [() => moeDistinctExperts(8, 2, 1.5), 'tokens'],
    [() => moeBinomialWindow(10, 1.5), 'p'],
    [() => moeExpectedMaxLoad(0, 1, 10), 'experts'],
    [() => moeDistinctExpertsFromInclusion([0.5, 2], 10), 'inclusion[1]'],
    [() => moeRoutingStats({ kind: 'uniform', experts: 8, topK: 2 }, { tokens: [10], trials: 1, seed: 1 }), 'trials'],
    [() => moeRoutingStats({ kind: 'uniform', experts: 8, topK: 2 }, { tokens: [1e7], trials: 1000, seed: 1 }), 'trials'],
    [() => moeRoutingSweep({ models: [], tokens: [1], trials: 2, seed: 1 }), 'models'],
  ];
  for (const [fn, field] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof InputError && e.field === field, `expected InputError on ${field}`);
  }
});

test('moeRoutingChange(base, other) is other / base − 1 of the mean distinct experts and busiest load, row by row', () => {
  const ci = (mean: number) => ({ mean, halfWidth: 0, low: mean, high: mean, samples: 1 });
  const row = (tokens: number, distinct: number, maxLoad: number) => ({ tokens, distinctExperts: ci(distinct), maxLoad: ci(maxLoad), tokensPerActiveExpert: ci(1), maxOverMean: ci(1), fractionAtLeast: ci(1), minTokens: 1 });
  // Hand-made rows: 100 → 99 experts is −1 %, a busiest load of 10 → 12 is +20 % (relative change b / a − 1).
  const [c] = moeRoutingChange([row(10, 100, 10)], [row(10, 99, 12)]);
  assert.equal(c.tokens, 10);
  assert.ok(Math.abs(c.distinctExperts - -0.01) < 1e-15);
  assert.ok(Math.abs(c.maxLoad - 0.2) < 1e-15);
  // The same routing and seed against itself changes nothing.
  const spec = { kind: 'group-limited' as const, experts: 256, topK: 8, groups: 8, groupsPerToken: 4 };
  const a = moeRoutingStats(spec, { tokens: [10, 4000], trials: 50, seed: 3 });
  assert.deepEqual(moeRoutingChange(a, a).map((x) => [x.distinctExperts, x.maxLoad]), [[0, 0], [0, 0]]);
  assert.throws(() => moeRoutingChange(a, a.slice(0, 1)), (e: unknown) => e instanceof InputError && e.field === 'other');
  assert.throws(() => moeRoutingChange([row(10, 1, 1)], [row(11, 1, 1)]), (e: unknown) => e instanceof InputError && e.field === 'other[0].tokens');
  assert.throws(() => moeRoutingChange([row(10, 0, 1)], [row(10, 1, 1)]), (e: unknown) => e instanceof InputError && e.field === 'base[0].distinctExperts.mean');
});
