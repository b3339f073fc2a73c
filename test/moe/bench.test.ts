import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moeBenchDeviceExperts, moeRouteCounts, moeStaticPlacement, moeDeviceExpertTokens } from '../../lib/moe/index.js';
import { fork } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';

const FAST = { minReps: 3, minTimeMs: 2, warmup: 1 };
const routing = { kind: 'uniform' as const, experts: 64, topK: 4 };

test('moeBenchDeviceExperts times the seeded routing of each step on the chosen device', async () => {
  const rows = await moeBenchDeviceExperts({ routing, requests: [4, 64], devices: 8, device: 'busiest', routingSeed: 5, k: 32, n: 16, timing: FAST });
  assert.equal(rows.length, 2);
  for (const row of rows) {
    // The same draw, placement and device choice, made by hand.
    const counts = moeRouteCounts(routing, row.requests, fork(5, `bench-${row.requests}`));
    const expected = moeDeviceExpertTokens(moeStaticPlacement(64, 8), counts, 'busiest');
    assert.deepEqual(row.tokens, expected.tokens);
    assert.equal(row.device, expected.device);
    assert.equal(row.totalTokens, expected.tokens.reduce((s, t) => s + t, 0));
    assert.equal(row.activeExperts, expected.tokens.filter((t) => t > 0).length);
    assert.equal(row.label, `${row.requests} requests: ${expected.tokens.join(', ')} tokens`);
    assert.ok(row.batchedSeconds > 0 && row.separateSeconds > 0 && row.denseSeconds > 0);
    assert.ok(row.backendName.length > 0);
  }
});

test('moeBenchDeviceExperts with a fixed device times that device’s experts (8 experts each on 8 devices)', async () => {
  const [row] = await moeBenchDeviceExperts({ routing, requests: [256], devices: 8, device: 0, routingSeed: 1, k: 16, n: 16, timing: FAST });
  const counts = moeRouteCounts(routing, 256, fork(1, 'bench-256'));
  // Static placement puts experts 0..7 on device 0 (64 experts over 8 devices).
  assert.deepEqual(row.tokens, Array.from(counts.slice(0, 8)));
  assert.equal(row.device, 0);
});

test('moeBenchDeviceExperts rejects bad input naming the field', async () => {
  const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;
  await assert.rejects(moeBenchDeviceExperts({ routing, requests: [], devices: 8, routingSeed: 1, k: 16, n: 16 }), isInput('requests'));
  await assert.rejects(moeBenchDeviceExperts({ routing, requests: [0], devices: 8, routingSeed: 1, k: 16, n: 16 }), isInput('requests[0]'));
  await assert.rejects(moeBenchDeviceExperts({ routing, requests: [4], devices: 8, device: 8, routingSeed: 1, k: 16, n: 16 }), isInput('device'));
  await assert.rejects(moeBenchDeviceExperts({ routing, requests: [4], devices: 100, routingSeed: 1, k: 16, n: 16 }), isInput('devices'));
});
