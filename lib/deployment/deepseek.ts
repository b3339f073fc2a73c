import { loadHardware } from '../hardware/spec.js';
import { loadModel } from '../models/spec.js';
import type { DayCost } from './cost.js';
import { costProfitMargin, dailyCostUsd, dailyRevenueUsd } from './cost.js';
import { evaluateDeployment } from './deployment.js';
import type { DecodePerformance, PrefillPerformance } from './pool.js';
import type { PublishedDay } from './published.js';
import { deepseekPublishedDay } from './published.js';
import { calibratedStepModel, specBoundStepModel } from './perf.js';
import type { PublishedCase } from '../roofline/published.js';
import { publishedCaseLoadFactor, publishedCases } from '../roofline/published.js';
import type { StepModelFactory } from './types.js';

/** One published figure beside the model's prediction. */
export interface PublishedVsPredicted {
  figure: string;
  published: number;
  predicted: number;
  /** predicted / published. */
  ratio: number;
  /** |ratio − 1| ≤ 0.25. */
  within25: boolean;
  /** The same figure at the datasheet bound (every kernel at peak), when computed. */
  bound?: number;
  unit: string;
}

/** DeepSeek's day reproduced: the published arithmetic and the model's prediction side by side. */
export interface DeepseekDayReproduction {
  published: PublishedDay;
  /** The published cost and margin recomputed from the published inputs. */
  arithmetic: { dailyCostUsd: number; revenueUsd: number; margin: number; nodesFromRates: number };
  prefill: PrefillPerformance;
  decode: DecodePerformance;
  /** The day sized and priced at the predicted per-node rates. */
  day: DayCost;
  rows: PublishedVsPredicted[];
  stepModel: string;
  /** Busiest expert device over the mean in each pool, from seeded uniform routing (lib/moe). */
  expertLoadFactor: { prefill: number; decode: number };
}

/**
 * Reproduces DeepSeek's published day (Feb 2025) from the model: the prefill pool
 * (EP32) on DeepSeek's profiling batch of 16K tokens per GPU in 4K-token prompts with
 * the day's 56.3 % cache hits, the decode pool (EP144) on the profiling batch of 128
 * sequences per GPU at the day's published mean KV length (4,989 tokens) with one MTP draft token accepted 85 % of the time, both with FP8 weights
 * and dispatch, BF16 attention and combine and dual micro-batch overlap; then the day
 * sized at the predicted per-node rates and priced at $2 per GPU-hour. Nothing is
 * fitted to the published outputs: `stepModel` (the calibrated performance model by
 * default) decides, and `bound` repeats every figure at the datasheet bound.
 *
 * @example
 * deepseekDayReproduction().rows.map((r) => `${r.figure}: ${r.predicted} vs ${r.published}`)
 */
export function deepseekDayReproduction(opts: { stepModel?: StepModelFactory; bound?: boolean } = {}): DeepseekDayReproduction {
  const factors = loadFactors();
  const main = reproduce(opts.stepModel ?? calibratedStepModel, factors);
  if (opts.bound === false) return main;
  const b = reproduce(specBoundStepModel, factors);
  main.rows.forEach((r, i) => (r.bound = b.rows[i].predicted));
  return main;
}

// The expert load factors are those of the published production cases (lib/roofline),
// built from the same facts: the two layers price the day identically.
function loadFactors(): { prefill: number; decode: number } {
  const cases = publishedCases();
  const of = (id: string): number => publishedCaseLoadFactor(cases.find((c) => c.id === id) as PublishedCase);
  return { prefill: of('deepseek-prefill'), decode: of('deepseek-decode') };
}

function reproduce(make: StepModelFactory, factors: { prefill: number; decode: number }): DeepseekDayReproduction {
  const pub = deepseekPublishedDay();
  const f = pub.figures;
  const w = pub.workload;
  const model = loadModel(pub.model);
  const hw = loadHardware(pub.hardware);
  const load = { inputTokens: f.inputTokens, cacheHitFraction: f.cacheHitFraction, outputTokens: f.outputTokens };
  const prices = { cachedInput: f.priceCachedInputPerMillionUsd, input: f.priceInputPerMillionUsd, output: f.priceOutputPerMillionUsd };
  const gpn = f.gpusPerNode;
  const e = evaluateDeployment({
    model,
    hardware: hw,
    precision: pub.precision,
    prefill: { layout: pub.prefill, tokensPerRank: w.prefillTokensPerGpu },
    decode: { layout: pub.decode, sequencesPerRank: w.decodeSequencesPerGpu, context: w.decodeContextTokens, speculative: { draftTokens: 1, acceptance: w.mtpAcceptance } },
    load: { ...load, promptTokensPerRequest: w.prefillPromptTokens },
    pricePerDeviceHour: f.pricePerGpuHourUsd,
    granularity: 'fractional',
    stepModel: make,
    expertLoadFactor: factors,
  });
  const { prefill, decode, day } = e;
  const revenue = dailyRevenueUsd(load, prices);
  const nodesFromRates = (f.inputTokens / f.prefillTokensPerNodePerSecond + f.outputTokens / f.decodeTokensPerNodePerSecond) / 86400;
  const row = (figure: string, published: number, predicted: number, unit: string): PublishedVsPredicted => ({
    figure,
    published,
    predicted,
    ratio: predicted / published,
    within25: Math.abs(predicted / published - 1) <= 0.25,
    unit,
  });
  const rows = [
    row('prefill input tokens/s per node (cache hits counted)', f.prefillTokensPerNodePerSecond, prefill.inputTokensPerSecondPerDevice * gpn, 'tok/s'),
    row('decode output tokens/s per node', f.decodeTokensPerNodePerSecond, decode.tokensPerSecondPerDevice * gpn, 'tok/s'),
    row('output tokens/s per user', (f.outputTokensPerUserLow + f.outputTokensPerUserHigh) / 2, decode.tokensPerSecondPerUser, 'tok/s'),
    row('average nodes', f.averageNodes, day.averageNodes, 'nodes'),
    row('daily cost', f.dailyCostUsd, day.costUsd, 'USD'),
    row('cost-profit margin at R1 prices', f.margin, costProfitMargin(revenue, day.costUsd), '×'),
  ];
  return {
    published: pub,
    arithmetic: { dailyCostUsd: dailyCostUsd(f.averageNodes, gpn, f.pricePerGpuHourUsd), revenueUsd: revenue, margin: costProfitMargin(revenue, f.dailyCostUsd), nodesFromRates },
    prefill,
    decode,
    day,
    rows,
    stepModel: e.stepModel,
    expertLoadFactor: factors,
  };
}
