import type { Dtype, StepWork } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import type { HardwareSpec } from '../hardware/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { modelStepOps, type ModelOperation } from '../models/ops.js';
import { hardwarePeakFlops } from '../hardware/spec.js';
import { rooflineStepCost } from '../roofline/model.js';
import type { PerfConfig } from '../roofline/deployment.js';
import { efficiencyModeOf, kvCacheCapacity, memoryFit, perfStepCost, pricingFramework } from '../roofline/deployment.js';
import { DEFAULT_SERVING_ENGINE, engineDevice, engineMemoryFraction, servingEnginePreset, type EngineDevice, type ServingEngineName, type ServingEnginePreset } from './engines.js';
import { defaultKernelDb } from '../kernels/load.js';
import { kernelFrameworksOf, kernelTablesText } from '../kernels/pricer.js';
import { InputError } from '../util/errors.js';
import * as aq from 'arquero';
import { checkArray, checkInt, checkOneOf, checkPositive } from '../util/validate.js';
import { summarizeSample } from '../util/stats.js';
import { simulateServing } from './simulate.js';
import { servingSweep, type ServingSweepGrid } from './sweep.js';

import type { ServingStepCost, ServingConfig, ServingPolicy } from './types.js';
import type { Table } from '../util/table.js';

/** A serving replica: what it is, its step cost and (optionally) its KV capacity and price. */
export interface ServingReplica {
  label: string;
  stepCost: ServingStepCost;
  /** KV-cache tokens that fit beside the weights; absent means unlimited. */
  kvCapacityTokens?: number;
  /** Price of the whole replica per hour, USD; absent: no dollar figures. */
  usdPerHour?: number;
  /**
   * The device an engine preset named by its name sizes its defaults by (`engineDevice`:
   * memory, tensor parallelism), as `servingEnginePreset(name, device)`: set by
   * `catalogServingReplica`; absent, a named preset takes its defaults for an unknown device.
   */
  device?: EngineDevice;
  /**
   * The KV-cache tokens the replica holds under an engine preset's memory rule
   * (`presetMemoryFraction`), as `batchlab simulate --engine` sizes them: set by
   * `catalogServingReplica` (its own `memoryFraction`, where given, stands); absent, a
   * preset runs on `kvCapacityTokens`.
   */
  kvCapacityUnder?: (preset: ServingEnginePreset) => number;
}

/**
 * The KV capacity a replica runs an engine on: under a preset built for it, what the
 * preset's memory rule leaves (`kvCapacityUnder`), else its own `kvCapacityTokens`.
 *
 * @example
 * replicaKvCapacity(replica, replicaEngine(replica, 'sglang')) // => tokens under SGLang's mem_fraction_static rule
 */
export function replicaKvCapacity(replica: Pick<ServingReplica, 'kvCapacityTokens' | 'kvCapacityUnder'>, engine?: ServingEngineName | ServingEnginePreset): number | undefined {
  return engine !== undefined && typeof engine === 'object' && replica.kvCapacityUnder ? replica.kvCapacityUnder(engine) : replica.kvCapacityTokens;
}

/**
 * The engine a replica runs: a preset named by its name is taken for the replica's
 * `device` where it has one (as `batchlab simulate --engine` takes it for its hardware);
 * a preset given whole, or a replica without a device, as given.
 *
 * @example
 * replicaEngine(catalogServingReplica(loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { parallelism: { tp: 1 } }), 'vllm').policy // => the H100's vLLM batch and token budget
 */
export function replicaEngine(replica: Pick<ServingReplica, 'device'>, engine: ServingEngineName | ServingEnginePreset): ServingEngineName | ServingEnginePreset {
  return typeof engine === 'string' && replica.device !== undefined ? servingEnginePreset(engine, replica.device) : engine;
}

/**
 * How `catalogServingReplica` prices a replica: the configuration `stepTime` takes
 * (parallelism, precision, efficiency, framework and kernel database,
 * `memoryFraction`), or the short form `dtype` + `devices` for the datasheet roofline
 * of `rooflineStepCost` on `devices` tensor-parallel devices.
 */
export interface CatalogReplicaOptions extends PerfConfig {
  /** Short form: one dtype for weights, activations and KV cache, priced by the spec roofline. Not with `precision`. */
  dtype?: Dtype;
  /** Short form: tensor-parallel devices (default 1). Not with `parallelism`. */
  devices?: number;
}

/**
 * The `memoryFraction` of each device that holds weights and KV cache when an engine
 * preset sizes the cache (its memory rule, engineMemoryFraction), for a deployment
 * whose weights `memoryFit` prices under `config` (parallelism and precision).
 *
 * @example
 * presetMemoryFraction(servingEnginePreset('trtllm'), loadModel('llama-3.1-8b'), loadHardware('h100-sxm'), { precision: 'fp8' }) // => 0.9 + 0.1 · weights / 80 GB
 */
export function presetMemoryFraction(preset: ServingEnginePreset, model: ModelSpec, hw: HardwareSpec, config: PerfConfig): number {
  if (!preset || typeof preset !== 'object' || !preset.memory) throw new InputError('preset', preset, 'an engine preset from servingEnginePreset');
  const weights = memoryFit(model, hw, { ...config, memoryFraction: 1 }, { batch: 0, context: 0 }).weightBytes;
  return engineMemoryFraction(preset.memory, Math.min(1, weights / hw.memoryCapacityBytes));
}

/**
 * A replica's label: model, weights dtype, devices, hardware, and what prices its steps.
 *
 * @example
 * replicaLabel(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), 'bf16', 4, 'spec roofline') // => 'llama-3.1-70b bf16 on 4× h100-sxm (spec roofline)'
 */
export function replicaLabel(model: Pick<ModelSpec, 'id'>, hw: Pick<HardwareSpec, 'id'>, weights: string, devices: number, how: string): string {
  return `${model.id} ${weights} on ${devices}× ${hw.id} (${how})`;
}

/**
 * How a replica's label names the performance model that prices its steps: its efficiency
 * mode (the hardware's calibration by default, else typical) and, with a framework, that
 * framework's kernel tables and their release, or that the database has none for the device.
 *
 * @example
 * perfModelText(loadHardware('h100-sxm'), { framework: 'trtllm' }) // => 'performance model, calibrated, trtllm 1.3.0rc20 kernel tables'
 */
export function perfModelText(hw: HardwareSpec, config: Pick<PerfConfig, 'efficiency' | 'framework' | 'kernelDb' | 'matmulCost'>): string {
  const mode = efficiencyModeOf(hw, config.efficiency);
  const fw = pricingFramework(hw, config);
  return `performance model, ${mode}${fw === undefined || config.kernelDb === false ? '' : `, ${kernelTablesText(config.kernelDb || defaultKernelDb(), hw, fw)}`}`;
}

/**
 * The framework whose kernel tables price a spec's points (a search spec's, a serving
 * sweep's): its `framework`; null for the performance model alone, which is also what a
 * spec that names `efficiency` and no framework asks for (as deploy's --efficiency does);
 * else the default engine's (vllm). A name the shipped tables do not hold is an InputError
 * naming `framework`. A point whose hardware the tables do not hold is priced by the model
 * (kernelTableStepModel).
 *
 * @example
 * specFramework({ ...spec, framework: undefined }) // => 'vllm'
 * specFramework({ ...spec, framework: null }) // => null
 * specFramework({ efficiency: 'calibrated' }) // => null
 */
export function specFramework(spec: { framework?: string | null; efficiency?: unknown }): string | null {
  const f = spec.framework;
  if (f === undefined) return spec.efficiency === undefined ? DEFAULT_SERVING_ENGINE : null;
  if (f === null) return null;
  const held = kernelFrameworksOf(defaultKernelDb());
  if (typeof f !== 'string' || !held.includes(f)) throw new InputError('framework', f, `a framework whose kernel tables data/kernels holds (${held.map((h) => `"${h}"`).join(', ')}), or null for the performance model alone`);
  return f;
}

/**
 * One replica of a catalog model on catalog hardware, for the serving simulator. Its
 * KV capacity is `kvCacheCapacity` (lib/roofline): the memory `memoryFit` leaves
 * beside each device's weights, the one memory fit of batchlab (the whole datasheet
 * capacity unless `memoryFraction` says otherwise, e.g. 0.9 for vLLM's default
 * gpu_memory_utilization). Its step cost is
 * - with `dtype` (and `devices`, `matmulCost`): the datasheet roofline of
 *   `rooflineStepCost` (or the `matmulCost` model, e.g. a fit to this machine), as before;
 * - with a PerfConfig (`parallelism`, `precision`, `efficiency`, `framework`, ...):
 *   `perfStepCost`, the same model as `stepTime`: naming no framework and no efficiency,
 *   the default engine's kernel tables where the database holds the device, as `batchlab
 *   simulate` prices; `framework: null` or an `efficiency`, the performance model alone
 *   (calibrated, typical or spec).
 * The step cost also reports each step's FLOPs and bytes (the model's operations,
 * summed over devices) against the devices' spec peaks, so runs report MFU and
 * bandwidth utilisation, and the replica carries its price (devices × the catalog's
 * hourly price).
 *
 * @example
 * const r = catalogServingReplica(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { dtype: 'bf16', devices: 4 });
 * r.kvCapacityTokens // => 617,950
 * const c = catalogServingReplica(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { parallelism: { tp: 4 }, precision: 'bf16' });
 * c.label // => "llama-3.1-70b bf16 on 4× h100-sxm (performance model, calibrated, vllm 0.24.0 kernel tables)"
 */
export function catalogServingReplica(model: ModelSpec, hw: HardwareSpec, opts: CatalogReplicaOptions): ServingReplica & { kvCapacityTokens: number } {
  if (typeof opts !== 'object' || opts === null) throw new InputError('opts', opts, 'an object { dtype, devices? } or a PerfConfig');
  const short = opts.dtype !== undefined;
  if (short && opts.precision !== undefined) throw new InputError('precision', opts.precision, 'left out with dtype (give one of the two)');
  if (opts.devices !== undefined && opts.parallelism !== undefined) throw new InputError('devices', opts.devices, 'left out with parallelism (give one of the two)');
  const { dtype: shortDtype, devices: shortDevices, ...rest } = opts;
  const tp = checkInt('devices', shortDevices ?? 1, { min: 1, max: 4096 });
  const config: PerfConfig = {
    ...rest,
    ...(opts.parallelism === undefined ? { parallelism: { tp } } : {}),
    ...(short ? { precision: checkOneOf('dtype', shortDtype, DTYPES), efficiency: 'spec' as const, launch: 'none' as const } : {}),
  };
  let kv: number;
  try {
    kv = kvCacheCapacity(model, hw, config).tokens;
  } catch (e) {
    // The short form names its own flag: more devices is the fix.
    if (short && e instanceof InputError && e.field === 'memory') throw new InputError('devices', tp, 'enough devices for the weights plus a KV cache', `${model.id} on ${hw.id}: ${e.message}`);
    throw e;
  }
  const par = config.parallelism!;
  const devices = (par.tp ?? 1) * (par.dp ?? 1) * (par.pp ?? 1);
  const weightsDtype = typeof config.precision === 'object' ? (config.precision.weights ?? config.precision.activations ?? 'bf16') : (config.precision ?? 'bf16');
  const computeDtype = typeof config.precision === 'object' ? (config.precision.compute ?? weightsDtype) : weightsDtype;
  let fn: ServingStepCost;
  let how: string;
  if (short) {
    fn = rooflineStepCost(model, hw, { dtype: weightsDtype, devices, matmulCost: opts.matmulCost }) as ServingStepCost;
    how = opts.matmulCost ? opts.matmulCost.label : 'spec roofline';
  } else {
    fn = perfStepCost(model, hw, config) as ServingStepCost;
    how = perfModelText(hw, config);
  }
  const label = replicaLabel(model, hw, weightsDtype, devices, how);
  fn.label = label;
  // The engine asks for FLOPs and then bytes of the same step: list its operations once.
  // It rewrites one StepWork object every step, so the cache compares the counts, not the object.
  let lastKey: [number, number, number, number | undefined] | null = null;
  let lastOps: ModelOperation[] = [];
  const opsOf = (w: StepWork): ModelOperation[] => {
    const contextTokens = w.decodeTokens > 0 ? w.contextTokens : 0;
    const prefillSequences = w.prefillTokens > 0 ? w.prefillSequences : undefined;
    const k = lastKey;
    if (!k || k[0] !== w.prefillTokens || k[1] !== w.decodeTokens || k[2] !== contextTokens || k[3] !== prefillSequences) {
      lastOps = modelStepOps(model, { prefillTokens: w.prefillTokens, decodeTokens: w.decodeTokens, contextTokens, prefillSequences, dtype: weightsDtype });
      lastKey = [w.prefillTokens, w.decodeTokens, contextTokens, prefillSequences];
    }
    return lastOps;
  };
  fn.flops = (w) => opsOf(w).reduce((s, o) => s + o.flops, 0);
  fn.bytes = (w) => opsOf(w).reduce((s, o) => s + o.bytes, 0);
  fn.peakFlopsPerSecond = hardwarePeakFlops(hw, computeDtype) * devices;
  fn.peakBytesPerSecond = hw.memoryBytesPerSecond * devices;
  const device = engineDevice(hw, par.tp ?? 1);
  fn.device = device;
  // Under an engine preset the cache is what its memory rule leaves, unless the caller fixed the share.
  const kvCapacityUnder = (preset: ServingEnginePreset): number =>
    opts.memoryFraction !== undefined ? kv : kvCacheCapacity(model, hw, { ...config, memoryFraction: presetMemoryFraction(preset, model, hw, config) }).tokens;
  const price = hw.hourlyPriceUsd * devices;
  return { label, stepCost: fn, kvCapacityTokens: kv, device, kvCapacityUnder, ...(Number.isFinite(price) && price > 0 ? { usdPerHour: price } : {}) };
}

/**
 * Saturated throughput (requests/s) of a replica under a policy. Every request arrives
 * at t = 0 (base.arrivals is replaced; base.requests counts), so requests are admitted
 * in order; the rate is the number admitted between two admission instants over the
 * time between them, from the instant that admits the request at the 10 % mark to the
 * last admission: the steady state of a full engine (every departure makes room for an
 * admission), free of the ramp-up and of the drain tail. Whole admission instants
 * delimit the interval, so departures that come in synchronized waves (static batches,
 * equal lengths) are counted over whole cycles. Falls back to requests / makespan when
 * there are too few requests for two distinct admission instants.
 *
 * @example
 * servingCapacity(base, { kind: 'continuous', maxBatch: 256 }, 1) // => requests/s at full load
 */
export function servingCapacity(base: Omit<ServingConfig, 'policy'>, policy: ServingPolicy, seed: number): number {
  if (!base || typeof base !== 'object') throw new InputError('base', base, 'a ServingConfig without its policy');
  const burst: ServingConfig = { ...base, arrivals: { kind: 'burst' }, policy, keepRequests: true };
  const r = simulateServing(burst, seed);
  const admitted = r.requestLog!.admitted;
  const n = r.requests;
  const a2 = admitted[n - 1];
  let i1 = Math.floor(0.1 * n);
  const a1 = admitted[i1];
  while (i1 > 0 && admitted[i1 - 1] === a1) i1--;
  let i2 = n - 1;
  while (i2 > 0 && admitted[i2 - 1] === a2) i2--;
  return a2 > a1 && i2 > i1 ? (i2 - i1) / (a2 - a1) : r.throughputRequestsPerSecond;
}

/**
 * The same workload and policy grid on several replicas, with arrival rates set as
 * fractions of each replica's own capacity (servingCapacity under continuous batching
 * at the largest batch limit), so a small and a large replica are both swept from light
 * load to saturation. One row per (replica, point), with columns `replica`, `load`
 * (exactly as given) and `loadLabel` ("50 % load"), `capacityRps`, `series` (replica · policy) and `usdPerMTok`
 * (busy engine time per million output tokens at the replica's price; null without a
 * price) added to the ServingSweepRow fields.
 *
 * @example
 * const t = servingReplicaSweep([r70bH100, r70bH200], { workload, policies: ['window', 'continuous'],
 *   maxBatches: [256], windowsMs: [20, 200], loads: [0.25, 0.5, 0.9] }, 1);
 * servingFrontier(t, { groupBy: 'series' });
 */
export function servingReplicaSweep(
  replicas: ServingReplica[],
  grid: Omit<ServingSweepGrid, 'base' | 'ratesPerSecond'> & { workload: Omit<ServingConfig, 'policy' | 'stepCost'>; loads: number[] },
  seed: number,
): Table {
  checkArray<ServingReplica>('replicas', replicas, 64).forEach((r, i) => {
    if (!r || typeof r.label !== 'string' || typeof r.stepCost !== 'function') {
      throw new InputError(`replicas[${i}]`, r, 'a replica { label, stepCost, kvCapacityTokens? }');
    }
  });
  const loads = checkArray<number>('loads', grid?.loads, 1000).map((l, i) => checkPositive(`loads[${i}]`, l, 100));
  const kind = grid.workload?.arrivals?.kind;
  if (kind !== 'poisson' && kind !== 'gamma') throw new InputError('workload.arrivals.kind', kind, 'one of "poisson", "gamma" (the sweep sets their rate)');
  const maxBatch = Math.max(...checkArray<number>('maxBatches', grid.maxBatches, 4096));
  const rows: Array<Record<string, unknown>> = [];
  for (const replica of replicas) {
    const base: Omit<ServingConfig, 'policy'> = { ...grid.workload, stepCost: replica.stepCost, costLabel: replica.label, kvCapacityTokens: replica.kvCapacityTokens };
    const capacity = servingCapacity(base, { kind: 'continuous', maxBatch }, seed);
    const rates = loads.map((l) => l * capacity);
    const engines = !Array.isArray(grid.engines) ? grid.engines : grid.engines.map((e) => replicaEngine(replica, e));
    // Each engine's points hold what its memory rule leaves of the replica's memory.
    const engineKv = engines?.map((e) => replicaKvCapacity(replica, e) ?? null);
    const sub: ServingSweepGrid = { ...grid, base, ratesPerSecond: rates, ...(engines === undefined ? {} : { engines, engineKvCapacityTokens: engineKv }) };
    const table = servingSweep(sub, seed);
    for (const row of table.objects() as Array<Record<string, unknown>>) {
      const load = loads[rates.indexOf(row.ratePerSecond as number)];
      const usd = replica.usdPerHour === undefined ? null : ((row.busySecondsPer1kTokens as number) * 1000 * replica.usdPerHour) / 3600;
      rows.push({ replica: replica.label, series: `${replica.label} · ${row.engine ?? row.policy}`, load, loadLabel: `${+(load * 100).toFixed(1)} % load`, capacityRps: capacity, usdPerMTok: usd, ...row });
    }
  }
  return aq.from(rows);
}

/**
 * Sweeps of the same grid repeated (e.g. once per fit of repeated machine probes)
 * summarised point by point: for every combination of `keys`, each of `columns` becomes
 * the median over the repetitions, with `<column>P10` and `<column>P90` beside it
 * (summarizeSample: linear interpolation between ranks), and `repeats` counts the
 * repetitions that had the point. Nulls and NaN are skipped; a column with no value at
 * a point is null there. Points keep the order of the first sweep that has them.
 *
 * @example
 * const sweeps = fits.map((f) => servingReplicaSweep([replicaOf(f)], grid, 1));
 * const spread = servingSweepSpread(sweeps, { keys: ['loadLabel', 'windowMs'], columns: ['itlP99', 'busySecondsPer1kTokens'] });
 * spread.objects()[0] // => { loadLabel: '20 % load', windowMs: 0, repeats: 5, itlP99: …, itlP99P10: …, itlP99P90: …, … }
 */
export function servingSweepSpread(sweeps: readonly Table[], opts: { keys: readonly string[]; columns: readonly string[] }): Table {
  const list = checkArray<Table>('sweeps', sweeps, 10_000);
  if (list.length === 0) throw new InputError('sweeps', sweeps, 'at least one sweep table');
  const keys = checkArray<string>('keys', opts?.keys, 64);
  const columns = checkArray<string>('columns', opts?.columns, 64);
  if (keys.length === 0 || columns.length === 0) throw new InputError(keys.length === 0 ? 'keys' : 'columns', keys.length === 0 ? keys : columns, 'at least one column name');
  const points = new Map<string, { key: Record<string, unknown>; values: number[][] }>();
  list.forEach((t, i) => {
    if (!t || typeof (t as { objects?: unknown }).objects !== 'function') throw new InputError(`sweeps[${i}]`, t, 'a sweep table (servingReplicaSweep or servingSweep)');
    for (const row of t.objects() as Array<Record<string, unknown>>) {
      for (const k of keys) if (!(k in row)) throw new InputError(`keys`, k, `a column of sweeps[${i}] (${Object.keys(row).join(', ')})`);
      const id = JSON.stringify(keys.map((k) => row[k]));
      const p = points.get(id) ?? { key: Object.fromEntries(keys.map((k) => [k, row[k]])), values: columns.map(() => []) };
      columns.forEach((c, j) => {
        const v = row[c];
        if (typeof v === 'number' && Number.isFinite(v)) p.values[j].push(v);
      });
      points.set(id, p);
    }
  });
  const rows = [...points.values()].map((p) => {
    const out: Record<string, unknown> = { ...p.key, repeats: Math.max(...p.values.map((v) => v.length)) };
    columns.forEach((c, j) => {
      const s = p.values[j].length ? summarizeSample(p.values[j]) : null;
      out[c] = s?.median ?? null;
      out[`${c}P10`] = s?.p10 ?? null;
      out[`${c}P90`] = s?.p90 ?? null;
    });
    return out;
  });
  return aq.from(rows);
}
