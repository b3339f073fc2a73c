import { InputError } from '../../util/errors.js';
import { checkInt, checkOneOf } from '../../util/validate.js';
import type { PolicyDecision, SchedulerView } from '../policy.js';

/** Bounds shared by every policy. */
/** Largest batch a policy may ask for: it bounds the per-step arrays. */
export const MAX_SERVING_BATCH = 1_000_000;
export const MAX_STEP_TOKENS = 10_000_000;
/** Shortest non-zero collection window: below a microsecond the tick times underflow. */
export const MIN_WINDOW_MS = 1e-3;

/** Which work a step serves first when both wait. */
export type StepPriority = 'decode-first' | 'prefill-first';

/**
 * Nothing to run until something arrives or a step ends.
 *
 * @example
 * decide(emptyView) // => WAIT_FOR_EVENT
 */
export const WAIT_FOR_EVENT: PolicyDecision = Object.freeze({ kind: 'wait', until: Infinity }) as PolicyDecision;

/** A tick window: 0 (continuous batching) or at least MIN_WINDOW_MS, at most an hour. */
export function checkWindowMs(w: unknown): number {
  if (w === 0) return 0;
  const ok = typeof w === 'number' && Number.isFinite(w) && w >= MIN_WINDOW_MS && w <= 3.6e6;
  if (!ok) throw new InputError('policy.windowMs', w, `0, or a number in [${MIN_WINDOW_MS}, 3600000]`);
  return w as number;
}

export function checkMaxBatch(p: { maxBatch?: unknown }): number {
  return checkInt('policy.maxBatch', p.maxBatch, { min: 1, max: MAX_SERVING_BATCH });
}

export function checkPriority(p: { priority?: unknown }): StepPriority {
  return checkOneOf('policy.priority', p.priority ?? 'decode-first', ['decode-first', 'prefill-first'] as const);
}

/**
 * Queued requests admitted first-come first-served while the batch has room, the KV
 * cache holds them and prompt budget is left (each admitted prompt takes what it
 * needs of the budget, at least one token; with `whole`, only a prompt the budget left
 * holds entirely is admitted). Stops at the first request that does not fit, so nobody
 * overtakes the head of the queue.
 *
 * @example
 * admitFifo(view, 8, Infinity) // => how many of view's queued requests join the next step
 */
export function admitFifo(view: SchedulerView, maxBatch: number, budget: number, whole = false): number {
  let k = 0;
  let free = view.kvFree;
  let b = budget;
  while (k < view.queued && view.running + k < maxBatch && b > 0) {
    const need = view.queuedKvNeed(k);
    if (need > free) break;
    const prefill = view.queuedPrefill(k);
    if (whole && prefill > b) break;
    free -= need;
    b -= Math.min(prefill, b);
    k++;
  }
  return k;
}

/**
 * Iteration-level batching with a per-step prompt budget (Infinity: whole prompts).
 * Decode-first: every decoding sequence takes one token of the step, prompts the rest.
 * Prefill-first: a step that has prompt work to do carries no decode tokens. With
 * `wholePrompts`, a prompt is admitted only when the step's budget left holds all of it.
 *
 * @example
 * iterationStep(view, 256, 2048, 'decode-first') // => { kind: 'step', admit, prefillTokens: 2048 − decoding, decode: true }
 */
export function iterationStep(view: SchedulerView, maxBatch: number, stepTokens: number, priority: StepPriority, wholePrompts = false): PolicyDecision {
  const prefillFirst = priority === 'prefill-first';
  const budget = prefillFirst ? stepTokens : stepTokens - view.decoding;
  const admit = admitFifo(view, maxBatch, budget - Math.min(view.prefillPending, budget), wholePrompts);
  const prompts = view.prefilling > 0 || admit > 0;
  if (!prompts && view.decoding === 0) return WAIT_FOR_EVENT;
  return { kind: 'step', admit, prefillTokens: budget, decode: !(prefillFirst && prompts) };
}
