import { readFileSync } from 'node:fs';
import { readJsonCapped } from '../util/files.js';
import { join } from 'node:path';
import type { Dtype } from '../core/types.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { loadHardware } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { expectedActiveExperts } from '../models/ops.js';
import { kvBytesPerToken, paramCounts } from '../models/params.js';
import { InputError, asField } from '../util/errors.js';
import { batchlabDataDir } from '../util/package-root.js';
import type { Provenance } from '../util/provenance.js';
import { checkInt, checkKnownKeys, checkNumber, checkOneOf, checkPositive } from '../util/validate.js';

/**
 * A machine people run models on at home: its accelerator(s), the host memory
 * weights can be offloaded to, the link between them, an SSD to stream from, and
 * what an hour of it costs (amortised purchase). Unified-memory machines and CPU
 * servers have `hostMemoryBytes` 0: their device memory is the host memory.
 */
export interface LocalSetup {
  id: string;
  name: string;
  device: HardwareSpec;
  devices: number;
  hostMemoryBytes: number;
  hostBytesPerSecond: number;
  hostLinkBytesPerSecond: number;
  ssdBytesPerSecond: number;
  ssdBytes: number;
  hourlyCostUsd: number;
  /** CPU sockets holding the host memory (1 unless stated); hostBytesPerSecond is one socket's. */
  sockets: number;
  /** Runtimes (data/deployment/local-runtimes.json) that run on the device and on the host's CPU; absent: the datasheet bound. */
  runtimes?: { device: string; host?: string };
  sources: Record<string, Provenance>;
  /** The figures `withSetupOverrides` replaced (LocalSetupOverrides field names): what a result built on them says it used. */
  given?: readonly (keyof LocalSetupOverrides)[];
}

const FIELDS = ['hostMemoryBytes', 'hostBytesPerSecond', 'hostLinkBytesPerSecond', 'ssdBytesPerSecond', 'ssdBytes', 'hourlyCostUsd'] as const;

const SETUP_DEVICE_FIELDS = ['memoryBytes', 'memoryBytesPerSecond', 'peakFlops'] as const;

/** A number given plainly or as { value, source }, checked and named; its source, or `fallback`. */
function sourcedNumber(at: string, raw: unknown, fallback: string | null, bounds: { min?: number; exclusiveMin?: boolean } = { min: 0 }): { value: number; prov: Provenance } {
  if (raw === undefined || raw === null) throw new InputError(at, raw, fallback === null ? 'an object { value, source }' : 'a number, or { value, source }', 'missing');
  if (typeof raw === 'object') {
    const r = raw as { value?: unknown; source?: unknown };
    if (typeof r.source !== 'string' || r.source === '') throw new InputError(`${at}.source`, r.source, 'a non-empty string');
    return { value: checkNumber(`${at}.value`, r.value, bounds), prov: { source: r.source } };
  }
  if (fallback === null) throw new InputError(at, raw, 'an object { value, source }');
  return { value: checkNumber(at, raw, bounds), prov: { source: fallback } };
}

/** A device given inline in a user's setup file: name, memory, bandwidth and dense peak. */
function inlineDevice(at: string, j: Record<string, unknown>, given: string): HardwareSpec {
  if (typeof j.name !== 'string' || j.name === '') throw new InputError(`${at}.name`, j.name, 'a non-empty string');
  const v = {} as Record<(typeof SETUP_DEVICE_FIELDS)[number], { value: number; prov: Provenance }>;
  for (const f of SETUP_DEVICE_FIELDS) v[f] = sourcedNumber(`${at}.${f}`, j[f], given, { min: 0, exclusiveMin: true });
  const dtype = checkOneOf(`${at}.dtype`, j.dtype ?? 'bf16', ['bf16', 'fp16', 'fp32'] as const);
  return {
    id: j.name,
    name: j.name,
    vendor: 'given',
    peakFlops: { [dtype]: v.peakFlops.value },
    memoryBytesPerSecond: v.memoryBytesPerSecond.value,
    memoryCapacityBytes: v.memoryBytes.value,
    intraNodeBytesPerSecond: v.memoryBytesPerSecond.value,
    interNodeBytesPerSecond: 0,
    hourlyPriceUsd: 0,
    sources: { [`peakFlops.${dtype}`]: v.peakFlops.prov, memoryBytesPerSecond: v.memoryBytesPerSecond.prov, memoryCapacityBytes: v.memoryBytes.prov },
  };
}

/**
 * A local setup from its JSON: the catalog's form (every number { value, source }) or a
 * user's file (`given` names it; plain numbers are then sourced to it, and the device may
 * be given inline as { name, memoryBytes, memoryBytesPerSecond, peakFlops, dtype }).
 * A missing, negative or malformed field is an InputError naming it.
 *
 * @example
 * localSetupFromJson(JSON.parse(readFileSync('my.json', 'utf8')), 'my.json').hostBytesPerSecond
 */
export function localSetupFromJson(j: unknown, at = 'setup', given: string | null = null): LocalSetup {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new InputError(at, j, 'a JSON object describing a local setup (docs/local-setup.md)');
  const o = j as Record<string, unknown>;
  // A misspelt field (hostBandwidth) is refused by name rather than read as absent, as search and sweep specs are.
  checkKnownKeys(at, o, ['id', 'name', 'device', 'devices', 'sockets', 'runtimes', ...FIELDS]);
  for (const f of ['id', 'name'] as const) if (typeof o[f] !== 'string' || o[f] === '') throw new InputError(`${at}.${f}`, o[f], 'a non-empty string');
  let device: HardwareSpec;
  // An unknown id is refused by the setup's field, not as a bare "hardware id".
  if (typeof o.device === 'string' && o.device !== '') device = asField(`${at}.device`, o.device, () => loadHardware(o.device as string));
  else if (given !== null && typeof o.device === 'object' && o.device !== null && !Array.isArray(o.device)) device = inlineDevice(`${at}.device`, o.device as Record<string, unknown>, given);
  else throw new InputError(`${at}.device`, o.device, given === null ? 'a hardware catalog id' : 'a hardware catalog id, or { name, memoryBytes, memoryBytesPerSecond, peakFlops }');
  const sources: Record<string, Provenance> = {};
  const vals = {} as Record<(typeof FIELDS)[number], number>;
  for (const f of FIELDS) {
    const { value, prov } = sourcedNumber(`${at}.${f}`, o[f], given === null ? null : `given in ${given}`);
    vals[f] = value;
    sources[f] = prov;
  }
  const sockets = o.sockets === undefined ? 1 : checkInt(`${at}.sockets`, o.sockets, { min: 1, max: 8 });
  let runtimes: LocalSetup['runtimes'];
  if (o.runtimes !== undefined) {
    const r = o.runtimes as { device?: unknown; host?: unknown } | null;
    if (typeof r !== 'object' || r === null) throw new InputError(`${at}.runtimes`, r, 'an object { device, host? } of runtime ids');
    const ids = listLocalRuntimes().map((x) => x.id);
    runtimes = { device: checkOneOf(`${at}.runtimes.device`, r.device, ids) };
    if (r.host !== undefined) runtimes.host = checkOneOf(`${at}.runtimes.host`, r.host, ids);
  }
  const devices = o.devices === undefined && given !== null ? 1 : checkInt(`${at}.devices`, o.devices, { min: 1, max: 64 });
  return { id: o.id as string, name: o.name as string, device, devices, ...vals, sockets, ...(runtimes ? { runtimes } : {}), sources };
}

function setupFromJson(j: Record<string, unknown>, i: number): LocalSetup {
  return localSetupFromJson(j, `setups[${i}]`);
}

/**
 * Reads a user's local setup file (schema: docs/local-setup.md). An unreadable file, bad
 * JSON or a missing or negative field is an InputError naming the file and the field.
 *
 * @example
 * loadLocalSetupFile('my.json').name
 */
export function loadLocalSetupFile(path: string): LocalSetup {
  if (typeof path !== 'string' || path === '') throw new InputError('setup file', path, 'a path to a JSON file');
  // The one capped reader: only a regular file, at most 1 MiB counted while reading.
  const json = readJsonCapped('setup file', path, { maxBytes: 1 << 20, what: 'JSON file' });
  return localSetupFromJson(json, path, path);
}

/** What a user may override on a setup from the command line or a call. */
export interface LocalSetupOverrides {
  /** Device memory, bytes per device. */
  memoryBytes?: number;
  /** Device memory bandwidth, bytes/s. */
  memoryBytesPerSecond?: number;
  hostMemoryBytes?: number;
  hostBytesPerSecond?: number;
  hostLinkBytesPerSecond?: number;
  hourlyCostUsd?: number;
  sockets?: number;
}

/**
 * A setup with some numbers replaced (each checked: a negative or non-number value is an
 * InputError naming the field), each replaced number's source saying it was given.
 *
 * @example
 * withSetupOverrides(loadLocalSetup('rtx-4090-desktop'), { hostBytesPerSecond: 60e9 }).hostBytesPerSecond // => 60e9
 */
export function withSetupOverrides(setup: LocalSetup, o: LocalSetupOverrides, given = 'given by the caller'): LocalSetup {
  const s: LocalSetup = { ...setup, device: { ...setup.device, sources: { ...setup.device.sources } }, sources: { ...setup.sources } };
  const src: Provenance = { source: given };
  const replaced = (Object.keys(o) as (keyof LocalSetupOverrides)[]).filter((k) => o[k] !== undefined && k !== 'sockets');
  s.given = [...new Set([...(setup.given ?? []), ...replaced])];
  if (o.memoryBytes !== undefined) {
    s.device.memoryCapacityBytes = checkNumber('memoryBytes', o.memoryBytes, { min: 0, exclusiveMin: true });
    s.device.sources.memoryCapacityBytes = src;
  }
  if (o.memoryBytesPerSecond !== undefined) {
    s.device.memoryBytesPerSecond = checkNumber('memoryBytesPerSecond', o.memoryBytesPerSecond, { min: 0, exclusiveMin: true });
    s.device.sources.memoryBytesPerSecond = src;
  }
  for (const f of ['hostMemoryBytes', 'hostBytesPerSecond', 'hostLinkBytesPerSecond', 'hourlyCostUsd'] as const) {
    if (o[f] === undefined) continue;
    s[f] = checkNumber(f, o[f], { min: 0, ...(f === 'hourlyCostUsd' ? { max: 1e6 } : {}) });
    s.sources[f] = src;
  }
  if (o.sockets !== undefined) s.sockets = checkInt('sockets', o.sockets, { min: 1, max: 8 });
  return s;
}

/** A runtime's achieved fraction of a datasheet figure, with the benchmark it was derived from. */
export interface RuntimeFactor {
  value: number;
  /** The device the benchmark ran on, as its model name ('RTX 4090', 'M3 Ultra'). */
  measuredOn: string;
  /** The published benchmark: where, which model, which figures. */
  source: string;
  /** The arithmetic from the published figures to the value. */
  derivation: string;
}

/** A local runtime on a class of device: what fraction of the datasheet it reaches, and why. */
export interface LocalRuntime {
  id: string;
  name: string;
  deviceClass: string;
  /** Achieved / datasheet memory bandwidth in decode; null: not calibrated (the bound). */
  bandwidthFactor: RuntimeFactor | null;
  /** Achieved prefill FLOP/s (2 · parameters per token) / the device's catalog peak; null: the bound. */
  prefillComputeFactor: RuntimeFactor | null;
  /** Whether the runtime keeps a copy of the weights on every socket (then each socket reads its own). */
  replicatesWeightsAcrossSockets: boolean;
  /** For a split runtime: the runtimes of its device tier and of its CPU tier. */
  composedOf?: [string, string];
  /** The same benchmarks' factors on other devices, each read for a device of that model (see runtimeFactorFor). */
  otherDevices: { bandwidthFactor: RuntimeFactor[]; prefillComputeFactor: RuntimeFactor[] };
  notes: string[];
}

/** A factor applied to a device, and whether the benchmark ran on a device of that model. */
export interface AppliedRuntimeFactor extends RuntimeFactor {
  onThisDevice: boolean;
}

/** Lower case, words split on spaces, hyphens, underscores and brackets: 'rtx-3090' and 'GeForce RTX 3090' share 'rtx 3090'. */
function deviceWords(s: string): string {
  return ` ${s.toLowerCase().replace(/[\s\-_(),]+/g, ' ').trim()} `;
}

/**
 * The runtime's factor for a device: the one whose benchmark ran on a device of the same
 * model (its `measuredOn` words appear in the device's name or id), else the runtime's
 * default, marked as measured on another device; null where the runtime has none.
 *
 * @example
 * runtimeFactorFor(loadLocalRuntime('llama.cpp-cuda'), 'bandwidthFactor', { id: 'my-gpu', name: 'GeForce RTX 3090' })
 * // => { value: 0.646, measuredOn: 'RTX 3090', onThisDevice: true, … }
 */
export function runtimeFactorFor(rt: LocalRuntime, which: 'bandwidthFactor' | 'prefillComputeFactor', device: Pick<HardwareSpec, 'id' | 'name'>): AppliedRuntimeFactor | null {
  const base = rt[which];
  if (!base) return null;
  const same = [base, ...rt.otherDevices[which]].find((f) => namesModel(device.name, f.measuredOn) || namesModel(device.id, f.measuredOn));
  return same ? { ...same, onThisDevice: true } : { ...base, onThisDevice: false };
}

// Words that make another part of a model name: an RTX 3090 Ti, 4090 D or 4090 Laptop GPU is not the RTX 3090 or 4090 measured.
const VARIANT_WORDS = new Set(['ti', 'super', 'd', 'laptop', 'mobile', 'max', 'xt', 'pro', 'plus', 'm']);

/** Whether a device name holds the model's words, not followed by a word that makes it another part. */
function namesModel(name: string, model: string): boolean {
  const words = deviceWords(name);
  const want = deviceWords(model);
  for (let at = words.indexOf(want); at >= 0; at = words.indexOf(want, at + 1)) {
    const next = words.slice(at + want.length).split(' ')[0];
    if (!VARIANT_WORDS.has(next)) return true;
  }
  return false;
}

function factorFromJson(at: string, raw: unknown): RuntimeFactor | null {
  if (raw === null) return null;
  const r = raw as { value?: unknown; measuredOn?: unknown; source?: unknown; derivation?: unknown };
  if (typeof r !== 'object' || r === null) throw new InputError(at, raw, 'null or { value, source, derivation }');
  for (const f of ['source', 'derivation'] as const) if (typeof r[f] !== 'string' || (r[f] as string).length < 20) throw new InputError(`${at}.${f}`, r[f], 'a sentence naming the benchmark and its figures');
  if (typeof r.measuredOn !== 'string' || r.measuredOn.trim() === '') throw new InputError(`${at}.measuredOn`, r.measuredOn, "the device model the benchmark ran on, e.g. 'RTX 4090'");
  return { value: checkNumber(`${at}.value`, r.value, { min: 0, exclusiveMin: true, max: 4 }), measuredOn: r.measuredOn, source: r.source as string, derivation: r.derivation as string };
}

function otherDevicesFromJson(at: string, raw: unknown): LocalRuntime['otherDevices'] {
  const out: LocalRuntime['otherDevices'] = { bandwidthFactor: [], prefillComputeFactor: [] };
  if (raw === undefined) return out;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(at, raw, 'an object { bandwidthFactor?, prefillComputeFactor? } of factor lists');
  checkKnownKeys(at, raw as Record<string, unknown>, ['bandwidthFactor', 'prefillComputeFactor']);
  for (const k of ['bandwidthFactor', 'prefillComputeFactor'] as const) {
    const list = (raw as Record<string, unknown>)[k];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new InputError(`${at}.${k}`, list, 'a list of factors');
    out[k] = list.map((f, i) => {
      if (f === null) throw new InputError(`${at}.${k}[${i}]`, f, 'a factor { value, measuredOn, source, derivation }');
      return factorFromJson(`${at}.${k}[${i}]`, f)!;
    });
  }
  return out;
}

/**
 * The runtimes of data/deployment/local-runtimes.json: llama.cpp on Metal, CUDA and CPU,
 * MLX, the KTransformers split (experts on CPU, the rest on the GPU) and PCIe streaming,
 * each factor derived from a published benchmark of another model, with its figures.
 *
 * @example
 * listLocalRuntimes().find((r) => r.id === 'llama.cpp-metal')!.bandwidthFactor!.value // => 0.43
 */
export function listLocalRuntimes(): LocalRuntime[] {
  return localRuntimesFromJson(JSON.parse(readFileSync(join(batchlabDataDir('deployment'), 'local-runtimes.json'), 'utf8')));
}

/** The runtimes of a catalog in local-runtimes.json's form; a missing or malformed field is an InputError naming it. */
export function localRuntimesFromJson(raw: unknown): LocalRuntime[] {
  const j = raw as { runtimes?: unknown };
  if (typeof j !== 'object' || j === null || !Array.isArray(j.runtimes)) throw new InputError('runtimes', j, 'an object { runtimes: [...] }');
  return (j.runtimes as Array<Record<string, unknown>>).map((r, i) => {
    const at = `runtimes[${i}]`;
    for (const f of ['id', 'name', 'deviceClass'] as const) if (typeof r[f] !== 'string' || r[f] === '') throw new InputError(`${at}.${f}`, r[f], 'a non-empty string');
    const notes = ['numaNote', 'prefillNote', 'bandwidthNote'].map((k) => r[k]).filter((x): x is string => typeof x === 'string');
    const rt: LocalRuntime = {
      id: r.id as string,
      name: r.name as string,
      deviceClass: r.deviceClass as string,
      bandwidthFactor: factorFromJson(`${at}.bandwidthFactor`, r.bandwidthFactor),
      prefillComputeFactor: factorFromJson(`${at}.prefillComputeFactor`, r.prefillComputeFactor),
      replicatesWeightsAcrossSockets: r.replicatesWeightsAcrossSockets === true,
      otherDevices: otherDevicesFromJson(`${at}.otherDevices`, r.otherDevices),
      notes,
    };
    if (Array.isArray(r.composedOf)) rt.composedOf = [String(r.composedOf[0]), String(r.composedOf[1])];
    return rt;
  });
}

/**
 * One runtime by id; an unknown id is an InputError listing the known ones.
 *
 * @example
 * loadLocalRuntime('mlx').bandwidthFactor!.value // => 0.829
 */
export function loadLocalRuntime(id: string): LocalRuntime {
  const all = listLocalRuntimes();
  const r = all.find((x) => x.id === id);
  if (!r) throw new InputError('runtime', id, `one of ${all.map((x) => x.id).join(', ')}`);
  return r;
}

/**
 * The local setups of the catalog (data/deployment/local-setups.json): one RTX 4090
 * desktop, a 512 GB M3 Ultra Mac Studio, a 12-channel DDR5 CPU server and a 4-GPU
 * workstation, every number with its source.
 *
 * @example
 * listLocalSetups().map((s) => s.id) // => ['rtx-4090-desktop', 'mac-studio-m3-ultra', 'epyc-ddr5-server', 'rtx-4090-x4-epyc']
 */
export function listLocalSetups(): LocalSetup[] {
  const j = JSON.parse(readFileSync(join(batchlabDataDir('deployment'), 'local-setups.json'), 'utf8')) as { setups: Array<Record<string, unknown>> };
  return j.setups.map(setupFromJson);
}

/**
 * One local setup by id; an unknown id is an InputError listing the known ones.
 *
 * @example
 * loadLocalSetup('rtx-4090-desktop').device.memoryCapacityBytes // => 24e9
 */
export function loadLocalSetup(id: string): LocalSetup {
  const all = listLocalSetups();
  const s = all.find((x) => x.id === id);
  if (!s) throw new InputError('local setup id', id, `one of ${all.map((x) => x.id).join(', ')}`);
  return s;
}

/**
 * A local setup for a single device with no separate host memory or SSD tier: this
 * machine measured (`loadHardware('this-machine')`), or any catalog device alone.
 *
 * @example
 * singleDeviceSetup(loadHardware('h200')).devices // => 1
 */
export function singleDeviceSetup(hw: HardwareSpec, opts: { hourlyCostUsd?: number; runtime?: string } = {}): LocalSetup {
  return {
    id: hw.id,
    name: hw.name,
    device: hw,
    devices: 1,
    hostMemoryBytes: 0,
    hostBytesPerSecond: hw.memoryBytesPerSecond,
    hostLinkBytesPerSecond: hw.memoryBytesPerSecond,
    ssdBytesPerSecond: 0,
    ssdBytes: 0,
    hourlyCostUsd: opts.hourlyCostUsd === undefined ? hw.hourlyPriceUsd : checkNumber('hourlyCostUsd', opts.hourlyCostUsd, { min: 0 }),
    sockets: 1,
    ...(opts.runtime ? { runtimes: { device: opts.runtime } } : {}),
    sources: { hourlyCostUsd: hw.sources.hourlyPriceUsd ?? { source: 'given by the caller' } },
  };
}

/** Where weights may live: only in device memory, or spilled to host memory and then SSD. */
export type LocalOffload = 'none' | 'host-and-ssd';
/** Who computes with weights in host memory: the CPU where they lie (KTransformers, llama.cpp), or the GPU after streaming them over PCIe. */
export type HostCompute = 'cpu' | 'stream';

/** Options of a local decode estimate. */
export interface LocalRunOptions {
  /** Stored bits per weight (FP8: 8; llama.cpp Q4_K_M: about 4.8). */
  bitsPerWeight: number;
  /** Tokens in each sequence's KV cache. */
  context: number;
  /** Sequences decoded together (default 1: one user). */
  batch?: number;
  offload?: LocalOffload;
  hostCompute?: HostCompute;
  /**
   * 'calibrated' (default): each tier's bandwidth and the device's compute are scaled by
   * what the setup's runtimes achieve (data/deployment/local-runtimes.json); 'bound':
   * the datasheet figures, an upper bound on speed.
   */
  calibration?: 'calibrated' | 'bound';
  /** A runtime id replacing the setup's (e.g. 'mlx' on a Mac, 'ktransformers' on a GPU box). */
  runtime?: string;
  /**
   * Kernels the runtime launches per decode step, when known: each adds the device's
   * launch cost (its calibration's kernelLaunchSeconds, e.g. this machine's measured
   * per-op overhead) to the step. Default 0: launches hidden behind the weight reads.
   */
  kernelsPerStep?: number;
}

/** One memory tier of a local run: what lies there and what a step reads from it. */
export interface LocalTier {
  tier: 'device' | 'host' | 'ssd';
  weightBytes: number;
  kvBytes: number;
  /** Bytes one decode step reads from the tier. */
  bytesPerStep: number;
  /** The bandwidth used: the datasheet's times the runtime's factor (1 for a bound). */
  bytesPerSecond: number;
  /** Achieved / datasheet bandwidth applied, and where it comes from ('bound': none applied). */
  bandwidthFactor: number;
  factorSource: string;
  /** The device model the factor's benchmark ran on, where a factor applies. */
  factorMeasuredOn?: string;
  /** Whether that is this tier's device model (false: the runtime's factor from another device; absent: not known, a host CPU). */
  factorOnThisDevice?: boolean;
  seconds: number;
  /** Whether the tier's time is its bytes at its bandwidth or the device's share of the FLOPs. */
  limitedBy: 'bandwidth' | 'compute';
  /** Figures the caller gave (`withSetupOverrides`) that this tier's bandwidth is built on; absent when none. */
  given?: (keyof LocalSetupOverrides)[];
}

/** A local decode estimate. */
export interface LocalRun {
  setup: string;
  model: string;
  batch: number;
  tiers: LocalTier[];
  stepSeconds: number;
  tokensPerSecondPerUser: number;
  tokensPerSecond: number;
  usdPerMillionOutput: number;
  /** Weight and KV bytes that live outside device memory. */
  offloadedBytes: number;
  /** Seconds of the step spent launching kernels (kernelsPerStep × the device's launch cost). */
  launchSeconds: number;
  /** 'calibrated': every tier scaled by a runtime factor; 'partly calibrated': some; 'bound': datasheet figures. */
  calibration: 'calibrated' | 'partly calibrated' | 'bound';
  /** Runtimes applied to the device tier and the host's CPU tier (null: none, the bound). */
  runtimes: { device: string | null; host: string | null };
  /** Prompt tokens per second of one prompt, in chunks of PREFILL_CHUNK tokens (see localDecode). */
  prefillTokensPerSecond: number;
  prefillCalibration: 'calibrated' | 'bound';
  /** The device model the prefill factor's benchmark ran on, and whether it is this setup's. */
  prefillFactorMeasuredOn?: { device: string; onThisDevice: boolean };
  /** Figures the caller gave that the prefill rate is built on (the host and link bandwidths of offloaded weights); absent when none. */
  prefillGiven?: (keyof LocalSetupOverrides)[];
  /** What the numbers assume about sockets and NUMA. */
  numa: string;
  /** The sources of every factor applied. */
  sources: string[];
}

/** Prompt tokens computed per prefill step of a local run (llama.cpp's default micro-batch, -ub 512). */
export const PREFILL_CHUNK = 512;

/** The note of a device figure that was measured (this machine's probe), or null for a datasheet figure. */
function measuredNote(hw: HardwareSpec, field: string): string | null {
  const p = hw.sources[field];
  return p?.source === 'measured' ? `measured on this machine: ${p.notes ?? hw.name}` : null;
}

interface ResolvedRuntimes {
  device: LocalRuntime | null;
  host: LocalRuntime | null;
  replicate: boolean;
}

function resolveRuntimes(setup: LocalSetup, opts: LocalRunOptions): ResolvedRuntimes {
  if (opts.calibration === 'bound') return { device: null, host: null, replicate: false };
  const id = opts.runtime ?? setup.runtimes?.device;
  if (id === undefined) return { device: null, host: null, replicate: false };
  const rt = loadLocalRuntime(id);
  if (rt.composedOf) return { device: loadLocalRuntime(rt.composedOf[0]), host: loadLocalRuntime(rt.composedOf[1]), replicate: rt.replicatesWeightsAcrossSockets };
  const hostId = setup.runtimes?.host;
  const host = hostId === undefined ? null : loadLocalRuntime(hostId);
  return { device: rt, host, replicate: host?.replicatesWeightsAcrossSockets ?? false };
}

const GB = 1e9;
const gb = (b: number): string => `${(b / GB).toFixed(1)} GB`;

function computeDtype(hw: HardwareSpec): Dtype {
  for (const d of ['bf16', 'fp16', 'fp32'] as const) if (hw.peakFlops[d] !== undefined) return d;
  return Object.keys(hw.peakFlops)[0] as Dtype;
}

/**
 * Decode speed of a model on a local setup, priced by the bytes each step must move:
 * weights are placed device first (KV cache and always-used weights before routed
 * experts), then host memory, then SSD; a step reads every always-used weight, the
 * experts its tokens reach (each tier in proportion to the experts it holds) and the
 * KV cache, each tier at its own bandwidth, one tier after another. Multi-GPU setups
 * split layers across GPUs (llama.cpp's default), so at small batches they take turns
 * and stream at one GPU's bandwidth. With `offload: 'none'` a model that does not fit
 * in device memory is an InputError naming the shortfall; with offload, one that does
 * not fit in device, host and SSD together is.
 *
 * Calibrated (the default): each tier's bandwidth is the datasheet's times what the
 * setup's runtime achieves (data/deployment/local-runtimes.json, from published
 * benchmarks of other models), the device's peak likewise for prefill, and a device
 * measured on this machine counts as calibrated by its measurement; `calibration:
 * 'bound'` keeps the datasheet figures. Host memory read by CPU cores counts one
 * socket's bandwidth unless the runtime copies the weights to every socket (then every
 * socket's, with the host weights held once per socket). Prefill: one device computes
 * every prompt token and the weights outside its memory cross the host link once per
 * PREFILL_CHUNK tokens. The result says which figures are calibrated and cites them.
 *
 * @example
 * localDecode(loadModel('deepseek-v3'), loadLocalSetup('mac-studio-m3-ultra'), { bitsPerWeight: 4.8, context: 4096 }).tokensPerSecondPerUser
 * // => about 15 calibrated (llama.cpp on Metal reads at 0.43 × 819 GB/s); about 36 with calibration: 'bound'
 */
export function localDecode(model: ModelSpec, setup: LocalSetup, opts: LocalRunOptions): LocalRun {
  // A hand-built setup gets the catalog's checks (devices: NaN gave NaN tokens/s).
  checkInt('setup.devices', setup?.devices, { min: 1, max: 64 });
  // A price past a million dollars an hour is a typo, and would overflow the cost per token.
  for (const f of FIELDS) checkNumber(`setup.${f}`, setup[f], { min: 0, ...(f === 'hourlyCostUsd' ? { max: 1e6 } : {}) });
  const bits = checkPositive('bitsPerWeight', opts.bitsPerWeight, 32);
  const context = checkInt('context', opts.context, { min: 0, max: 1 << 24 });
  const B = checkInt('batch', opts.batch ?? 1, { min: 1, max: 1 << 16 });
  const offload = checkOneOf('offload', opts.offload ?? 'host-and-ssd', ['none', 'host-and-ssd'] as const);
  const hostCompute = checkOneOf('hostCompute', opts.hostCompute ?? 'cpu', ['cpu', 'stream'] as const);
  const calibration = checkOneOf('calibration', opts.calibration ?? 'calibrated', ['calibrated', 'bound'] as const);
  const rts = resolveRuntimes(setup, { ...opts, calibration });
  const p = paramCounts(model);
  const bpw = bits / 8;
  const nonRouted = (p.total - p.routedExperts) * bpw;
  const routed = p.routedExperts * bpw;
  const kv = B * context * kvBytesPerToken(model, 'bf16');
  const devCap = setup.device.memoryCapacityBytes * setup.devices;
  const unified = setup.hostMemoryBytes === 0;
  const total = nonRouted + routed + kv;
  if (offload === 'none' && total > devCap) {
    throw new InputError(
      'memory',
      `${gb(total)} (weights ${gb(nonRouted + routed)} at ${bits} bits + KV ${gb(kv)})`,
      `at most the ${gb(devCap)} of ${setup.name}`,
      `short by ${gb(total - devCap)}; allow offload to host memory and SSD, quantize further, or add devices`,
    );
  }
  // A runtime that keeps a copy of the weights on every socket holds host weights once per socket.
  const sockets = setup.sockets ?? 1;
  const copies = rts.replicate && hostCompute === 'cpu' ? sockets : 1;
  const hostCap = unified ? 0 : setup.hostMemoryBytes / copies;
  const ssdCap = setup.ssdBytes;
  if (total > devCap + hostCap + ssdCap) {
    throw new InputError('memory', gb(total), `at most ${gb(devCap + hostCap + ssdCap)} (device ${gb(devCap)} + host ${gb(hostCap)}${copies > 1 ? ` (one copy per socket)` : ''} + SSD ${gb(ssdCap)}) on ${setup.name}`, `short by ${gb(total - devCap - hostCap - ssdCap)}`);
  }
  // The KV cache is read every step and never streamed from SSD: the batch (or, for one sequence, the
  // context) is refused by its own name, with the most that device and host memory hold.
  const kvRoom = devCap + hostCap;
  if (kv > kvRoom + 1e-6) {
    const perToken = kvBytesPerToken(model, 'bf16');
    const most = Math.floor(kvRoom / (context * perToken));
    const where = `its KV cache (${gb(kv)}) must fit in device and host memory, not SSD: ${gb(kvRoom)} on ${setup.name}`;
    if (most >= 1) throw new InputError('batch', B, `at most ${most} at context ${context}: ${where}`);
    throw new InputError('context', context, `at most ${Math.floor(kvRoom / perToken)} tokens for one sequence: ${where}`);
  }
  // Fill device, then host, then SSD: KV first (it is read every step), then always-used weights, then experts.
  const caps = [devCap, hostCap, ssdCap];
  const used = [0, 0, 0];
  const place = (bytes: number, allowSsd: boolean): number[] => {
    const out = [0, 0, 0];
    let left = bytes;
    for (let t = 0; t < 3 && left > 0; t++) {
      if (t === 2 && !allowSsd) break;
      const take = Math.min(left, caps[t] - used[t]);
      out[t] = take;
      used[t] += take;
      left -= take;
    }
    if (left > 1e-6) throw new InputError('memory', gb(bytes), `room for the KV cache outside SSD on ${setup.name}`, `short by ${gb(left)}`);
    return out;
  };
  const kvAt = place(kv, false);
  const nrAt = place(nonRouted, true);
  const exAt = place(routed, true);
  const moe = model.moe;
  // Fraction of expert bytes one step reads: the experts its B tokens reach.
  const reached = moe ? expectedActiveExperts(moe.numExperts, moe.expertsPerToken, B) / moe.numExperts : 1;
  const dt = computeDtype(setup.device);
  const flopsPerStep = 2 * p.active * B;
  const devFactor = rts.device ? runtimeFactorFor(rts.device, 'bandwidthFactor', setup.device) : null;
  // A setup names no host CPU model, so whether the host factor's CPU is this one is not known.
  const hostFactor = hostCompute === 'cpu' ? (rts.host?.bandwidthFactor ?? null) : null;
  // Host weights the device reads cross the host link: the slower of host memory and link binds.
  // Equal figures both bind: either, given, is named.
  const streamed: { bytesPerSecond: number; fields: (keyof LocalSetupOverrides)[] } = {
    bytesPerSecond: Math.min(setup.hostBytesPerSecond, setup.hostLinkBytesPerSecond),
    fields: [
      ...(setup.hostBytesPerSecond <= setup.hostLinkBytesPerSecond ? (['hostBytesPerSecond'] as const) : []),
      ...(setup.hostLinkBytesPerSecond <= setup.hostBytesPerSecond ? (['hostLinkBytesPerSecond'] as const) : []),
    ],
  };
  // Host memory read by CPU cores: one socket's bandwidth, or every socket's when each holds its own copy.
  const hostBw = hostCompute === 'cpu' ? setup.hostBytesPerSecond * copies : streamed.bytesPerSecond;
  const bw = [setup.device.memoryBytesPerSecond, hostBw, setup.ssdBytesPerSecond];
  const factors: Array<RuntimeFactor | AppliedRuntimeFactor | null> = [devFactor, hostFactor, null];
  const computeFactor = rts.device ? runtimeFactorFor(rts.device, 'prefillComputeFactor', setup.device) : null;
  const peak = (setup.device.peakFlops[dt] as number) * setup.devices * (computeFactor?.value ?? 1);
  const names = ['device', 'host', 'ssd'] as const;
  // The caller's figures each tier's bandwidth reads: the binding one only (a given host
  // bandwidth above the link's changes nothing the device streams, and is not named).
  const givenOf = (fields: readonly (keyof LocalSetupOverrides)[]): (keyof LocalSetupOverrides)[] => fields.filter((f) => setup.given?.includes(f));
  const tierGiven = [givenOf(['memoryBytesPerSecond']), givenOf(hostCompute === 'cpu' ? ['hostBytesPerSecond'] : streamed.fields), []];
  const tiers: LocalTier[] = [];
  const sources = new Set<string>();
  let step = 0;
  let calibratedTiers = 0;
  for (let t = 0; t < 3; t++) {
    const weightBytes = nrAt[t] + exAt[t];
    const kvBytes = kvAt[t];
    if (weightBytes + kvBytes === 0) continue;
    const bytesPerStep = nrAt[t] + exAt[t] * reached + kvBytes;
    if (!(bw[t] > 0)) throw new InputError(`${names[t]} bandwidth`, bw[t], 'positive where weights are placed');
    const f = factors[t];
    if (f) {
      calibratedTiers++;
      sources.add(f.source);
    }
    // A device whose bandwidth was measured (this machine) is calibrated by the measurement itself.
    const measured = t === 0 && !f && calibration === 'calibrated' ? measuredNote(setup.device, 'memoryBytesPerSecond') : null;
    if (measured) {
      calibratedTiers++;
      sources.add(measured);
    }
    const rate = bw[t] * (f?.value ?? 1);
    let seconds = bytesPerStep / rate;
    let limitedBy: LocalTier['limitedBy'] = 'bandwidth';
    if (t === 0) {
      // Multi-GPU setups split layers (llama.cpp's default): at small batches the devices take turns, so one device's
      // bandwidth streams each layer; the device computes its share of the step (by bytes read) at its achieved peak.
      const share = bytesPerStep / (nrAt[0] + exAt[0] * reached + kvAt[0] + nrAt[1] + exAt[1] * reached + kvAt[1] + nrAt[2] + exAt[2] * reached);
      const compute = (flopsPerStep * share) / (peak / setup.devices);
      if (compute > seconds) {
        seconds = compute;
        limitedBy = 'compute';
      }
    }
    tiers.push({
      tier: names[t],
      weightBytes,
      kvBytes,
      bytesPerStep,
      bytesPerSecond: rate,
      bandwidthFactor: f?.value ?? 1,
      factorSource: f ? f.source : (measured ?? 'bound: the datasheet bandwidth, no runtime factor'),
      ...(f ? { factorMeasuredOn: f.measuredOn } : {}),
      ...(f && 'onThisDevice' in f ? { factorOnThisDevice: f.onThisDevice } : {}),
      seconds,
      limitedBy,
      ...(tierGiven[t].length ? { given: tierGiven[t] } : {}),
    });
    step += seconds;
  }
  // Prefill: one device computes every prompt token (split layers take turns; llama.cpp copies offloaded weights to the
  // GPU for large batches), and the weights outside device memory cross the host link once per chunk of PREFILL_CHUNK tokens.
  const chunk = PREFILL_CHUNK;
  const inHost = nrAt[1] + exAt[1];
  const inSsd = nrAt[2] + exAt[2];
  const prefillSeconds = (2 * p.active * chunk) / (peak / setup.devices) + (inHost > 0 ? inHost / streamed.bytesPerSecond : 0) + (inSsd > 0 ? inSsd / setup.ssdBytesPerSecond : 0);
  const prefillGiven = inHost > 0 ? givenOf(streamed.fields) : [];
  if (computeFactor) sources.add(computeFactor.source);
  const computeMeasured = !computeFactor && calibration === 'calibrated' ? measuredNote(setup.device, `peakFlops.${dt}`) : null;
  if (computeMeasured) sources.add(computeMeasured);
  const numa =
    sockets > 1
      ? copies > 1
        ? `${sockets} sockets, weights copied to each (${opts.runtime ?? setup.runtimes?.device}): host bandwidth ${sockets} × one socket's, host memory holds the weights once per socket`
        : `${sockets} sockets, one copy of the weights: host bandwidth is one socket's (a second socket does not add bandwidth unless the runtime replicates the weights)`
      : 'one socket';
  const kernels = checkNumber('kernelsPerStep', opts.kernelsPerStep ?? 0, { min: 0, max: 1e7 });
  const launchSeconds = kernels * (setup.device.calibration?.kernelLaunchSeconds ?? 0);
  step += launchSeconds;
  const tps = B / step;
  return {
    setup: setup.id,
    model: model.id,
    batch: B,
    tiers,
    stepSeconds: step,
    tokensPerSecondPerUser: 1 / step,
    tokensPerSecond: tps,
    usdPerMillionOutput: setup.hourlyCostUsd / 3600 / tps * 1e6,
    offloadedBytes: used[1] + used[2],
    launchSeconds,
    calibration: calibratedTiers === 0 ? 'bound' : calibratedTiers === tiers.length ? 'calibrated' : 'partly calibrated',
    runtimes: { device: rts.device?.id ?? null, host: hostCompute === 'cpu' && tiers.some((t) => t.tier === 'host') ? (rts.host?.id ?? null) : null },
    prefillTokensPerSecond: chunk / prefillSeconds,
    prefillCalibration: computeFactor || computeMeasured ? 'calibrated' : 'bound',
    ...(computeFactor ? { prefillFactorMeasuredOn: { device: computeFactor.measuredOn, onThisDevice: computeFactor.onThisDevice } } : {}),
    ...(prefillGiven.length ? { prefillGiven } : {}),
    numa,
    sources: [...sources],
  };
}
