import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { batchlabDataDir } from '../util/package-root.js';
import { loadHardware } from '../hardware/spec.js';
import { loadModel } from '../models/spec.js';
import type { Parallelism, Precision, StepTime } from './deployment.js';
import { stepTime } from './deployment.js';

/**
 * A throughput a real serving system published, with the deployment that reached it
 * (data/published/*.json). The work of one step follows from the setup: a prefill step
 * holds `tokensPerDevice` prompt tokens per GPU in prompts of `promptTokens`; a decode
 * step holds `sequencesPerDevice` sequences per GPU, each with `contextTokens` cached.
 */
export interface PublishedCase {
  id: string;
  label: string;
  model: string;
  hardware: string;
  phase: 'prefill' | 'decode';
  /** GPUs of one instance (tp · dp). */
  devices: number;
  devicesPerNode: number;
  parallelism: Parallelism;
  precision: Partial<Precision>;
  promptTokens?: number;
  tokensPerDevice?: number;
  sequencesPerDevice?: number;
  contextTokens?: number;
  /**
   * Decode: tokens each sequence processes per step (2 with one speculative
   * multi-token-prediction draft) and output tokens it gains on average (1 + acceptance).
   */
  tokensPerSequenceStep?: number;
  outputTokensPerStep?: number;
  /** Prefill: share of the published input tokens actually computed (1 − prefix-cache hit rate). */
  computedFraction?: number;
  published: { value: number; unit: string };
  /** Where the number comes from: the file's document, its URL and date. */
  source: string;
  url?: string;
  date?: string;
  assumptions?: string;
}

/** A published case beside batchlab's prediction. */
export interface PublishedComparison {
  id: string;
  label: string;
  unit: string;
  published: number;
  predicted: number;
  /** predicted / published − 1. */
  error: number;
  step: StepTime;
  source: string;
}

function checkCase(raw: unknown, where: string, file: { source: string; url?: string; date?: string }): PublishedCase {
  if (typeof raw !== 'object' || raw === null) throw new InputError(where, raw, 'a published case object');
  const c = raw as Record<string, unknown>;
  for (const f of ['id', 'label', 'model', 'hardware']) {
    if (typeof c[f] !== 'string' || (c[f] as string) === '') throw new InputError(`${where}.${f}`, c[f], 'a non-empty string');
  }
  const phase = checkOneOf(`${where}.phase`, c.phase, ['prefill', 'decode'] as const);
  const devices = checkInt(`${where}.devices`, c.devices, { min: 1, max: 1 << 16 });
  const pub = c.published as Record<string, unknown> | undefined;
  if (typeof pub !== 'object' || pub === null) throw new InputError(`${where}.published`, pub, 'an object { value, unit }');
  const value = checkNumber(`${where}.published.value`, pub.value, { min: 0, exclusiveMin: true });
  if (typeof pub.unit !== 'string') throw new InputError(`${where}.published.unit`, pub.unit, 'a string');
  const precision = (c.precision ?? {}) as Partial<Precision>;
  for (const [k, v] of Object.entries(precision)) checkOneOf(`${where}.precision.${k}`, v, DTYPES);
  const out: PublishedCase = {
    id: c.id as string,
    label: c.label as string,
    model: c.model as string,
    hardware: c.hardware as string,
    phase,
    devices,
    devicesPerNode: checkInt(`${where}.devicesPerNode`, c.devicesPerNode ?? 8, { min: 1, max: 1024 }),
    parallelism: (c.parallelism ?? {}) as Parallelism,
    precision,
    published: { value, unit: pub.unit },
    source: file.source,
    url: file.url,
    date: file.date,
  };
  if (typeof c.assumptions === 'string') out.assumptions = c.assumptions;
  if (phase === 'prefill') {
    out.promptTokens = checkInt(`${where}.promptTokens`, c.promptTokens, { min: 1, max: 1 << 20 });
    out.tokensPerDevice = checkInt(`${where}.tokensPerDevice`, c.tokensPerDevice, { min: 1, max: 1 << 20 });
    out.computedFraction = checkNumber(`${where}.computedFraction`, c.computedFraction ?? 1, { min: 0, exclusiveMin: true, max: 1 });
  } else {
    out.sequencesPerDevice = checkInt(`${where}.sequencesPerDevice`, c.sequencesPerDevice, { min: 1, max: 1 << 16 });
    out.contextTokens = checkInt(`${where}.contextTokens`, c.contextTokens, { min: 0, max: 1 << 20 });
    out.tokensPerSequenceStep = checkInt(`${where}.tokensPerSequenceStep`, c.tokensPerSequenceStep ?? 1, { min: 1, max: 16 });
    out.outputTokensPerStep = checkNumber(`${where}.outputTokensPerStep`, c.outputTokensPerStep ?? 1, { min: 0, exclusiveMin: true, max: 16 });
  }
  return out;
}

/**
 * Every published case under data/published/ (files with a `cases` array), in file
 * and case order; a malformed one is an InputError naming its file and field.
 *
 * @example
 * publishedCases().map((c) => c.id) // => ['deepseek-…', 'lmsys-prefill-1k', …]
 */
export function publishedCases(): PublishedCase[] {
  const dir = batchlabDataDir('published');
  const out: PublishedCase[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(`data/published/${name}`, name, 'valid JSON', (err as Error).message);
    }
    if (!Array.isArray(json.cases)) continue;
    if (typeof json.source !== 'string' || json.source === '') throw new InputError(`data/published/${name} source`, json.source, 'a non-empty string');
    const file = { source: json.source, url: json.url as string | undefined, date: json.date as string | undefined };
    json.cases.forEach((c, i) => out.push(checkCase(c, `data/published/${name} cases[${i}]`, file)));
  }
  return out;
}

/**
 * batchlab's prediction of a published case: the step of its deployment priced by
 * `stepTime` with the hardware's calibration (no constant depends on the case), turned
 * into the case's unit — tokens per second per node, at the steady-state interval
 * between steps.
 *
 * @example
 * const c = publishedCases().find((x) => x.id === 'lmsys-decode-2k')!;
 * predictPublishedCase(c).error // => predicted / published − 1
 */
export function predictPublishedCase(c: PublishedCase): PublishedComparison {
  const model = loadModel(c.model);
  const hw = loadHardware(c.hardware);
  const parallelism: Parallelism = { devicesPerNode: c.devicesPerNode, ...c.parallelism };
  const config = { parallelism, precision: c.precision };
  const nodes = c.devices / c.devicesPerNode;
  let predicted: number;
  let step: StepTime;
  if (c.phase === 'prefill') {
    const P = (c.tokensPerDevice as number) * c.devices;
    const sequences = Math.max(1, Math.round(P / (c.promptTokens as number)));
    step = stepTime(model, hw, config, { prefillTokens: P, decodeTokens: 0, contextTokens: 0, prefillSequences: sequences });
    predicted = P / step.intervalSeconds / nodes / (c.computedFraction as number);
  } else {
    const seqs = (c.sequencesPerDevice as number) * c.devices;
    const perSeq = c.tokensPerSequenceStep as number;
    step = stepTime(model, hw, config, { prefillTokens: 0, decodeTokens: seqs * perSeq, contextTokens: seqs * perSeq * (c.contextTokens as number) });
    predicted = (seqs * (c.outputTokensPerStep as number)) / step.intervalSeconds / nodes;
  }
  return {
    id: c.id,
    label: c.label,
    unit: c.published.unit,
    published: c.published.value,
    predicted,
    error: predicted / c.published.value - 1,
    step,
    source: c.source,
  };
}

/**
 * Every published case (data/published/) beside batchlab's prediction.
 *
 * @example
 * publishedComparisons().map((c) => Math.round(c.error * 100)) // => percent errors, case by case
 */
export function publishedComparisons(): PublishedComparison[] {
  return publishedCases().map(predictPublishedCase);
}

/**
 * Published cases beside their predictions, as rows for a table: published,
 * predicted, the error in percent and what bounds the predicted step.
 *
 * @example
 * showTable(publishedComparisonTable(publishedComparisons()))
 */
export function publishedComparisonTable(comparisons: readonly PublishedComparison[] = publishedComparisons()): Array<Record<string, string | number>> {
  return comparisons.map((p) => ({
    case: p.label,
    unit: p.unit,
    published: Math.round(p.published),
    predicted: Math.round(p.predicted),
    'error %': Math.round(p.error * 1000) / 10,
    'bound by': p.step.bound,
    source: p.source,
  }));
}

/**
 * One sentence on how the predictions fare: how many cases lie within `tolerance`
 * (default 25 %), and the largest miss.
 *
 * @example
 * publishedComparisonSummary(publishedComparisons()) // => "4 of 6 published cases are predicted within ±25 %; ..."
 */
export function publishedComparisonSummary(comparisons: readonly PublishedComparison[], tolerance = 0.25): string {
  checkNumber('tolerance', tolerance, { min: 0, exclusiveMin: true, max: 10 });
  if (comparisons.length === 0) throw new InputError('comparisons', comparisons, 'at least one comparison');
  const within = comparisons.filter((c) => Math.abs(c.error) <= tolerance);
  const worst = comparisons.reduce((a, b) => (Math.abs(b.error) > Math.abs(a.error) ? b : a));
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)} %`;
  return (
    `${within.length} of ${comparisons.length} published cases are predicted within ±${(tolerance * 100).toFixed(0)} %; ` +
    `the largest miss is ${worst.label} at ${pct(worst.error)} (predicted ${Math.round(worst.predicted).toLocaleString('en-US')} against ${Math.round(worst.published).toLocaleString('en-US')} ${worst.unit}).`
  );
}
