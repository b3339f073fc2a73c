import FlatQueue from 'flatqueue';
import type { StepWork } from '../core/types.js';
import type { ResolvedServing } from './config.js';
import type { SchedulerView } from './policy.js';
import { DurationHistogram } from './metrics.js';
import { IdRing, RequestState } from './state.js';

// Event ids in the queue: a step completion, a wake-up a policy asked for, or the
// arrival of request r (id r + 2).
export const STEP_END = 0;
export const WAKE = 1;
export const ARRIVAL0 = 2;

/** The scheduler view the engine writes before every decision. */
export type EngineView = { -readonly [K in keyof SchedulerView]: SchedulerView[K] };

/**
 * Everything a serving engine run holds, as plain fields: the per-request arrays, the
 * queues, the running counters and the accumulated totals. The engine's parts
 * (admission, scheduling, step pricing, completion) are functions over it, so each
 * can be driven alone from a hand-made state. One object, every field set in the
 * constructor, so the hot loop sees a single shape.
 *
 * Units: KV counts are tokens (reserved admission) or blocks (paged); times are seconds.
 *
 * @example
 * const s = new EngineState(resolveServing(config, 1));
 * arriveRequest(s, createRequest(s, 0)); // one queued request
 * s.queue.length // => 1
 */
export class EngineState {
  readonly R: ResolvedServing;
  readonly n: number;
  readonly closed: boolean;
  readonly maxBatch: number;
  /** Paged KV: capacity and usage counted in blocks of `blockTokens`. */
  readonly blocks: boolean;
  readonly blockTokens: number;
  /** KV capacity in blocks (paged) or tokens (reserved). */
  readonly kvCap: number;
  readonly prefixHit: number;
  /** padTo[D]: the priced batch of a decode-only step of D sequences (null: no padding). */
  readonly padTo: Int32Array | null;

  /** Per-request arrays, indexed by request id. */
  readonly req: RequestState;

  /** Pending events: id (STEP_END, WAKE, ARRIVAL0 + r) by time. */
  readonly events: FlatQueue<number>;
  /** Decoding sequences by the decode round that emits their last token (lazily deleted). */
  readonly finishing: FlatQueue<number>;
  readonly batchHistogram: Uint32Array;
  /** Requests waiting for admission, in admission order. */
  readonly queue: IdRing;
  /** Admitted sequences with prompt left, in admission order. */
  readonly prefillRing: IdRing;
  /** Admission order of running sequences (paged KV only): preemption takes the latest. */
  readonly prev: Int32Array;
  readonly next: Int32Array;
  runHead = -1;
  runTail = -1;
  /** bucket[k]: decoding sequences that need a new block in every decode round d with d mod B = k. */
  readonly bucket: Int32Array;

  /** Requests drawn (open loop: one ahead of arrivals). */
  created = 0;
  arrived = 0;
  running = 0;
  decoding = 0;
  prefillPending = 0;
  /** Σ (prompt + emitted) over decoding sequences. */
  contextSum = 0;
  kvUsed = 0;
  /** Blocks the next decode round opens (paged KV). */
  growthNext = 0;
  kvPeak = 0;
  inSystem = 0;
  completed = 0;
  busy = false;
  pendingWake = -1;
  lastStepStart = -Infinity;
  lastStepEnd = -Infinity;
  decodeRounds = 0;

  // Totals for the metrics.
  steps = 0;
  seqSum = 0;
  busySeconds = 0;
  admissions = 0;
  admittedTotal = 0;
  emitted = 0;
  prefilled = 0;
  cached = 0;
  promptTotal = 0;
  outputTotal = 0;
  preemptions = 0;
  flops = 0;
  bytes = 0;
  thinkSum = 0;
  thinkCount = 0;

  /** Decoding sequences in the step in flight (0: it does not decode). */
  stepDecoding = 0;
  /** Sequences (decodes plus prompt chunks) in the step being composed or in flight. */
  stepSequences = 0;
  /** The work of the step being priced; one object, rewritten every step. */
  readonly work: Required<StepWork>;

  // Inter-token latency groups: decoding sequences that last emitted at the end of the
  // last decode round (mainCount), and those that joined since then in steps that did
  // not decode (groups of groupCount[g] sequences that joined at groupTime[g]).
  readonly itl: DurationHistogram;
  lastDecodeEnd = -Infinity;
  mainCount = 0;
  groupTime: Float64Array;
  groupCount: Float64Array;
  groups = 0;
  // The same counts for the measured requests only (ids from measureFrom on, the ones a
  // benchmark keeps after its warm-up), and their own histogram (null without a warm-up).
  readonly measureFrom: number;
  readonly itlSteady: DurationHistogram | null;
  decodingM = 0;
  stepDecodingM = 0;
  mainM = 0;
  groupM: Float64Array;

  // Time integrals for Little's law.
  lastT = 0;
  areaSystem = 0;
  areaQueue = 0;

  /** One view, refreshed before every decision: read-only to the policy, written by the engine. */
  readonly view: EngineView;

  constructor(R: ResolvedServing) {
    const n = R.n;
    const maxBatch = R.policy.maxBatch;
    this.R = R;
    this.n = n;
    this.closed = R.loop === 'closed';
    this.maxBatch = maxBatch;
    this.blocks = R.kvBlocks;
    this.blockTokens = R.kvBlockTokens;
    this.kvCap = R.kvBlocks ? Math.floor(R.kvCapacity / R.kvBlockTokens) : R.kvCapacity;
    this.prefixHit = R.prefixHit;
    this.padTo = R.decodePadding;
    this.req = new RequestState(n);
    const slots = Math.min(maxBatch, n) + 1;
    this.events = new FlatQueue<number>();
    // Stale entries of preempted sequences can outnumber the batch, so paged KV gets a growable heap.
    this.finishing = this.blocks ? new FlatQueue<number>() : new FlatQueue<number>(slots, Float64Array, Uint32Array);
    this.batchHistogram = new Uint32Array(slots);
    this.queue = new IdRing(n);
    this.prefillRing = new IdRing(slots);
    this.prev = this.blocks ? new Int32Array(n) : new Int32Array(0);
    this.next = this.blocks ? new Int32Array(n) : new Int32Array(0);
    this.bucket = this.blocks ? new Int32Array(this.blockTokens) : new Int32Array(0);
    this.work = { prefillTokens: 0, decodeTokens: 0, contextTokens: 0, prefillSequences: 0, prefillAttentionPairs: 0 };
    this.itl = new DurationHistogram();
    this.groupTime = new Float64Array(16);
    this.groupCount = new Float64Array(16);
    this.measureFrom = R.warmupRequests;
    this.itlSteady = R.warmupRequests > 0 ? new DurationHistogram() : null;
    this.groupM = new Float64Array(16);
    const s = this;
    this.view = {
      now: 0,
      lastStepStart: -Infinity,
      lastStepEnd: -Infinity,
      queued: 0,
      queuedPrefill(i: number): number {
        const r = s.queue.at(i);
        return s.req.prompt[r] + s.req.generated[r] - cachedPrefix(s, s.req.prompt[r]);
      },
      queuedKvNeed(i: number): number {
        const r = s.queue.at(i);
        return s.blocks ? Math.ceil((s.req.prompt[r] + s.req.generated[r]) / s.blockTokens) : s.req.prompt[r] + s.req.output[r];
      },
      queuedArrival(i: number): number {
        return s.req.arrival[s.queue.at(i)];
      },
      running: 0,
      decoding: 0,
      prefilling: 0,
      prefillPending: 0,
      kvFree: Infinity,
    };
  }
}

/**
 * Prompt tokens a prefix cache serves of a p-token prompt: floor(hit · p), at most p − 1
 * (the last prompt token is always computed, it yields the first output token).
 *
 * @example
 * cachedPrefix(s, 1000) // => 300 with prefixCacheHitRatio 0.3
 */
export function cachedPrefix(s: EngineState, p: number): number {
  return s.prefixHit > 0 ? Math.min(p - 1, Math.floor(s.prefixHit * p)) : 0;
}

/**
 * Moves the clock to t, adding the time since the last event to the integrals of the
 * number in the system and in the queue (Little's law).
 *
 * @example
 * advanceClock(s, 2.5); s.lastT // => 2.5
 */
export function advanceClock(s: EngineState, t: number): void {
  const dt = t - s.lastT;
  s.areaSystem += s.inSystem * dt;
  s.areaQueue += s.queue.length * dt;
  s.lastT = t;
}

/**
 * KV blocks request r holds (paged KV). A decoding sequence has written the KV of its
 * prompt and of every emitted token but the last; each decode round writes one more.
 * A prefilling one holds its whole prefill.
 *
 * @example
 * heldBlocks(s, r) // => ceil((prompt + generated) / B) while r prefills
 */
export function heldBlocks(s: EngineState, r: number): number {
  if (s.req.phase[r] === 2) return Math.ceil((s.req.prompt[r] + s.req.generated[r] - 1 + s.decodeRounds - s.req.joinRound[r]) / s.blockTokens);
  return Math.ceil((s.req.prompt[r] + s.req.generated[r]) / s.blockTokens);
}

/**
 * The growth bucket of decoding request r (paged KV). Round d (1-based) writes token
 * number prompt + generated − 1 + (d − joinRound); it opens a block when the tokens
 * before it fill whole blocks, so r opens one in every round d ≡ key (mod B).
 *
 * @example
 * s.bucket[growthKey(s, r)]++
 */
export function growthKey(s: EngineState, r: number): number {
  const B = s.blockTokens;
  const k = (s.req.joinRound[r] + 2 - s.req.prompt[r] - s.req.generated[r]) % B;
  return k < 0 ? k + B : k;
}

/**
 * Takes r out of the admission-order list of running sequences (paged KV).
 *
 * @example
 * unlinkRunning(s, s.runTail)
 */
export function unlinkRunning(s: EngineState, r: number): void {
  const p = s.prev[r];
  const q = s.next[r];
  if (p >= 0) s.next[p] = q;
  else s.runHead = q;
  if (q >= 0) s.prev[q] = p;
  else s.runTail = p;
}

/**
 * Appends a group of `count` sequences (`measured` of them after the warm-up) that
 * joined decoding at t in a step that did not decode; their next token's latency
 * counts from t.
 *
 * @example
 * addItlGroup(s, 0.25, 3, 3); s.groups // => 1
 */
export function addItlGroup(s: EngineState, t: number, count: number, measured: number): void {
  if (s.groups === s.groupTime.length) {
    const time = new Float64Array(2 * s.groups);
    const cnt = new Float64Array(2 * s.groups);
    const cntM = new Float64Array(2 * s.groups);
    time.set(s.groupTime);
    cnt.set(s.groupCount);
    cntM.set(s.groupM);
    s.groupTime = time;
    s.groupCount = cnt;
    s.groupM = cntM;
  }
  s.groupTime[s.groups] = t;
  s.groupCount[s.groups] = count;
  s.groupM[s.groups] = measured;
  s.groups++;
}
