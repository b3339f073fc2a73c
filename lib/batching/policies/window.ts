import { InputError } from '../../util/errors.js';
import { checkNumber } from '../../util/validate.js';
import type { PolicyConfigBase, ServingPolicyModule } from '../policy.js';
import { WAIT_FOR_EVENT, checkMaxBatch, checkWindowMs, checkPriority, iterationStep, type StepPriority } from './common.js';

/** The essay's tick-level collection window. */
export interface WindowPolicy extends PolicyConfigBase {
  kind: 'window';
  /** Least time between the starts of two ticks, ms; 0 is continuous batching. */
  windowMs: number;
  maxBatch: number;
  priority?: StepPriority;
}

/**
 * Tick-level collection window, the serving model of the essay: one queue holds the
 * work items, a new request's prompt and, after every step, the next decode token of
 * each running sequence. A tick (one engine step) starts once `windowMs` has passed
 * since the previous tick started and the engine is free, or as soon as the batch
 * limit is reached (running plus queued sequences ≥ maxBatch), and takes everything
 * queued up to the limits. With W = 0 it is continuous batching, step for step.
 *
 * @example
 * simulateServing({ ...config, policy: { kind: 'window', windowMs: 50, maxBatch: 256 } }, 1).itl
 */
export const windowPolicy: ServingPolicyModule<WindowPolicy> = {
  kind: 'window',
  summary: 'tick-level window: a step at most every W, taking every queued prompt and decode token',
  reads: ['windowMs'],
  check(c) {
    if (!c || typeof c !== 'object') throw new InputError('policy', c, 'a window policy { kind, windowMs, maxBatch }');
    const p = c as WindowPolicy;
    const out: WindowPolicy = { kind: 'window', windowMs: checkWindowMs(p.windowMs), maxBatch: checkMaxBatch(p) };
    if (p.priority !== undefined) out.priority = checkPriority(p);
    return out;
  },
  describe: (p) => `tick window ${p.windowMs} ms, batch ≤ ${p.maxBatch}${p.priority === 'prefill-first' ? ', prefill-first' : ''}`,
  decider(p) {
    const w = p.windowMs / 1000;
    const maxBatch = p.maxBatch;
    const priority = p.priority ?? 'decode-first';
    // One wait decision, rewritten on each call: the engine reads it before asking again, and
    // a window run asks about three times per step (most answers are this wait).
    const wait = { kind: 'wait' as const, until: 0 };
    return (view) => {
      if (view.running === 0 && view.queued === 0) return WAIT_FOR_EVENT;
      const due = view.lastStepStart + w;
      if (view.now < due && view.running + view.queued < maxBatch) {
        wait.until = due;
        return wait;
      }
      return iterationStep(view, maxBatch, Infinity, priority);
    };
  },
};
