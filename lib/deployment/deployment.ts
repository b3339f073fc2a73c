import type { HardwareSpec } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { kvBytesPerToken } from '../models/params.js';
import { precisionOfClasses } from '../roofline/deployment.js';
import type { ExpertRouting } from '../roofline/deployment.js';
import type { PromptMix, PromptMixStats } from '../attention/prompts.js';
import { promptMixStats, scalePromptMix } from '../attention/prompts.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber } from '../util/validate.js';
import type { DailyLoad, DayCost } from './cost.js';
import { checkDailyLoad, checkPrice, priceDay } from './cost.js';
import { resolveLayout } from './layout.js';
import { defaultStepModel } from './perf.js';
import type { DecodePerformance, PrefillPerformance, SpeculativeDecoding } from './pool.js';
import { decodePerformance, prefillPerformance } from './pool.js';
import type { DeploymentPrecision, PoolLayout, StepModelFactory } from './types.js';

/**
 * A disaggregated deployment: a model on hardware at a precision, a prefill pool and a
 * decode pool (each with its layout and its batch), a day of load, and a price.
 */
export interface Deployment {
  model: ModelSpec;
  hardware: HardwareSpec;
  precision: DeploymentPrecision;
  prefill: { layout: PoolLayout; tokensPerRank: number };
  /** `context`: mean KV tokens of a decoding sequence (default: the prompt plus half the output). */
  decode: { layout: PoolLayout; sequencesPerRank: number; speculative?: SpeculativeDecoding; context?: number };
  /**
   * The day's tokens and curve, with the mean prompt (and output) tokens of a request;
   * `promptMix`, the shape of the prompts (lib/attention), scaled to that mean and the
   * day's hit fraction (default: every prompt of the mean length, hits alike).
   */
  load: DailyLoad & { promptTokensPerRequest: number; outputTokensPerRequest?: number; promptMix?: PromptMix };
  /** USD per device-hour (default: the hardware's catalog price). */
  pricePerDeviceHour?: number;
  /** Pools in whole serving units (default) or exact fractions (node-seconds, as DeepSeek counts). */
  granularity?: 'unit' | 'fractional';
  /** The per-device model (default: `defaultStepModel`, the default engine's kernel tables where the database holds the device, as `batchlab deploy` prices). */
  stepModel?: StepModelFactory;
  /** Busiest expert device over the mean, per pool (default 1). */
  expertLoadFactor?: { prefill?: number; decode?: number };
  /** How both pools route tokens to their experts (PerfConfig `parallelism.expertRouting`): 'eplb' balances them over each layout's redundant copies, the placement model giving each step's load factor. */
  expertRouting?: ExpertRouting;
}

/**
 * Prefill of a prompt mix at its means, as the path without a mix prices them: at least
 * one computed token per prompt (the hits are the rest), and a mean computed prompt
 * longer than a step is refused by prefillPerformance, not cut to fit.
 *
 * @example
 * prefillFromMix(step, { layout, tokensPerRank: 16384 }, promptMixStats(mix)).inputTokensPerSecondPerDevice
 */
export function prefillFromMix(step: ReturnType<StepModelFactory>, pool: { layout: PoolLayout; tokensPerRank: number }, m: PromptMixStats): PrefillPerformance {
  const computed = Math.max(1, m.meanComputedTokens);
  return prefillPerformance(step, pool.layout, {
    tokensPerRank: pool.tokensPerRank,
    promptTokens: computed,
    cachedTokens: Math.max(0, m.meanPromptTokens - computed),
    attentionPairsPerComputedToken: m.attentionPairsPerComputedToken,
  });
}

/** What a deployment delivers and costs. */
export interface DeploymentEvaluation {
  prefill: PrefillPerformance;
  decode: DecodePerformance;
  /** The day: devices per pool, nodes, utilisation, and USD per million input, cached-input and output tokens. */
  day: DayCost;
  stepModel: string;
}

/**
 * Evaluates a deployment: per-device input and output tokens/s, per-user tokens/s
 * and TPOT from the decode pool at its batch and mean context, TTFT of a prefill step, devices each pool needs over the day's load curve,
 * and dollars per million tokens of each kind. A decode batch that does not fit in
 * memory is an InputError naming the shortfall.
 *
 * @example
 * evaluateDeployment({ model, hardware, precision, prefill: { layout: ep32, tokensPerRank: 16384 },
 *   decode: { layout: ep144, sequencesPerRank: 128 }, load: { inputTokens: 608e9, cacheHitFraction: 0.563,
 *   outputTokens: 168e9, promptTokensPerRequest: 4096, outputTokensPerRequest: 1000 } }).day.perMillion.output
 */
export function evaluateDeployment(d: Deployment): DeploymentEvaluation {
  if (typeof d !== 'object' || d === null) throw new InputError('deployment', d, 'a Deployment object');
  const load = checkDailyLoad(d.load);
  const prompt = checkInt('load.promptTokensPerRequest', d.load.promptTokensPerRequest, { min: 1, max: 1 << 22 });
  let context: number;
  if (d.decode?.context !== undefined) context = checkNumber('decode.context', d.decode.context, { min: 0, max: 1 << 24 });
  else if (d.load.outputTokensPerRequest !== undefined) context = prompt + checkInt('load.outputTokensPerRequest', d.load.outputTokensPerRequest, { min: 1, max: 1 << 22 }) / 2;
  else throw new InputError('decode.context', undefined, 'a mean KV length, or load.outputTokensPerRequest to derive it (prompt + output/2)');
  const price = checkPrice('pricePerDeviceHour', d.pricePerDeviceHour ?? d.hardware.hourlyPriceUsd);
  const make = d.stepModel ?? defaultStepModel;
  const pl = resolveLayout(d.model, d.prefill.layout);
  const dl = resolveLayout(d.model, d.decode.layout);
  if (pl.gpusPerNode !== dl.gpusPerNode) throw new InputError('decode.layout.gpusPerNode', dl.gpusPerNode, `${pl.gpusPerNode}, as the prefill pool's nodes`);
  const prefillStep = make(d.model, d.hardware, d.prefill.layout, d.precision, 'prefill', { expertLoadFactor: d.expertLoadFactor?.prefill, ...(d.expertRouting === undefined ? {} : { expertRouting: d.expertRouting }) });
  const decodeStep = make(d.model, d.hardware, d.decode.layout, d.precision, 'decode', { expertLoadFactor: d.expertLoadFactor?.decode, ...(d.expertRouting === undefined ? {} : { expertRouting: d.expertRouting }) });
  const prefill =
    d.load.promptMix === undefined
      ? prefillPerformance(prefillStep, d.prefill.layout, { tokensPerRank: d.prefill.tokensPerRank, promptTokens: Math.max(1, prompt - prompt * load.cacheHitFraction), cachedTokens: prompt * load.cacheHitFraction })
      : prefillFromMix(prefillStep, d.prefill, promptMixStats(scalePromptMix(d.load.promptMix, { meanPromptTokens: prompt, cacheHitFraction: load.cacheHitFraction })));
  const decode = decodePerformance(decodeStep, d.decode.layout, { sequencesPerRank: d.decode.sequencesPerRank, context, speculative: d.decode.speculative });
  if (!decode.memory.fits) {
    throw new InputError('decode.sequencesPerRank', d.decode.sequencesPerRank, 'a batch whose KV caches fit beside the weights', `short by ${(decode.memory.shortfallBytes / 1e9).toFixed(1)} GB per device`);
  }
  const day = priceDay(
    {
      inputTokensPerSecondPerDevice: prefill.inputTokensPerSecondPerDevice,
      outputTokensPerSecondPerDevice: decode.tokensPerSecondPerDevice,
      // A cache hit's KV is read from the distributed cache over the device's network link.
      cachedTokenDeviceSeconds: kvBytesPerToken(d.model, precisionOfClasses(d.precision).kvCache) / d.hardware.interNodeBytesPerSecond,
      prefillUnitDevices: pl.unitDevices,
      decodeUnitDevices: dl.unitDevices,
      devicesPerNode: pl.gpusPerNode,
    },
    load,
    price,
    { granularity: d.granularity },
  );
  return { prefill, decode, day, stepModel: decodeStep.label };
}
