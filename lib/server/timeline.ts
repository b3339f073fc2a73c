import type { ArrivalRecord, StepRecord } from './loop.js';
import type { LoadResult } from './load.js';
import { median } from '../util/stats.js';

/** The server's log of a run, as GET /batchlab/metrics returns it. */
export interface ServerRunLog {
  arrivals: ArrivalRecord[];
  steps: StepRecord[];
  /** The loop clock's origin on CLOCK_MONOTONIC (ServingLoop.monotonicOrigin). */
  monotonicOrigin: number;
}

/**
 * Where one request's time to first token went, in seconds, from the client's send to
 * the client reading the first token; the five parts add up to the client's TTFT.
 */
export interface RequestTimeline {
  /** The response id both sides recorded. */
  id: string;
  /** Client send → server has read the request's headers (in flight, and waiting while a step runs). */
  toHeaders: number;
  /** Headers → body read, parsed and submitted to the loop. */
  toSubmit: number;
  /** Submitted → the step that admits it starts (queueing, the rest of a running step, the settle). */
  toAdmit: number;
  /** Admitting step start → its first token written (the prefill step, and any steps until the prompt is done). */
  toFirstToken: number;
  /** First token written → the client has read it (the return path and the client's own parsing). */
  toClient: number;
  /** The client's TTFT (the sum of the five). */
  ttft: number;
}

/**
 * Matches a load run's requests to the server's log by response id and splits each
 * request's TTFT into its parts on one clock (both sides report their origin on
 * CLOCK_MONOTONIC). Requests that either side did not record, or a log without the
 * monotonic origin, give no timeline.
 *
 * @example
 * const log = await (await fetch(`${url}/batchlab/metrics`)).json();
 * requestTimelines(await runLoad({ url, workload, seed: 1 }), log).map((t) => t.toAdmit)
 */
export function requestTimelines(run: LoadResult, log: ServerRunLog): RequestTimeline[] {
  if (!Number.isFinite(run.monotonicStart) || !Number.isFinite(log.monotonicOrigin)) return [];
  const shift = log.monotonicOrigin - run.monotonicStart;
  const byLabel = new Map(log.arrivals.filter((a) => a.label !== undefined).map((a) => [a.label!, a]));
  const stepStart = new Map(log.steps.map((s) => [s.index, s.start]));
  const out: RequestTimeline[] = [];
  for (const r of run.records) {
    const a = r.id === undefined ? undefined : byLabel.get(r.id);
    const admit = a ? stepStart.get(a.admitStep) : undefined;
    if (!a || admit === undefined || r.tokenTimes.length === 0 || !Number.isFinite(a.received)) continue;
    // Server times on the client's clock.
    const received = a.received + shift;
    const submitted = a.arrival + shift;
    const admitted = admit + shift;
    const written = a.firstToken + shift;
    out.push({
      id: r.id!,
      toHeaders: received - r.send,
      toSubmit: submitted - received,
      toAdmit: admitted - submitted,
      toFirstToken: written - admitted,
      toClient: r.tokenTimes[0] - written,
      ttft: r.tokenTimes[0] - r.send,
    });
  }
  return out;
}

/**
 * The median of each part of a set of timelines (medians of parts do not add up to the
 * median TTFT; `ttft` is the median TTFT itself).
 *
 * @example
 * timelineMedians(requestTimelines(run, log)).toClient // => 0.0021
 */
export function timelineMedians(t: RequestTimeline[]): Omit<RequestTimeline, 'id'> & { requests: number } {
  const m = (k: keyof Omit<RequestTimeline, 'id'>): number => (t.length ? median(t.map((x) => x[k])) : NaN);
  return { requests: t.length, toHeaders: m('toHeaders'), toSubmit: m('toSubmit'), toAdmit: m('toAdmit'), toFirstToken: m('toFirstToken'), toClient: m('toClient'), ttft: m('ttft') };
}
