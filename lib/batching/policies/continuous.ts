import { InputError } from '../../util/errors.js';
import type { PolicyConfigBase, ServingPolicyModule } from '../policy.js';
import { checkMaxBatch, checkPriority, iterationStep, type StepPriority } from './common.js';

/** Iteration-level (continuous) batching: every step admits what fits and prefills whole prompts. */
export interface ContinuousPolicy extends PolicyConfigBase {
  kind: 'continuous';
  maxBatch: number;
  /** 'decode-first' (default): prompts join the decode tokens of every step; 'prefill-first': a step with new prompts pauses decoding. */
  priority?: StepPriority;
}

/**
 * Continuous batching (Orca's iteration-level scheduling): before every step, queued
 * requests join first-come first-served while fewer than `maxBatch` sequences run and
 * the KV cache holds them; their prompts are prefilled whole in that step, alongside
 * one decode token for every running sequence (or, prefill-first, instead of them).
 *
 * @example
 * simulateServing({ ...config, policy: { kind: 'continuous', maxBatch: 256 } }, 1)
 */
export const continuousPolicy: ServingPolicyModule<ContinuousPolicy> = {
  kind: 'continuous',
  summary: 'iteration-level batching: newcomers join at every step boundary; whole prompts',
  reads: [],
  check(c) {
    if (!c || typeof c !== 'object') throw new InputError('policy', c, 'a continuous policy { kind, maxBatch }');
    const p = c as ContinuousPolicy;
    const out: ContinuousPolicy = { kind: 'continuous', maxBatch: checkMaxBatch(p) };
    if (p.priority !== undefined) out.priority = checkPriority(p);
    return out;
  },
  describe: (p) => `continuous, batch ≤ ${p.maxBatch}${p.priority === 'prefill-first' ? ', prefill-first' : ''}`,
  decider(p) {
    const maxBatch = p.maxBatch;
    const priority = p.priority ?? 'decode-first';
    return (view) => iterationStep(view, maxBatch, Infinity, priority);
  },
};
