import { checkInt, checkOneOf } from '../../util/validate.js';
import type { PolicyDecision, SchedulerView } from '../policy.js';

/** Bounds shared by every policy. */
export const MAX_SERVING_BATCH = 1_000_000;
export const MAX_STEP_TOKENS = 10_000_000;

/** Which work a step serves first when both wait. */
export type StepPriority = 'decode-first' | 'prefill-first';

/**
 * Nothing to run until something arrives or a step ends.
 *
 * @example
 * decide(emptyView) // => WAIT_FOR_EVENT
 */
export const WAIT_FOR_EVENT: PolicyDecision = Object.freeze({ kind: 'wait', until: Infinity }) as PolicyDecision;

export function checkMaxBatch(p: { maxBatch?: unknown }): number {
  return checkInt('policy.maxBatch', p.maxBatch, { min: 1, max: MAX_SERVING_BATCH });
}

export function checkPriority(p: { priority?: unknown }): StepPriority {
  return checkOneOf('policy.priority', p.priority ?? 'decode-first', ['decode-first', 'prefill-first'] as const);
}

/**
 * Queued requests admitted first-come first-served while the batch has room, the KV
 * cache holds them and prompt budget is left (each admitted prompt takes what it
 * needs of the budget, at least one token). Stops at the first request that does not
 * fit, so nobody overtakes the head of the queue.
 *
 * @example
 * admitFifo(view, 8, Infinity) // => how many of view's queued requests join the next step
 */
export function admitFifo(view: SchedulerView, maxBatch: number, budget: number): number {
  let k = 0;
  let free = view.kvFree;
  let b = budget;
  while (k < view.queued && view.running + k < maxBatch && b > 0) {
    const need = view.queuedKvNeed(k);
    if (need > free) break;
    free -= need;
    b -= Math.min(view.queuedPrefill(k), b);
    k++;
  }
  return k;
}

/**
 * Iteration-level batching with a per-step prompt budget (Infinity: whole prompts).
 * Decode-first: every decoding sequence takes one token of the step, prompts the rest.
 * Prefill-first: a step that has prompt work to do carries no decode tokens.
 *
 * @example
 * iterationStep(view, 256, 2048, 'decode-first') // => { kind: 'step', admit, prefillTokens: 2048 − decoding, decode: true }
 */
export function iterationStep(view: SchedulerView, maxBatch: number, stepTokens: number, priority: StepPriority): PolicyDecision {
  const prefillFirst = priority === 'prefill-first';
  const budget = prefillFirst ? stepTokens : stepTokens - view.decoding;
  const admit = admitFifo(view, maxBatch, budget - Math.min(view.prefillPending, budget));
  const prompts = view.prefilling > 0 || admit > 0;
  if (!prompts && view.decoding === 0) return WAIT_FOR_EVENT;
  return { kind: 'step', admit, prefillTokens: budget, decode: !(prefillFirst && prompts) };
}
