import { prefillAttentionPairs } from '../core/matmul.js';
import type { PolicyDecider, PolicyDecision } from './policy.js';
import type { ServingStepCost } from './types.js';
import { admitQueued } from './engine-admission.js';
import { priceStep } from './engine-pricing.js';
import { WAKE, growthKey, heldBlocks, unlinkRunning, type EngineState } from './engine-state.js';

/**
 * Preempts running request r (paged KV): its blocks are freed, its emitted tokens
 * kept, and it goes back to the front of the queue to be recomputed when readmitted.
 *
 * @example
 * preempt(s, s.runTail); s.preemptions // => one more
 */
export function preempt(s: EngineState, r: number): void {
  unlinkRunning(s, r);
  s.kvUsed -= heldBlocks(s, r);
  if (s.req.phase[r] === 2) {
    const g = s.req.generated[r] + s.decodeRounds - s.req.joinRound[r];
    const measured = r >= s.measureFrom ? 1 : 0;
    s.decoding--;
    s.decodingM -= measured;
    s.contextSum -= s.req.prompt[r] + g;
    s.bucket[growthKey(s, r)]--;
    if (s.req.joinTime[r] > s.lastDecodeEnd) {
      const tj = s.req.joinTime[r];
      let gi = 0;
      while (s.groupTime[gi] !== tj) gi++;
      s.groupCount[gi]--;
      s.groupM[gi] -= measured;
    } else {
      s.mainCount--;
      s.mainM -= measured;
      s.req.joinTime[r] = s.lastDecodeEnd;
    }
    s.req.generated[r] = g;
    s.req.finishRound[r] = -1;
  } else {
    // Only the latest-admitted running sequence is taken, so a prefilling one is the ring's last.
    s.prefillRing.popBack();
    s.prefillPending -= s.req.prefillLeft[r];
  }
  s.running--;
  s.req.phase[r] = 4;
  s.queue.pushFront(r);
  s.preemptions++;
}

/**
 * Paged KV: the next decode round's new blocks come first; when they do not fit, the
 * latest-admitted sequences give theirs back (preempt) until they do.
 *
 * @example
 * makeRoomForDecode(s); s.growthNext <= s.kvCap - s.kvUsed // => true
 */
export function makeRoomForDecode(s: EngineState): void {
  const B = s.blockTokens;
  s.growthNext = s.decoding > 0 ? s.bucket[(s.decodeRounds + 1) % B] : 0;
  while (s.growthNext > s.kvCap - s.kvUsed && s.runTail >= 0) {
    preempt(s, s.runTail);
    s.growthNext = s.decoding > 0 ? s.bucket[(s.decodeRounds + 1) % B] : 0;
  }
}

/**
 * Writes the scheduler view of the state at t (the policy's only input).
 *
 * @example
 * const d = decide(refreshView(s, t));
 */
export function refreshView(s: EngineState, t: number): EngineState['view'] {
  const view = s.view;
  view.now = t;
  view.lastStepStart = s.lastStepStart;
  view.lastStepEnd = s.lastStepEnd;
  view.queued = s.queue.length;
  view.running = s.running;
  view.decoding = s.decoding;
  view.prefilling = s.prefillRing.length;
  view.prefillPending = s.prefillPending;
  view.kvFree = s.kvCap - s.kvUsed - s.growthNext;
  return view;
}

/**
 * Carries out a policy's step decision at t: admits its requests, hands its prefill
 * budget to the prompts first-come first-served (each takes what it has left) and
 * writes the step's work into `s.work` (a decode-only step's batch padded to the next
 * CUDA-graph size when the run has them). Returns the number of sequences in the step;
 * 0 means the step has no token in it and is not run. Throws when the policy asked
 * for more than the queue or the batch limit allows.
 *
 * @example
 * const seqs = composeStep(s, { kind: 'step', admit: 1, prefillTokens: 512, decode: true }, t);
 * s.work.prefillTokens // => up to 512
 */
export function composeStep(s: EngineState, d: PolicyDecision & { kind: 'step' }, t: number): number {
  const k = d.admit;
  if (!(Number.isInteger(k) && k >= 0 && k <= s.queue.length && s.running + k <= s.maxBatch) || !(d.prefillTokens >= 0)) {
    throw new Error(`policy ${s.R.policy.kind} asked for an impossible step ${JSON.stringify(d)} with ${s.queue.length} queued and ${s.running} running`);
  }
  admitQueued(s, k, t);
  const ring = s.prefillRing;
  const prefillLeft = s.req.prefillLeft;
  const kvTokens = s.req.kvTokens;
  let budget = d.prefillTokens;
  let prefillTokens = 0;
  let chunks = 0;
  let pairs = 0;
  for (let i = 0; i < ring.length && budget > 0; i++) {
    const r = ring.at(i);
    const give = Math.min(prefillLeft[r], budget);
    prefillLeft[r] -= give;
    pairs += prefillAttentionPairs(give, kvTokens[r]);
    kvTokens[r] += give;
    prefillTokens += give;
    budget -= give;
    chunks++;
  }
  s.prefillPending -= prefillTokens;
  const decoding = d.decode ? s.decoding : 0;
  s.stepDecoding = decoding;
  s.stepDecodingM = decoding > 0 ? s.decodingM : 0;
  const w = s.work;
  w.prefillTokens = prefillTokens;
  // A decode-only step replays the captured graph of the next size up: priced padded.
  const pad = s.padTo;
  w.decodeTokens = pad !== null && prefillTokens === 0 && decoding < pad.length ? pad[decoding] : decoding;
  w.contextTokens = decoding > 0 ? s.contextSum : 0;
  w.prefillSequences = chunks;
  w.prefillAttentionPairs = pairs;
  s.stepSequences = decoding + chunks;
  return s.stepSequences;
}

/**
 * The engine is free at t: make room for the next decode round, ask the policy, and
 * start the step it asks for (or set the wake-up it asks for). Does nothing while a
 * step is in flight.
 *
 * @example
 * scheduleNext(s, t, decide, cost); s.busy // => true when the policy started a step
 */
export function scheduleNext(s: EngineState, t: number, decide: PolicyDecider, cost: ServingStepCost): void {
  if (s.busy) return;
  if (s.blocks) makeRoomForDecode(s);
  const d = decide(refreshView(s, t));
  if (d.kind === 'step') {
    if (composeStep(s, d, t) > 0) priceStep(s, t, cost);
  } else if (d.until > t && d.until < Infinity && d.until !== s.pendingWake) {
    s.pendingWake = d.until;
    s.events.push(WAKE, d.until);
  }
}
