import type { StepWork } from '../core/types.js';
import { prefillAttentionPairs } from '../core/matmul.js';
import { servingPolicyModule } from '../batching/policy.js';
import type { PolicyConfigBase, PolicyDecider, PolicyDecision, SchedulerView } from '../batching/policy.js';
import '../batching/policies/index.js';
import type { DecodeEngine } from '../engine/model.js';
import { InputError, described } from '../util/errors.js';
import { monotonicSeconds } from '../util/clock.js';

/** What the loop tells whoever submitted a request. */
export interface RequestSink {
  /** A new output token (index 0 is the first). */
  token(id: number, index: number): void;
  /** Every requested token has been emitted, or the request was finished early (`finish`). */
  done(): void;
}

/** Picks the next token from one row of logits (the engine's greedy argmax when absent). */
export type TokenSampler = (logits: Float32Array) => number;

/** Per-request options of `submit`. */
export interface SubmitOptions {
  /** Samples each token from the logits; absent: greedy, the engine's own argmax. */
  sampler?: TokenSampler;
  /** When the front end read the request's headers, a reading of the loop's clock (`clockReading()`); recorded as `ArrivalRecord.received`. */
  receivedAt?: number;
  /** The response id the front end gives the request (e.g. "cmpl-7"), recorded so a client's records can be matched to the server's. */
  label?: string;
}

/** One accepted request inside the loop. */
interface LiveRequest {
  id: number;
  prompt: number[];
  maxTokens: number;
  sink: RequestSink;
  sampler?: TokenSampler;
  arrival: number;
  record?: ArrivalRecord;
  /** Prompt tokens already in the KV cache. */
  kvTokens: number;
  output: number[];
  phase: 'queued' | 'prefilling' | 'decoding' | 'done' | 'cancelled';
}

/** One step the loop ran: when, and what it carried (the simulator's StepWork). */
export interface StepRecord {
  /** When the policy decided on the step. */
  start: number;
  /** When the engine returned and the step's tokens were emitted. */
  end: number;
  /** When the loop next asked the policy (after yielding to I/O); NaN until then. */
  nextDecision: number;
  work: StepWork;
  queued: number;
  inSystem: number;
  /** The step's number since the last reset (0 is the first). */
  index: number;
  /** Requests this step admitted from the queue. */
  admitted: number;
}

/** One accepted request as the loop saw it, on the loop's clock (NaN for what has not happened). */
export interface ArrivalRecord {
  /** When the front end read the request's headers (before its body was read and parsed); NaN when not reported. */
  received: number;
  /** When the request was submitted to the loop (body read, parsed and checked). */
  arrival: number;
  promptTokens: number;
  outputTokens: number;
  firstToken: number;
  finish: number;
  /** The number of the step that admitted it (StepRecord.index); NaN until admitted. */
  admitStep: number;
  /** The front end's response id (SubmitOptions.label). */
  label?: string;
}

/** Options of a ServingLoop. */
export interface ServingLoopOptions {
  /** Seconds on the loop's clock (default: performance.now() / 1000). */
  now?: () => number;
  /** KV-cache capacity in tokens (prompt + output reserved at admission); default unlimited. */
  kvCapacityTokens?: number;
  /** Keep a record of every step (default true; the recent 100,000). */
  recordSteps?: boolean;
  /**
   * Longest time the loop keeps yielding to I/O before a step while new connections,
   * requests or body bytes are still arriving (default 0.02 s; 0: one yield per step).
   */
  maxSettleSeconds?: number;
}

const MAX_STEP_RECORDS = 100_000;

const yieldToIo = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/**
 * The wall-clock twin of the simulator's engine loop: the serving policy modules of
 * lib/batching (static, window, continuous, chunked) decide, from the same
 * SchedulerView, what a real DecodeEngine runs next. Whenever the engine is free the
 * loop fills the view from its queue, asks the policy, and either runs one engine step
 * (admitting the first `admit` queued requests, handing prompt tokens first-come
 * first-served to the sequences with prompt left, one decode token to every decoding
 * sequence) or waits until the time the policy named or the next arrival.
 *
 * The clock starts at the first arrival after construction or `resetClock()`, as the
 * simulator's does, so window ticks fall at the same offsets.
 *
 * @example
 * const loop = new ServingLoop(engine, { kind: 'continuous', maxBatch: 8 });
 * void loop.run();
 * loop.submit([1, 2, 3], 16, { token: (t) => console.log(t), done: () => {} });
 * await loop.stop(); // finishes every accepted request first
 */
export class ServingLoop {
  readonly engine: DecodeEngine;
  private policyConfig: PolicyConfigBase;
  private decide: PolicyDecider;
  private readonly clock: () => number;
  private readonly kvCapacity: number;
  private readonly keepSteps: boolean;
  private origin = NaN;
  private readonly defaultClock: boolean;
  private nextId = 0;
  private queue: LiveRequest[] = [];
  /** Admitted with prompt left, in admission order. */
  private prefilling: LiveRequest[] = [];
  private decoding: LiveRequest[] = [];
  private kvUsed = 0;
  private lastStepStart = -Infinity;
  private lastStepEnd = -Infinity;
  private wake: (() => void) | null = null;
  private running = false;
  private stopping = false;
  private finished: Promise<void> | null = null;
  private failure: Error | null = null;
  private readonly maxSettle: number;
  /** Counts intake events (connections, requests, body bytes, submits) the front end reports. */
  private intake = 0;
  private stepCount = 0;
  /** Steps run since the last reset. */
  readonly steps: StepRecord[] = [];
  /** Requests accepted since the last reset, in order. */
  readonly arrivals: ArrivalRecord[] = [];
  /** Times the loop looked at its queue (asked the policy, or found nothing to do) since the last reset. */
  readonly decisions: number[] = [];
  private stats = { accepted: 0, completed: 0, cancelled: 0, areaInSystem: 0, lastT: NaN, inSystem: 0, firstArrival: NaN, lastCompletion: NaN };

  constructor(engine: DecodeEngine, policy: unknown, opts: ServingLoopOptions = {}) {
    this.engine = engine;
    const module = servingPolicyModule((policy as { kind?: string })?.kind as string);
    this.policyConfig = module.check(policy);
    this.decide = module.decider(this.policyConfig);
    const perf = (): number => performance.now() / 1000;
    this.clock = opts.now ?? perf;
    this.defaultClock = opts.now === undefined;
    this.kvCapacity = opts.kvCapacityTokens ?? Infinity;
    this.keepSteps = opts.recordSteps ?? true;
    this.maxSettle = opts.maxSettleSeconds ?? 0.02;
    if (!(this.maxSettle >= 0 && this.maxSettle <= 1)) throw new InputError('maxSettleSeconds', opts.maxSettleSeconds, 'a number of seconds in [0, 1]');
  }

  /**
   * Tells the loop that the front end is taking in work (a connection accepted, a request's
   * headers or body bytes read). Before each step the loop keeps yielding to the event loop
   * while such events keep coming (up to maxSettleSeconds), so every request whose bytes have
   * arrived is parsed and queued before the step: a request on a fresh connection needs
   * several event-loop turns (accept, read, parse), and one yield per step would admit
   * simultaneous fresh connections at successive step boundaries.
   */
  noteIntake(): void {
    this.intake++;
  }

  /** The validated policy config the loop schedules with. */
  get policy(): PolicyConfigBase {
    return this.policyConfig;
  }

  /**
   * Restarts the clock (as `resetClock`) and, when given, switches to another policy
   * (validated by its module). Only while nothing is in the system.
   */
  reset(policy?: unknown): void {
    if (this.inSystem() > 0) throw new InputError('reset', this.inSystem(), '0 requests in the system');
    if (policy !== undefined) {
      const module = servingPolicyModule((policy as { kind?: string })?.kind as string);
      const checked = module.check(policy);
      this.decide = module.decider(checked);
      this.policyConfig = checked;
    }
    this.resetClock();
  }

  /** A raw reading of the loop's clock in seconds (for `SubmitOptions.receivedAt`). */
  clockReading(): number {
    return this.clock();
  }

  /**
   * The clock's origin (the first arrival since the last reset) on CLOCK_MONOTONIC in
   * seconds, the clock that Python's `time.perf_counter()` and Node's `process.hrtime`
   * read on Linux, so another process can place the loop's times on its own clock; NaN
   * before the first arrival or when the loop runs on a clock of its own (`now`).
   */
  monotonicOrigin(): number {
    if (!this.defaultClock || Number.isNaN(this.origin)) return NaN;
    return monotonicSeconds(1000 * this.origin);
  }

  /** Seconds since the clock's origin (the first arrival); 0 before it. */
  now(): number {
    return Number.isNaN(this.origin) ? 0 : this.clock() - this.origin;
  }

  /** Requests queued or running. */
  inSystem(): number {
    return this.queue.length + this.prefilling.length + this.decoding.length;
  }

  /**
   * Restarts the clock at the next arrival and clears the step log and counters, so a
   * new measured run lines up with a simulated one. Only while nothing is in the system.
   */
  resetClock(): void {
    if (this.inSystem() > 0) throw new InputError('reset', this.inSystem(), '0 requests in the system');
    this.origin = NaN;
    this.lastStepStart = -Infinity;
    this.lastStepEnd = -Infinity;
    this.steps.length = 0;
    this.arrivals.length = 0;
    this.decisions.length = 0;
    this.stepCount = 0;
    this.stats = { accepted: 0, completed: 0, cancelled: 0, areaInSystem: 0, lastT: NaN, inSystem: 0, firstArrival: NaN, lastCompletion: NaN };
  }

  /** Counters since the last reset; meanInSystem integrates the occupancy from first arrival to last completion. */
  metrics(): { accepted: number; completed: number; cancelled: number; steps: number; meanInSystem: number; spanSeconds: number } {
    const span = this.stats.lastCompletion - this.stats.firstArrival;
    return {
      accepted: this.stats.accepted,
      completed: this.stats.completed,
      cancelled: this.stats.cancelled,
      steps: this.steps.length,
      meanInSystem: span > 0 ? this.stats.areaInSystem / span : 0,
      spanSeconds: span > 0 ? span : 0,
    };
  }

  private advance(t: number, delta: number): void {
    if (!Number.isNaN(this.stats.lastT)) this.stats.areaInSystem += this.stats.inSystem * (t - this.stats.lastT);
    this.stats.lastT = t;
    this.stats.inSystem += delta;
  }

  /**
   * Accepts a request (prompt token ids, tokens to generate) and returns its id and a
   * cancel function. Throws an InputError for a request the engine could never run;
   * after `stop()` it throws an Error.
   */
  submit(prompt: number[], maxTokens: number, sink: RequestSink, opts: SubmitOptions = {}): { id: number; cancel: () => void; finish: () => void } {
    if (this.stopping) throw new Error('ServingLoop: stopping, not accepting requests');
    if (this.failure) throw this.failure;
    const { maxContext, vocabSize } = this.engine.config;
    if (!Array.isArray(prompt) || prompt.length === 0) throw new InputError('prompt', prompt, 'a non-empty array of token ids');
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) throw new InputError('max_tokens', maxTokens, 'an integer ≥ 1');
    // A prompt that alone fills the context is the field to fix; else an output limit that alone fills it is.
    if (prompt.length >= maxContext) throw new InputError('prompt', described(`${prompt.length} tokens`), `fewer than the engine's context of ${maxContext} tokens (it holds prompt and output together, at least one output token)`);
    if (maxTokens >= maxContext) throw new InputError('max_tokens', maxTokens, `at most ${maxContext - prompt.length} with this ${prompt.length}-token prompt (the engine's context of ${maxContext} tokens holds prompt and output together)`);
    if (prompt.length + maxTokens > maxContext) {
      throw new InputError('prompt', described(`${prompt.length} prompt + ${maxTokens} output tokens`), `at most ${maxContext} tokens together (the engine's context)`);
    }
    if (prompt.length + maxTokens > this.kvCapacity) throw new InputError('prompt', prompt.length + maxTokens, `at most ${this.kvCapacity} tokens (the KV capacity)`);
    prompt.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new InputError(`prompt[${i}]`, t, `a token id in [0, ${vocabSize - 1}]`);
    });
    if (Number.isNaN(this.origin)) this.origin = this.clock();
    const t = this.now();
    if (Number.isNaN(this.stats.firstArrival)) this.stats.firstArrival = t;
    const r: LiveRequest = { id: this.nextId++, prompt: prompt.slice(), maxTokens, sink, sampler: opts.sampler, arrival: t, kvTokens: 0, output: [], phase: 'queued' };
    this.queue.push(r);
    this.intake++;
    if (this.keepSteps && this.arrivals.length < MAX_STEP_RECORDS) {
      const received = opts.receivedAt === undefined ? NaN : opts.receivedAt - this.origin;
      r.record = { received, arrival: t, promptTokens: prompt.length, outputTokens: maxTokens, firstToken: NaN, finish: NaN, admitStep: NaN, label: opts.label };
      this.arrivals.push(r.record);
    }
    this.stats.accepted++;
    this.advance(t, +1);
    this.poke();
    return { id: r.id, cancel: () => this.cancel(r), finish: () => this.cancel(r, true) };
  }

  /**
   * Steps are synchronous, so a cancel always lands between two steps (or in a token
   * callback, after the step). `completed`: the request ended early on purpose (a stop
   * string), counted as completed and told `done`.
   */
  private cancel(r: LiveRequest, completed = false): void {
    if (r.phase === 'done' || r.phase === 'cancelled') return;
    if (r.phase === 'queued') this.queue.splice(this.queue.indexOf(r), 1);
    else {
      this.kvUsed -= r.prompt.length + r.maxTokens;
      this.engine.release(r.id);
      if (r.phase === 'prefilling') this.prefilling.splice(this.prefilling.indexOf(r), 1);
      else this.decoding.splice(this.decoding.indexOf(r), 1);
    }
    const t = this.now();
    this.advance(t, -1);
    if (completed) {
      r.phase = 'done';
      if (r.record) r.record.finish = t;
      this.stats.completed++;
      this.stats.lastCompletion = t;
      r.sink.done();
    } else {
      r.phase = 'cancelled';
      this.stats.cancelled++;
    }
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private view(t: number): SchedulerView {
    const q = this.queue;
    let pending = 0;
    for (const r of this.prefilling) pending += r.prompt.length - r.kvTokens;
    return {
      now: t,
      lastStepStart: this.lastStepStart,
      lastStepEnd: this.lastStepEnd,
      queued: q.length,
      queuedPrefill: (i) => q[i].prompt.length,
      queuedKvNeed: (i) => q[i].prompt.length + q[i].maxTokens,
      queuedArrival: (i) => q[i].arrival,
      running: this.prefilling.length + this.decoding.length,
      decoding: this.decoding.length,
      prefilling: this.prefilling.length,
      prefillPending: pending,
      kvFree: this.kvCapacity - this.kvUsed,
    };
  }

  /** Runs one step of a `step` decision; false when it carried no token. */
  private step(d: PolicyDecision & { kind: 'step' }, t: number): boolean {
    const running = this.prefilling.length + this.decoding.length;
    if (!(Number.isInteger(d.admit) && d.admit >= 0 && d.admit <= this.queue.length && running + d.admit <= this.policy.maxBatch)) {
      throw new Error(`policy ${this.policy.kind} asked for an impossible step ${JSON.stringify(d)}`);
    }
    for (const r of this.queue.splice(0, d.admit)) {
      if (r.record) r.record.admitStep = this.stepCount;
      r.phase = 'prefilling';
      this.kvUsed += r.prompt.length + r.maxTokens;
      this.prefilling.push(r);
    }
    let budget = d.prefillTokens;
    const chunks: Array<{ r: LiveRequest; give: number }> = [];
    let pairs = 0;
    for (const r of this.prefilling) {
      if (budget <= 0) break;
      const give = Math.min(r.prompt.length - r.kvTokens, budget);
      chunks.push({ r, give });
      pairs += prefillAttentionPairs(give, r.kvTokens);
      budget -= give;
    }
    const decoders = d.decode ? this.decoding.slice() : [];
    if (chunks.length + decoders.length === 0) return false;
    let context = 0;
    for (const r of decoders) context += r.prompt.length + r.output.length;
    const work: StepWork = {
      prefillTokens: chunks.reduce((s, c) => s + c.give, 0),
      decodeTokens: decoders.length,
      contextTokens: context,
      prefillSequences: chunks.length,
      prefillAttentionPairs: pairs,
    };
    const segments = [
      ...chunks.map((c) => ({ seq: c.r.id, tokens: c.r.prompt.slice(c.r.kvTokens, c.r.kvTokens + c.give) })),
      ...decoders.map((r) => ({ seq: r.id, tokens: [r.output[r.output.length - 1]] })),
    ];
    const queued = this.queue.length;
    const inSystem = this.inSystem();
    const samplers = [...chunks.map((c) => c.r.sampler), ...decoders.map((r) => r.sampler)];
    const next = samplers.some((s) => s) ? this.sampledStep(segments, samplers) : this.engine.step(segments);
    const end = this.now();
    this.lastStepStart = t;
    this.lastStepEnd = end;
    if (this.keepSteps) {
      if (this.steps.length >= MAX_STEP_RECORDS) this.steps.shift();
      this.steps.push({ start: t, end, nextDecision: NaN, work, queued, inSystem, index: this.stepCount, admitted: d.admit });
    }
    this.stepCount++;
    // Emit in the simulator's order: decodes first, then prompts that finished this step.
    decoders.forEach((r, i) => this.emit(r, next[chunks.length + i], end));
    chunks.forEach((c, i) => {
      c.r.kvTokens += c.give;
      if (c.r.kvTokens < c.r.prompt.length) return;
      this.prefilling.splice(this.prefilling.indexOf(c.r), 1);
      c.r.phase = 'decoding';
      this.decoding.push(c.r);
      this.emit(c.r, next[i], end);
    });
    return true;
  }

  /** One step whose rows are sampled where a request asked for it, argmax elsewhere (ties to the lowest id, as tf.argMax). */
  private sampledStep(segments: Array<{ seq: number; tokens: number[] }>, samplers: Array<TokenSampler | undefined>): Int32Array {
    const logits = this.engine.forward(segments);
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    const V = data.length / segments.length;
    return Int32Array.from(samplers, (s, i) => {
      const row = data.subarray(i * V, (i + 1) * V);
      if (s) return s(row);
      let best = 0;
      for (let k = 1; k < V; k++) if (row[k] > row[best]) best = k;
      return best;
    });
  }

  private emit(r: LiveRequest, token: number, t: number): void {
    r.output.push(token);
    if (r.output.length === 1 && r.record) r.record.firstToken = t;
    r.sink.token(token, r.output.length - 1);
    // The sink may have finished or cancelled the request (a stop string, a closed socket).
    if (r.phase === 'done' || r.phase === 'cancelled') return;
    if (r.output.length < r.maxTokens) return;
    if (r.record) r.record.finish = t;
    this.decoding.splice(this.decoding.indexOf(r), 1);
    this.kvUsed -= r.prompt.length + r.maxTokens;
    this.engine.release(r.id);
    r.phase = 'done';
    this.stats.completed++;
    this.stats.lastCompletion = t;
    this.advance(t, -1);
    r.sink.done();
  }

  /**
   * Yields to the event loop, then keeps yielding while the front end reports new intake
   * (noteIntake, submit) during the last yield, for at most maxSettleSeconds.
   */
  private async settle(): Promise<void> {
    let seen = this.intake;
    await yieldToIo();
    const t0 = this.clock();
    while (this.intake !== seen && this.clock() - t0 < this.maxSettle) {
      seen = this.intake;
      await yieldToIo();
    }
  }

  /**
   * Runs until `stop()` and every accepted request is done. Between steps it yields to
   * the event loop until the intake settles (see noteIntake), so arrivals, cancels and
   * socket writes are handled at step boundaries (a step itself is synchronous).
   */
  run(): Promise<void> {
    if (this.finished) return this.finished;
    this.running = true;
    this.finished = (async () => {
      try {
        for (;;) {
          await this.settle();
          if (this.stopping && this.inSystem() === 0) break;
          const t = this.now();
          const last = this.steps[this.steps.length - 1];
          if (last && Number.isNaN(last.nextDecision)) last.nextDecision = t;
          if (this.keepSteps && !Number.isNaN(this.origin) && this.decisions.length < MAX_STEP_RECORDS) this.decisions.push(t);
          const d = this.inSystem() === 0 ? ({ kind: 'wait', until: Infinity } as const) : this.decide(this.view(t));
          if (d.kind === 'step' && this.step(d, t)) continue;
          const until = d.kind === 'wait' ? d.until : Infinity;
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            if (Number.isFinite(until)) {
              const timer = setTimeout(() => this.poke(), Math.max(0, (until - this.now()) * 1000));
              const w = this.wake;
              this.wake = () => {
                clearTimeout(timer);
                w();
              };
            }
          });
        }
      } catch (e) {
        this.failure = e as Error;
        throw e;
      } finally {
        this.running = false;
      }
    })();
    return this.finished;
  }

  /** Stops accepting requests and resolves once every accepted one has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.poke();
    if (this.finished) await this.finished;
  }

  /** Whether `run()` is active. */
  get active(): boolean {
    return this.running;
  }
}
