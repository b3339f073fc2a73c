import { InputError } from '../util/errors.js';
import { checkFraction, checkInt, checkNumber, checkPositive } from '../util/validate.js';
import { smallestIntegerWhere } from '../util/search.js';
import type { DeviceStepBreakdown, DeviceStepModel, PoolLayout } from './types.js';

/** Speculative decoding as a what-if: draft tokens per step and the acceptance rate of each. */
export interface SpeculativeDecoding {
  /** Draft tokens proposed per step (DeepSeek's MTP module: 1). */
  draftTokens: number;
  /** Probability that each draft token is accepted, given the previous one was. */
  acceptance: number;
}

/**
 * Expected tokens one verify step emits: 1 + a + a² + … + a^d.
 *
 * @example
 * speculativeTokensPerStep({ draftTokens: 1, acceptance: 0.85 }) // => 1.85
 */
export function speculativeTokensPerStep(spec?: SpeculativeDecoding): number {
  if (spec === undefined) return 1;
  const d = checkInt('speculative.draftTokens', spec.draftTokens, { min: 0, max: 16 });
  const a = checkFraction('speculative.acceptance', spec.acceptance);
  let t = 1;
  let p = 1;
  for (let i = 0; i < d; i++) {
    p *= a;
    t += p;
  }
  return t;
}

/** Memory one device needs for weights, KV caches and activations, against what it has. */
export interface DeviceMemoryFit {
  fits: boolean;
  weightBytes: number;
  kvBytes: number;
  /** Activations of the sequences' tokens in flight (one per sequence). */
  activationBytes: number;
  needBytes: number;
  capacityBytes: number;
  /** needBytes − capacityBytes when it does not fit, else 0. */
  shortfallBytes: number;
}

const GB = 1e9;
const gb = (b: number): string => `${(b / GB).toFixed(1)} GB`;
const MAX_SEQUENCES = 1 << 24;

/**
 * Whether `sequences` decoding sequences of `context` tokens fit on each device of a
 * rank: the step model's `fit`, which is `memoryFit` of lib/roofline (weights, KV
 * cache and one token's activations per sequence against the usable capacity).
 *
 * @example
 * deviceMemoryFit(model, 64, 4096).shortfallBytes // => 0 when it fits
 */
export function deviceMemoryFit(step: DeviceStepModel, sequences: number, context: number): DeviceMemoryFit {
  checkInt('sequences', sequences, { min: 0, max: MAX_SEQUENCES });
  const f = step.fit(sequences, checkNumber('context', context, { min: 0, max: MAX_SEQUENCES }));
  return {
    fits: f.fits,
    weightBytes: f.weightBytes,
    kvBytes: f.kvCacheBytes,
    activationBytes: f.activationBytes,
    needBytes: f.totalBytes,
    capacityBytes: f.capacityBytes,
    shortfallBytes: Math.max(0, -f.headroomBytes),
  };
}

/**
 * Throws an InputError naming the shortfall when the sequences do not fit.
 *
 * @example
 * assertMemoryFit(step, 1, 4096, 'rtx-4090') // throws "... short by 671.5 GB"
 */
export function assertMemoryFit(step: DeviceStepModel, sequences: number, context: number, what = 'the device'): DeviceMemoryFit {
  const fit = deviceMemoryFit(step, sequences, context);
  if (!fit.fits) {
    throw new InputError(
      'memory',
      `${gb(fit.needBytes)} per device`,
      `at most the ${gb(fit.capacityBytes)} of ${what}`,
      `weights ${gb(fit.weightBytes)} + KV cache ${gb(fit.kvBytes)} + activations ${gb(fit.activationBytes)} for ${sequences} sequence(s) of ${context} tokens: short by ${gb(fit.shortfallBytes)}`,
    );
  }
  return fit;
}

/**
 * The largest number of sequences per rank that `deviceMemoryFit` accepts; 0 when
 * not even one does.
 *
 * @example
 * maxSequencesThatFit(step, 4096) // => e.g. 164 for DeepSeek-V3 decode on EP144 H800s
 */
export function maxSequencesThatFit(step: DeviceStepModel, context: number): number {
  const c = checkNumber('context', context, { min: 0, max: MAX_SEQUENCES });
  if (!step.fit(1, c).fits) return 0;
  // Memory only grows with the batch: gallop up from a typical batch to the first that does not fit.
  const firstMiss = smallestIntegerWhere((s) => !step.fit(s, c).fits, 2, MAX_SEQUENCES, { guess: 64 });
  return Number.isFinite(firstMiss) ? firstMiss - 1 : MAX_SEQUENCES;
}

/** One decode operating point of a pool. */
export interface DecodePerformance {
  /** Sequences each attention rank decodes at once. */
  sequencesPerRank: number;
  context: number;
  step: DeviceStepBreakdown;
  /** Expected tokens each sequence gains per step (1 without speculation). */
  tokensPerStep: number;
  /** Output tokens per second one user sees. */
  tokensPerSecondPerUser: number;
  /** Seconds per output token. */
  tpotSeconds: number;
  /** Output tokens per second per device. */
  tokensPerSecondPerDevice: number;
  memory: DeviceMemoryFit;
}

function devicesPerRank(layout: PoolLayout): number {
  return layout.tensorParallel * layout.pipelineParallel;
}

/**
 * Decode throughput of a pool at `sequencesPerRank` sequences with `context` cached
 * tokens each: per device, per user, and seconds per token. With pipeline
 * parallelism, as many micro-batches as stages are in flight: a token takes every
 * stage's step, and each stage is always busy.
 *
 * @example
 * decodePerformance(step, layout, { sequencesPerRank: 128, context: 4096 }).tokensPerSecondPerDevice
 */
export function decodePerformance(
  step: DeviceStepModel,
  layout: PoolLayout,
  opts: { sequencesPerRank: number; context: number; speculative?: SpeculativeDecoding },
): DecodePerformance {
  const B = checkInt('sequencesPerRank', opts.sequencesPerRank, { min: 1, max: 1 << 20 });
  const context = checkNumber('context', opts.context, { min: 0, max: 1 << 24 });
  const q = speculativeTokensPerStep(opts.speculative);
  const verify = 1 + (opts.speculative?.draftTokens ?? 0);
  const s = step.step({ prefillTokens: 0, decodeSequences: B, decodeContext: context, decodeTokensPerSequence: verify });
  const pp = layout.pipelineParallel;
  const tokenSeconds = s.seconds * pp;
  return {
    sequencesPerRank: B,
    context,
    step: s,
    tokensPerStep: q,
    tokensPerSecondPerUser: q / tokenSeconds,
    tpotSeconds: tokenSeconds / q,
    tokensPerSecondPerDevice: (B * pp * q) / tokenSeconds / devicesPerRank(layout),
    memory: deviceMemoryFit(step, B * pp, context),
  };
}

/**
 * The served operating point of a decode pool: the most sequences per rank at which
 * each user still gets `tokensPerSecondPerUser` (a latency target or a published
 * per-user speed), and the pool's performance there. A pool that serves users at a
 * stated speed runs this batch, not the largest that fits: its throughput is that of
 * the served load, not its capacity. An InputError when even one sequence is slower
 * than the target. The search stops at `maxSequencesPerRank` (default:
 * the most that fit in memory).
 *
 * @example
 * decodeAtUserSpeed(step, layout, { context: 4989, tokensPerSecondPerUser: 21, speculative: { draftTokens: 1, acceptance: 0.85 } }).sequencesPerRank
 */
export function decodeAtUserSpeed(
  step: DeviceStepModel,
  layout: PoolLayout,
  opts: { context: number; tokensPerSecondPerUser: number; speculative?: SpeculativeDecoding; maxSequencesPerRank?: number },
): DecodePerformance {
  const target = checkPositive('tokensPerSecondPerUser', opts.tokensPerSecondPerUser, 1e6);
  // Default ceiling: the most sequences whose KV caches fit beside the weights.
  const max = checkInt('maxSequencesPerRank', opts.maxSequencesPerRank ?? Math.max(1, Math.min(1 << 14, maxSequencesThatFit(step, opts.context))), { min: 1, max: 1 << 14 });
  const at = (B: number): DecodePerformance => decodePerformance(step, layout, { sequencesPerRank: B, context: opts.context, speculative: opts.speculative });
  // Per-user speed falls as the batch grows (a step never gets cheaper with more sequences).
  const firstTooSlow = smallestIntegerWhere((B) => at(B).tokensPerSecondPerUser < target, 1, max);
  if (firstTooSlow === 1) {
    throw new InputError('tokensPerSecondPerUser', target, `at most ${at(1).tokensPerSecondPerUser.toFixed(1)} tokens/s (one sequence per rank)`);
  }
  return at(Number.isFinite(firstTooSlow) ? firstTooSlow - 1 : max);
}

/** One prefill operating point of a pool. */
export interface PrefillPerformance {
  /** Prompt tokens computed per rank per step. */
  tokensPerRank: number;
  /** Prompt tokens computed per prompt (cache misses). */
  promptTokens: number;
  cachedTokens: number;
  step: DeviceStepBreakdown;
  /** Computed prompt tokens per second per device. */
  computedTokensPerSecondPerDevice: number;
  /** Input tokens per second per device, cache hits counted (DeepSeek's measure). */
  inputTokensPerSecondPerDevice: number;
  /**
   * Seconds of the step that prefills a prompt with the step's other prompts (tokensPerRank /
   * promptTokens of them, through every pipeline stage): its time to first token without
   * queueing at that step size. A prompt prefilled alone is faster: price a step of its own
   * tokens (`tokensPerRank` = `promptTokens`, `deploy --prefill-tokens` = its computed tokens).
   */
  ttftSeconds: number;
  /** The step's prompts, each with its cached and computed tokens in the KV cache, against one device's memory. */
  memory: DeviceMemoryFit;
}

/**
 * Prefill throughput of a pool that computes `tokensPerRank` prompt tokens per step in
 * prompts of `promptTokens` uncached tokens after `cachedTokens` cache hits each (means).
 * `attentionPairsPerComputedToken` carries a prompt mix's spread (promptMixStats); by
 * default every prompt is taken to have the mean lengths.
 *
 * @example
 * prefillPerformance(step, layout, { tokensPerRank: 16384, promptTokens: 1790, cachedTokens: 2306 }).inputTokensPerSecondPerDevice
 */
export function prefillPerformance(
  step: DeviceStepModel,
  layout: PoolLayout,
  opts: { tokensPerRank: number; promptTokens: number; cachedTokens?: number; attentionPairsPerComputedToken?: number },
): PrefillPerformance {
  const T = checkInt('tokensPerRank', opts.tokensPerRank, { min: 1, max: 1 << 24 });
  const p = checkNumber('promptTokens', opts.promptTokens, { min: 1, max: T });
  const c = checkNumber('cachedTokens', opts.cachedTokens ?? 0, { min: 0, max: 1 << 24 });
  const sequences = Math.max(1, Math.round(T / p));
  const s = step.step({ prefillTokens: T, prefillSequences: sequences, prefillCachedTokens: c, prefillAttentionPairsPerToken: opts.attentionPairsPerComputedToken, decodeSequences: 0, decodeContext: 0 });
  const pp = layout.pipelineParallel;
  const computed = T / s.seconds / devicesPerRank(layout);
  return {
    tokensPerRank: T,
    promptTokens: p,
    cachedTokens: c,
    step: s,
    computedTokensPerSecondPerDevice: computed,
    inputTokensPerSecondPerDevice: (computed * (p + c)) / p,
    ttftSeconds: s.seconds * pp,
    memory: deviceMemoryFit(step, sequences, Math.ceil(p + c)),
  };
}
