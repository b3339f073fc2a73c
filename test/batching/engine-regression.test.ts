import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ENGINE_CASES, engineFingerprints } from './engine-cases.js';

// Source of the expected values: fixtures/engine-baseline.json, written by
// `node --import tsx test/batching/engine-cases.ts --write` from the single-function
// engine (commit 90d1de6) before it was split into admission, scheduling, step pricing
// and completion. The split is a refactoring: every statistic, every request's times
// (SHA-256 of the request log) and the batch histogram must come out bit-identical.
const baseline = JSON.parse(readFileSync(new URL('./fixtures/engine-baseline.json', import.meta.url), 'utf8')) as Record<string, unknown>;

// Since the latency quantiles are selected rather than read from a sort (lib/batching/stats.ts),
// the latency means are sums in recording order rather than sorted order: they agree with the
// baseline to 12 significant digits, and everything else bit for bit.
const roundedMeans = (o: unknown): unknown => JSON.parse(JSON.stringify(o), (k, v) => (k === 'mean' && typeof v === 'number' ? Number(v.toPrecision(12)) : v));

test('runServingEngine reproduces the pre-split engine bit for bit on every fixed-seed case', () => {
  const now = engineFingerprints();
  assert.deepEqual(Object.keys(now), Object.keys(ENGINE_CASES));
  for (const name of Object.keys(ENGINE_CASES)) assert.deepEqual(roundedMeans(now[name]), roundedMeans(baseline[name]), `case ${name}`);
});
