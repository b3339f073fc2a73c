import { InputError } from '../../util/errors.js';
import { checkInt } from '../../util/validate.js';
import type { PolicyConfigBase, ServingPolicyModule } from '../policy.js';
import { MAX_STEP_TOKENS, checkMaxBatch, checkPriority, iterationStep, type StepPriority } from './common.js';

/** Continuous batching under a per-step token cap, prompts split into chunks. */
export interface ChunkedPolicy extends PolicyConfigBase {
  kind: 'chunked';
  maxBatch: number;
  /** Tokens per step, prefill and decode together (vLLM's max_num_batched_tokens); at least maxBatch. */
  tokenBudget: number;
  /** 'decode-first' (default): decodes take their token first, prompt chunks the rest; 'prefill-first': a step with prompt chunks pauses decoding. */
  priority?: StepPriority;
  /**
   * Never split a prompt: admit a request only when the step's budget left holds its
   * whole prompt (TensorRT-LLM with chunked context off, where max_num_tokens bounds
   * each step). Needs every prompt within `tokenBudget` and kvAdmission 'reserve'.
   */
  wholePrompts?: boolean;
}

/**
 * Chunked prefill (Sarathi-Serve; vLLM's default scheduler): every step carries at most
 * `tokenBudget` tokens. Decode-first, every running decode takes one and the rest goes
 * to prompt chunks, first-come first-served; a queued request is admitted only when
 * budget is left for its first chunk.
 *
 * @example
 * simulateServing({ ...config, policy: { kind: 'chunked', maxBatch: 256, tokenBudget: 2048 } }, 1)
 */
export const chunkedPolicy: ServingPolicyModule<ChunkedPolicy> = {
  kind: 'chunked',
  summary: 'continuous batching with a per-step token cap; prompts prefilled in chunks',
  reads: ['tokenBudget'],
  check(c) {
    if (!c || typeof c !== 'object') throw new InputError('policy', c, 'a chunked policy { kind, maxBatch, tokenBudget }');
    const p = c as ChunkedPolicy;
    const maxBatch = checkMaxBatch(p);
    // Every running decode needs one token of the budget, so a budget below the batch
    // limit could leave a free slot with no room to prefill into it.
    const tokenBudget = checkInt('policy.tokenBudget', p.tokenBudget, { min: Math.max(1, maxBatch), max: MAX_STEP_TOKENS });
    const out: ChunkedPolicy = { kind: 'chunked', maxBatch, tokenBudget };
    if (p.priority !== undefined) out.priority = checkPriority(p);
    if (p.wholePrompts !== undefined) {
      if (typeof p.wholePrompts !== 'boolean') throw new InputError('policy.wholePrompts', p.wholePrompts, 'true or false');
      if (p.wholePrompts) out.wholePrompts = true;
    }
    return out;
  },
  describe: (p) => `${p.wholePrompts ? 'whole prompts' : 'chunked prefill'}, budget ${p.tokenBudget} tok/step, batch ≤ ${p.maxBatch}${p.priority === 'prefill-first' ? ', prefill-first' : ''}`,
  decider(p) {
    const { maxBatch, tokenBudget } = p;
    const priority = p.priority ?? 'decode-first';
    const whole = p.wholePrompts === true;
    return (view) => iterationStep(view, maxBatch, tokenBudget, priority, whole);
  },
};
