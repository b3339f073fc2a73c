import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateServing, decodePaddingOf, constantStepCost, type ServingConfig } from '../../lib/batching/index.js';
import type { StepWork } from '../../lib/core/types.js';
import { InputError } from '../../lib/util/errors.js';

test('decodePaddingOf maps every batch to the smallest captured size at or above it', () => {
  // vLLM's bs_to_padded_graph_size for sizes [1, 2, 4, 8]: 3 → 4, 5..8 → 8.
  assert.deepEqual([...decodePaddingOf([1, 2, 4, 8])!], [0, 1, 2, 4, 4, 8, 8, 8, 8]);
  assert.equal(decodePaddingOf(undefined), null);
  assert.throws(() => decodePaddingOf([4, 2]), (e: unknown) => e instanceof InputError && e.field === 'decodeGraphSizes[1]');
  assert.throws(() => decodePaddingOf([0]), (e: unknown) => e instanceof InputError && e.field === 'decodeGraphSizes[0]');
});

test('simulateServing prices a decode-only step at its padded batch and a step with prompt work unpadded', () => {
  // Three requests at t = 0, whole prompts: one prefill step, then decode-only steps of 3
  // sequences, priced as 4 (sizes [1, 2, 4]); the emitted tokens stay 3 per step.
  const works: StepWork[] = [];
  const base = constantStepCost(0.01);
  const config: ServingConfig = {
    arrivals: { kind: 'burst' },
    requests: 3,
    promptTokens: { kind: 'fixed', tokens: 5 },
    outputTokens: { kind: 'fixed', tokens: 3 },
    policy: { kind: 'continuous', maxBatch: 8 },
    stepCost: Object.assign((w: StepWork) => (works.push({ ...w }), base(w)), { label: 'constant' }),
    decodeGraphSizes: [1, 2, 4],
  };
  const r = simulateServing(config, 1);
  assert.deepEqual(works.map((w) => [w.prefillTokens, w.decodeTokens]), [[15, 0], [0, 4], [0, 4]]);
  assert.equal(r.tokens.emitted, 9);
  assert.match(r.provenance.config, /padded to CUDA-graph sizes ≤ 4/);
});
