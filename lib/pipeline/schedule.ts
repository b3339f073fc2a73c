import FlatQueue from 'flatqueue';
import { InputError } from '../util/errors.js';
import { checkInt, checkOneOf } from '../util/validate.js';
import { pipelineLayout, type PipelineLayout, type PipelineStageSpec } from './layout.js';

/**
 * How micro-batches enter the pipeline.
 *
 * - `fill-drain`: each tick's m micro-batches flow through all stages (GPipe's
 *   forward pass); the next tick starts only once the whole tick has left the last
 *   stage, because its tokens depend on this tick's output.
 * - `interleaved`: the same ticks over v model chunks per device (Megatron-LM's
 *   interleaved schedule, Narayanan et al. 2021): devices take micro-batches in
 *   groups of S, running every group through chunk 0, then chunk 1, ….
 * - `streaming`: R independent requests, each a micro-batch generating `tokens`
 *   tokens; a request's next token enters stage 0 only after its previous token has
 *   left the last stage. No tick barrier: requests refill the pipeline on their own.
 */
export type PipelineScheduleSpec =
  | { kind: 'fill-drain'; microBatches: number; ticks?: number; microBatchSize?: number }
  | { kind: 'interleaved'; microBatches: number; chunks: number; ticks?: number; microBatchSize?: number }
  | { kind: 'streaming'; requests: number; tokens: number; chunks?: number; microBatchSize?: number };

/** The schedule a pipeline run follows: fill–drain ticks, interleaved (virtual) stages, or streaming requests. */
export type PipelineScheduleKind = PipelineScheduleSpec['kind'];
/** Every `PipelineScheduleKind`, for validation and listings. */
export const PIPELINE_SCHEDULE_KINDS: readonly PipelineScheduleKind[] = ['fill-drain', 'interleaved', 'streaming'];

/** One micro-batch on one virtual stage. */
export interface PipelineSlot {
  device: number;
  virtualStage: number;
  /** Micro-batch index within a tick, or request index when streaming. */
  flow: number;
  /** Tick index, or token index when streaming. */
  pass: number;
  start: number;
  end: number;
}

/** The outcome of one schedule: every slot, and what they add up to. */
export interface PipelineRun {
  kind: PipelineScheduleKind;
  layout: PipelineLayout;
  /** Flows: micro-batches per tick, or concurrent requests. */
  flows: number;
  /** Passes per flow: ticks, or tokens per request. */
  passes: number;
  microBatchSize: number;
  /** Every slot, ordered by device, then start time. */
  timeline: PipelineSlot[];
  /** From time 0 to the end of the last slot, seconds. */
  makespanSeconds: number;
  /** Busy seconds of each device. */
  busySeconds: number[];
  /** Idle share of device-time: 1 − Σ busy / (S · makespan). */
  bubbleFraction: number;
  /** Idle device-time over busy device-time: Megatron's "bubble time relative to ideal". */
  bubbleOverIdeal: number;
  /**
   * Idle share inside the steady window, from the moment the last device first starts
   * to the moment the first device last finishes; null when those do not overlap.
   */
  steadyBubbleFraction: number | null;
  /** Micro-batches that left the last stage per second. */
  microBatchesPerSecond: number;
  /** Tokens per second: micro-batches per second × sequences per micro-batch. */
  tokensPerSecond: number;
  /** Mean time between a flow's consecutive tokens, the first counted from time 0. */
  tokenLatencySeconds: number;
  /** Mean time from a micro-batch entering stage 0 to leaving the last stage. */
  passLatencySeconds: number;
}

/** Slots one run may hold, so a typo in a sweep cannot exhaust memory. */
export const PIPELINE_MAX_SLOTS = 1_000_000;

/**
 * Simulates a pipeline schedule event by event. A device never idles while a
 * micro-batch is ready for it; among ready ones it takes the first in Megatron-LM's
 * order for ticked schedules and the longest-waiting one when streaming. Handing a
 * micro-batch to another device costs `transferSeconds`, and so does returning a
 * token from the last device to the first. Deterministic: no randomness.
 *
 * @example
 * const run = pipelineSchedule({ layers: 8, stages: 4, layerSeconds: 1e-3 }, { kind: 'fill-drain', microBatches: 4 });
 * run.bubbleFraction // => 3 / 7, i.e. (S−1)/(m+S−1)
 */
export function pipelineSchedule(stages: PipelineStageSpec, schedule: PipelineScheduleSpec): PipelineRun {
  if (schedule === null || typeof schedule !== 'object') throw new InputError('schedule', schedule, 'an object with a kind');
  const kind = checkOneOf('schedule.kind', schedule.kind, PIPELINE_SCHEDULE_KINDS);
  const microBatchSize = checkInt('schedule.microBatchSize', schedule.microBatchSize ?? 1, { min: 1, max: 1_000_000 });
  let flows: number, passes: number, chunks: number;
  if (schedule.kind === 'streaming') {
    flows = checkInt('schedule.requests', schedule.requests, { min: 1, max: PIPELINE_MAX_SLOTS });
    passes = checkInt('schedule.tokens', schedule.tokens, { min: 1, max: PIPELINE_MAX_SLOTS });
    chunks = checkInt('schedule.chunks', schedule.chunks ?? 1, { min: 1, max: 64 });
  } else {
    flows = checkInt('schedule.microBatches', schedule.microBatches, { min: 1, max: PIPELINE_MAX_SLOTS });
    passes = checkInt('schedule.ticks', schedule.ticks ?? 1, { min: 1, max: PIPELINE_MAX_SLOTS });
    chunks = schedule.kind === 'interleaved' ? checkInt('schedule.chunks', schedule.chunks, { min: 1, max: 64 }) : 1;
  }
  const layout = pipelineLayout(stages, chunks);
  const slots = flows * passes * layout.stages * chunks;
  if (slots > PIPELINE_MAX_SLOTS) {
    // Named by the schedule's own fields, so that a caller can map them to its flags.
    const field = schedule.kind === 'streaming' ? 'schedule.requests × schedule.tokens × stages × schedule.chunks' : 'schedule.microBatches × schedule.ticks × stages × schedule.chunks';
    throw new InputError(field, slots, `at most ${PIPELINE_MAX_SLOTS}`, schedule.kind === 'streaming' ? 'fewer requests, tokens, stages or chunks' : 'fewer micro-batches, ticks, stages or chunks');
  }
  const timeline = simulate(layout, kind, flows, passes);
  return summarize(kind, layout, flows, passes, microBatchSize, timeline);
}

const READY = 0;
const DONE = 1;

function simulate(layout: PipelineLayout, kind: PipelineScheduleKind, flows: number, passes: number): PipelineSlot[] {
  const S = layout.stages;
  const v = layout.chunks;
  const nv = S * v;
  const hop = S > 1 ? layout.transferSeconds : 0;
  const ticked = kind !== 'streaming';

  // Events live in flat arrays; the global queue orders them by time, and events at
  // one instant are handled in creation order so the run never depends on heap ties.
  const evKind: number[] = [];
  const evFlow: number[] = [];
  const evPass: number[] = [];
  const evStage: number[] = [];
  const events = new FlatQueue<number>();
  const addEvent = (t: number, k: number, flow: number, pass: number, stage: number) => {
    evKind.push(k);
    evFlow.push(flow);
    evPass.push(pass);
    evStage.push(stage);
    events.push(evKind.length - 1, t);
  };

  // Ready micro-batches per device: ticked schedules pick by Megatron's order (a
  // unique integer key), streaming picks first-come first-served.
  const ranked = Array.from({ length: S }, () => new FlatQueue<number>());
  const fifo: number[][] = Array.from({ length: S }, () => []);
  const fifoHead = new Array<number>(S).fill(0);
  const running = new Array<number>(S).fill(-1); // slot index or -1
  const timeline: PipelineSlot[] = [];
  // A task is (flow, pass, virtual stage); its id packs them for the per-device queues.
  const taskId = (flow: number, pass: number, j: number) => (pass * flows + flow) * nv + j;
  const passStride = Math.ceil(flows / S) * S * v;
  const megatronKey = (flow: number, pass: number, j: number) =>
    pass * passStride + Math.floor(flow / S) * S * v + Math.floor(j / S) * S + (flow % S);

  const enqueue = (flow: number, pass: number, j: number) => {
    const d = j % S;
    if (ticked) ranked[d].push(taskId(flow, pass, j), megatronKey(flow, pass, j));
    else fifo[d].push(taskId(flow, pass, j));
  };
  const takeNext = (d: number): number | undefined => {
    if (ticked) return ranked[d].pop();
    if (fifoHead[d] < fifo[d].length) return fifo[d][fifoHead[d]++];
    return undefined;
  };

  let passDone = 0; // flows of the current tick that have left the last stage
  for (let f = 0; f < flows; f++) addEvent(0, READY, f, 0, 0);

  while (events.length > 0) {
    const now = events.peekValue() as number;
    const batch: number[] = [];
    while (events.length > 0 && events.peekValue() === now) batch.push(events.pop() as number);
    batch.sort((a, b) => a - b);
    const ready: Array<[number, number, number]> = [];
    for (const e of batch) {
      const flow = evFlow[e], pass = evPass[e], j = evStage[e];
      if (evKind[e] === READY) {
        ready.push([flow, pass, j]);
        continue;
      }
      const d = j % S;
      running[d] = -1;
      if (j + 1 < nv) {
        if (hop === 0) ready.push([flow, pass, j + 1]);
        else addEvent(now + hop, READY, flow, pass, j + 1);
      } else if (ticked) {
        if (++passDone === flows && pass + 1 < passes) {
          passDone = 0;
          for (let f = 0; f < flows; f++) {
            if (hop === 0) ready.push([f, pass + 1, 0]);
            else addEvent(now + hop, READY, f, pass + 1, 0);
          }
        }
      } else if (pass + 1 < passes) {
        if (hop === 0) ready.push([flow, pass + 1, 0]);
        else addEvent(now + hop, READY, flow, pass + 1, 0);
      }
    }
    // Simultaneous arrivals join their queues in (flow, pass, stage) order.
    ready.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    for (const [flow, pass, j] of ready) enqueue(flow, pass, j);
    for (let d = 0; d < S; d++) {
      if (running[d] !== -1) continue;
      const id = takeNext(d);
      if (id === undefined) continue;
      const j = id % nv;
      const rest = (id - j) / nv;
      const flow = rest % flows;
      const pass = (rest - flow) / flows;
      const end = now + layout.virtualSeconds[j];
      running[d] = timeline.length;
      timeline.push({ device: d, virtualStage: j, flow, pass, start: now, end });
      addEvent(end, DONE, flow, pass, j);
    }
  }
  timeline.sort((a, b) => a.device - b.device || a.start - b.start);
  return timeline;
}

function summarize(
  kind: PipelineScheduleKind,
  layout: PipelineLayout,
  flows: number,
  passes: number,
  microBatchSize: number,
  timeline: PipelineSlot[],
): PipelineRun {
  const S = layout.stages;
  const last = layout.stages * layout.chunks - 1;
  const busySeconds = new Array<number>(S).fill(0);
  let makespan = 0;
  const firstStart = new Array<number>(S).fill(Infinity);
  const lastEnd = new Array<number>(S).fill(0);
  const enter = new Array<number>(flows * passes).fill(0);
  const finish = new Array<number>(flows * passes).fill(0);
  for (const s of timeline) {
    busySeconds[s.device] += s.end - s.start;
    makespan = Math.max(makespan, s.end);
    firstStart[s.device] = Math.min(firstStart[s.device], s.start);
    lastEnd[s.device] = Math.max(lastEnd[s.device], s.end);
    const key = s.pass * flows + s.flow;
    if (s.virtualStage === 0) enter[key] = s.start;
    if (s.virtualStage === last) finish[key] = s.end;
  }
  const busy = busySeconds.reduce((a, b) => a + b, 0);
  const idle = S * makespan - busy;
  const bubbleFraction = clamp01(idle / (S * makespan));

  // Steady window: every device has started and none has run dry yet.
  const t0 = Math.max(...firstStart);
  const t1 = Math.min(...lastEnd);
  let steadyBubbleFraction: number | null = null;
  if (t1 > t0) {
    let inWindow = 0;
    for (const s of timeline) inWindow += Math.max(0, Math.min(s.end, t1) - Math.max(s.start, t0));
    steadyBubbleFraction = clamp01(1 - inWindow / (S * (t1 - t0)));
  }

  let gapSum = 0;
  let passSum = 0;
  for (let f = 0; f < flows; f++) {
    let prev = 0;
    for (let p = 0; p < passes; p++) {
      const key = p * flows + f;
      gapSum += finish[key] - prev;
      prev = finish[key];
      passSum += finish[key] - enter[key];
    }
  }
  const n = flows * passes;
  const microBatchesPerSecond = n / makespan;
  return {
    kind,
    layout,
    flows,
    passes,
    microBatchSize,
    timeline,
    makespanSeconds: makespan,
    busySeconds,
    bubbleFraction,
    bubbleOverIdeal: Math.max(0, idle) / busy,
    steadyBubbleFraction,
    microBatchesPerSecond,
    tokensPerSecond: microBatchesPerSecond * microBatchSize,
    tokenLatencySeconds: gapSum / n,
    passLatencySeconds: passSum / n,
  };
}

// Summing slot durations can leave a device-time difference of a few ulps below zero.
function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
