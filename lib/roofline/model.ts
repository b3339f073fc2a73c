import type { Dtype, MatmulCostModel, StepCostFn } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { hardwarePeakFlops } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import type { ModelOperation } from '../models/ops.js';
import { decodeOps, expectedActiveExperts, prefillOps } from '../models/ops.js';
import type { OpRooflinePoint } from './matmul.js';
import { opRoofline } from './matmul.js';
import type { PerfConfig } from './deployment.js';
import { maxBatchThatFits, perfStepCost, stepTime } from './deployment.js';
import { smallestTrue } from '../perf/bound.js';

/** How a whole-model roofline is evaluated. */
export interface RooflineOptions {
  dtype: Dtype;
  /** Seconds for matmul operations (e.g. a model fitted to this machine); default: the spec roofline. */
  matmulCost?: MatmulCostModel;
  /**
   * Tensor-parallel devices (default 1): each holds 1/devices of every weight's output
   * columns and reads the whole input (as `stepTime` with `parallelism.tp` splits), and
   * each layer adds two ring all-reduces of the hidden state over the intra-node link.
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

/** The deployment model's configuration that is today's datasheet roofline: tensor parallelism only, one dtype, no losses. */
function specConfig(o: ReturnType<typeof checkOpts>): PerfConfig {
  return { precision: o.dtype, parallelism: { tp: o.devices }, efficiency: 'spec', launch: 'none', matmulCost: o.cost, checkMemory: false };
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
  return perfStepCost(model, hw, specConfig(checkOpts(hw, opts)));
}

/**
 * Seconds of one decode step of `batch` sequences with `context` cached tokens each.
 *
 * @example
 * decodeStepTime(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { dtype: 'bf16', batch: 1, context: 0 })
 * // => about 4.48e-3 (15.0 GB of weights read, the embedding table's one row aside, at 3.35 TB/s)
 */
export function decodeStepTime(
  model: ModelSpec,
  hw: HardwareSpec,
  opts: RooflineOptions & { batch: number; context: number },
): number {
  const o = checkOpts(hw, opts);
  const batch = checkInt('batch', opts.batch, { min: 1, max: MAX_TOKENS });
  const context = checkNumber('context', opts.context, { min: 0, max: MAX_TOKENS });
  return stepTime(model, hw, specConfig(o), { prefillTokens: 0, decodeTokens: batch, contextTokens: batch * context }).seconds;
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
  const context = checkNumber('context', opts.context, { min: 0, max: MAX_TOKENS });
  const config = specConfig(o);
  return opts.batches.map((b, i) => {
    const batch = checkInt(`batches[${i}]`, b, { min: 1, max: MAX_TOKENS });
    const t = stepTime(model, hw, config, { prefillTokens: 0, decodeTokens: batch, contextTokens: batch * context });
    return {
      batch,
      stepSeconds: t.seconds,
      tokensPerSecond: batch / t.seconds,
      tokensPerSecondPerSequence: 1 / t.seconds,
      computeSeconds: t.breakdown.flopSeconds,
      memorySeconds: t.breakdown.byteSeconds,
    };
  });
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
    }, MAX_TOKENS);
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
  return smallestTrue((b) => decodeComputeShare(model, hw, { dtype, batch: b, context }) >= 1, MAX_TOKENS);
}

/** The largest batch `decodeCriticalBatch` searches: 2^24 sequences. */
export const DECODE_CRITICAL_BATCH_MAX = MAX_TOKENS;

/**
 * A decode step's time at peak FLOPs over its time at peak bandwidth, summed over its
 * operations: ≥ 1 where the step is compute-bound. What `decodeCriticalBatch` tests.
 *
 * @example
 * decodeComputeShare(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { dtype: 'bf16', batch: 1 }) // => about 0.003
 */
export function decodeComputeShare(model: ModelSpec, hw: HardwareSpec, opts: { dtype: Dtype; batch: number; context?: number }): number {
  const { dtype } = checkOpts(hw, opts);
  const batch = checkInt('batch', opts.batch, { min: 1, max: MAX_TOKENS });
  const context = checkNumber('context', opts.context ?? 0, { min: 0, max: MAX_TOKENS });
  let c = 0;
  let m = 0;
  for (const op of decodeOps(model, { batch, context, dtype })) {
    const p = opRoofline(op, hw, dtype);
    c += p.computeSeconds;
    m += p.memorySeconds;
  }
  return c / m;
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
 * Largest decode batch whose weights, KV caches and activations fit in the memory of
 * `devices` tensor-parallel devices (default 1) at `context` tokens per sequence; 0
 * when not even one sequence fits. A thin caller of `maxBatchThatFits` (the one
 * memory fit, `memoryFit`), with weights, activations and KV cache at `dtype`.
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
  return maxBatchThatFits(model, hw, { precision: dtype, parallelism: { tp: devices }, efficiency: 'spec' }, context);
}

/** One point of `criticalBatchGrid`. */
export interface CriticalBatchGridPoint {
  /** "<model id> <dtype>", the chart's series. */
  series: string;
  model: string;
  dtype: Dtype;
  hardware: string;
  criticalBatch: number;
}

/**
 * The decode critical batch (weights only, context 0) of every model on every device
 * at every dtype the device has a peak for; dtypes a device lacks are left out.
 *
 * @example
 * criticalBatchGrid([loadModel('llama-3.1-70b')], [loadHardware('h100-sxm')], ['bf16', 'fp8']).map((p) => p.criticalBatch)
 * // => [about 300, about 300]
 */
export function criticalBatchGrid(models: readonly ModelSpec[], devices: readonly HardwareSpec[], dtypes: readonly Dtype[]): CriticalBatchGridPoint[] {
  if (!Array.isArray(models) || models.length === 0 || models.length > 100) throw new InputError('models', models, 'a non-empty array of at most 100 models');
  if (!Array.isArray(devices) || devices.length === 0 || devices.length > 100) throw new InputError('devices', devices, 'a non-empty array of at most 100 hardware specs');
  if (!Array.isArray(dtypes) || dtypes.length === 0) throw new InputError('dtypes', dtypes, 'a non-empty array of dtypes');
  dtypes.forEach((d, i) => checkOneOf(`dtypes[${i}]`, d, DTYPES));
  const out: CriticalBatchGridPoint[] = [];
  for (const model of models) {
    for (const hw of devices) {
      for (const dtype of dtypes) {
        if (hw.peakFlops[dtype] === undefined) continue;
        out.push({ series: `${model.id} ${dtype}`, model: model.id, dtype, hardware: hw.id, criticalBatch: decodeCriticalBatch(model, hw, { dtype }) });
      }
    }
  }
  return out;
}
