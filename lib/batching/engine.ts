import type { ResolvedServing } from './config.js';
import type { PolicyDecider } from './policy.js';
import type { DurationHistogram } from './metrics.js';
import type { RequestState } from './state.js';
import type { ServingStepCost } from './types.js';
import { ARRIVAL0, STEP_END, EngineState, advanceClock } from './engine-state.js';
import { absorbTies, arriveRequest, createRequest } from './engine-admission.js';
import { scheduleNext } from './engine-scheduling.js';
import { completeStep } from './engine-completion.js';

/** What the event loop leaves behind for the metrics. */
export interface EngineRun {
  state: RequestState;
  n: number;
  lastT: number;
  steps: number;
  seqSum: number;
  busySeconds: number;
  batchHistogram: Uint32Array;
  admissions: number;
  admittedTotal: number;
  emitted: number;
  prefilled: number;
  cached: number;
  recomputed: number;
  promptTotal: number;
  outputTotal: number;
  areaSystem: number;
  areaQueue: number;
  preemptions: number;
  itl: DurationHistogram;
  /** Inter-token latencies of the requests after the first `warmupRequests` (null without a warm-up). */
  itlSteady: DurationHistogram | null;
  flops: number;
  bytes: number;
  thinkSum: number;
  thinkCount: number;
  /** Most KV tokens held at once (paged: blocks × block size). */
  kvPeakTokens: number;
}

/**
 * The event loop of one replica: arrivals (open or closed loop), one engine step at a
 * time, KV accounting (reserved or paged with recompute preemption), and the policy
 * asked what to run whenever the engine is free. Deterministic: the same resolved
 * config and decider give the same run. simulateServing is the public door; this is
 * the loop behind it, for callers that bring their own decider.
 *
 * The loop is a small state machine over one EngineState: arrivals go through
 * admission (engine-admission.ts), a free engine through scheduling
 * (engine-scheduling.ts), which composes a step that step pricing
 * (engine-pricing.ts) times, and each step's end through completion
 * (engine-completion.ts).
 *
 * @example
 * const R = resolveServing(config, 1);
 * const run = runServingEngine(R, config.stepCost, servingPolicyModule('continuous').decider(R.policy));
 * run.steps;
 */
export function runServingEngine(R: ResolvedServing, cost: ServingStepCost, decide: PolicyDecider): EngineRun {
  const s = new EngineState(R);
  startArrivals(s);
  const events = s.events;
  const closed = s.closed;
  while (events.length > 0) {
    const t = events.peekValue() as number;
    const e = events.pop() as number;
    if (e >= ARRIVAL0) {
      if (!closed && e - ARRIVAL0 !== s.arrived) continue; // already absorbed as a tie
      advanceClock(s, t);
      arriveRequest(s, e - ARRIVAL0);
      absorbTies(s, t);
      scheduleNext(s, t, decide, cost);
    } else if (e === STEP_END) {
      advanceClock(s, t);
      absorbTies(s, t);
      completeStep(s, t);
      absorbTies(s, t);
      scheduleNext(s, t, decide, cost);
    } else {
      if (t !== s.pendingWake) continue; // superseded by a step that started earlier
      advanceClock(s, t);
      absorbTies(s, t);
      s.pendingWake = -1;
      scheduleNext(s, t, decide, cost);
    }
  }
  return engineRun(s);
}

/**
 * Schedules the first arrivals: every closed-loop client's first request at t = 0, or
 * the open loop's first arrival (each arrival then draws the next).
 *
 * @example
 * startArrivals(s); s.events.length // => clients (closed) or 1 (open)
 */
export function startArrivals(s: EngineState): void {
  if (s.closed) {
    for (let c = 0; c < Math.min(s.R.clients, s.n); c++) createRequest(s, 0);
  } else {
    createRequest(s, s.R.nextArrival());
  }
}

/**
 * The totals of a finished run, after checking that every request finished and every
 * KV unit came back.
 *
 * @example
 * engineRun(s).steps
 */
export function engineRun(s: EngineState): EngineRun {
  const n = s.n;
  // Config validation guarantees every request fits the KV capacity alone, so the
  // engine can always admit the head of the queue once it drains; anything else is a bug.
  if (s.completed !== n) throw new Error(`simulateServing: ${n - s.completed} of ${n} requests never finished (simulator invariant broken)`);
  if (s.kvUsed !== 0) throw new Error(`simulateServing: ${s.kvUsed} KV units still held after the last request (simulator invariant broken)`);
  return {
    state: s.req,
    n,
    lastT: s.lastT,
    batchHistogram: s.batchHistogram,
    areaSystem: s.areaSystem,
    areaQueue: s.areaQueue,
    itl: s.itl,
    itlSteady: s.itlSteady,
    kvPeakTokens: s.blocks ? s.kvPeak * s.blockTokens : s.kvPeak,
    steps: s.steps,
    seqSum: s.seqSum,
    busySeconds: s.busySeconds,
    admissions: s.admissions,
    admittedTotal: s.admittedTotal,
    emitted: s.emitted,
    prefilled: s.prefilled,
    cached: s.cached,
    // Every prefill token beyond each prompt's one uncached pass was computed again after a preemption.
    recomputed: s.prefilled - (s.promptTotal - s.cached),
    promptTotal: s.promptTotal,
    outputTotal: s.outputTotal,
    preemptions: s.preemptions,
    flops: s.flops,
    bytes: s.bytes,
    thinkSum: s.thinkSum,
    thinkCount: s.thinkCount,
  };
}
