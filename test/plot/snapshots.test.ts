// Golden-file snapshots of every chart builder in lib/plot (see ./golden.ts). Inputs are
// small hand-made fixtures for measured data and seeded library calls for models, so a
// golden changes only when a builder or a model it draws changes. After an intended
// change: BATCHLAB_UPDATE_GOLDEN=1 node scripts/test.mjs test/plot
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as aq from 'arquero';
import * as plot from '../../lib/plot/index.js';
import type { GemmRow } from '../../lib/gemm/index.js';
import type { GroupedExpertsSummary } from '../../lib/gemm/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel, modelAttentionShape, decodeTraffic, kvBatchLimits, disaggregationTable } from '../../lib/models/index.js';
import { decodeOpRoofline, decodeThroughputCurve, rooflineMatmulCost } from '../../lib/roofline/index.js';
import type { PublishedComparison, PublishedMethodRow, StepTime } from '../../lib/roofline/index.js';
import type { AttentionRow } from '../../lib/attention/index.js';
import { raggedStrategyTable } from '../../lib/attention/index.js';
import { calibratedStepModel, candidateLayouts, deploymentFrontier, evaluateSearchSpace, uniformPrecision } from '../../lib/deployment/index.js';
import type { PublishedVsPredicted } from '../../lib/deployment/index.js';
import { moeRoutingSweep, moeImbalanceSweep, moeEfficiencyCurve } from '../../lib/moe/index.js';
import { pipelineSchedule, pipelineBubbleSweep, pipelineWindowSweep } from '../../lib/pipeline/index.js';
import type { MatmulCostModel, MatmulShape } from '../../lib/core/types.js';
import { fittedRooflineCurves, specRooflineCurves } from '../../lib/cost/index.js';
import { assertMatchesGolden, GOLDEN_DIR, roundForGolden } from './golden.js';

// ---- fixtures: measured data, made by hand
function gemmRow(m: number, k: number, seconds: number, extra: Partial<GemmRow> = {}): GemmRow {
  const flops = 2 * m * k * k;
  return {
    case: 'sweep', variant: 'plain', m, k, n: k, batch: 1, calls: 1, dtype: 'fp32', backend: 'tensorflow', device: 'cpu', host: 'h', versions: '',
    timestamp: '', sync: 'return', warmup: 1, reps: 5, median_s: seconds, p10_s: seconds * 0.9, p90_s: seconds * 1.2, mean_s: seconds, cv: 0.1,
    flops, bytes: 4 * (m * k + k * k + m * k), weight_bytes: 4 * k * k, gflops: flops / seconds / 1e9, weight_gbps: (4 * k * k) / seconds / 1e9, detail: '', ...extra,
  };
}
const gemmRows: GemmRow[] = [
  ...[1, 4, 16, 64, 256].map((m) => gemmRow(m, 1024, 2e-4 + m * 2e-6)),
  ...[1, 4, 16, 64, 256].map((m) => gemmRow(m, 64, 1e-5 + m * 1e-8)),
  ...[1, 16, 256].map((m) => gemmRow(m, 1024, 1e-5 + m * 1e-8, { backend: 'torch-cuda', device: 'NVIDIA H200', dtype: 'bf16' })),
];
const summary = (active: number, total: number, max: number, batched: number, separate: number, dense: number): GroupedExpertsSummary => ({
  activeExperts: active, totalTokens: total, maxTokens: max, paddingEfficiency: total / (active * max),
  batchedSeconds: batched, separateSeconds: separate, denseSeconds: dense, batchedSpeedup: separate / batched, expertPenalty: separate / dense,
  // Five repetitions spread −10 % / +20 % around each median: the chart's p10–p90 bars.
  timings: Object.fromEntries((['batched', 'separate', 'dense'] as const).map((k, i) => {
    const m = [batched, separate, dense][i];
    return [k, { median: m, p10: 0.9 * m, p90: 1.2 * m, mean: m, cv: 0.1, n: 5 }];
  })) as GroupedExpertsSummary['timings'],
});
const servingPoints = [
  { policy: 'window', windowMs: 10, e2eP99: 0.8, throughputTokS: 900 },
  { policy: 'window', windowMs: 50, e2eP99: 1.2, throughputTokS: 1500 },
  { policy: 'window', windowMs: 200, e2eP99: 2.5, throughputTokS: 1700 },
  { policy: 'continuous', windowMs: 0, e2eP99: 0.6, throughputTokS: 1400 },
  { policy: 'continuous', windowMs: 0, e2eP99: 0.9, throughputTokS: 2100 },
];
// A tick-window sweep at two loads, and the load each window carries under a latency limit.
const windowRows = [0, 50, 200].flatMap((w, i) => [
  { replica: 'H100', loadLabel: '20 % load', windowMs: w, itlP99: 0.02 * (1 + i), busySecondsPer1kTokens: 1.2 / (1 + i) },
  { replica: 'H100', loadLabel: '80 % load', windowMs: w, itlP99: 0.05 * (1 + 2 * i), busySecondsPer1kTokens: 0.4 / (1 + 0.5 * i) },
]);
const loadLimitRows = [
  { replica: 'H100', policy: 'window', windowMs: 0, load: 0.9, ratePerSecond: 9, limits: 'p99 ITL ≤ 250 ms' },
  { replica: 'H100', policy: 'window', windowMs: 200, load: 0.5, ratePerSecond: 5, limits: 'p99 ITL ≤ 250 ms' },
  { replica: 'H100', policy: 'window', windowMs: 500, load: 0, ratePerSecond: 0, brokenAtLoad: 0.05, brokenLimits: 'itlP99', limits: 'p99 ITL ≤ 250 ms' },
  { replica: 'H200', policy: 'window', windowMs: 0, load: 1.1, ratePerSecond: 14, limits: 'p99 ITL ≤ 250 ms' },
  { replica: 'H200', policy: 'window', windowMs: 200, load: 0.7, ratePerSecond: 9, limits: 'p99 ITL ≤ 250 ms' },
];
// A closed-loop curve with X_max = 100 req/s and N* = 5 clients (R(1) + Z = 0.05 s).
const concurrencyCurve = {
  table: [1, 4, 16, 64].map((n) => ({ clients: n, throughputRps: Math.min(20 * n, 100) * (n > 5 ? 0.95 : 1), itlP50: 0.01 * (1 + n / 16) })),
  maxThroughputRps: 100,
  saturationClients: 5,
};
// vs_padded is the per-round paired ratio; NaN (a row without it) falls back to the ratio of medians.
const attentionRow = (strategy: AttentionRow['strategy'], spread: string, median: number, vsPadded: number): AttentionRow =>
  ({ case: 'decode-attention', strategy, spread, batch: 8, median_s: median, p10_s: median * 0.9, p90_s: median * 1.2, kernels: strategy === 'per-sequence' ? 8 : 1, vs_padded: vsPadded }) as AttentionRow;
const attentionRows: AttentionRow[] = [
  attentionRow('padded', 'equal', 2e-3, 1), attentionRow('exact-shape', 'equal', 1.9e-3, 0.96), attentionRow('per-sequence', 'equal', 6e-3, 2.9),
  attentionRow('padded', 'wide', 4e-3, 1), attentionRow('exact-shape', 'wide', 6e-3, 1.52), attentionRow('per-sequence', 'wide', 7e-3, NaN),
];
const publishedRows: PublishedVsPredicted[] = [
  { figure: 'decode tokens/s per node', published: 14800, predicted: 16000, ratio: 16000 / 14800, within25: true, unit: 'tok/s', bound: 30000 },
  { figure: 'cost per day', published: 87072, predicted: 60000, ratio: 60000 / 87072, within25: false, unit: 'USD', bound: 40000 },
];
const servingFront = [servingPoints[0], servingPoints[1], servingPoints[2], servingPoints[3], servingPoints[4]];

// ---- fixtures: models, computed by the library with fixed seeds
const h100 = loadHardware('h100-sxm');
const opRows = decodeOpRoofline(loadModel('llama-3.1-8b'), h100, { dtype: 'bf16', batch: 32, context: 1024 });
const routing = moeRoutingSweep({ models: [{ label: 'A', experts: 8, topK: 2 }, { label: 'B', experts: 64, topK: 4 }], tokens: [1, 10, 100], trials: 20, seed: 1 });
// A linear toy cost (1 ms per GFLOP plus 1 µs) keeps the efficiency curve independent of any hardware catalogue.
const toyCost: MatmulCostModel = { kind: 'roofline', label: 'toy', matmulSeconds: (s: MatmulShape) => 1e-6 + (2 * s.m * s.k * s.n * (s.batch ?? 1)) / 1e12 };
const layerShape = { experts: 16, topK: 2, hiddenSize: 256, expertIntermediate: 128 };
const llama70b = loadModel('llama-3.1-70b');
const h200 = loadHardware('h200');
// A fixed pair of comparisons, so that the goldens test the chart builders and not the model's current numbers.
const breakdown = (gemm: number, attention: number, comm: number): StepTime['breakdown'] => ({
  gemmSeconds: gemm, attentionSeconds: attention, elementwiseSeconds: 0.2 * (gemm + attention), launchSeconds: 1e-4, tensorParallelSeconds: comm, dispatchSeconds: 0, combineSeconds: 0, pipelineSeconds: 0,
  computeSeconds: 1.2 * (gemm + attention) + 1e-4, communicationSeconds: comm, exposedCommunicationSeconds: comm, computeBoundSeconds: gemm, memoryBoundSeconds: attention, flopSeconds: gemm, byteSeconds: attention,
});
const fixedStep = (gemm: number, attention: number, comm: number, bound: StepTime['bound']): StepTime => {
  const b = breakdown(gemm, attention, comm);
  return { seconds: b.computeSeconds + comm, intervalSeconds: b.computeSeconds + comm, bound, breakdown: b, devices: 8, efficiency: 'calibrated' } as StepTime;
};
// Fixed method rows: one built-beside case whose device has no kernel table, one held-out case the database prices.
const methodRows: PublishedMethodRow[] = [
  { id: 'a-decode', label: 'A decode', file: 'file-a', hardware: 'h800', heldOut: false, unit: 'tokens/s', published: 1000, calibrated: 1100, kernelDb: 1100, kernelDbTableShare: 0, spec: 2000 },
  { id: 'b-offline', label: 'B offline', file: 'file-b', hardware: 'h200', heldOut: true, unit: 'tokens/s', published: 500, calibrated: 250, kernelDb: 400, kernelDbTableShare: 0.9, kernelDbTables: 'sglang', spec: null, specMissing: 'memory' },
  // A time: its bound lies below 1, and its row and the axis say so.
  { id: 'c-itl', label: 'C ITL', file: 'file-b', hardware: 'h200', heldOut: true, unit: 'ms per output token (mean TPOT)', published: 20, calibrated: 18, kernelDb: 22, kernelDbTableShare: 1, kernelDbTables: 'vllm', spec: 6 },
];
const comparisons: PublishedComparison[] = [
  { id: 'fixture-prefill', label: 'A prefill case, 4K prompts', unit: 'input tokens/s per node', published: 50000, predicted: 55000, error: 0.1, step: fixedStep(0.03, 0.01, 0.005, 'compute'), source: 'fixture' },
  { id: 'fixture-decode', label: 'A decode case, 2K context', unit: 'output tokens/s per node', published: 20000, predicted: 15000, error: -0.25, step: fixedStep(0.01, 0.02, 0.004, 'memory'), source: 'fixture', sequencesPerDevice: 128 },
];
const frontier = deploymentFrontier(
  evaluateSearchSpace({
    model: llama70b, hardware: [h100], layouts: candidateLayouts(llama70b), precisions: [uniformPrecision('bf16')], batches: [8, 32, 128],
    load: { requestsPerSecond: 20, promptTokens: 1500, outputTokens: 400 },
    // The chart's fixture, pinned to one step model (not the default engine's tables, which may be updated).
    stepModel: calibratedStepModel,
  }),
);
const pipelineSpec = { layers: 10, stages: 4, layerSeconds: 1e-3, transferSeconds: 1e-4 };

// Server predictions: measured markers against predicted lines, and the signed errors.
const predictionPoints = aq.from([
  { model: 'dense', kind: 'window', windowMs: 0, maxBatch: 8, measuredTtftP50: 0.03, predictedTtftP50: 0.028 },
  { model: 'dense', kind: 'window', windowMs: 30, maxBatch: 8, measuredTtftP50: 0.05, predictedTtftP50: 0.046 },
  { model: 'MoE', kind: 'window', windowMs: 0, maxBatch: 8, measuredTtftP50: 0.06, predictedTtftP50: 0.066 },
  { model: 'MoE', kind: 'window', windowMs: 30, maxBatch: 8, measuredTtftP50: 0.09, predictedTtftP50: 0.08 },
]);
const predictionErrors = aq.from([
  { model: 'dense', policy: 'continuous', point: 'light', metric: 'TTFT p50 (s)', error: 0.04 },
  { model: 'dense', policy: 'continuous', point: 'light', metric: 'ITL p50 (s)', error: -0.12 },
  { model: 'MoE', policy: 'window 30 ms', point: 'knee', metric: 'throughput (tok/s)', error: 0.02 },
]);

const builders: Record<string, () => unknown> = {
  predictionChart: () => plot.predictionChart(predictionPoints, { x: 'windowMs', y: 'ttft', kind: 'window' }),
  predictionErrorChart: () => plot.predictionErrorChart(predictionErrors),
  batchLatencyThroughputChart: () =>
    plot.batchLatencyThroughputChart([1, 2, 4, 8].map((m) => ({ m, median_s: 1e-3 + m * 1e-5, p10_s: 0.9e-3 + m * 1e-5, p90_s: 1.2e-3 + m * 1e-5 })), { title: 'sweep', label: 'cpu' }),
  gemmLatencyChart: () => plot.gemmLatencyChart(gemmRows),
  gemmThroughputChart: () =>
    plot.gemmThroughputChart(gemmRows, {
      curves: [
        ...fittedRooflineCurves({ overheadSeconds: 1e-5, peakFlopsPerSecond: 1e11, bytesPerSecond: 1e10, dtype: 'fp32', label: 'fit' }, gemmRows),
        ...specRooflineCurves([{ label: 'H100 bf16', peakFlopsPerSecond: 989.5e12, bytesPerSecond: 3.35e12, dtype: 'bf16' }], gemmRows),
      ],
    }),
  gemmOneVsManyChart: () => plot.gemmOneVsManyChart([1, 2, 4, 8].map((b) => ({ batch: b, oneSeconds: 1e-3, manySeconds: b * 1e-3, speedup: b / (1 + 0.1 * b), speedupLow: b / (1 + 0.12 * b), speedupHigh: b / (1 + 0.08 * b) }))),
  gemmGroupedExpertsChart: () => plot.gemmGroupedExpertsChart([{ label: 'few', summary: summary(3, 5, 3, 3e-3, 4e-3, 1e-3) }, { label: 'many', summary: summary(8, 800, 120, 9e-3, 10e-3, 7e-3) }]),
  rooflineChart: () => plot.rooflineChart([{ label: 'H100 bf16', hw: h100, dtype: 'bf16', rows: opRows }]),
  rooflineOpTimeChart: () => plot.rooflineOpTimeChart(opRows),
  rooflineThroughputChart: () =>
    plot.rooflineThroughputChart([{ label: 'Llama-3.1-8B on H100', points: decodeThroughputCurve(loadModel('llama-3.1-8b'), h100, { dtype: 'bf16', context: 0, batches: [1, 16, 256] }) }]),
  rooflineCriticalBatchChart: () =>
    plot.rooflineCriticalBatchChart([
      { series: 'bf16', hardware: 'H100', criticalBatch: 300 },
      { series: 'fp8', hardware: 'H100', criticalBatch: 600 },
      { series: 'bf16', hardware: 'H200', criticalBatch: Infinity },
    ]),
  servingFrontierChart: () => plot.servingFrontierChart(servingPoints, servingFront, { groupBy: 'policy' }),
  windowCatchChart: () =>
    plot.windowCatchChart([10, 100, 1000].flatMap((rate) => [5, 50].map((w) => ({ ratePerSecond: rate, windowMs: w, meanAdmitted: Math.max(1, (rate * w) / 1000) })))),
  servingBatchSizeChart: () => plot.servingBatchSizeChart({ continuous: [0, 5, 3, 0, 2], 'window 50 ms': Float64Array.of(0, 0, 1, 4) }),
  moeDistinctExpertsChart: () => plot.moeDistinctExpertsChart(routing, { markBatches: [10] }),
  moeTokensPerExpertChart: () => plot.moeTokensPerExpertChart(routing, { markBatches: [10] }),
  moeImbalanceChart: () =>
    plot.moeImbalanceChart(moeImbalanceSweep({ experts: 16, topK: 2, tokens: 64, devices: 4, zipfExponents: [0, 1], redundant: [0, 4], steps: 10, warmupSteps: 5, seed: 1 })),
  moeEfficiencyChart: () =>
    plot.moeEfficiencyChart([{ label: 'toy', rows: moeEfficiencyCurve(layerShape, toyCost, { dtype: 'fp32', tokens: [1, 10, 100, 1000], efficiency: 0.8 }) }], { markBatches: [10] }),
  moeGroupedBenchChart: () => plot.moeGroupedBenchChart([{ label: '10 requests', ...summary(3, 5, 3, 3e-3, 4e-3, 1e-3) }, { label: '4000 requests', ...summary(8, 800, 120, 9e-3, 10e-3, 7e-3) }]),
  pipelineGanttChart: () => plot.pipelineGanttChart(pipelineSchedule(pipelineSpec, { kind: 'fill-drain', microBatches: 3, microBatchSize: 2 })),
  pipelineBubbleChart: () =>
    plot.pipelineBubbleChart(pipelineBubbleSweep({ layers: 10, stages: [2, 4], microBatches: [1, 2, 4, 8], layerSeconds: 1e-3, transferSeconds: 1e-4 }), { target: 0.1 }),
  pipelineWindowChart: () =>
    plot.pipelineWindowChart(pipelineWindowSweep({ stages: [2, 4], arrivalRates: [10, 100], targetBubble: 0.2, microBatchSize: 4, layers: 12, layerSeconds: 1e-3, transferSeconds: 1e-4 })),
  windowEffectChart: () => plot.windowEffectChart(windowRows, { groupBy: ['replica', 'loadLabel'] }),
  servingLoadLimitChart: () => plot.servingLoadLimitChart(loadLimitRows),
  concurrencyCurveChart: () => plot.concurrencyCurveChart(concurrencyCurve),
  publishedCurvesChart: () =>
    plot.publishedCurvesChart([
      {
        label: 'hand-made curve A',
        points: [1, 10, 100].map((n) => ({ concurrency: n, published: { itlMs: 10 + n / 10, outputTokensPerSecond: Math.min(100 * n, 5000) }, predicted: { itlMs: 12 + n / 8, outputTokensPerSecond: Math.min(90 * n, 4000) } })),
      },
      { label: 'hand-made curve B', points: [{ concurrency: 2, published: { itlMs: 5, outputTokensPerSecond: 400 }, predicted: { itlMs: 6, outputTokensPerSecond: 330 } }] },
    ]),
  attentionStrategiesChart: () => plot.attentionStrategiesChart(attentionRows),
  raggedPredictionChart: () =>
    plot.raggedPredictionChart(raggedStrategyTable(modelAttentionShape(llama70b), { lengths: [100, 900, 900, 2000], dtype: 'bf16', cost: rooflineMatmulCost(h100, 'bf16'), launchSeconds: 4e-6 })),
  decodeTrafficChart: () =>
    plot.decodeTrafficChart([...decodeTraffic(llama70b, { batch: 64, contexts: [1024, 8192, 65536], dtype: 'bf16' }), ...decodeTraffic(loadModel('deepseek-v3'), { batch: 64, contexts: [1024, 8192, 65536], dtype: 'bf16' })]),
  kvBatchLimitChart: () =>
    plot.kvBatchLimitChart(kvBatchLimits([{ model: llama70b, hardware: h100, devices: 8, dtype: 'bf16' }, { model: llama70b, hardware: h200, devices: 8, dtype: 'bf16' }], { contexts: [2048, 16384, 131072] })),
  disaggregationChart: () =>
    plot.disaggregationChart(
      disaggregationTable(loadModel('deepseek-v3'), {
        cost: rooflineMatmulCost(h200, 'fp8'), dtype: 'fp8', context: 4096, batch: 2048, splits: [[4, 12], [8, 8]],
        linkBytesPerSecond: h200.interNodeBytesPerSecond, deviceMemoryBytes: h200.memoryCapacityBytes,
      }),
    ),
  deploymentFrontierChart: () =>
    plot.deploymentFrontierChart({ 'llama-3.1-70b on H100': frontier }, { marks: [{ label: 'home', tokensPerSecondPerUser: 5, tokensPerSecondPerDevice: 5 }] }),
  publishedVsPredictedChart: () => plot.publishedVsPredictedChart(publishedRows),
  localSetupChart: () =>
    plot.localSetupChart([
      { label: 'laptop', tokensPerSecondPerUser: 3.2, usdPerMillionOutput: 12.5, basis: 'bound' },
      { label: '8× H800 at scale', tokensPerSecondPerUser: 20, usdPerMillionOutput: 0.35, kind: 'scale', basis: 'published' },
    ], { note: 'Purchase price amortised over 3 years of 8,760 hours.' }),
  publishedComparisonChart: () => plot.publishedComparisonChart(comparisons),
  publishedMethodChart: () => plot.publishedMethodChart(methodRows),
  stepBreakdownChart: () => plot.stepBreakdownChart(comparisons.map((c) => ({ label: c.id, step: c.step }))),
};

for (const [name, build] of Object.entries(builders)) {
  test(`${name}(fixture) matches its golden plotly spec (test/plot/golden/${name}.json)`, () => {
    const spec = build() as { data: unknown[]; layout: object };
    assert.ok(Array.isArray(spec.data) && spec.data.length > 0 && typeof spec.layout === 'object', `${name} returns { data, layout }`);
    assertMatchesGolden(name, spec);
  });
}

test('every chart builder exported by lib/plot has a golden snapshot here', () => {
  // Builders are the exported functions whose names end in "Chart".
  const exported = Object.entries(plot).filter(([n, v]) => typeof v === 'function' && n.endsWith('Chart')).map(([n]) => n).sort();
  const missing = exported.filter((n) => !(n in builders));
  assert.deepEqual(missing, [], `chart builders without a snapshot test: ${missing.join(', ')}; add them to test/plot/snapshots.test.ts`);
  // And no golden is left over from a builder that is gone.
  const goldens = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json') && !f.endsWith('-changed.json')).map((f) => f.replace(/\.json$/, ''));
  assert.deepEqual(goldens.filter((g) => !(g in builders)), []);
});

test('roundForGolden keeps 4 significant digits and writes non-finite numbers as strings', () => {
  assert.deepEqual(roundForGolden({ a: 1.23456789, b: [12345.678, -0.0000123449], c: Infinity, d: Float64Array.of(0.1 + 0.2), e: undefined }), {
    a: 1.235, b: [12350, -0.00001234], c: 'Infinity', d: [0.3],
  });
});
