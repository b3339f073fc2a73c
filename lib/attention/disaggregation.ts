import type { Dtype } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { USABLE_MEMORY_FRACTION } from '../hardware/spec.js';
import { checkFraction, checkInt, checkNumber, checkOneOf } from '../util/validate.js';

/** Seconds of one part of a whole decode step (all layers) for `tokens` sequences on `devices` devices. */
export type PartStepSeconds = (tokens: number, devices: number) => number;

/** Inputs of the attention–FFN disaggregation what-if, as plain numbers and two cost functions. */
export interface DisaggregationInput {
  layers: number;
  hiddenSize: number;
  /** Element type of the hidden states sent between the pools. */
  dtype: Dtype;
  /** Sequences decoding together (one token each per step). */
  batch: number;
  /** Micro-batches the batch is split into so that the pools work on different ones at once (default 2, ping-pong). */
  microBatches?: number;
  attentionDevices: number;
  ffnDevices: number;
  /** Bandwidth between the pools, bytes/s per device and direction. */
  linkBytesPerSecond: number;
  /** The attention part of a step (projections, attention core, embedding and LM head). */
  attentionSeconds: PartStepSeconds;
  /** The FFN part of a step (dense FFN, router, routed and shared experts). */
  ffnSeconds: PartStepSeconds;
  /** Memory, for the batch each layout can hold; optional. */
  memory?: {
    deviceMemoryBytes: number;
    attentionWeightBytes: number;
    ffnWeightBytes: number;
    kvBytesPerSequence: number;
    /** Fraction of memory usable (default USABLE_MEMORY_FRACTION, the one assumption of `memoryFit`: the whole capacity). */
    utilization?: number;
  };
}

/** One layout's decode step. */
export interface LayoutStep {
  devices: number;
  stepSeconds: number;
  tokensPerSecond: number;
  tokensPerSecondPerDevice: number;
  /** Largest batch memory allows, when `memory` was given. */
  maxBatch?: number;
}

/** What the what-if finds. */
export interface DisaggregationResult {
  colocated: LayoutStep;
  disaggregated: LayoutStep & {
    /** Per layer and micro-batch: attention, one-way transfer and FFN seconds. */
    attentionSeconds: number;
    transferSeconds: number;
    ffnSeconds: number;
    /** What sets the per-layer period. */
    bound: 'attention' | 'ffn' | 'transfer' | 'latency';
    /** Busy fraction of each pool over a step. */
    attentionBusy: number;
    ffnBusy: number;
  };
  /** Hidden-state bytes crossing between the pools per step (both directions). */
  transferBytesPerStep: number;
  /** Link bandwidth per device and direction that would hide the transfers behind the slower pool. */
  linkBytesPerSecondToHide: number;
  /** Hidden states parked in send and receive buffers, bytes per pool. */
  parkedActivationBytes: number;
  /** Assumptions of the model, in words. */
  assumptions: string[];
}

/**
 * A what-if for attention–FFN disaggregation (the essay's second idea; MegaScale-Infer
 * and Step-3 build it): attention on one pool, the FFN on another, the batch split
 * into m micro-batches that ping-pong between them layer by layer. Per layer the
 * period is max(m·max(a, f, x), a + f + 2x) for a micro-batch's attention a, FFN f
 * and one-way transfer x = (B/m)·hidden·bytes / (link · min(pools)): the pools
 * overlap different micro-batches, but one micro-batch's layer cannot start before
 * its previous layer came back. The colocated replica runs both parts on all devices
 * one after the other. Assumptions are listed in the result.
 *
 * @example
 * disaggregationWhatIf({ layers: 61, hiddenSize: 7168, dtype: 'bf16', batch: 1024, attentionDevices: 8, ffnDevices: 8, linkBytesPerSecond: 50e9, attentionSeconds, ffnSeconds })
 */
export function disaggregationWhatIf(input: DisaggregationInput): DisaggregationResult {
  if (typeof input !== 'object' || input === null) throw new InputError('input', input, 'a DisaggregationInput object');
  const L = checkInt('layers', input.layers, { min: 1, max: 4096 });
  const h = checkInt('hiddenSize', input.hiddenSize, { min: 1, max: 1 << 20 });
  const s = DTYPE_BYTES[checkOneOf('dtype', input.dtype, DTYPES)];
  const B = checkInt('batch', input.batch, { min: 1, max: 1 << 22 });
  const m = checkInt('microBatches', input.microBatches ?? 2, { min: 1, max: B });
  const A = checkInt('attentionDevices', input.attentionDevices, { min: 1, max: 4096 });
  const F = checkInt('ffnDevices', input.ffnDevices, { min: 1, max: 4096 });
  const link = checkNumber('linkBytesPerSecond', input.linkBytesPerSecond, { min: 0, exclusiveMin: true, max: 1e15 });
  if (typeof input.attentionSeconds !== 'function') throw new InputError('attentionSeconds', input.attentionSeconds, 'a function (tokens, devices) => seconds');
  if (typeof input.ffnSeconds !== 'function') throw new InputError('ffnSeconds', input.ffnSeconds, 'a function (tokens, devices) => seconds');
  const seconds = (f: PartStepSeconds, name: string, tokens: number, devices: number): number =>
    checkNumber(`${name}(${tokens}, ${devices})`, f(tokens, devices), { min: 0, max: 1e6 });

  const N = A + F;
  const colocatedStep = seconds(input.attentionSeconds, 'attentionSeconds', B, N) + seconds(input.ffnSeconds, 'ffnSeconds', B, N);
  const micro = B / m;
  const a = seconds(input.attentionSeconds, 'attentionSeconds', micro, A) / L;
  const f = seconds(input.ffnSeconds, 'ffnSeconds', micro, F) / L;
  const bytesOneWay = micro * h * s;
  const x = bytesOneWay / (link * Math.min(A, F));
  const pipelined = m * Math.max(a, f, x);
  const chain = a + f + 2 * x;
  const period = Math.max(pipelined, chain);
  const bound = chain > pipelined ? 'latency' : a >= f && a >= x ? 'attention' : f >= x ? 'ffn' : 'transfer';
  const step = L * period;

  const out: DisaggregationResult = {
    colocated: { devices: N, stepSeconds: colocatedStep, tokensPerSecond: B / colocatedStep, tokensPerSecondPerDevice: B / colocatedStep / N },
    disaggregated: {
      devices: N,
      stepSeconds: step,
      tokensPerSecond: B / step,
      tokensPerSecondPerDevice: B / step / N,
      attentionSeconds: a,
      transferSeconds: x,
      ffnSeconds: f,
      bound,
      attentionBusy: (m * a) / period,
      ffnBusy: (m * f) / period,
    },
    transferBytesPerStep: 2 * B * h * s * L,
    linkBytesPerSecondToHide: bytesOneWay / Math.max(a, f) / Math.min(A, F),
    // Each pool keeps a receive and a send buffer per micro-batch in flight.
    parkedActivationBytes: 2 * B * h * s,
    assumptions: [
      'decode only: every sequence adds one token per step; prefill runs elsewhere',
      `the batch is split into ${m} equal micro-batches that alternate between the pools layer by layer`,
      'each pool is tensor-parallel over its devices with no communication cost inside it; the colocated replica runs attention then FFN on all devices',
      'only the hidden state (hidden × dtype bytes per token) crosses between the pools, once each way per layer, at the given link bandwidth over the smaller pool',
      'no transfer latency beyond bandwidth, no stragglers, no load imbalance between experts',
    ],
  };
  if (input.memory) {
    const mem = input.memory;
    const M = checkNumber('memory.deviceMemoryBytes', mem.deviceMemoryBytes, { min: 0, exclusiveMin: true, max: 1e15 });
    const aw = checkNumber('memory.attentionWeightBytes', mem.attentionWeightBytes, { min: 0, max: 1e18 });
    const fw = checkNumber('memory.ffnWeightBytes', mem.ffnWeightBytes, { min: 0, max: 1e18 });
    const kv = checkNumber('memory.kvBytesPerSequence', mem.kvBytesPerSequence, { min: 0, exclusiveMin: true, max: 1e15 });
    const u = checkFraction('memory.utilization', mem.utilization ?? USABLE_MEMORY_FRACTION);
    out.colocated.maxBatch = Math.max(0, Math.floor((N * M * u - aw - fw) / kv));
    // The attention pool holds attention weights, the KV cache and the parked hidden states; the FFN weights live elsewhere.
    out.disaggregated.maxBatch = Math.max(0, Math.floor((A * M * u - aw) / (kv + 2 * h * s)));
    out.assumptions.push('KV caches are spread by sequence over the devices that hold them (no replication)');
  }
  return out;
}
