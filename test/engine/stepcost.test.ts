import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../lib/backend/registry.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { seededWeights } from '../../lib/engine/weights.js';
import { defaultStepCostGrid, engineStepCost, fitEngineStepCost, fitStepCostSamples, measureEngineStepCost, pointWork, probeEngineSpeed, scaleStepCostFit } from '../../lib/engine/stepcost.js';
import type { EngineStepCostPoint } from '../../lib/engine/stepcost.js';
import { InputError } from '../../lib/util/errors.js';
import { TINY_DENSE } from './fixtures.js';

/** Points timed by a known cost: piecewise-linear token curve, per-sequence and per-key terms. */
function synthetic(): EngineStepCostPoint[] {
  const curve = (t: number): number => (t <= 8 ? 0.01 + 0.0002 * (t - 1) : 0.0114 + 0.001 * (t - 8));
  const s = 0.0005;
  const a = 2e-6;
  const pts: EngineStepCostPoint[] = [];
  for (const b of [1, 2, 4, 8, 16]) pts.push({ kind: 'decode', sequences: b, tokensPerSequence: 1, context: 16, medianSeconds: curve(b) + s * b + a * b * 17, iqrRelative: 0 });
  for (const c of [64, 128]) pts.push({ kind: 'decode', sequences: 4, tokensPerSequence: 1, context: c, medianSeconds: curve(4) + s * 4 + a * 4 * (c + 1), iqrRelative: 0 });
  for (const p of [2, 4, 8, 16, 32]) pts.push({ kind: 'prefill', sequences: 1, tokensPerSequence: p, context: 0, medianSeconds: curve(p) + s, iqrRelative: 0 });
  return pts;
}

test('fitEngineStepCost recovers a known step cost exactly from noiseless points', () => {
  const pts = synthetic();
  const fit = fitEngineStepCost(pts, { label: 'synthetic', backend: 'none', model: 'none', reps: 1 });
  assert.ok(Math.abs(fit.perSequenceSeconds - 0.0005) < 1e-9, String(fit.perSequenceSeconds));
  assert.ok(Math.abs(fit.perKeySeconds - 2e-6) < 1e-11, String(fit.perKeySeconds));
  assert.ok(fit.rmsRelativeError < 1e-9);
  const cost = engineStepCost(fit);
  for (const p of pts) assert.ok(Math.abs(cost(pointWork(p)) - p.medianSeconds) < 1e-9);
  // Between knots the token curve is linear: 24 tokens is halfway between 16 and 32.
  const mid = cost({ prefillTokens: 24, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 });
  assert.ok(Math.abs(mid - (0.0114 + 0.001 * 16 + 0.0005)) < 1e-9);
});

test('engineStepCost is non-decreasing in every StepWork field', () => {
  const cost = engineStepCost(fitEngineStepCost(synthetic(), { label: 's', backend: 'none', model: 'none', reps: 1 }));
  const base = { prefillTokens: 10, decodeTokens: 3, contextTokens: 300, prefillSequences: 1 };
  for (const k of ['prefillTokens', 'decodeTokens', 'contextTokens', 'prefillSequences'] as const) {
    let prev = cost(base);
    for (let d = 1; d <= 100; d *= 3) {
      const v = cost({ ...base, [k]: base[k] + d });
      assert.ok(v >= prev, `${k} + ${d}`);
      prev = v;
    }
  }
  assert.throws(() => fitEngineStepCost(synthetic().slice(0, 3), { label: 's', backend: 'none', model: 'none', reps: 1 }), InputError);
});

test('measureEngineStepCost times every grid shape on the engine and frees its sequences', async () => {
  const tf = (await selectBackend('auto', { log: () => {} })).tf;
  const e = new DecodeEngine(tf, TINY_DENSE, seededWeights(TINY_DENSE, 1));
  const fit = measureEngineStepCost(e, defaultStepCostGrid({ maxBatch: 4, maxContext: 32, maxPrompt: 16, reps: 2 }));
  // Contexts 8 (= 32/4), 16, 28 (= 32 − 3 back-to-back steps − 1): batches 1, 2, 4 at the
  // shortest, the middle batch 2 at the others; prompts 8 and 16 plus the batch sizes 2 and 4.
  assert.deepEqual(
    fit.points.map((p) => `${p.kind}:${p.sequences}x${p.tokensPerSequence}@${p.context}`),
    ['decode:1x1@8', 'decode:2x1@8', 'decode:4x1@8', 'decode:2x1@16', 'decode:2x1@28', 'prefill:1x2@0', 'prefill:1x4@0', 'prefill:1x8@0', 'prefill:1x16@0'],
  );
  assert.ok(fit.points.every((p) => p.medianSeconds > 0 && Number.isFinite(p.iqrRelative)));
  assert.deepEqual(e.sequences(), []);
  assert.equal(fit.provenance.backend, e.backend);
  // Probing the same engine against its own fit gives a positive finite speed ratio, and frees its sequences.
  const ratio = probeEngineSpeed(e, fit, { batch: 2, prompt: 8, steps: 2, rounds: 2 });
  assert.ok(ratio > 0 && Number.isFinite(ratio));
  assert.deepEqual(e.sequences(), []);
  // A fake clock that advances 1 s per step makes the measured time known: 1 prompt + 2 decode steps = 3 s per round.
  let t = 0;
  const real = e.step.bind(e);
  e.step = (segs) => ((t += 1), real(segs));
  const slow = probeEngineSpeed(e, fit, { batch: 1, prompt: 8, steps: 2, rounds: 1, now: () => t });
  const cost = engineStepCost(fit);
  const predicted = cost({ prefillTokens: 8, decodeTokens: 0, contextTokens: 0, prefillSequences: 1, prefillAttentionPairs: 36 }) +
    cost({ prefillTokens: 0, decodeTokens: 1, contextTokens: 9 }) + cost({ prefillTokens: 0, decodeTokens: 1, contextTokens: 10 });
  assert.ok(Math.abs(slow - 3 / predicted) < 1e-9 * slow);
  e.dispose();
});

test('scaleStepCostFit multiplies every part of the step cost by the ratio', () => {
  const fit = fitEngineStepCost(synthetic(), { label: 's', backend: 'none', model: 'none', reps: 1 });
  const w = { prefillTokens: 5, decodeTokens: 3, contextTokens: 99, prefillSequences: 1 };
  assert.ok(Math.abs(engineStepCost(scaleStepCostFit(fit, 1.5))(w) - 1.5 * engineStepCost(fit)(w)) < 1e-15);
  assert.throws(() => scaleStepCostFit(fit, 0), InputError);
});

test('fitStepCostSamples recovers a known cost from mixed served steps and ignores the slowest 5 %', () => {
  // Knots 1, 2, 4, 8, 16, 32 and 63 (powers of two, then the largest step: 56 + 7); the true curve is linear in tokens.
  const truth = (w: { prefillTokens: number; decodeTokens: number; contextTokens: number; prefillSequences?: number }): number =>
    0.008 + 0.0002 * (w.prefillTokens + w.decodeTokens) + 0.0006 * (w.decodeTokens + (w.prefillSequences ?? 0)) + 1e-6 * w.contextTokens;
  const samples = [];
  for (let b = 1; b <= 8; b++) {
    for (const ctx of [20, 60, 120]) samples.push({ work: { prefillTokens: 0, decodeTokens: b, contextTokens: b * ctx, prefillSequences: 0 } });
    for (const p of [16, 40, 56]) samples.push({ work: { prefillTokens: p, decodeTokens: b - 1, contextTokens: (b - 1) * 50, prefillSequences: 1 } });
  }
  const timed = samples.map((s) => ({ work: s.work, seconds: truth(s.work) }));
  // Two steps hit by another process take 10 times as long.
  timed[3].seconds *= 10;
  timed[17].seconds *= 10;
  const fit = fitStepCostSamples(timed, { label: 'served', backend: 'none', model: 'none' });
  assert.deepEqual(fit.tokenKnots, [1, 2, 4, 8, 16, 32, 63]);
  assert.ok(Math.abs(fit.perSequenceSeconds - 0.0006) < 1e-9, String(fit.perSequenceSeconds));
  assert.ok(Math.abs(fit.perKeySeconds - 1e-6) < 1e-11, String(fit.perKeySeconds));
  const cost = engineStepCost(fit);
  for (const s of samples) assert.ok(Math.abs(cost(s.work) - truth(s.work)) < 1e-9);
  // The measured spread keeps the two slow steps: 46 factors of 1, then two of 10, sorted.
  const f = fit.stepFactors!;
  assert.equal(f.length, samples.length);
  assert.ok(f.slice(0, -2).every((x) => Math.abs(x - 1) < 1e-6) && f.slice(-2).every((x) => Math.abs(x - 10) < 1e-5), f.slice(-3).join(' '));
  assert.throws(() => fitStepCostSamples(timed.slice(0, 5), { label: 's', backend: 'none', model: 'none' }), InputError);
});

test('fitStepCostSamples(samples, meta, fixed) takes the per-sequence and per-key costs as given and fits the token curve to the rest', () => {
  // Steps whose tokens, sequences and keys grow together (a closed loop): batch b decodes b tokens over 60 cached tokens each.
  const truth = (b: number): number => 0.01 + 0.001 * b + 0.0005 * b + 2e-6 * 60 * b;
  const samples = Array.from({ length: 16 }, (_, i) => {
    const b = i + 1;
    return { work: { prefillTokens: 0, decodeTokens: b, contextTokens: 60 * b, prefillSequences: 0 }, seconds: truth(b) };
  });
  const fit = fitStepCostSamples(samples, { label: 'served', backend: 'none', model: 'none' }, { perSequenceSeconds: 0.0005, perKeySeconds: 2e-6 });
  assert.equal(fit.perSequenceSeconds, 0.0005);
  assert.equal(fit.perKeySeconds, 2e-6);
  // The token curve is what is left: 0.01 + 0.001·b at each knot (1, 2, 4, 8, 16).
  fit.tokenKnots.forEach((k, i) => assert.ok(Math.abs(fit.tokenSeconds[i] - (0.01 + 0.001 * k)) < 1e-9, `knot ${k}: ${fit.tokenSeconds[i]}`));
  const cost = engineStepCost(fit);
  for (const x of samples) assert.ok(Math.abs(cost(x.work) - x.seconds) < 1e-9);
  assert.throws(() => fitStepCostSamples(samples, { label: 's', backend: 'none', model: 'none' }, { perSequenceSeconds: -1, perKeySeconds: 0 }), InputError);
});

test('fitStepCostSamples fits steps that leave two knots indistinguishable (both seen only by one step length) instead of failing', () => {
  // Steps of 1, 2 and 4 tokens, of 24 (between knots 16 and 32, half on each) and of 40 tokens: knots 16 and 32 are only seen at 24.
  const cost = (t: number): number => 0.01 + 0.001 * t;
  const samples = [1, 2, 4, 24, 40].flatMap((t) => Array.from({ length: 4 }, () => ({ work: { prefillTokens: t - 1, decodeTokens: 1, contextTokens: 0, prefillSequences: 1 }, seconds: cost(t) })));
  const fit = fitStepCostSamples(samples, { label: 'served', backend: 'none', model: 'none' }, { perSequenceSeconds: 0, perKeySeconds: 0 });
  assert.deepEqual(fit.tokenKnots, [1, 2, 4, 16, 32, 40]);
  // The fit still goes through every step (the exact linear cost of the samples).
  const f = engineStepCost(fit);
  for (const x of samples) assert.ok(Math.abs(f(x.work) / x.seconds - 1) < 1e-6, `${x.work.prefillTokens + 1} tokens: ${f(x.work)} against ${x.seconds}`);
});

test('fitStepCostSamples(samples, meta, fixed) pins a served per-sequence part that would be negative at 0, and scaleStepCostFit scales it', () => {
  // Served steps 0.2 ms per sequence cheaper than the given per-sequence cost: the served addition would be negative.
  const curve = (t: number): number => 0.01 + 0.0004 * t;
  const works = [
    ...[1, 2, 4, 8].flatMap((b) => [0, 20].map((p) => ({ prefillTokens: p, decodeTokens: b, contextTokens: 40 * b, prefillSequences: p > 0 ? 1 : 0 }))),
    ...[18, 21, 24, 28].map((p) => ({ prefillTokens: p, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 })),
  ];
  const samples = works.map((w) => ({ work: w, seconds: curve(w.prefillTokens + w.decodeTokens) + 0.0003 * (w.decodeTokens + w.prefillSequences) }));
  const fit = fitStepCostSamples(samples, { label: 's', backend: 'none', model: 'none' }, { perSequenceSeconds: 0.0005, perKeySeconds: 0 });
  assert.equal(fit.servedPerSequenceSeconds, 0);
  assert.equal(fit.perSequenceSeconds, 0.0005);
  assert.equal(scaleStepCostFit({ ...fit, servedPerSequenceSeconds: 0.001 }, 2).servedPerSequenceSeconds, 0.002);
});
