import { loadHardware } from '../hardware/spec.js';
import { loadModel } from '../models/spec.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import { loadPromptMix, promptMixStats, scalePromptMix } from '../attention/prompts.js';
import type { DayCost } from './cost.js';
import { costProfitMargin, dailyCostUsd, dailyRevenueUsd } from './cost.js';
import { evaluateDeployment } from './deployment.js';
import type { DecodePerformance, PrefillPerformance } from './pool.js';
import { decodeAtUserSpeed, decodePerformance, prefillPerformance } from './pool.js';
import type { PublishedDay } from './published.js';
import { deepseekPublishedDay } from './published.js';
import { calibratedStepModel, specBoundStepModel } from './perf.js';
import type { PublishedCase } from '../roofline/published.js';
import { publishedCases } from '../roofline/published.js';
import type { DeviceStepInput, DeviceStepModel, StepModelFactory } from './types.js';

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
  /** 'tok/s', 'nodes', 'USD' or '%' (the margin, in percent as DeepSeek published it). */
  unit: string;
}

/** DeepSeek's day reproduced: the published arithmetic and the model's prediction side by side. */
export interface DeepseekDayReproduction {
  published: PublishedDay;
  /** The published cost and margin recomputed from the published inputs. */
  arithmetic: { dailyCostUsd: number; revenueUsd: number; margin: number; nodesFromRates: number };
  prefill: PrefillPerformance;
  /**
   * The decode pool at its served operating point: the most sequences per GPU at which
   * each user still gets the published 20-22 tokens/s (midpoint), not the profiling
   * batch: the published rates are throughput at the load served, not capacity.
   */
  decode: DecodePerformance;
  /** The day sized and priced at the predicted per-node rates. */
  day: DayCost;
  rows: PublishedVsPredicted[];
  /** The decode pool at DeepSeek's profiling batch (128 sequences per GPU): its capacity. */
  decodeCapacity: DecodePerformance;
  /**
   * Published rate over predicted capacity (prefill at the profiling batch, decode at
   * the profiling batch), per pool: the share of its capacity the day used if the model
   * is right. Beside it, what DeepSeek's own profile implies: the day's
   * computed prefill tokens and output tokens per node over the per-node throughput of
   * DeepSeek's profiling runs (as LMSYS derived it; data/published).
   */
  utilisation: { prefill: number; decode: number; profile: { prefill: number; decode: number } };
  stepModel: string;
  /** Busiest expert device over the mean in each pool, from seeded uniform routing (lib/moe). */
  expertLoadFactor: { prefill: number; decode: number };
  /**
   * The shape of the prefill prompts, when the published file names a prompt mix: its
   * name, and the keys each computed token attends to in it and in prompts all of the
   * mean lengths.
   */
  prefillPromptMix?: {
    name: string;
    /** The mix's provenance (its file's comment lines). */
    source: string;
    /** Mean prompt of the mix as shipped (another service's). */
    originalMeanPromptTokens: number;
    attentionPairsPerComputedToken: number;
    alikePairsPerComputedToken: number;
    /** The prefill figure priced with every prompt of the mean lengths instead. */
    alikeInputTokensPerNodePerSecond: number;
    /**
     * Share of the gap between DeepSeek's profiling run and the day (computed prompt
     * tokens per node, in log terms) that the model's own day-over-profile ratio reproduces.
     */
    explainedShareOfProfileGap: number;
  };
}

/**
 * Reproduces DeepSeek's published day (Feb 2025) from the model, from the facts of
 * data/published/deepseek-2025-inference-system.json (the same the published-case
 * table prices, so the two agree): the prefill pool (EP32) at its capacity on
 * DeepSeek's profiling batch of 16K computed tokens per GPU in prompts of 4K tokens on
 * average with the day's 56.3 % cache hits (attended to, not computed), shaped like the
 * prompt mix the file names (a production chat trace's, data/traces); the decode pool (EP144) at
 * its served operating point, the most sequences per GPU at which each user still gets
 * the published 20-22 tokens/s, at the day's mean KV length (4,989 tokens) with one
 * MTP draft token accepted 85 % of the time, and at the profiling batch of 128 for its
 * capacity; both with FP8 weights and dispatch, BF16 attention and combine and dual
 * micro-batch overlap; then the day sized at the predicted per-node rates and priced at
 * $2 per GPU-hour. `utilisation` sets the published rates against the predicted
 * capacities, beside what DeepSeek's own profiling runs imply. Nothing is fitted to the
 * published outputs: `stepModel` (the calibrated performance model by default) decides,
 * and `bound` repeats every figure at the datasheet bound.
 *
 * @example
 * deepseekDayReproduction().rows.map((r) => `${r.figure}: ${r.predicted} vs ${r.published}`)
 */
export function deepseekDayReproduction(opts: { stepModel?: StepModelFactory; bound?: boolean } = {}): DeepseekDayReproduction {
  const main = reproduce(opts.stepModel ?? calibratedStepModel);
  if (opts.bound === false) return main;
  const b = reproduce(specBoundStepModel);
  main.rows.forEach((r, i) => (r.bound = b.rows[i].predicted));
  return main;
}

// The day's source states EPLB with 32 redundant experts in each pool: both pools are priced
// under expertRouting 'eplb', as the published deepseek-* cases are (lib/roofline), the
// placement model giving each step's load factor at its own tokens.
const EPLB = { expertRouting: 'eplb' } as const;

/** The load factor the placement model priced a step at (1 when the step states no EPLB). */
function stepLoadFactor(step: DeviceStepModel, input: DeviceStepInput): number {
  return step.step(input).expertLoad?.factor ?? 1;
}

function reproduce(make: StepModelFactory): DeepseekDayReproduction {
  const pub = deepseekPublishedDay();
  const f = pub.figures;
  const w = pub.workload;
  const model = loadModel(pub.model);
  const hw = loadHardware(pub.hardware);
  const load = { inputTokens: f.inputTokens, cacheHitFraction: f.cacheHitFraction, outputTokens: f.outputTokens };
  const prices = { cachedInput: f.priceCachedInputPerMillionUsd, input: f.priceInputPerMillionUsd, output: f.priceOutputPerMillionUsd };
  const gpn = f.gpusPerNode;
  const perUser = (f.outputTokensPerUserLow + f.outputTokensPerUserHigh) / 2;
  const speculative = { draftTokens: 1, acceptance: w.mtpAcceptance };
  // Decode runs at its served operating point: the most sequences per GPU at which each
  // user still gets the published speed (the published rates are throughput at the load
  // served). The profiling batch gives the pool's capacity, reported beside it.
  const decodeStep = make(model, hw, pub.decode, pub.precision, 'decode', EPLB);
  const served = decodeAtUserSpeed(decodeStep, pub.decode, { context: w.decodeContextTokens, tokensPerSecondPerUser: perUser, speculative });
  const capacity = decodePerformance(decodeStep, pub.decode, { sequencesPerRank: w.decodeSequencesPerGpu, context: w.decodeContextTokens, speculative });
  const e = evaluateDeployment({
    model,
    hardware: hw,
    precision: pub.precision,
    prefill: { layout: pub.prefill, tokensPerRank: w.prefillTokensPerGpu },
    decode: { layout: pub.decode, sequencesPerRank: served.sequencesPerRank, context: w.decodeContextTokens, speculative },
    load: { ...load, promptTokensPerRequest: w.prefillPromptTokens, ...(pub.prefillPromptMix === undefined ? {} : { promptMix: loadPromptMix(pub.prefillPromptMix) }) },
    pricePerDeviceHour: f.pricePerGpuHourUsd,
    granularity: 'fractional',
    stepModel: make,
    expertRouting: 'eplb',
  });
  const prefillStep = make(model, hw, pub.prefill, pub.precision, 'prefill', EPLB);
  const factors = {
    prefill: stepLoadFactor(prefillStep, { prefillTokens: w.prefillTokensPerGpu, decodeSequences: 0, decodeContext: 0 }),
    decode: stepLoadFactor(decodeStep, { prefillTokens: 0, decodeSequences: served.sequencesPerRank, decodeContext: w.decodeContextTokens, decodeTokensPerSequence: 1 + speculative.draftTokens }),
  };
  const { prefill, decode, day } = e;
  const cases = publishedCases();
  const profileRate = (id: string): number => (cases.find((c) => c.id === id) as PublishedCase).published.value;
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
    row('decode output tokens/s per node (at the published per-user speed)', f.decodeTokensPerNodePerSecond, decode.tokensPerSecondPerDevice * gpn, 'tok/s'),
    row('decode capacity: output tokens/s per node at the profiling batch', f.decodeTokensPerNodePerSecond, capacity.tokensPerSecondPerDevice * gpn, 'tok/s'),
    row('average nodes', f.averageNodes, day.averageNodes, 'nodes'),
    row('daily cost', f.dailyCostUsd, day.costUsd, 'USD'),
    row('cost-profit margin at R1 prices', 100 * f.margin, 100 * costProfitMargin(revenue, day.costUsd), '%'),
  ];
  return {
    published: pub,
    arithmetic: { dailyCostUsd: dailyCostUsd(f.averageNodes, gpn, f.pricePerGpuHourUsd), revenueUsd: revenue, margin: costProfitMargin(revenue, f.dailyCostUsd), nodesFromRates },
    prefill,
    decode,
    day,
    rows,
    decodeCapacity: capacity,
    utilisation: {
      prefill: f.prefillTokensPerNodePerSecond / (prefill.inputTokensPerSecondPerDevice * gpn),
      decode: f.decodeTokensPerNodePerSecond / (capacity.tokensPerSecondPerDevice * gpn),
      profile: {
        prefill: (f.prefillTokensPerNodePerSecond * (1 - f.cacheHitFraction)) / profileRate('deepseek-profile-prefill'),
        decode: f.decodeTokensPerNodePerSecond / profileRate('deepseek-profile-decode'),
      },
    },
    stepModel: e.stepModel,
    expertLoadFactor: factors,
    ...(pub.prefillPromptMix === undefined ? {} : { prefillPromptMix: mixSummary(make, pub, prefill.computedTokensPerSecondPerDevice, profileRate('deepseek-profile-prefill')) }),
  };
}

// The prompt mix's part in the prefill figure, with the same per-device model as the
// reproduction: the mix as shipped and as priced, the figure with every prompt alike, and
// how much of the day-versus-profile gap the model's own day-versus-profile ratio carries.
function mixSummary(make: StepModelFactory, pub: PublishedDay, dayComputedPerDevice: number, profilePerNode: number): NonNullable<DeepseekDayReproduction['prefillPromptMix']> {
  const f = pub.figures;
  const w = pub.workload;
  const model = loadModel(pub.model);
  const hw = loadHardware(pub.hardware);
  const hit = f.cacheHitFraction;
  const name = pub.prefillPromptMix as string;
  const mix = loadPromptMix(name);
  const s = promptMixStats(scalePromptMix(mix, { meanPromptTokens: w.prefillPromptTokens, cacheHitFraction: hit }));
  const cached = s.meanPromptTokens - s.meanComputedTokens;
  const step = make(model, hw, pub.prefill, pub.precision, 'prefill', EPLB);
  const alike = prefillPerformance(step, pub.prefill, { tokensPerRank: w.prefillTokensPerGpu, promptTokens: Math.max(1, w.prefillPromptTokens - w.prefillPromptTokens * hit), cachedTokens: w.prefillPromptTokens * hit });
  // DeepSeek's profiling run: the same pool, balanced experts, whole prompts computed.
  const profile = prefillPerformance(make(model, hw, pub.prefill, pub.precision, 'prefill', {}), pub.prefill, { tokensPerRank: w.prefillTokensPerGpu, promptTokens: w.prefillPromptTokens });
  const servedOverProfile = (f.prefillTokensPerNodePerSecond * (1 - hit)) / profilePerNode;
  const modelOverProfile = dayComputedPerDevice / profile.computedTokensPerSecondPerDevice;
  return {
    name,
    source: mix.source,
    originalMeanPromptTokens: promptMixStats(mix).meanPromptTokens,
    attentionPairsPerComputedToken: s.attentionPairsPerComputedToken,
    alikePairsPerComputedToken: prefillAttentionPairs(s.meanComputedTokens, cached) / s.meanComputedTokens,
    alikeInputTokensPerNodePerSecond: alike.inputTokensPerSecondPerDevice * f.gpusPerNode,
    explainedShareOfProfileGap: Math.log(modelOverProfile) / Math.log(servedOverProfile),
  };
}
