import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineStepCost, fitEngineStepCost, fitServedStepCost } from '../../lib/engine/stepcost.js';
import type { EngineStepCostPoint } from '../../lib/engine/stepcost.js';
import type { StepWork } from '../../lib/core/types.js';
import { servedStepSamples } from '../../lib/server/experiment.js';
import type { ServedStep } from '../../lib/server/experiment.js';
import { summariseLoad } from '../../lib/server/load.js';
import type { LoadRequestRecord } from '../../lib/server/load.js';
import { comparePrediction, predictLoad } from '../../lib/server/predict.js';
import { InputError } from '../../lib/util/errors.js';

// An engine whose timed shapes follow a known cost: a token curve linear between its knots
// (a memory-bound floor up to 8 tokens, then compute-bound), attention per sequence and per cached key.
const curve = (t: number): number => (t <= 8 ? 0.06 + 0.0005 * (t - 1) : 0.0635 + 0.0015 * (t - 8));
const PER_SEQ = 0.0035;
const PER_KEY = 2e-6;
const engineTruth = (w: StepWork): number => curve(w.prefillTokens + w.decodeTokens) + PER_SEQ * (w.decodeTokens + (w.prefillSequences ?? 0)) + PER_KEY * w.contextTokens;

function engineFit() {
  const pts: EngineStepCostPoint[] = [];
  for (const b of [1, 2, 4, 8, 16]) pts.push({ kind: 'decode', sequences: b, tokensPerSequence: 1, context: 16, medianSeconds: curve(b) + PER_SEQ * b + PER_KEY * b * 17, iqrRelative: 0 });
  for (const c of [64, 128]) pts.push({ kind: 'decode', sequences: 4, tokensPerSequence: 1, context: c, medianSeconds: curve(4) + PER_SEQ * 4 + PER_KEY * 4 * (c + 1), iqrRelative: 0 });
  for (const p of [2, 4, 8, 16, 32, 64]) pts.push({ kind: 'prefill', sequences: 1, tokensPerSequence: p, context: 0, medianSeconds: curve(p) + PER_SEQ, iqrRelative: 0 });
  return fitEngineStepCost(pts, { label: 'synthetic engine', backend: 'none', model: 'none', reps: 1 });
}

// What serving adds, the generating coefficients: ratio 1.1, 0.3 ms per prompt token, 0.8 ms per sequence, 0.5 ms per step.
const RATIO = 1.1;
const PER_PROMPT = 3e-4;
const SERVED_SEQ = 8e-4;
const PER_STEP = 5e-4;
const servedTruth = (w: StepWork): number => RATIO * engineTruth(w) + PER_PROMPT * w.prefillTokens + SERVED_SEQ * (w.decodeTokens + (w.prefillSequences ?? 0)) + PER_STEP;

/** A step log shaped like a closed-loop calibration: prompts alone (1 client), prompts beside decodes and decodes alone (8 and 16 clients). */
function stepLog(): ServedStep[] {
  const works: StepWork[] = [];
  for (const p of [17, 30, 45, 60]) works.push({ prefillTokens: p, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 });
  for (const ctx of [20, 50, 80]) works.push({ prefillTokens: 0, decodeTokens: 1, contextTokens: ctx, prefillSequences: 0 });
  for (let b = 2; b <= 16; b += 2) for (const ctx of [30, 70]) works.push({ prefillTokens: 0, decodeTokens: b, contextTokens: b * ctx, prefillSequences: 0 });
  for (const [p, d] of [[20, 7], [50, 7], [40, 15], [25, 15], [90, 14]]) works.push({ prefillTokens: p, decodeTokens: d, contextTokens: d * 50, prefillSequences: p > 64 ? 2 : 1 });
  let t = 0;
  return works.map((work) => {
    const start = t;
    t += servedTruth(work);
    return { start, nextDecision: t, work };
  });
}

test('servedStepSamples(steps) times each step from its decision to the next one and skips steps not yet followed by a decision', () => {
  const log = stepLog();
  const samples = servedStepSamples([...log, { start: 99, nextDecision: null, work: log[0].work }]);
  assert.equal(samples.length, log.length);
  samples.forEach((s, i) => assert.ok(Math.abs(s.seconds - servedTruth(log[i].work)) < 1e-12));
  assert.throws(() => servedStepSamples('steps' as unknown as ServedStep[]), InputError);
});

test('fitServedStepCost over a served step log recovers the ratio, per-prompt-token, per-sequence and per-step costs that generated it', () => {
  const log = stepLog();
  // Two steps hit by another process take 10 times as long: the fit drops them, the spread keeps them.
  log[5] = { ...log[5], nextDecision: log[5].start + 10 * servedTruth(log[5].work) };
  log[12] = { ...log[12], nextDecision: log[12].start + 10 * servedTruth(log[12].work) };
  const fit = fitServedStepCost(servedStepSamples(log), engineFit(), { label: 'served', backend: 'none', model: 'none' });
  const p = fit.served!;
  assert.ok(Math.abs(p.speedRatio - RATIO) < 1e-6, String(p.speedRatio));
  assert.ok(Math.abs(p.perPromptTokenSeconds - PER_PROMPT) < 1e-9, String(p.perPromptTokenSeconds));
  assert.ok(Math.abs(p.perSequenceSeconds - SERVED_SEQ) < 1e-8, String(p.perSequenceSeconds));
  assert.ok(Math.abs(p.perStepSeconds - PER_STEP) < 1e-7, String(p.perStepSeconds));
  // Folded into the fit's own parts, the cost is the generating one for any work, in or outside the log.
  const cost = engineStepCost(fit);
  for (const w of [...log.map((s) => s.work), { prefillTokens: 33, decodeTokens: 3, contextTokens: 120, prefillSequences: 1 }]) {
    assert.ok(Math.abs(cost(w) / servedTruth(w) - 1) < 1e-6, `${JSON.stringify(w)}: ${cost(w)} against ${servedTruth(w)}`);
  }
  assert.ok(fit.rmsRelativeError < 1e-6);
  const f = fit.stepFactors!;
  assert.equal(f.length, log.length);
  assert.ok(f.slice(0, -2).every((x) => Math.abs(x - 1) < 1e-6) && f.slice(-2).every((x) => Math.abs(x - 10) < 1e-5), f.slice(-3).join(' '));
});

test('predictLoad at closed loop N = 1 gives TTFT = the fitted cost of the prompt step + the HTTP path (each request finds the server idle)', () => {
  // The fit without its spread: the closed form is for the fit's cost (the seeded spread is tested in predict.test.ts).
  const fit = { ...fitServedStepCost(servedStepSamples(stepLog()), engineFit(), { label: 'served', backend: 'none', model: 'none' }), stepFactors: undefined };
  const prompt = 40;
  const http = 0.004;
  const workload = { arrivals: { kind: 'closed' as const, clients: 1 }, requests: 6, promptTokens: { kind: 'fixed' as const, tokens: prompt }, outputTokens: { kind: 'fixed' as const, tokens: 5 } };
  const predicted = predictLoad(workload, { kind: 'continuous', maxBatch: 16 }, fit, 1, { stepSeconds: 0, requestSeconds: http });
  // Closed form: 1.1 × (curve(40) + one sequence's attention) + 40 × 0.3 ms + 0.8 ms + 0.5 ms, curve(40) = 0.0635 + 0.0015 × 32 = 0.1115 s; then the HTTP path.
  const prefill = RATIO * (0.0635 + 0.0015 * (prompt - 8) + PER_SEQ) + PER_PROMPT * prompt + SERVED_SEQ + PER_STEP;
  const records: LoadRequestRecord[] = [{ index: 0, promptTokens: prompt, outputTokens: 2, send: 0, tokenTimes: [0.2, 0.3], tokens: [1, 1], finish: 0.3, status: 200 }];
  const ttft = comparePrediction(summariseLoad(records, { url: 'x', workload: 'w', seed: 1 }), predicted, { stepSeconds: 0, requestSeconds: http }).find((r) => r.metric === 'TTFT p50 (s)')!;
  assert.ok(Math.abs(ttft.predicted - (prefill + http)) < 1e-9, `${ttft.predicted} against ${prefill + http}`);
  assert.ok(Math.abs(predicted.ttft.p99 - prefill) < 1e-9);
});
