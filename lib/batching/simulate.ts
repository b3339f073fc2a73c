import FlatQueue from 'flatqueue';
import { InputError } from '../util/errors.js';
import type { StepWork } from '../core/types.js';
import { resolveServing } from './config.js';
import { latencyStatsInPlace } from './stats.js';
import type { ServingConfig, ServingResult } from './types.js';

// Event ids in the queue: a step completion, a window tick, or the arrival of request r (id r + 2).
const STEP_END = 0;
const TICK = 1;
const ARRIVAL0 = 2;

/**
 * Simulates one serving replica, event by event, and returns per-request latency
 * statistics, throughput, utilisation and the batch-size distribution. A pure function
 * of (config, seed): the same pair gives bit-identical results.
 *
 * Model: the engine runs one step at a time; a step's duration is `config.stepCost`
 * of its work. The step that finishes a prompt emits that request's first token; every
 * later step emits one token per decoding sequence. Scheduling is `config.policy`
 * (see ServingPolicy for the exact window, continuous and chunked-prefill rules).
 * Per StepWork's contract, `contextTokens` sums the KV tokens of the decoding
 * sequences only: a prompt chunk's attention over its own earlier chunks is not charged.
 *
 * @example
 * const r = simulateServing({
 *   arrivals: { kind: 'poisson', ratePerSecond: 50 },
 *   requests: 10_000,
 *   promptTokens: { kind: 'fixed', tokens: 512 },
 *   outputTokens: { kind: 'uniform', min: 16, max: 256 },
 *   policy: { kind: 'continuous', maxBatch: 64 },
 *   stepCost: affineStepCost({ fixedSeconds: 0.015, perPrefillToken: 2e-5, perDecodeToken: 5e-5 }),
 * }, 1);
 * r.e2e.p99; r.throughputTokensPerSecond;
 */
export function simulateServing(config: ServingConfig, seed: number): ServingResult {
  const R = resolveServing(config, seed);
  const { n, policy, kvCapacity } = R;
  const cost = config.stepCost;
  const maxBatch = policy.maxBatch;
  const chunkBudget = policy.kind === 'chunked' ? policy.tokenBudget : Infinity;
  const windowSeconds = policy.kind === 'window' ? policy.windowMs / 1000 : 0;

  const arrival = new Float64Array(n);
  const admitted = new Float64Array(n);
  const firstToken = new Float64Array(n);
  const finish = new Float64Array(n);
  const prompt = new Int32Array(n);
  const output = new Int32Array(n);
  const prefillLeft = new Int32Array(n);

  const events = new FlatQueue<number>();
  const finishing = new FlatQueue<number>(Math.min(maxBatch, n) + 1, Float64Array, Uint32Array);
  const batchHistogram = new Uint32Array(Math.min(maxBatch, n) + 1);

  let generated = 0; // requests whose arrival has been drawn
  let arrived = 0; // requests [0, arrived) have arrived
  let nextAdmit = 0; // requests [nextAdmit, arrived) are queued
  let prefillHead = 0; // requests [prefillHead, nextAdmit) are admitted with prompt tokens left
  let running = 0; // admitted and unfinished
  let decoding = 0;
  let contextSum = 0; // Σ (prompt + generated) over decoding sequences
  let kvUsed = 0;
  let inSystem = 0;
  let completed = 0;
  let busy = false;
  let admissionOpen = policy.kind !== 'window';
  let tickAt = -1;
  let steps = 0;
  let seqSum = 0;
  let busySeconds = 0;
  let admissions = 0;
  let admittedTotal = 0;
  let emitted = 0;
  let prefilled = 0;
  let promptTotal = 0;
  let outputTotal = 0;
  // The step in flight.
  let stepDecoding = 0;
  let stepPrefillEnd = 0;
  // Time integrals for Little's law.
  let lastT = 0;
  let areaSystem = 0;
  let areaQueue = 0;

  function draw(): void {
    const r = generated++;
    const t = R.nextArrival();
    const p = R.nextPrompt();
    const o = R.nextOutput();
    arrival[r] = t;
    prompt[r] = p;
    output[r] = o;
    promptTotal += p;
    outputTotal += o;
    events.push(ARRIVAL0 + r, t);
  }

  function advance(t: number): void {
    const dt = t - lastT;
    areaSystem += inSystem * dt;
    areaQueue += (arrived - nextAdmit) * dt;
    lastT = t;
  }

  function arrive(): void {
    arrived++;
    inSystem++;
    if (generated < n) draw();
  }

  // Arrivals tied with another event at t join the system first, so a request arriving
  // exactly at a step boundary or a tick is eligible for it.
  function absorbTies(t: number): void {
    while (arrived < generated && arrival[arrived] <= t) arrive();
  }

  function startStep(t: number): void {
    let budget = chunkBudget - decoding;
    let prefillTokens = 0;
    let seqs = decoding;
    for (let id = prefillHead; id < nextAdmit && budget > 0; id++) {
      const give = Math.min(prefillLeft[id], budget);
      prefillLeft[id] -= give;
      prefillTokens += give;
      budget -= give;
      seqs++;
    }
    if (admissionOpen) {
      let count = 0;
      while (nextAdmit < arrived && running < maxBatch && budget > 0) {
        const need = prompt[nextAdmit] + output[nextAdmit];
        if (kvUsed + need > kvCapacity) break;
        const r = nextAdmit++;
        admitted[r] = t;
        running++;
        kvUsed += need;
        const give = Math.min(prompt[r], budget);
        prefillLeft[r] = prompt[r] - give;
        prefillTokens += give;
        budget -= give;
        seqs++;
        count++;
      }
      if (count > 0) {
        admissions++;
        admittedTotal += count;
      }
    }
    if (seqs === 0) return;
    const work: StepWork = { prefillTokens, decodeTokens: decoding, contextTokens: contextSum };
    const dt = cost(work);
    // ≤ 1e6 s a step: with the work cap, no sum of steps can overflow to Infinity.
    if (!(typeof dt === 'number' && dt > 0 && dt <= 1e6)) {
      throw new InputError('stepCost', dt, 'a positive number of seconds ≤ 1e6', `returned for ${JSON.stringify(work)}`);
    }
    stepDecoding = decoding;
    // Admission only happens once every earlier prompt is fully budgeted, so the
    // requests that can finish their prompt this step all lie below nextAdmit.
    stepPrefillEnd = nextAdmit;
    prefilled += prefillTokens;
    busy = true;
    busySeconds += dt;
    steps++;
    seqSum += seqs;
    batchHistogram[seqs]++;
    events.push(STEP_END, t + dt);
  }

  function retire(r: number, t: number): void {
    finish[r] = t;
    running--;
    kvUsed -= prompt[r] + output[r];
    inSystem--;
    completed++;
  }

  function endStep(t: number): void {
    busy = false;
    emitted += stepDecoding;
    contextSum += stepDecoding;
    // `steps` counts steps completed so far, so a sequence that joined decoding after
    // step s with o − 1 tokens to go finishes at the end of step s + o − 1.
    while (finishing.length > 0 && (finishing.peekValue() as number) <= steps) {
      const r = finishing.pop() as number;
      contextSum -= prompt[r] + output[r];
      decoding--;
      retire(r, t);
    }
    while (prefillHead < stepPrefillEnd && prefillLeft[prefillHead] === 0) {
      const r = prefillHead++;
      firstToken[r] = t;
      emitted++;
      if (output[r] === 1) {
        retire(r, t);
      } else {
        decoding++;
        contextSum += prompt[r] + 1;
        finishing.push(r, steps + output[r] - 1);
      }
    }
  }

  function dispatch(t: number): void {
    tickAt = -1;
    admissionOpen = true;
    startStep(t);
    admissionOpen = false;
  }

  function kick(t: number): void {
    if (busy) return;
    if (running > 0 || policy.kind !== 'window') {
      startStep(t);
      return;
    }
    const queued = arrived - nextAdmit;
    if (queued === 0) return;
    if (queued >= maxBatch) {
      dispatch(t);
      return;
    }
    if (tickAt < 0) {
      // Ticks fire at W, 2W, ...: the window that opens with the first arrival at t = 0
      // is a full window, not a lone request dispatched on the spot.
      const k = Math.max(1, Math.ceil(t / windowSeconds));
      let tick = k * windowSeconds;
      if (tick < t) tick = (k + 1) * windowSeconds;
      tickAt = tick;
      events.push(TICK, tick);
    }
  }

  draw();
  while (events.length > 0) {
    const t = events.peekValue() as number;
    const e = events.pop() as number;
    if (e >= ARRIVAL0) {
      if (e - ARRIVAL0 !== arrived) continue; // already absorbed as a tie
      advance(t);
      arrive();
      absorbTies(t);
      kick(t);
    } else if (e === STEP_END) {
      advance(t);
      absorbTies(t);
      endStep(t);
      kick(t);
    } else {
      if (t !== tickAt) continue; // superseded by an earlier dispatch
      advance(t);
      absorbTies(t);
      tickAt = -1;
      if (!busy && running === 0 && arrived > nextAdmit) dispatch(t);
    }
  }
  // Config validation guarantees every request fits the KV capacity, so the engine can
  // always admit the head of the queue once it drains; anything else is a simulator bug.
  if (completed !== n) throw new Error(`simulateServing: ${n - completed} of ${n} requests never finished (simulator invariant broken)`);

  const makespan = lastT - arrival[0];
  const scratch = new Float64Array(n);
  for (let r = 0; r < n; r++) scratch[r] = admitted[r] - arrival[r];
  const wait = latencyStatsInPlace(scratch, n);
  for (let r = 0; r < n; r++) scratch[r] = firstToken[r] - arrival[r];
  const ttft = latencyStatsInPlace(scratch, n);
  let m = 0;
  for (let r = 0; r < n; r++) if (output[r] > 1) scratch[m++] = (finish[r] - firstToken[r]) / (output[r] - 1);
  const tpot = m > 0 ? latencyStatsInPlace(scratch, m) : null;
  for (let r = 0; r < n; r++) scratch[r] = finish[r] - arrival[r];
  const e2e = latencyStatsInPlace(scratch, n);

  const result: ServingResult = {
    requests: n,
    makespanSeconds: makespan,
    throughputRequestsPerSecond: n / makespan,
    throughputTokensPerSecond: outputTotal / makespan,
    wait,
    ttft,
    tpot,
    e2e,
    utilisation: busySeconds / makespan,
    steps,
    meanBatch: seqSum / steps,
    batchHistogram,
    meanAdmitted: admittedTotal / admissions,
    admissions,
    meanInSystem: areaSystem / makespan,
    meanQueued: areaQueue / makespan,
    tokens: { prompt: promptTotal, output: outputTotal, emitted, prefilled },
    provenance: { config: R.description, seed, cost: R.costLabel },
  };
  if (config.keepRequests !== false) {
    result.requestLog = { arrival, admitted, firstToken, finish, promptTokens: prompt, outputTokens: output };
  }
  return result;
}
