import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPublishedCurve, predictPublishedCurve, publishedCurveTargets, publishedSaturation, readPublishedCurves } from '../../lib/batching/published-curves.js';
import { kvCacheCapacity, memoryFit, perfStepCost } from '../../lib/roofline/deployment.js';
import { loadHardware } from '../../lib/hardware/spec.js';
import { loadModel } from '../../lib/models/spec.js';
import { InputError } from '../../lib/util/errors.js';
import { DTYPE_BYTES } from '../../lib/core/types.js';

const FILE = 'nvidia-nim-llm-benchmarking-curves';

// A small hand-made curve, so that the simulations stay short.
const small = (over: Record<string, unknown> = {}) =>
  checkPublishedCurve(
    {
      id: 'toy',
      label: 'toy',
      model: 'llama-3.1-8b',
      hardware: 'h100-sxm',
      engine: 'trtllm',
      parallelism: { tp: 1 },
      precision: { weights: 'fp8', compute: 'fp8', activations: 'bf16', kvCache: 'bf16' },
      promptTokens: 512,
      outputTokens: 32,
      points: [
        { concurrency: 1, ttftMs: 20, itlMs: 5, outputTokensPerSecond: 190 },
        { concurrency: 8, ttftMs: 40, itlMs: 6, outputTokensPerSecond: 1200 },
      ],
      ...over,
    },
    { source: 'hand-made' },
  );

test('readPublishedCurves reads the shipped NIM curves with the page values', () => {
  const cs = readPublishedCurves(FILE);
  assert.equal(cs.length, 5);
  const first = cs[0];
  // The page's 'Llama-3.3-70b-instruct Results', Version 1.8.0, 2 x H100 80G, fp8 TP2, 5000/500: first row.
  assert.deepEqual(first.points[0], { concurrency: 1, ttftMs: 406.77, itlMs: 18.58, outputTokensPerSecond: 51.67 });
  assert.equal(first.tp, 2);
  assert.equal(first.promptTokens, 5000);
  assert.equal(first.outputTokens, 500);
  assert.match(first.source, /NIM/);
  for (const c of cs) {
    assert.ok(c.assumptions && c.assumptions.length > 0, `${c.id} states its assumptions`);
    for (let i = 1; i < c.points.length; i++) assert.ok(c.points[i].concurrency > c.points[i - 1].concurrency);
  }
});

test('readPublishedCurves refuses a published file without curves, naming the file and field', () => {
  assert.throws(() => readPublishedCurves('deepgemm-h800-fp8'), (e: unknown) => e instanceof InputError && e.field === 'data/published/deepgemm-h800-fp8.json curves');
  assert.throws(() => readPublishedCurves('../etc'), InputError);
});

test('checkPublishedCurve names the field of bad input', () => {
  const bad = (over: Record<string, unknown>, field: string) =>
    assert.throws(() => small(over), (e: unknown) => e instanceof InputError && e.field === field, field);
  bad({ engine: 'tgi' }, 'curve.engine');
  bad({ parallelism: { tp: 0 } }, 'curve.parallelism.tp');
  bad({ outputTokens: 1 }, 'curve.outputTokens');
  bad({ precision: { weights: 'fp7' } }, 'curve.precision.weights');
  bad({ points: [{ concurrency: 4, ttftMs: 1, itlMs: 1, outputTokensPerSecond: 1 }, { concurrency: 4, ttftMs: 1, itlMs: 1, outputTokensPerSecond: 1 }] }, 'curve.points[1].concurrency');
  bad({ points: [{ concurrency: 1, ttftMs: -1, itlMs: 1, outputTokensPerSecond: 1 }, { concurrency: 4, ttftMs: 1, itlMs: 1, outputTokensPerSecond: 1 }] }, 'curve.points[0].ttftMs');
  bad({ points: [] }, 'curve.points');
  // The catalog ids it is predicted on, and a split of whole heads (Llama-3.1-8B: 32 heads over 8 KV heads), at check time.
  bad({ model: 'gpt-5' }, 'curve.model');
  bad({ hardware: 'h900' }, 'curve.hardware');
  bad({ parallelism: { tp: 3 } }, 'curve.parallelism.tp');
  assert.throws(() => checkPublishedCurve({ ...small(), source: undefined }), (e: unknown) => e instanceof InputError && e.field === 'curve.source');
});

test('publishedSaturation is X_max · R(1) of the response-time law', () => {
  // Closed form: X_max = 1200 / 32 req/s; R(1) = (20 + 31 · 5) ms = 0.175 s; N* = 37.5 · 0.175 = 6.5625.
  assert.ok(Math.abs(publishedSaturation(small()) - 6.5625) < 1e-12);
  // The NIM 70B 1.8.0 curve: 920.9 / 500 · (0.40677 + 499 · 0.01858) = 17.8253 (the page's rows).
  assert.ok(Math.abs(publishedSaturation(readPublishedCurves(FILE)[0]) - (920.9 / 500) * (0.40677 + 499 * 0.01858)) < 1e-9);
});

test('predictPublishedCurve at concurrency 1 has no queueing: TTFT is one prefill step of the prompt', () => {
  const r = predictPublishedCurve(small(), { seed: 1 });
  assert.equal(r.stepModelKind, 'kernel-tables');
  assert.match(r.stepModel, /kernel tables of trtllm/);
  // The prompt (512 tokens) fits the trtllm preset's 8192-token budget: one step, nothing ahead of it.
  const step = perfStepCost(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { parallelism: { tp: 1 }, precision: { weights: 'fp8', compute: 'fp8', activations: 'bf16', kvCache: 'bf16' }, framework: 'trtllm' });
  const prefill = step({ prefillTokens: 512, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 });
  assert.ok(Math.abs(r.points[0].predicted.ttftMs - prefill * 1000) < 1e-6, `${r.points[0].predicted.ttftMs} vs ${prefill * 1000}`);
  // More clients only add waiting: TTFT and ITL do not fall, throughput rises.
  assert.ok(r.points[1].predicted.ttftMs >= r.points[0].predicted.ttftMs);
  assert.ok(r.points[1].predicted.itlMs >= r.points[0].predicted.itlMs);
  assert.ok(r.points[1].predicted.outputTokensPerSecond > r.points[0].predicted.outputTokensPerSecond);
  // The targets are the stated ratios of these numbers.
  assert.equal(r.itlAtOne.error, r.points[0].predicted.itlMs / 5 - 1);
  assert.equal(r.itlAtOne.met, Math.abs(r.itlAtOne.error) <= 0.25);
  assert.equal(r.saturation.met, r.saturation.error >= 0.5 && r.saturation.error <= 2);
});

test('predictPublishedCurve is bit-identical for a seed', () => {
  assert.deepEqual(predictPublishedCurve(small(), { seed: 7 }), predictPublishedCurve(small(), { seed: 7 }));
});

test('predictPublishedCurve falls back to the calibrated model where no kernel table holds the device and framework (data/kernels: b200_sxm has trtllm tables only)', () => {
  const r = predictPublishedCurve(small({ engine: 'sglang', hardware: 'b200' }), { seed: 1 });
  assert.equal(r.stepModelKind, 'calibrated');
  assert.match(r.stepModel, /calibrated model/);
});

test('predictPublishedCurve refuses bad options', () => {
  assert.throws(() => predictPublishedCurve(small(), { requestsPerClient: 1 }), (e: unknown) => e instanceof InputError && e.field === 'requestsPerClient');
  assert.throws(() => predictPublishedCurve(null as never), InputError);
});

test('publishedCurveTargets lists the four targets of a curve with the comparison\'s numbers', () => {
  const c = predictPublishedCurve(small(), { seed: 1 });
  const rows = publishedCurveTargets([c]);
  // N* of the hand-made points is 6.5625 (see above): concurrency 1 lies below it, so TTFT is a target.
  assert.equal(rows.length, 4);
  assert.deepEqual(rows.map((r) => r.tolerance), ['within 2×', '±25 %', '±25 %', '±50 %']);
  assert.equal(rows[2].published, 1200);
  assert.equal(rows[2].predicted, Math.max(...c.points.map((p) => p.predicted.outputTokensPerSecond)));
  assert.equal(rows[3].met, Math.abs(c.points[0].predicted.ttftMs / 20 - 1) <= 0.5);
  assert.throws(() => publishedCurveTargets(null as never), InputError);
});

test('predictPublishedCurve sizes the KV cache by the preset memory rule and says what bounds its plateau', () => {
  // trtllm: free_gpu_memory_fraction 0.9 of what the weights leave (serve.py @ 00209af1). llama-3.1-8b fp8 on
  // one h100-sxm: weights w of 80 · 2^30 bytes; device share 0.9 + 0.1 · w / (80 · 2^30) (closed form).
  const model = loadModel('llama-3.1-8b');
  const hw = loadHardware('h100-sxm');
  const precision = { weights: 'fp8', compute: 'fp8', activations: 'bf16', kvCache: 'bf16' } as const;
  const w = memoryFit(model, hw, { parallelism: { tp: 1 }, precision }, { batch: 0, context: 0 }).weightBytes;
  // Four clients of 512 + 32 tokens: the KV cache holds hundreds of requests and the batch limit is 2048, so the clients bind.
  const r = predictPublishedCurve(small({ points: [{ concurrency: 1, ttftMs: 20, itlMs: 5, outputTokensPerSecond: 190 }, { concurrency: 4, ttftMs: 30, itlMs: 6, outputTokensPerSecond: 600 }] }), { seed: 1 });
  assert.ok(Math.abs(r.plateau.memoryFraction - (0.9 + (0.1 * w) / (80 * 2 ** 30))) < 1e-12);
  assert.equal(r.plateau.kvCapacityTokens, kvCacheCapacity(model, hw, { parallelism: { tp: 1 }, precision, memoryFraction: r.plateau.memoryFraction }).tokens);
  // Reserve admission: prompt + output per request.
  assert.equal(r.plateau.kvBoundBatch, Math.floor(r.plateau.kvCapacityTokens / 544));
  assert.equal(r.plateau.maxBatch, 2048);
  assert.equal(r.plateau.concurrency, 4);
  assert.equal(r.plateau.limit, r.plateau.meanBatch >= 0.8 * 4 ? 'clients' : 'step time');
  // The published plateau's batch: 600 tok/s · 6 ms = 3.6 sequences (Little's law), which fits the device.
  assert.ok(Math.abs(r.plateau.publishedBatch - 3.6) < 1e-12);
  assert.equal(r.plateau.publishedConcurrency, 4);
  assert.equal(r.plateau.publishedBatchFit.fits, true);
});

test('predictPublishedCurve: clients sent together at t = 0 stay in lockstep, so TTFT at 8 clients is one step prefilling all 8 prompts', async () => {
  const { prefillAttentionPairs } = await import('../../lib/core/matmul.js');
  const r = predictPublishedCurve(small(), { seed: 1 });
  // One client: every request sent at its own instant, admitted alone.
  assert.deepEqual(r.points[0].grouping, { meanAdmitted: 1, requestsPerSendInstant: 1 });
  // 8 prompts of 512 tokens fit the trtllm preset's 8192-token step together: the first wave is one
  // group, it finishes together and resends together into an idle engine, every round.
  assert.deepEqual(r.points[1].grouping, { meanAdmitted: 8, requestsPerSendInstant: 8 });
  const step = perfStepCost(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { parallelism: { tp: 1 }, precision: { weights: 'fp8', compute: 'fp8', activations: 'bf16', kvCache: 'bf16' }, framework: 'trtllm' });
  const eight = step({ prefillTokens: 8 * 512, decodeTokens: 0, contextTokens: 0, prefillSequences: 8, prefillAttentionPairs: 8 * prefillAttentionPairs(512) });
  assert.ok(Math.abs(r.points[1].predicted.ttftMs - eight * 1000) < 1e-6, `${r.points[1].predicted.ttftMs} vs ${eight * 1000}`);
  // Counting the first wave too (genai-perf's default: no warm-up) changes nothing here: it is the same step.
  const withWave = predictPublishedCurve(small(), { seed: 1, warmupRequestsPerClient: 0 });
  assert.ok(Math.abs(withWave.points[1].predicted.ttftMs - eight * 1000) < 1e-6);
  assert.throws(() => predictPublishedCurve(small(), { requestsPerClient: 3, warmupRequestsPerClient: 3 }), (e: unknown) => e instanceof InputError && e.field === 'warmupRequestsPerClient');
});

test('checkPublishedCurve reads unsourcedEngineSettings as a list of distinct setting names, and predictPublishedCurve carries it', () => {
  const c = small({ unsourcedEngineSettings: ['max_num_tokens', 'KV cache dtype'] });
  assert.deepEqual(c.unsourcedEngineSettings, ['max_num_tokens', 'KV cache dtype']);
  assert.equal(small().unsourcedEngineSettings, undefined);
  const bad = (v: unknown, field: string) => assert.throws(() => small({ unsourcedEngineSettings: v }), (e: unknown) => e instanceof InputError && e.field === field, JSON.stringify(v));
  bad([], 'curve.unsourcedEngineSettings');
  bad('max_num_tokens', 'curve.unsourcedEngineSettings');
  bad(Array.from({ length: 33 }, (_, i) => `s${i}`), 'curve.unsourcedEngineSettings');
  bad(['max_num_tokens', ''], 'curve.unsourcedEngineSettings[1]');
  bad(['max_num_tokens', 7], 'curve.unsourcedEngineSettings[1]');
  bad(['max_num_tokens', 'max_num_tokens'], 'curve.unsourcedEngineSettings[1]');
  const r = predictPublishedCurve(c, { seed: 1 });
  assert.deepEqual(r.unsourcedEngineSettings, ['max_num_tokens', 'KV cache dtype']);
  // The comparison holds its own copy: changing it leaves the curve as read.
  r.unsourcedEngineSettings!.push('x');
  assert.deepEqual(c.unsourcedEngineSettings, ['max_num_tokens', 'KV cache dtype']);
});

test("the NIM curves: a KV cache narrower than 16 bits only with its source cited; every 16-bit KV cache of an FP8 curve says it is unsourced and lists the KV dtype among the unsourced engine settings", () => {
  const cs = readPublishedCurves(FILE);
  for (const c of cs) {
    const kv = c.precision.kvCache ?? 'bf16';
    if (DTYPE_BYTES[kv] < 2) {
      // A narrow cache names where its dtype was read (a checkpoint's kv_cache_quant_algo, a NIM profile's settings).
      assert.match(c.assumptions ?? '', /KV cache in (8|4) bits, sourced:/, c.id);
      assert.ok(!(c.unsourcedEngineSettings ?? []).includes('KV cache dtype'), c.id);
    } else if (c.precision.weights === 'fp8') {
      assert.match(c.assumptions ?? '', /KV cache in 16 bits, unsourced:/, c.id);
      assert.ok((c.unsourcedEngineSettings ?? []).includes('KV cache dtype'), c.id);
    }
  }
  // None of NIM's TensorRT-LLM scheduler settings is stated in the sources the file cites: each curve says so,
  // and its case text says the trtllm preset stands in for them.
  for (const c of cs) {
    assert.equal(c.engine, 'trtllm', c.id);
    for (const s of ['chunked prefill (TensorRT-LLM enable_chunked_context)', 'max_num_tokens', 'max_batch_size', 'capacity scheduler policy', 'KV cache memory fraction']) {
      assert.ok((c.unsourcedEngineSettings ?? []).includes(s), `${c.id}: ${s}`);
    }
    if (!c.id.startsWith('nim-1.5.0')) assert.match(c.assumptions ?? '', /trtllm preset \(trtllm-serve's defaults\); NIM's own TensorRT-LLM settings for these profiles are unsourced/, c.id);
  }
});
