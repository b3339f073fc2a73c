import { InputError } from '../../util/errors.js';
import { checkNumber } from '../../util/validate.js';
import type { PolicyConfigBase, ServingPolicyModule, SchedulerView } from '../policy.js';
import { MIN_WINDOW_MS, WAIT_FOR_EVENT, admitFifo, checkMaxBatch } from './common.js';

/** Request-level (static) batching behind a collection window. */
export interface StaticPolicy extends PolicyConfigBase {
  kind: 'static';
  /** Tick period, ms: ticks fire at W, 2W, ... of the clock. */
  windowMs: number;
  maxBatch: number;
}

/** The first tick at or after t, never before W: ticks fire at W, 2W, ... */
function gridTick(t: number, w: number): number {
  const k = Math.max(1, Math.ceil(t / w));
  const tick = k * w;
  return tick < t ? (k + 1) * w : tick;
}

/**
 * Static (request-level) batching, as simple servers and offline jobs do it: a tick
 * fires every `windowMs` (at W, 2W, ...). A tick that finds the engine idle dispatches
 * up to `maxBatch` queued requests (first-come first-served, within the KV capacity)
 * as one batch; the batch is also dispatched as soon as `maxBatch` requests are queued
 * while the engine is idle. A batch runs one prefill step for all its prompts, then
 * decode steps until its longest output is done; finished sequences leave but nothing
 * joins, so requests arriving during a batch wait for the first tick after it drains.
 *
 * @example
 * servingPolicyModule('static').decider({ kind: 'static', windowMs: 50, maxBatch: 64 })
 */
export const staticPolicy: ServingPolicyModule<StaticPolicy> = {
  kind: 'static',
  summary: 'request-level batching: a window collects a batch that runs to completion before the next',
  reads: ['windowMs'],
  check(c) {
    if (!c || typeof c !== 'object') throw new InputError('policy', c, 'a static policy { kind, windowMs, maxBatch }');
    const p = c as StaticPolicy;
    return { kind: 'static', windowMs: checkNumber('policy.windowMs', p.windowMs, { min: MIN_WINDOW_MS, max: 3.6e6 }), maxBatch: checkMaxBatch(p) };
  },
  describe: (p) => `static window ${p.windowMs} ms, batch ≤ ${p.maxBatch}`,
  decider(p) {
    const w = p.windowMs / 1000;
    const maxBatch = p.maxBatch;
    const dispatch = (view: SchedulerView) => ({ kind: 'step' as const, admit: admitFifo(view, maxBatch, Infinity), prefillTokens: Infinity, decode: true });
    return (view) => {
      if (view.running > 0) return { kind: 'step', admit: 0, prefillTokens: Infinity, decode: true };
      if (view.queued === 0) return WAIT_FOR_EVENT;
      if (view.queued >= maxBatch) return dispatch(view);
      // The window opened when the engine was first idle with someone waiting.
      const tick = gridTick(Math.max(view.lastStepEnd, view.queuedArrival(0)), w);
      return view.now >= tick ? dispatch(view) : { kind: 'wait', until: tick };
    };
  },
};
