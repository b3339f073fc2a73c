import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../lib/backend/registry.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { seededWeights } from '../../lib/engine/weights.js';
import { defaultStepCostGrid, engineStepCost, fitEngineStepCost, fitStepCostSamples, measureEngineStepCost, pointWork, probeEngineSpeed, scaleStepCostFit, stepCostBins } from '../../lib/engine/stepcost.js';
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
  const fit = measureEngineStepCost(e, defaultStepCostGrid({ maxBatch: 4, maxContext: 32, maxPrompt: 16, reps: 2, burst: true }));
  // Contexts 8 (= 32/4), 16, 28 (= 32 − 3 back-to-back steps − 1): batches 1, 2, 4 at the
  // shortest, the middle batch 2 at the others; prompts 8 and 16 plus the batch sizes 2 and 4;
  // and a burst of maxBatch = 4 prompts of maxPrompt = 16 tokens in one step.
  assert.deepEqual(
    fit.points.map((p) => `${p.kind}:${p.sequences}x${p.tokensPerSequence}@${p.context}`),
    ['decode:1x1@8', 'decode:2x1@8', 'decode:4x1@8', 'decode:2x1@16', 'decode:2x1@28', 'prefill:1x2@0', 'prefill:1x4@0', 'prefill:1x8@0', 'prefill:1x16@0', 'prefill:4x16@0'],
  );
  // The burst's 64 tokens are the curve's top knot (4 × 16), timed rather than extrapolated from the 16-token prompt.
  assert.equal(fit.tokenKnots[fit.tokenKnots.length - 1], 64);
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

test('defaultStepCostGrid adds, when asked, one burst of maxBatch prompts of maxPrompt tokens (none at maxBatch 1), and measureEngineStepCost refuses a bad burst', () => {
  assert.deepEqual(defaultStepCostGrid({ maxBatch: 16, maxContext: 256, maxPrompt: 64, burst: true }).prefillBursts, [{ sequences: 16, tokensPerSequence: 64 }]);
  // Not asked: no burst (the costliest shape; serve --calibrate-burst asks for it).
  assert.deepEqual(defaultStepCostGrid({ maxBatch: 16, maxContext: 256, maxPrompt: 64 }).prefillBursts, []);
  // A prompt longer than the context is cut to it.
  assert.deepEqual(defaultStepCostGrid({ maxBatch: 8, maxContext: 32, maxPrompt: 64, burst: true }).prefillBursts, [{ sequences: 8, tokensPerSequence: 32 }]);
  assert.deepEqual(defaultStepCostGrid({ maxBatch: 1, maxContext: 256, maxPrompt: 64, burst: true }).prefillBursts, []);
  const grid = { decodeBatches: [1, 2], decodeContexts: [8], prefillTokens: [8], reps: 1 };
  const fake = { config: { maxContext: 32, vocabSize: 64 } } as unknown as DecodeEngine;
  assert.throws(() => measureEngineStepCost(fake, { ...grid, prefillBursts: [{ sequences: 0, tokensPerSequence: 8 }] }), InputError);
  assert.throws(() => measureEngineStepCost(fake, { ...grid, prefillBursts: [{ sequences: 2, tokensPerSequence: 33 }] }), /tokensPerSequence/);
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

test('stepCostBins(fit, samples) gives per power-of-two bin of tokens per step the median and p90 of measured over fitted seconds', () => {
  const fit = fitEngineStepCost(synthetic(), { label: 's', backend: 'none', model: 'none', reps: 1 });
  const cost = engineStepCost(fit);
  // Steps timed at a chosen multiple of the fit's cost: the ratios are those multiples exactly.
  const step = (prefill: number, decode: number, ratio: number) => {
    const work = { prefillTokens: prefill, decodeTokens: decode, contextTokens: 40 * decode, prefillSequences: prefill > 0 ? 1 : 0 };
    return { work, seconds: ratio * cost(work) };
  };
  const samples = [
    step(0, 1, 1.2),
    // 2 and 3 tokens share the bin 2–3.
    step(0, 2, 1.1), step(0, 3, 0.9),
    // 64, 100 (a prompt of 90 beside 10 decodes) and 127 tokens: bin 64–127; ratios 0.5, 1, 2 and 4.
    step(64, 0, 2), step(90, 10, 0.5), step(127, 0, 4), step(0, 100, 1),
    // Skipped: no positive finite duration.
    { work: step(0, 8, 1).work, seconds: 0 }, { work: step(0, 8, 1).work, seconds: NaN },
  ];
  const bins = stepCostBins(fit, samples);
  assert.deepEqual(bins.map((b) => [b.fromTokens, b.toTokens, b.steps]), [[1, 1, 1], [2, 3, 2], [64, 127, 4]]);
  const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;
  // One step: median and p90 are its ratio.
  assert.ok(close(bins[0].median, 1.2) && close(bins[0].p90, 1.2));
  // Two steps 0.9 and 1.1: median 1.0 (the mean of the two), p90 linear between ranks at 0.9 × (2 − 1) = 0.9: 0.9 + 0.9 × 0.2 = 1.08.
  assert.ok(close(bins[1].median, 1.0) && close(bins[1].p90, 1.08), `${bins[1].median} ${bins[1].p90}`);
  // 0.5, 1, 2, 4: median (1 + 2) / 2 = 1.5; p90 at rank 0.9 × 3 = 2.7: 2 + 0.7 × (4 − 2) = 3.4.
  assert.ok(close(bins[2].median, 1.5) && close(bins[2].p90, 3.4), `${bins[2].median} ${bins[2].p90}`);
  assert.deepEqual(stepCostBins(fit, []), []);
  assert.throws(() => stepCostBins(fit, 'steps' as never), InputError);
});

/** Served steps of every length 1..64 (a decode batch or a prompt alone) timed at a linear cost, as a calibration's small steps are. */
function smallSteps(cost: (t: number) => number): Array<{ work: { prefillTokens: number; decodeTokens: number; contextTokens: number; prefillSequences: number }; seconds: number }> {
  return Array.from({ length: 64 }, (_, i) => {
    const t = i + 1;
    const work = t <= 16 ? { prefillTokens: 0, decodeTokens: t, contextTokens: 40 * t, prefillSequences: 0 } : { prefillTokens: t, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 };
    return { work, seconds: cost(t) };
  });
}

test('fitStepCostSamples: one slow 690-token step above many well-fitted small steps does not set the top of the curve; past 64 tokens it rises as the given engine curve does', () => {
  // Per-sequence and per-key costs given as 0, so a step costs its token curve alone: 40 ms + 1 ms per token (closed form).
  const served = (t: number): number => 0.04 + 0.001 * t;
  const samples = smallSteps(served);
  // The first step of a 16-client burst: 15 prompts, 690 tokens, twice what the curve would say (a cold or interrupted step).
  const burst = { work: { prefillTokens: 690, decodeTokens: 0, contextTokens: 0, prefillSequences: 15 }, seconds: 2 * served(690) };
  // The engine's timed curve: knots 1, 32 and 64, 0.8 ms per token from 32 to 64 (extrapolated past 64 with that slope).
  const tokenCurve = { tokenKnots: [1, 32, 64], tokenSeconds: [0.03, 0.05, 0.0756] };
  const fit = fitStepCostSamples([...samples, burst], { label: 's', backend: 'none', model: 'none' }, { perSequenceSeconds: 0, perKeySeconds: 0, tokenCurve });
  // Knot 690 carries one step's worth ((690 − 64) / (690 − 64) = 1 < 2) and is dropped: the served curve is fitted up to 64.
  assert.equal(fit.servedUpToTokens, 64);
  assert.deepEqual(fit.tokenKnots, [1, 2, 4, 8, 16, 32, 64, 128]);
  fit.tokenKnots.slice(0, -1).forEach((k, i) => assert.ok(Math.abs(fit.tokenSeconds[i] - served(k)) < 1e-9, `knot ${k}`));
  // Past 64 the curve rises at the engine's 0.8 ms per token ((0.0756 − 0.05) / 32): at 690, 0.104 + 0.0008 × 626 = 0.6048 s,
  // not the burst step's 1.46 s.
  const cost = engineStepCost(fit);
  assert.ok(Math.abs(cost(burst.work) - (served(64) + 0.0008 * (690 - 64))) < 1e-9, String(cost(burst.work)));
  // The burst step is still in the measured spread: its duration over the fitted cost.
  assert.ok(Math.abs(fit.stepFactors![fit.stepFactors!.length - 1] - burst.seconds / cost(burst.work)) < 1e-9);
  assert.match(fit.provenance.statistic, /above 64 tokens per step \(1 step, .*engine's timed curve/);
  // Without an engine curve the curve past 64 keeps the last fitted slope (1 ms per token from 32 to 64).
  const alone = engineStepCost(fitStepCostSamples([...samples, burst], { label: 's', backend: 'none', model: 'none' }, { perSequenceSeconds: 0, perKeySeconds: 0 }));
  assert.ok(Math.abs(alone(burst.work) - served(690)) < 1e-9);
  assert.throws(() => fitStepCostSamples(samples, { label: 's', backend: 'none', model: 'none' }, { perSequenceSeconds: 0, perKeySeconds: 0, tokenCurve: { tokenKnots: [1, 64, 32], tokenSeconds: [0.03, 0.05, 0.07] } }), InputError);
});

test('fitStepCostSamples keeps a top knot that two steps support and fits it, and counts a step below the knot by its hat (its share of the knot)', () => {
  const served = (t: number): number => 0.04 + 0.001 * t;
  const meta = { label: 's', backend: 'none', model: 'none' };
  const fixed = { perSequenceSeconds: 0, perKeySeconds: 0, tokenCurve: { tokenKnots: [1, 32, 64], tokenSeconds: [0.03, 0.05, 0.0756] } };
  const big = (t: number, factor = 1) => ({ work: { prefillTokens: t, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 }, seconds: factor * served(t) });
  // Two 690-token steps: two steps' worth at knot 690, which is kept and fitted through them (the linear cost is exact there).
  const two = fitStepCostSamples([...smallSteps(served), big(690), big(690)], meta, fixed);
  assert.equal(two.servedUpToTokens, undefined);
  assert.equal(two.tokenKnots[two.tokenKnots.length - 1], 690);
  assert.ok(Math.abs(two.tokenSeconds[two.tokenSeconds.length - 1] - served(690)) < 1e-9);
  // 690 and 377 tokens: knots 256, 512 and 690 (powers of two and the largest step, each with a step between its
  // neighbours); knot 690 carries the 690-token step's 1, knot 512 then the 377-token step's (377 − 256) / 256 = 0.47,
  // knot 256 none: all under 2 and dropped, and the curve past 64 is the engine's.
  const dropped = fitStepCostSamples([...smallSteps(served), big(690), big(377, 3)], meta, fixed);
  assert.equal(dropped.servedUpToTokens, 64);
  assert.ok(Math.abs(engineStepCost(dropped)(big(377).work) - (served(64) + 0.0008 * (377 - 64))) < 1e-9);
});
