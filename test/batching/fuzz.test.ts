import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { simulateServing, affineStepCost, type ServingConfig, type ServingPolicy } from '../../lib/batching/index.js';

const cost = affineStepCost({ fixedSeconds: 0.005, perPrefillToken: 1e-5, perDecodeToken: 2e-4, perContextToken: 1e-7 });

const policy: fc.Arbitrary<ServingPolicy> = fc.oneof(
  fc.record({ kind: fc.constant('static' as const), windowMs: fc.double({ min: 0.5, max: 100, noNaN: true }), maxBatch: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('window' as const), windowMs: fc.constantFrom(0, 1, 10, 60), maxBatch: fc.integer({ min: 1, max: 40 }), priority: fc.constantFrom('decode-first' as const, 'prefill-first' as const) }),
  fc.record({ kind: fc.constant('continuous' as const), maxBatch: fc.integer({ min: 1, max: 40 }), priority: fc.constantFrom('decode-first' as const, 'prefill-first' as const) }),
  fc.integer({ min: 1, max: 40 }).chain((maxBatch) =>
    fc.record({ kind: fc.constant('chunked' as const), maxBatch: fc.constant(maxBatch), tokenBudget: fc.integer({ min: maxBatch, max: 600 }), priority: fc.constantFrom('decode-first' as const, 'prefill-first' as const) }),
  ),
);

const config: fc.Arbitrary<ServingConfig> = fc.record({
  arrivals: fc.oneof(
    fc.record({ kind: fc.constant('poisson' as const), ratePerSecond: fc.double({ min: 1, max: 200, noNaN: true }) }),
    fc.record({ kind: fc.constant('burst' as const) }),
    fc.record({ kind: fc.constant('closed' as const), clients: fc.integer({ min: 1, max: 30 }), thinkSeconds: fc.constantFrom(0, 0.05, 0.5), think: fc.constantFrom('fixed' as const, 'exponential' as const) }),
  ),
  requests: fc.integer({ min: 1, max: 150 }),
  promptTokens: fc.record({ kind: fc.constant('uniform' as const), min: fc.constant(1), max: fc.integer({ min: 1, max: 300 }) }),
  outputTokens: fc.record({ kind: fc.constant('uniform' as const), min: fc.constant(1), max: fc.integer({ min: 1, max: 60 }) }),
  policy,
  stepCost: fc.constant(cost),
  kvAdmission: fc.constantFrom('reserve' as const, 'blocks' as const),
  kvBlockTokens: fc.constantFrom(1, 8, 16),
  kvCapacityTokens: fc.constantFrom(400, 1000, 5000),
  prefixCacheHitRatio: fc.constantFrom(0, 0.3, 1),
});

test('simulateServing on random configs: every request finishes in order, every token is emitted once, limits hold, seeded reruns agree', () => {
  fc.assert(
    fc.property(config, fc.integer({ min: 0, max: 1000 }), (c, seed) => {
      const r = simulateServing(c, seed);
      const log = r.requestLog!;
      let out = 0;
      let gaps = 0;
      for (let i = 0; i < r.requests; i++) {
        assert.ok(log.arrival[i] <= log.admitted[i] && log.admitted[i] < log.firstToken[i] && log.firstToken[i] <= log.finish[i]);
        out += log.outputTokens[i];
        gaps += log.outputTokens[i] - 1;
      }
      assert.equal(r.tokens.emitted, out);
      assert.equal(r.itl === null ? 0 : r.itl.count, gaps);
      assert.ok(r.kvPeakTokens <= c.kvCapacityTokens!);
      assert.equal(r.batchHistogram.length - 1, Math.min(c.policy.maxBatch, r.requests));
      if (c.kvAdmission === 'reserve') assert.equal(r.preemptions, 0);
      assert.deepEqual(simulateServing(c, seed), r);
    }),
    { numRuns: 150, seed: 20261130 },
  );
});
