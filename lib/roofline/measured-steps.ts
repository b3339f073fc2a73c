import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { KernelDb } from '../kernels/load.js';
import { loadHardware } from '../hardware/spec.js';
import { loadModel } from '../models/spec.js';
import { InputError } from '../util/errors.js';
import { batchlabDataDir } from '../util/package-root.js';
import { loadKernelDb } from '../kernels/load.js';
import { kernelFrameworksOf } from '../kernels/pricer.js';
import { stepTime } from './deployment.js';

/**
 * One whole engine step timed on a GPU by bench/gpu/kernel_tables.py: a model's decode step
 * (one token for each of `batch` sequences over `context` cached tokens) or prefill step
 * (`batch` prompts of `context` tokens), replayed in a CUDA graph. Variant 'full' runs every
 * kernel of the step; 'core' its GEMMs and attention alone, so that it can be set against
 * the sum of their kernel-table rows. A full step also lists its kernels by class, from one
 * profiled eager step.
 */
export interface MeasuredStep {
  model: string;
  tp: number;
  phase: 'decode' | 'prefill';
  variant: 'full' | 'core';
  dtype: 'bf16' | 'fp8';
  batch: number;
  tokens: number;
  context: number;
  /** Median seconds over CUDA-graph replays. */
  seconds: number;
  p10Seconds: number;
  p90Seconds: number;
  /** Kernels besides GEMMs and attention (full steps only): count and summed device seconds. */
  otherKernels?: number;
  otherKernelSeconds?: number;
  /**
   * How many of the other kernels quantize an FP8 linear's activation (full FP8 steps): the
   * tables' 'fp8' GEMM rows already hold them.
   */
  quantizeKernels?: number;
  /** Where it was read: file and 1-based line. */
  source: { file: string; line: number };
}

const MAX_BYTES = 1 << 20;

/**
 * Reads a steps file written by bench/gpu/kernel_tables.py; a bad row is an InputError
 * naming the file, line and column.
 *
 * @example
 * readMeasuredSteps('data/examples/measured/steps-h200_sxm-torch-2.11.0.csv').length // => 43
 */
export function readMeasuredSteps(file: string): MeasuredStep[] {
  if (!existsSync(file) || !statSync(file).isFile()) throw new InputError('steps file', file, 'a readable CSV file');
  if (statSync(file).size > MAX_BYTES) throw new InputError('steps file', file, `a file of at most ${MAX_BYTES} bytes`);
  let records: Record<string, string>[];
  try {
    records = parse(readFileSync(file, 'utf8'), { columns: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (e) {
    throw new InputError('steps file', file, 'well-formed CSV with a header', (e as Error).message);
  }
  if (records.length === 0) throw new InputError('steps file', file, 'a header and at least one step row');
  return records.map((r, i) => {
    const line = i + 2;
    const at = (c: string): string => {
      const v = r[c];
      if (v === undefined || v === '') throw new InputError(`${file}:${line} ${c}`, v, 'a value');
      return v;
    };
    // Sizes are whole numbers within what a step can hold; times within 0.01 µs … 10^9 µs.
    const whole = (c: string, max: number): number => {
      const v = at(c);
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new InputError(`${file}:${line} ${c}`, v, `a whole number from 1 to ${max}`);
      return Number(v);
    };
    const us = (c: string): number => {
      const v = Number(at(c));
      if (!Number.isFinite(v) || v < 0.01 || v > 1e9) throw new InputError(`${file}:${line} ${c}`, r[c], 'microseconds from 0.01 to 10^9');
      return v / 1e6;
    };
    const oneOf = <T extends string>(c: string, allowed: readonly T[]): T => {
      const v = at(c) as T;
      if (!allowed.includes(v)) throw new InputError(`${file}:${line} ${c}`, v, `one of ${allowed.join(', ')}`);
      return v;
    };
    const step: MeasuredStep = {
      model: at('model'),
      tp: whole('tp', 1024),
      phase: oneOf('phase', ['decode', 'prefill'] as const),
      variant: oneOf('variant', ['full', 'core'] as const),
      dtype: oneOf('dtype', ['bf16', 'fp8'] as const),
      batch: whole('batch', 1e6),
      tokens: whole('tokens', 1e8),
      context: whole('context', 1e7),
      seconds: us('time_us'),
      p10Seconds: us('p10_us'),
      p90Seconds: us('p90_us'),
      source: { file, line },
    };
    const count = (c: string): number => {
      const v = at(c);
      if (!/^\d+$/.test(v) || Number(v) > 1e6) throw new InputError(`${file}:${line} ${c}`, v, 'a whole number from 0 to 10^6');
      return Number(v);
    };
    // A decode step makes one token per sequence; a prefill step reads whole prompts.
    const tokens = step.phase === 'decode' ? step.batch : step.batch * step.context;
    if (step.tokens !== tokens) throw new InputError(`${file}:${line} tokens`, r.tokens, `${tokens} (batch${step.phase === 'decode' ? '' : ' × context'} of a ${step.phase} step)`);
    if (!(step.p10Seconds <= step.seconds && step.seconds <= step.p90Seconds)) throw new InputError(`${file}:${line} time_us`, r.time_us, `a median between p10_us (${r.p10_us}) and p90_us (${r.p90_us})`);
    if (step.variant === 'full' && r.other_kernels !== undefined && r.other_kernels !== '') {
      step.otherKernels = count('other_kernels');
      const otherUs = Number(at('other_kernel_us'));
      if (!Number.isFinite(otherUs) || otherUs < 0 || otherUs > 1e9) throw new InputError(`${file}:${line} other_kernel_us`, r.other_kernel_us, 'microseconds from 0 to 10^9');
      step.otherKernelSeconds = otherUs / 1e6;
      step.quantizeKernels = r.quantize_kernels === undefined || r.quantize_kernels === '' ? 0 : count('quantize_kernels');
      if (step.quantizeKernels > step.otherKernels) throw new InputError(`${file}:${line} quantize_kernels`, r.quantize_kernels, `at most other_kernels (${step.otherKernels})`);
    }
    return step;
  });
}

/** A measured step beside what stepTime predicts for it from a kernel database. */
export interface MeasuredStepComparison {
  step: MeasuredStep;
  /**
   * Predicted seconds: for a 'core' step its GEMMs and attention alone (the sum of their
   * table rows); for a 'full' step the whole step, with the profiled count of other kernels
   * as `auxiliaryKernels`.
   */
  predictedSeconds: number;
  /** predicted / measured − 1. */
  error: number;
}

/**
 * Prices measured steps with `stepTime` from `db` under `framework` on `hardware` (a
 * catalog id), the way `batchlab deploy --framework` does; nothing is fitted to the steps.
 *
 * @example
 * const db = loadKernelDb('data/examples/measured/kernels');
 * compareMeasuredSteps(readMeasuredSteps('data/examples/measured/steps-h200_sxm-torch-2.11.0.csv'), db, 'torch', 'h200')[0].error
 */
export function compareMeasuredSteps(steps: readonly MeasuredStep[], db: KernelDb, framework: string, hardware: string): MeasuredStepComparison[] {
  const hw = loadHardware(hardware);
  // Without the device's tables every kernel would be the performance model's: no check at all.
  const held = kernelFrameworksOf(db, hw);
  if (!held.includes(framework)) throw new InputError('framework', framework, `one of the frameworks the database holds for ${hw.id}: ${held.join(', ') || 'none'}`);
  return steps.map((s) => {
    const where = `${s.source.file}:${s.source.line}`;
    let model;
    try {
      model = loadModel(s.model);
    } catch (e) {
      throw new InputError(`${where} model`, s.model, 'a catalog model id', (e as Error).message);
    }
    const work =
      s.phase === 'decode'
        ? { prefillTokens: 0, decodeTokens: s.batch, contextTokens: s.batch * s.context }
        : { prefillTokens: s.tokens, decodeTokens: 0, contextTokens: 0, prefillSequences: s.batch };
    const precision = s.dtype === 'fp8' ? ({ weights: 'fp8', activations: 'bf16' } as const) : ('bf16' as const);
    const full = s.variant === 'full';
    // The FP8 GEMM rows hold their quantize kernels: the rest of the other kernels are the step's own.
    const auxiliaryKernels = full && s.otherKernels !== undefined ? { auxiliaryKernels: s.otherKernels - (s.quantizeKernels ?? 0) } : {};
    let t;
    try {
      t = stepTime(model, hw, { framework, kernelDb: db, precision, parallelism: { tp: s.tp }, checkMemory: false, ...auxiliaryKernels }, work);
    } catch (e) {
      throw e instanceof InputError ? new InputError(`${where} ${e.field}`, e.value, e.allowed, e.detail) : e;
    }
    const predictedSeconds = full ? t.seconds : t.breakdown.gemmSeconds + t.breakdown.attentionSeconds;
    return { step: s, predictedSeconds, error: predictedSeconds / s.seconds - 1 };
  });
}

/** The GPU run that ships with batchlab: one NVIDIA H200, PyTorch 2.11.0 (data/examples/measured). */
export const SHIPPED_GPU_STEPS = { steps: 'examples/measured/steps-h200_sxm-torch-2.11.0.csv', kernelDb: 'examples/measured/kernels', framework: 'torch', hardware: 'h200' } as const;

/**
 * The shipped GPU run's steps beside `stepTime` from the same run's kernel tables
 * (`SHIPPED_GPU_STEPS`), or another run's: `steps` and `kernelDb` are paths, `framework` the
 * tables' folder, `hardware` a catalog id.
 *
 * @example
 * measuredStepsCheck().filter((c) => c.step.variant === 'core').length // => 17
 */
export function measuredStepsCheck(opts: { steps?: string; kernelDb?: string; framework?: string; hardware?: string } = {}): MeasuredStepComparison[] {
  const steps = opts.steps ?? batchlabDataDir(SHIPPED_GPU_STEPS.steps);
  const db = loadKernelDb(opts.kernelDb ?? batchlabDataDir(SHIPPED_GPU_STEPS.kernelDb));
  return compareMeasuredSteps(readMeasuredSteps(steps), db, opts.framework ?? SHIPPED_GPU_STEPS.framework, opts.hardware ?? SHIPPED_GPU_STEPS.hardware);
}

/** One group of measured steps and how far stepTime was from them. */
export interface MeasuredStepsGroup {
  label: string;
  steps: number;
  minError: number;
  maxError: number;
}

/**
 * Groups a step check the way its errors differ: the GEMM-and-attention 'core' steps (the
 * tables' sum), whole bf16 decode steps, whole bf16 prefill steps, whole FP8 decode steps.
 * Groups with no step are left out.
 *
 * @example
 * measuredStepsSummary(measuredStepsCheck()).map((g) => g.label)
 * // => ['GEMMs and attention alone (decode and prefill)', 'whole bf16 decode steps', 'whole bf16 prefill steps', 'whole FP8 decode steps']
 */
export function measuredStepsSummary(rows: readonly MeasuredStepComparison[]): MeasuredStepsGroup[] {
  const groups: Array<[string, (s: MeasuredStep) => boolean]> = [
    ['GEMMs and attention alone (decode and prefill)', (s) => s.variant === 'core'],
    ['whole bf16 decode steps', (s) => s.variant === 'full' && s.phase === 'decode' && s.dtype === 'bf16'],
    ['whole bf16 prefill steps', (s) => s.variant === 'full' && s.phase === 'prefill' && s.dtype === 'bf16'],
    ['whole FP8 decode steps', (s) => s.variant === 'full' && s.phase === 'decode' && s.dtype === 'fp8'],
  ];
  return groups.flatMap(([label, pick]) => {
    const e = rows.filter((r) => pick(r.step)).map((r) => r.error);
    return e.length ? [{ label, steps: e.length, minError: Math.min(...e), maxError: Math.max(...e) }] : [];
  });
}

/**
 * A step's label for tables and charts, e.g. "decode, 64 sequences at 1,024 tokens (GEMMs and attention alone)".
 *
 * @example
 * measuredStepLabel(measuredStepsCheck()[0].step) // => 'decode, 1 sequence at 1,024 tokens (whole step, bf16)'
 */
export function measuredStepLabel(s: MeasuredStep): string {
  const what = s.phase === 'decode' ? `${s.batch} sequence${s.batch === 1 ? '' : 's'} at ${s.context.toLocaleString('en-US')} tokens` : `${s.batch} prompt${s.batch === 1 ? '' : 's'} of ${s.context.toLocaleString('en-US')} tokens`;
  return `${s.phase}, ${what} (${s.variant === 'core' ? 'GEMMs and attention alone' : `whole step, ${s.dtype}`})`;
}
