import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPES } from '../core/types.js';
import type { StepWork } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { batchlabDataDir } from '../util/package-root.js';
import { loadHardware } from '../hardware/spec.js';
import { loadModel } from '../models/spec.js';
import type { ModelSpec } from '../models/spec.js';
import type { HardwareSpec } from '../hardware/spec.js';
import type { Fp8Scaling, Parallelism, PerfConfig, Precision, StepTime } from './deployment.js';
import { FP8_SCALINGS, maxBatchThatFits, memoryFit, precisionOfClasses, stepTime } from './deployment.js';
import { smallestTrue } from '../perf/bound.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import { uniformRoutingLoadFactor } from './routing.js';
import type { PromptMixScaling, PromptMixStats } from '../attention/prompts.js';
import { loadPromptMix, promptMixStats, scalePromptMix } from '../attention/prompts.js';
import { kvBlocksForTokens } from '../attention/kv.js';
import { median } from '../util/stats.js';
import type { KernelDb } from '../kernels/load.js';
import { compareKernelVersions, defaultKernelDb, KERNEL_RELEASE, newestKernelVersion } from '../kernels/load.js';
import type { KernelFramework } from '../kernels/pricer.js';
import type { ExpertAllToAll } from './kernel-step.js';
import { EXPERT_ALL_TO_ALLS } from './kernel-step.js';
import { KERNEL_FRAMEWORKS, kernelFrameworksOf, kernelTablesOf } from '../kernels/pricer.js';

/**
 * How an offline benchmark's engine admits requests (TensorRT-LLM's capacity scheduler
 * policies): 'guaranteed-no-evict' admits a request only while the KV cache can hold its
 * whole prompt and output; 'max-utilization' admits while the cache holds the tokens its
 * sequences have so far, so in a steady state the cache is full of sequences at their
 * average length in flight.
 */
export type ConcurrencyRule = 'guaranteed-no-evict' | 'max-utilization';
const CONCURRENCY_RULES = ['guaranteed-no-evict', 'max-utilization'] as const;

/**
 * Length moments of a set of requests (`traceLengthMoments`): means over requests of the
 * prompt length P, the output length O, O², P·O and the prefill attention pairs of a
 * whole prompt (`prefillAttentionPairs(P)`).
 */
export interface LengthMoments {
  prompt: number;
  output: number;
  outputSquare: number;
  promptTimesOutput: number;
  prefillAttentionPairs: number;
}

/**
 * A throughput a real serving system published, with the deployment that reached it
 * (data/published/*.json). The work of one step follows from the setup: a prefill step
 * holds `tokensPerDevice` prompt tokens per GPU in prompts of `promptTokens`; a decode
 * step holds `sequencesPerDevice` sequences per GPU, each with `contextTokens` cached;
 * an offline step (a throughput benchmark at a fixed concurrency with continuous
 * batching) holds `sequencesPerDevice` sequences per GPU that each decode one token,
 * plus the prompts of the requests that replace finished ones (on average
 * `sequencesPerDevice / outputTokens` prompts of `promptTokens` per GPU per step), a
 * steady state, or a finite run of `requests` when the case states them; a latency case
 * (a benchmark at a fixed concurrency) holds `users` requests of `promptTokens` in and
 * `outputTokens` out on one instance and publishes a per-request time (`metric`:
 * inter-token latency or time to first token) or its inverse.
 */
export interface PublishedCase {
  id: string;
  label: string;
  model: string;
  hardware: string;
  phase: 'prefill' | 'decode' | 'offline' | 'latency';
  /** GPUs of one instance (tp · dp). */
  devices: number;
  devicesPerNode: number;
  parallelism: Parallelism;
  precision: Partial<Precision>;
  promptTokens?: number;
  tokensPerDevice?: number;
  /** Offline: output tokens of every request (a fixed length, as the benchmark generates them). */
  outputTokens?: number;
  sequencesPerDevice?: number;
  /**
   * Offline, when the publication states no concurrency: how the benchmark's engine admits
   * requests. 'guaranteed-no-evict' (TensorRT-LLM's default capacity scheduler) admits a
   * request only while the KV cache can hold its whole prompt and output, so the batch is
   * the most sequences of `promptTokens + outputTokens` that `kvCacheFraction` of the
   * memory left beside weights and activations holds, at most `maxBatchSize`. Where the
   * run's own log states the tokens its engine's KV cache was given (`kvCacheTokens`, per
   * instance: each tensor-parallel rank holds its heads of every token; in blocks of
   * `kvTokensPerBlock`, default 1), the batch is the most sequences those blocks hold
   * instead: `kvCacheFraction` is then unused and batchlab's memory model is not asked.
   */
  concurrency?: { kind: ConcurrencyRule; kvCacheFraction: number; maxBatchSize: number; kvCacheTokens?: number; kvTokensPerBlock?: number; source: string };
  /**
   * Offline: requests of many lengths, where the source states them (a benchmark's
   * dataset): the moments of a data/traces trace of its per-request lengths (`trace`, as
   * `traceLengthMoments` reads them), its outputs scaled to `meanOutputTokens` (the run's own
   * mean of generated tokens where it states one; the trace's otherwise). The steady state
   * then averages over requests instead of taking every one at `promptTokens` and
   * `outputTokens`, which stay the means, rounded, for tables.
   */
  lengths?: { trace: string; moments: LengthMoments; meanOutputTokens: number; source: string };
  /**
   * Offline: copies of the instance (`devices` GPUs each) whose summed throughput the
   * published figure is (default 1): a node that runs four TP2 engines side by side.
   */
  instances?: number;
  /**
   * Offline: the run's requests, every one issued at once (a benchmark at an unbounded
   * rate), where the source states them. The published rate is then theirs over the whole
   * run: after the full batches a last, smaller batch of the remainder runs alone at its own
   * step time, and fewer requests than one batch run as that one smaller batch. Absent: a
   * steady state that never ends. Each batch is priced at the steady step of its size: with
   * requests of one length, the batches that follow the first are admitted as the last
   * ones finish, so every step but the first batch's ramp holds the batch in flight, and
   * its prompts' work is spread over its steps as in the steady state (an engine's limit on
   * tokens per step is not modelled: it moves work between steps, not the work).
   */
  requests?: number;
  /**
   * How the checkpoint scales its FP8 GEMMs (`PerfConfig.fp8Scaling`; absent: the model's
   * config.json says, else 'dynamic', as `fp8ScalingOf` resolves it):
   * 'static' for a calibrated per-tensor FP8 checkpoint, 'block' for 128-wide blocks.
   */
  fp8Scaling?: Fp8Scaling;
  /**
   * The serving framework the source says ran the case (its kernels are that framework's);
   * absent where the source's system is none of them (DeepSeek's own, plain PyTorch).
   * `publishedCaseTables` picks its kernel tables by it.
   */
  framework?: KernelFramework;
  /**
   * The release of `framework` the source says ran the case ('0.4.3.post2'), where it says.
   * Not `PerfConfig.frameworkVersion`, which picks the tables: the tables that price the
   * case are of their own release, and `publishedCaseTables` names both when they differ,
   * since a kernel of another release is another kernel.
   */
  ranVersion?: string;
  contextTokens?: number;
  /**
   * Latency: requests in flight on one instance (a benchmark at a fixed concurrency: each
   * user sends its next request when the last one finishes).
   */
  users?: number;
  /**
   * Latency: what the published figure measures, per request: 'itl' the mean time between
   * output tokens (ms), 'userTokensPerSecond' its inverse (output tokens/s per user), 'ttft'
   * the time to the first token (ms; one user only: no queueing is priced).
   */
  metric?: 'itl' | 'userTokensPerSecond' | 'ttft';
  /**
   * Latency: how the users' requests overlap. 'staggered' (default): continuous batching in
   * steady state, a finished request's successor prefilled beside the others' decode steps.
   * 'waves': the users start together and, every request of the same lengths, stay in step
   * (a closed-loop benchmark of fixed lengths started at once): `users` prompts are prefilled
   * in one step (its time is the TTFT), then `users` sequences decode `outputTokens` steps
   * with no prompt beside them (their step is the ITL).
   */
  schedule?: 'staggered' | 'waves';
  /**
   * Decode: tokens each sequence processes per step (2 with one speculative
   * multi-token-prediction draft) and output tokens it gains on average (1 + acceptance).
   */
  tokensPerSequenceStep?: number;
  outputTokensPerStep?: number;
  /**
   * Decode at the served operating point: the published per-user speed; the batch is
   * then the most sequences per GPU at which each user still gets it (the published
   * rate is throughput at the load served, not capacity), and `sequencesPerDevice`
   * only sets the routing sample of `expertLoad`.
   */
  tokensPerSecondPerUser?: number;
  /**
   * Prefill: tokens of each prompt (`promptTokens`, cache hits included) found in the
   * prefix cache: not computed, but attended to by the computed tokens and counted in
   * the published input rate (default 0).
   */
  cachedTokens?: number;
  /**
   * Prefill: the prompts' shape, a prompt mix under data/traces (loadPromptMix), scaled to
   * a mean prompt of `promptTokens` with `cachedTokens / promptTokens` of them cache hits
   * (scalePromptMix). Default: every prompt alike.
   */
  promptMix?: string;
  /**
   * How busy the busiest expert device is, where the case says so.
   * - Absent (the case states no balance): the performance model prices experts
   *   alike, and the MoE tables are read under the architecture's power law, whose
   *   rows hold the busiest rank's load (aiconfigurator's default).
   * - 'balanced': the case states perfectly balanced experts, every expert the same
   *   tokens (DeepSeek's profiles "simulate an absolutely balanced MoE routing strategy"),
   *   in its own words (`source`): the MoE tables' 'balanced' rows. LMSYS's "Simulated
   *   Perfect EPLB" is random expert selection, uniform routing: 'eplb'.
   * - 'eplb': the case states expert-parallel load balancing (EPLB), in its own words
   *   (`source`), over `redundantExperts` copies (0 where it states none): the layout is
   *   priced under `expertRouting: 'eplb'`, the busiest device at the load factor of seeded
   *   uniform routing over the layout and its copies (`uniformRoutingLoadFactor`, `seed` and
   *   `steps`, at the case's own batch: `publishedCaseLoadFactor`), in the performance model
   *   and on the MoE tables' 'uniform' rows alike. Uniform routing is the most favourable
   *   routing: real routing is skewed, so for a deployment that serves real requests it is
   *   a bound on how balanced EPLB gets.
   */
  expertLoad?: { kind: 'balanced'; source?: string } | { kind: 'eplb'; redundantExperts: number; seed: number; steps: number; source: string };
  /**
   * The expert all-to-all the source states the deployment ran, in its own words
   * (`source`): 'deepep', DeepEP's kernels. The layout is then large expert-parallel
   * (`largeExpertParallel`): its routed experts are not read from the fused MoE table.
   */
  expertAllToAll?: { kind: ExpertAllToAll; source: string };
  /**
   * Whose wide-EP tables (wide-EP MoE compute, DeepEP dispatch and combine) price the
   * case's large expert-parallel layout where they are not its `framework`'s, and why
   * (`source`): the kernels each framework's tables time against those the case states
   * it ran (`PerfConfig.wideEpFramework`).
   */
  wideEpTables?: { framework: KernelFramework; source: string };
  published: { value: number; unit: string };
  /** Where the number comes from: the file's document, its URL and date. */
  source: string;
  url?: string;
  date?: string;
  assumptions?: string;
  /** The data/published file (name without .json) the case comes from. */
  file?: string;
  /**
   * Who published the file's figures (its `publisher`): files of one publisher are one
   * source, not independent ones.
   */
  publisher?: string;
  /**
   * The file says `"heldOut": true`: its figures were not beside the calibrated model
   * while it was built (validation only); the other cases were.
   */
  heldOut?: boolean;
}

/** A published case beside batchlab's prediction. */
export interface PublishedComparison {
  id: string;
  label: string;
  unit: string;
  published: number;
  predicted: number;
  /** predicted / published − 1 (for a latency in ms, above 0 means predicted slower). */
  error: number;
  step: StepTime;
  source: string;
  /** Decode: the sequences per GPU priced (solved for a served per-user speed, or the case's). */
  sequencesPerDevice?: number;
}

/**
 * A published case written as JSON (the shape of a `cases` entry of data/published/*.json),
 * checked as the files are: every field the prediction reads, with an InputError naming
 * the field and its allowed range. `opts.source` stands for the file's source when the
 * case names none of its own.
 *
 * @example
 * predictPublishedCase(checkPublishedCase(JSON.parse(text), { where: 'my-case' }))
 */
export function checkPublishedCase(raw: unknown, opts: { where?: string; source?: string } = {}): PublishedCase {
  const where = opts.where ?? 'case';
  const own = typeof raw === 'object' && raw !== null ? (raw as { source?: unknown }).source : undefined;
  const source = opts.source ?? own;
  if (typeof source !== 'string' || source === '') throw new InputError(`${where}.source`, own, 'a non-empty string naming where the figure was published');
  return checkCase(raw, where, { source });
}

const PHASES = ['prefill', 'decode', 'offline', 'latency'] as const;
const LATENCY_METRICS = ['itl', 'userTokensPerSecond', 'ttft'] as const;
const LATENCY_SCHEDULES = ['staggered', 'waves'] as const;

/** The case's own words stating its balanced experts: a case may not assume balance unstated. */
function balanceSource(field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new InputError(field, v, "a non-empty string quoting where the case states balanced experts");
  return v;
}

/** A stated expert load: balanced experts, or EPLB over redundant copies with its routing sample, each quoting where the case states it. */
function checkExpertLoad(field: string, load: unknown, c: Pick<PublishedCase, 'model' | 'phase'>): NonNullable<PublishedCase['expertLoad']> {
  if (typeof load !== 'object' || load === null) throw new InputError(field, load, "an object { kind: 'balanced' | 'eplb', source, … }");
  const o = load as { kind?: unknown; source?: unknown; redundantExperts?: unknown; seed?: unknown; steps?: unknown };
  const kind = checkOneOf(`${field}.kind`, o.kind, ['balanced', 'eplb'] as const);
  if (kind === 'balanced') return { kind, source: balanceSource(`${field}.source`, o.source) };
  if (typeof o.source !== 'string' || o.source === '') throw new InputError(`${field}.source`, o.source, 'a non-empty string quoting where the case states EPLB');
  if (!loadModel(c.model).moe) throw new InputError(`${field}.kind`, kind, `'balanced' or absent: EPLB balances routed experts, and ${c.model} is a dense model`);
  if (c.phase !== 'prefill' && c.phase !== 'decode') throw new InputError(`${field}.kind`, kind, `absent for a ${c.phase} case: the routing sample is a prefill or decode case's batch`);
  return {
    kind,
    redundantExperts: checkInt(`${field}.redundantExperts`, o.redundantExperts, { min: 0, max: 1 << 16 }),
    seed: checkInt(`${field}.seed`, o.seed, { min: 0, max: 2 ** 31 }),
    steps: checkInt(`${field}.steps`, o.steps, { min: 2, max: 1000 }),
    source: o.source,
  };
}

/** A stated expert all-to-all: `{ kind, source }`, the source quoting where the case states it. */
function checkAllToAll(field: string, v: unknown): { kind: ExpertAllToAll; source: string } {
  if (typeof v !== 'object' || v === null) throw new InputError(field, v, `an object { kind: ${EXPERT_ALL_TO_ALLS.join(' | ')}, source }`);
  const o = v as { kind?: unknown; source?: unknown };
  const kind = checkOneOf(`${field}.kind`, o.kind, EXPERT_ALL_TO_ALLS);
  if (typeof o.source !== 'string' || o.source === '') throw new InputError(`${field}.source`, o.source, 'a non-empty string quoting where the case states its all-to-all');
  return { kind, source: o.source };
}

function checkWideEpTables(field: string, v: unknown, allToAll: PublishedCase['expertAllToAll']): { framework: KernelFramework; source: string } {
  if (typeof v !== 'object' || v === null) throw new InputError(field, v, `an object { framework: ${KERNEL_FRAMEWORKS.join(' | ')}, source }`);
  const o = v as { framework?: unknown; source?: unknown };
  const framework = checkOneOf(`${field}.framework`, o.framework, KERNEL_FRAMEWORKS);
  if (typeof o.source !== 'string' || o.source === '') throw new InputError(`${field}.source`, o.source, 'a non-empty string saying which kernels those tables time and why they fit the case');
  // Only a layout whose source states its all-to-all is large expert-parallel whatever the framework.
  if (allToAll === undefined) throw new InputError(field, v, 'absent unless the case states its expert all-to-all (expertAllToAll)');
  return { framework, source: o.source };
}

/**
 * An offline case's stated lengths: a trace's moments, finite and consistent (a mean
 * square at least the squared mean; prompts of at least one token), and the output mean
 * they are scaled to; the case's `promptTokens` and `outputTokens` must be those means,
 * rounded, so that a table of cases shows what is priced.
 */
function checkLengths(where: string, v: unknown, c: Pick<PublishedCase, 'promptTokens' | 'outputTokens'>): NonNullable<PublishedCase['lengths']> {
  const field = `${where}.lengths`;
  if (typeof v !== 'object' || v === null) throw new InputError(field, v, 'an object { trace, moments: { prompt, output, outputSquare, promptTimesOutput, prefillAttentionPairs }, meanOutputTokens, source }');
  const o = v as { trace?: unknown; moments?: unknown; meanOutputTokens?: unknown; source?: unknown };
  if (typeof o.trace !== 'string' || !/^[a-z0-9-]+$/.test(o.trace)) throw new InputError(`${field}.trace`, o.trace, 'the name of a data/traces trace, without .csv');
  if (typeof o.source !== 'string' || o.source === '') throw new InputError(`${field}.source`, o.source, 'a non-empty string citing where the lengths come from');
  const m = o.moments as Record<string, unknown> | undefined;
  if (typeof m !== 'object' || m === null) throw new InputError(`${field}.moments`, m, 'an object { prompt, output, outputSquare, promptTimesOutput, prefillAttentionPairs }');
  const num = (k: string, min: number) => checkNumber(`${field}.moments.${k}`, m[k], { min, max: 2 ** 40 });
  const prompt = num('prompt', 1);
  const output = num('output', 1);
  const moments: LengthMoments = {
    prompt,
    output,
    outputSquare: num('outputSquare', output * output),
    promptTimesOutput: num('promptTimesOutput', 1),
    prefillAttentionPairs: num('prefillAttentionPairs', prefillAttentionPairs(prompt)),
  };
  const meanOutputTokens = checkNumber(`${field}.meanOutputTokens`, o.meanOutputTokens, { min: 1, max: 1 << 20 });
  if (Math.abs((c.promptTokens as number) - prompt) > 0.5) throw new InputError(`${where}.promptTokens`, c.promptTokens, `the mean prompt of ${field}, rounded (${Math.round(prompt)})`);
  if (Math.abs((c.outputTokens as number) - meanOutputTokens) > 0.5) throw new InputError(`${where}.outputTokens`, c.outputTokens, `${field}.meanOutputTokens, rounded (${Math.round(meanOutputTokens)})`);
  return { trace: o.trace, moments, meanOutputTokens, source: o.source };
}

function checkCase(raw: unknown, where: string, file: { source: string; url?: string; date?: string }): PublishedCase {
  if (typeof raw !== 'object' || raw === null) throw new InputError(where, raw, 'a published case object');
  const c = raw as Record<string, unknown>;
  for (const f of ['id', 'label', 'model', 'hardware']) {
    if (typeof c[f] !== 'string' || (c[f] as string) === '') throw new InputError(`${where}.${f}`, c[f], 'a non-empty string');
  }
  const phase = checkOneOf(`${where}.phase`, c.phase, PHASES);
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
  if (c.fp8Scaling !== undefined) out.fp8Scaling = checkOneOf(`${where}.fp8Scaling`, c.fp8Scaling, FP8_SCALINGS);
  if (c.framework !== undefined) out.framework = checkOneOf(`${where}.framework`, c.framework, KERNEL_FRAMEWORKS);
  if (c.ranVersion !== undefined) {
    if (out.framework === undefined) throw new InputError(`${where}.ranVersion`, c.ranVersion, 'absent unless the case names its framework');
    if (typeof c.ranVersion !== 'string' || c.ranVersion.length > 64 || !KERNEL_RELEASE.test(c.ranVersion)) {
      throw new InputError(`${where}.ranVersion`, c.ranVersion, "a release as the framework prints it, e.g. '0.4.3.post2', '1.2.0rc1' or '0.7.4.dev181+gf35f8e22'");
    }
    out.ranVersion = c.ranVersion;
  }
  // A case may cite its own document (a figure derived by a third party) instead of the file's.
  if (typeof c.source === 'string' && c.source !== '') out.source = c.source;
  const load = c.expertLoad as PublishedCase['expertLoad'] | undefined;
  if (load !== undefined) out.expertLoad = checkExpertLoad(`${where}.expertLoad`, load, out);
  if (c.expertAllToAll !== undefined) out.expertAllToAll = checkAllToAll(`${where}.expertAllToAll`, c.expertAllToAll);
  if (c.wideEpTables !== undefined) out.wideEpTables = checkWideEpTables(`${where}.wideEpTables`, c.wideEpTables, out.expertAllToAll);
  if (c.promptMix !== undefined) {
    if (phase !== 'prefill') throw new InputError(`${where}.promptMix`, c.promptMix, 'absent: only prefill cases price a prompt mix');
    if (typeof c.promptMix !== 'string') throw new InputError(`${where}.promptMix`, c.promptMix, 'the name of a data/traces prompt mix');
    // Read now, so that a name that is not shipped is refused with the case that names it.
    try {
      loadPromptMix(c.promptMix);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${where}.promptMix`, c.promptMix, e.allowed);
      throw e;
    }
    out.promptMix = c.promptMix;
  }
  for (const f of ['requests', 'lengths', 'instances'] as const) {
    if (c[f] !== undefined && phase !== 'offline') throw new InputError(`${where}.${f}`, c[f], `absent: only an offline case states ${f}`);
  }
  if (phase === 'latency') {
    out.users = checkInt(`${where}.users`, c.users, { min: 1, max: 1 << 16 });
    out.metric = checkOneOf(`${where}.metric`, c.metric, LATENCY_METRICS);
    out.schedule = checkOneOf(`${where}.schedule`, c.schedule ?? 'staggered', LATENCY_SCHEDULES);
    if (out.metric === 'ttft' && out.schedule === 'staggered' && out.users !== 1) throw new InputError(`${where}.users`, c.users, "1 for metric 'ttft' with schedule 'staggered': a time to first token is priced as one prefill step, without queueing");
    out.promptTokens = checkInt(`${where}.promptTokens`, c.promptTokens, { min: 1, max: 1 << 20 });
    out.outputTokens = checkInt(`${where}.outputTokens`, c.outputTokens, { min: 1, max: 1 << 20 });
  } else if (phase === 'prefill') {
    out.promptTokens = checkInt(`${where}.promptTokens`, c.promptTokens, { min: 1, max: 1 << 20 });
    out.tokensPerDevice = checkInt(`${where}.tokensPerDevice`, c.tokensPerDevice, { min: 1, max: 1 << 20 });
    out.cachedTokens = checkNumber(`${where}.cachedTokens`, c.cachedTokens ?? 0, { min: 0, max: out.promptTokens - 1 });
  } else if (phase === 'offline') {
    if (c.concurrency !== undefined) {
      if (c.sequencesPerDevice !== undefined) throw new InputError(`${where}.sequencesPerDevice`, c.sequencesPerDevice, 'absent when the case states a concurrency rule');
      const k = c.concurrency as Record<string, unknown>;
      if (typeof k !== 'object' || k === null) throw new InputError(`${where}.concurrency`, k, `an object { kind: ${CONCURRENCY_RULES.join(' | ')}, kvCacheFraction, maxBatchSize, kvCacheTokens?, kvTokensPerBlock?, source }`);
      if (k.kvTokensPerBlock !== undefined && k.kvCacheTokens === undefined) throw new InputError(`${where}.concurrency.kvTokensPerBlock`, k.kvTokensPerBlock, 'absent unless the case states kvCacheTokens');
      const kind = checkOneOf(`${where}.concurrency.kind`, k.kind, CONCURRENCY_RULES);
      if (typeof k.source !== 'string' || k.source === '') throw new InputError(`${where}.concurrency.source`, k.source, 'a non-empty string citing the engine setting');
      out.concurrency = {
        kind,
        kvCacheFraction: checkNumber(`${where}.concurrency.kvCacheFraction`, k.kvCacheFraction, { min: 0, exclusiveMin: true, max: 1 }),
        maxBatchSize: checkInt(`${where}.concurrency.maxBatchSize`, k.maxBatchSize, { min: 1, max: 1 << 16 }),
        ...(k.kvCacheTokens === undefined ? {} : { kvCacheTokens: checkInt(`${where}.concurrency.kvCacheTokens`, k.kvCacheTokens, { min: 1, max: 2 ** 40 }) }),
        ...(k.kvTokensPerBlock === undefined ? {} : { kvTokensPerBlock: checkInt(`${where}.concurrency.kvTokensPerBlock`, k.kvTokensPerBlock, { min: 1, max: 1 << 16 }) }),
        source: k.source,
      };
    } else out.sequencesPerDevice = checkInt(`${where}.sequencesPerDevice`, c.sequencesPerDevice, { min: 1, max: 1 << 16 });
    out.promptTokens = checkInt(`${where}.promptTokens`, c.promptTokens, { min: 1, max: 1 << 20 });
    out.outputTokens = checkInt(`${where}.outputTokens`, c.outputTokens, { min: 1, max: 1 << 20 });
    if (c.requests !== undefined) out.requests = checkInt(`${where}.requests`, c.requests, { min: 1, max: 1 << 30 });
    if (c.lengths !== undefined) {
      if (out.requests !== undefined) throw new InputError(`${where}.lengths`, c.lengths, 'absent in a case that states its requests: a finite run is priced for requests of one length');
      out.lengths = checkLengths(where, c.lengths, out);
    }
    if (c.instances !== undefined) out.instances = checkInt(`${where}.instances`, c.instances, { min: 1, max: 1 << 16 });
  } else {
    out.sequencesPerDevice = checkInt(`${where}.sequencesPerDevice`, c.sequencesPerDevice, { min: 1, max: 1 << 16 });
    out.contextTokens = checkInt(`${where}.contextTokens`, c.contextTokens, { min: 0, max: 1 << 20 });
    out.tokensPerSequenceStep = checkInt(`${where}.tokensPerSequenceStep`, c.tokensPerSequenceStep ?? 1, { min: 1, max: 16 });
    out.outputTokensPerStep = checkNumber(`${where}.outputTokensPerStep`, c.outputTokensPerStep ?? 1, { min: 0, exclusiveMin: true, max: 16 });
    if (c.tokensPerSecondPerUser !== undefined) out.tokensPerSecondPerUser = checkNumber(`${where}.tokensPerSecondPerUser`, c.tokensPerSecondPerUser, { min: 0, exclusiveMin: true, max: 1e6 });
  }
  return out;
}

/**
 * One file of data/published/ parsed: the one reader of published facts (the
 * published-case table and the deployment layer's DeepSeek day both read through it).
 * A missing or malformed file is an InputError naming it.
 *
 * @example
 * readPublishedFile('deepseek-2025-inference-system').day.figures.averageNodes.value // => 226.75
 */
export function readPublishedFile(id: string): Record<string, unknown> & { source: string } {
  if (typeof id !== 'string' || !/^[a-z0-9-]+$/.test(id)) throw new InputError('id', id, 'the name of a data/published/*.json file, without .json');
  const name = `${id}.json`;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(join(batchlabDataDir('published'), name), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`data/published/${name}`, name, 'an existing file of valid JSON', (err as Error).message);
  }
  if (typeof json !== 'object' || json === null) throw new InputError(`data/published/${name}`, json, 'a JSON object');
  if (typeof json.source !== 'string' || json.source === '') throw new InputError(`data/published/${name} source`, json.source, 'a non-empty string');
  return json as Record<string, unknown> & { source: string };
}

type Sourced = { value: number; source: string };
interface DayJson {
  model: string;
  hardware: string;
  figures: Record<string, Sourced>;
  layout: Record<string, { nodesPerUnit: number; expertParallel: number; dataParallelAttention: number; redundantExperts: number } & Record<string, unknown>> & {
    microBatchOverlap: { value: boolean };
    expertAllToAll?: { value: unknown; source: unknown };
    wideEpTables?: { value: unknown; source: unknown };
    fp8Scaling?: { value: unknown; source: unknown };
  };
  workload: Record<string, Sourced>;
}

/**
 * The two production cases of a published day (a file's `day` section: figures,
 * layouts and workload), built from the same facts, in the same configuration, as
 * the deployment layer's reproduction of that day: prefill on the profiling batch of
 * computed tokens per GPU in prompts whose cached share (the day's hit rate) is
 * attended to but not computed (its capacity: no published figure says how full the
 * prefill pool ran); decode at its served operating point, the most sequences per GPU
 * at which users still get the published per-user speed, with one MTP draft per
 * sequence; EPLB over the redundant experts the layout states (expertLoad 'eplb').
 */
function dayCases(day: DayJson, name: string, file: { source: string; url?: string; date?: string }): PublishedCase[] {
  const where = `data/published/${name} day`;
  const v = (group: Record<string, Sourced>, k: string, field: string): number => {
    const x = group[k];
    if (typeof x !== 'object' || x === null) throw new InputError(`${where}.${field}.${k}`, x, 'an object { value, source }');
    return checkNumber(`${where}.${field}.${k}.value`, x.value, { min: 0, exclusiveMin: true });
  };
  const f = (k: string) => v(day.figures, k, 'figures');
  const w = (k: string) => v(day.workload, k, 'workload');
  const overlap = day.layout.microBatchOverlap?.value === true;
  const gpn = f('gpusPerNode');
  const pool = (role: 'prefill' | 'decode') => {
    const l = day.layout[role];
    if (typeof l !== 'object' || l === null) throw new InputError(`${where}.layout.${role}`, l, 'a pool layout');
    return l;
  };
  const pre = pool('prefill');
  const dec = pool('decode');
  // The pool's own layout text, which states its redundant routed experts: EPLB's copies.
  const eplbSource = (l: { source?: unknown; redundantExperts: number }): string =>
    `${typeof l.source === 'string' ? l.source : `${l.redundantExperts} redundant routed experts`} (redundant experts are the copies EPLB places)`;
  const precisionOf = (): Partial<Precision> => {
    const p = day.layout.precision as unknown as Parameters<typeof precisionOfClasses>[0];
    return precisionOfClasses(p);
  };
  const prompt = w('prefillPromptTokens');
  const hit = f('cacheHitFraction');
  const mixEntry = day.workload.prefillPromptMix as { value?: unknown; source?: unknown } | undefined;
  if (mixEntry !== undefined && (typeof mixEntry !== 'object' || mixEntry === null || typeof mixEntry.value !== 'string' || typeof mixEntry.source !== 'string' || mixEntry.source === '')) {
    throw new InputError(`${where}.workload.prefillPromptMix`, mixEntry, 'an object { value: the name of a data/traces prompt mix, source }');
  }
  const mixName = mixEntry?.value as string | undefined;
  const acceptance = w('mtpAcceptance');
  const a2a = day.layout.expertAllToAll;
  const expertAllToAll = a2a === undefined ? {} : { expertAllToAll: checkAllToAll(`${where}.layout.expertAllToAll`, { kind: a2a.value, source: a2a.source }) };
  const wide = day.layout.wideEpTables;
  const wideEpTables =
    wide === undefined ? {} : { wideEpTables: checkWideEpTables(`${where}.layout.wideEpTables`, { framework: wide.value, source: wide.source }, expertAllToAll.expertAllToAll) };
  const fp8 = day.layout.fp8Scaling;
  const fp8Scaling = fp8 === undefined ? {} : { fp8Scaling: checkOneOf(`${where}.layout.fp8Scaling`, fp8.value, FP8_SCALINGS) };
  const base = { model: day.model, hardware: day.hardware, devicesPerNode: gpn, precision: precisionOf(), source: file.source, url: file.url, date: file.date, ...expertAllToAll, ...wideEpTables, ...fp8Scaling };
  const cases: PublishedCase[] = [
    {
      ...base,
      id: 'deepseek-prefill',
      label: `DeepSeek production prefill, EP${pre.expertParallel} on ${pre.nodesPerUnit}×${gpn} H800 (daily average)`,
      phase: 'prefill',
      devices: pre.dataParallelAttention,
      parallelism: { dp: pre.dataParallelAttention, ep: pre.expertParallel, overlap, dispatch: 'per-node', maxNodesPerToken: 4 },
      promptTokens: prompt,
      cachedTokens: prompt * hit,
      tokensPerDevice: w('prefillTokensPerGpu'),
      ...(mixName === undefined ? {} : { promptMix: mixName }),
      expertLoad: { kind: 'eplb', redundantExperts: pre.redundantExperts, seed: 1, steps: 2, source: eplbSource(pre) },
      published: { value: f('prefillTokensPerNodePerSecond'), unit: 'input tokens/s per node (incl. cache hits)' },
      assumptions: `the profile-data prefill batch (${w('prefillTokensPerGpu')} computed tokens per GPU) in prompts of ${prompt} tokens on average of which the day's ${(hit * 100).toFixed(1)} % are cache hits, attended to but not computed; ${mixName === undefined ? 'every prompt alike' : `prompt lengths assumed to spread like those of the ${mixName} mix (data/traces, another service's production trace) scaled to that mean, with the day's hit fraction of every prompt cached: DeepSeek publishes only the means`}; EPLB over the ${pre.redundantExperts} redundant experts the layout states (expertRouting 'eplb'): the busiest expert GPU at the load factor of seeded uniform routing over that placement, in the performance model and under kernel tables alike, where a DeepEP layout's routed experts are read from the 'uniform' rows (every local expert given the mean's tokens) of the wide-EP tables its wideEpTables names at that factor times the layer's tokens (real routing is skewed: the factor is the most favourable EPLB gets); capacity, not the load the day served`,
    },
    {
      ...base,
      id: 'deepseek-decode',
      label: `DeepSeek production decode, EP${dec.expertParallel} on ${dec.nodesPerUnit}×${gpn} H800 (daily average, at the published per-user speed)`,
      phase: 'decode',
      devices: dec.dataParallelAttention,
      parallelism: { dp: dec.dataParallelAttention, ep: dec.expertParallel, overlap, dispatch: 'per-expert', maxNodesPerToken: 4 },
      sequencesPerDevice: w('decodeSequencesPerGpu'),
      contextTokens: Math.round(w('decodeContextTokens')),
      tokensPerSequenceStep: 2,
      outputTokensPerStep: 1 + acceptance,
      tokensPerSecondPerUser: (f('outputTokensPerUserLow') + f('outputTokensPerUserHigh')) / 2,
      expertLoad: { kind: 'eplb', redundantExperts: dec.redundantExperts, seed: 1, steps: 10, source: eplbSource(dec) },
      published: { value: f('decodeTokensPerNodePerSecond'), unit: 'output tokens/s per node' },
      assumptions: `the served load, not capacity: the most sequences per GPU at which each user still gets the published ${(f('outputTokensPerUserLow') + f('outputTokensPerUserHigh')) / 2} tokens/s (midpoint of 20-22), at the day's mean KV length (${w('decodeContextTokens')} tokens), one MTP draft per sequence accepted ${(acceptance * 100).toFixed(0)} % of the time; EPLB over the ${dec.redundantExperts} redundant experts the layout states (expertRouting 'eplb'): the busiest expert GPU at the load factor of seeded uniform routing over that placement at the profiling batch (${w('decodeSequencesPerGpu')} sequences per GPU), in the performance model and under kernel tables alike; under kernel tables a DeepEP layout, whose routed experts the wide-EP tables its wideEpTables names price from their 'uniform' rows at that factor where they hold the layout`,
    },
  ];
  return cases;
}

/** What a case field may name instead of repeating its day's layout entry: that entry's value and source. */
const DAY_LAYOUT = 'day.layout';

/**
 * A case of a file with a `day` whose `wideEpTables` or `fp8Scaling` is 'day.layout' takes
 * the day layout's entry, the one home of its value and source text: `wideEpTables` its
 * framework and source, `fp8Scaling` its value, the source closing the assumptions.
 */
function fromDayLayout(raw: unknown, day: DayJson | undefined, where: string): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const c = { ...(raw as Record<string, unknown>) };
  const entry = (field: 'wideEpTables' | 'fp8Scaling'): { value: unknown; source: unknown } => {
    const e = day?.layout[field];
    if (e === undefined) throw new InputError(`${where}.${field}`, DAY_LAYOUT, `a value of its own: the file's day layout states no ${field}`);
    return e;
  };
  if (c.wideEpTables === DAY_LAYOUT) {
    const e = entry('wideEpTables');
    c.wideEpTables = { framework: e.value, source: e.source };
  }
  if (c.fp8Scaling === DAY_LAYOUT) {
    const e = entry('fp8Scaling');
    c.fp8Scaling = e.value;
    if (typeof c.assumptions === 'string' && typeof e.source === 'string') c.assumptions = `${c.assumptions}; FP8 GEMM scaling (fp8Scaling '${String(e.value)}'): ${e.source}`;
  }
  return c;
}

/**
 * Every published case under data/published/ (files with a `cases` array, and the
 * production cases of a file's `day`), in file and case order; a malformed one is an
 * InputError naming its file and field.
 *
 * @example
 * publishedCases().map((c) => c.id) // => ['deepseek-prefill', 'deepseek-decode', 'deepseek-profile-prefill', …, 'lmsys-prefill-1k', …]
 */
export function publishedCases(): PublishedCase[] {
  const dir = batchlabDataDir('published');
  const out: PublishedCase[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const json = readPublishedFile(name.slice(0, -'.json'.length));
    const file = { source: json.source, url: json.url as string | undefined, date: json.date as string | undefined };
    if (json.heldOut !== undefined && typeof json.heldOut !== 'boolean') throw new InputError(`data/published/${name} heldOut`, json.heldOut, 'true or false');
    if (json.publisher !== undefined && (typeof json.publisher !== 'string' || json.publisher === '')) throw new InputError(`data/published/${name} publisher`, json.publisher, 'a non-empty string naming who published the figures');
    const origin = { file: name.slice(0, -'.json'.length), ...(json.heldOut === true ? { heldOut: true } : {}), ...(typeof json.publisher === 'string' ? { publisher: json.publisher } : {}) };
    if (typeof json.day === 'object' && json.day !== null) out.push(...dayCases(json.day as DayJson, name, file).map((c) => ({ ...c, ...origin })));
    if (!Array.isArray(json.cases)) continue;
    const day = typeof json.day === 'object' && json.day !== null ? (json.day as DayJson) : undefined;
    json.cases.forEach((c, i) => out.push({ ...checkCase(fromDayLayout(c, day, `data/published/${name} cases[${i}]`), `data/published/${name} cases[${i}]`, file), ...origin }));
  }
  return out;
}

const GRID_COLUMNS = ['promptTokens', 'outputTokens', 'requests', 'outputTokensPerSecond'] as const;

/**
 * Every run of a published file's `grid` (rows of prompt and output tokens, requests and
 * output tokens/s, with its source): where a source ran one setup over many lengths and the
 * file's cases are some of them, by a stated rule, the grid holds them all, so that the rule
 * can be judged against the runs it left out. Each row is the file's first case with the
 * row's lengths, requests and figure (id `<file>-grid-<in>-<out>`). A malformed grid is an
 * InputError naming the file and row (`checkPublishedGrid`).
 *
 * @example
 * publishedGridCases('trtllm-benchmarks-2025-llama70b-h100').length // => 63
 */
export function publishedGridCases(id: string): PublishedCase[] {
  const base = publishedCases().find((c) => c.file === id);
  if (base === undefined) throw new InputError('file', id, 'a data/published file with cases');
  return checkPublishedGrid(readPublishedFile(id).grid, base, `data/published/${id}.json grid`);
}

/**
 * Every run of a published file's grid (`publishedGridCases`) beside its prediction from the
 * kernel tables of its framework (`publishedCaseTables`; `framework` overrides), in the
 * grid's order: the check of the rule that picked the file's cases, on the runs it left out.
 *
 * @example
 * publishedGridComparisons('trtllm-benchmarks-2025-llama70b-h100').filter((c) => Math.abs(c.error) <= 0.25).length // => 54
 */
export function publishedGridComparisons(id: string, opts: { framework?: KernelFramework } = {}): PublishedComparison[] {
  return publishedGridCases(id).map((c) => predictPublishedCase(c, { framework: publishedCaseTables(c, { framework: opts.framework }).framework }));
}

/**
 * A grid written as JSON (the shape of a data/published file's `grid`) checked as the files
 * are: each row becomes `base` with the row's lengths, requests and figure, and goes through
 * `checkPublishedCase`, so a bad row is an InputError naming it (`where`.rows[i], and the
 * field); a length pair given twice is refused.
 *
 * @example
 * const base = publishedCases().find((c) => c.id === 'trtllm-bench-llama70b-h100-tp8-128-128')!;
 * checkPublishedGrid({ source: 'my runs', columns: ['promptTokens', 'outputTokens', 'requests', 'outputTokensPerSecond'], rows: [[128, 256, 1000, 9000]] }, base)
 * // => [the base's setup at 128 in / 256 out, 1000 requests, 9000 output tokens/s]
 */
export function checkPublishedGrid(raw: unknown, base: PublishedCase, where = 'grid'): PublishedCase[] {
  const grid = raw as { source?: unknown; columns?: unknown; rows?: unknown } | undefined;
  if (typeof grid !== 'object' || grid === null) throw new InputError(where, grid, 'an object { source, columns, rows }');
  if (typeof grid.source !== 'string' || grid.source === '') throw new InputError(`${where}.source`, grid.source, 'a non-empty string citing the rows');
  if (JSON.stringify(grid.columns) !== JSON.stringify(GRID_COLUMNS)) throw new InputError(`${where}.columns`, grid.columns, JSON.stringify(GRID_COLUMNS));
  if (!Array.isArray(grid.rows) || grid.rows.length === 0 || grid.rows.length > 1 << 16) throw new InputError(`${where}.rows`, grid.rows, 'an array of 1 to 65,536 rows');
  if (typeof base !== 'object' || base === null || base.phase !== 'offline') throw new InputError(`${where} base`, base?.phase, 'an offline case, whose setup the grid rows share');
  const source = grid.source;
  const seen = new Set<string>();
  const file = base.file ?? 'grid';
  const origin = { ...(base.file === undefined ? {} : { file: base.file }), ...(base.publisher === undefined ? {} : { publisher: base.publisher }), ...(base.heldOut ? { heldOut: true } : {}) };
  return grid.rows.map((row, i) => {
    if (!Array.isArray(row) || row.length !== GRID_COLUMNS.length) throw new InputError(`${where}.rows[${i}]`, row, `[${GRID_COLUMNS.join(', ')}]`);
    const [promptTokens, outputTokens, requests, value] = row as unknown[];
    const pair = `${String(promptTokens)}/${String(outputTokens)}`;
    if (seen.has(pair)) throw new InputError(`${where}.rows[${i}]`, row, `a length pair no earlier row has (${pair} is given twice)`);
    seen.add(pair);
    const label = `${String(base.label).replace(/, \d+ in \/ \d+ out.*$/, '')}, ${String(promptTokens)} in / ${String(outputTokens)} out, ${String(requests)} requests at once`;
    const raw = { ...base, id: `${file}-grid-${String(promptTokens)}-${String(outputTokens)}`, label, promptTokens, outputTokens, requests, published: { value, unit: base.published?.unit }, assumptions: `${source}; the setup of ${base.id}` };
    const checked = checkPublishedCase(raw, { where: `${where}.rows[${i}]`, source: base.source });
    return { ...checked, ...(base.url === undefined ? {} : { url: base.url }), ...(base.date === undefined ? {} : { date: base.date }), ...origin };
  });
}

/**
 * The busiest expert device's load over the mean that a case assumes: 1 when balanced,
 * else, for a case that states EPLB, the placement model's factor for seeded uniform routing
 * over its layout and redundant copies at its own batch (`uniformRoutingLoadFactor`, which
 * computes each point once per process): the factor `predictPublishedCase` prices it at.
 *
 * @example
 * publishedCaseLoadFactor(publishedCases().find((c) => c.id === 'deepseek-decode')!) // => about 1.18
 */
export function publishedCaseLoadFactor(c: PublishedCase): number {
  const e = c.expertLoad;
  if (e === undefined || e.kind === 'balanced') return 1;
  return uniformRoutingLoadFactor(loadModel(c.model), { expertParallel: c.parallelism.ep ?? 1, redundantExperts: e.redundantExperts }, eplbSampleTokens(c), e.seed, e.steps);
}

/**
 * The tokens of the step an EPLB case samples its routing at: a prefill step's computed
 * tokens, or a decode step at the case's stated batch (`sequencesPerDevice`, also where the
 * served speed sets the batch priced), every expert-parallel rank's together.
 */
function eplbSampleTokens(c: PublishedCase): number {
  const ep = c.parallelism.ep ?? 1;
  if (c.phase === 'prefill') return checkInt(`${c.id}.tokensPerDevice`, c.tokensPerDevice, { min: 1, max: 1 << 20 }) * ep;
  return checkInt(`${c.id}.sequencesPerDevice`, c.sequencesPerDevice, { min: 1, max: 1 << 20 }) * (c.tokensPerSequenceStep ?? 1) * ep;
}

/** A prefill case's prompt mix: the shipped mix as read, and as scaled to the case's means. */
export interface CasePromptMix {
  name: string;
  /** The mix's provenance (its file's comment lines). */
  source: string;
  /** The mix as shipped (another service's means). */
  original: PromptMixStats;
  /** Scaled to the case's mean prompt and hit fraction: what the prediction prices. */
  stats: PromptMixStats;
  scaling: PromptMixScaling;
}

/**
 * A prefill case's prompt mix, as shipped and as scaled to its mean prompt and hit
 * fraction (every prompt keeps the case's hit fraction: `hits: 'proportional'`), or
 * undefined for a case whose prompts are all alike.
 *
 * @example
 * publishedCasePromptMix(publishedCases().find((c) => c.id === 'deepseek-prefill')!)?.stats.attentionPairsPerComputedToken
 */
export function publishedCasePromptMix(c: PublishedCase): CasePromptMix | undefined {
  if (c.promptMix === undefined) return undefined;
  const prompt = checkNumber(`${c.id}.promptTokens`, c.promptTokens, { min: 1, max: 1 << 20 });
  const hit = checkNumber(`${c.id}.cachedTokens`, c.cachedTokens ?? 0, { min: 0, max: prompt - 1 }) / prompt;
  const mix = loadPromptMix(c.promptMix);
  const scaled = scalePromptMix(mix, { meanPromptTokens: prompt, cacheHitFraction: hit });
  return { name: c.promptMix, source: mix.source, original: promptMixStats(mix), stats: promptMixStats(scaled), scaling: scaled.scaling as PromptMixScaling };
}

/**
 * The batch an offline case's engine holds in flight under its capacity rule, at most
 * `maxBatchSize` per instance: as many sequences as its KV cache holds, each at
 * - 'guaranteed-no-evict': its whole prompt and output (`promptTokens + outputTokens`: the
 *   rule reserves a request's maximum output, which only requests of one stated length
 *   let a case know);
 * - 'max-utilization': the tokens a sequence in flight holds on average, its mean context
 *   in flight plus the token it adds (the cache stays full in a steady state).
 */
function admittedBatch(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, c: PublishedCase, lengths: LengthMoments): number {
  const rule = c.concurrency as NonNullable<PublishedCase['concurrency']>;
  if (rule.kind === 'guaranteed-no-evict') {
    if (c.lengths !== undefined) throw new InputError('case.concurrency.kind', rule.kind, "'max-utilization' for requests of many lengths (lengths): 'guaranteed-no-evict' reserves each request's maximum output, which the case does not state");
    return kvCacheBatch(model, hw, config, rule, (c.promptTokens as number) + (c.outputTokens as number));
  }
  return kvCacheBatch(model, hw, config, rule, Math.ceil(meanContextInFlight(lengths) + 1));
}

/**
 * The most sequences of `sequenceTokens` each that an instance's KV cache holds, at most
 * `maxBatchSize`: the blocks of the run's stated `kvCacheTokens` divided by one sequence's
 * blocks, where the case states them; else `kvCacheFraction` of the memory left beside
 * weights and activations (`memoryFit` of an empty batch) divided by one sequence's KV
 * cache.
 */
function kvCacheBatch(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, rule: NonNullable<PublishedCase['concurrency']>, sequenceTokens: number): number {
  if (rule.kvCacheTokens !== undefined) {
    const perBlock = rule.kvTokensPerBlock ?? 1;
    const seqs = Math.min(rule.maxBatchSize, Math.floor(Math.floor(rule.kvCacheTokens / perBlock) / kvBlocksForTokens(sequenceTokens, perBlock)));
    if (!(seqs >= 1)) throw new InputError('case.concurrency.kvCacheTokens', rule.kvCacheTokens, `at least one ${sequenceTokens}-token sequence (in blocks of ${perBlock} tokens)`);
    return seqs;
  }
  const empty = memoryFit(model, hw, config, { batch: 0, context: sequenceTokens, tokens: 0 });
  const one = memoryFit(model, hw, config, { batch: 1, context: sequenceTokens, tokens: 0 });
  const perSequence = one.kvCacheBytes - empty.kvCacheBytes;
  const free = rule.kvCacheFraction * (empty.capacityBytes - empty.weightBytes - empty.activationBytes);
  const seqs = Math.min(rule.maxBatchSize, Math.floor(free / perSequence));
  if (!(seqs >= 1)) throw new InputError('memory', empty.totalBytes, `room for the KV cache of one ${sequenceTokens}-token sequence per device`, empty.message);
  return seqs;
}

/** The load fits the devices' memory, or an InputError with the shortfall (a case is refused, not priced). */
function checkFits(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, load: Parameters<typeof memoryFit>[3]): void {
  const fit = memoryFit(model, hw, config, load);
  if (!fit.fits) throw new InputError('memory', fit.totalBytes, `at most ${fit.capacityBytes} bytes per device`, fit.message);
}

/** A latency case whose figure is a time (ITL or TTFT, ms): lower is better, and a bound sits below it. */
function publishedCaseIsTime(c: PublishedCase): boolean {
  return c.phase === 'latency' && c.metric !== 'userTokensPerSecond';
}

/**
 * One step of continuous batching in steady state over `seqs` sequences in flight, each of
 * `isl` prompt and `osl` output tokens: every sequence gains one token per step, so seqs/osl
 * requests finish per step and as many prompts are prefilled beside them; a decoding
 * sequence is on average halfway through its output. The step a fixed-concurrency benchmark
 * and a throughput run at a fixed batch both repeat.
 */
function steadyStateStep(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, seqs: number, lengths: LengthMoments): StepTime {
  const context = meanContextInFlight(lengths);
  // The engine prefills each prompt whole, in the step that admits it: the mean step
  // holds a share of whole prompts (prefillSequences not a whole number), seqs / E[O] of
  // them, as many as finish.
  const prefillTokens = Math.max(1, Math.round((seqs / lengths.output) * lengths.prompt));
  const prompts = prefillTokens / lengths.prompt;
  const work: StepWork = {
    prefillTokens,
    decodeTokens: seqs,
    contextTokens: seqs * context,
    prefillSequences: prompts,
    prefillAttentionPairs: prompts * lengths.prefillAttentionPairs,
  };
  checkFits(model, hw, config, { batch: seqs, context: Math.ceil(context), tokens: seqs + work.prefillTokens });
  return stepTime(model, hw, { ...config, checkMemory: false }, work);
}

/**
 * The context a decoding sequence has attended to, averaged over the steps of the
 * requests in flight: a request of P prompt and O output tokens decodes at P, P + 1, …,
 * P + O − 1 cached tokens, and longer outputs stay in flight longer, so the average
 * weighs each request by its steps: (E[P·O] + (E[O²] − E[O]) / 2) / E[O], which is
 * P + (O − 1) / 2 when every request is alike.
 *
 * @example
 * meanContextInFlight(traceLengthMoments(parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,100,10\n0,300,30\n'))) // => 262
 */
export function meanContextInFlight(m: LengthMoments): number {
  return (m.promptTimesOutput + (m.outputSquare - m.output) / 2) / m.output;
}

/** The moments of requests all of `isl` prompt and `osl` output tokens. */
function fixedLengthMoments(isl: number, osl: number): LengthMoments {
  return { prompt: isl, output: osl, outputSquare: osl * osl, promptTimesOutput: isl * osl, prefillAttentionPairs: prefillAttentionPairs(isl, 0) };
}

/**
 * What an offline case prices: its trace's moments with the outputs scaled to its stated
 * mean (each output × s scales E[O²] by s² and E[P·O] by s), or every request at its
 * `promptTokens` and `outputTokens`.
 *
 * @example
 * publishedCaseLengthMoments(publishedCases().find((c) => c.id === 'mlperf-v41-llama2-70b-h100x8-offline')!).output // => 290.3 (the run's mean)
 */
export function publishedCaseLengthMoments(c: PublishedCase): LengthMoments {
  const l = c.lengths;
  if (l === undefined) return fixedLengthMoments(c.promptTokens as number, c.outputTokens as number);
  const s = l.meanOutputTokens / l.moments.output;
  return { ...l.moments, output: l.meanOutputTokens, outputSquare: s * s * l.moments.outputSquare, promptTimesOutput: s * l.moments.promptTimesOutput };
}

/**
 * Output tokens per second of a run of `requests` requests issued at once, `batch` at a
 * time, each of a fixed output length: every full batch runs at the steady step of
 * `batch` sequences (`stepSeconds`), and a last batch of the remainder runs alone at its
 * own (`restStepSeconds`). Each batch lasts its output length in steps, which cancels.
 */
function finiteRunRate(requests: number, batch: number, stepSeconds: number, restStepSeconds: (rest: number) => number): number {
  const full = Math.floor(requests / batch);
  const rest = requests - full * batch;
  return requests / (full * stepSeconds + (rest > 0 ? restStepSeconds(rest) : 0));
}

/**
 * A decode step of `seqs` sequences that started together (a wave): no prompt beside them,
 * each halfway through its `osl` output tokens after an `isl`-token prompt on average.
 */
function waveDecodeStep(model: ModelSpec, hw: HardwareSpec, config: PerfConfig, seqs: number, isl: number, osl: number): StepTime {
  const context = isl + (osl - 1) / 2;
  checkFits(model, hw, config, { batch: seqs, context: isl + osl, tokens: seqs });
  return stepTime(model, hw, { ...config, checkMemory: false }, { prefillTokens: 0, decodeTokens: seqs, contextTokens: seqs * context });
}

/** Which kernel tables price a published case (`publishedCaseTables`). */
export interface PublishedCaseTables {
  /** The framework whose tables price the case (PerfConfig.framework). */
  framework: string;
  /**
   * Those tables in words, with the reason for a fallback: 'sglang', 'trtllm, no sglang
   * tables for a100-80gb', 'trtllm, the case names no framework', 'vllm, no h200 tables'
   * (the database switched off); a device that borrows another's compute tables says whose:
   * 'trtllm, the case names no framework; h100-sxm's compute tables' for H800; a case that
   * states a release of its framework other than the tables' says both: 'sglang 0.5.14; the
   * case ran 0.4.3.post2 (older)'.
   */
  label: string;
  /**
   * The release of those tables: the newest the database holds for the device's compute
   * tables under that framework (`newestKernelVersion`; the shipped database files each
   * framework's ops under one release), where it holds them. Wide-EP tables read from
   * another framework (`wideEpTables`) are that framework's newest, not this.
   */
  version?: string;
  /**
   * Where the case states the release of its own framework and the tables are of another:
   * how the case's release stands to the tables' ('older' or 'newer'). A kernel of
   * another release is another kernel, so such a case checks the tables across versions.
   */
  caseRelease?: 'older' | 'newer';
}

/**
 * The kernel tables that price a published case: an explicit `framework` as given (the
 * database must hold it for the device, as `stepTime` checks); else the case's own
 * framework where the database holds that framework's tables for its device; else
 * TensorRT-LLM's (the one framework the shipped database holds for every device), saying
 * why. A device the database does not hold at all keeps the case's framework and is
 * priced by the calibrated model, as `stepTime` does for any framework there.
 *
 * @example
 * const c = publishedCases().find((x) => x.id === 'gpustack-qwen3-8b-h100-sglang-c4-itl')!;
 * publishedCaseTables(c).label // => 'sglang' (data/kernels holds h100_sxm's SGLang tables)
 * publishedCaseTables({ ...c, hardware: 'a100-80gb' }).label // => 'trtllm, no sglang tables for a100-80gb'
 * predictPublishedCase(c, { framework: publishedCaseTables(c).framework })
 */
export function publishedCaseTables(c: PublishedCase, opts: { framework?: string; kernelDb?: KernelDb | false } = {}): PublishedCaseTables {
  if (typeof c !== 'object' || c === null) throw new InputError('case', c, 'a PublishedCase (see publishedCases())');
  if (opts.framework !== undefined && (typeof opts.framework !== 'string' || opts.framework === '')) {
    throw new InputError('framework', opts.framework, `a framework name, e.g. ${KERNEL_FRAMEWORKS.join(', ')}`);
  }
  const db = opts.kernelDb === false ? undefined : (opts.kernelDb ?? defaultKernelDb());
  const hw = loadHardware(c.hardware);
  const held = kernelFrameworksOf(db, hw);
  const tablesOf = held.length > 0 ? kernelTablesOf(hw, db) : undefined;
  const of = tablesOf?.donor ? `; ${tablesOf.donor}'s compute tables` : '';
  // The tables' release, and the case's where it states one and ran these tables' framework.
  const priced = (framework: string, label: string): PublishedCaseTables => {
    const version = tablesOf && held.includes(framework) ? newestKernelVersion(db, tablesOf.compute, framework) : undefined;
    if (version === undefined) return { framework, label };
    const ran = framework === c.framework ? c.ranVersion : undefined;
    const order = ran === undefined ? 0 : compareKernelVersions(ran, version);
    if (ran === undefined || order === 0) return { framework, label, version };
    const caseRelease = order < 0 ? 'older' : 'newer';
    // Every label of the case's own framework begins with its name: the release goes right after it.
    return { framework, label: `${framework} ${version}${label.slice(framework.length)}; the case ran ${ran} (${caseRelease})`, version, caseRelease };
  };
  if (opts.framework !== undefined) return priced(opts.framework, `${opts.framework}${held.includes(opts.framework) ? of : ''}`);
  const wanted = c.framework === undefined ? undefined : checkOneOf('case.framework', c.framework, KERNEL_FRAMEWORKS);
  const fallback: KernelFramework = 'trtllm';
  if (held.length === 0) return { framework: wanted ?? fallback, label: `${wanted ?? fallback}, no ${c.hardware} tables` };
  if (wanted !== undefined && held.includes(wanted)) return priced(wanted, `${wanted}${of}`);
  const other = held.includes(fallback) ? fallback : held[0];
  return priced(other, `${wanted === undefined ? `${other}, the case names no framework` : `${other}, no ${wanted} tables for ${c.hardware}`}${of}`);
}

/**
 * batchlab's prediction of a published case: the step of its deployment priced by
 * `stepTime` with the hardware's calibration (no constant depends on the case), turned
 * into the case's unit — tokens per second per node, at the steady-state interval
 * between steps; for a latency case, a user's time between output tokens (or its inverse)
 * in the steady state of its concurrency, or the time of its prompt's prefill step (TTFT).
 * Without `kernels.framework` the calibrated model prices every op (not the default
 * engine's tables `stepTime` takes by default); with it, that framework's kernel tables
 * price GEMMs, attention and all-reduces instead (where the database holds the device);
 * `kernels.efficiency: 'spec'` prices every operation at the datasheet (a bound).
 *
 * @example
 * const c = publishedCases().find((x) => x.id === 'lmsys-decode-2k')!;
 * predictPublishedCase(c).error // => predicted / published − 1
 */
export function predictPublishedCase(c: PublishedCase, kernels: Pick<PerfConfig, 'framework' | 'kernelDb' | 'efficiency'> = {}): PublishedComparison {
  // Cases built in code skip the file reader's checks: the fields every branch divides by are checked here.
  if (typeof c !== 'object' || c === null) throw new InputError('case', c, 'a PublishedCase (see publishedCases())');
  checkOneOf('case.phase', c.phase, PHASES);
  checkNumber('case.published.value', c.published?.value, { min: 0, exclusiveMin: true });
  checkInt('case.devices', c.devices, { min: 1, max: 1 << 16 });
  checkInt('case.devicesPerNode', c.devicesPerNode, { min: 1, max: 1024 });
  if (c.framework !== undefined) checkOneOf('case.framework', c.framework, KERNEL_FRAMEWORKS);
  if (c.requests !== undefined && c.phase !== 'offline') throw new InputError('case.requests', c.requests, 'absent: only an offline case prices a run of a stated number of requests');
  if (c.instances !== undefined) checkInt('case.instances', c.instances, { min: 1, max: 1 << 16 });
  const model = loadModel(c.model);
  const hw = loadHardware(c.hardware);
  const parallelism: Parallelism = { devicesPerNode: c.devicesPerNode, ...c.parallelism };
  const load = c.expertLoad;
  if (load?.kind === 'balanced') parallelism.expertRouting = 'balanced';
  if (load?.kind === 'eplb') {
    parallelism.expertRouting = 'eplb';
    parallelism.redundantExperts = load.redundantExperts;
    parallelism.expertLoadSample = { seed: load.seed, steps: load.steps, tokens: eplbSampleTokens(c) };
  }
  if (c.expertAllToAll !== undefined) parallelism.expertAllToAll = c.expertAllToAll.kind;
  // Without a framework the case is the calibrated model's (the comparison's own column), not the default engine's tables.
  const framework = kernels.framework ?? null;
  const wideEp = c.wideEpTables !== undefined && framework !== null ? { wideEpFramework: c.wideEpTables.framework } : {};
  const config: PerfConfig = { parallelism, precision: c.precision, ...(c.fp8Scaling === undefined ? {} : { fp8Scaling: c.fp8Scaling }), ...kernels, framework, ...wideEp };
  const nodes = c.devices / c.devicesPerNode;
  let predicted: number;
  let step: StepTime;
  let sequencesPerDevice: number | undefined;
  if (c.phase === 'prefill') {
    const T = c.tokensPerDevice as number;
    const P = T * c.devices;
    const cached = c.cachedTokens ?? 0;
    const mix = publishedCasePromptMix(c)?.stats;
    const computedPerPrompt = mix ? mix.meanComputedTokens : (c.promptTokens as number) - cached;
    // Prompts per GPU rounded as the deployment layer rounds them (one attention rank per GPU).
    const perDevice = Math.max(1, Math.round(T / computedPerPrompt));
    const work: StepWork = { prefillTokens: P, decodeTokens: 0, contextTokens: 0, prefillSequences: perDevice * c.devices };
    if (mix) work.prefillAttentionPairs = P * mix.attentionPairsPerComputedToken;
    else if (cached > 0) work.prefillAttentionPairs = perDevice * c.devices * prefillAttentionPairs(T / perDevice, cached);
    step = stepTime(model, hw, config, work);
    predicted = ((P / step.intervalSeconds / nodes) * (c.promptTokens as number)) / computedPerPrompt;
  } else if (c.phase === 'offline') {
    const requests = c.requests === undefined ? undefined : checkInt('case.requests', c.requests, { min: 1, max: 1 << 30 });
    const lengths = publishedCaseLengthMoments(c);
    const admitted = c.concurrency ? admittedBatch(model, hw, config, c, lengths) : (c.sequencesPerDevice as number) * c.devices;
    // Fewer requests than the engine admits run as one batch of them all.
    const seqs = requests === undefined ? admitted : Math.min(admitted, requests);
    step = steadyStateStep(model, hw, config, seqs, lengths);
    const perInstance = requests === undefined ? seqs / step.intervalSeconds : finiteRunRate(requests, seqs, step.intervalSeconds, (rest) => steadyStateStep(model, hw, config, rest, lengths).intervalSeconds);
    predicted = ((c.instances ?? 1) * perInstance) / nodes;
    sequencesPerDevice = seqs / c.devices;
  } else if (c.phase === 'latency') {
    const users = checkInt('case.users', c.users, { min: 1, max: 1 << 16 });
    const metric = checkOneOf('case.metric', c.metric, LATENCY_METRICS);
    const schedule = checkOneOf('case.schedule', c.schedule ?? 'staggered', LATENCY_SCHEDULES);
    const isl = checkInt('case.promptTokens', c.promptTokens, { min: 1, max: 1 << 20 });
    const osl = checkInt('case.outputTokens', c.outputTokens, { min: 1, max: 1 << 20 });
    if (metric === 'ttft' && schedule === 'staggered' && users !== 1) throw new InputError('case.users', users, "1 for metric 'ttft' with schedule 'staggered': a time to first token is priced as one prefill step, without queueing");
    if (metric === 'ttft') {
      // The prompts that start together (one, or a wave of `users`) in one step; it ends with their first output tokens.
      const work: StepWork = { prefillTokens: users * isl, decodeTokens: 0, contextTokens: 0, prefillSequences: users, prefillAttentionPairs: users * prefillAttentionPairs(isl, 0) };
      checkFits(model, hw, config, { batch: users, context: isl, tokens: users * isl });
      step = stepTime(model, hw, { ...config, checkMemory: false }, work);
      predicted = step.seconds * 1000;
    } else {
      // A user's next token needs the whole pass through every stage: its interval is the step's latency.
      step = schedule === 'staggered' ? steadyStateStep(model, hw, config, users, fixedLengthMoments(isl, osl)) : waveDecodeStep(model, hw, config, users, isl, osl);
      predicted = metric === 'itl' ? step.seconds * 1000 : 1 / step.seconds;
    }
    sequencesPerDevice = users / c.devices;
  } else {
    const perSeq = c.tokensPerSequenceStep as number;
    const context = c.contextTokens as number;
    const decodeStep = (perDevice: number): StepTime => {
      const seqs = perDevice * c.devices;
      return stepTime(model, hw, { ...config, checkMemory: false }, { prefillTokens: 0, decodeTokens: seqs * perSeq, contextTokens: seqs * perSeq * context });
    };
    let perDevice = c.sequencesPerDevice as number;
    if (c.tokensPerSecondPerUser !== undefined) {
      // The served operating point: the most sequences per GPU at which each user still gets the stated speed.
      const target = c.tokensPerSecondPerUser;
      const ceiling = Math.max(1, Math.min(1 << 14, Math.floor(maxBatchThatFits(model, hw, config, Math.max(1, context)) / c.devices)));
      const firstTooSlow = smallestTrue((b) => (c.outputTokensPerStep as number) / decodeStep(b).intervalSeconds < target, ceiling);
      if (firstTooSlow === 1) throw new InputError(`${c.id}.tokensPerSecondPerUser`, target, 'a speed one sequence per GPU reaches');
      perDevice = Number.isFinite(firstTooSlow) ? firstTooSlow - 1 : ceiling;
    }
    const seqs = perDevice * c.devices;
    // Speculative drafts share their sequence's KV cache: memory holds `seqs` caches, not one per token.
    checkFits(model, hw, config, { batch: seqs, context, tokens: seqs * perSeq });
    step = decodeStep(perDevice);
    predicted = (seqs * (c.outputTokensPerStep as number)) / step.intervalSeconds / nodes;
    sequencesPerDevice = perDevice;
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
    ...(sequencesPerDevice === undefined ? {} : { sequencesPerDevice }),
  };
}

/**
 * Every published case (data/published/) beside batchlab's prediction.
 *
 * @example
 * publishedComparisons().map((c) => Math.round(c.error * 100)) // => percent errors, case by case
 */
export function publishedComparisons(): PublishedComparison[] {
  return publishedCases().map((c) => predictPublishedCase(c));
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

/**
 * What the comparison says, in sentences computed from it: how overlap is modelled
 * (the calibrated share it hides), how the capacity cases (profiles and benchmarks at
 * a stated batch) fare, and why a production day's average may sit below capacity.
 * Cases it does not find are left out of the sentences.
 *
 * @example
 * showMarkdown(publishedComparisonNotes(publishedComparisons()))
 */
export function publishedComparisonNotes(comparisons: readonly PublishedComparison[], tolerance = 0.25): string {
  checkNumber('tolerance', tolerance, { min: 0, exclusiveMin: true, max: 10 });
  if (comparisons.length === 0) throw new InputError('comparisons', comparisons, 'at least one comparison');
  const pct = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(0)} %`;
  const byId = new Map(comparisons.map((c) => [c.id, c]));
  const overlap = loadHardware('h800').calibration?.overlapEfficiency ?? 1;
  const out: string[] = [
    overlap === 1
      ? "Two overlapped micro-batches each run half of the step, so memory-bound GEMMs read their weights twice and every collective pays its latency twice. In prefill the overlap hides the shorter of the step's computation and communication, computation running on the units the all-to-all leaves free (DeepSeek's prefill figure: 108 of 132 SMs). In decode it follows DeepSeek's and SGLang's schedule, layer by layer: dispatch beside the shared experts and the attention projections, combine beside the core attention, the routed experts beside nothing; with no fitted loss (no serving figure sets it)."
      : `Two overlapped micro-batches each run half of the step, so memory-bound GEMMs read their weights twice and every collective pays its latency twice, and they hide ${Math.round(overlap * 100)} % of what their schedule can hide (\`overlapEfficiency\` in \`data/hardware/h800.json\`).`,
  ];
  const day = comparisons.filter((c) => c.id === 'deepseek-prefill' || c.id === 'deepseek-decode');
  const capacity = comparisons.filter((c) => !day.includes(c));
  if (capacity.length > 0) {
    const inside = capacity.filter((c) => Math.abs(c.error) <= tolerance).length;
    const lo = capacity.reduce((a, b) => (b.error < a.error ? b : a));
    const hi = capacity.reduce((a, b) => (b.error > a.error ? b : a));
    out.push(
      `Against measurements of capacity (profiling runs and benchmarks at a stated batch), ${inside} of ${capacity.length} predictions lie within ±${(tolerance * 100).toFixed(0)} %, from ${pct(lo.error)} (${lo.label}) to ${pct(hi.error)} (${hi.label}).`,
    );
  }
  const dPre = byId.get('deepseek-prefill');
  const dDec = byId.get('deepseek-decode');
  const pPre = byId.get('deepseek-profile-prefill');
  if (dDec && dDec.sequencesPerDevice !== undefined) {
    out.push(
      `DeepSeek's production figures are day averages of the load served. Decode is priced where it ran: the most sequences per GPU (${dDec.sequencesPerDevice}) that still give each user the published speed, ${pct(dDec.error)} off the day's rate.`,
    );
  }
  if (dPre && pPre) {
    // The day's computed tokens per node (the published rate counts cache hits) over the profile's.
    const cases = publishedCases();
    const c = cases.find((x) => x.id === 'deepseek-prefill');
    const p = cases.find((x) => x.id === 'deepseek-profile-prefill');
    const computedShare = c && c.promptTokens ? (c.promptTokens - (c.cachedTokens ?? 0)) / c.promptTokens : 1;
    const servedOverProfile = (dPre.published * computedShare) / pPre.published;
    const mix = c ? publishedCasePromptMix(c) : undefined;
    const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
    const profileSetup = p?.promptTokens ? ` (${n0(p.promptTokens)}-token prompts${(p.cachedTokens ?? 0) > 0 ? '' : ', no cache hits'})` : '';
    let shape = '';
    if (c && mix) {
      const computed = (c.promptTokens as number) - (c.cachedTokens ?? 0);
      const alikePairs = prefillAttentionPairs(computed, c.cachedTokens ?? 0) / computed;
      const alike = predictPublishedCase({ ...c, promptMix: undefined });
      // The share of the day-versus-profile gap (in log terms) that the model's own day-versus-profile ratio reproduces.
      const explained = Math.log((dPre.predicted * computedShare) / pPre.predicted) / Math.log(servedOverProfile);
      const from = mix.source.split(':')[0];
      shape =
        ` DeepSeek publishes only the mean prompt and hit rate, so the model assumes its prompt lengths spread like those of a production chat trace, the ${mix.name} mix (data/traces; ${from}; another service, mean prompt ${n0(mix.original.meanPromptTokens)} tokens), scaled to the day's mean of ${n0(mix.stats.meanPromptTokens)} with ${Math.round(mix.stats.cacheHitFraction * 1000) / 10} % of every prompt cached. A computed token attends to every earlier token of its own prompt, so the long prompts of that spread make it attend to ${n0(mix.stats.attentionPairsPerComputedToken)} keys on average, ${(mix.stats.attentionPairsPerComputedToken / alikePairs).toFixed(1)}× as many as in prompts all of the mean length, and the prediction lands ${pct(dPre.error)} from the day's rate (${pct(alike.error)} with every prompt alike). In the model that spread accounts for ${Math.round(explained * 100)} % of the gap (in log terms) between DeepSeek's profiling run and the day.`;
    }
    out.push(
      `Prefill has no published latency to fix its batch, so it is priced at capacity on the profiling batch.${shape} DeepSeek's own profiling run${profileSetup} computes ${n0(pPre.published)} prompt tokens/s per node where the day averaged ${n0(dPre.published * computedShare)} (${Math.round(servedOverProfile * 100)} %); ${mix ? 'what the prompt spread does not account for is' : 'the gap is'} how full the prefill pool ran over the day and how DeepSeek's prompts really spread, which no published figure measures, and it is not fitted.`,
    );
  }
  return out.join('\n\n');
}

/**
 * One published case priced three ways: by the calibrated model, from a framework's
 * measured kernel tables (null where the database cannot price it, with the reason) and
 * at the datasheet (efficiency 'spec', a bound: no loss anywhere, so it should sit above
 * the published figure).
 */
export interface PublishedMethodRow {
  id: string;
  label: string;
  /** The data/published file the case comes from. */
  file: string;
  hardware: string;
  /** Held out: the calibrated model was not built beside this case. */
  heldOut: boolean;
  /**
   * The figure is a time (a latency case's ITL or TTFT): the datasheet bound sits below
   * it, not above, and a prediction below it is optimistic.
   */
  isTime?: boolean;
  unit: string;
  published: number;
  calibrated: number;
  kernelDb: number | null;
  /**
   * Share of the step's priced kernel calls that a measured table answered (0 where the
   * database holds no table of the device: the calibrated model priced every call).
   */
  kernelDbTableShare: number;
  /** Which tables priced the kernel-database column (`PublishedCaseTables.label`). */
  kernelDbTables?: string;
  /** Where the case states a release of its framework other than the tables': how it stands to theirs (`PublishedCaseTables.caseRelease`). */
  kernelDbCaseRelease?: 'older' | 'newer';
  /** Why the kernel database could not price the case. */
  kernelDbMissing?: string;
  spec: number | null;
  specMissing?: string;
}

/**
 * Every published case priced by the calibrated model, from kernel tables and at the
 * datasheet bound, grouped as the files are: first the cases the calibrated model was
 * built beside, then the held-out ones. The kernel tables are each case's own
 * framework's where the database holds them for its device, else TensorRT-LLM's
 * (`publishedCaseTables`; each row says which), or `framework`'s for every case when
 * one is given. A case a method cannot price keeps a null and the reason.
 *
 * @example
 * publishedMethodRows().filter((r) => r.heldOut).length // => the cases of held-out files
 * publishedMethodRows(undefined, 'trtllm') // every case from TensorRT-LLM's tables
 */
export function publishedMethodRows(cases: readonly PublishedCase[] = publishedCases(), framework?: string): PublishedMethodRow[] {
  if (!Array.isArray(cases) || cases.length === 0) throw new InputError('cases', cases, 'a non-empty array of published cases');
  const tryPrice = (c: PublishedCase, k: Pick<PerfConfig, 'framework' | 'efficiency'>): { value: number | null; share: number; missing?: string } => {
    try {
      const p = predictPublishedCase(c, k);
      const usage = p.step.kernels ?? [];
      const calls = usage.reduce((s, u) => s + u.calls, 0);
      const fromTables = usage.filter((u) => u.rows > 0).reduce((s, u) => s + u.calls, 0);
      return { value: p.predicted, share: calls > 0 ? fromTables / calls : 0 };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return { value: null, share: 0, missing: e.message };
    }
  };
  const rows = cases.map((c): PublishedMethodRow => {
    const tables = publishedCaseTables(c, { framework });
    const db = tryPrice(c, { framework: tables.framework });
    const spec = tryPrice(c, { efficiency: 'spec' });
    return {
      id: c.id,
      label: c.label,
      file: c.file ?? '',
      hardware: c.hardware,
      heldOut: c.heldOut === true,
      isTime: publishedCaseIsTime(c),
      unit: c.published.unit,
      published: c.published.value,
      calibrated: predictPublishedCase(c).predicted,
      kernelDb: db.value,
      kernelDbTableShare: db.share,
      kernelDbTables: tables.label,
      ...(tables.caseRelease === undefined ? {} : { kernelDbCaseRelease: tables.caseRelease }),
      ...(db.missing === undefined ? {} : { kernelDbMissing: db.missing }),
      spec: spec.value,
      ...(spec.missing === undefined ? {} : { specMissing: spec.missing }),
    };
  });
  // Stable: built-beside files first, each file's cases together in file order.
  return [...rows.filter((r) => !r.heldOut), ...rows.filter((r) => r.heldOut)];
}

// A case whose device has no table is priced by the calibrated model again: not a kernel-database figure.
const kernelDbFromTables = (r: PublishedMethodRow): number | null => (r.kernelDbTableShare > 0 ? r.kernelDb : null);

const errorPct = (predicted: number | null, published: number): number | null => (predicted === null ? null : Math.round((predicted / published - 1) * 1000) / 10);

/**
 * Published-case rows as a table: published, each method's prediction (in the case's
 * unit, the last column) and its error in percent, with readable headers, and which
 * kernel tables priced the kernel-database column (`framework` names them for rows that
 * do not say); '–' where a method cannot price a case (and for the kernel database where
 * it holds no table of the device).
 *
 * @example
 * showTable(publishedMethodTable(publishedMethodRows()))
 */
export function publishedMethodTable(rows: readonly PublishedMethodRow[], framework?: string): Array<Record<string, string | number>> {
  // Three significant digits at least: a latency of 25.7 ms keeps its decimal, a throughput of 6,920 tokens/s none.
  const n = (x: number | null): string | number => (x === null ? '–' : Math.abs(x) >= 100 ? Math.round(x) : Number(x.toPrecision(3)));
  return rows.map((r) => {
    const db = kernelDbFromTables(r);
    return {
      group: r.heldOut ? 'held out' : 'built beside',
      case: r.id,
      published: n(r.published),
      calibrated: n(r.calibrated),
      'calibrated error %': errorPct(r.calibrated, r.published) as number,
      'kernel db': r.kernelDb !== null && db === null ? `– (no ${r.hardware} table)` : n(db),
      'kernel db error %': errorPct(db, r.published) ?? '–',
      'kernel tables': r.kernelDbTables ?? framework ?? '–',
      'kernel calls from tables %': Math.round(r.kernelDbTableShare * 100),
      'datasheet bound': n(r.spec),
      'bound / published': r.spec === null ? '–' : Math.round((r.spec / r.published) * 100) / 100,
      unit: r.unit,
    };
  });
}

/**
 * How each method fares, computed from the rows, one sentence per group (built beside,
 * held out): cases within ±`tolerance` (default 25 %) for the calibrated model and the
 * kernel database (of those it prices, with how many cases each framework's tables
 * priced, or `framework` for rows that do not say), median |error|, and how many
 * datasheet bounds sit above the published figure, as a bound should.
 *
 * @example
 * showMarkdown(publishedMethodSummary(publishedMethodRows()))
 */
export function publishedMethodSummary(rows: readonly PublishedMethodRow[], tolerance = 0.25, framework?: string): string {
  checkNumber('tolerance', tolerance, { min: 0, exclusiveMin: true, max: 10 });
  if (!Array.isArray(rows) || rows.length === 0) throw new InputError('rows', rows, 'a non-empty array of published method rows');
  const tol = `±${(tolerance * 100).toFixed(0)} %`;
  const within = (rs: readonly PublishedMethodRow[], get: (r: PublishedMethodRow) => number | null) => {
    const priced = rs.filter((r) => get(r) !== null);
    const errs = priced.map((r) => Math.abs((get(r) as number) / r.published - 1));
    return { priced: priced.length, within: errs.filter((e) => e <= tolerance).length, median: errs.length ? median(errs) : NaN };
  };
  const med = (x: number) => `median |error| ${(x * 100).toFixed(0)} %`;
  const sentence = (name: string, rs: readonly PublishedMethodRow[]): string => {
    const cal = within(rs, (r) => r.calibrated);
    const db = within(rs, kernelDbFromTables);
    const noTable = rs.filter((r) => r.kernelDb !== null && r.kernelDbTableShare === 0);
    const spec = rs.filter((r) => r.spec !== null);
    // A bound on a throughput sits above the published figure, a bound on a time below it.
    const below = spec.filter((r) => (r.isTime ? (r.spec as number) > r.published : (r.spec as number) < r.published));
    const specIn = within(rs, (r) => r.spec);
    const hw = [...new Set(noTable.map((r) => r.hardware))].join(', ');
    // The framework of each row's tables: the label's first word ('trtllm, no sglang tables for …', 'sglang 0.5.14; the case ran …').
    const counts = new Map<string, number>();
    for (const r of rs.filter((x) => x.kernelDb !== null && x.kernelDbTableShare > 0)) {
      const first = (r.kernelDbTables ?? framework)?.split(/[ ,;]/)[0];
      if (first !== undefined) counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    const which = counts.size === 0 ? '' : counts.size === 1 ? ` (${[...counts.keys()][0]})` : ` (${[...counts].map(([f, k]) => `${f} tables for ${k}`).join(', ')})`;
    const dbPart =
      db.priced === 0
        ? `the kernel database prices none of them from its tables`
        : `the kernel database${which} ${db.within} of the ${db.priced} it prices from its tables (${med(db.median)})`;
    // A kernel of another release is another kernel: the cases that ran one are counted apart too.
    const released = (['older', 'newer'] as const).map((rel) => {
      const mine = rs.filter((r) => r.kernelDbCaseRelease === rel);
      const d = within(mine, kernelDbFromTables);
      return d.priced === 0 ? '' : ` ${d.priced} of them ran ${rel === 'older' ? 'an older' : 'a newer'} release of their framework than the tables that price them: the database puts ${d.within} of those within ${tol} (${med(d.median)})`;
    }).filter((x) => x !== '');
    const others = within(rs.filter((r) => r.kernelDbCaseRelease === undefined), kernelDbFromTables);
    const othersPart = others.priced === 0 ? '' : `; and ${others.within} of the ${others.priced} others (${med(others.median)})`;
    const releasePart = released.length === 0 ? '' : `${released.join(';')}${othersPart}.`;
    const noTablePart = noTable.length ? ` For ${noTable.length} of them (${hw}) the database holds no table, so they fall back to the calibrated model and are left out of its count.` : '';
    const belowPart = below.length
      ? ` The bound holds only at the batch each case is priced at: in ${below.length} of ${spec.length} cases the published figure beats it, so there the benchmark ran more sequences per step than the case's modelled admission gives, or less work per step than modelled.`
      : ` The bound sits above every published throughput and below every published time, as a bound should.`;
    return (
      `**${name} (${rs.length} cases):** within ${tol} of the published figure, the calibrated model puts ${cal.within} of ${cal.priced} (${med(cal.median)}), ${dbPart}, ` +
      `and the datasheet bound ${specIn.within} of ${specIn.priced}.${releasePart}${noTablePart}${belowPart}`
    );
  };
  const out: string[] = [];
  const beside = rows.filter((r) => !r.heldOut);
  const held = rows.filter((r) => r.heldOut);
  if (beside.length) out.push(sentence('Cases the calibrated model was built beside', beside));
  if (held.length) out.push(sentence('Held-out cases', held));
  return out.join('\n\n');
}
