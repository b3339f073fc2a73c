import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routingLoadFactorCacheSize, uniformRoutingLoadFactor } from '../../lib/roofline/routing.js';
import { moeImbalanceSweep } from '../../lib/moe/placement.js';
import { loadModel } from '../../lib/models/spec.js';
import { errorFunction } from 'simple-statistics';

const dsv3 = loadModel('deepseek-v3');

/** E[max of n independent standard normals] = ∫ x · n φ(x) Φ(x)^(n−1) dx, by the midpoint rule over [−8, 8] (≈ 2.07 for n = 32). */
function expectedMaxOfNormals(n: number): number {
  const h = 1e-3;
  let sum = 0;
  for (let x = -8 + h / 2; x < 8; x += h) {
    const phi = Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
    const Phi = 0.5 * (1 + errorFunction(x / Math.SQRT2));
    sum += x * n * phi * Phi ** (n - 1) * h;
  }
  return sum;
}

test('uniformRoutingLoadFactor() is ≥ 1 and falls to 1 as 1/√tokens, as the normal limit of uniform top-k routing over EP32 predicts', () => {
  // DeepSeek-V3 (config.json: 256 routed experts, top-8) over 32 devices of 8 experts each: one token sends a
  // hypergeometric count of its 8 picks to a device, mean 8·8/256 = 0.25 and variance 8·(8/256)·(248/256)·(248/255);
  // over T tokens the busiest of 32 devices sits E[max of 32 normals] standard deviations above the mean:
  // f − 1 ≈ 2.07 · √(0.2354·T) / (0.25·T) ≈ 4.02 / √T.
  const variance = 8 * (8 / 256) * (248 / 256) * (248 / 255);
  const z = expectedMaxOfNormals(32);
  assert.ok(Math.abs(z - 2.07) < 0.01, `${z}`);
  const predicted = (T: number): number => (z * Math.sqrt(variance * T)) / (0.25 * T);
  let last = Infinity;
  for (const T of [2048, 8192, 32768, 131072]) {
    const f = uniformRoutingLoadFactor(dsv3, { expertParallel: 32, redundantExperts: 0 }, T, 1, 10);
    assert.ok(f >= 1 && f < last, `T ${T}: ${f}`);
    // The mean over 10 seeded steps of a maximum: within 20 % of the closed form's excess.
    assert.ok(Math.abs((f - 1) / predicted(T) - 1) < 0.2, `T ${T}: f − 1 = ${f - 1} against ${predicted(T)}`);
    last = f;
  }
  // A dense model, or one device, carries no expert imbalance.
  assert.equal(uniformRoutingLoadFactor(loadModel('llama-3.1-8b'), { expertParallel: 8, redundantExperts: 0 }, 4096, 1), 1);
  assert.equal(uniformRoutingLoadFactor(dsv3, { expertParallel: 1, redundantExperts: 0 }, 4096, 1), 1);
});

test('uniformRoutingLoadFactor() of a layout with redundant experts is lower where the copies let EPLB split loads the slots cannot', () => {
  // 256 experts over 48 devices: without copies some devices hold 6 experts and others 5 (⌈256/48⌉ = 6 slots),
  // so the busiest carries at least 6 / (256/48) = 1.125 × the mean however many tokens; with 32 copies, 288 = 6 · 48
  // slots hold 224 whole loads and 64 half loads, device sums in halves: at best 5.5 / (256/48) = 1.03125.
  const T = 48 * 1024;
  const without = uniformRoutingLoadFactor(dsv3, { expertParallel: 48, redundantExperts: 0 }, T, 1, 5);
  const withCopies = uniformRoutingLoadFactor(dsv3, { expertParallel: 48, redundantExperts: 32 }, T, 1, 5);
  assert.ok(without >= 6 / (256 / 48), `${without}`);
  assert.ok(withCopies >= 5.5 / (256 / 48) && withCopies < 6 / (256 / 48), `${withCopies}`);
  // The same arguments give the same seeded draw: the placement model's own sweep, drawn again outside the cache.
  const drawn = moeImbalanceSweep({ experts: 256, topK: 8, tokens: T, devices: 48, zipfExponents: [0], redundant: [32], steps: 5, seed: 1 });
  assert.equal(drawn.find((r) => r.policy === 'balanced')!.imbalance.mean, withCopies);
  // Another seed is another draw.
  assert.notEqual(uniformRoutingLoadFactor(dsv3, { expertParallel: 48, redundantExperts: 32 }, T, 2, 5), withCopies);
});

test('uniformRoutingLoadFactor() keeps at most 1024 points, and a point drawn again after eviction is the same', () => {
  const first = uniformRoutingLoadFactor(dsv3, { expertParallel: 2, redundantExperts: 0 }, 64, 7, 2);
  // 1,100 more points (1 to 1,100 tokens over 2 devices): the first is evicted.
  for (let t = 1; t <= 1100; t++) uniformRoutingLoadFactor(dsv3, { expertParallel: 2, redundantExperts: 0 }, t, 8, 2);
  assert.ok(routingLoadFactorCacheSize() <= 1024, `${routingLoadFactorCacheSize()}`);
  assert.equal(uniformRoutingLoadFactor(dsv3, { expertParallel: 2, redundantExperts: 0 }, 64, 7, 2), first);
});
