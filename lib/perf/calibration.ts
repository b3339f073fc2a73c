import type { Dtype } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkKnownKeys, checkNumber, checkOneOf } from '../util/validate.js';
import type { Provenance } from '../util/provenance.js';

/**
 * What a device's kernels achieve, as fractions of its datasheet and fixed costs in
 * seconds. Hardware carries it (data/hardware/<id>.json, key `calibration`), every
 * number with the source it is derived from. A device without one is spec-only: the
 * performance model then prices it as a band from the datasheet bound to
 * `TYPICAL_CALIBRATION`.
 */
export interface HardwareCalibration {
  /** Fraction of the dense datasheet peak that large GEMMs reach, per dtype of the tensor cores used. */
  gemmEfficiency: Partial<Record<Dtype, number>>;
  /** Fraction of the datasheet memory bandwidth that streaming kernels (small-M GEMMs, decode attention, norms) reach. */
  memoryEfficiency: number;
  /** Fraction of the datasheet memory bandwidth that decode attention reaches streaming the KV cache. */
  attentionMemoryEfficiency: number;
  /** Fraction of the activation-dtype peak that causal prefill attention (FlashAttention-class kernels) reaches. */
  attentionPrefillEfficiency: number;
  /** Fraction of the activation-dtype peak that decode attention reaches where it is compute-bound. */
  attentionDecodeEfficiency: number;
  /**
   * Time of the auxiliary kernels around GEMMs and attention (norms, FP8 casts, rotary
   * embedding, routing, token permutation, reductions) as a share of GEMM + attention
   * time, as measured in a real forward pass.
   */
  auxiliaryKernelFraction: number;
  /** Rows and columns of one GEMM output tile: M and N round up to these (tile quantization). */
  gemmTileM: number;
  gemmTileN: number;
  /** Units the tiles are spread over (streaming multiprocessors): the last wave may run part-empty. */
  computeUnits: number;
  /**
   * Units that high-throughput all-to-all kernels (per-node dispatch with forwarding)
   * hold while they overlap computation; computation meanwhile runs on the rest.
   * Low-latency (per-expert, pure RDMA) kernels hold none.
   */
  overlapCommunicationUnits: number;
  /**
   * Fraction of what two-micro-batch overlap can hide that it actually hides (1 = all of
   * it; see Parallelism.overlap for what that is). Absent: 1, so that overlap follows from
   * the computation and communication times the model prices and the schedule that runs
   * them, with no fitted loss; the shipped catalog sets none, since the only figures that
   * could set it are serving systems' published overlap gains.
   */
  overlapEfficiency?: number;
  /** Per-kernel cost launched one by one from the host. */
  kernelLaunchSeconds: number;
  /** Per-kernel cost inside a captured graph (the device-side gap between dependent kernels). */
  graphKernelSeconds: number;
  /** Fixed latency of one collective and achieved fraction of the datasheet bandwidth inside a node (NVLink, xGMI). */
  intraNodeLatencySeconds: number;
  intraNodeEfficiency: number;
  /** The same across nodes (InfiniBand, RoCE). */
  interNodeLatencySeconds: number;
  interNodeEfficiency: number;
  /** Where each number comes from, keyed by field path ("gemmEfficiency.fp8", ...); catalog entries say what kind of evidence it is. */
  sources: Record<string, Provenance & { kind?: CalibrationEvidence }>;
}

type ScalarField = Exclude<keyof HardwareCalibration, 'gemmEfficiency' | 'sources' | 'overlapEfficiency'>;

const FRACTIONS: readonly ScalarField[] = [
  'memoryEfficiency',
  'attentionMemoryEfficiency',
  'attentionPrefillEfficiency',
  'attentionDecodeEfficiency',
  'auxiliaryKernelFraction',
  'intraNodeEfficiency',
  'interNodeEfficiency',
];
const COUNTS: readonly ScalarField[] = ['gemmTileM', 'gemmTileN', 'computeUnits', 'overlapCommunicationUnits'];
const SECONDS: readonly ScalarField[] = ['kernelLaunchSeconds', 'graphKernelSeconds', 'intraNodeLatencySeconds', 'interNodeLatencySeconds'];

/**
 * The fields a calibration must carry, in the order the catalog lists them.
 *
 * @example
 * CALIBRATION_FIELDS[0] // => 'gemmEfficiency'
 */
export const CALIBRATION_FIELDS: readonly (keyof HardwareCalibration)[] = ['gemmEfficiency', ...FRACTIONS, 'overlapEfficiency', ...COUNTS, ...SECONDS];

/**
 * What a calibration number may rest on: a kernel's measured time or throughput (a kernel
 * table, a profiler trace, a kernel library's published benchmark), a microbenchmark of a
 * link or collective, or a datasheet or instruction-set fact. Never a serving system's
 * published throughput or latency: those validate the model (data/published/).
 *
 * @example
 * CALIBRATION_EVIDENCE.includes('datasheet') // => true
 */
export const CALIBRATION_EVIDENCE = ['kernel-measurement', 'microbenchmark', 'datasheet'] as const;
/** One of CALIBRATION_EVIDENCE. */
export type CalibrationEvidence = (typeof CALIBRATION_EVIDENCE)[number];

function sourcedValue(field: string, raw: unknown, kind: 'fraction' | 'count' | 'seconds'): { value: number; prov: Provenance & { kind: CalibrationEvidence } } {
  if (typeof raw !== 'object' || raw === null) throw new InputError(field, raw, 'an object { kind, value, source }');
  const r = raw as { value?: unknown; source?: unknown; notes?: unknown; date?: unknown; kind?: unknown };
  checkKnownKeys(field, r, ['kind', 'value', 'source', 'notes', 'date']);
  const evidence = checkOneOf(`${field}.kind`, r.kind, CALIBRATION_EVIDENCE);
  const value =
    kind === 'fraction'
      ? checkNumber(`${field}.value`, r.value, { min: 0, exclusiveMin: true, max: 1 })
      : kind === 'count'
        ? checkNumber(`${field}.value`, r.value, { min: 0, max: 1 << 20 })
        : checkNumber(`${field}.value`, r.value, { min: 0, max: 1 });
  if (kind === 'count' && !Number.isInteger(value)) throw new InputError(`${field}.value`, value, 'an integer');
  if (typeof r.source !== 'string' || r.source.trim() === '') {
    throw new InputError(`${field}.source`, r.source, 'a non-empty string naming the document or measurement the number comes from');
  }
  const prov: Provenance & { kind: CalibrationEvidence } = { source: r.source, kind: evidence };
  if (typeof r.notes === 'string') prov.notes = r.notes;
  if (typeof r.date === 'string') prov.date = r.date;
  return { value, prov };
}

/**
 * Validates the `calibration` object of a hardware catalog entry. Every number is
 * `{ kind, value, source }`, `kind` one of CALIBRATION_EVIDENCE; efficiencies lie in (0, 1], counts are positive integers,
 * seconds are in [0, 1]. A bad or missing one is an InputError naming its field path
 * (e.g. `calibration.gemmEfficiency.fp8.value`).
 *
 * @example
 * calibrationFromJson(JSON.parse(text).calibration).gemmEfficiency.fp8 // => 0.51 for h800
 */
export function calibrationFromJson(json: unknown, field = 'calibration'): HardwareCalibration {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(field, json, 'an object of { value, source } numbers');
  const j = json as Record<string, unknown>;
  // A misspelt figure would otherwise be dropped and its neighbour's value used in its place.
  checkKnownKeys(field, j, CALIBRATION_FIELDS);
  const sources: Record<string, Provenance> = {};
  const ge = j.gemmEfficiency;
  if (typeof ge !== 'object' || ge === null || Array.isArray(ge)) throw new InputError(`${field}.gemmEfficiency`, ge, 'an object keyed by dtype');
  const gemmEfficiency: Partial<Record<Dtype, number>> = {};
  for (const [dt, raw] of Object.entries(ge as Record<string, unknown>)) {
    const dtype = checkOneOf(`${field}.gemmEfficiency dtype`, dt, DTYPES);
    const { value, prov } = sourcedValue(`${field}.gemmEfficiency.${dtype}`, raw, 'fraction');
    gemmEfficiency[dtype] = value;
    sources[`gemmEfficiency.${dtype}`] = prov;
  }
  if (Object.keys(gemmEfficiency).length === 0) throw new InputError(`${field}.gemmEfficiency`, ge, 'at least one dtype');
  const out = { gemmEfficiency, sources } as unknown as HardwareCalibration;
  const read = (names: readonly ScalarField[], kind: 'fraction' | 'count' | 'seconds'): void => {
    for (const f of names) {
      const { value, prov } = sourcedValue(`${field}.${f}`, j[f], kind);
      (out as unknown as Record<string, number>)[f] = value;
      sources[f] = prov;
    }
  };
  read(FRACTIONS, 'fraction');
  if (j.overlapEfficiency !== undefined) {
    const { value, prov } = sourcedValue(`${field}.overlapEfficiency`, j.overlapEfficiency, 'fraction');
    out.overlapEfficiency = value;
    sources.overlapEfficiency = prov;
  }
  read(COUNTS, 'count');
  read(SECONDS, 'seconds');
  for (const f of ['gemmTileM', 'gemmTileN', 'computeUnits'] as const) if (out[f] < 1) throw new InputError(`${field}.${f}.value`, out[f], 'an integer of at least 1');
  if (out.overlapCommunicationUnits >= out.computeUnits) {
    throw new InputError(`${field}.overlapCommunicationUnits.value`, out.overlapCommunicationUnits, `fewer than computeUnits (${out.computeUnits})`);
  }
  return out;
}

/**
 * The GEMM efficiency of a calibration at a dtype; a dtype it has no figure for is an
 * InputError naming `calibration.gemmEfficiency.<dtype>`.
 *
 * @example
 * calibrationGemmEfficiency(loadHardware('h800').calibration!, 'fp8') // => 0.51
 */
export function calibrationGemmEfficiency(cal: HardwareCalibration, dtype: Dtype): number {
  const e = cal.gemmEfficiency[dtype];
  if (e === undefined) {
    throw new InputError(`calibration.gemmEfficiency.${dtype}`, undefined, `a calibrated efficiency (the entry has ${Object.keys(cal.gemmEfficiency).join(', ')})`);
  }
  return e;
}

const TYPICAL_SOURCE: Provenance = {
  source: 'batchlab typical datacenter-GPU calibration',
  notes:
    "the kernel and link figures of the H800 calibration (data/hardware/h800.json, derived from DeepSeek's published kernel timings), " +
    'with the FP8 GEMM efficiency for every dtype and no wave quantization (a spec-only entry does not say how many units it has)',
};

/**
 * What a spec-only device is assumed to reach at typical: the Hopper figures derived
 * from DeepSeek's published kernel timings (see data/hardware/h800.json), the FP8
 * GEMM efficiency applied to every dtype, tiles padded but no waves (the unit count
 * is device-specific). A spec-only device's step time is a band from its datasheet
 * bound to this; it is never presented as a single number.
 *
 * @example
 * TYPICAL_CALIBRATION.memoryEfficiency // => 0.69
 */
export const TYPICAL_CALIBRATION: HardwareCalibration = Object.freeze({
  gemmEfficiency: Object.fromEntries(DTYPES.map((d) => [d, 0.55])) as Record<Dtype, number>,
  memoryEfficiency: 0.69,
  attentionMemoryEfficiency: 0.9,
  attentionPrefillEfficiency: 0.56,
  attentionDecodeEfficiency: 0.67,
  auxiliaryKernelFraction: 0.38,
  gemmTileM: 64,
  gemmTileN: 128,
  computeUnits: 1,
  overlapCommunicationUnits: 0,
  overlapEfficiency: 1,
  kernelLaunchSeconds: 3e-6,
  graphKernelSeconds: 2e-6,
  intraNodeLatencySeconds: 3.8e-5,
  intraNodeEfficiency: 0.96,
  interNodeLatencySeconds: 1.5e-5,
  interNodeEfficiency: 0.88,
  sources: Object.fromEntries(CALIBRATION_FIELDS.map((f) => [f, TYPICAL_SOURCE])),
}) as HardwareCalibration;

/**
 * The calibration that makes the performance model reproduce the datasheet roofline:
 * every efficiency 1, no tile or wave loss, no launch cost, no collective latency.
 *
 * @example
 * SPEC_CALIBRATION.gemmEfficiency.bf16 // => 1
 */
export const SPEC_CALIBRATION: HardwareCalibration = Object.freeze({
  gemmEfficiency: Object.fromEntries(DTYPES.map((d) => [d, 1])) as Record<Dtype, number>,
  memoryEfficiency: 1,
  attentionMemoryEfficiency: 1,
  attentionPrefillEfficiency: 1,
  attentionDecodeEfficiency: 1,
  auxiliaryKernelFraction: 0,
  gemmTileM: 1,
  gemmTileN: 1,
  computeUnits: 1,
  overlapCommunicationUnits: 0,
  overlapEfficiency: 1,
  kernelLaunchSeconds: 0,
  graphKernelSeconds: 0,
  intraNodeLatencySeconds: 0,
  intraNodeEfficiency: 1,
  interNodeLatencySeconds: 0,
  interNodeEfficiency: 1,
  sources: Object.fromEntries(CALIBRATION_FIELDS.map((f) => [f, { source: 'datasheet roofline: no loss' }])),
}) as HardwareCalibration;
