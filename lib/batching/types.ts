import type { StepCostFn, StepWork } from '../core/types.js';
import type { StaticPolicy, WindowPolicy, ContinuousPolicy, ChunkedPolicy } from './policies/index.js';
import type { EngineDevice, ServingEngineName, ServingEnginePreset } from './engines.js';

/** How requests arrive. Rates are requests per second of simulated time. */
export type ServingArrivalSpec =
  | { kind: 'poisson'; ratePerSecond: number }
  /** Gamma inter-arrival times with mean 1/rate and coefficient of variation `cv` (cv > 1 is burstier than Poisson). */
  | { kind: 'gamma'; ratePerSecond: number; cv: number }
  /** Every request at t = 0: an offline batch, or a saturated queue for measuring capacity. */
  | { kind: 'burst' }
  /**
   * Closed loop: `clients` users, each sending its next request when its previous one
   * has finished and it has thought for `thinkSeconds` (fixed, or exponential with that
   * mean); all start at t = 0. How benchmark tools load a server at a concurrency.
   */
  | { kind: 'closed'; clients: number; thinkSeconds?: number; think?: 'fixed' | 'exponential' }
  /** Replay of a parsed trace; its prompt and output lengths are used as well. */
  | { kind: 'trace'; trace: ServingTrace };

/** Token counts per request, drawn independently for every request. */
export type ServingLengthSpec =
  | { kind: 'fixed'; tokens: number }
  /** Uniform integers in [min, max]. */
  | { kind: 'uniform'; min: number; max: number }
  /** round(median · e^(sigma·Z)), clamped to [1, max]: the usual long-tailed length model. */
  | { kind: 'lognormal'; median: number; sigma: number; max: number };

/**
 * A scheduling policy for one replica: the config of one registered policy module
 * (see lib/batching/policies and ServingPolicyModule).
 *
 * - `static`: request-level batching behind a window. A tick fires every `windowMs`
 *   (at W, 2W, ...); a tick that finds the engine idle dispatches up to `maxBatch`
 *   queued requests as one batch, which runs to completion (its longest output)
 *   before anyone joins; the batch also goes as soon as `maxBatch` requests are queued.
 * - `window`: the essay's tick-level window. Every step's work items (new prompts and
 *   one decode token per running sequence) queue; a tick starts once `windowMs` has
 *   passed since the previous tick started and the engine is free, or at once when the
 *   batch limit is reached, and takes everything queued. `windowMs: 0` is `continuous`.
 * - `continuous`: iteration-level batching. Before every step the scheduler admits
 *   queued requests FIFO while fewer than `maxBatch` sequences run and the KV cache
 *   holds them; admitted prompts are prefilled whole in that step, alongside one
 *   decode token for every running sequence.
 * - `chunked`: continuous batching whose steps carry at most `tokenBudget` tokens:
 *   every running decode takes one, and the rest goes to prompt chunks, FIFO. A queued
 *   request is admitted only when budget is left for its first chunk.
 *
 * `priority: 'prefill-first'` (window, continuous, chunked) pauses decoding in steps
 * that carry prompt work, as schedulers without chunked prefill do.
 */
export type ServingPolicy = StaticPolicy | WindowPolicy | ContinuousPolicy | ChunkedPolicy;

/** The name of a registered scheduling policy: `static`, `window`, `continuous` or `chunked`. */
export type ServingPolicyKind = ServingPolicy['kind'];

/**
 * A step cost function that may carry a human-readable label (its provenance) and,
 * optionally, the FLOPs and bytes of a step with the peaks they are measured against,
 * from which a run reports its model FLOP utilisation and bandwidth utilisation.
 */
export type ServingStepCost = StepCostFn & {
  label?: string;
  /** FLOPs of one step's work. */
  flops?: (work: StepWork) => number;
  /** Bytes one step moves to and from memory. */
  bytes?: (work: StepWork) => number;
  /** Spec peaks of the replica (all devices together). */
  peakFlopsPerSecond?: number;
  peakBytesPerSecond?: number;
  /**
   * The device the steps run on (set by `catalogServingReplica`): an engine preset named by
   * its name, or the default engine of a configuration with no policy, takes that device's
   * defaults (memory, tensor parallelism), as `batchlab simulate --engine` does.
   */
  device?: EngineDevice;
};

/** Latency limits a request must meet to count towards goodput. */
export interface ServingSlo {
  /** Time to first token, seconds. */
  ttftSeconds: number;
  /** Mean time per output token after the first, seconds. */
  tpotSeconds: number;
}

/** Everything one simulation run needs besides the seed. */
export interface ServingConfig {
  arrivals: ServingArrivalSpec;
  /** Number of requests to simulate; for a trace, at most its length (default: all rows). */
  requests?: number;
  /** Prompt lengths (ignored for a trace). */
  promptTokens?: ServingLengthSpec;
  /** Output lengths, at least 1 token (ignored for a trace). */
  outputTokens?: ServingLengthSpec;
  policy: ServingPolicy;
  /**
   * A serving engine's preset (servingEnginePreset): its policy and, unless
   * `kvAdmission` is given, its KV admission. Only in a ServingEngineConfig, without `policy`.
   */
  engine?: ServingEngineName | ServingEnginePreset;
  /** Seconds per engine step. */
  stepCost: ServingStepCost;
  /** Where the step cost comes from; defaults to `stepCost.label`. */
  costLabel?: string;
  /**
   * KV-cache capacity of the replica in tokens. A sequence reserves prompt + output
   * tokens when admitted (so no sequence is ever preempted) and frees them when it
   * finishes. Default: unlimited.
   */
  kvCapacityTokens?: number;
  /**
   * How the KV cache admits sequences. `reserve` (default): a sequence reserves
   * prompt + output tokens when admitted, so none is ever preempted. `blocks`: paged
   * KV as vLLM allocates it; a sequence holds ceil(tokens / kvBlockTokens) blocks of
   * what it has actually written, a request is admitted when its prompt's blocks are
   * free, and when decoding runs out of blocks the latest-admitted sequences are
   * preempted and recomputed later (their prompt and generated tokens prefilled again).
   */
  kvAdmission?: 'reserve' | 'blocks';
  /** Tokens per KV block under `blocks` admission (default: the engine preset's, e.g. 64 for vLLM 0.34, else 16). */
  kvBlockTokens?: number;
  /**
   * Fraction of every prompt found in a prefix cache, in [0, 1]: cached tokens skip
   * prefill compute (at least the last prompt token is always computed) but occupy KV.
   */
  prefixCacheHitRatio?: number;
  /**
   * Batch sizes with a captured CUDA graph, ascending: a step that only decodes D
   * sequences, D at most the largest, is priced as the smallest size ≥ D (the padded
   * graph the engine replays). Default: an engine preset's sizes, else none.
   */
  decodeGraphSizes?: number[];
  /** Limits for goodput (requests per second that meet both); absent: no goodput. */
  slo?: ServingSlo;
  /** Keep per-request timestamps in the result (default true). */
  keepRequests?: boolean;
  /**
   * Requests a benchmark leaves out as warm-up: the first `warmupRequests` sent (default
   * 0). The run then also keeps the inter-token latencies of the other requests alone
   * (`itlAfterWarmup`), so their median and p99 exclude the warm-up exactly.
   */
  warmupRequests?: number;
}

/**
 * A ServingConfig whose policy comes from an engine preset: `engine`'s, or vLLM's when
 * `engine` is absent too, so an unconfigured simulation schedules as a default vLLM
 * server.
 */
export type ServingEngineConfig = Omit<ServingConfig, 'policy'> & { policy?: undefined };

/** A replayable arrival trace: one row per request, timestamps in seconds. */
export interface ServingTrace {
  timestamps: Float64Array;
  promptTokens: Int32Array;
  outputTokens: Int32Array;
  /** File name or description of where the trace came from. */
  source: string;
}

/** Summary of one latency metric, seconds. */
export interface ServingLatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Per-request timestamps (seconds of simulated time), indexed by arrival order. */
export interface ServingRequestLog {
  arrival: Float64Array;
  /** When the request was admitted into a batch (its wait ends). */
  admitted: Float64Array;
  firstToken: Float64Array;
  finish: Float64Array;
  promptTokens: Int32Array;
  outputTokens: Int32Array;
}

/** The outcome of one simulation run. */
export interface ServingResult {
  requests: number;
  /** First arrival to last completion, seconds. */
  makespanSeconds: number;
  throughputRequestsPerSecond: number;
  /** Output tokens per second. */
  throughputTokensPerSecond: number;
  /** Queue wait: arrival to admission. */
  wait: ServingLatencyStats;
  /** Time to first token: arrival to the end of the step that finished the prompt. */
  ttft: ServingLatencyStats;
  /** Time per output token after the first, one value per request; null when every output is a single token. */
  tpot: ServingLatencyStats | null;
  /**
   * Inter-token latency, one value per output token after a request's first: the time
   * since the same request's previous token. Mean and max are exact; quantiles come
   * from a log histogram with bins 0.1 % wide. Null when every output is one token.
   */
  itl: ServingLatencyStats | null;
  /** `itl` over the requests after the first `warmupRequests` sent; present when the config asked for a warm-up. */
  itlAfterWarmup?: { warmupRequests: number; itl: ServingLatencyStats | null };
  /** End-to-end latency: arrival to last token. */
  e2e: ServingLatencyStats;
  /** Fraction of the makespan the engine was running a step. */
  utilisation: number;
  /** Engine busy seconds per 1,000 output tokens: what a token costs in engine time. */
  busySecondsPer1kTokens: number;
  /** Achieved FLOP/s over busy time against the cost's peak (null when the cost reports no FLOPs). */
  mfu: number | null;
  /** Achieved bytes/s over busy time against the cost's peak bandwidth (null when the cost reports no bytes). */
  bandwidthUtilisation: number | null;
  /** Requests per second (over the makespan) that met `config.slo`; null without one. */
  goodputRps: number | null;
  /** Sequences preempted for KV blocks (each recomputed later). */
  preemptions: number;
  /** Most KV-cache tokens held at once (reserved, or paged blocks × block size). */
  kvPeakTokens: number;
  steps: number;
  /** Mean number of sequences per step (prefilling + decoding). */
  meanBatch: number;
  /** steps[b] = number of steps that carried b sequences. */
  batchHistogram: Uint32Array;
  /** Mean requests admitted per admission (for `window`: requests caught per dispatched batch). */
  meanAdmitted: number;
  admissions: number;
  /** Time-averaged number of requests in the system and in the queue (Little's law: L = λ·W). */
  meanInSystem: number;
  meanQueued: number;
  /**
   * Token accounting: prompt and output asked for; emitted output tokens; prompt tokens
   * computed by prefill (prompt − cached + recomputed); prompt tokens served from the
   * prefix cache; tokens prefilled again after a preemption.
   */
  tokens: { prompt: number; output: number; emitted: number; prefilled: number; cached: number; recomputed: number };
  requestLog?: ServingRequestLog;
  /** Closed loop: mean think time realised between a finish and the same client's next request. */
  meanThinkSeconds?: number;
  provenance: { config: string; seed: number; cost: string };
}
