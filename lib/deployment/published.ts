import type { Dtype } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkPositive } from '../util/validate.js';
import { readPublishedFile } from '../roofline/published.js';
import type { Provenance } from '../util/provenance.js';
import type { DeploymentPrecision, PoolLayout } from './types.js';

/** The figures of DeepSeek's published day, each with its source. */
export interface PublishedDay {
  id: string;
  title: string;
  model: string;
  hardware: string;
  source: string;
  figures: {
    gpusPerNode: number;
    peakNodes: number;
    averageNodes: number;
    pricePerGpuHourUsd: number;
    dailyCostUsd: number;
    inputTokens: number;
    cachedInputTokens: number;
    cacheHitFraction: number;
    outputTokens: number;
    outputTokensPerUserLow: number;
    outputTokensPerUserHigh: number;
    prefillTokensPerNodePerSecond: number;
    decodeTokensPerNodePerSecond: number;
    revenueUsd: number;
    margin: number;
    priceCachedInputPerMillionUsd: number;
    priceInputPerMillionUsd: number;
    priceOutputPerMillionUsd: number;
  };
  prefill: PoolLayout;
  decode: PoolLayout;
  precision: DeploymentPrecision;
  workload: { prefillPromptTokens: number; prefillTokensPerGpu: number; decodeContextTokens: number; decodeSequencesPerGpu: number; mtpAcceptance: number };
  /** The shape of the prompts priced in prefill: a data/traces prompt mix (loadPromptMix), when the file names one. */
  prefillPromptMix?: string;
  sources: Record<string, Provenance>;
}

type Sourced = { value: number; source: string };

/** The file of data/published/ that holds DeepSeek's published facts. */
const DEEPSEEK_FILE = 'deepseek-2025-inference-system';

function num(sources: Record<string, Provenance>, key: string, raw: unknown): number {
  if (typeof raw !== 'object' || raw === null) throw new InputError(key, raw, 'an object { value, source }');
  const r = raw as Partial<Sourced>;
  if (typeof r.source !== 'string' || r.source === '') throw new InputError(`${key}.source`, r.source, 'a non-empty string');
  sources[key] = { source: r.source };
  return checkPositive(`${key}.value`, r.value);
}

/** A pool as the `day` section of data/published/deepseek-2025-inference-system.json writes it. */
interface RawPool {
  nodesPerUnit: number;
  expertParallel: number;
  dataParallelAttention: number;
  tensorParallel: number;
  redundantExperts: number;
  routedExpertsPerGpu: number;
  source: string;
}

/** The file's shape; its numbers are checked as they are read. */
interface RawDay {
  id: string;
  title: string;
  model: string;
  hardware: string;
  source: string;
  figures: Record<string, unknown>;
  workload: Record<string, unknown>;
  layout: { prefill: RawPool; decode: RawPool; precision: Record<string, Dtype> & { source: string }; microBatchOverlap: { value: boolean; source: string } };
}

function pool(j: RawPool, overlap: boolean, gpusPerNode: number): PoolLayout {
  return {
    gpusPerNode,
    tensorParallel: j.tensorParallel,
    dataParallelAttention: j.dataParallelAttention,
    pipelineParallel: 1,
    expertParallel: j.expertParallel,
    redundantExperts: j.redundantExperts,
    routedExpertsPerDevice: j.routedExpertsPerGpu,
    microBatchOverlap: overlap,
  };
}

/**
 * DeepSeek-V3/R1's published day of serving (Feb 2025: 226.75 average H800 nodes,
 * 608 B input and 168 B output tokens, $87,072 at $2 per GPU-hour, 545 % margin at R1
 * prices), its prefill and decode layouts, and the profiling workload DeepSeek
 * published with them, from the `day` section of
 * data/published/deepseek-2025-inference-system.json (the one home of DeepSeek's facts,
 * read through `readPublishedFile`).
 *
 * @example
 * deepseekPublishedDay().figures.averageNodes // => 226.75
 */
export function deepseekPublishedDay(): PublishedDay {
  const j = readPublishedFile(DEEPSEEK_FILE).day as RawDay;
  if (typeof j !== 'object' || j === null) throw new InputError(`data/published/${DEEPSEEK_FILE}.json day`, j, "an object with DeepSeek's published day");
  const sources: Record<string, Provenance> = {};
  const figures = Object.fromEntries(Object.entries(j.figures).map(([k, v]) => [k, num(sources, `figures.${k}`, v)])) as PublishedDay['figures'];
  const { prefillPromptMix: mixRaw, ...numbers } = j.workload;
  const workload = Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, num(sources, `workload.${k}`, v)])) as PublishedDay['workload'];
  let prefillPromptMix: string | undefined;
  if (mixRaw !== undefined) {
    const m = mixRaw as Partial<{ value: unknown; source: unknown }>;
    if (typeof m !== 'object' || m === null || typeof m.value !== 'string' || typeof m.source !== 'string' || m.source === '') {
      throw new InputError('workload.prefillPromptMix', mixRaw, 'an object { value: the name of a data/traces prompt mix, source }');
    }
    prefillPromptMix = m.value;
    sources['workload.prefillPromptMix'] = { source: m.source };
  }
  const overlap = j.layout.microBatchOverlap.value === true;
  sources['layout.prefill'] = { source: j.layout.prefill.source };
  sources['layout.decode'] = { source: j.layout.decode.source };
  sources['layout.precision'] = { source: j.layout.precision.source };
  const pr = j.layout.precision;
  return {
    id: j.id,
    title: j.title,
    model: j.model,
    hardware: j.hardware,
    source: j.source,
    figures,
    prefill: pool(j.layout.prefill, overlap, figures.gpusPerNode),
    decode: pool(j.layout.decode, overlap, figures.gpusPerNode),
    precision: { weights: pr.weights, attention: pr.attention, dispatch: pr.dispatch, combine: pr.combine, ...(pr.kvCache === undefined ? {} : { kvCache: pr.kvCache }), ...(pr.compute === undefined ? {} : { compute: pr.compute }) },
    workload,
    ...(prefillPromptMix === undefined ? {} : { prefillPromptMix }),
    sources,
  };
}
