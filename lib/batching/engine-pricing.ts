import { InputError } from '../util/errors.js';
import type { ServingStepCost } from './types.js';
import { STEP_END, type EngineState } from './engine-state.js';

/**
 * Prices the composed step (`s.work`, `s.stepSequences` sequences) that starts at t:
 * asks the step cost for its duration (and FLOPs and bytes when the cost reports
 * them), grows paged KV by the decode round's new blocks, adds the step to the totals
 * and schedules its end. Returns the duration.
 *
 * @example
 * composeStep(s, decision, t); const dt = priceStep(s, t, cost); // the step ends at t + dt
 */
export function priceStep(s: EngineState, t: number, cost: ServingStepCost): number {
  const work = s.work;
  const seqs = s.stepSequences;
  if (s.blocks && s.stepDecoding > 0) {
    s.kvUsed += s.growthNext;
    if (s.kvUsed > s.kvPeak) s.kvPeak = s.kvUsed;
  }
  const dt = cost(work);
  // ≤ 1e6 s a step: with the work cap, no sum of steps can overflow to Infinity.
  if (!(typeof dt === 'number' && dt > 0 && dt <= 1e6)) {
    throw new InputError('stepCost', dt, 'a positive number of seconds ≤ 1e6', `returned for ${JSON.stringify(work)}`);
  }
  if (cost.flops) s.flops += cost.flops(work);
  if (cost.bytes) s.bytes += cost.bytes(work);
  s.prefilled += work.prefillTokens;
  s.busy = true;
  s.pendingWake = -1;
  s.lastStepStart = t;
  s.busySeconds += dt;
  s.steps++;
  s.seqSum += seqs;
  s.batchHistogram[seqs]++;
  s.events.push(STEP_END, t + dt);
  return dt;
}
