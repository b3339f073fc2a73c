import type { DeviceInfo } from '../backend/device.js';
import type { Dtype } from '../core/types.js';
import type { OpTiming } from './timing.js';

/**
 * Where and how a measured row was timed, and its robust statistics: the columns every
 * measurement table of batchlab shares (GEMM and attention rows). Times are seconds.
 */
export interface MeasuredRowProvenance {
  backend: string;
  device: string;
  host: string;
  /** Library versions and TensorFlow settings as "name=value" pairs joined by ";". */
  versions: string;
  /** ISO time the point finished. */
  timestamp: string;
  sync: string;
  warmup: number;
  /** Timed repetitions (the sample count). */
  reps: number;
  median_s: number;
  p10_s: number;
  p90_s: number;
  mean_s: number;
  cv: number;
}

/**
 * One measured point: the row format of every table and CSV file the GEMM harness
 * writes, and of the PyTorch reference script in bench/gpu/. Times are seconds.
 * The sample count is `reps`; it is not called `n` because `n` is the output width.
 */
export interface GemmRow extends MeasuredRowProvenance {
  /** Which experiment: 'sweep', 'one-vs-many', 'dispatch', 'grouped-experts'. */
  case: string;
  /** Formulation within the case, e.g. 'plain', 'transposed-w', 'one', 'many', 'padded-batched'. */
  variant: string;
  m: number;
  k: number;
  n: number;
  /** Independent products per call (experts for grouped cases), 1 for a plain matmul. */
  batch: number;
  /** Matmul calls per timed repetition. */
  calls: number;
  dtype: Dtype;
  /** Useful floating-point operations per repetition. */
  flops: number;
  /** Minimum bytes moved per repetition (weights, activations, outputs). */
  bytes: number;
  /** Weight bytes read per repetition. */
  weight_bytes: number;
  /** flops / median / 1e9. */
  gflops: number;
  /** weight_bytes / median / 1e9. */
  weight_gbps: number;
  /** Free-form detail of the case, e.g. the expert token counts. */
  detail: string;
}

/** Column order of GEMM CSV files (also written by bench/gpu/torch_gemm_sweep.py). */
export const GEMM_COLUMNS: readonly (keyof GemmRow)[] = [
  'case', 'variant', 'm', 'k', 'n', 'batch', 'calls', 'dtype', 'backend', 'device', 'host', 'versions', 'timestamp',
  'sync', 'warmup', 'reps', 'median_s', 'p10_s', 'p90_s', 'mean_s', 'cv', 'flops', 'bytes', 'weight_bytes', 'gflops',
  'weight_gbps', 'detail',
];

/** Numeric columns, for parsing CSV back. */
export const GEMM_NUMERIC_COLUMNS: ReadonlySet<string> = new Set([
  'm', 'k', 'n', 'batch', 'calls', 'warmup', 'reps', 'median_s', 'p10_s', 'p90_s', 'mean_s', 'cv', 'flops', 'bytes',
  'weight_bytes', 'gflops', 'weight_gbps',
]);

/**
 * "name=version;…" for a versions record, sorted by name.
 *
 * @example
 * versionsString({ tfjs: '4.22.0', node: '20.19.0' }) // => 'node=20.19.0;tfjs=4.22.0'
 */
export function versionsString(v: Record<string, string>): string {
  return Object.keys(v)
    .sort()
    .map((k) => `${k}=${v[k]}`)
    .join(';');
}

/**
 * TensorFlow settings that change native-backend matmul speed, as "name=value" pairs
 * ("default" when unset): they belong with the library versions in a row's provenance.
 *
 * @example
 * tensorflowSettings('wasm') // => {}
 * tensorflowSettings('tensorflow').TF_ENABLE_ONEDNN_OPTS // => 'default' unless set
 */
export function tensorflowSettings(backend: string): Record<string, string> {
  if (!backend.startsWith('tensorflow')) return {};
  const out: Record<string, string> = {};
  for (const k of ['TF_ENABLE_ONEDNN_OPTS', 'TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'OMP_NUM_THREADS']) out[k] = process.env[k] ?? 'default';
  return out;
}

/**
 * Identity of a point for resuming: everything that defines what was measured.
 *
 * @example
 * gemmRowKey({ case: 'sweep', variant: 'plain', m: 8, k: 64, n: 64, batch: 1, dtype: 'fp32', detail: '' }) // => 'sweep|plain|8|64|64|1|fp32|'
 */
export function gemmRowKey(r: Pick<GemmRow, 'case' | 'variant' | 'm' | 'k' | 'n' | 'batch' | 'dtype' | 'detail'>): string {
  return [r.case, r.variant, r.m, r.k, r.n, r.batch, r.dtype, r.detail].join('|');
}

/**
 * Builds a row from a timing and the work it did.
 *
 * @example
 * gemmRow({ case: 'sweep', variant: 'plain', m, k, n, dtype: 'fp32', flops, bytes, weightBytes }, await timeTfOp(run), await deviceInfo()).gflops
 */
export function gemmRow(
  spec: { case: string; variant: string; m: number; k: number; n: number; batch?: number; calls?: number; dtype: Dtype; flops: number; bytes: number; weightBytes: number; detail?: string },
  timing: OpTiming,
  info: DeviceInfo,
): GemmRow {
  const s = timing.stats;
  return {
    case: spec.case,
    variant: spec.variant,
    m: spec.m,
    k: spec.k,
    n: spec.n,
    batch: spec.batch ?? 1,
    calls: spec.calls ?? 1,
    dtype: spec.dtype,
    backend: info.backend,
    device: info.device,
    host: info.host,
    versions: versionsString({ ...info.versions, ...tensorflowSettings(info.backend) }),
    timestamp: new Date().toISOString(),
    sync: timing.sync,
    warmup: timing.warmup,
    reps: s.n,
    median_s: s.median,
    p10_s: s.p10,
    p90_s: s.p90,
    mean_s: s.mean,
    cv: s.cv,
    flops: spec.flops,
    bytes: spec.bytes,
    weight_bytes: spec.weightBytes,
    gflops: spec.flops / s.median / 1e9,
    weight_gbps: spec.weightBytes / s.median / 1e9,
    detail: spec.detail ?? '',
  };
}
