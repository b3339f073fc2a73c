import type { StepWork } from '../core/types.js';
import type { HardwareSpec } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import type { EfficiencyMode, ExpertRouting, Fp8Scaling, MemoryFit, Parallelism, PerfConfig } from '../roofline/deployment.js';
import { memoryFit, precisionOfClasses, pricingFramework, stepTimer } from '../roofline/deployment.js';
import { checkInt, checkNumber } from '../util/validate.js';
import { defaultKernelDb } from '../kernels/load.js';
import { kernelFrameworksOf, kernelTablesText } from '../kernels/pricer.js';
import { checkPrecision, layoutParallelism, resolveLayout } from './layout.js';
import { checkStepInput } from './step.js';
import type { DeploymentPrecision, DeviceStepBreakdown, DeviceStepInput, DeviceStepModel, PoolLayout, PoolRole, StepModelExtras, StepModelFactory } from './types.js';

/** Options of the calibrated per-device model. */
export interface PerfStepOptions {
  /** 'calibrated' (default when the hardware has a calibration), 'typical', or 'spec' (the datasheet bound). */
  efficiency?: EfficiencyMode;
  /** How dispatch reaches a token's experts: one copy per expert (default) or per remote node. */
  dispatch?: Parallelism['dispatch'];
  /** Busiest expert device's tokens over the mean (default 1); under `expertRouting: 'eplb'` the placement model gives it (`uniformRoutingLoadFactor`). */
  expertLoadFactor?: number;
  /**
   * How the deployment routes tokens to its experts (PerfConfig `parallelism.expertRouting`):
   * 'eplb' balances them over the layout's `redundantExperts` copies, the busiest device at the
   * placement model's load factor for each step, in the performance model and on the kernel
   * tables' 'uniform' rows alike (not with `expertLoadFactor`).
   */
  expertRouting?: ExpertRouting;
  /** Price GEMMs, attention and all-reduces from this framework's kernel tables (PerfConfig `framework`: by default the default engine's where the database holds them, `pricingFramework`; null: the performance model alone). */
  framework?: string | null;
  frameworkVersion?: string;
  /** The kernel database (default: the shipped one); `false` switches it off. */
  kernelDb?: PerfConfig['kernelDb'];
  /** With `framework`: how the checkpoint scales its FP8 GEMMs, which picks their table (PerfConfig `fp8Scaling`; default the checkpoint's own, else 'dynamic': `fp8ScalingOf`). */
  fp8Scaling?: Fp8Scaling;
  /** Share of each device's memory for weights and KV cache (PerfConfig `memoryFraction`, e.g. an engine preset's `presetMemoryFraction`). */
  memoryFraction?: number;
}

/**
 * The DeviceStepModel of the performance model (`stepTime` in lib/roofline), priced as a
 * PerfConfig of `opts` is (naming no framework and no efficiency: the default engine's
 * kernel tables where the database holds the device, `pricingFramework`). Its own terms:
 * GEMMs with tile and wave quantization at the hardware's sourced efficiency, attention
 * kernels at theirs, kernel launches, collectives priced α + bytes/β, the busiest
 * attention group and expert device setting the step. One attention rank's work is
 * scaled to the whole stage (every rank equally loaded). Weight GEMMs, elementwise
 * work and launches are reported together as `linearSeconds` (experts included).
 *
 * @example
 * const m = perfDeviceStepModel(loadModel('deepseek-v3'), loadHardware('h800'), layout, precision);
 * m.step({ prefillTokens: 0, decodeSequences: 128, decodeContext: 4096 }).seconds
 */
export function perfDeviceStepModel(model: ModelSpec, hw: HardwareSpec, layout: PoolLayout, precision: DeploymentPrecision, opts: PerfStepOptions = {}): DeviceStepModel {
  const L = resolveLayout(model, layout);
  const pr = checkPrecision(precision);
  const classes = precisionOfClasses(pr);
  const dp = L.dataParallelAttention;
  const config: PerfConfig = {
    parallelism: layoutParallelism(model, layout, { dispatch: opts.dispatch, expertLoadFactor: opts.expertLoadFactor, expertRouting: opts.expertRouting }),
    precision: classes,
    efficiency: opts.efficiency,
    checkMemory: false,
    framework: opts.framework,
    frameworkVersion: opts.frameworkVersion,
    kernelDb: opts.kernelDb,
    ...(opts.fp8Scaling === undefined ? {} : { fp8Scaling: opts.fp8Scaling }),
    ...(opts.memoryFraction === undefined ? {} : { memoryFraction: opts.memoryFraction }),
  };
  // Validates and resolves the configuration once, up front: every step reuses its kernel pricer.
  const time = stepTimer(model, hw, config);
  const probe = time({ prefillTokens: 0, decodeTokens: dp, contextTokens: 0 });
  const kernelsOf = probe.kernels ? ` and ${kernelTablesText(opts.kernelDb || defaultKernelDb(), hw, pricingFramework(hw, config)!)}` : '';
  // The KV cache is named only where it differs from the attention dtype that otherwise stands for it.
  const kvOf = classes.kvCache === pr.attention ? '' : `, ${classes.kvCache} KV cache`;
  // Weight-only quantization: the math is named where it is wider than the stored weights.
  const mathOf = classes.compute === pr.weights ? '' : ` (${classes.compute} math)`;
  const label = `${hw.name} performance model, ${probe.efficiency} efficiency${kernelsOf} (TP${L.tensorParallel}${L.expertParallel > 1 ? ` EP${L.expertParallel}` : ''}${dp > 1 ? ` DP${dp}` : ''}${L.pipelineParallel > 1 ? ` PP${L.pipelineParallel}` : ''}, ${pr.weights} weights${mathOf}, ${pr.attention} attention${kvOf})`;

  const step = (raw: DeviceStepInput): DeviceStepBreakdown => {
    const w = checkStepInput(raw);
    const D = w.decodeSequences * w.decodeTokensPerSequence;
    const S = w.prefillSequences;
    const work: StepWork = {
      prefillTokens: w.prefillTokens * dp,
      decodeTokens: D * dp,
      contextTokens: D * w.decodeContext * dp,
    };
    if (w.prefillTokens > 0) {
      work.prefillSequences = S * dp;
      work.prefillAttentionPairs = w.prefillTokens * dp * w.prefillAttentionPairsPerToken;
    }
    const t = time(work);
    const b = t.breakdown;
    return {
      linearSeconds: b.gemmSeconds + b.elementwiseSeconds + b.launchSeconds,
      attentionSeconds: b.attentionSeconds,
      expertSeconds: 0,
      communicationSeconds: b.communicationSeconds + b.pipelineSeconds,
      seconds: t.intervalSeconds,
      ...(t.kernels ? { kernels: t.kernels } : {}),
      ...(t.fromTables ? { fromTables: t.fromTables } : {}),
      ...(t.expertLoad ? { expertLoad: t.expertLoad } : {}),
    };
  };

  const memory = (context: number): { weightBytes: number; kvBytesPerSequence: number; capacityBytes: number } => {
    const c = Math.ceil(checkNumber('context', context, { min: 0, max: 1 << 24 }));
    // One sequence per attention group, no activations: the KV one device holds per sequence of its rank.
    const one = memoryFit(model, hw, config, { batch: dp, context: c, tokens: 0 });
    return { weightBytes: one.weightBytes, kvBytesPerSequence: one.kvCacheBytes, capacityBytes: one.capacityBytes };
  };
  // Every attention group decodes `sequences` sequences, one token each in flight.
  const fit = (sequences: number, context: number): MemoryFit => {
    const s = checkInt('sequences', sequences, { min: 0, max: 1 << 24 });
    const c = Math.ceil(checkNumber('context', context, { min: 0, max: 1 << 24 }));
    return memoryFit(model, hw, config, { batch: s * dp, context: c, tokens: s * dp });
  };
  return { label, step, memory, fit };
}

/**
 * The datasheet roofline of a deployment: `perfDeviceStepModel` at efficiency 'spec'
 * (every operation at max(FLOPs / peak, bytes / bandwidth), collectives at the
 * datasheet link with no latency, no launches or auxiliary kernels), the lower bound
 * of every step. On one device with one dtype it equals `rooflineStepCost`.
 *
 * @example
 * const m = rooflineDeviceStepModel(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'),
 *   { gpusPerNode: 8, tensorParallel: 4, dataParallelAttention: 1, pipelineParallel: 1, expertParallel: 1,
 *     redundantExperts: 0, microBatchOverlap: false }, uniformPrecision('bf16'));
 * m.step({ prefillTokens: 0, decodeSequences: 32, decodeContext: 2048 }).seconds // => about 0.0124
 */
export function rooflineDeviceStepModel(model: ModelSpec, hw: HardwareSpec, layout: PoolLayout, precision: DeploymentPrecision): DeviceStepModel {
  return perfDeviceStepModel(model, hw, layout, precision, { efficiency: 'spec' });
}

/**
 * The calibrated performance model as DeepSeek runs it: DeepEP's normal kernels in
 * prefill send a token once per remote node and forward it over NVLink; its
 * low-latency kernels in decode send one copy per expert (DeepEP README). The default
 * per-device model of deployments and searches.
 *
 * @example
 * calibratedStepModel(loadModel('deepseek-v3'), loadHardware('h800'), layout, precision, 'decode').label
 */
export const calibratedStepModel: StepModelFactory = (model, hw, layout, precision, role, extras) => perfDeviceStepModel(model, hw, layout, precision, { framework: null, ...poolOptions(role, extras) });

/**
 * The per-device model deployments and searches price with when given none: the default
 * engine's measured kernel tables where the kernel database holds the device
 * (`pricingFramework`, as `batchlab deploy` and `search` price), the calibrated
 * performance model for every op they lack and on a device they do not hold.
 *
 * @example
 * defaultStepModel(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), layout, uniformPrecision('bf16'), 'decode').label // => '… and vllm 0.24.0 kernel tables (TP4, …)'
 */
export const defaultStepModel: StepModelFactory = (model, hw, layout, precision, role, extras) => perfDeviceStepModel(model, hw, layout, precision, poolOptions(role, extras));

/** What every pool factory passes on: dispatch by role (DeepEP's kernels), and the extras' expert load factor and memory share. */
function poolOptions(role: PoolRole, extras: StepModelExtras | undefined): PerfStepOptions {
  return {
    dispatch: role === 'prefill' ? 'per-node' : 'per-expert',
    expertLoadFactor: extras?.expertLoadFactor,
    ...(extras?.expertRouting === undefined ? {} : { expertRouting: extras.expertRouting }),
    ...(extras?.memoryFraction === undefined ? {} : { memoryFraction: extras.memoryFraction }),
  };
}

/**
 * The calibrated model with GEMMs, attention and tensor-parallel all-reduces priced
 * from a serving framework's kernel tables (lib/kernels), dispatch as in
 * `calibratedStepModel`. Each step's breakdown lists the rows that priced it.
 *
 * @example
 * const make = kernelTableStepModel({ framework: 'trtllm' });
 * make(loadModel('llama-3.1-70b'), loadHardware('h200'), layout, uniformPrecision('bf16'), 'decode').label
 */
export function kernelTableStepModel(opts: Pick<PerfStepOptions, 'framework' | 'frameworkVersion' | 'kernelDb' | 'efficiency' | 'fp8Scaling'>): StepModelFactory {
  return (model, hw, layout, precision, role, extras) => {
    // A device whose tables are another framework's only (a100: trtllm) is priced by the
    // performance model, as one with no tables is, and its label says which tables it lacks:
    // over a search's hardware this framework's tables price what they hold, not refuse the rest.
    const db = opts.kernelDb === false ? undefined : (opts.kernelDb ?? defaultKernelDb());
    if (db && typeof opts.framework === 'string' && !kernelFrameworksOf(db, hw).includes(opts.framework)) {
      const m = perfDeviceStepModel(model, hw, layout, precision, { framework: null, ...(opts.efficiency === undefined ? {} : { efficiency: opts.efficiency }), ...poolOptions(role, extras) });
      return { ...m, label: `${m.label}; ${kernelTablesText(db, hw, opts.framework)}` };
    }
    return perfDeviceStepModel(model, hw, layout, precision, { ...opts, ...poolOptions(role, extras) });
  };
}

/**
 * The same at the datasheet bound (no kernel efficiency, no launch or link latency).
 *
 * @example
 * specBoundStepModel(loadModel('deepseek-v3'), loadHardware('h800'), layout, precision, 'decode').label
 */
export const specBoundStepModel: StepModelFactory = (model, hw, layout, precision, role, extras) =>
  perfDeviceStepModel(model, hw, layout, precision, { efficiency: 'spec', ...poolOptions(role, extras) });
