import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel } from '../../lib/models/index.js';
import { uniformPrecision } from '../../lib/deployment/layout.js';
import { checkSlo, cheapestByBruteForce, deploymentFrontier, evaluateSearchPoint, evaluateSearchSpace, searchCheapestDeployment, searchSpaceSize } from '../../lib/deployment/search.js';
import type { SearchSpace } from '../../lib/deployment/search.js';
import { searchSpaceFromSpec, searchSweep } from '../../lib/deployment/spec.js';
import { specFramework } from '../../lib/batching/replica.js';
import type { SearchSpec } from '../../lib/deployment/spec.js';
import { DEFAULT_SERVING_ENGINE } from '../../lib/batching/engines.js';
import { candidateLayouts, denseVsMoe } from '../../lib/deployment/compare.js';
import { calibratedStepModel, kernelTableStepModel } from '../../lib/deployment/perf.js';
import { InputError } from '../../lib/util/errors.js';
import { mergeSweepShards, runSweepShard, sweepShardFileName, sweepSpecHash, writeSweepShard } from '../../lib/sweep/run.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const llama = loadModel('llama-3.1-70b');
const hardware = ['a100-80gb', 'h100-sxm', 'h200', 'mi300x'].map((id) => loadHardware(id));
const batches = Array.from({ length: 40 }, (_, i) => (i + 1) * 8);
const space: SearchSpace = {
  model: llama,
  hardware,
  layouts: candidateLayouts(llama),
  precisions: [uniformPrecision('bf16'), uniformPrecision('fp8')],
  batches,
  load: { requestsPerSecond: 20, promptTokens: 1500, outputTokens: 400 },
};

test('searchCheapestDeployment() equals the brute-force optimum on a 1,280-point grid, for several SLOs', () => {
  assert.equal(searchSpaceSize(space), 4 * 4 * 2 * 40);
  // A bad load is refused with the space, naming its field, before any point is priced.
  for (const [load, field] of [[{ ...space.load, requestsPerSecond: -1 }, 'load.requestsPerSecond'], [{ ...space.load, promptTokens: Number.NaN }, 'load.promptTokens']] as const) {
    assert.throws(() => searchSpaceSize({ ...space, load }), (e: unknown) => e instanceof InputError && e.field === field);
  }
  for (const slo of [{ tpotSeconds: 0.05 }, { tpotSeconds: 0.02, ttftSeconds: 0.5 }, { ttftSeconds: 0.2 }, { tpotSeconds: 0.01 }, {}]) {
    const brute = cheapestByBruteForce(space, slo);
    const { best, evaluated } = searchCheapestDeployment(space, slo);
    assert.deepEqual(best, brute, JSON.stringify(slo));
    // Configurations whose TTFT fails the SLO are skipped whole; every batch of the others is judged.
    assert.ok(slo.ttftSeconds === undefined ? evaluated <= searchSpaceSize(space) : evaluated < searchSpaceSize(space));
  }
  // Across a GEMM tile edge the load fills batch 193 but not 192 (the longer TPOT keeps more in flight): the batches a
  // load fills are no prefix, and a bisection answered batch 1 at $49.67 per million where brute force finds batch 193.
  const edge = searchSpaceFromSpec({ model: 'llama-3.1-70b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 2 }], precisions: ['fp8'], batches: [1, 192, 193, 512], load: { requestsPerSecond: 7.96, promptTokens: 2000, outputTokens: 500, cacheHitFraction: 0.3 }, framework: null });
  const pts = evaluateSearchSpace(edge);
  assert.ok(!pts[1].feasible && pts[2].feasible, `${pts[1].reason} / ${pts[2].reason}`);
  assert.equal(searchCheapestDeployment(edge, { tpotSeconds: 0.05 }).best?.index, cheapestByBruteForce(edge, { tpotSeconds: 0.05 })?.index);
  assert.equal(cheapestByBruteForce(edge, { tpotSeconds: 0.05 })?.batch, 193);
  // An impossible SLO: nothing meets it, by either method.
  assert.equal(searchCheapestDeployment(space, { tpotSeconds: 1e-6 }).best, null);
  assert.equal(cheapestByBruteForce(space, { tpotSeconds: 1e-6 }), null);
});

test('searchCheapestDeployment() equals brute force on random grids and SLOs (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 12 }),
      fc.double({ min: 0.003, max: 0.2, noNaN: true }),
      fc.double({ min: 0.02, max: 5, noNaN: true }),
      fc.integer({ min: 0, max: 3 }),
      (bs, tpot, ttft, h) => {
        const s: SearchSpace = { ...space, hardware: [hardware[h]], batches: [...bs].sort((a, b) => a - b) };
        const slo = { tpotSeconds: tpot, ttftSeconds: ttft };
        assert.deepEqual(searchCheapestDeployment(s, slo).best, cheapestByBruteForce(s, slo));
      },
    ),
    { numRuns: 40, seed: 15 },
  );
});

test('deploymentFrontier(): no frontier point is dominated by any feasible point, and every feasible point is dominated or on it', () => {
  const all = evaluateSearchSpace(space);
  const f = deploymentFrontier(all);
  assert.ok(f.length > 1);
  const feasible = all.filter((p) => p.feasible);
  const dominates = (a: typeof all[0], b: typeof all[0]): boolean =>
    a.tokensPerSecondPerUser >= b.tokensPerSecondPerUser && a.tokensPerSecondPerDevice >= b.tokensPerSecondPerDevice && (a.tokensPerSecondPerUser > b.tokensPerSecondPerUser || a.tokensPerSecondPerDevice > b.tokensPerSecondPerDevice);
  for (const p of f) assert.ok(!feasible.some((q) => dominates(q, p)));
  for (const q of feasible) assert.ok(f.includes(q) || f.some((p) => dominates(p, q) || (p.tokensPerSecondPerUser === q.tokensPerSecondPerUser && p.tokensPerSecondPerDevice === q.tokensPerSecondPerDevice)));
  // Sorted by tokens/s per user, ascending; tokens/s per device descending along it.
  for (let i = 1; i < f.length; i++) {
    assert.ok(f[i].tokensPerSecondPerUser >= f[i - 1].tokensPerSecondPerUser);
    assert.ok(f[i].tokensPerSecondPerDevice <= f[i - 1].tokensPerSecondPerDevice);
  }
});

test('evaluateSearchPoint(i) equals the i-th row of evaluateSearchSpace; infeasible points say why', () => {
  const all = evaluateSearchSpace(space);
  for (const i of [0, 17, 640, 1279]) assert.deepEqual(evaluateSearchPoint(space, i), all[i]);
  // Llama 70B in bf16 (141 GB) on one 80 GB A100 does not fit.
  const p = all.find((x) => x.hardware === 'a100-80gb' && x.layout === 0 && x.precision === 0)!;
  assert.equal(p.feasible, false);
  assert.match(p.reason!, /memory: short by/);
  // A100 has no fp8: every fp8 point on it is infeasible for its layout.
  assert.match(all.find((x) => x.hardware === 'a100-80gb' && x.precision === 1)!.reason!, /layout: .*dtype/);
  // At full batch a request costs its device-seconds × the hourly price; on the load, the
  // bill of the devices it needs over the requests it serves (closed forms).
  const ok = all.find((x) => x.feasible)!;
  const price = hardware.find((h) => h.id === ok.hardware)!.hourlyPriceUsd;
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  assert.ok(close(ok.usdPerMillionOutputFullBatch, ((ok.deviceSecondsPerRequest * price) / 3600 / space.load.outputTokens) * 1e6));
  assert.ok(close(ok.usdPerRequest, (ok.devicesNeeded * price) / 3600 / space.load.requestsPerSecond));
  assert.ok(ok.usdPerMillionOutput >= ok.usdPerMillionOutputFullBatch * (1 - 1e-12), 'idle slots never make a token cheaper');
});

test("evaluateSearchPoint(): Little's law sets the utilisation, and a batch the load cannot fill is not priced", () => {
  const load = { requestsPerSecond: 10, promptTokens: 1500, outputTokens: 400 };
  const s: SearchSpace = { ...space, hardware: [loadHardware('h100-sxm')], layouts: [{ ...candidateLayouts(llama)[0], tensorParallel: 8 }], precisions: [uniformPrecision('bf16')], batches: [1, 8, 32, 256], load };
  const pts = evaluateSearchSpace(s);
  for (const p of pts) {
    // Little's law: sequences in flight = arrival rate × time in the system (TTFT + output × TPOT).
    if (p.tpotSeconds === Infinity) continue;
    const inFlight = load.requestsPerSecond * (p.ttftSeconds + load.outputTokens * p.tpotSeconds);
    assert.ok(Math.abs(p.concurrency - inFlight) <= 1e-9 * inFlight);
    if (p.feasible) {
      assert.ok(p.utilisation > 0 && p.utilisation <= 1 + 1e-9, `utilisation ${p.utilisation}`);
      assert.ok(Math.abs(p.utilisation - p.concurrency / p.slots) < 1e-12);
    }
  }
  // 10 req/s of 400-token outputs at tens of ms per token keep far fewer than 256 sequences in flight.
  const big = pts[pts.length - 1];
  assert.equal(big.batch, 256);
  assert.equal(big.feasible, false);
  assert.match(big.reason!, /^load: 10 req\/s keeps [\d.]+ sequences in flight \(Little's law\), fewer than the 256 one serving unit holds at batch 256/);
  assert.ok(big.concurrency < 256);
  assert.ok(pts.some((p) => p.feasible), 'a smaller batch is filled');
  // The smallest batch is priced even when the load cannot fill it: 0.01 req/s still needs one unit.
  const light = evaluateSearchSpace({ ...s, load: { ...load, requestsPerSecond: 0.01 } });
  assert.ok(light[0].feasible && light[0].underfilled && light[0].concurrency < light[0].slots, 'batch 1 of a TP8 unit at 0.01 req/s: one unit, underfilled');
  assert.ok(pts.every((p) => !p.underfilled), 'at 10 req/s every priced batch is filled');
  assert.equal(light[0].devicesNeeded, 8);
  assert.ok(Math.abs(light[0].utilisation - light[0].concurrency / light[0].slots) < 1e-12);
  assert.equal(light[1].feasible, false, 'batch 8 holds still more idle slots: not priced');
});

test('an underfilled smallest batch is priced at the decode batch the load keeps (the fewest per rank that hold Little\'s law\'s sequences in flight), so a light load that meets the SLO is not refused', () => {
  // 0.05 req/s of 1,500 + 400 tokens on a TP8 H100 unit whose smallest batch is 64 per rank: the load keeps well under one sequence.
  const load = { requestsPerSecond: 0.05, promptTokens: 1500, outputTokens: 400 };
  const layout = { ...candidateLayouts(llama)[0], tensorParallel: 8 };
  const s: SearchSpace = { ...space, hardware: [loadHardware('h100-sxm')], layouts: [layout], precisions: [uniformPrecision('bf16')], batches: [64, 128], load };
  const [p, refused] = evaluateSearchSpace(s);
  assert.ok(p.feasible && p.underfilled);
  assert.ok(!refused.feasible && refused.loadBatch === 128, 'a refused batch keeps its own batch\'s figures');
  assert.equal(p.batch, 64);
  assert.equal(p.loadBatch, 1, 'about 0.05 × (TTFT + 400 × TPOT) < 1 sequence in flight on the unit\'s one attention rank');
  // The full batch's TPOT is what it was judged by before; the load's batch decodes faster.
  const full = evaluateSearchSpace({ ...s, load: { ...load, requestsPerSecond: 1000 } })[0];
  assert.equal(full.loadBatch, 64);
  assert.ok(p.tpotSeconds < full.tpotSeconds, `${p.tpotSeconds} < ${full.tpotSeconds}`);
  // Under the calibrated model (TPOT rises with the batch) the fewest that hold the load are exactly its sequences per rank, rounded up.
  const ranks = p.slots / p.batch;
  assert.ok(Math.abs(p.concurrency - load.requestsPerSecond * (p.ttftSeconds + load.outputTokens * p.tpotSeconds)) <= 1e-12 * p.concurrency);
  assert.equal(Math.max(1, Math.ceil(p.concurrency / ranks)), p.loadBatch);
  assert.ok(Math.abs(p.utilisation - p.concurrency / p.slots) < 1e-12);
  // An SLO between the two TPOTs: met at the load's batch (the search used to answer "no configuration").
  const slo = { tpotSeconds: (p.tpotSeconds + full.tpotSeconds) / 2 };
  assert.equal(searchCheapestDeployment(s, slo).best?.index, p.index);
  // A load of several sequences per rank: the batch is its own, between 1 and the smallest batch.
  const some = evaluateSearchSpace({ ...s, load: { ...load, requestsPerSecond: 0.5 } })[0];
  assert.ok(some.underfilled && some.loadBatch > 1 && some.loadBatch < 64, `${some.loadBatch}`);
  assert.equal(Math.max(1, Math.ceil(some.concurrency / (some.slots / some.batch))), some.loadBatch);
});

test('under measured kernel tables (TPOT need not rise with the batch) loadBatch holds what the load keeps in flight and no smaller batch does, and the search equals brute force', () => {
  // Rates from 0.01 to 3 req/s of 2,000 + 500 tokens on vLLM's and SGLang's H100 tables (data/kernels), TP2, smallest batch 64.
  for (const framework of ['vllm', 'sglang']) {
    const stepModel = kernelTableStepModel({ framework });
    for (let r = 0.01; r < 3; r *= 1.5) {
      const load = { requestsPerSecond: r, promptTokens: 2000, outputTokens: 500 };
      const s: SearchSpace = { ...space, hardware: [loadHardware('h100-sxm')], layouts: [{ ...candidateLayouts(llama)[0], tensorParallel: 2 }], precisions: [uniformPrecision('bf16')], batches: [64, 128], load, stepModel };
      const p = evaluateSearchPoint(s, 0);
      if (!p.underfilled) continue;
      const ranks = p.slots / p.batch;
      assert.ok(Math.ceil(p.concurrency / ranks - 1e-9) <= p.loadBatch, `${framework} ${r}: ${p.concurrency} in flight over ${ranks} ranks at batch ${p.loadBatch}`);
      // Priced at the slowest step of batches 1…loadBatch: never below a batch the load passes through.
      const tpots = Array.from({ length: p.loadBatch }, (_, i) => evaluateSearchPoint({ ...s, batches: [i + 1, 128], load: { ...load, requestsPerSecond: 1e4 } }, 0).tpotSeconds);
      assert.equal(p.tpotSeconds, Math.max(...tpots), `${framework} ${r}`);
      // Its tokens/s per device are loadBatch sequences per rank at that TPOT, as its column says (not the slowest batch's).
      assert.ok(Math.abs(p.tokensPerSecondPerDevice - (p.loadBatch * ranks * p.tokensPerSecondPerUser) / p.devicesNeeded) <= 1e-9 * p.tokensPerSecondPerDevice, `${framework} ${r}`);
      if (p.loadBatch > 1) {
        const smaller = evaluateSearchPoint({ ...s, batches: [p.loadBatch - 1, 128] }, 0);
        assert.ok(Math.ceil(smaller.concurrency / ranks - 1e-9) > p.loadBatch - 1 || !smaller.underfilled, `${framework} ${r}: batch ${p.loadBatch - 1} holds the load too`);
      }
    }
  }
  // vLLM's H100 rows, TP2, batches 1–16: some batch misses a TPOT limit of 28.5 ms that a larger one meets, so bisection
  // stopped at batch 5 ($10.13 per million) where brute force finds batch 12 ($4.49).
  const grid: SearchSpace = { ...space, hardware: [loadHardware('h100-sxm')], layouts: [{ ...candidateLayouts(llama)[0], tensorParallel: 2 }], precisions: [uniformPrecision('bf16')], batches: Array.from({ length: 16 }, (_, i) => i + 1), load: { requestsPerSecond: 20, promptTokens: 2000, outputTokens: 500, cacheHitFraction: 0.3 }, stepModel: kernelTableStepModel({ framework: 'vllm' }) };
  const pts = evaluateSearchSpace(grid);
  assert.ok(pts.some((p, i) => i > 0 && p.tpotSeconds < pts[i - 1].tpotSeconds), 'the measured rows price some batch below a smaller one');
  for (const tpot of [0.0285, 0.035]) {
    const brute = cheapestByBruteForce(grid, { tpotSeconds: tpot });
    assert.ok(brute);
    assert.equal(searchCheapestDeployment(grid, { tpotSeconds: tpot }).best?.index, brute.index, `TPOT ≤ ${tpot}`);
  }
});

test('kernelTableStepModel prices a device whose tables are other frameworks\' only (a100: trtllm) by the performance model and says so; a search over it is not refused', () => {
  const layout = { ...candidateLayouts(llama)[0], tensorParallel: 4 };
  const m = kernelTableStepModel({ framework: 'vllm' })(llama, loadHardware('a100-80gb'), layout, uniformPrecision('bf16'), 'decode');
  assert.match(m.label, /no vllm kernel tables for a100-80gb/);
  const calibrated = calibratedStepModel(llama, loadHardware('a100-80gb'), layout, uniformPrecision('bf16'), 'decode');
  const w = { prefillTokens: 0, decodeSequences: 8, decodeContext: 2048 };
  assert.equal(m.step(w).seconds, calibrated.step(w).seconds);
  const pts = evaluateSearchSpace({ ...space, hardware: [loadHardware('a100-80gb'), loadHardware('b200')], layouts: [layout], precisions: [uniformPrecision('bf16')], batches: [8, 16], stepModel: kernelTableStepModel({ framework: 'vllm' }) });
  assert.ok(pts.every((p) => !/^layout/.test(p.reason ?? '')), pts.map((p) => p.reason).join('; '));
  // Each point says what priced it: neither device has vllm tables (data/kernels), an h100-sxm point has them.
  for (const p of pts) assert.ok(p.pricedBy?.endsWith(`typical efficiency (TP4, bf16 weights, bf16 attention); no vllm kernel tables for ${p.hardware}`), p.pricedBy ?? 'null');
  const h100 = evaluateSearchSpace({ ...space, hardware: [loadHardware('h100-sxm')], layouts: [layout], precisions: [uniformPrecision('bf16')], batches: [8], stepModel: kernelTableStepModel({ framework: 'vllm' }) });
  assert.match(h100[0].pricedBy ?? '', /calibrated efficiency and vllm [\d.]+ kernel tables \(TP4/);
});

test('a search spec\'s precision may store its weights narrower than their math (compute): gpt-oss-120b\'s 4-bit weights with bf16 math is searched on an H200, which has no 4-bit peak', () => {
  const spec = { model: 'gpt-oss-120b', hardware: ['h200'], layouts: [{ tensorParallel: 1 }], precisions: [{ weights: 'nvfp4' as const, attention: 'bf16' as const, dispatch: 'bf16' as const, combine: 'bf16' as const, compute: 'bf16' as const }], batches: [8, 32], load: { requestsPerSecond: 2, promptTokens: 1000, outputTokens: 200 } };
  const space = searchSpaceFromSpec(spec);
  assert.equal(space.precisions[0].compute, 'bf16');
  const p = evaluateSearchPoint(space, 0);
  assert.ok(p.feasible, p.reason ?? '');
  assert.match(p.pricedBy ?? '', /nvfp4 weights \(bf16 math\)/);
  // Without compute the math would be 4-bit, which the device cannot run: no layout is valid.
  const { compute: _, ...fourBit } = spec.precisions[0];
  assert.match(evaluateSearchPoint(searchSpaceFromSpec({ ...spec, precisions: [fourBit] }), 0).reason ?? '', /no nvfp4 peak/);
});

test('bad search input is an InputError naming the field', () => {
  assert.throws(() => searchSpaceSize({ ...space, batches: [8, 4] }), (e: unknown) => e instanceof InputError && e.field === 'batches[1]');
  // A device priced at nothing would win every search; a request past the model's context (llama-3.1-8b: 131,072) is no deployment's.
  assert.throws(() => searchSpaceSize({ ...space, hardware: [loadHardware('h100-sxm'), { ...loadHardware('h200'), hourlyPriceUsd: 0 }] }), (e: unknown) => e instanceof InputError && e.field === 'hardware[1].hourlyPriceUsd');
  assert.throws(() => searchSpaceSize({ ...space, model: loadModel('llama-3.1-8b'), load: { ...space.load, promptTokens: 200_000 } }), (e: unknown) => e instanceof InputError && e.field === 'load.promptTokens' && /131,072 tokens/.test(e.message));
  assert.throws(() => evaluateSearchPoint({ ...space, load: { ...space.load, requestsPerSecond: 0 } }, 0), (e: unknown) => e instanceof InputError && e.field === 'load.requestsPerSecond');
  assert.throws(() => searchCheapestDeployment(space, { tpotSeconds: -1 }), (e: unknown) => e instanceof InputError && e.field === 'slo.tpotSeconds');
  assert.throws(() => searchSpaceFromSpec({ model: 'llama-3.1-70b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 1 }], precisions: ['bf17' as never], batches: [1], load: space.load }), (e: unknown) => e instanceof InputError && e.field === 'precisions[0]');
  // A layout count out of every range is the spec's error, not a layout left "not searched" (it ran with exit 0).
  const spec = (layout: Record<string, unknown>) => ({ model: 'llama-3.1-70b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 2 }, layout], precisions: ['bf16' as const], batches: [1], load: space.load });
  for (const [layout, field] of [[{ tensorParallel: 0 }, 'layouts[1].tensorParallel'], [{ tensorParallel: 1e308 }, 'layouts[1].tensorParallel'], [{}, 'layouts[1].tensorParallel'], [{ tensorParallel: 2, pipelineParallel: 1.5 }, 'layouts[1].pipelineParallel'], [{ tensorParallel: 2, redundantExperts: -1 }, 'layouts[1].redundantExperts']] as const) {
    assert.throws(() => searchSpaceFromSpec(spec(layout) as never), (e: unknown) => e instanceof InputError && e.field === field, JSON.stringify(layout));
  }
  // One the model rules out stays a layout the search reports (TP3 does not divide 64 heads).
  assert.equal(searchSpaceFromSpec(spec({ tensorParallel: 3 }) as never).layouts[1].tensorParallel, 3);
});

test('denseVsMoe(): each question answered for both models; MTP raises per-user speed, prefix caching lowers cost', () => {
  const r = denseVsMoe({
    dense: llama,
    moe: loadModel('deepseek-v3'),
    hardware: loadHardware('h800'),
    load: { requestsPerSecond: 50, promptTokens: 2000, outputTokens: 500 },
    tokensPerSecondPerUser: 20,
    speculative: { draftTokens: 1, acceptance: 0.85 },
    cacheHitFraction: 0.563,
    maxBatch: 256,
  });
  for (const m of ['llama-3.1-70b', 'deepseek-v3']) {
    const rows = r.rows.filter((x) => x.model === m);
    assert.equal(rows.length, 5);
    const base = rows[1];
    const mtp = rows[3];
    const cached = rows[4];
    assert.ok(base.tokensPerSecondPerUser >= 20);
    assert.ok(mtp.usdPerMillionOutput <= base.usdPerMillionOutput);
    assert.ok(cached.usdPerMillionOutput <= base.usdPerMillionOutput);
    assert.ok(r.frontiers[m].length > 0);
  }
});

test('a search precision with an FP8 KV cache: kept by searchSpaceFromSpec, fits batches the bf16 cache cannot, and reaches the simulated rank', async () => {
  const { simulateSearchPoint } = await import('../../lib/deployment/serve.js');
  const { perfDeviceStepModel } = await import('../../lib/deployment/perf.js');
  const { maxSequencesThatFit } = await import('../../lib/deployment/pool.js');
  const { searchDecodeContext } = await import('../../lib/deployment/search.js');
  const load = { requestsPerSecond: 200, promptTokens: 2000, outputTokens: 500 };
  const fromSpec = (precisions: never[]) => searchSpaceFromSpec({ model: 'llama-3.1-70b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 4 }], precisions, batches: { pow2: 1024 }, load });
  const s = fromSpec(['bf16', { weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'fp8' }] as never[]);
  assert.equal(s.precisions[1].kvCache, 'fp8');
  assert.equal(s.precisions[0].kvCache, undefined);
  const points = evaluateSearchSpace(s);
  const B = s.batches.length;
  const fitsAt = (p: number) => points.slice(p * B, (p + 1) * B).filter((x) => !x.reason?.startsWith('memory')).map((x) => x.batch);
  // The largest power of two at most maxSequencesThatFit (its closed form is in step.test.ts) at the search's
  // context (2000 prompt + 500 / 2 output tokens): Llama-3.1-70B on 4 H100s holds 274 sequences per rank with
  // the bf16 cache and 548 with the fp8 one, so batch 512 fits with the fp8 cache only.
  const ctx = searchDecodeContext(s.load);
  assert.equal(ctx, 2250);
  const pow2Below = (n: number): number => 2 ** Math.floor(Math.log2(n));
  const most = s.precisions.map((p) => maxSequencesThatFit(perfDeviceStepModel(llama, s.hardware[0], s.layouts[0], p), ctx));
  assert.ok(most[1] >= 2 * most[0], `${most}`);
  assert.equal(Math.max(...fitsAt(0)), pow2Below(most[0]));
  assert.equal(Math.max(...fitsAt(1)), pow2Below(most[1]));
  assert.equal(pow2Below(most[1]), 2 * pow2Below(most[0]));
  // The same precision with kvCache equal to attention is the default, point for point.
  const same = fromSpec([{ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'bf16' }] as never[]);
  assert.deepEqual(evaluateSearchSpace(same), points.slice(0, B));
  const best = points.slice(B).filter((p) => p.feasible).at(-1)!;
  const sim = simulateSearchPoint(s, best, { requests: 100 }, 1);
  assert.match(sim.result.provenance.cost, /fp8 KV cache/);
  assert.throws(() => fromSpec([{ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'fp7' }] as never[]), (e: unknown) => e instanceof InputError && e.field === 'precision.kvCache');
});

test('one search spec is checked alike for search and sweep: a cache-hit fraction of 1 and a negative SLO are refused by field (sweep took both)', () => {
  const spec = { model: 'llama-3.1-8b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16' as const], batches: [1], load: { requestsPerSecond: 1, promptTokens: 1000, outputTokens: 100 } };
  // deploy refuses --cache-hit 1 ("a number in [0, 1)"): the search line it would print could not be run.
  assert.throws(() => evaluateSearchPoint(searchSpaceFromSpec({ ...spec, load: { ...spec.load, cacheHitFraction: 1 } }), 0), (e: unknown) => e instanceof InputError && e.field === 'load.cacheHitFraction' && /\[0, 1\)/.test(e.message));
  assert.equal(evaluateSearchPoint(searchSpaceFromSpec({ ...spec, load: { ...spec.load, cacheHitFraction: 0.99 } }), 0).feasible, true);
  assert.throws(() => searchSpaceFromSpec({ ...spec, slo: { ttftSeconds: -1 } }), (e: unknown) => e instanceof InputError && e.field === 'slo.ttftSeconds');
  assert.deepEqual(checkSlo({ tpotSeconds: 0.05 }), { ttftSeconds: undefined, tpotSeconds: 0.05 });
});

test('searchSweep(): its shards describe every row field (columns), as a serving sweep\'s do', () => {
  const def = searchSweep({ model: 'llama-3.1-8b', hardware: ['h100-sxm', 'mi300x'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16'], batches: [1, 8], load: { requestsPerSecond: 1, promptTokens: 1000, outputTokens: 100 } });
  assert.deepEqual(Object.keys(def.columns!).sort(), Object.keys(def.point(0)).sort());
  // A spec that names no framework is priced from the default engine's (vllm's) tables, and its columns say so.
  assert.match(def.columns!.tpotSeconds, /seconds, priced from vllm's measured kernel tables \(data\/kernels\) where they hold the row's hardware and op, else the performance model's, calibrated where the row's hardware has a calibration, else typical; null/);
  const modelOnly = searchSweep({ ...def.spec as SearchSpec, framework: null });
  assert.match(modelOnly.columns!.tpotSeconds, /^time per output token at loadBatch, seconds, the performance model's, calibrated/);
  // The columns follow the pricing: h100-sxm's point differs with the tables, mi300x's (no vllm folder) does not.
  assert.notEqual(def.point(0).tpotSeconds, modelOnly.point(0).tpotSeconds);
  assert.equal(def.point(2).hardware, 'mi300x');
  assert.equal(def.point(2).tpotSeconds, modelOnly.point(2).tpotSeconds);
});

test('searchSweep(): shards of a spec that leaves out framework and of the same spec naming the default engine merge (the hash is of the spec as priced)', async () => {
  const spec: SearchSpec = { model: 'llama-3.1-8b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 1 }], precisions: ['bf16'], batches: [1, 8], load: { requestsPerSecond: 1, promptTokens: 1000, outputTokens: 100 } };
  const implicit = searchSweep(spec);
  const named = searchSweep({ ...spec, framework: DEFAULT_SERVING_ENGINE });
  assert.equal(sweepSpecHash(implicit.spec), sweepSpecHash(named.spec));
  // The model alone prices other rows: its shards must not merge with these.
  assert.notEqual(sweepSpecHash(searchSweep({ ...spec, framework: null }).spec), sweepSpecHash(implicit.spec));
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-merge-'));
  const a = join(dir, sweepShardFileName({ index: 0, count: 2 }));
  const b = join(dir, sweepShardFileName({ index: 1, count: 2 }));
  await writeSweepShard(a, runSweepShard(implicit, { index: 0, count: 2 }));
  await writeSweepShard(b, runSweepShard(named, { index: 1, count: 2 }));
  // Through JSON, as a single-process shard file is written (an infeasible row's Infinity reads back as null).
  assert.deepEqual(mergeSweepShards([a, b]).rows, JSON.parse(JSON.stringify(runSweepShard(implicit, { index: 0, count: 1 }).rows)));
});

test('specFramework(): the default engine\'s (vllm) without a field, null for the model alone, a held framework, else an InputError naming framework', () => {
  assert.equal(DEFAULT_SERVING_ENGINE, 'vllm');
  assert.equal(specFramework({}), 'vllm');
  assert.equal(specFramework({ framework: null }), null);
  assert.equal(specFramework({ framework: 'trtllm' }), 'trtllm');
  assert.throws(() => specFramework({ framework: 'torch' }), (e: unknown) => e instanceof InputError && e.field === 'framework');
});
