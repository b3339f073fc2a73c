import type { Dtype, MatmulCostModel, StepCostFn, StepWork } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { smallestIntegerWhere } from '../util/search.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { hardwarePeakFlops } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import type { ModelOperation } from '../models/ops.js';
import { decodeOps, expectedActiveExperts, modelStepOps, prefillOps } from '../models/ops.js';
import { paramCounts, kvCacheBytesPerSequence } from '../models/params.js';
import type { OpRooflinePoint } from './matmul.js';
import { fractionalMatmulSeconds, opRoofline } from './matmul.js';

/** How a whole-model roofline is evaluated. */
export interface RooflineOptions {
  dtype: Dtype;
  /** Seconds for matmul operations (e.g. a model fitted to this machine); default: the spec roofline. */
  matmulCost?: MatmulCostModel;
  /**
   * Tensor-parallel devices (default 1): each takes 1/devices of every operation's
   * work (its share of output columns) and each layer adds two ring all-reduces of
   * the hidden state over the intra-node link.
   */
  devices?: number;
}

const MAX_TOKENS = 1 << 24;

function checkOpts(hw: HardwareSpec, opts: RooflineOptions): { dtype: Dtype; devices: number; cost?: MatmulCostModel } {
  if (typeof opts !== 'object' || opts === null) throw new InputError('opts', opts, 'an object { dtype, matmulCost?, devices? }');
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  hardwarePeakFlops(hw, dtype);
  const devices = checkInt('devices', opts.devices ?? 1, { min: 1, max: 4096 });
  if (opts.matmulCost !== undefined && typeof opts.matmulCost?.matmulSeconds !== 'function') {
    throw new InputError('matmulCost', opts.matmulCost, 'a MatmulCostModel with matmulSeconds(shape)');
  }
  return { dtype, devices, cost: opts.matmulCost };
}

function opSeconds(op: ModelOperation, hw: HardwareSpec, dtype: Dtype, devices: number, cost?: MatmulCostModel): number {
  if (cost && op.matmuls.length > 0) {
    let t = 0;
    for (const sh of op.matmuls) t += fractionalMatmulSeconds(cost, { ...sh, n: sh.n / devices });
    return t * op.calls;
  }
  const p = opRoofline(op, hw, dtype);
  return p.seconds / devices;
}

function allReduceSeconds(model: ModelSpec, hw: HardwareSpec, dtype: Dtype, tokens: number, devices: number): number {
  if (devices === 1) return 0;
  const bytes = tokens * model.hiddenSize * DTYPE_BYTES[dtype];
  // A ring all-reduce sends 2(d−1)/d of the buffer over each device's link.
  const one = ((2 * (devices - 1)) / devices) * bytes / hw.intraNodeBytesPerSecond;
  return 2 * model.numLayers * one;
}

function stepSeconds(model: ModelSpec, hw: HardwareSpec, ops: ModelOperation[], tokens: number, o: ReturnType<typeof checkOpts>): number {
  let t = 0;
  for (const op of ops) t += opSeconds(op, hw, o.dtype, o.devices, o.cost);
  return t + allReduceSeconds(model, hw, o.dtype, tokens, o.devices);
}

/**
 * A StepCostFn for a model on a hardware spec: the seconds of one engine step,
 * summed over its operations (each at its roofline lower bound, or from
 * `matmulCost` when given). Prefill attention follows the step's prompt count and
 * causal pairs (`prefillSequences`, `prefillAttentionPairs`); a step with no tokens costs what the cheaper of one prefill token and one
 * decode token does.
 *
 * @example
 * const cost = rooflineStepCost(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { dtype: 'bf16', devices: 4 });
 * cost({ prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 }) // => seconds of one decode step
 */
export function rooflineStepCost(model: ModelSpec, hw: HardwareSpec, opts: RooflineOptions): StepCostFn {
  const o = checkOpts(hw, opts);
  return (work: StepWork): number => {
    if (typeof work !== 'object' || work === null) throw new InputError('work', work, 'a StepWork object');
    const P = checkInt('prefillTokens', work.prefillTokens, { min: 0, max: MAX_TOKENS });
    const D = checkInt('decodeTokens', work.decodeTokens, { min: 0, max: MAX_TOKENS });
    const C = checkNumber('contextTokens', work.contextTokens, { min: 0, max: MAX_TOKENS * MAX_TOKENS });
    const at = (p: number, d: number, c: number, prompts?: number, pairs?: number): number =>
      stepSeconds(model, hw, modelStepOps(model, { prefillTokens: p, decodeTokens: d, contextTokens: c, prefillSequences: prompts, prefillAttentionPairs: pairs, dtype: o.dtype }), p + d, o);
    // An empty step still has to be positive and no dearer than any step with work.
    if (P + D === 0) return Math.min(at(1, 0, 0), at(0, 1, 0));
    return at(P, D, D > 0 ? C : 0, P > 0 ? work.prefillSequences : undefined, P > 0 ? work.prefillAttentionPairs : undefined);
  };
}

/**
 * Seconds of one decode step of `batch` sequences with `context` cached tokens each.
 *
 * @example
 * decodeStepTime(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { dtype: 'bf16', batch: 1, context: 0 })
 * // => about 4.8e-3 (16 GB of weights at 3.35 TB/s)
 */
export function decodeStepTime(
  model: ModelSpec,
  hw: HardwareSpec,
  opts: RooflineOptions & { batch: number; context: number },
): number {
  const o = checkOpts(hw, opts);
  const ops = decodeOps(model, { batch: opts.batch, context: opts.context, dtype: o.dtype });
  return stepSeconds(model, hw, ops, opts.batch, o);
}

/** One point of a decode throughput curve. */
export interface DecodeThroughputPoint {
  batch: number;
  stepSeconds: number;
  /** Output tokens per second over the whole batch. */
  tokensPerSecond: number;
  /** Output tokens per second each sequence sees. */
  tokensPerSecondPerSequence: number;
  /** Spec-roofline FLOP time and memory time of the step (before the max per op). */
  computeSeconds: number;
  memorySeconds: number;
}

/**
 * Decode step time and tokens/s against batch, at a fixed context per sequence.
 *
 * @example
 * decodeThroughputCurve(loadModel('deepseek-v3'), loadHardware('h200'), { dtype: 'fp8', context: 0, batches: [1, 64, 4096] })
 *   .map((p) => p.tokensPerSecond)
 */
export function decodeThroughputCurve(
  model: ModelSpec,
  hw: HardwareSpec,
  opts: RooflineOptions & { context: number; batches: number[] },
): DecodeThroughputPoint[] {
  const o = checkOpts(hw, opts);
  if (!Array.isArray(opts.batches) || opts.batches.length === 0 || opts.batches.length > 10_000) {
    throw new InputError('batches', opts.batches, 'a non-empty array of at most 10000 batch sizes');
  }
  return opts.batches.map((batch) => {
    const ops = decodeOps(model, { batch, context: opts.context, dtype: o.dtype });
    const stepS = stepSeconds(model, hw, ops, batch, o);
    let c = 0;
    let m = 0;
    for (const op of ops) {
      const p = opRoofline(op, hw, o.dtype);
      c += p.computeSeconds / o.devices;
      m += p.memorySeconds / o.devices;
    }
    return { batch, stepSeconds: stepS, tokensPerSecond: batch / stepS, tokensPerSecondPerSequence: 1 / stepS, computeSeconds: c, memorySeconds: m };
  });
}

/** Smallest integer x in [1, MAX_TOKENS] with pred(x), assuming pred is monotone; Infinity if none. */
function smallestTrue(pred: (x: number) => boolean): number {
  return smallestIntegerWhere(pred, 1, MAX_TOKENS);
}

/** One operation's roofline analysis within a step: the operation's shape and traffic, and where it sits. */
export interface OpRooflineRow
  extends OpRooflinePoint,
    Pick<ModelOperation, 'name' | 'group' | 'm' | 'k' | 'n' | 'batch' | 'calls' | 'flops' | 'bytes' | 'weightBytes' | 'activationBytes' | 'kvBytes'> {
  hardware: string;
  dtype: Dtype;
  /** Achieved FLOP/s at the lower bound (flops / seconds). */
  flopsPerSecond: number;
  /**
   * The decode batch (prefill: prompt tokens) at which this operation turns
   * compute-bound, other settings unchanged; Infinity if it never does (the decode
   * attention core, whose KV traffic grows with the batch as fast as its FLOPs).
   */
  criticalBatch: number;
}

function rows(
  ops: ModelOperation[],
  hw: HardwareSpec,
  dtype: Dtype,
  opsAt: (x: number) => ModelOperation[],
): OpRooflineRow[] {
  return ops.map((op) => {
    const p = opRoofline(op, hw, dtype);
    const criticalBatch = smallestTrue((x) => {
      const same = opsAt(x).find((o) => o.name === op.name);
      return same !== undefined && opRoofline(same, hw, dtype).bound === 'compute';
    });
    return {
      name: op.name,
      group: op.group,
      m: op.m,
      k: op.k,
      n: op.n,
      batch: op.batch,
      calls: op.calls,
      flops: op.flops,
      bytes: op.bytes,
      weightBytes: op.weightBytes,
      activationBytes: op.activationBytes,
      kvBytes: op.kvBytes,
      hardware: hw.id,
      dtype,
      ...p,
      flopsPerSecond: p.seconds > 0 ? op.flops / p.seconds : 0,
      criticalBatch,
    };
  });
}

/**
 * Per-operation roofline of one decode step: time lower bound, arithmetic
 * intensity, binding limit, and each operation's critical batch.
 *
 * @example
 * decodeOpRoofline(loadModel('deepseek-v3'), loadHardware('h100-sxm'), { dtype: 'bf16', batch: 64, context: 4096 })
 *   .find((r) => r.name === 'moe.expert.gate_up_proj')?.criticalBatch // => several thousand
 */
export function decodeOpRoofline(
  model: ModelSpec,
  hw: HardwareSpec,
  opts: { dtype: Dtype; batch: number; context: number },
): OpRooflineRow[] {
  const { dtype } = checkOpts(hw, opts);
  const ops = decodeOps(model, { batch: opts.batch, context: opts.context, dtype });
  return rows(ops, hw, dtype, (x) => decodeOps(model, { batch: x, context: opts.context, dtype }));
}

/**
 * Per-operation roofline of a prefill of `tokens` prompt tokens (one prompt); the
 * critical batch is in prompt tokens.
 *
 * @example
 * prefillOpRoofline(loadModel('llama-3.1-70b'), loadHardware('h200'), { dtype: 'bf16', tokens: 2048 }).every((r) => r.bound === 'compute' || r.flops === 0)
 */
export function prefillOpRoofline(model: ModelSpec, hw: HardwareSpec, opts: { dtype: Dtype; tokens: number }): OpRooflineRow[] {
  const { dtype } = checkOpts(hw, opts);
  const ops = prefillOps(model, { tokens: opts.tokens, dtype });
  return rows(ops, hw, dtype, (x) => prefillOps(model, { tokens: x, dtype }));
}

/**
 * The decode batch at which a whole step turns compute-bound on the spec: the
 * smallest batch whose summed FLOP time reaches its summed memory time. With
 * `context: 0` (default) only weights count; a long context pushes it up or to
 * Infinity, because KV reads grow with the batch.
 *
 * @example
 * decodeCriticalBatch(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { dtype: 'bf16' }) // => about 300
 * decodeCriticalBatch(loadModel('deepseek-v3'), loadHardware('h100-sxm'), { dtype: 'bf16' })   // => several thousand
 */
export function decodeCriticalBatch(model: ModelSpec, hw: HardwareSpec, opts: { dtype: Dtype; context?: number }): number {
  const { dtype } = checkOpts(hw, opts);
  const context = checkNumber('context', opts.context ?? 0, { min: 0, max: MAX_TOKENS });
  return smallestTrue((b) => {
    let c = 0;
    let m = 0;
    for (const op of decodeOps(model, { batch: b, context, dtype })) {
      const p = opRoofline(op, hw, dtype);
      c += p.computeSeconds;
      m += p.memorySeconds;
    }
    return c >= m;
  });
}

/**
 * How the routed experts of an MoE model share a step's tokens: expected distinct
 * experts reached per layer and the tokens each sees (T·k/active, tending to T·k/E).
 * A dense model's FFN sees all T tokens.
 *
 * @example
 * moeExpertBatch(loadModel('deepseek-v3'), 4096).tokensPerExpert // => about 128 (4096 × 8 / 256)
 */
export function moeExpertBatch(model: ModelSpec, tokens: number): { activeExperts: number; tokensPerExpert: number } {
  checkNumber('tokens', tokens, { min: 1, max: MAX_TOKENS });
  if (!model.moe) return { activeExperts: 1, tokensPerExpert: tokens };
  const active = expectedActiveExperts(model.moe.numExperts, model.moe.expertsPerToken, tokens);
  return { activeExperts: active, tokensPerExpert: (tokens * model.moe.expertsPerToken) / active };
}

/**
 * Largest decode batch whose weights and KV caches fit in the memory of `devices`
 * devices (default 1) at `context` tokens per sequence; 0 when the weights alone do
 * not fit.
 *
 * @example
 * decodeMemoryBatchLimit(loadModel('llama-3.1-70b'), loadHardware('h200'), { dtype: 'fp8', context: 4096 }) // => about 50
 */
export function decodeMemoryBatchLimit(
  model: ModelSpec,
  hw: HardwareSpec,
  opts: { dtype: Dtype; context: number; devices?: number },
): number {
  const dtype = checkOneOf('dtype', opts.dtype, DTYPES);
  const devices = checkInt('devices', opts.devices ?? 1, { min: 1, max: 4096 });
  const context = checkInt('context', opts.context, { min: 1, max: MAX_TOKENS });
  const free = hw.memoryCapacityBytes * devices - paramCounts(model).total * DTYPE_BYTES[dtype];
  if (free <= 0) return 0;
  return Math.floor(free / kvCacheBytesPerSequence(model, dtype, context));
}
