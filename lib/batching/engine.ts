import FlatQueue from 'flatqueue';
import { InputError } from '../util/errors.js';
import type { StepWork } from '../core/types.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import type { ResolvedServing } from './config.js';
import type { PolicyDecider, PolicyDecision, SchedulerView } from './policy.js';
import { DurationHistogram } from './metrics.js';
import { IdRing, RequestState } from './state.js';
import type { ServingStepCost } from './types.js';

// Event ids in the queue: a step completion, a wake-up a policy asked for, or the
// arrival of request r (id r + 2).
const STEP_END = 0;
const WAKE = 1;
const ARRIVAL0 = 2;

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
 * @example
 * const R = resolveServing(config, 1);
 * const run = runServingEngine(R, config.stepCost, servingPolicyModule('continuous').decider(R.policy));
 * run.steps;
 */
export function runServingEngine(R: ResolvedServing, cost: ServingStepCost, decide: PolicyDecider): EngineRun {
  const { n, kvCapacity } = R;
  const maxBatch = R.policy.maxBatch;
  const closed = R.loop === 'closed';
  const S = new RequestState(n);
  const { arrival, admitted, firstToken, finish, prompt, output, prefillLeft, kvTokens, generated, joinRound, joinTime, finishRound, phase } = S;

  const blocks = R.kvBlocks;
  const B = R.kvBlockTokens;
  const kvCap = blocks ? Math.floor(kvCapacity / B) : kvCapacity; // in blocks or tokens
  const hit = R.prefixHit;
  const flopsOf = cost.flops;
  const bytesOf = cost.bytes;

  const events = new FlatQueue<number>();
  // Stale entries of preempted sequences can outnumber the batch, so paged KV gets a growable heap.
  const finishing = blocks ? new FlatQueue<number>() : new FlatQueue<number>(Math.min(maxBatch, n) + 1, Float64Array, Uint32Array);
  const batchHistogram = new Uint32Array(Math.min(maxBatch, n) + 1);
  const queue = new IdRing(n);
  const prefillRing = new IdRing(Math.min(maxBatch, n) + 1);
  // Admission order of running sequences (paged KV only): preemption takes the latest.
  const prev = blocks ? new Int32Array(n) : new Int32Array(0);
  const next = blocks ? new Int32Array(n) : new Int32Array(0);
  let runHead = -1;
  let runTail = -1;
  // bucket[k]: decoding sequences that need a new block in every decode round d with d mod B = k.
  const bucket = blocks ? new Int32Array(B) : new Int32Array(0);

  let created = 0; // requests drawn (open loop: one ahead of arrivals)
  let arrived = 0;
  let running = 0;
  let decoding = 0;
  let prefillPending = 0;
  let contextSum = 0; // Σ (prompt + emitted) over decoding sequences
  let kvUsed = 0; // tokens (reserve) or blocks (paged)
  let growthNext = 0;
  let kvPeak = 0;
  let inSystem = 0;
  let completed = 0;
  let busy = false;
  let pendingWake = -1;
  let lastStepStart = -Infinity;
  let lastStepEnd = -Infinity;
  let decodeRounds = 0;
  const r0 = {
    steps: 0,
    seqSum: 0,
    busySeconds: 0,
    admissions: 0,
    admittedTotal: 0,
    emitted: 0,
    prefilled: 0,
    cached: 0,
    recomputed: 0,
    promptTotal: 0,
    outputTotal: 0,
    preemptions: 0,
    flops: 0,
    bytes: 0,
    thinkSum: 0,
    thinkCount: 0,
  };
  // The step in flight.
  let stepDecoding = 0;
  // Inter-token latency groups: decoding sequences that last emitted at the end of the
  // last decode round, and those that joined since then in steps that did not decode.
  const itl = new DurationHistogram();
  let lastDecodeEnd = -Infinity;
  let mainCount = 0;
  const groupTime: number[] = [];
  const groupCount: number[] = [];
  // Time integrals for Little's law.
  let lastT = 0;
  let areaSystem = 0;
  let areaQueue = 0;

  const cachedOf = (p: number): number => (hit > 0 ? Math.min(p - 1, Math.floor(hit * p)) : 0);
  // One view, refreshed before every decision: read-only to the policy, written here.
  const view: { -readonly [K in keyof SchedulerView]: SchedulerView[K] } = {
    now: 0,
    lastStepStart: -Infinity,
    lastStepEnd: -Infinity,
    queued: 0,
    queuedPrefill(i: number): number {
      const r = queue.at(i);
      return prompt[r] + generated[r] - cachedOf(prompt[r]);
    },
    queuedKvNeed(i: number): number {
      const r = queue.at(i);
      return blocks ? Math.ceil((prompt[r] + generated[r]) / B) : prompt[r] + output[r];
    },
    queuedArrival(i: number): number {
      return arrival[queue.at(i)];
    },
    running: 0,
    decoding: 0,
    prefilling: 0,
    prefillPending: 0,
    kvFree: Infinity,
  };

  function create(t: number): void {
    const r = created++;
    const p = R.nextPrompt();
    const o = R.nextOutput();
    arrival[r] = t;
    prompt[r] = p;
    output[r] = o;
    r0.promptTotal += p;
    r0.outputTotal += o;
    events.push(ARRIVAL0 + r, t);
  }

  function draw(): void {
    create(R.nextArrival());
  }

  function advance(t: number): void {
    const dt = t - lastT;
    areaSystem += inSystem * dt;
    areaQueue += queue.length * dt;
    lastT = t;
  }

  function arrive(r: number): void {
    arrived++;
    inSystem++;
    queue.pushBack(r);
    if (!closed && created < n) draw();
  }

  // Arrivals tied with another event at t join the system first, so a request arriving
  // exactly at a step boundary or a tick is eligible for it.
  function absorbTies(t: number): void {
    if (closed) {
      while (events.length > 0 && (events.peekValue() as number) <= t && (events.peek() as number) >= ARRIVAL0) arrive((events.pop() as number) - ARRIVAL0);
    } else {
      while (arrived < created && arrival[arrived] <= t) arrive(arrived);
    }
  }

  // A decoding sequence has written the KV of its prompt and of every emitted token but
  // the last; each decode round writes one more. A prefilling one holds its whole prefill.
  function heldBlocks(r: number): number {
    if (phase[r] === 2) return Math.ceil((prompt[r] + generated[r] - 1 + decodeRounds - joinRound[r]) / B);
    return Math.ceil((prompt[r] + generated[r]) / B);
  }

  // Round d (1-based) writes token number prompt + generated − 1 + (d − joinRound); it
  // opens a block when the tokens before it fill whole blocks.
  function growthKey(r: number): number {
    const k = (joinRound[r] + 2 - prompt[r] - generated[r]) % B;
    return k < 0 ? k + B : k;
  }

  function unlink(r: number): void {
    const p = prev[r];
    const q = next[r];
    if (p >= 0) next[p] = q;
    else runHead = q;
    if (q >= 0) prev[q] = p;
    else runTail = p;
  }

  function preempt(r: number): void {
    unlink(r);
    kvUsed -= heldBlocks(r);
    if (phase[r] === 2) {
      const g = generated[r] + decodeRounds - joinRound[r];
      decoding--;
      contextSum -= prompt[r] + g;
      bucket[growthKey(r)]--;
      if (joinTime[r] > lastDecodeEnd) {
        groupCount[groupTime.indexOf(joinTime[r])]--;
      } else {
        mainCount--;
        joinTime[r] = lastDecodeEnd;
      }
      generated[r] = g;
      finishRound[r] = -1;
    } else {
      // Only the latest-admitted running sequence is taken, so a prefilling one is the ring's last.
      prefillRing.popBack();
      prefillPending -= prefillLeft[r];
    }
    running--;
    phase[r] = 4;
    queue.pushFront(r);
    r0.preemptions++;
  }

  // Paged KV: the next decode round's new blocks come first; when they do not fit,
  // the latest-admitted sequences give theirs back and are recomputed later.
  function makeRoomForDecode(): void {
    growthNext = decoding > 0 ? bucket[(decodeRounds + 1) % B] : 0;
    while (growthNext > kvCap - kvUsed && runTail >= 0) {
      preempt(runTail);
      growthNext = decoding > 0 ? bucket[(decodeRounds + 1) % B] : 0;
    }
  }

  function admit(r: number, t: number): void {
    const fresh = phase[r] === 0;
    if (fresh) admitted[r] = t;
    const c = cachedOf(prompt[r]);
    const need = prompt[r] + generated[r] - c;
    if (fresh) r0.cached += c;
    prefillLeft[r] = need;
    prefillPending += need;
    kvTokens[r] = c;
    phase[r] = 1;
    running++;
    if (blocks) {
      kvUsed += Math.ceil((prompt[r] + generated[r]) / B);
      prev[r] = runTail;
      next[r] = -1;
      if (runTail >= 0) next[runTail] = r;
      else runHead = r;
      runTail = r;
    } else {
      kvUsed += prompt[r] + output[r];
    }
    if (kvUsed > kvPeak) kvPeak = kvUsed;
    prefillRing.pushBack(r);
  }

  function startStep(t: number, d: PolicyDecision & { kind: 'step' }): boolean {
    const k = d.admit;
    if (!(Number.isInteger(k) && k >= 0 && k <= queue.length && running + k <= maxBatch) || !(d.prefillTokens >= 0)) {
      throw new Error(`policy ${R.policy.kind} asked for an impossible step ${JSON.stringify(d)} with ${queue.length} queued and ${running} running`);
    }
    for (let i = 0; i < k; i++) admit(queue.popFront(), t);
    if (k > 0) {
      r0.admissions++;
      r0.admittedTotal += k;
    }
    let budget = d.prefillTokens;
    let prefillTokens = 0;
    let chunks = 0;
    let pairs = 0;
    for (let i = 0; i < prefillRing.length && budget > 0; i++) {
      const r = prefillRing.at(i);
      const give = Math.min(prefillLeft[r], budget);
      prefillLeft[r] -= give;
      pairs += prefillAttentionPairs(give, kvTokens[r]);
      kvTokens[r] += give;
      prefillTokens += give;
      budget -= give;
      chunks++;
    }
    prefillPending -= prefillTokens;
    stepDecoding = d.decode ? decoding : 0;
    const seqs = stepDecoding + chunks;
    if (seqs === 0) return false;
    if (blocks && stepDecoding > 0) {
      kvUsed += growthNext;
      if (kvUsed > kvPeak) kvPeak = kvUsed;
    }
    const work: StepWork = {
      prefillTokens,
      decodeTokens: stepDecoding,
      contextTokens: stepDecoding > 0 ? contextSum : 0,
      prefillSequences: chunks,
      prefillAttentionPairs: pairs,
    };
    const dt = cost(work);
    if (!(typeof dt === 'number' && dt > 0 && Number.isFinite(dt))) {
      throw new InputError('stepCost', dt, 'a positive finite number of seconds', `returned for ${JSON.stringify(work)}`);
    }
    if (flopsOf) r0.flops += flopsOf(work);
    if (bytesOf) r0.bytes += bytesOf(work);
    r0.prefilled += prefillTokens;
    busy = true;
    pendingWake = -1;
    lastStepStart = t;
    r0.busySeconds += dt;
    r0.steps++;
    r0.seqSum += seqs;
    batchHistogram[seqs]++;
    events.push(STEP_END, t + dt);
    return true;
  }

  function retire(r: number, t: number): void {
    finish[r] = t;
    phase[r] = 3;
    running--;
    if (blocks) {
      unlink(r);
    } else {
      kvUsed -= prompt[r] + output[r];
    }
    inSystem--;
    completed++;
    if (closed && created < n) {
      const think = R.nextThink();
      r0.thinkSum += think;
      r0.thinkCount++;
      create(t + think);
    }
  }

  function endStep(t: number): void {
    busy = false;
    lastStepEnd = t;
    const decoded = stepDecoding > 0;
    if (decoded) {
      decodeRounds++;
      r0.emitted += stepDecoding;
      contextSum += stepDecoding;
      if (mainCount > 0) itl.add(t - lastDecodeEnd, mainCount);
      for (let g = 0; g < groupTime.length; g++) itl.add(t - groupTime[g], groupCount[g]);
      groupTime.length = 0;
      groupCount.length = 0;
      mainCount = stepDecoding;
      lastDecodeEnd = t;
      // finishRound is the decode round that emits a sequence's last token.
      while (finishing.length > 0 && (finishing.peekValue() as number) <= decodeRounds) {
        const due = finishing.peekValue() as number;
        const r = finishing.pop() as number;
        if (phase[r] !== 2 || finishRound[r] !== due) continue; // preempted since
        if (blocks) {
          kvUsed -= heldBlocks(r);
          bucket[growthKey(r)]--;
        }
        contextSum -= prompt[r] + output[r];
        decoding--;
        mainCount--;
        retire(r, t);
      }
    }
    let joined = 0;
    while (prefillRing.length > 0 && prefillLeft[prefillRing.at(0)] === 0) {
      const r = prefillRing.popFront();
      if (generated[r] === 0) firstToken[r] = t;
      else itl.add(t - joinTime[r], 1);
      r0.emitted++;
      const g = generated[r] + 1;
      if (g === output[r]) {
        if (blocks) kvUsed -= heldBlocks(r);
        generated[r] = g;
        retire(r, t);
      } else {
        generated[r] = g;
        phase[r] = 2;
        decoding++;
        joined++;
        contextSum += prompt[r] + g;
        joinRound[r] = decodeRounds;
        joinTime[r] = t;
        const due = decodeRounds + output[r] - g;
        finishRound[r] = due;
        finishing.push(r, due);
        if (blocks) bucket[growthKey(r)]++;
      }
    }
    if (joined > 0) {
      if (decoded) mainCount += joined;
      else {
        groupTime.push(t);
        groupCount.push(joined);
      }
    }
  }

  function kick(t: number): void {
    if (busy) return;
    if (blocks) makeRoomForDecode();
    view.now = t;
    view.lastStepStart = lastStepStart;
    view.lastStepEnd = lastStepEnd;
    view.queued = queue.length;
    view.running = running;
    view.decoding = decoding;
    view.prefilling = prefillRing.length;
    view.prefillPending = prefillPending;
    view.kvFree = kvCap - kvUsed - growthNext;
    const d = decide(view);
    if (d.kind === 'step') {
      if (startStep(t, d)) return;
    } else if (d.until > t && d.until < Infinity && d.until !== pendingWake) {
      pendingWake = d.until;
      events.push(WAKE, d.until);
    }
  }

  if (closed) {
    for (let c = 0; c < Math.min(R.clients, n); c++) create(0);
  } else {
    draw();
  }
  while (events.length > 0) {
    const t = events.peekValue() as number;
    const e = events.pop() as number;
    if (e >= ARRIVAL0) {
      if (!closed && e - ARRIVAL0 !== arrived) continue; // already absorbed as a tie
      advance(t);
      arrive(e - ARRIVAL0);
      absorbTies(t);
      kick(t);
    } else if (e === STEP_END) {
      advance(t);
      absorbTies(t);
      endStep(t);
      absorbTies(t);
      kick(t);
    } else {
      if (t !== pendingWake) continue; // superseded by a step that started earlier
      advance(t);
      absorbTies(t);
      pendingWake = -1;
      kick(t);
    }
  }
  // Config validation guarantees every request fits the KV capacity alone, so the
  // engine can always admit the head of the queue once it drains; anything else is a bug.
  if (completed !== n) throw new Error(`simulateServing: ${n - completed} of ${n} requests never finished (simulator invariant broken)`);
  if (kvUsed !== 0) throw new Error(`simulateServing: ${kvUsed} KV units still held after the last request (simulator invariant broken)`);
  // Every prefill token beyond each prompt's one uncached pass was computed again after a preemption.
  r0.recomputed = r0.prefilled - (r0.promptTotal - r0.cached);
  return {
    state: S,
    n,
    lastT,
    batchHistogram,
    areaSystem,
    areaQueue,
    itl,
    kvPeakTokens: blocks ? kvPeak * B : kvPeak,
    ...r0,
  };
}
