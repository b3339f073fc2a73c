import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { meanContextInFlight, publishedCaseLengthMoments, publishedCases, publishedGridCases, publishedGridComparisons, checkPublishedGrid, predictPublishedCase, publishedCaseLoadFactor, publishedCasePromptMix, checkPublishedCase, calibratedMatmulCost, publishedComparisons, publishedComparisonNotes, stepTime as stepTimeOf, publishedMethodRows, publishedMethodSummary, publishedMethodTable, publishedCaseTables } from '../../lib/roofline/index.js';
import type { PublishedCase, PublishedMethodRow } from '../../lib/roofline/index.js';
import { InputError } from '../../lib/util/errors.js';
import { prefillAttentionPairs } from '../../lib/core/matmul.js';
import { loadModel, paramCounts } from '../../lib/models/index.js';
import type { StepWork } from '../../lib/core/types.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { calibrationFromJson } from '../../lib/perf/index.js';
import { loadServingTrace, parseServingTrace, traceLengthMoments } from '../../lib/batching/index.js';

// predictPublishedCase without a framework is the calibrated model's: the steps set beside it here are too (framework null).
const stepTime: typeof stepTimeOf = (m, h, c, w) => stepTimeOf(m, h, { framework: null, ...c }, w);

// The cases batchlab's calibrated model was built beside (DeepSeek's and SGLang's systems on Hopper); TensorRT-LLM's dense tables (next test) are held out.

test('predictPublishedCase(): every published serving throughput beside its prediction (printed); capacity cases within ±25 %, none off by 2×', () => {
  const cases = publishedCases().filter((c) => !c.heldOut);
  // data/published: DeepSeek's day (2 production cases built from its figures), DeepSeek's profile (2, as LMSYS derived them),
  // LMSYS's SGLang runs (3 prefill + 1 perfect-EPLB prefill + 2 decode, one with simulated MTP), TensorRT-LLM's DeepSeek-R1 throughput run on 8×H200.
  assert.deepEqual(cases.map((c) => c.id), [
    'deepseek-prefill', 'deepseek-decode', 'deepseek-profile-prefill', 'deepseek-profile-decode',
    'lmsys-prefill-1k', 'lmsys-prefill-2k', 'lmsys-prefill-4k', 'lmsys-prefill-4k-perfect-eplb', 'lmsys-decode-2k',
    'lmsys-decode-4k-mtp', 'trtllm-r1-h200',
  ]);
  const rows = cases.map((c) => {
    assert.ok(c.source.length > 20 && c.published.value > 0, c.id);
    const p = predictPublishedCase(c);
    return { case: c.id, published: p.published, predicted: Math.round(p.predicted), 'error %': +(p.error * 100).toFixed(1), bound: p.step.bound, 'seqs/GPU': p.sequencesPerDevice ?? '' };
  });
  console.table(rows);
  const within = rows.filter((r) => Math.abs(r['error %']) <= 25).length;
  console.log(`${within} of ${rows.length} published cases within ±25 %`);
  // A calibrated model that misses a real system by 2× or more has lost a term or a unit.
  for (const r of rows) assert.ok(Math.abs(Math.log(r.predicted / r.published)) < Math.log(2), `${r.case}: ${r['error %']} %`);
  // Target: every published case within ±25 %. SGLang's 2K decode missed it (+30.1 %) while its stated EPLB was priced as
  // balanced experts; at EPLB's load factor from the placement model (1.18 at EP72, 256 experts on 72 GPUs) it reads +23.9 %
  // (bench/kernel-db-published.ts, calibrated column). The prefill day rests on an assumption, that DeepSeek's prompt lengths
  // spread like those of Mooncake's production trace (data/traces); its prediction with every prompt alike is printed by the next test.
  for (const r of rows) assert.ok(Math.abs(r['error %']) <= 25, `${r.case}: ${r['error %']} %`);
});

test("predictPublishedCase(): DeepSeek's prefill day in prompts whose lengths spread like a production trace's costs more attention per computed token than prompts all alike", () => {
  const c = publishedCases().find((x) => x.id === 'deepseek-prefill')!;
  assert.equal(c.promptMix, 'mooncake-conversation-prompts');
  const mix = publishedCasePromptMix(c)!;
  // FAST25-release/README.md: the conversation trace's mean input is 12,035 tokens; scaled to the case's 4,096 with the day's 56.3 % of every prompt cached.
  assert.equal(Math.round(mix.original.meanPromptTokens), 12035);
  assert.ok(Math.abs(mix.stats.meanPromptTokens - 4096) < 1e-6 && Math.abs(mix.stats.cacheHitFraction - 0.563) < 1e-9);
  assert.ok(Math.abs(mix.stats.meanComputedTokens - 4096 * (1 - 0.563)) < 1e-6);
  assert.equal(mix.scaling.hits, 'proportional');
  // Keys per computed token grow with the square of a prompt's length (convex, Jensen): a spread mix sees more than the mean prompt does.
  const alikePairs = prefillAttentionPairs(mix.stats.meanComputedTokens, c.cachedTokens!) / mix.stats.meanComputedTokens;
  assert.ok(mix.stats.attentionPairsPerComputedToken > alikePairs);
  const withMix = predictPublishedCase(c);
  const alike = predictPublishedCase({ ...c, promptMix: undefined });
  assert.ok(withMix.predicted < alike.predicted);
  console.log(`DeepSeek prefill day: ${Math.round(mix.stats.attentionPairsPerComputedToken)} keys per computed token (${(mix.stats.attentionPairsPerComputedToken / alikePairs).toFixed(2)}× alike); predicted ${(withMix.error * 100).toFixed(1)} % with the mix, ${(alike.error * 100).toFixed(1)} % alike`);
  // Only attention changes: the linear layers see the same tokens.
  assert.equal(withMix.step.breakdown.gemmSeconds, alike.step.breakdown.gemmSeconds);
  assert.ok(withMix.step.breakdown.attentionSeconds > alike.step.breakdown.attentionSeconds);
});

test('published cases: a prompt mix that is not shipped, or on a phase that has no prompts to price, is refused naming the case field', () => {
  const c = publishedCases().find((x) => x.id === 'deepseek-prefill')!;
  assert.throws(() => predictPublishedCase({ ...c, promptMix: 'no-such-mix' }), /promptMix/);
  const file = JSON.parse(readFileSync(new URL('../../data/published/lmsys-2025-large-scale-ep.json', import.meta.url), 'utf8'));
  const prefill = file.cases[0];
  const decode = file.cases.at(-1);
  assert.equal(checkPublishedCase({ ...prefill, promptMix: 'mooncake-conversation-prompts' }, { source: file.source }).promptMix, 'mooncake-conversation-prompts');
  assert.throws(() => checkPublishedCase({ ...prefill, promptMix: 'no-such-mix' }, { where: 'x', source: file.source }), /x\.promptMix.*mooncake-conversation-prompts/);
  assert.throws(() => checkPublishedCase({ ...decode, promptMix: 'mooncake-conversation-prompts' }, { where: 'x', source: file.source }), /x\.promptMix.*only prefill/);
  // A case with no source of its own and none given is refused: every figure names where it was published.
  assert.throws(() => checkPublishedCase({ ...prefill, source: undefined }), /case\.source/);
});

test('predictPublishedCase(): an offline case is the steady state of continuous batching: output per step = sequences in flight, prompts replace finished requests', () => {
  const c = publishedCases().find((x) => x.id === 'trtllm-r1-h200')!;
  // TensorRT-LLM's run: concurrency 1,024 over 8 GPUs, 1,024-token inputs, 2,048-token outputs.
  assert.deepEqual([c.sequencesPerDevice, c.promptTokens, c.outputTokens, c.devices], [128, 1024, 2048, 8]);
  const p = predictPublishedCase(c);
  const seqs = 128 * 8;
  // 1,024 / 2,048 = 0.5 requests finish per step and as many whole 1,024-token prompts are
  // prefilled: the mean step holds half of one prompt (prefillSequences 0.5, not a whole 1).
  const work: StepWork = { prefillTokens: (seqs / 2048) * 1024, decodeTokens: seqs, contextTokens: seqs * (1024 + 2047 / 2), prefillSequences: seqs / 2048, prefillAttentionPairs: (seqs / 2048) * ((1024 * 1025) / 2) };
  const step = stepTime(loadModel('deepseek-v3'), loadHardware('h200'), { parallelism: { devicesPerNode: 8, ...c.parallelism }, precision: c.precision, checkMemory: false }, work);
  // One node of 8 GPUs: output tokens/s per node = sequences in flight / step interval.
  assert.ok(Math.abs(p.predicted - seqs / step.intervalSeconds) < 1e-9 * p.predicted);
  // Half the concurrency amortises the weights over half the tokens: less output per GPU.
  assert.ok(predictPublishedCase({ ...c, sequencesPerDevice: 64 }).predicted < p.predicted);
  // A concurrency whose KV cache cannot fit is refused with the shortfall, not priced.
  assert.throws(() => predictPublishedCase({ ...c, sequencesPerDevice: 4096 }), /memory/);
  assert.throws(() => predictPublishedCase({ ...c, sequencesPerDevice: undefined }), /sequencesPerDevice|integer/);
  // Cases built in code get the same clear errors as files: no TypeError, no NaN error.
  assert.throws(() => predictPublishedCase(null as never), /case/);
  assert.throws(() => predictPublishedCase({ ...c, published: { value: -1, unit: c.published.unit } }), /case\.published\.value/);
  assert.throws(() => predictPublishedCase({ ...c, phase: 'train' as never }), /case\.phase/);
});

test('predictPublishedCase(): an offline run of a stated number of requests issued at once is its full batches in steady state and then the remainder alone; a batch sized by the KV tokens its log states', () => {
  const all = publishedCases();
  const c = all.find((x) => x.id === 'trtllm-bench-llama70b-h100-tp8-128-2048')!;
  // github.com/shaamil101-etched/trtllm-benchmarks, results/result_128_2048_3000.txt (commit aeec9f29): 'max tokens in paged KV
  // cache (2730752)', 64 tokens per block, 'Max Runtime Batch Size: 2048', 'Number of requests: 3000'. 3,000 requests of
  // 128 + 2,048 tokens = 34 blocks: floor(42,668 / 34) = 1,254 at a time, so two full batches and 492 alone.
  assert.deepEqual([c.requests, c.concurrency?.kvCacheTokens, c.concurrency?.kvTokensPerBlock, c.concurrency?.maxBatchSize], [3000, 2730752, 64, 2048]);
  const f = { framework: 'trtllm' as const };
  const p = predictPublishedCase(c, f);
  assert.equal(p.sequencesPerDevice! * c.devices, Math.floor(2730752 / 2176));
  const steady = predictPublishedCase({ ...c, requests: undefined }, f);
  const rest = predictPublishedCase({ ...c, requests: undefined, concurrency: { ...c.concurrency!, maxBatchSize: 3000 - 2 * 1254 } }, f);
  // Output tokens/s of the run = requests / (2 · t(1,254) + t(492)), each t a steady step; t(b) = b / steady rate at b.
  const t = (rate: number, b: number) => b / rate;
  const expected = 3000 / (2 * t(steady.predicted, 1254) + t(rest.predicted, 492));
  assert.ok(Math.abs(p.predicted / expected - 1) < 1e-9, `${p.predicted} vs ${expected}`);
  // The smaller last batch amortises the weights over fewer tokens: the run is slower than its steady state, and a
  // whole number of batches is the steady state exactly.
  assert.ok(p.predicted < steady.predicted);
  assert.ok(Math.abs(predictPublishedCase({ ...c, requests: 2 * 1254 }, f).predicted / steady.predicted - 1) < 1e-12);
  // Without the log's tokens the memory model sizes the batch (its own estimate: no engine's runtime buffers).
  const { kvCacheTokens: _, ...rule } = c.concurrency!;
  assert.ok(predictPublishedCase({ ...c, concurrency: rule }, f).sequencesPerDevice! > p.sequencesPerDevice!);
  // Blocks, not tokens: 1000 + 1000 tokens take 32 blocks of 64 (2,048 tokens), so 42,668 blocks hold 1,333 of them, not 1,365.
  assert.equal(predictPublishedCase({ ...c, promptTokens: 1000, outputTokens: 1000 }, f).sequencesPerDevice! * c.devices, Math.floor(42668 / 32));
  // Fewer requests than the engine admits run as one batch of them all, priced at its own step.
  const few = predictPublishedCase({ ...c, requests: 500 }, f);
  assert.equal(few.sequencesPerDevice! * c.devices, 500);
  const steady500 = predictPublishedCase({ ...c, requests: undefined, concurrency: { ...c.concurrency!, maxBatchSize: 500 } }, f);
  assert.ok(Math.abs(few.predicted / steady500.predicted - 1) < 1e-12 && few.predicted < steady.predicted);
  // Cases built in code get the same clear errors as files: no NaN from zero requests, no sequence larger than the stated cache.
  assert.throws(() => predictPublishedCase({ ...c, requests: 0 }, f), /case\.requests/);
  assert.throws(() => predictPublishedCase({ ...c, concurrency: { ...c.concurrency!, kvCacheTokens: 1000 } }, f), /case\.concurrency\.kvCacheTokens/);
  // Fields a case may not carry, or carries out of range, are refused by name.
  const raw = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
  assert.throws(() => checkPublishedCase({ ...raw, requests: 0 }), /case\.requests/);
  assert.throws(() => checkPublishedCase({ ...raw, requests: 2.5 }), /case\.requests/);
  assert.throws(() => checkPublishedCase({ ...raw, concurrency: { ...c.concurrency, kvCacheTokens: -1 } }), /case\.concurrency\.kvCacheTokens/);
  assert.throws(() => checkPublishedCase({ ...raw, concurrency: { ...c.concurrency, kvTokensPerBlock: 0 } }), /case\.concurrency\.kvTokensPerBlock/);
  const { kvCacheTokens: __, ...noTokens } = c.concurrency!;
  assert.throws(() => checkPublishedCase({ ...raw, concurrency: noTokens }), /kvTokensPerBlock.*kvCacheTokens/);
  const dec = all.find((x) => x.id === 'deepseek-profile-decode')!;
  assert.throws(() => checkPublishedCase({ ...JSON.parse(JSON.stringify(dec)), requests: 10 }), /case\.requests.*offline/);
});

test('predictPublishedCase(): an offline case of many request lengths is priced over their moments; MAX_UTILIZATION fills the KV cache at the mean tokens in flight; instances multiply', () => {
  // Two requests, (P, O) = (100, 10) and (300, 30): E[P·O] = 5,000, E[O²] = 500, E[O] = 20. A decoding sequence's context,
  // counted step by step: 100…109 and 300…329, 10,480 tokens over 40 steps = 262 = (5,000 + (500 − 20) / 2) / 20.
  const two = traceLengthMoments(parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,100,10\n0,300,30\n'));
  assert.deepEqual(two, { prompt: 200, output: 20, outputSquare: 500, promptTimesOutput: 5000, prefillAttentionPairs: (prefillAttentionPairs(100) + prefillAttentionPairs(300)) / 2 });
  assert.equal(meanContextInFlight(two), 262);
  // Requests all alike: P + (O − 1) / 2, the steady state of a fixed-length benchmark.
  assert.equal(meanContextInFlight(traceLengthMoments(parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,128,2048\n'))), 128 + 2047 / 2);
  assert.throws(() => traceLengthMoments({ timestamps: new Float64Array(0), promptTokens: new Int32Array(0), outputTokens: new Int32Array(0), source: 'x' }), /trace/);

  // data/published/mlperf-inference-llama2-70b-nvidia.json: every case's moments are those of the trace it names, as shipped.
  const ml = publishedCases().filter((c) => c.file === 'mlperf-inference-llama2-70b-nvidia');
  assert.equal(ml.length, 4);
  const trace = loadServingTrace(join(import.meta.dirname, '../../data/traces/mlperf-llama2-70b-openorca.csv'));
  const shipped = traceLengthMoments(trace);
  // mlcommons/inference language/llama2-70b/processorca.py: --num_total_samples=24576, prompts and answers under 1,024 tokens.
  assert.equal(trace.promptTokens.length, 24576);
  for (const c of ml) {
    for (const k of Object.keys(shipped) as Array<keyof typeof shipped>) assert.ok(Math.abs(c.lengths!.moments[k] / shipped[k] - 1) < 1e-12, `${c.id} ${k}`);
    // Outputs scaled to the run's mean (accuracy.txt gen_tok_len / 24,576): E[O] moves to it, E[O²] by its square.
    const m = publishedCaseLengthMoments(c);
    const s = c.lengths!.meanOutputTokens / shipped.output;
    assert.ok(Math.abs(m.output - c.lengths!.meanOutputTokens) < 1e-9 && Math.abs(m.outputSquare / (s * s * shipped.outputSquare) - 1) < 1e-12 && Math.abs(m.promptTimesOutput / (s * shipped.promptTimesOutput) - 1) < 1e-12);
    assert.equal(c.concurrency?.kind, 'max-utilization');
  }
  const h100 = ml.find((c) => c.id === 'mlperf-v41-llama2-70b-h100x8-offline')!;
  // v4.1 configs/llama2-70b/Offline/__init__.py: H100_SXM_80GB_TP2x1 gpu_batch_size 896, tensor_parallelism 2; four engines on 8 GPUs.
  assert.deepEqual([h100.concurrency?.maxBatchSize, h100.parallelism.tp, h100.instances, h100.devices], [896, 2, 4, 2]);
  const f = { framework: 'trtllm' as const };
  const one = predictPublishedCase({ ...h100, instances: undefined }, f);
  assert.ok(Math.abs(predictPublishedCase(h100, f).predicted / one.predicted - 4) < 1e-12);

  // The identity: moments of one length price exactly as the case without them.
  const base = publishedCases().find((x) => x.id === 'trtllm-llama70b-h100-tp2-1000-1000')!;
  const { requests: _, ...steadyBase } = base;
  const alike = { ...steadyBase, concurrency: { ...steadyBase.concurrency!, kind: 'max-utilization' as const } };
  const asMoments = { ...alike, lengths: { trace: 'one-length', moments: traceLengthMoments(parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,1000,1000\n')), meanOutputTokens: 1000, source: 'written here' } };
  const a = predictPublishedCase(alike, f);
  const b = predictPublishedCase(asMoments, f);
  assert.equal(b.sequencesPerDevice, a.sequencesPerDevice);
  assert.ok(Math.abs(b.predicted / a.predicted - 1) < 1e-12);
  // MAX_UTILIZATION holds each sequence at its mean tokens in flight, 1,000 + 999 / 2 + 1 → 1,501, where GUARANTEED_NO_EVICT
  // reserves the whole 2,000: with the log's KV tokens stated, floor(150,000 / 1,501) = 99 against floor(150,000 / 2,000) = 75.
  const stated = (kind: 'max-utilization' | 'guaranteed-no-evict') => predictPublishedCase({ ...alike, concurrency: { ...alike.concurrency, kind, kvCacheTokens: 150000, maxBatchSize: 4096 } }, f).sequencesPerDevice! * alike.devices;
  assert.deepEqual([stated('max-utilization'), stated('guaranteed-no-evict')], [99, 75]);
  // GUARANTEED_NO_EVICT reserves each request's maximum output, which many lengths do not state: refused, not guessed.
  assert.throws(() => predictPublishedCase({ ...asMoments, concurrency: { ...alike.concurrency, kind: 'guaranteed-no-evict' } }, f), /case\.concurrency\.kind/);

  // Fields out of place or out of range are refused by name.
  const raw = JSON.parse(JSON.stringify(h100)) as Record<string, unknown> & { lengths: { moments: Record<string, number> } };
  assert.throws(() => checkPublishedCase({ ...raw, requests: 1000 }), /case\.lengths/);
  assert.throws(() => checkPublishedCase({ ...raw, promptTokens: 300 }), /case\.promptTokens/);
  assert.throws(() => checkPublishedCase({ ...raw, outputTokens: 200 }), /case\.outputTokens/);
  assert.throws(() => checkPublishedCase({ ...raw, lengths: { ...raw.lengths, moments: { ...raw.lengths.moments, outputSquare: 100 } } }), /case\.lengths\.moments\.outputSquare/);
  assert.throws(() => checkPublishedCase({ ...raw, lengths: { ...raw.lengths, moments: { ...raw.lengths.moments, prompt: Number.NaN } } }), /case\.lengths\.moments\.prompt/);
  assert.throws(() => checkPublishedCase({ ...raw, lengths: { ...raw.lengths, trace: '../etc/passwd' } }), /case\.lengths\.trace/);
  assert.throws(() => checkPublishedCase({ ...raw, instances: 0 }), /case\.instances/);
  assert.throws(() => predictPublishedCase({ ...h100, instances: 1.5 }, f), /case\.instances/);
  const latency = publishedCases().find((x) => x.phase === 'latency')!;
  assert.throws(() => checkPublishedCase({ ...JSON.parse(JSON.stringify(latency)), instances: 2 }), /case\.instances/);
});

test('publishedGridCases(): a source\'s whole grid of runs holds every case taken from it, figure for figure; a bad grid or row is refused by name', () => {
  const file = 'trtllm-benchmarks-2025-llama70b-h100';
  const grid = publishedGridCases(file);
  // github.com/shaamil101-etched/trtllm-benchmarks, results/summary_results.log (commit aeec9f29): 64 configurations, 16384/16384 failed.
  assert.equal(grid.length, 63);
  assert.equal(new Set(grid.map((c) => c.id)).size, 63);
  const cases = publishedCases().filter((c) => c.file === file);
  assert.equal(cases.length, 10);
  for (const c of cases) {
    const g = grid.find((x) => x.promptTokens === c.promptTokens && x.outputTokens === c.outputTokens);
    assert.ok(g, c.id);
    assert.deepEqual([g.requests, g.published.value, g.published.unit], [c.requests, c.published.value, c.published.unit], c.id);
    // The same setup priced the same way: a grid row and its case predict alike.
    assert.equal(predictPublishedCase(g, { framework: 'trtllm' }).predicted, predictPublishedCase(c, { framework: 'trtllm' }).predicted);
  }
  // Two runs no case took, against the source's rows (results/summary_results.log): 16384,8192,75,2089.9738 and 128,16384,400,4557.7445.
  const row = (i: number, o: number) => grid.find((x) => x.promptTokens === i && x.outputTokens === o)!;
  assert.deepEqual([row(16384, 8192).requests, row(16384, 8192).published.value], [75, 2089.9738]);
  assert.deepEqual([row(128, 16384).requests, row(128, 16384).published.value], [400, 4557.7445]);
  assert.ok(grid.every((g) => g.file === file && g.heldOut === true && g.publisher === cases[0].publisher));
  // publishedGridComparisons: the grid in its order, each run priced from its framework's tables (trtllm here), as a case is.
  const compared = publishedGridComparisons(file);
  assert.deepEqual(compared.map((c) => c.id), grid.map((g) => g.id));
  for (const k of [0, 30, 62]) assert.equal(compared[k].predicted, predictPublishedCase(grid[k], { framework: 'trtllm' }).predicted);
  const base = cases[0];
  const ok = { source: 'test', columns: ['promptTokens', 'outputTokens', 'requests', 'outputTokensPerSecond'], rows: [[128, 128, 1000, 9000]] };
  assert.equal(checkPublishedGrid(ok, base)[0].requests, 1000);
  assert.throws(() => checkPublishedGrid(undefined, base), /grid/);
  assert.throws(() => checkPublishedGrid({ ...ok, rows: [] }, base), /grid\.rows/);
  assert.throws(() => checkPublishedGrid({ ...ok, rows: ['128,128'] }, base), /grid\.rows\[0\]/);
  assert.throws(() => checkPublishedGrid({ ...ok, rows: [[128, 128, 1000]] }, base), /grid\.rows\[0\]/);
  assert.throws(() => checkPublishedGrid({ ...ok, rows: [[128, -1, 1000, 9000]] }, base), /grid\.rows\[0\]\.outputTokens/);
  assert.throws(() => checkPublishedGrid({ ...ok, rows: [[128, 128, 0.5, 9000]] }, base), /grid\.rows\[0\]\.requests/);
  assert.throws(() => checkPublishedGrid({ ...ok, rows: [[128, 128, 1000, Number.NaN]] }, base), /grid\.rows\[0\]\.published\.value/);
  assert.throws(() => checkPublishedGrid({ ...ok, rows: [[128, 128, 1000, 9000], [256, 256, 10, 1], [128, 128, 5, 5]] }, base), /grid\.rows\[2\].*128\/128 is given twice/);
  assert.throws(() => checkPublishedGrid({ ...ok, columns: ['isl', 'osl'] }, base), /grid\.columns/);
  assert.throws(() => checkPublishedGrid({ ...ok, source: '' }, base), /grid\.source/);
  assert.throws(() => checkPublishedGrid(ok, publishedCases().find((c) => c.phase === 'decode')!), /offline/);
  assert.throws(() => publishedGridCases('no-such-file'), /no-such-file/);
});

test('predictPublishedCase(): a latency case prices a user\'s inter-token time from the step its users share; waves decode with no prompt beside them, their TTFT is the wave\'s prefill step', () => {
  const all = publishedCases();
  const one = all.find((x) => x.id === 'gptfast-llama2-70b-a100-tp8-bs1')!;
  // data/published/pytorch-gpt-fast-a100.json: batch 1, 5-token prompt, 200 output tokens (generate.py default), TP8.
  assert.deepEqual([one.phase, one.users, one.metric, one.promptTokens, one.outputTokens, one.devices], ['latency', 1, 'userTokensPerSecond', 5, 200, 8]);
  const cfg = (c: typeof one) => ({ parallelism: { devicesPerNode: 8, ...c.parallelism }, precision: c.precision, checkMemory: false });
  // Staggered, one user: every step decodes its token and carries 5/200 of its next prompt, rounded up to one token;
  // prompts are prefilled whole, so that token is 1/5 of a 5-token prompt and carries 1/5 of its 5·6/2 = 15 attention
  // pairs: tokens/s per user = 1 / step latency.
  const stag: StepWork = { prefillTokens: 1, decodeTokens: 1, contextTokens: 5 + 199 / 2, prefillSequences: 1 / 5, prefillAttentionPairs: 15 / 5 };
  const s1 = stepTime(loadModel('llama-2-70b'), loadHardware('a100-80gb'), cfg(one), stag);
  const p1 = predictPublishedCase(one);
  assert.ok(Math.abs(p1.predicted - 1 / s1.seconds) < 1e-9 * p1.predicted);
  // The same figure as an ITL in ms is its inverse.
  const itl = predictPublishedCase({ ...one, metric: 'itl', published: { value: 50, unit: 'ms' } });
  assert.ok(Math.abs(itl.predicted - 1000 / p1.predicted) < 1e-9 * itl.predicted);
  // Waves (dstack's DeepSeek-R1 runs, 3,200 in / 800 out): a decode-only step of `users` sequences halfway through their output.
  const w = all.find((x) => x.id === 'dstack-r1-h200-vllm-c16-itl')!;
  assert.deepEqual([w.schedule, w.users, w.promptTokens, w.outputTokens], ['waves', 16, 3200, 800]);
  const ws = stepTime(loadModel('deepseek-v3'), loadHardware('h200'), cfg(w), { prefillTokens: 0, decodeTokens: 16, contextTokens: 16 * (3200 + 799 / 2) });
  assert.ok(Math.abs(predictPublishedCase(w).predicted - ws.seconds * 1000) < 1e-9 * ws.seconds * 1000);
  // More users share each step: a slower token for each of them.
  assert.ok(predictPublishedCase({ ...w, users: 64 }).predicted > predictPublishedCase(w).predicted);
  // TTFT of a wave: one prefill step of all 16 prompts (each token attends to the earlier ones of its prompt).
  const t = all.find((x) => x.id === 'dstack-r1-h200-vllm-c16-ttft')!;
  const ts = stepTime(loadModel('deepseek-v3'), loadHardware('h200'), cfg(t), { prefillTokens: 16 * 3200, decodeTokens: 0, contextTokens: 0, prefillSequences: 16, prefillAttentionPairs: (16 * 3200 * 3201) / 2 });
  assert.ok(Math.abs(predictPublishedCase(t).predicted - ts.seconds * 1000) < 1e-9 * ts.seconds * 1000);
  // A staggered TTFT is priced for one user only (no queueing model), and says so; so do bad fields, by name.
  assert.throws(() => predictPublishedCase({ ...t, schedule: 'staggered' }), /case\.users/);
  const base = { id: 'x', label: 'x', model: 'llama-3.1-8b', hardware: 'h200', phase: 'latency', devices: 1, users: 4, metric: 'itl', promptTokens: 128, outputTokens: 128, published: { value: 10, unit: 'ms' }, source: 'a test case written here' };
  assert.equal(checkPublishedCase(base).schedule, 'staggered');
  assert.throws(() => checkPublishedCase({ ...base, metric: 'tpot' }), /case\.metric/);
  assert.throws(() => checkPublishedCase({ ...base, users: 0 }), /case\.users/);
  assert.throws(() => checkPublishedCase({ ...base, schedule: 'poisson' }), /case\.schedule/);
  assert.throws(() => checkPublishedCase({ ...base, metric: 'ttft' }), /case\.users/);
  assert.equal(checkPublishedCase({ ...base, metric: 'ttft', schedule: 'waves' }).users, 4);
  assert.throws(() => checkPublishedCase({ ...base, outputTokens: undefined }), /case\.outputTokens/);
  // A case's release of its framework: only beside a framework, and as the framework prints one.
  assert.equal(checkPublishedCase({ ...base, framework: 'sglang', ranVersion: '0.4.3.post2' }).ranVersion, '0.4.3.post2');
  assert.equal(checkPublishedCase({ ...base, framework: 'vllm', ranVersion: '0.7.4.dev181+gf35f8e22' }).ranVersion, '0.7.4.dev181+gf35f8e22');
  assert.throws(() => checkPublishedCase({ ...base, ranVersion: '0.4.3' }), /case\.ranVersion.*names its framework/);
  for (const bad of ['latest', 'v0.4.3', '0.4/../x', 7, '', '1.0....', '1.0+-+', '1.2.3.4.5', `0.4.3+${'a'.repeat(64)}`]) {
    assert.throws(() => checkPublishedCase({ ...base, framework: 'sglang', ranVersion: bad }), /case\.ranVersion/, String(bad));
  }
  // A wave that cannot hold its users' KV caches is refused with the shortfall.
  assert.throws(() => predictPublishedCase({ ...w, users: 1 << 14 }), /memory/);
});

test("predictPublishedCase(): DeepSeek's served decode is the most sequences per GPU that still give users the published 21 tokens/s", () => {
  const c = publishedCases().find((x) => x.id === 'deepseek-decode')!;
  // Overview: 20-22 output tokens/s per user; the midpoint is the target.
  assert.equal(c.tokensPerSecondPerUser, 21);
  // Balanced experts on both sides: the routing sample of the case's own load factor depends on sequencesPerDevice.
  const balanced = { ...c, expertLoad: { kind: 'balanced' as const } };
  const p = predictPublishedCase(balanced);
  const B = p.sequencesPerDevice!;
  const perUser = (b: number): number => {
    const q = predictPublishedCase({ ...balanced, tokensPerSecondPerUser: undefined, sequencesPerDevice: b });
    return q.predicted / 8 / b;
  };
  assert.ok(perUser(B) >= 21 && perUser(B + 1) < 21, `B = ${B}`);
  // Throughput per node = sequences per GPU × per-user speed × 8 GPUs.
  assert.ok(Math.abs(p.predicted - B * perUser(B) * 8) < 1e-6 * p.predicted);
});

test('calibratedMatmulCost(h800, fp8) reproduces DeepGEMM\'s published H800 kernel times: median error ≤ 15 % (printed per shape)', () => {
  const j = JSON.parse(readFileSync(new URL('../../data/published/deepgemm-h800-fp8.json', import.meta.url), 'utf8'));
  const cost = calibratedMatmulCost(loadHardware('h800'), 'fp8');
  const errs = (j.gemms as Array<{ layout: string; groups: number; m: number; n: number; k: number; tflops: number }>).map((g) => {
    const measured = (2 * g.groups * g.m * g.n * g.k) / (g.tflops * 1e12);
    return cost.matmulSeconds({ m: g.m, k: g.k, n: g.n, batch: g.groups, dtype: 'fp8' }) / measured - 1;
  });
  const abs = errs.map(Math.abs);
  console.log(`DeepGEMM H800 FP8, ${errs.length} shapes: median |error| ${(median(abs) * 100).toFixed(1)} %, max ${(Math.max(...abs) * 100).toFixed(1)} %`);
  assert.ok(median(abs) <= 0.15);
  assert.ok(Math.max(...abs) < 0.6);
});

test('publishedComparisonNotes(): sentences computed from the comparison (overlap share, capacity cases, the served day); empty input is an InputError', () => {
  const c = publishedComparisons();
  const text = publishedComparisonNotes(c);
  // The catalog sets no overlapEfficiency: overlap hides what the priced times allow.
  assert.match(text, /no fitted loss/);
  const capacity = c.filter((x) => x.id !== 'deepseek-prefill' && x.id !== 'deepseek-decode');
  const inside = capacity.filter((x) => Math.abs(x.error) <= 0.25).length;
  assert.match(text, new RegExp(`${inside} of ${capacity.length} predictions lie within ±25 %`));
  // The day averaged 73,700 × (1 − 0.563) = 32,207 computed tokens/s per node, against the profile's 62,713 (LMSYS).
  assert.match(text, /day averaged 32,207 \(51 %\)/);
  // The prompt mix's share of the story is stated with both predictions.
  assert.match(text, /mooncake-conversation-prompts/);
  assert.match(text, /with every prompt alike/);
  assert.throws(() => publishedComparisonNotes([]), /comparisons/);
});

test("two-micro-batch overlap priced from the step's own computation and communication, beside SGLang's measured gains (printed, validation only)", () => {
  // LMSYS 2025-05-05, ablation study: prefill +27 % to +35 % at 16K tokens per GPU (4K prompts, EP32);
  // decode +25.5 % at 256 requests per GPU (EP72, 2K inputs). No constant is fitted to these gains.
  const ds = loadModel('deepseek-v3');
  const h100 = loadHardware('h100-sxm');
  assert.equal(h100.calibration!.overlapEfficiency, undefined);
  const byId = Object.fromEntries(publishedCases().map((c) => [c.id, c]));
  const gain = (id: string, work: StepWork): number => {
    const c = byId[id];
    const at = (overlap: boolean) => stepTime(ds, h100, { parallelism: { devicesPerNode: 8, ...c.parallelism, overlap }, precision: c.precision, checkMemory: false }, work).intervalSeconds;
    return at(false) / at(true) - 1;
  };
  const prefill = gain('lmsys-prefill-4k', { prefillTokens: 16384 * 32, decodeTokens: 0, contextTokens: 0, prefillSequences: 4 * 32 });
  const decode = gain('lmsys-decode-2k', { prefillTokens: 0, decodeTokens: 256 * 72, contextTokens: 256 * 72 * 2048 });
  console.log(`predicted overlap gains: prefill ${(prefill * 100).toFixed(1)} % (measured 27–35 %), decode ${(decode * 100).toFixed(1)} % (measured 25.5 %)`);
  // Overlap can at best hide the shorter of the two, and never slows the step down by more than splitting it does.
  assert.ok(prefill > 0 && prefill < 1 && decode > 0 && decode < 1);
});

test('every calibration entry of the catalog names its evidence (kernel measurement, microbenchmark or datasheet) and none cites a published serving figure', () => {
  const publishedDir = join(import.meta.dirname, '../../data/published');
  const urls = readdirSync(publishedDir).map((f) => JSON.parse(readFileSync(join(publishedDir, f), 'utf8')) as { url?: string }).flatMap((j) => (j.url ? [j.url.replace(/^https?:\/\//, '')] : []));
  assert.ok(urls.length >= 4);
  let entries = 0;
  for (const id of ['h800', 'h100-sxm', 'h200']) {
    const cal = loadHardware(id).calibration!;
    for (const [field, prov] of Object.entries(cal.sources)) {
      entries++;
      assert.ok(prov.kind === 'kernel-measurement' || prov.kind === 'microbenchmark' || prov.kind === 'datasheet', `${id} ${field}: ${prov.kind}`);
      for (const u of urls) assert.ok(!`${prov.source} ${prov.notes ?? ''}`.includes(u), `${id} ${field} cites ${u}`);
      assert.doesNotMatch(`${prov.source}`, /LMSYS|serving throughput/i, `${id} ${field}`);
    }
  }
  // 3 entries × (3 GEMM dtypes + 7 fractions + 4 counts + 4 seconds) = 54.
  assert.equal(entries, 54);
  assert.throws(() => calibrationFromJson({ ...JSON.parse(readFileSync(join(import.meta.dirname, '../../data/hardware/h800.json'), 'utf8')).calibration, memoryEfficiency: { value: 0.5, source: 'x' } }), /calibration\.memoryEfficiency\.kind/);
});

test("predictPublishedCase(): TensorRT-LLM's dense throughput tables are priced at the batch its capacity scheduler admits (printed; held out, no target asserted here)", () => {
  const cases = publishedCases().filter((c) => c.id.startsWith('trtllm-llama'));
  // data/published/nvidia-trtllm-perf-overview.json: Llama 3.1 8B, 3.3 70B and 3.1 405B on H200 and H100, three lengths each,
  // and Llama 3.3 70B in NVFP4 on one B200 at five lengths (a later version of the document).
  assert.equal(cases.length, 23);
  assert.equal(cases.filter((c) => c.hardware === 'b200' && c.precision.weights === 'nvfp4').length, 5);
  const rows = cases.map((c) => {
    const p = predictPublishedCase(c);
    assert.ok(Number.isFinite(p.predicted) && p.predicted > 0, c.id);
    return { case: c.id, published: p.published, predicted: Math.round(p.predicted), 'error %': +(p.error * 100).toFixed(1), bound: p.step.bound, 'seqs/GPU': p.sequencesPerDevice };
  });
  console.table(rows);
  console.log(`${rows.filter((r) => Math.abs(r['error %']) <= 25).length} of ${rows.length} held-out TensorRT-LLM cases within ±25 %`);
  // GUARANTEED_NO_EVICT in closed form for Llama 3.1 8B on one H200 (141 GiB, data/hardware/h200.json), 128 + 2,048 tokens:
  // KV per token 2 · 32 layers · 8 KV heads · 128 · 2 bytes = 131,072 B (config.json); FP8 weights 1 byte per parameter;
  // an empty batch holds no activations; 0.9 of the rest holds the cache.
  const c = cases.find((x) => x.id === 'trtllm-llama8b-h200-tp1-128-2048')!;
  const params = paramCounts(loadModel('llama-3.1-8b')).total;
  const expected = Math.floor((0.9 * (141 * 2 ** 30 - params)) / (2176 * 131072));
  assert.equal(predictPublishedCase(c).sequencesPerDevice, expected);
  // The same rule for Llama 3.3 70B in NVFP4 on one B200 (180 GiB, data/hardware/b200.json), 1,000 + 1,000 tokens: NVFP4 weights
  // take 0.5625 bytes per parameter (4-bit values and one FP8 scale per 16); the checkpoint's FP8 KV cache (the case's text cites
  // TensorRT-LLM's test of nvidia/Llama-3.3-70B-Instruct-FP4) holds 2 · 80 layers · 8 KV heads · 128 · 1 byte = 163,840 B per token.
  const b = cases.find((x) => x.id === 'trtllm-llama70b-b200-tp1-fp4-1000-1000')!;
  assert.equal(b.precision.kvCache, 'fp8');
  const p70 = paramCounts(loadModel('llama-3.1-70b')).total;
  const fp8Seqs = Math.floor((0.9 * (180 * 2 ** 30 - 0.5625 * p70)) / (2000 * 163840));
  assert.equal(predictPublishedCase(b).sequencesPerDevice, fp8Seqs);
  // A 16-bit cache (327,680 B per token) admits half as many, rounded down.
  assert.equal(predictPublishedCase({ ...b, precision: { ...b.precision, kvCache: 'bf16' } }).sequencesPerDevice, Math.floor((0.9 * (180 * 2 ** 30 - 0.5625 * p70)) / (2000 * 327680)));
  // The rule caps the batch at maxBatchSize (trtllm-bench: 4096 / pp).
  const capped = predictPublishedCase({ ...c, concurrency: { ...c.concurrency!, maxBatchSize: 7 } });
  assert.equal(capped.sequencesPerDevice, 7);
});

test('checkPublishedCase(): an offline case takes a concurrency rule or a batch, not both, and names a bad field', () => {
  const base = { id: 'x', label: 'x', model: 'llama-3.1-8b', hardware: 'h200', phase: 'offline', devices: 1, promptTokens: 128, outputTokens: 128, published: { value: 1, unit: 'tok/s' }, source: 'a test case written here' };
  const rule = { kind: 'guaranteed-no-evict', kvCacheFraction: 0.9, maxBatchSize: 64, source: 'a rule written here' };
  assert.equal(checkPublishedCase({ ...base, concurrency: rule }).concurrency?.maxBatchSize, 64);
  assert.throws(() => checkPublishedCase({ ...base, concurrency: rule, sequencesPerDevice: 8 }), /case\.sequencesPerDevice/);
  assert.throws(() => checkPublishedCase({ ...base, concurrency: { ...rule, kvCacheFraction: 1.5 } }), /case\.concurrency\.kvCacheFraction/);
  assert.equal(checkPublishedCase({ ...base, concurrency: { ...rule, kind: 'max-utilization' } }).concurrency?.kind, 'max-utilization');
  assert.throws(() => checkPublishedCase({ ...base, concurrency: { ...rule, kind: 'no-evict' } }), /case\.concurrency\.kind/);
  assert.throws(() => checkPublishedCase({ ...base, concurrency: { ...rule, source: '' } }), /case\.concurrency\.source/);
  assert.throws(() => checkPublishedCase(base), /case\.sequencesPerDevice/);  // How FP8 GEMMs scale is the checkpoint's: 'dynamic', 'static' or 'block', nothing else.
  assert.equal(checkPublishedCase({ ...base, concurrency: rule, fp8Scaling: 'static' }).fp8Scaling, 'static');
  assert.equal(checkPublishedCase({ ...base, concurrency: rule, fp8Scaling: 'block' }).fp8Scaling, 'block');
  assert.throws(() => checkPublishedCase({ ...base, concurrency: rule, fp8Scaling: 'per-channel' }), /case\.fp8Scaling/);
  // The framework that ran the case is one whose tables batchlab can hold: trtllm, sglang or vllm.
  assert.equal(checkPublishedCase({ ...base, concurrency: rule, framework: 'sglang' }).framework, 'sglang');
  assert.equal(checkPublishedCase({ ...base, concurrency: rule }).framework, undefined);
  assert.throws(() => checkPublishedCase({ ...base, concurrency: rule, framework: 'tensorrt' }), (e: unknown) => e instanceof InputError && /case\.framework/.test(e.message));
  const c = checkPublishedCase({ ...base, concurrency: rule });
  assert.throws(() => predictPublishedCase({ ...c, framework: 'pytorch' as never }), /case\.framework/);
});

test('published cases: each names the framework its label (the source) says ran it, and none where the source ran its own system', () => {
  // The labels quote the source's engine: vLLM, SGLang, TensorRT-LLM; DeepSeek's own system and gpt-fast (PyTorch) are none of them.
  for (const c of publishedCases()) {
    const said = /vLLM/.test(c.label) ? 'vllm' : /SGLang/.test(c.label) ? 'sglang' : /TensorRT-LLM/.test(c.label) ? 'trtllm' : undefined;
    assert.equal(c.framework, said, `${c.id}: ${c.label}`);
  }
  assert.ok(publishedCases().some((c) => c.framework === undefined && c.file === 'pytorch-gpt-fast-a100'));
});

test("published cases: every FP8 DeepSeek-V3/R1 case served by a framework scales its GEMMs in 128-wide blocks, as DeepSeek-V3's config.json ships them", () => {
  // data/models/deepseek-v3.json (DeepSeek-V3's config.json): quantization_config.weight_block_size [128, 128].
  const cfg = JSON.parse(readFileSync(join(import.meta.dirname, '../../data/models/deepseek-v3.json'), 'utf8')) as { quantization_config?: { weight_block_size?: number[] } };
  assert.deepEqual(cfg.quantization_config?.weight_block_size, [128, 128]);
  const r1 = publishedCases().filter((c) => c.model === 'deepseek-v3' && c.precision.weights === 'fp8' && c.framework !== undefined);
  assert.ok(r1.filter((c) => c.file === 'dstack-2025-deepseek-r1-h200').length >= 13, 'the dstack cases');
  for (const c of r1) assert.equal(c.fp8Scaling, 'block', c.id);
});

test("published cases: Qwen/Qwen3-8B-FP8 scales its GEMMs in 128-wide blocks, as its config.json's quantization_config (quoted in the case) says", () => {
  // Qwen/Qwen3-8B-FP8 config.json: quantization_config { activation_scheme: dynamic, quant_method: fp8, weight_block_size: [128, 128] }
  // (quoted by paladin8/infer docs/PHASE_10.md, commit dcff964d; the case's text cites it).
  const q = publishedCases().find((c) => c.id === 'gpustack-qwen3-8b-fp8-h100-sglang-c4-itl')!;
  assert.equal(q.fp8Scaling, 'block');
  assert.match(q.assumptions ?? '', /weight_block_size: \[128, 128\]/);
  assert.equal(q.precision.kvCache, 'bf16');
});

test('published cases: a KV cache narrower than 16 bits only where the case cites the checkpoint\'s kv_cache_quant_algo or the run\'s own report of its cache dtype, and every 16-bit one of an NVIDIA FP8 or NVFP4 checkpoint says what fixed it or that nothing did', () => {
  const all = publishedCases();
  // trtllm-bench's report prints the engine's cache dtype ('KV Cache Dtype: FP8', data/published/trtllm-benchmarks-2025-llama70b-h100.json).
  for (const c of all.filter((x) => x.precision.kvCache !== 'bf16' && x.precision.kvCache !== 'fp16')) {
    // MLPerf submissions publish their quantization command (quantize.py --kv_cache_dtype fp8).
    assert.match(c.assumptions ?? '', /kv_cache_quant_algo|'KV Cache Dtype: FP8'|--kv_cache_dtype[ =]fp8/, `${c.id}: a narrow KV cache names its source`);
  }
  // data/published/nvidia-trtllm-perf-overview.json: the five B200 rows run nvidia/Llama-3.3-70B-Instruct-FP4, whose FP8 cache
  // TensorRT-LLM's accuracy test asserts; the H100/H200 FP8 rows keep 16 bits, sourced (8B) or said to be unsourced (70B, 405B).
  const trt = all.filter((c) => c.id.startsWith('trtllm-llama'));
  assert.deepEqual(new Set(trt.filter((c) => c.precision.kvCache === 'fp8').map((c) => c.hardware)), new Set(['b200']));
  for (const c of trt.filter((x) => x.precision.kvCache === 'bf16')) {
    assert.match(c.assumptions ?? '', /KV cache and attention core in 16 bits(, unsourced)?:/, c.id);
    if (c.model !== 'llama-3.1-8b') assert.match(c.assumptions ?? '', /16 bits, unsourced/, c.id);
  }
});

test("publishedCaseTables(): a case's own framework's tables where the database holds them for its device, else TensorRT-LLM's, saying why; an explicit framework overrides", () => {
  const all = publishedCases();
  const byId = (id: string) => all.find((c) => c.id === id)!;
  // data/kernels (SOURCE.json) ships h100_sxm and h200_sxm under sglang, trtllm and vllm; a100_sxm and b200_sxm under trtllm only; no h800 folder
  // (data/hardware/h800.json borrows h100-sxm's compute tables: computeKernelsFrom).
  // dstack's runs state their releases (SGLang 0.4.3.post2, vLLM 0.7.4.dev181+gf35f8e22: the source's README), a year before the
  // tables' (data/kernels/h200_sxm/sglang/0.5.14, vllm/0.24.0): the label says so.
  assert.deepEqual(publishedCaseTables(byId('dstack-r1-h200-sglang-c4-itl')), { framework: 'sglang', label: 'sglang 0.5.14; the case ran 0.4.3.post2 (older)', version: '0.5.14', caseRelease: 'older' });
  assert.deepEqual(publishedCaseTables(byId('dstack-r1-h200-vllm-c4-itl')), { framework: 'vllm', label: 'vllm 0.24.0; the case ran 0.7.4.dev181+gf35f8e22 (older)', version: '0.24.0', caseRelease: 'older' });
  // The H100 cases that ran SGLang or vLLM read their own framework's tables (data/kernels/h100_sxm/sglang/0.5.14, vllm/0.24.0).
  assert.deepEqual(publishedCaseTables(byId('gpustack-qwen3-8b-h100-sglang-c4-itl')), { framework: 'sglang', label: 'sglang 0.5.14; the case ran 0.5.3.post3 (older)', version: '0.5.14', caseRelease: 'older' });
  assert.deepEqual(publishedCaseTables(byId('gpustack-qwen3-8b-h100-vllm-c4-itl')), { framework: 'vllm', label: 'vllm 0.24.0; the case ran 0.11.0 (older)', version: '0.24.0', caseRelease: 'older' });
  // TensorRT-LLM 1.2.0rc1 against 1.3.0rc20 tables (GPUStack); an explicit framework that is the case's own says the same.
  assert.deepEqual(publishedCaseTables(byId('gpustack-qwen3-8b-h100-trtllm-c4-itl')), { framework: 'trtllm', label: 'trtllm 1.3.0rc20; the case ran 1.2.0rc1 (older)', version: '1.3.0rc20', caseRelease: 'older' });
  assert.deepEqual(publishedCaseTables(byId('gpustack-qwen3-8b-h100-trtllm-c4-itl'), { framework: 'trtllm' }), publishedCaseTables(byId('gpustack-qwen3-8b-h100-trtllm-c4-itl')));
  // A device that borrows another's compute tables keeps saying whose, the release after the framework.
  assert.deepEqual(publishedCaseTables({ ...byId('gpustack-qwen3-8b-h100-trtllm-c4-itl'), hardware: 'h800' }), { framework: 'trtllm', label: "trtllm 1.3.0rc20; h100-sxm's compute tables; the case ran 1.2.0rc1 (older)", version: '1.3.0rc20', caseRelease: 'older' });
  // A local tag is the same release.
  assert.deepEqual(publishedCaseTables({ ...byId('gpustack-qwen3-8b-h100-sglang-c4-itl'), ranVersion: '0.5.14+cu128' }), { framework: 'sglang', label: 'sglang', version: '0.5.14' });
  // A case of the tables' own release, or one that states none, names no release.
  assert.deepEqual(publishedCaseTables({ ...byId('gpustack-qwen3-8b-h100-sglang-c4-itl'), ranVersion: '0.5.14' }), { framework: 'sglang', label: 'sglang', version: '0.5.14' });
  assert.equal(publishedCaseTables({ ...byId('gpustack-qwen3-8b-h100-sglang-c4-itl'), ranVersion: '0.6.0' }).caseRelease, 'newer');
  assert.deepEqual(publishedCaseTables(byId('lmsys-prefill-4k')), { framework: 'sglang', label: 'sglang', version: '0.5.14' });
  // A device whose folder holds trtllm only: the same SGLang case moved to A100 falls back, saying why.
  // (The SGLang release it ran is not TensorRT-LLM's: the fallback names no release of the case.)
  assert.deepEqual(publishedCaseTables({ ...byId('gpustack-qwen3-8b-h100-sglang-c4-itl'), hardware: 'a100-80gb' }), { framework: 'trtllm', label: 'trtllm, no sglang tables for a100-80gb', version: '1.0.0' });
  assert.deepEqual(publishedCaseTables(byId('gptfast-llama2-7b-a100-tp1-bs1')), { framework: 'trtllm', label: 'trtllm, the case names no framework', version: '1.0.0' });
  assert.deepEqual(publishedCaseTables(byId('deepseek-profile-decode')), { framework: 'trtllm', label: "trtllm, the case names no framework; h100-sxm's compute tables", version: '1.3.0rc20' });
  assert.deepEqual(publishedCaseTables(byId('deepseek-profile-decode'), { framework: 'trtllm' }), { framework: 'trtllm', label: "trtllm; h100-sxm's compute tables", version: '1.3.0rc20' });
  assert.deepEqual(publishedCaseTables(byId('deepseek-profile-decode'), { kernelDb: false }), { framework: 'trtllm', label: 'trtllm, no h800 tables' });
  assert.deepEqual(publishedCaseTables(byId('dstack-r1-h200-sglang-c4-itl'), { framework: 'trtllm' }), { framework: 'trtllm', label: 'trtllm', version: '1.3.0rc20' });
  // With the database switched off no device has tables: the case keeps its framework, priced by the calibrated model.
  assert.deepEqual(publishedCaseTables(byId('dstack-r1-h200-vllm-c4-itl'), { kernelDb: false }), { framework: 'vllm', label: 'vllm, no h200 tables' });
  assert.throws(() => publishedCaseTables(byId('dstack-r1-h200-vllm-c4-itl'), { framework: '' }), InputError);
  // The tables picked are the ones that price: SGLang's H200 kernels differ from TensorRT-LLM's, so the two predictions do.
  const c = byId('dstack-r1-h200-sglang-c4-itl');
  const own = predictPublishedCase(c, { framework: publishedCaseTables(c).framework });
  const trt = predictPublishedCase(c, { framework: 'trtllm' });
  assert.notEqual(own.predicted, trt.predicted);
  assert.ok((own.step.kernels ?? []).some((u) => u.rows > 0));
});

test('publishedCases(): at least 25 cases from at least 6 publishers, on A100, H100, H200 and B200, throughput and latency at a concurrency, every held-out file naming its publisher', () => {
  const all = publishedCases();
  const publishers = new Set(all.map((c) => c.publisher ?? c.file));
  console.log(`${all.length} published cases from ${publishers.size} publishers: ${[...publishers].join(', ')}`);
  // Issue 22: ≥ 25 cases from ≥ 6 independent sources; two files of one publisher (NVIDIA's) count once.
  assert.ok(all.length >= 25, `${all.length} cases`);
  assert.ok(publishers.size >= 6, [...publishers].join(', '));
  for (const hw of ['a100-80gb', 'h100-sxm', 'h200', 'b200']) assert.ok(all.some((c) => c.hardware === hw), hw);
  for (const m of ['itl', 'ttft'] as const) assert.ok(all.some((c) => c.phase === 'latency' && c.metric === m), m);
  assert.ok(all.some((c) => c.phase === 'offline') && all.some((c) => c.phase === 'decode') && all.some((c) => c.phase === 'prefill'));
  // Every held-out case names who published it, so that the bench groups sources by publisher.
  for (const c of all.filter((x) => x.heldOut)) assert.ok(typeof c.publisher === 'string' && c.publisher.length > 0, c.id);
});

test('publishedMethodRows(): every case priced by the calibrated model, the kernel database and the datasheet bound, built-beside cases before held-out ones', () => {
  const all = publishedCases();
  // A case is held out exactly when its data/published file says "heldOut": true.
  const dir = join(import.meta.dirname, '../../data/published');
  const heldFiles = readdirSync(dir).filter((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { heldOut?: boolean }).heldOut === true).map((f) => f.slice(0, -'.json'.length));
  assert.ok(heldFiles.includes('nvidia-trtllm-perf-overview') && !heldFiles.includes('deepseek-2025-inference-system'));
  for (const c of all) assert.equal(c.heldOut === true, heldFiles.includes(c.file ?? ''), c.id);
  const pick = ['trtllm-llama8b-h200-tp1-128-2048', 'deepseek-profile-decode', 'lmsys-prefill-4k'].map((id) => all.find((c) => c.id === id)!);
  const rows = publishedMethodRows(pick);
  assert.deepEqual(rows.map((r) => [r.id, r.heldOut]), [['deepseek-profile-decode', false], ['lmsys-prefill-4k', false], ['trtllm-llama8b-h200-tp1-128-2048', true]]);
  for (const r of rows) {
    // The datasheet prices every operation at peak: at the same batch its throughput is at least the calibrated one.
    assert.ok(r.spec !== null && r.spec >= r.calibrated, `${r.id}: bound ${r.spec} against calibrated ${r.calibrated}`);
    assert.equal(r.calibrated, predictPublishedCase(pick.find((c) => c.id === r.id)!).predicted);
  }
  // H800 borrows H100 SXM's compute tables (data/hardware/h800.json computeKernelsFrom): its GEMMs, MLA and
  // routed experts (SGLang's wide-EP table, the case's wideEpTables) are read from them; its collectives,
  // DeepEP's dispatch and combine included, stay with the calibrated model over its own links: 234 of 1,566 kernel calls.
  const h800 = rows.find((r) => r.id === 'deepseek-profile-decode')!;
  assert.ok(h800.kernelDbTableShare > 0.8 && h800.kernelDbTableShare < 0.9, `share of H800 kernel calls from tables ${h800.kernelDbTableShare}`);
  assert.notEqual(h800.kernelDb, h800.calibrated);
  assert.equal(h800.kernelDbTables, "trtllm, the case names no framework; h100-sxm's compute tables");
  const h200 = rows.find((r) => r.heldOut)!;
  assert.ok(h200.kernelDbTableShare > 0.5, `share of H200 kernel calls from tables ${h200.kernelDbTableShare}`);
  // Each row says which tables priced it: the case's framework where the device has them (publishedCaseTables).
  assert.equal(h200.kernelDbTables, 'trtllm');
  // LMSYS ran SGLang on H100: data/kernels/h100_sxm/sglang/0.5.14 prices it.
  assert.equal(rows.find((r) => r.id === 'lmsys-prefill-4k')!.kernelDbTables, 'sglang');
  const sgl = all.find((c) => c.id === 'dstack-r1-h200-sglang-c4-itl')!;
  const [own] = publishedMethodRows([sgl]);
  // dstack ran SGLang 0.4.3.post2; the tables are 0.5.14's: the row says both.
  assert.equal(own.kernelDbTables, 'sglang 0.5.14; the case ran 0.4.3.post2 (older)');
  assert.equal(own.kernelDbCaseRelease, 'older');
  assert.equal(publishedMethodRows([all.find((c) => c.id === 'lmsys-prefill-4k')!])[0].kernelDbCaseRelease, undefined);
  assert.equal(own.kernelDb, predictPublishedCase(sgl, { framework: 'sglang' }).predicted);
  // An explicit framework prices every case from its tables (the behaviour before cases named theirs).
  const [forced] = publishedMethodRows([sgl], 'trtllm');
  assert.equal(forced.kernelDbTables, 'trtllm');
  assert.equal(forced.kernelDb, predictPublishedCase(sgl, { framework: 'trtllm' }).predicted);
  assert.throws(() => publishedMethodRows([]), InputError);
});

test('publishedMethodSummary(): counts computed per group from the rows; a case without a table is left out of the database count', () => {
  const row = (id: string, heldOut: boolean, calibrated: number, kernelDb: number, share: number, spec: number): PublishedMethodRow => ({
    id, label: id, file: heldOut ? 'held' : 'beside', hardware: share > 0 ? 'h200' : 'h800', heldOut, unit: 'tokens/s', published: 100, calibrated, kernelDb, kernelDbTableShare: share, spec,
  });
  // Errors by construction (published 100): beside: calibrated +10 %, −30 %; held out: −20 %, −50 %, +5 %.
  const rows = [row('a', false, 110, 110, 0, 200), row('b', false, 70, 124, 0.8, 190), row('c', true, 80, 90, 0.9, 95), row('d', true, 50, 60, 0.9, 130), row('e', true, 105, 140, 0.9, 120)];
  const s = publishedMethodSummary(rows, 0.25, 'trtllm');
  const [beside, held] = s.split('\n\n');
  assert.match(beside, /built beside \(2 cases\)/);
  assert.match(beside, /calibrated model puts 1 of 2/);
  assert.match(beside, /kernel database \(trtllm\) 1 of the 1 it prices from its tables/);
  assert.match(beside, /For 1 of them \(h800\) the database holds no table/);
  assert.match(beside, /above every published throughput/);
  assert.match(held, /Held-out cases \(3 cases\)/);
  assert.match(held, /calibrated model puts 2 of 3/);
  assert.match(held, /kernel database \(trtllm\) 1 of the 3/);
  // Bounds 95, 130, 120: one below the published 100, two within ±25 % (−5 %, +20 %).
  assert.match(held, /datasheet bound 2 of 3/);
  assert.match(held, /in 1 of 3 cases the published figure beats it/);
  // A time (ms) is beaten by a bound above it: bound 120 ms against a published 100 ms is the violation, 80 ms is not.
  const times = publishedMethodSummary([{ ...rows[2], isTime: true, spec: 120 }, { ...rows[3], isTime: true, spec: 80 }]);
  assert.match(times, /in 1 of 2 cases the published figure beats it/);
  assert.match(publishedMethodSummary([{ ...rows[2], isTime: true, spec: 80 }]), /below every published time/);
  const table = publishedMethodTable([{ ...rows[0], spec: null, specMissing: 'memory' }]);
  assert.equal(table[0]['datasheet bound'], '–');
  assert.equal(table[0]['calibrated error %'], 10);
  // Row a has no kernel table (share 0): its database figure is the calibrated model's, so none is shown.
  assert.equal(table[0]['kernel db'], '– (no h800 table)');
  // Rows that say which tables priced them are counted per framework (the label's first word).
  const mixed = publishedMethodSummary([{ ...rows[2], kernelDbTables: 'sglang' }, { ...rows[3], kernelDbTables: 'trtllm, no sglang tables for a100-80gb' }, { ...rows[4], kernelDbTables: 'trtllm' }]);
  assert.match(mixed, /kernel database \(sglang tables for 1, trtllm tables for 2\) 1 of the 3/);
  // A label with the tables' release, or a donor's tables, counts under its framework too.
  const released = publishedMethodSummary([{ ...rows[2], kernelDbTables: 'sglang 0.5.14; the case ran 0.4.3.post2 (older)' }, { ...rows[3], kernelDbTables: "trtllm; h100-sxm's compute tables" }, { ...rows[4], kernelDbTables: 'sglang' }]);
  assert.match(released, /kernel database \(sglang tables for 2, trtllm tables for 1\)/);
  // Rows that ran another release of their framework than the tables are counted apart, each count from the rows.
  // By construction (published 100): c's database figure −10 %, d's −40 % (both older), e's +40 %.
  const acrossRelease = publishedMethodSummary([{ ...rows[2], kernelDbCaseRelease: 'older' }, { ...rows[3], kernelDbCaseRelease: 'older' }, { ...rows[4] }]);
  assert.match(acrossRelease, /2 of them ran an older release of their framework than the tables that price them: the database puts 1 of those within ±25 % \(median \|error\| 25 %\); and 0 of the 1 others \(median \|error\| 40 %\)\./);
  assert.doesNotMatch(publishedMethodSummary([rows[2], rows[3], rows[4]]), /release/);
  assert.equal(publishedMethodTable([{ ...rows[2], kernelDbTables: 'sglang' }])[0]['kernel tables'], 'sglang');
  assert.equal(table[0]['kernel db error %'], '–');
  assert.throws(() => publishedMethodSummary([]), InputError);
});

test('checkPublishedCase(): balanced experts are a case\'s own statement, quoted; predictPublishedCase() reads the MoE tables\' balanced rows for it and the power law otherwise', () => {
  const base = { id: 'x', label: 'x', model: 'deepseek-v3', hardware: 'h100-sxm', phase: 'prefill', devices: 32, promptTokens: 4096, tokensPerDevice: 16384, published: { value: 1, unit: 'tok/s' }, source: 'a test case written here' };
  assert.throws(() => checkPublishedCase({ ...base, expertLoad: { kind: 'balanced' } }), /case\.expertLoad\.source/);
  assert.equal(checkPublishedCase({ ...base, expertLoad: { kind: 'balanced', source: 'the case says so' } }).expertLoad?.kind, 'balanced');
  // DeepSeek's profile prefill ("an absolutely balanced MoE routing strategy", profile-data README), priced with and without its statement.
  const perfect = publishedCases().find((c) => c.id === 'deepseek-profile-prefill')!;
  assert.equal(perfect.expertLoad?.kind, 'balanced');
  const unstated = { ...perfect, expertLoad: undefined };
  // The performance model prices experts alike either way (load factor 1).
  assert.equal(predictPublishedCase(perfect).predicted, predictPublishedCase(unstated).predicted);
  // The tables: the 'balanced' rows (every expert the same tokens, aiconfigurator collector/helper.py:1051-1067)
  // against the power-law rows timed on the busiest rank (collector/helper.py:1422-1433), at EP32: the fused
  // MoE op, so the layout without its DeepEP statement, priced by TensorRT-LLM's tables (largeExpertParallel).
  const table = (c: PublishedCase) => predictPublishedCase({ ...c, expertAllToAll: undefined }, { framework: 'trtllm' }).predicted;
  assert.ok(table(perfect) > table(unstated), `${table(perfect)} vs ${table(unstated)}`);
});

test("published cases: DeepSeek's and LMSYS's large-EP cases state DeepEP in their sources' words; their routed experts are no fused-MoE call but wide-EP rows where the tables hold the layout, while TensorRT-LLM's EP8 case still reads the MoE table", () => {
  const all = publishedCases();
  const deepep = all.filter((c) => c.expertAllToAll !== undefined);
  // deepseek-prefill/decode (the day's layout), deepseek-profile-prefill/decode, and LMSYS's six cases.
  assert.deepEqual(deepep.map((c) => c.id).sort(), [
    'deepseek-decode', 'deepseek-prefill', 'deepseek-profile-decode', 'deepseek-profile-prefill',
    'lmsys-decode-2k', 'lmsys-decode-4k-mtp', 'lmsys-prefill-1k', 'lmsys-prefill-2k', 'lmsys-prefill-4k', 'lmsys-prefill-4k-perfect-eplb',
  ]);
  for (const c of deepep) {
    assert.equal(c.expertAllToAll!.kind, 'deepep');
    assert.match(c.expertAllToAll!.source, /DeepEP/, c.id);
  }
  // A statement without its source, or an all-to-all batchlab does not know, is refused naming the field.
  const base = { id: 'x', label: 'x', model: 'deepseek-v3', hardware: 'h100-sxm', phase: 'prefill', devices: 32, promptTokens: 4096, tokensPerDevice: 16384, published: { value: 1, unit: 'tok/s' }, source: 'a test case written here' };
  assert.throws(() => checkPublishedCase({ ...base, expertAllToAll: { kind: 'deepep' } }), /case\.expertAllToAll\.source/);
  assert.throws(() => checkPublishedCase({ ...base, expertAllToAll: { kind: 'nccl', source: 's' } }), /case\.expertAllToAll\.kind/);
  // LMSYS's decode (SGLang, EP72 over 9 nodes, DeepEP): SGLang's wide-EP tables measured EP 2 to 256 in
  // powers of two, and 256 experts without stated copies over 72 devices are not whole per device, so the
  // routed experts fall to the performance model, saying why (wideEpTableReading); DeepEP's low-latency rows
  // (1, 2, 4 and 8 nodes) are carried from EP 64 over 8 nodes by the inter-node share (8/9)/(7/8)
  // (deepEpLowLatencyEpScale), flagged extrapolated; GEMMs and MLA from tables.
  const lmsys = predictPublishedCase(all.find((c) => c.id === 'lmsys-decode-2k')!, { framework: 'sglang' }).step.kernels!;
  assert.equal(lmsys.filter((u) => u.op === 'moe').length, 0);
  const routed = lmsys.filter((u) => u.op === 'routed-expert');
  assert.equal(routed.length, 1);
  assert.equal(routed[0].kind, 'calibrated');
  assert.match(routed[0].from, /no row of data\/kernels\/h100_sxm\/sglang\/0\.5\.14\/wideep_moe\.csv\.gz holds this layout \(no EP 72 rows, and 256 slots over 72 devices are 3\.556 per device, not whole/);
  const a2a = lmsys.filter((u) => u.op === 'deepep');
  assert.ok(a2a.length > 0 && a2a.every((u) => u.kind === 'extrapolated' && u.from.startsWith('data/kernels/h100_sxm/sglang/0.5.14/deepep_ll.csv.gz')));
  assert.match(a2a[0].from, /EP 72 over 9 nodes read at EP 64 over 8 nodes × 1\.0159/);
  // DeepSeek's decode day (EP144 over 18 nodes, 32 redundant experts: 2 slots per device) reads SGLang's
  // EP 128 rows at tokens × 128/144, saying so.
  const day = predictPublishedCase(all.find((c) => c.id === 'deepseek-decode')!, { framework: 'trtllm' }).step.kernels!;
  assert.equal(day.filter((u) => u.op === 'routed-expert').length, 0);
  assert.ok(day.some((u) => u.op === 'wideep_moe' && u.rows > 0 && u.from.includes('(EP 144 read at EP 128, whose rows hold the same 2 experts per device (288 slots over 144 devices), at tokens × 128/144')));
  assert.ok(lmsys.some((u) => u.op === 'gemm' && u.rows > 0) && lmsys.some((u) => u.op === 'mla' && u.rows > 0));
  // LMSYS's prefill at EP32 over 4 nodes: routed experts and DeepEP normal dispatch/combine are table rows.
  const prefill = predictPublishedCase(all.find((c) => c.id === 'lmsys-prefill-4k')!, { framework: 'sglang' }).step.kernels!;
  assert.ok(prefill.some((u) => u.op === 'wideep_moe' && u.rows > 0 && u.from.startsWith('data/kernels/h100_sxm/sglang/0.5.14/wideep_moe.csv.gz')));
  assert.ok(prefill.some((u) => u.op === 'deepep' && u.rows > 0 && u.from.startsWith('data/kernels/h100_sxm/sglang/0.5.14/deepep_normal.csv.gz')));
  assert.equal(prefill.filter((u) => u.op === 'routed-expert').length, 0);
  // DeepSeek's own cases name SGLang's wide-EP tables, saying why: they time DeepEP-driven kernels, and
  // TensorRT-LLM's time CUTLASS behind SM-100 all-to-all backends; a case without a stated all-to-all may not.
  for (const c of all.filter((x) => x.file === 'deepseek-2025-inference-system')) {
    assert.equal(c.wideEpTables?.framework, 'sglang', c.id);
    assert.match(c.wideEpTables!.source, /collect_deepep_moe\.py/);
    assert.equal(c.fp8Scaling, 'block', c.id);
  }
  // One home: the file states each source text once, in its day's layout; its profile cases name it ('day.layout').
  const text = readFileSync(new URL('../../data/published/deepseek-2025-inference-system.json', import.meta.url), 'utf8');
  const layout = JSON.parse(text).day.layout;
  for (const field of ['wideEpTables', 'fp8Scaling']) assert.equal(text.split(JSON.stringify(layout[field].source)).length - 1, 1, field);
  for (const c of all.filter((x) => x.id.startsWith('deepseek-profile-'))) {
    assert.equal(c.wideEpTables!.source, layout.wideEpTables.source, c.id);
    assert.ok((c.assumptions ?? '').endsWith(layout.fp8Scaling.source), c.id);
  }
  // The case texts say what the tables hold: at EP72 over 9 nodes no wide-EP row with the same experts per device,
  // so LMSYS's decode experts are the performance model's, its all-to-all DeepEP's EP 64 rows carried to 9 nodes;
  // a stated EPLB reads the 'uniform' rows at the placement model's load factor.
  for (const c of all.filter((x) => x.file === 'lmsys-2025-large-scale-ep')) {
    assert.doesNotMatch(c.assumptions ?? '', /hold no balanced rows|at the layouts they hold/, c.id);
    if (c.phase === 'decode') assert.match(c.assumptions ?? '', /EP72 over 9 nodes the wide-EP MoE rows .* hold no layout with the same experts per device.*DeepEP's EP 64 rows over 8 nodes carried to 9/, c.id);
  }
  for (const id of ['lmsys-prefill-1k', 'lmsys-prefill-2k', 'lmsys-prefill-4k', 'deepseek-prefill']) {
    assert.match(all.find((c) => c.id === id)!.assumptions ?? '', /EPLB.*'uniform' rows \(every local expert given the mean's tokens\)/, id);
  }
  assert.throws(() => checkPublishedCase({ ...base, wideEpTables: { framework: 'sglang', source: 's' } }), /case\.wideEpTables/);
  assert.throws(() => checkPublishedCase({ ...base, expertAllToAll: { kind: 'deepep', source: 's' }, wideEpTables: { framework: 'sglang' } }), /case\.wideEpTables\.source/);
  // TensorRT-LLM on H200 at EP8 (attention DP 8): no DeepEP stated and its wide-EP backends need SM 100+
  // (aiconfigurator sdk/operations/moe_comm.py:98-111): the fused MoE table prices its experts.
  const trt = predictPublishedCase(all.find((c) => c.id === 'trtllm-r1-h200')!, { framework: 'trtllm' }).step.kernels!;
  assert.ok(trt.some((u) => u.op === 'moe' && u.rows > 0 && u.from.endsWith('moe.csv.gz')));
  assert.equal(trt.filter((u) => u.op === 'routed-expert').length, 0);
});

test("published cases: every case whose source states EPLB (DeepSeek's production day, LMSYS's six runs) is priced under expertRouting 'eplb', quoting it; the wide-EP usage names the 'uniform' rows and the placement model's load factor", () => {
  const all = publishedCases();
  const eplb = all.filter((c) => c.expertLoad?.kind === 'eplb');
  // deepseek-2025-inference-system.json: 32 redundant routed experts in both pools (the day's layout); lmsys-2025-large-scale-ep.json:
  // 'EPLB expert rebalancing' in the file's notes, and the 'Simulated Perfect EPLB' row's random expert selection.
  assert.deepEqual(eplb.map((c) => c.id).sort(), [
    'deepseek-decode', 'deepseek-prefill',
    'lmsys-decode-2k', 'lmsys-decode-4k-mtp', 'lmsys-prefill-1k', 'lmsys-prefill-2k', 'lmsys-prefill-4k', 'lmsys-prefill-4k-perfect-eplb',
  ]);
  for (const c of eplb) {
    const e = c.expertLoad as Extract<PublishedCase['expertLoad'], { kind: 'eplb' }>;
    assert.match(e.source, /EPLB|redundant routed experts/, c.id);
    // The day's layout states 32 redundant experts per pool; LMSYS's file records none.
    assert.equal(e.redundantExperts, c.file === 'deepseek-2025-inference-system' ? 32 : 0, c.id);
  }
  // DeepSeek's profiles state "an absolutely balanced MoE routing strategy": balanced, not EPLB.
  for (const id of ['deepseek-profile-prefill', 'deepseek-profile-decode']) assert.equal(all.find((c) => c.id === id)!.expertLoad?.kind, 'balanced');
  // The provenance of a table-priced EPLB layer: the wide-EP file, the 'uniform' rows and the factor the placement model gives the case.
  const c = all.find((x) => x.id === 'lmsys-prefill-4k')!;
  const f = publishedCaseLoadFactor(c);
  assert.ok(f > 1 && f < 1.05, `${f}`);
  const wide = predictPublishedCase(c, { framework: 'sglang' }).step.kernels!.filter((u) => u.op === 'wideep_moe');
  assert.equal(wide.length, 1);
  assert.ok(wide[0].from.startsWith('data/kernels/h100_sxm/sglang/0.5.14/wideep_moe.csv.gz'));
  assert.ok(wide[0].from.includes(`EPLB: 'uniform' rows at ${f.toFixed(4)} × the layer's tokens`), wide[0].from);
  // 16,384 tokens per GPU over EP32 (the case's profile-data batch) with no redundant copies.
  assert.match(wide[0].from, /uniformRoutingLoadFactor: uniform top-8 routing of 524288 tokens over 32 devices with 0 redundant experts, seed 1, 2 steps/);
  // The same layout without the statement reads the power-law rows, which time the busiest rank without EPLB:
  // H100 SXM's context rows at EP32 and 524,288 tokens, 36,457 µs (power_law_1.01) against 14,264.6 µs (uniform).
  const unstated = predictPublishedCase({ ...c, expertLoad: undefined }, { framework: 'sglang' });
  assert.ok(unstated.predicted < predictPublishedCase(c, { framework: 'sglang' }).predicted);
  assert.ok(unstated.step.kernels!.some((u) => u.op === 'wideep_moe' && !u.from.includes('EPLB')));
  // A dense model states no EPLB, and a case that claims one is refused naming the field.
  const dense = { id: 'x', label: 'x', model: 'llama-3.1-8b', hardware: 'h200', phase: 'prefill', devices: 1, promptTokens: 1024, tokensPerDevice: 8192, published: { value: 1, unit: 'tok/s' }, source: 'a test case written here' };
  const stated = { kind: 'eplb', redundantExperts: 0, seed: 1, steps: 2, source: 'the case says so' };
  assert.throws(() => checkPublishedCase({ ...dense, expertLoad: stated }), (e: unknown) => e instanceof InputError && e.field === 'case.expertLoad.kind');
  const moe = { ...dense, model: 'deepseek-v3', devices: 32, parallelism: { dp: 32, ep: 32 } };
  assert.equal(checkPublishedCase({ ...moe, expertLoad: stated }).expertLoad?.kind, 'eplb');
  assert.throws(() => checkPublishedCase({ ...moe, expertLoad: { ...stated, source: '' } }), (e: unknown) => e instanceof InputError && e.field === 'case.expertLoad.source');
  assert.throws(() => checkPublishedCase({ ...moe, expertLoad: { ...stated, redundantExperts: -1 } }), (e: unknown) => e instanceof InputError && e.field === 'case.expertLoad.redundantExperts');
});
