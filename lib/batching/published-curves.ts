import { DTYPES } from '../core/types.js';
import { loadHardware } from '../hardware/spec.js';
import { loadModel } from '../models/spec.js';
import type { Precision, PerfConfig } from '../roofline/deployment.js';
import { kvCacheCapacity, memoryFit, perfStepCost } from '../roofline/deployment.js';
import { readPublishedFile } from '../roofline/published.js';
import { InputError, asField } from '../util/errors.js';
import { checkArray, checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { SERVING_ENGINES, engineDevice, servingEnginePreset, type ServingEngineName, type ServingEnginePreset } from './engines.js';
import { presetMemoryFraction } from './replica.js';
import { servingConcurrencySweep } from './study.js';
import type { ServingStepCost } from './types.js';

/** One published point of a concurrency curve (the file's metric definitions say what each is). */
export interface PublishedCurvePoint {
  concurrency: number;
  /** Mean time to first token, ms. */
  ttftMs: number;
  /** Mean inter-token latency excluding the first token, ms (vllm bench serve's TPOT). */
  itlMs: number;
  /** Output tokens of the whole deployment per second. */
  outputTokensPerSecond: number;
}

/**
 * A concurrency curve a serving system published (a `curves` entry of a
 * data/published/*-curves.json file): the deployment, the workload (fixed prompt and
 * output lengths), the engine whose preset simulates it, and one point per concurrency.
 */
export interface PublishedCurve {
  id: string;
  label: string;
  model: string;
  hardware: string;
  engine: ServingEngineName;
  engineVersion?: string;
  tp: number;
  precision: Partial<Precision>;
  promptTokens: number;
  outputTokens: number;
  points: PublishedCurvePoint[];
  /** What the publication states, quoted. */
  stated?: string;
  /** What it does not state and the file assumes. */
  assumptions?: string;
  /**
   * Engine settings no source read for the curve states (e.g. "chunked prefill",
   * "max_num_tokens", "KV cache dtype"): the simulation takes them from the engine
   * preset or from `assumptions`, so a prediction's miss may lie in any of them.
   */
  unsourcedEngineSettings?: string[];
  source: string;
  url?: string;
  date?: string;
}

const PRECISION_KEYS = ['weights', 'compute', 'activations', 'kvCache', 'dispatch', 'combine'] as const;

/**
 * The concurrency curves of one data/published file (its `curves` section), read through
 * readPublishedFile and checked field by field: an InputError names the file, the curve
 * and the field with its allowed range.
 *
 * @example
 * readPublishedCurves('nvidia-nim-llm-benchmarking-curves')[0].points[0].concurrency // => 1
 */
export function readPublishedCurves(id: string): PublishedCurve[] {
  const json = readPublishedFile(id);
  const file = `data/published/${id}.json`;
  const curves = json.curves;
  if (!Array.isArray(curves) || curves.length === 0) throw new InputError(`${file} curves`, curves, 'a non-empty array of concurrency curves');
  if (curves.length > 1000) throw new InputError(`${file} curves`, curves.length, 'at most 1000 curves');
  const out = curves.map((c, i) => checkPublishedCurve(c, { where: `${file} curves[${i}]`, source: json.source, url: typeof json.url === 'string' ? json.url : undefined, date: typeof json.date === 'string' ? json.date : undefined }));
  const ids = new Set<string>();
  out.forEach((c, i) => {
    if (ids.has(c.id)) throw new InputError(`${file} curves[${i}].id`, c.id, 'an id no other curve of the file has');
    ids.add(c.id);
  });
  return out;
}

/**
 * A published concurrency curve written as JSON (the file's shape: `parallelism: { tp }`,
 * not the checked curve's `tp`), checked as the files are: its model and hardware catalog
 * ids, and a tensor parallelism the model's attention heads split over. `opts.where`
 * prefixes every field named in an error; `opts.source` stands for the file's source.
 *
 * @example
 * checkPublishedCurve(JSON.parse(text), { where: 'my-curve', source: 'my benchmark run' }).points.length
 */
export function checkPublishedCurve(raw: unknown, opts: { where?: string; source?: string; url?: string; date?: string } = {}): PublishedCurve {
  const where = opts.where ?? 'curve';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(where, raw, 'a published concurrency curve object');
  const c = raw as Record<string, unknown>;
  for (const f of ['id', 'label', 'model', 'hardware']) {
    if (typeof c[f] !== 'string' || (c[f] as string) === '') throw new InputError(`${where}.${f}`, c[f], 'a non-empty string');
  }
  const source = typeof c.source === 'string' && c.source !== '' ? c.source : opts.source;
  if (typeof source !== 'string' || source === '') throw new InputError(`${where}.source`, c.source, 'a non-empty string naming where the curve was published');
  const engine = checkOneOf(`${where}.engine`, c.engine, SERVING_ENGINES);
  const par = c.parallelism as Record<string, unknown> | undefined;
  if (typeof par !== 'object' || par === null) throw new InputError(`${where}.parallelism`, par, 'an object { tp }');
  const tp = checkInt(`${where}.parallelism.tp`, par.tp, { min: 1, max: 64 });
  // The catalog entries the curve is predicted on, and the performance model's own layout check
  // (a split of whole heads), checked here by the curve's fields rather than at prediction.
  const model = asField(`${where}.model`, c.model, () => loadModel(c.model as string));
  const hw = asField(`${where}.hardware`, c.hardware, () => loadHardware(c.hardware as string));
  asField(`${where}.parallelism.tp`, tp, () => memoryFit(model, hw, { parallelism: { tp } }, { batch: 0, context: 0 }), 'parallelism.tp');
  const prec = c.precision ?? {};
  if (typeof prec !== 'object' || prec === null) throw new InputError(`${where}.precision`, prec, 'an object of dtypes per tensor class');
  const precision: Partial<Precision> = {};
  for (const [k, v] of Object.entries(prec)) {
    const key = checkOneOf(`${where}.precision key`, k, PRECISION_KEYS);
    precision[key] = checkOneOf(`${where}.precision.${k}`, v, DTYPES);
  }
  const promptTokens = checkInt(`${where}.promptTokens`, c.promptTokens, { min: 1, max: 1 << 20 });
  const outputTokens = checkInt(`${where}.outputTokens`, c.outputTokens, { min: 2, max: 1 << 20 });
  const pts = c.points;
  if (!Array.isArray(pts) || pts.length < 2 || pts.length > 100) throw new InputError(`${where}.points`, pts, 'an array of 2 to 100 points { concurrency, ttftMs, itlMs, outputTokensPerSecond }');
  let last = 0;
  const points = pts.map((p, j): PublishedCurvePoint => {
    const w = `${where}.points[${j}]`;
    if (typeof p !== 'object' || p === null) throw new InputError(w, p, 'a point { concurrency, ttftMs, itlMs, outputTokensPerSecond }');
    const q = p as Record<string, unknown>;
    const concurrency = checkInt(`${w}.concurrency`, q.concurrency, { min: last + 1, max: 100_000 });
    last = concurrency;
    return {
      concurrency,
      ttftMs: checkNumber(`${w}.ttftMs`, q.ttftMs, { min: 0, exclusiveMin: true, max: 1e9 }),
      itlMs: checkNumber(`${w}.itlMs`, q.itlMs, { min: 0, exclusiveMin: true, max: 1e6 }),
      outputTokensPerSecond: checkNumber(`${w}.outputTokensPerSecond`, q.outputTokensPerSecond, { min: 0, exclusiveMin: true, max: 1e9 }),
    };
  });
  const out: PublishedCurve = { id: c.id as string, label: c.label as string, model: c.model as string, hardware: c.hardware as string, engine, tp, precision, promptTokens, outputTokens, points, source };
  for (const f of ['engineVersion', 'stated', 'assumptions'] as const) if (typeof c[f] === 'string') out[f] = c[f] as string;
  if (c.unsourcedEngineSettings !== undefined) out.unsourcedEngineSettings = checkSettingNames(`${where}.unsourcedEngineSettings`, c.unsourcedEngineSettings);
  // A curve may cite its own document (a figure quoted elsewhere) instead of the file's.
  if (typeof c.url === 'string' && c.url !== '') out.url = c.url;
  else if (opts.url && c.source === undefined) out.url = opts.url;
  if (opts.date) out.date = opts.date;
  return out;
}

/** A list of 1 to 32 distinct engine-setting names, each a non-empty string of at most 200 characters. */
function checkSettingNames(field: string, raw: unknown): string[] {
  const seen = new Set<string>();
  return checkArray<unknown>(field, raw, 32).map((v, i) => {
    if (typeof v !== 'string' || v.trim() === '' || v.length > 200) throw new InputError(`${field}[${i}]`, v, 'a non-empty setting name of at most 200 characters');
    if (seen.has(v)) throw new InputError(`${field}[${i}]`, v, 'a setting the list does not already name');
    seen.add(v);
    return v;
  });
}

/** One target of a curve: published and predicted, the error and whether it is met. */
export interface CurveTarget {
  published: number;
  predicted: number;
  /** predicted / published − 1 (saturation: the ratio predicted / published). */
  error: number;
  met: boolean;
}

/**
 * The simulated plateau of a curve, explained: at the concurrency of the highest
 * simulated throughput, the mean batch per step, the step model's time for a
 * decode-only step of that batch at the mean context (prompt + output / 2), the KV
 * cache the preset's memory rule leaves and how many requests it holds under the
 * preset's admission, the preset's batch limit, and which of KV capacity, batch limit
 * or clients binds: the tightest of the three when the mean batch reaches 80 % of it
 * (the mean counts warm-up and drain steps), else 'step time'. Beside it, the batch
 * the published plateau implies (throughput × ITL) and whether weights plus its KV
 * cache fit the devices at the curve's stated or assumed precision (memoryFit).
 */
export interface CurvePlateau {
  /** The concurrency of the simulated plateau: the client count of the highest simulated throughput (the fields to `limit` are its). */
  concurrency: number;
  /** Simulated mean sequences per step over the run at that concurrency. */
  meanBatch: number;
  /** Decode-only step of round(meanBatch) sequences at the mean context, ms (the step model's, a model figure). */
  decodeStepMs: number;
  /** The memory fraction of the device the KV cache was sized at (engineMemoryFraction of the preset's rule). */
  memoryFraction: number;
  kvCapacityTokens: number;
  /** Requests the KV cache holds at once: prompt + output each (reserve admission) or prompt + output / 2 on average (paged). */
  kvBoundBatch: number;
  /** The preset's maxBatch (max_num_seqs, max_running_requests, max_batch_size). */
  maxBatch: number;
  limit: 'KV capacity' | 'batch limit' | 'clients' | 'step time';
  /** The decoding batch the published plateau implies: its throughput × its ITL (Little's law), at `publishedConcurrency`. */
  publishedBatch: number;
  /** The concurrency of the published plateau (the highest published throughput), which need not be the simulated one's. */
  publishedConcurrency: number;
  /** memoryFit of that batch at the mean context and the curve's KV precision, on the whole device memory: can any engine hold it? */
  publishedBatchFit: { fits: boolean; totalBytes: number; capacityBytes: number; message: string };
}

/** A published curve beside the simulator's prediction of it. */
export interface PublishedCurveComparison {
  id: string;
  label: string;
  /** The step model that priced the simulation: kernel tables of a framework, or the calibrated model. */
  stepModel: string;
  /** 'kernel-tables' when the kernel database held the device and framework, else 'calibrated'. */
  stepModelKind: 'kernel-tables' | 'calibrated';
  scheduler: string;
  points: Array<{
    concurrency: number;
    published: PublishedCurvePoint;
    /** Simulated (vllm bench serve definitions: mean TTFT, mean TPOT, output throughput). */
    predicted: PublishedCurvePoint;
    /**
     * How the simulated clients' prompts group at this concurrency: requests admitted
     * per admission step, and measured requests per distinct send instant (above 1: the
     * clients resend in lockstep, and each group's prompts wait for one another's prefill).
     */
    grouping: { meanAdmitted: number; requestsPerSendInstant: number };
  }>;
  /** Kleinrock's N* = X_max · R(1), from the published points and from the simulated curve; target within 2×. */
  saturation: CurveTarget;
  /** ITL at the curve's lowest concurrency (1 when published); target ±25 %. */
  itlAtOne: CurveTarget;
  /** Highest output throughput over the curve's points; target ±25 %. */
  plateauThroughput: CurveTarget;
  /** TTFT at the points below the published saturation, the one of largest |error|; target ±50 %. Null when no point lies below. */
  ttftBelowSaturation: (CurveTarget & { concurrency: number; points: number }) | null;
  /** What holds the simulated plateau down: the batch it reaches, its step time and the limit it meets. */
  plateau: CurvePlateau;
  source: string;
  assumptions?: string;
  /** The curve's engine settings that no source read states (the simulation takes the preset's). */
  unsourcedEngineSettings?: string[];
}

/**
 * Kleinrock's saturation number of a published curve: N* = X_max · R(1), with X_max the
 * highest throughput in requests/s (output tokens/s ÷ output tokens) and R(1) the
 * response time of one request at the lowest concurrency (TTFT + (output − 1) · ITL).
 * The same law the simulated sweep's `saturationClients` applies.
 *
 * @example
 * publishedSaturation(readPublishedCurves('nvidia-nim-llm-benchmarking-curves')[0]) // => about 17.8
 */
export function publishedSaturation(curve: Pick<PublishedCurve, 'points' | 'outputTokens'>): number {
  const p0 = curve.points[0];
  const xMax = Math.max(...curve.points.map((p) => p.outputTokensPerSecond)) / curve.outputTokens;
  const r1 = (p0.ttftMs + (curve.outputTokens - 1) * p0.itlMs) / 1000;
  // At a lowest concurrency above 1 the response-time law gives R(1) back as N / X, an upper bound.
  const cycle = p0.concurrency === 1 ? r1 : p0.concurrency / (p0.outputTokensPerSecond / curve.outputTokens);
  return xMax * cycle;
}

function target(published: number, predicted: number, tol: number): CurveTarget {
  const error = predicted / published - 1;
  return { published, predicted, error, met: Math.abs(error) <= tol };
}

/**
 * The step cost of a curve's deployment: kernel tables of the engine's framework where
 * the kernel database holds the device, else the calibrated model; the KV capacity is
 * what the preset's memory rule leaves beside the weights (engineMemoryFraction: vLLM's
 * gpu_memory_utilization, SGLang's mem_fraction_static, TensorRT-LLM's
 * free_gpu_memory_fraction of the memory the weights leave).
 */
function curveReplica(curve: PublishedCurve): { label: string; kind: 'kernel-tables' | 'calibrated'; stepCost: ServingStepCost; kvCapacityTokens: number; memoryFraction: number; preset: ServingEnginePreset } {
  const model = loadModel(curve.model);
  const hw = loadHardware(curve.hardware);
  const base: PerfConfig = { parallelism: { tp: curve.tp }, precision: curve.precision };
  let kind: 'kernel-tables' | 'calibrated' = 'kernel-tables';
  let fn: ServingStepCost;
  try {
    fn = perfStepCost(model, hw, { ...base, framework: curve.engine }) as ServingStepCost;
  } catch (e) {
    if (!(e instanceof InputError) || e.field !== 'framework') throw e;
    kind = 'calibrated';
    fn = perfStepCost(model, hw, { ...base, framework: null }) as ServingStepCost;
  }
  const how = kind === 'kernel-tables' ? `kernel tables of ${curve.engine} for ${hw.id} (shipped data/kernels), calibrated model where a table holds no op` : `calibrated model (no ${curve.engine} kernel table for ${hw.id})`;
  const label = `${model.id} on ${curve.tp}× ${hw.id} tp ${curve.tp}: ${how}`;
  fn.label = label;
  const preset = servingEnginePreset(curve.engine, engineDevice(hw, curve.tp));
  const memoryFraction = presetMemoryFraction(preset, model, hw, base);
  const kvCapacityTokens = kvCacheCapacity(model, hw, { ...base, memoryFraction }).tokens;
  if (!(kvCapacityTokens >= curve.promptTokens + curve.outputTokens)) throw new InputError(`${curve.id} parallelism.tp`, curve.tp, `enough devices to hold ${model.id}'s weights and one request's KV cache`);
  return { label, kind, stepCost: fn, kvCapacityTokens, memoryFraction, preset };
}

/**
 * Predicts a published concurrency curve with the simulator: the curve's engine preset
 * (sized by its device), its catalog model and hardware at its precision and TP, its
 * prompt and output lengths, a closed loop at each of its concurrencies
 * (servingConcurrencySweep, the first request of each client left out as warm-up), and
 * a step model of kernel tables where the database holds the device and framework, else
 * the calibrated model (`stepModel` says which). Returns predicted against published per
 * point and the four targets: saturation within 2×, ITL at concurrency 1 and plateau
 * throughput within ±25 %, TTFT below the published saturation within ±50 %. Nothing is
 * fitted to the published points. Bit-identical for a seed.
 *
 * Each point also says how the simulated clients group (`grouping`): with fixed lengths
 * and no think time, the clients whose prompts share a first-wave step share every later
 * step, finish together and resend together, so each group's prompts are prefilled in
 * one step and TTFT is that whole step. genai-perf, the NIM curves' tool, does nothing
 * to break such groups: perf_analyzer's concurrency workers send every free slot's
 * request at once (triton-inference-server/perf_analyzer @ 263c5f6e,
 * src/concurrency_worker.cc:165-171), prompt lengths are drawn with the stated stddev
 * (0 in NIM's sweeps; genai_perf/inputs/retrievers/synthetic_prompt_generator.py:64-66),
 * and the first wave is measured too: no warm-up by default (genai_perf/config/input/
 * config_defaults.py:86), requests counted by their end inside the measurement windows
 * from the start of the run (src/inference_profiler.cc:1357, :1423;
 * src/profile_data_collector.cc:79). `warmupRequestsPerClient: 0` counts that first
 * wave as genai-perf does; the default (1) leaves it out as `vllm bench serve
 * --num-warmups` does, since the NIM tables state neither their measurement windows nor
 * a warm-up. The NIM page names its benchmark process only by pointing to its 'Using
 * AIPerf to Benchmark' guide; the commands of that guide's version beside the tables
 * (1.0.0) were not read, and a condensed copy of its later version
 * (docs.nvidia.com/nim/benchmarking/llm/latest/quickstart.html) runs one warm-up load
 * first, then each concurrency with `--request-count` 3 × concurrency and no warm-up
 * option, at concurrencies (1, 2, 5, 10, 50, 100, 250) other than the tables', so it does
 * not say how the tables were measured and the defaults stay; `{ requestsPerClient: 3,
 * warmupRequestsPerClient: 0 }` counts requests as that guide does. The comparison
 * carries the curve's `unsourcedEngineSettings`: what the preset supplies because no
 * source states it.
 *
 * @example
 * const c = predictPublishedCurve(readPublishedCurves('nvidia-nim-llm-benchmarking-curves')[0], { seed: 1 });
 * c.saturation.met; c.plateauThroughput.error; c.stepModel; c.points[2].grouping.requestsPerSendInstant
 */
export function predictPublishedCurve(curve: PublishedCurve, opts: { seed?: number; requestsPerClient?: number; warmupRequestsPerClient?: number } = {}): PublishedCurveComparison {
  if (!curve || typeof curve !== 'object' || !Array.isArray(curve.points)) throw new InputError('curve', curve, 'a PublishedCurve from readPublishedCurves or checkPublishedCurve');
  const seed = checkInt('seed', opts.seed ?? 1, { min: 0, max: 2 ** 31 });
  const perClient = checkInt('requestsPerClient', opts.requestsPerClient ?? 4, { min: 2, max: 1000 });
  const warmPerClient = checkInt('warmupRequestsPerClient', opts.warmupRequestsPerClient ?? 1, { min: 0, max: perClient - 1 });
  const r = curveReplica(curve);
  const preset = r.preset;
  const workload = { promptTokens: { kind: 'fixed' as const, tokens: curve.promptTokens }, outputTokens: { kind: 'fixed' as const, tokens: curve.outputTokens } };
  const sweep = servingConcurrencySweep(r, workload, preset, curve.points.map((p) => p.concurrency), seed, { requestsPerClient: perClient, warmupRequestsPerClient: warmPerClient });
  const rows = sweep.table.objects() as Array<{ clients: number; meanTtftMs: number; meanTpotMs: number | null; outputThroughput: number; meanBatch: number; meanAdmitted: number; requestsPerSendInstant: number }>;
  const points = curve.points.map((p, i) => ({
    concurrency: p.concurrency,
    published: p,
    predicted: { concurrency: p.concurrency, ttftMs: rows[i].meanTtftMs, itlMs: rows[i].meanTpotMs ?? NaN, outputTokensPerSecond: rows[i].outputThroughput },
    grouping: { meanAdmitted: rows[i].meanAdmitted, requestsPerSendInstant: rows[i].requestsPerSendInstant },
  }));
  const nPub = publishedSaturation(curve);
  const sat: CurveTarget = { published: nPub, predicted: sweep.saturationClients, error: sweep.saturationClients / nPub, met: sweep.saturationClients / nPub <= 2 && sweep.saturationClients / nPub >= 0.5 };
  const below = points.filter((p) => p.concurrency < nPub);
  let ttft: PublishedCurveComparison['ttftBelowSaturation'] = null;
  for (const p of below) {
    const t = target(p.published.ttftMs, p.predicted.ttftMs, 0.5);
    if (!ttft || Math.abs(t.error) > Math.abs(ttft.error)) ttft = { ...t, concurrency: p.concurrency, points: below.length };
  }
  if (ttft) ttft.met = below.every((p) => Math.abs(p.predicted.ttftMs / p.published.ttftMs - 1) <= 0.5);
  const top = rows.reduce((a, b) => (b.outputThroughput > a.outputThroughput ? b : a));
  const b = Math.max(1, Math.round(top.meanBatch));
  const context = curve.promptTokens + curve.outputTokens / 2;
  const decodeStepMs = 1000 * r.stepCost({ prefillTokens: 0, decodeTokens: b, contextTokens: b * context, prefillSequences: 0, prefillAttentionPairs: 0 });
  const kvBoundBatch = Math.floor(r.kvCapacityTokens / (preset.kvAdmission === 'reserve' ? curve.promptTokens + curve.outputTokens : context));
  const bound = Math.min(kvBoundBatch, preset.policy.maxBatch, top.clients);
  const pubTop = curve.points.reduce((a, p) => (p.outputTokensPerSecond > a.outputTokensPerSecond ? p : a));
  const publishedBatch = (pubTop.outputTokensPerSecond * pubTop.itlMs) / 1000;
  const fit = memoryFit(loadModel(curve.model), loadHardware(curve.hardware), { parallelism: { tp: curve.tp }, precision: curve.precision, memoryFraction: 1 }, { batch: Math.round(publishedBatch), context: Math.round(context), tokens: 0 });
  const plateau: CurvePlateau = {
    concurrency: top.clients,
    meanBatch: top.meanBatch,
    decodeStepMs,
    memoryFraction: r.memoryFraction,
    kvCapacityTokens: r.kvCapacityTokens,
    kvBoundBatch,
    maxBatch: preset.policy.maxBatch,
    // The tightest of the three bounds, when the mean batch (warm-up and drain included) reaches 80 % of it.
    limit: top.meanBatch < 0.8 * bound ? 'step time' : bound === kvBoundBatch ? 'KV capacity' : bound === preset.policy.maxBatch ? 'batch limit' : 'clients',
    publishedBatch,
    publishedConcurrency: pubTop.concurrency,
    publishedBatchFit: { fits: fit.fits, totalBytes: fit.totalBytes, capacityBytes: fit.capacityBytes, message: fit.message },
  };
  return {
    id: curve.id,
    label: curve.label,
    stepModel: r.label,
    stepModelKind: r.kind,
    scheduler: `${preset.version}: policy ${JSON.stringify(preset.policy)}, KV admission ${preset.kvAdmission}`,
    points,
    saturation: sat,
    itlAtOne: target(points[0].published.itlMs, points[0].predicted.itlMs, 0.25),
    plateauThroughput: target(Math.max(...points.map((p) => p.published.outputTokensPerSecond)), Math.max(...points.map((p) => p.predicted.outputTokensPerSecond)), 0.25),
    ttftBelowSaturation: ttft,
    plateau,
    source: curve.url ? `${curve.source} (${curve.url})` : curve.source,
    ...(curve.assumptions ? { assumptions: curve.assumptions } : {}),
    ...(curve.unsourcedEngineSettings ? { unsourcedEngineSettings: [...curve.unsourcedEngineSettings] } : {}),
  };
}

/** One row of `publishedCurveTargets`: a target of a curve, published against predicted. */
export interface CurveTargetRow {
  curve: string;
  target: string;
  /** The allowed error, as the issue states it. */
  tolerance: string;
  published: number;
  predicted: number;
  unit: string;
  /** predicted / published − 1 (saturation: the ratio). */
  error: number;
  met: boolean;
  stepModel: string;
}

/**
 * The four targets of each compared curve as rows (saturation concurrency within 2×,
 * ITL at concurrency 1 and plateau throughput within ±25 %, TTFT below saturation
 * within ±50 %, its worst point), for a table or a benchmark printout.
 *
 * @example
 * publishedCurveTargets(readPublishedCurves('nvidia-nim-llm-benchmarking-curves').map((c) => predictPublishedCurve(c))).filter((r) => !r.met)
 */
export function publishedCurveTargets(comparisons: PublishedCurveComparison[]): CurveTargetRow[] {
  if (!Array.isArray(comparisons)) throw new InputError('comparisons', comparisons, 'an array of PublishedCurveComparison');
  return comparisons.flatMap((c) => {
    const step = c.stepModelKind === 'kernel-tables' ? 'kernel tables' : 'calibrated model';
    const row = (target: string, tolerance: string, t: CurveTarget, unit: string): CurveTargetRow => ({ curve: c.id, target, tolerance, published: t.published, predicted: t.predicted, unit, error: t.error, met: t.met, stepModel: step });
    const rows = [
      row('saturation concurrency N*', 'within 2×', c.saturation, 'clients (bound: asymptote crossing)'),
      row(`ITL at concurrency ${c.points[0].concurrency}`, '±25 %', c.itlAtOne, 'ms'),
      row('plateau output throughput', '±25 %', c.plateauThroughput, 'output tokens/s'),
    ];
    if (c.ttftBelowSaturation) rows.push(row(`TTFT below saturation (worst of ${c.ttftBelowSaturation.points}, at ${c.ttftBelowSaturation.concurrency})`, '±50 %', c.ttftBelowSaturation, 'ms'));
    return rows;
  });
}
