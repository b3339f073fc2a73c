// Fixed-seed runs that cover every path of the serving engine (each policy, reserved and
// paged KV with preemption, a prefix cache, open and closed loops, a trace, FLOP and byte
// accounting), reduced to a JSON-safe fingerprint. engine-baseline.json holds the
// fingerprints the engine produced before it was split into its state-machine parts;
// engine-regression.test.ts asserts the engine still produces them exactly.
import { createHash } from 'node:crypto';
import { simulateServing, affineStepCost, parseServingTrace, type ServingConfig, type ServingResult, type ServingStepCost } from '../../lib/batching/index.js';
import type { StepWork } from '../../lib/core/types.js';

function costWithCounts(): ServingStepCost {
  const base = affineStepCost({ fixedSeconds: 0.01, perPrefillToken: 2e-5, perDecodeToken: 6e-5, perContextToken: 1e-8 });
  const fn: ServingStepCost = (w: StepWork) => base(w) + 1e-9 * w.prefillAttentionPairs! + 1e-4 * w.prefillSequences!;
  fn.label = 'affine plus attention pairs and chunks';
  fn.flops = (w) => 2e9 * (w.prefillTokens + w.decodeTokens) + 4e6 * w.prefillAttentionPairs!;
  fn.bytes = (w) => 6e10 + 1e5 * w.contextTokens;
  fn.peakFlopsPerSecond = 1e15;
  fn.peakBytesPerSecond = 3e12;
  return fn;
}

const workload = {
  promptTokens: { kind: 'lognormal', median: 400, sigma: 0.9, max: 4000 },
  outputTokens: { kind: 'lognormal', median: 60, sigma: 0.9, max: 800 },
} as const;

const trace = parseServingTrace(['timestamp,prompt_tokens,output_tokens', ...Array.from({ length: 400 }, (_, i) => `${(i * 0.03 + ((i * 7) % 5) * 0.001).toFixed(4)},${50 + ((i * 97) % 900)},${1 + ((i * 31) % 120)}`)].join('\n'));

/** The cases: name → config. */
export const ENGINE_CASES: Record<string, ServingConfig> = {
  static: { ...workload, arrivals: { kind: 'poisson', ratePerSecond: 12 }, requests: 1500, policy: { kind: 'static', windowMs: 40, maxBatch: 32 }, stepCost: costWithCounts(), kvCapacityTokens: 60_000 },
  window: { ...workload, arrivals: { kind: 'gamma', ratePerSecond: 14, cv: 2 }, requests: 1500, policy: { kind: 'window', windowMs: 25, maxBatch: 48 }, stepCost: costWithCounts(), kvCapacityTokens: 60_000 },
  'window prefill-first': { ...workload, arrivals: { kind: 'poisson', ratePerSecond: 14 }, requests: 1500, policy: { kind: 'window', windowMs: 0, maxBatch: 48, priority: 'prefill-first' }, stepCost: costWithCounts() },
  continuous: { ...workload, arrivals: { kind: 'poisson', ratePerSecond: 16 }, requests: 2000, policy: { kind: 'continuous', maxBatch: 64 }, stepCost: costWithCounts(), kvCapacityTokens: 50_000 },
  'continuous paged': { ...workload, arrivals: { kind: 'gamma', ratePerSecond: 18, cv: 3 }, requests: 2000, policy: { kind: 'continuous', maxBatch: 96 }, stepCost: costWithCounts(), kvCapacityTokens: 12_000, kvAdmission: 'blocks', kvBlockTokens: 16 },
  'chunked paged prefix': { ...workload, arrivals: { kind: 'poisson', ratePerSecond: 18 }, requests: 2000, policy: { kind: 'chunked', maxBatch: 64, tokenBudget: 512 }, stepCost: costWithCounts(), kvCapacityTokens: 10_000, kvAdmission: 'blocks', kvBlockTokens: 32, prefixCacheHitRatio: 0.3 },
  'chunked prefill-first': { ...workload, arrivals: { kind: 'poisson', ratePerSecond: 15 }, requests: 1500, policy: { kind: 'chunked', maxBatch: 32, tokenBudget: 256, priority: 'prefill-first' }, stepCost: costWithCounts(), kvCapacityTokens: 40_000, slo: { ttftSeconds: 0.5, tpotSeconds: 0.05 } },
  'closed loop': { ...workload, arrivals: { kind: 'closed', clients: 24, thinkSeconds: 0.5, think: 'exponential' }, requests: 1500, policy: { kind: 'chunked', maxBatch: 32, tokenBudget: 1024 }, stepCost: costWithCounts(), kvCapacityTokens: 30_000, kvAdmission: 'blocks' },
  'closed burst': { ...workload, arrivals: { kind: 'closed', clients: 40, thinkSeconds: 0 }, requests: 1000, policy: { kind: 'continuous', maxBatch: 40 }, stepCost: costWithCounts() },
  trace: { arrivals: { kind: 'trace', trace }, policy: { kind: 'chunked', maxBatch: 16, tokenBudget: 300 }, stepCost: costWithCounts(), kvCapacityTokens: 8_000, kvAdmission: 'blocks', kvBlockTokens: 8 },
};

function digest(...arrays: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

/** A run reduced to JSON: every scalar as is, typed arrays as a SHA-256 of their bytes. */
export function fingerprint(r: ServingResult): Record<string, unknown> {
  const { requestLog, batchHistogram, ...rest } = r;
  const log = requestLog!;
  return {
    ...rest,
    batchHistogram: digest(batchHistogram),
    requestLog: digest(log.arrival, log.admitted, log.firstToken, log.finish, log.promptTokens, log.outputTokens),
  };
}

/** Fingerprints of every case, seed 7. */
export function engineFingerprints(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, config] of Object.entries(ENGINE_CASES)) out[name] = JSON.parse(JSON.stringify(fingerprint(simulateServing(config, 7))));
  return out;
}

if (process.argv[2] === '--write') {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(new URL('./fixtures/engine-baseline.json', import.meta.url), JSON.stringify(engineFingerprints(), null, 1) + '\n');
}
