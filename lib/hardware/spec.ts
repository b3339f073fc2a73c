import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readJsonCapped } from '../util/files.js';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { loadLatestFittedRoofline } from '../cost/store.js';
import type { Dtype, FittedRoofline } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkKnownKeys, checkNumber, checkPositive, checkOneOf } from '../util/validate.js';
import type { Provenance } from '../util/provenance.js';
import { batchlabDataDir, measuredDataDir, projectRelativePath } from '../util/package-root.js';
import type { HardwareCalibration } from '../perf/calibration.js';
import { calibrationFromJson, CALIBRATION_FIELDS, SPEC_CALIBRATION } from '../perf/calibration.js';
import { machineId, thisMachineFacts } from '../util/machine.js';

/**
 * One accelerator as the roofline sees it. Every number is per device and carries
 * its provenance in `sources`, keyed by field path ("peakFlops.bf16",
 * "memoryBytesPerSecond", ...). Peaks are dense: with-sparsity datasheet figures
 * are halved or ignored, because LLM weights are not 2:4 sparse.
 */
export interface HardwareSpec {
  /** Catalog id, e.g. "h100-sxm"; the file name under data/hardware/. */
  id: string;
  name: string;
  vendor: string;
  /** Dense peak FLOP/s (or OP/s for int8) per dtype; a dtype the device lacks is absent. */
  peakFlops: Partial<Record<Dtype, number>>;
  /** Device memory bandwidth, bytes/s. */
  memoryBytesPerSecond: number;
  /** Device memory capacity, bytes. */
  memoryCapacityBytes: number;
  /** Device-to-device bandwidth inside a node, bytes/s per device and direction. */
  intraNodeBytesPerSecond: number;
  /** Network bandwidth to other nodes, bytes/s per device and direction. */
  interNodeBytesPerSecond: number;
  /** Typical on-demand price of one device-hour, USD (an assumption: see its source). */
  hourlyPriceUsd: number;
  /** Where each number comes from, keyed by field path. */
  sources: Record<string, Provenance>;
  /**
   * What this device's kernels and links achieve (efficiencies, tiles, launch and
   * collective costs), each number sourced. Absent for a spec-only entry, which the
   * performance model prices as a band from the datasheet bound to a typical device.
   */
  calibration?: HardwareCalibration;
  /**
   * The catalog id of the device whose measured kernel tables price this device's
   * compute and memory kernels (same silicon, different links), its source in
   * `sources.computeKernelsFrom`. Allowed only where every compute and memory figure
   * equals the other device's (`computeKernelDonor` checks it); collectives stay with
   * this device's own links.
   */
  computeKernelsFrom?: string;
}

const SCALAR_FIELDS = [
  'memoryBytesPerSecond',
  'memoryCapacityBytes',
  'intraNodeBytesPerSecond',
  'interNodeBytesPerSecond',
  'hourlyPriceUsd',
] as const;

/** A catalog number as stored in data/hardware/*.json. */
interface SourcedNumber {
  value: number;
  source: string;
  notes?: string;
  date?: string;
}

const RATE = { min: 1, max: 1e21 };

function sourced(field: string, raw: unknown, allowZero: boolean): { value: number; prov: Provenance } {
  if (typeof raw !== 'object' || raw === null) throw new InputError(field, raw, 'an object { value, source }');
  const r = raw as Partial<SourcedNumber>;
  checkKnownKeys(field, r, ['value', 'source', 'notes', 'date']);
  // Rates and capacities of any real machine lie in [1, 1e21]; a peak of 1e-300 would turn
  // every time into Infinity, and 1e308 every rate into 0.
  const value = checkNumber(`${field}.value`, r.value, { min: allowZero ? 0 : 1, max: 1e21 });
  if (typeof r.source !== 'string' || r.source.trim() === '') {
    throw new InputError(`${field}.source`, r.source, 'a non-empty string naming the document the number comes from');
  }
  const prov: Provenance = { source: r.source };
  if (typeof r.notes === 'string') prov.notes = r.notes;
  if (typeof r.date === 'string') prov.date = r.date;
  return { value, prov };
}

/**
 * Validates one catalog entry (the JSON of data/hardware/<id>.json) into a
 * HardwareSpec. Every number must be `{ value, source }`; a missing or invalid one is
 * an InputError naming the field.
 *
 * @example
 * hardwareFromJson(JSON.parse(text)).peakFlops.bf16 // => 989.5e12 for h100-sxm
 */
export function hardwareFromJson(json: unknown): HardwareSpec {
  return specFromJson(json, true);
}

// `checkDonor` false reads a donor's own entry without following its borrowing: a chain is
// refused by computeKernelDonor, never followed.
function specFromJson(json: unknown, checkDonor: boolean): HardwareSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError('hardware', json, 'a JSON object');
  const j = json as Record<string, unknown>;
  // A misspelt field (memoryBandwith) is refused by name rather than read as absent.
  checkKnownKeys('hardware', j, ['id', 'name', 'vendor', 'peakFlops', ...SCALAR_FIELDS, 'calibration', 'computeKernelsFrom']);
  for (const f of ['id', 'name', 'vendor'] as const) {
    if (typeof j[f] !== 'string' || (j[f] as string).trim() === '') throw new InputError(f, j[f], 'a non-empty string');
  }
  const sources: Record<string, Provenance> = {};
  if (typeof j.peakFlops !== 'object' || j.peakFlops === null) throw new InputError('peakFlops', j.peakFlops, 'an object keyed by dtype');
  const peakFlops: Partial<Record<Dtype, number>> = {};
  for (const [dt, raw] of Object.entries(j.peakFlops as Record<string, unknown>)) {
    const dtype = checkOneOf('peakFlops dtype', dt, DTYPES);
    const { value, prov } = sourced(`peakFlops.${dtype}`, raw, false);
    peakFlops[dtype] = value;
    sources[`peakFlops.${dtype}`] = prov;
  }
  if (Object.keys(peakFlops).length === 0) throw new InputError('peakFlops', j.peakFlops, 'at least one dtype');
  const scalars = {} as Record<(typeof SCALAR_FIELDS)[number], number>;
  for (const f of SCALAR_FIELDS) {
    // A device of one's own may have no rental price: the file leaves it out, and a price is given where one is needed (--usd-per-hour).
    const { value, prov } = f === 'hourlyPriceUsd' && j[f] === undefined ? { value: 0, prov: { source: 'not stated', notes: 'the hardware file gives no hourly price' } } : sourced(f, j[f], f === 'hourlyPriceUsd');
    scalars[f] = value;
    sources[f] = prov;
  }
  const spec: HardwareSpec = { id: j.id as string, name: j.name as string, vendor: j.vendor as string, peakFlops, ...scalars, sources };
  if (j.calibration !== undefined) spec.calibration = calibrationFromJson(j.calibration);
  if (j.computeKernelsFrom !== undefined) {
    const raw = j.computeKernelsFrom as { device?: unknown; source?: unknown; notes?: unknown } | null;
    if (typeof raw !== 'object' || raw === null || typeof raw.device !== 'string' || raw.device === '') {
      throw new InputError('computeKernelsFrom', j.computeKernelsFrom, 'an object { device, source }: the catalog id of a device with the same compute and memory figures');
    }
    checkKnownKeys('computeKernelsFrom', raw, ['device', 'source', 'notes']);
    if (typeof raw.source !== 'string' || raw.source.trim() === '') {
      throw new InputError('computeKernelsFrom.source', raw.source, 'a non-empty string naming the datasheets whose compute and memory figures agree');
    }
    spec.computeKernelsFrom = raw.device;
    sources.computeKernelsFrom = { source: raw.source, ...(typeof raw.notes === 'string' ? { notes: raw.notes } : {}) };
    if (checkDonor) checkedDonor(spec);
  }
  return spec;
}

/**
 * The figures a kernel's time rests on: every dense peak, the memory bandwidth and the
 * compute units. Capacity (what fits, not how fast) and the links are left out: they
 * stay the device's own.
 */
function kernelFigures(hw: HardwareSpec): Map<string, number | undefined> {
  const figures = new Map<string, number | undefined>();
  for (const d of DTYPES) if (hw.peakFlops[d] !== undefined) figures.set(`peakFlops.${d}`, hw.peakFlops[d]);
  figures.set('memoryBytesPerSecond', hw.memoryBytesPerSecond);
  if (hw.calibration) figures.set('calibration.computeUnits', hw.calibration.computeUnits);
  return figures;
}

// Catalog files do not change while batchlab runs: a donor's entry is read once, so that
// a step priced in a loop does not read it again; the figures are compared on every call.
const donorEntries = new Map<string, HardwareSpec>();

function checkedDonor(hw: HardwareSpec): HardwareSpec | undefined {
  const id = hw.computeKernelsFrom;
  if (id === undefined) return undefined;
  let donor = typeof id === 'string' ? donorEntries.get(id) : undefined;
  if (!donor) {
    if (typeof id !== 'string' || id === THIS_MACHINE || !catalogIds().includes(id)) {
      throw new InputError('computeKernelsFrom', id, `the catalog id of another device (one of ${catalogIds().filter((c) => c !== hw.id).join(', ')})`);
    }
    donor = catalogEntry(id, false);
    donorEntries.set(id, donor);
  }
  if (id === hw.id) throw new InputError('computeKernelsFrom', id, `the catalog id of another device than ${hw.id}`);
  if (donor.computeKernelsFrom !== undefined) {
    throw new InputError('computeKernelsFrom', id, `a device that reads its own tables (${id} borrows ${donor.computeKernelsFrom}'s)`);
  }
  const mine = kernelFigures(hw);
  const theirs = kernelFigures(donor);
  for (const field of new Set([...mine.keys(), ...theirs.keys()])) {
    if (field === 'calibration.computeUnits' && !(mine.has(field) && theirs.has(field))) continue;
    if (mine.get(field) !== theirs.get(field)) {
      throw new InputError(
        field,
        mine.get(field),
        `${theirs.get(field) ?? 'absent'}, ${donor.name}'s figure, to price ${hw.name}'s compute and memory kernels from ${donor.name}'s tables (computeKernelsFrom: ${id})`,
      );
    }
  }
  return donor;
}

/**
 * The catalog device whose kernel tables price `hw`'s compute and memory kernels
 * (`hw.computeKernelsFrom`), or undefined when it names none. Refused with an InputError
 * naming the field where any figure a kernel's time rests on differs: a dense peak of any
 * dtype (present on one and not the other counts), the memory bandwidth, or the compute
 * units where both have a calibration. The donor must be another catalog entry that
 * borrows from no one.
 *
 * @example
 * computeKernelDonor(loadHardware('h800'))?.id // => 'h100-sxm'
 * computeKernelDonor(loadHardware('h200')) // => undefined
 */
export function computeKernelDonor(hw: HardwareSpec): HardwareSpec | undefined {
  const donor = checkedDonor(hw);
  return donor && structuredClone(donor);
}

/**
 * `computeKernelDonor(hw)?.id`, checked the same way, without copying the donor's entry:
 * what the kernel pricer asks on every step.
 *
 * @example
 * computeKernelDonorId(loadHardware('h800')) // => 'h100-sxm'
 */
export function computeKernelDonorId(hw: HardwareSpec): string | undefined {
  return checkedDonor(hw)?.id;
}

function hardwareDir(): string {
  return batchlabDataDir('hardware');
}

function catalogIds(): string[] {
  return readdirSync(hardwareDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * Every hardware entry of the catalog (data/hardware/*.json), sorted by id.
 *
 * @example
 * listHardware().map((h) => h.id) // => ['a100-80gb', 'amd-epyc-9654-ddr5', 'apple-m3-ultra-512gb', 'b200', 'h100-sxm', 'h200', 'h800', 'mi300x', 'rtx-4090']
 */
export function listHardware(): HardwareSpec[] {
  return catalogIds().map((id) => loadHardware(id));
}

/** The catalog id of the machine batchlab runs on, filled from the GEMM harness's saved fit. */
export const THIS_MACHINE = 'this-machine';

// A datasheet cannot describe the user's own machine; its measurement can. The newest
// fit saved for this machine's id (lib/util/machine.ts: CPU, cores, memory, accelerator;
// never the host name, which many machines share) stands in for the datasheet, and
// without one the error says how to make it, naming the folder it read (whole outside a
// checkout: an installed package's user folder).
function savedThisMachine(measuredDir?: string): HardwareSpec {
  const stored = loadLatestFittedRoofline({ dir: measuredDir });
  if (!stored) {
    throw new InputError(
      'hardware id',
      THIS_MACHINE,
      'a catalog id, or "this-machine" once a GEMM fit is saved for this machine',
      `no fit for machine "${machineId(thisMachineFacts())}" in ${projectRelativePath(measuredDir ?? measuredDataDir(), { outside: 'whole' })}: run \`npx batchlab bench gemm\` (or use thisMachineHardware(await probeMachineRoofline()))`,
    );
  }
  return thisMachineHardware(stored.fit, { name: `this machine (${stored.fit.label})` });
}

/**
 * One catalog entry by id; "this-machine" is the spec fitted to this machine's saved GEMM
 * measurements (an InputError saying how to measure when none is saved); an unknown id is an InputError listing the known ones.
 *
 * @example
 * loadHardware('h200').memoryBytesPerSecond // => 4.8e12
 */
export function loadHardware(id: string, opts: { measuredDir?: string } = {}): HardwareSpec {
  if (id === THIS_MACHINE) return savedThisMachine(opts.measuredDir);
  return catalogEntry(id, true);
}

function catalogEntry(id: string, checkDonor: boolean): HardwareSpec {
  const ids = catalogIds();
  if (typeof id !== 'string' || !ids.includes(id)) throw new InputError('hardware id', id, `one of ${[...ids, THIS_MACHINE].join(', ')}`);
  const file = join(hardwareDir(), `${id}.json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`data/hardware/${id}.json`, id, 'valid JSON', (err as Error).message);
  }
  const spec = specFromJson(json, checkDonor);
  if (spec.id !== id) throw new InputError(`data/hardware/${id}.json id`, spec.id, `"${id}" (the file name)`);
  return spec;
}

/**
 * Dense peak FLOP/s of `hw` for `dtype`; a dtype the device has no figure for is an
 * InputError listing the dtypes it has.
 *
 * @example
 * hardwarePeakFlops(loadHardware('a100-80gb'), 'fp8') // throws: A100 has no FP8 tensor cores
 */
export function hardwarePeakFlops(hw: HardwareSpec, dtype: Dtype): number {
  const p = hw.peakFlops[dtype];
  if (p === undefined) {
    throw new InputError('dtype', dtype, `one of ${Object.keys(hw.peakFlops).join(', ')}`, `${hw.name} has no ${dtype} peak`);
  }
  return p;
}

/** Options for `thisMachineHardware`; each default is labelled in the spec's sources. */
export interface ThisMachineOptions {
  id?: string;
  name?: string;
  /** Memory the backend can use; default: this host's RAM (os.totalmem()). */
  memoryCapacityBytes?: number;
  /** Default: the fitted bandwidth, since one device has no peer to talk to. */
  intraNodeBytesPerSecond?: number;
  /** Default: 1.25e9 (an assumed 10 Gb/s Ethernet link). */
  interNodeBytesPerSecond?: number;
  /** Default: 0 (a machine already paid for). */
  hourlyPriceUsd?: number;
}

/**
 * A HardwareSpec for "this machine" from a roofline fitted to the GEMM harness's
 * measurements: the fitted compute peak for the fitted dtype and the fitted
 * bandwidth, both labelled as measured. Its calibration adds no loss (the fit already
 * measures what the machine achieves) and takes the fit's per-call overhead as the
 * launch cost of each kernel; the spec roofline alone leaves the overhead out.
 *
 * @example
 * const hw = thisMachineHardware({ overheadSeconds: 2e-5, peakFlopsPerSecond: 4e10,
 *   bytesPerSecond: 1e10, dtype: 'fp32', label: 'tensorflow on host-a, 2026-11-28' });
 * hw.peakFlops.fp32 // => 4e10
 */
export function thisMachineHardware(fit: FittedRoofline, opts: ThisMachineOptions = {}): HardwareSpec {
  if (typeof fit !== 'object' || fit === null) throw new InputError('fit', fit, 'a FittedRoofline');
  const peak = checkNumber('fit.peakFlopsPerSecond', fit.peakFlopsPerSecond, RATE);
  const bw = checkNumber('fit.bytesPerSecond', fit.bytesPerSecond, RATE);
  const dtype = checkOneOf('fit.dtype', fit.dtype, DTYPES);
  const label = typeof fit.label === 'string' && fit.label !== '' ? fit.label : 'unlabelled fit';
  const measured: Provenance = { source: 'measured', notes: `GEMM harness fit: ${label}` };
  const capacity = opts.memoryCapacityBytes === undefined ? totalmem() : checkNumber('memoryCapacityBytes', opts.memoryCapacityBytes, RATE);
  const intra = opts.intraNodeBytesPerSecond === undefined ? bw : checkNumber('intraNodeBytesPerSecond', opts.intraNodeBytesPerSecond, RATE);
  const inter = opts.interNodeBytesPerSecond === undefined ? 1.25e9 : checkNumber('interNodeBytesPerSecond', opts.interNodeBytesPerSecond, RATE);
  const price = opts.hourlyPriceUsd === undefined ? 0 : checkNumber('hourlyPriceUsd', opts.hourlyPriceUsd, { min: 0 });
  const given = (what: string): Provenance => ({ source: 'given by the caller', notes: what });
  // The fitted peak and bandwidth are already what this machine achieves, so the
  // calibration adds no loss on top; the fitted per-call overhead is the launch cost.
  // SPEC_CALIBRATION is that no-loss calibration; only the fitted dtype is known here.
  const calibration: HardwareCalibration = {
    ...SPEC_CALIBRATION,
    gemmEfficiency: { [dtype]: 1 },
    kernelLaunchSeconds: checkNumber('fit.overheadSeconds', fit.overheadSeconds, { min: 0, max: 1 }),
    graphKernelSeconds: fit.overheadSeconds,
    sources: Object.fromEntries(
      CALIBRATION_FIELDS.map((f) => [
        f,
        f === 'kernelLaunchSeconds' || f === 'graphKernelSeconds'
          ? { ...measured, notes: `the fit's per-call overhead: ${label}` }
          : { source: 'measured', notes: `the fit already measures what this machine achieves (${label}); no further loss` },
      ]),
    ),
  };
  return {
    id: opts.id ?? 'this-machine',
    name: opts.name ?? `this machine (${label})`,
    vendor: 'this machine',
    peakFlops: { [dtype]: peak },
    memoryBytesPerSecond: bw,
    memoryCapacityBytes: capacity,
    intraNodeBytesPerSecond: intra,
    interNodeBytesPerSecond: inter,
    hourlyPriceUsd: price,
    sources: {
      [`peakFlops.${dtype}`]: measured,
      memoryBytesPerSecond: measured,
      memoryCapacityBytes:
        opts.memoryCapacityBytes === undefined ? { source: 'os.totalmem() of this host', notes: 'host RAM, the memory a CPU backend uses' } : given('memory capacity'),
      intraNodeBytesPerSecond:
        opts.intraNodeBytesPerSecond === undefined ? { source: 'assumption', notes: 'one device: set to the fitted memory bandwidth' } : given('intra-node bandwidth'),
      interNodeBytesPerSecond:
        opts.interNodeBytesPerSecond === undefined ? { source: 'assumption', notes: 'a 10 Gb/s Ethernet link' } : given('inter-node bandwidth'),
      hourlyPriceUsd: opts.hourlyPriceUsd === undefined ? { source: 'assumption', notes: 'an owned machine: no hourly price' } : given('hourly price'),
    },
    calibration,
  };
}

/** The largest hardware file read from a user's path (catalog entries are a few KB). */
const HARDWARE_FILE_BYTES = 4 << 20;

/**
 * A catalog id, "this-machine", or the path of the user's own hardware file in the
 * schema of data/hardware/*.json (every number `{ value, source }`): what every
 * `--hardware` flag accepts. A bad field is an InputError naming the file and the field.
 *
 * @example
 * resolveHardware('h100-sxm').memoryBytesPerSecond // => 3.35e12
 * resolveHardware('./my-gpu.json').id // => the file's "id"
 */
export function resolveHardware(ref: string, field = 'hardware'): HardwareSpec {
  if (typeof ref === 'string' && (ref === THIS_MACHINE || catalogIds().includes(ref))) return loadHardware(ref);
  if (typeof ref !== 'string' || ref === '' || !(existsSync(ref) || /[\\/]|\.json$/i.test(ref))) {
    throw new InputError(field, ref, `a catalog id (${[...catalogIds(), THIS_MACHINE].join(', ')}) or the path of a hardware file shaped like data/hardware/*.json`);
  }
  const json = readJsonCapped(field, ref, { maxBytes: HARDWARE_FILE_BYTES, what: 'hardware JSON file' });
  try {
    return hardwareFromJson(json);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${field} ${ref}: ${err.field}`, err.value, err.allowed, err.detail);
    throw err;
  }
}

/**
 * `hw` with its hourly price replaced by the caller's (the price is an assumption of the
 * catalog; a user who pays another price gives it), the source saying who gave it.
 *
 * @example
 * hardwareWithPrice(loadHardware('h100-sxm'), 2.5, '--usd-per-hour').hourlyPriceUsd // => 2.5
 */
export function hardwareWithPrice(hw: HardwareSpec, usdPerHour: number, givenBy: string): HardwareSpec {
  const price = checkNumber('usdPerHour', usdPerHour, { min: 0, max: 1e6 });
  return { ...hw, hourlyPriceUsd: price, sources: { ...hw.sources, hourlyPriceUsd: { source: 'given by the user', notes: givenBy } } };
}

/**
 * The one assumption about usable memory: a device may fill its whole datasheet
 * capacity (`memoryCapacityBytes` of data/hardware, from the vendor's datasheet) with
 * weights, KV cache and the activations of the step in flight, each counted by
 * `memoryFit`. Runtime workspace (allocator slack, CUDA graphs, communication buffers)
 * is not counted, so a fit is an upper bound on what an engine admits; an engine's own
 * setting goes in PerfConfig `memoryFraction`.
 *
 * @example
 * USABLE_MEMORY_FRACTION // => 1
 */
export const USABLE_MEMORY_FRACTION = 1;
