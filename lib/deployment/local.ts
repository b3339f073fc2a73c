import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dtype } from '../core/types.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { loadHardware } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { expectedActiveExperts } from '../models/ops.js';
import { kvBytesPerToken, paramCounts } from '../models/params.js';
import { InputError } from '../util/errors.js';
import { batchlabDataDir } from '../util/package-root.js';
import type { Provenance } from '../util/provenance.js';
import { checkInt, checkNumber, checkOneOf, checkPositive } from '../util/validate.js';

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
  sources: Record<string, Provenance>;
}

const FIELDS = ['hostMemoryBytes', 'hostBytesPerSecond', 'hostLinkBytesPerSecond', 'ssdBytesPerSecond', 'ssdBytes', 'hourlyCostUsd'] as const;

function setupFromJson(j: Record<string, unknown>, i: number): LocalSetup {
  const at = `setups[${i}]`;
  for (const f of ['id', 'name', 'device'] as const) if (typeof j[f] !== 'string' || j[f] === '') throw new InputError(`${at}.${f}`, j[f], 'a non-empty string');
  const sources: Record<string, Provenance> = {};
  const vals = {} as Record<(typeof FIELDS)[number], number>;
  for (const f of FIELDS) {
    const raw = j[f] as { value?: unknown; source?: unknown } | undefined;
    if (typeof raw !== 'object' || raw === null) throw new InputError(`${at}.${f}`, raw, 'an object { value, source }');
    if (typeof raw.source !== 'string' || raw.source === '') throw new InputError(`${at}.${f}.source`, raw.source, 'a non-empty string');
    vals[f] = checkNumber(`${at}.${f}.value`, raw.value, { min: 0 });
    sources[f] = { source: raw.source };
  }
  return { id: j.id as string, name: j.name as string, device: loadHardware(j.device as string), devices: checkInt(`${at}.devices`, j.devices, { min: 1, max: 64 }), ...vals, sources };
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
export function singleDeviceSetup(hw: HardwareSpec, opts: { hourlyCostUsd?: number } = {}): LocalSetup {
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
}

/** One memory tier of a local run: what lies there and what a step reads from it. */
export interface LocalTier {
  tier: 'device' | 'host' | 'ssd';
  weightBytes: number;
  kvBytes: number;
  /** Bytes one decode step reads from the tier. */
  bytesPerStep: number;
  bytesPerSecond: number;
  seconds: number;
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
 * @example
 * localDecode(loadModel('deepseek-v3'), loadLocalSetup('mac-studio-m3-ultra'), { bitsPerWeight: 4.8, context: 4096 }).tokensPerSecondPerUser
 * // => about 40 (the bound: 22 GB read per token at 819 GB/s)
 */
export function localDecode(model: ModelSpec, setup: LocalSetup, opts: LocalRunOptions): LocalRun {
  // A hand-built setup gets the catalog's checks (devices: NaN gave NaN tokens/s).
  checkInt('setup.devices', setup?.devices, { min: 1, max: 64 });
  for (const f of FIELDS) checkNumber(`setup.${f}`, setup[f], { min: 0 });
  const bits = checkPositive('bitsPerWeight', opts.bitsPerWeight, 32);
  const context = checkInt('context', opts.context, { min: 0, max: 1 << 24 });
  const B = checkInt('batch', opts.batch ?? 1, { min: 1, max: 1 << 16 });
  const offload = checkOneOf('offload', opts.offload ?? 'host-and-ssd', ['none', 'host-and-ssd'] as const);
  const hostCompute = checkOneOf('hostCompute', opts.hostCompute ?? 'cpu', ['cpu', 'stream'] as const);
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
  const hostCap = unified ? 0 : setup.hostMemoryBytes;
  const ssdCap = setup.ssdBytes;
  if (total > devCap + hostCap + ssdCap) {
    throw new InputError('memory', gb(total), `at most ${gb(devCap + hostCap + ssdCap)} (device ${gb(devCap)} + host ${gb(hostCap)} + SSD ${gb(ssdCap)}) on ${setup.name}`, `short by ${gb(total - devCap - hostCap - ssdCap)}`);
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
  const bw = [
    setup.device.memoryBytesPerSecond,
    hostCompute === 'cpu' ? setup.hostBytesPerSecond : Math.min(setup.hostBytesPerSecond, setup.hostLinkBytesPerSecond),
    setup.ssdBytesPerSecond,
  ];
  const names = ['device', 'host', 'ssd'] as const;
  const tiers: LocalTier[] = [];
  let step = 0;
  for (let t = 0; t < 3; t++) {
    const weightBytes = nrAt[t] + exAt[t];
    const kvBytes = kvAt[t];
    if (weightBytes + kvBytes === 0) continue;
    const bytesPerStep = nrAt[t] + exAt[t] * reached + kvBytes;
    if (!(bw[t] > 0)) throw new InputError(`${names[t]} bandwidth`, bw[t], 'positive where weights are placed');
    let seconds = bytesPerStep / bw[t];
    if (t === 0) {
      // The device computes its share of the step (by bytes read) at its dense peak.
      const share = bytesPerStep / (nrAt[0] + exAt[0] * reached + kvAt[0] + nrAt[1] + exAt[1] * reached + kvAt[1] + nrAt[2] + exAt[2] * reached);
      seconds = Math.max(seconds, (flopsPerStep * share) / (setup.device.peakFlops[dt] as number));
    }
    tiers.push({ tier: names[t], weightBytes, kvBytes, bytesPerStep, bytesPerSecond: bw[t], seconds });
    step += seconds;
  }
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
  };
}
