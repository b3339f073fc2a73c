import type { Dtype } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import { resolveHardware } from '../hardware/spec.js';
import { resolveModel } from '../models/spec.js';
import type { SweepDefinition } from '../sweep/run.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkKnownKeys, checkOneOf } from '../util/validate.js';
import { checkPrecision, uniformPrecision } from './layout.js';
import type { SearchLoad, SearchPoint, SearchSpace, Slo } from './search.js';
import { checkSlo, evaluateSearchPoint, searchSpaceSize } from './search.js';
import type { SpeculativeDecoding } from './pool.js';
import type { DeploymentPrecision, PoolLayout } from './types.js';
import { specFramework } from '../batching/replica.js';
import { calibratedStepModel, kernelTableStepModel } from './perf.js';

/**
 * A search as plain JSON (a file every task of a cluster job reads): catalog ids (or
 * paths of a config.json and of hardware files, read relative to the working folder),
 * layouts with defaults (8 GPUs per node, no data-parallel attention, pipeline or
 * expert parallelism, no overlap), precisions as one dtype or per tensor class,
 * batches as a list or `{ "pow2": max }` (1, 2, 4, …, max), the load and the SLO.
 */
export interface SearchSpec {
  model: string;
  hardware: string[];
  layouts: Array<Partial<PoolLayout> & { tensorParallel: number }>;
  precisions: Array<Dtype | DeploymentPrecision>;
  batches: number[] | { pow2: number };
  load: SearchLoad;
  slo?: Slo;
  speculative?: SpeculativeDecoding;
  /**
   * The serving framework whose measured kernel tables (the shipped data/kernels) price
   * every point whose hardware they hold; the rest, and every op no table holds, the
   * performance model at the hardware's efficiencies. null: the performance model alone.
   * Default: the default engine's (DEFAULT_SERVING_ENGINE, vllm), as `batchlab simulate`
   * and `deploy` price by default (see specFramework).
   */
  framework?: string | null;
}

// The fields a search spec may hold; any other (a typo such as "slo": { "tpot": … }) is refused.
const SPEC_FIELDS = ['model', 'hardware', 'layouts', 'precisions', 'batches', 'load', 'slo', 'speculative', 'framework'] as const;
const LAYOUT_FIELDS = ['gpusPerNode', 'tensorParallel', 'dataParallelAttention', 'pipelineParallel', 'expertParallel', 'redundantExperts', 'routedExpertsPerDevice', 'microBatchOverlap'] as const;
const LOAD_FIELDS = ['requestsPerSecond', 'promptTokens', 'outputTokens', 'cacheHitFraction'] as const;
const SLO_FIELDS = ['ttftSeconds', 'tpotSeconds'] as const;
const SPECULATIVE_FIELDS = ['draftTokens', 'acceptance'] as const;

/**
 * Builds the SearchSpace a spec describes; bad fields are InputErrors naming them, and so are unknown ones.
 *
 * @example
 * searchSpaceFromSpec({ model: 'llama-3.1-70b', hardware: ['h100-sxm'], layouts: [{ tensorParallel: 4 }],
 *   precisions: ['bf16'], batches: { pow2: 256 }, load: { requestsPerSecond: 5, promptTokens: 1000, outputTokens: 300 } }).batches.length // => 9
 */
export function searchSpaceFromSpec(spec: SearchSpec): SearchSpace {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new InputError('spec', spec, 'a search spec object');
  checkKnownKeys('spec', spec, SPEC_FIELDS);
  for (const [k, allowed] of [['load', LOAD_FIELDS], ['slo', SLO_FIELDS], ['speculative', SPECULATIVE_FIELDS]] as const) {
    const v = spec[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) checkKnownKeys(k, v, allowed);
  }
  // The SLO is search's, but one spec file serves search and sweep alike: both refuse a bad one.
  if (spec.slo !== undefined) checkSlo(spec.slo);
  if (typeof spec.model !== 'string') throw new InputError('model', spec.model, 'a model catalog id or the path of an HF config.json');
  const model = resolveModel(spec.model, 'model');
  const hardware = checkArray<string>('hardware', spec.hardware, 1000).map((id, i) => resolveHardware(id, `hardware[${i}]`));
  const layouts = checkArray<Partial<PoolLayout>>('layouts', spec.layouts, 10_000).map((l, i) => {
    if (typeof l !== 'object' || l === null) throw new InputError(`layouts[${i}]`, l, 'an object { tensorParallel, ... }');
    checkKnownKeys(`layouts[${i}]`, l, LAYOUT_FIELDS);
    // A count out of every range is the spec's error; one the model rules out (TP3 over 64
    // heads) is a layout the search reports as not searched (resolveLayout).
    const count = (k: 'gpusPerNode' | 'tensorParallel' | 'dataParallelAttention' | 'pipelineParallel' | 'expertParallel', max: number): void => {
      if (l[k] !== undefined || k === 'tensorParallel') checkInt(`layouts[${i}].${k}`, l[k], { min: 1, max });
    };
    count('gpusPerNode', 1024);
    count('tensorParallel', 1024);
    count('dataParallelAttention', 65536);
    count('pipelineParallel', 65536);
    count('expertParallel', 65536);
    if (l.redundantExperts !== undefined) checkInt(`layouts[${i}].redundantExperts`, l.redundantExperts, { min: 0, max: 1 << 24 });
    return {
      gpusPerNode: l.gpusPerNode ?? 8,
      tensorParallel: l.tensorParallel as number,
      dataParallelAttention: l.dataParallelAttention ?? 1,
      pipelineParallel: l.pipelineParallel ?? 1,
      expertParallel: l.expertParallel ?? 1,
      redundantExperts: l.redundantExperts ?? 0,
      ...(l.routedExpertsPerDevice === undefined ? {} : { routedExpertsPerDevice: l.routedExpertsPerDevice }),
      microBatchOverlap: l.microBatchOverlap ?? false,
    };
  });
  const precisions = checkArray<Dtype | DeploymentPrecision>('precisions', spec.precisions, 100).map((p, i) =>
    typeof p === 'string' ? uniformPrecision(checkOneOf(`precisions[${i}]`, p, DTYPES)) : checkPrecision(p),
  );
  let batches: number[];
  if (Array.isArray(spec.batches)) batches = spec.batches;
  else if (typeof spec.batches === 'object' && spec.batches !== null && 'pow2' in spec.batches) {
    const max = checkInt('batches.pow2', spec.batches.pow2, { min: 1, max: 1 << 20 });
    batches = [];
    for (let b = 1; b <= max; b *= 2) batches.push(b);
  } else throw new InputError('batches', spec.batches, 'an ascending list of batch sizes or { "pow2": max }');
  const framework = specFramework(spec);
  const space: SearchSpace = { model, hardware, layouts, precisions, batches, load: spec.load, speculative: spec.speculative, stepModel: framework === null ? calibratedStepModel : kernelTableStepModel({ framework }) };
  searchSpaceSize(space);
  return space;
}

/** A deployment-search sweep's row: a SearchPoint less its pricedBy, which the shard's columns state once. */
export type SearchSweepRow = Omit<SearchPoint, 'pricedBy'>;

/**
 * A search spec as a sweep: point i is `evaluateSearchPoint(space, i)`, so the grid
 * can be sharded over a cluster scheduler and merged back (lib/sweep).
 *
 * @example
 * runSweepShard(searchSweep(spec), parseShard('0/4')).rows[0].usdPerMillionOutput
 */
export function searchSweep(spec: SearchSpec): SweepDefinition<SearchSweepRow> {
  const space = searchSpaceFromSpec(spec);
  const framework = specFramework(spec);
  // The hash is of the spec as priced: a spec that leaves out `framework` and one that names
  // the framework it defaults to run the same points, so their shards merge.
  return { kind: 'deployment-search', spec: { ...spec, framework }, size: searchSpaceSize(space), point: (i) => sweepRow(evaluateSearchPoint(space, i)), columns: searchSweepColumns(framework) };
}

// A row's figures: the performance model's at the row's hardware, calibrated where its catalog
// entry has a calibration, typical where it has none; with a framework, its kernel tables
// price every op they hold on the row's hardware (`batchlab search` says which).
const MODELLED = "the performance model's, calibrated where the row's hardware has a calibration, else typical";
const tablesOf = (framework: string): string => `priced from ${framework}'s measured kernel tables (data/kernels) where they hold the row's hardware and op, else ${MODELLED}`;

/**
 * The `columns` of a deployment-search shard priced by `framework`'s tables (null: the
 * performance model alone): SEARCH_SWEEP_COLUMNS with the modelled figures named.
 *
 * @example
 * searchSweepColumns('vllm').tpotSeconds // => "time per output token at loadBatch, seconds, priced from vllm's measured kernel tables …"
 */
export function searchSweepColumns(framework: string | null): Readonly<Record<string, string>> {
  if (framework === null) return SEARCH_SWEEP_COLUMNS;
  const by = tablesOf(framework);
  return Object.fromEntries(Object.entries(SEARCH_SWEEP_COLUMNS).map(([k, v]) => [k, v.replace(MODELLED, by)]));
}

// A shard row leaves out the point's pricedBy: its columns say what priced every row, and a
// label per row would multiply the size of a shard of a million points.
function sweepRow(p: SearchPoint): SearchSweepRow {
  const { pricedBy: _, ...row } = p;
  return row;
}

/** What each field of a deployment-search row is, with its unit: the shards' and the merge's `columns`. */
export const SEARCH_SWEEP_COLUMNS: Readonly<Record<string, string>> = {
  index: 'the point of the space, 0 … size − 1 (hardware × layouts × precisions × batches, batches fastest)',
  hardware: "the hardware's id: a catalog id, or the id field of a hardware file the spec names",
  layout: "index into the spec's layouts (the spec whose hash is specHash)",
  precision: "index into the spec's precisions",
  batch: 'decode sequences per attention rank',
  feasible: 'priced: it fits in memory and its layout is valid, and the load fills it (or it is the smallest batch)',
  reason: 'why it is not priced (layout, memory or load), else null',
  devicesPerUnit: 'devices of one serving unit (tensor × pipeline × data-parallel attention ranks, and the expert ranks)',
  tokensPerSecondPerUser: `output tokens per second per sequence at loadBatch, ${MODELLED}; 0 where the layout is invalid`,
  tokensPerSecondPerDevice: `output tokens per second per device at loadBatch, ${MODELLED}; 0 where the layout is invalid`,
  tpotSeconds: `time per output token at loadBatch, seconds, ${MODELLED}; null (no step) where the layout is invalid`,
  ttftSeconds: `one prompt's prefill step, seconds, ${MODELLED}; null where not priced`,
  deviceSecondsPerRequest: 'device-seconds one request takes: its prefill share plus its decode share; null where not priced',
  usdPerRequest: 'USD per request on the devices the load needs, idle time included; null where not priced',
  usdPerMillionOutput: 'USD per million output tokens on the devices the load needs, idle time included; null where not priced',
  usdPerMillionOutputFullBatch: 'USD per million output tokens were every slot of batch busy (what `batchlab deploy --batch <batch>` prints); null where not priced',
  devicesNeeded: 'devices the load needs, in whole serving units; null where not priced',
  usdPerHour: "devicesNeeded × the hardware's hourly price, USD per hour; null where not priced",
  concurrency: "sequences the load keeps in flight (Little's law: rate × (TTFT + output × TPOT))",
  slots: 'sequences the needed devices hold at this batch',
  utilisation: 'concurrency / slots',
  underfilled: "the smallest batch, priced though the load fills less than one unit at it: tpotSeconds and tokensPerSecondPerUser are the slowest of batches 1…loadBatch",
  loadBatch: "decode sequences per attention rank the step figures are priced at: batch, or for an underfilled point the fewest per rank that hold the sequences the load keeps in flight (Little's law over the needed devices' ranks, rounded up), priced at the slowest step of batches 1…loadBatch; 0 where the layout is invalid",
};
