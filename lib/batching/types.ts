import type { StepCostFn } from '../core/types.js';

/** How requests arrive. Rates are requests per second of simulated time. */
export type ServingArrivalSpec =
  | { kind: 'poisson'; ratePerSecond: number }
  /** Gamma inter-arrival times with mean 1/rate and coefficient of variation `cv` (cv > 1 is burstier than Poisson). */
  | { kind: 'gamma'; ratePerSecond: number; cv: number }
  /** Every request at t = 0: a saturated queue, for measuring capacity. */
  | { kind: 'burst' }
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
 * A scheduling policy for one replica.
 *
 * - `window`: a tick fires every `windowMs` of simulated time (at W, 2W, ...; the first
 *   request arrives at t = 0).
 *   At a tick that finds the engine idle, up to `maxBatch` queued requests (FIFO, within
 *   the KV capacity) are dispatched as one static batch; the batch is also dispatched
 *   as soon as `maxBatch` requests are queued while the engine is idle. A dispatched
 *   batch runs one prefill step for all its prompts (which emits every first token),
 *   then decode steps until its longest output is done; finished sequences leave the
 *   batch but nothing joins it. Ticks that find the engine busy are skipped, so requests
 *   arriving during a batch wait for the first tick after it drains.
 * - `continuous`: iteration-level batching. Before every step the scheduler admits
 *   queued requests FIFO while fewer than `maxBatch` sequences run and the KV capacity
 *   holds their full context; admitted prompts are prefilled whole in that step,
 *   alongside one decode token for every running sequence.
 * - `chunked`: continuous batching whose steps carry at most `tokenBudget` tokens:
 *   every running decode takes one, and the rest goes to prompt chunks, FIFO. A queued
 *   request is admitted only when budget is left for its first chunk.
 */
export type ServingPolicy =
  | { kind: 'window'; windowMs: number; maxBatch: number }
  | { kind: 'continuous'; maxBatch: number }
  | { kind: 'chunked'; maxBatch: number; tokenBudget: number };

export type ServingPolicyKind = ServingPolicy['kind'];

/** A step cost function that may carry a human-readable label (its provenance). */
export type ServingStepCost = StepCostFn & { label?: string };

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
  /** Keep per-request timestamps in the result (default true). */
  keepRequests?: boolean;
}

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
  /** Time per output token after the first; null when every output is a single token. */
  tpot: ServingLatencyStats | null;
  /** End-to-end latency: arrival to last token. */
  e2e: ServingLatencyStats;
  /** Fraction of the makespan the engine was running a step. */
  utilisation: number;
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
  tokens: { prompt: number; output: number; emitted: number; prefilled: number };
  requestLog?: ServingRequestLog;
  provenance: { config: string; seed: number; cost: string };
}
