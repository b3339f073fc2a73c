import * as aq from 'arquero';
import { InputError } from '../util/errors.js';
import { checkArray, checkInt, checkNumber, checkOneOf, checkPositive } from '../util/validate.js';
import { simulateServing } from './simulate.js';
import { replicaEngine, replicaKvCapacity, servingCapacity, type ServingReplica } from './replica.js';
import { checkServingPolicy } from './policy.js';
import type { ServingConfig, ServingPolicy, ServingResult } from './types.js';
import type { ServingEngineName, ServingEnginePreset } from './engines.js';
import { serveBenchmarkMetrics, servingBacklog } from './benchmark.js';
import type { Table } from '../util/table.js';


/** A workload without its arrivals, policy or replica: lengths and how many requests. */
export type ServingWorkload = Omit<ServingConfig, 'policy' | 'stepCost' | 'arrivals' | 'kvCapacityTokens' | 'costLabel'>;

/** Tail-latency limits a load must meet; each is optional. Seconds. */
export interface ServingLatencyLimits {
  ttftP99?: number;
  itlP99?: number;
  tpotP99?: number;
  e2eP99?: number;
}

const LIMIT_KEYS = ['ttftP99', 'itlP99', 'tpotP99', 'e2eP99'] as const;

function checkReplicas(replicas: unknown): ServingReplica[] {
  return checkArray<ServingReplica>('replicas', replicas, 64).map((r, i) => {
    if (!r || typeof r.label !== 'string' || typeof r.stepCost !== 'function') throw new InputError(`replicas[${i}]`, r, 'a replica { label, stepCost, kvCapacityTokens? }');
    return r;
  });
}

function checkLimits(limits: ServingLatencyLimits | undefined): Array<[(typeof LIMIT_KEYS)[number], number]> {
  if (!limits || typeof limits !== 'object') throw new InputError('limits', limits, `an object with some of ${LIMIT_KEYS.join(', ')} (seconds)`);
  const out: Array<[(typeof LIMIT_KEYS)[number], number]> = [];
  for (const k of Object.keys(limits)) {
    const key = checkOneOf(`limits.${k}`, k, LIMIT_KEYS);
    out.push([key, checkPositive(`limits.${k}`, limits[key])]);
  }
  if (out.length === 0) throw new InputError('limits', limits, `at least one of ${LIMIT_KEYS.join(', ')}`);
  return out;
}

function metric(r: ServingResult, key: (typeof LIMIT_KEYS)[number]): number {
  switch (key) {
    case 'ttftP99':
      return r.ttft.p99;
    case 'itlP99':
      return r.itl ? r.itl.p99 : 0;
    case 'tpotP99':
      return r.tpot ? r.tpot.p99 : 0;
    case 'e2eP99':
      return r.e2e.p99;
  }
}

// The share of its arrivals a carried load serves over its window (servingBacklog's, after the first
// quarter): a Poisson run below capacity serves them all but the few in flight at the window's end.
const OVERLOAD_SERVED_SHARE = 0.95;

/**
 * The largest Poisson arrival rate a replica carries under a policy while every given
 * tail-latency limit holds and its queue does not grow through the run (`servingBacklog`:
 * a load past capacity is not carried, even where its inter-token latency stays within
 * the limit), found by bisection on the rate (latency grows with load)
 * between 0 and `maxLoad` × its continuous-batching capacity. Returns the rate, the
 * same as a fraction of that capacity (0 when even the lightest load tried breaks a
 * limit: the answer then lies below `brokenAtLoad`, the bisection's resolution), the
 * output tokens/s it carries (that rate times the mean output length), and the
 * lightest load tried that broke a limit with the limits it broke.
 * Seeded runs: common random numbers at every rate.
 *
 * @example
 * servingLoadUnderLimit(replica, workload, { kind: 'window', windowMs: 50, maxBatch: 256 }, { itlP99: 0.2 }, 1).load
 */
export function servingLoadUnderLimit(
  replica: ServingReplica,
  workload: ServingWorkload,
  policy: ServingPolicy,
  limits: ServingLatencyLimits,
  seed: number,
  opts: { maxLoad?: number; iterations?: number; capacityRps?: number } = {},
): {
  ratePerSecond: number;
  load: number;
  capacityRps: number;
  throughputTokS: number;
  /** The lightest load tried that broke a limit (the answer lies below it); null when even `maxLoad` met every limit. */
  brokenAtLoad: number | null;
  /** The limits that load broke, by name (e.g. ['itlP99'], or 'backlog' where its queue grew); empty when none broke. */
  brokenLimits: string[];
} {
  const [r] = checkReplicas([replica]);
  const lim = checkLimits(limits);
  checkServingPolicy(policy);
  const maxLoad = checkNumber('maxLoad', opts.maxLoad ?? 1.5, { min: 0.01, max: 100 });
  const iterations = checkInt('iterations', opts.iterations ?? 10, { min: 1, max: 40 });
  const base = { ...workload, stepCost: r.stepCost, costLabel: r.label, kvCapacityTokens: r.kvCapacityTokens };
  const capacity = opts.capacityRps ?? servingCapacity({ ...base, arrivals: { kind: 'burst' } }, { kind: 'continuous', maxBatch: policy.maxBatch }, seed);
  const at = (load: number) => simulateServing({ ...base, arrivals: { kind: 'poisson', ratePerSecond: load * capacity }, policy }, seed);
  // A load whose queue grows through the run is not carried, whatever its latencies (its inter-token
  // latency can stay low while the wait to be admitted grows without bound): 'backlog' names that. Besides
  // servingBacklog's test (which lets an overload of a few tens of per cent pass in a short run), a window
  // that serves under 95 % of what arrived in it is one whose queue grew.
  const overloaded = (res: ServingResult): boolean => {
    const b = servingBacklog(res);
    return b !== null && (b.growing || b.servedPerSecond < OVERLOAD_SERVED_SHARE * b.offeredPerSecond);
  };
  const broken = (res: ServingResult) => [...lim.filter(([k, v]) => metric(res, k) > v).map(([k]) => k as string), ...(overloaded(res) ? ['backlog'] : [])];
  let lo = 0;
  let hi = maxLoad;
  let best: ServingResult | null = null;
  const top = at(hi);
  let failing: ServingResult | null = null;
  if (broken(top).length === 0) {
    lo = hi;
    best = top;
  } else {
    failing = top;
    for (let i = 0; i < iterations; i++) {
      const mid = (lo + hi) / 2;
      const res = at(mid);
      if (broken(res).length === 0) {
        lo = mid;
        best = res;
      } else {
        hi = mid;
        failing = res;
      }
    }
  }
  // The offered token rate, which a run within its limits carries; n / makespan would
  // charge the drain of the longest answers (at a long window, minutes) to the rate.
  const tokensPerRequest = top.tokens.output / top.requests;
  return {
    ratePerSecond: lo * capacity,
    load: lo,
    capacityRps: capacity,
    throughputTokS: best ? lo * capacity * tokensPerRequest : 0,
    brokenAtLoad: failing ? hi : null,
    brokenLimits: failing ? broken(failing) : [],
  };
}

/**
 * servingLoadUnderLimit for every replica × policy: one row per pair with the
 * replica, policy kind, window (ms, or null), the largest load as a fraction of the
 * replica's continuous-batching capacity, that rate in requests/s and the output
 * tokens/s it carries, the lightest load tried that broke a limit and which limits it
 * broke (null and '' when the top load met them all), and the limits as text.
 *
 * @example
 * servingLoadUnderLimitTable([r70b], workload, [0, 50, 200].map((w) => ({ kind: 'window', windowMs: w, maxBatch: 256 })), { itlP99: 0.25 }, 1);
 */
export function servingLoadUnderLimitTable(
  replicas: ServingReplica[],
  workload: ServingWorkload,
  policies: ServingPolicy[],
  limits: ServingLatencyLimits,
  seed: number,
  opts: { maxLoad?: number; iterations?: number } = {},
): Table {
  const reps = checkReplicas(replicas);
  const pols = checkArray<ServingPolicy>('policies', policies, 256);
  const lim = checkLimits(limits);
  const rows: Array<Record<string, unknown>> = [];
  for (const r of reps) {
    let capacity: number | undefined;
    for (const p of pols) {
      const res = servingLoadUnderLimit(r, workload, p, limits, seed, { ...opts, capacityRps: capacity });
      capacity = res.capacityRps;
      rows.push({
        replica: r.label,
        policy: p.kind,
        windowMs: 'windowMs' in p ? p.windowMs : null,
        maxBatch: p.maxBatch,
        load: res.load,
        ratePerSecond: res.ratePerSecond,
        capacityRps: res.capacityRps,
        throughputTokS: res.throughputTokS,
        brokenAtLoad: res.brokenAtLoad,
        brokenLimits: res.brokenLimits.join(', '),
        limits: lim.map(([k, v]) => `${k} ≤ ${v} s`).join(', '),
        seed,
      });
    }
  }
  return aq.from(rows);
}

/**
 * Measured requests (those from index `from` on) per distinct send instant: 1 when
 * every request is sent at its own moment, g when closed-loop clients resend in groups
 * of g (fixed lengths and no think time keep the clients of one first-wave step in
 * lockstep: they share every later step, so they finish and resend together).
 */
function requestsPerSendInstant(arrival: Float64Array, from: number): number {
  const t = Float64Array.from(arrival.subarray(from)).sort();
  let instants = 0;
  for (let i = 0; i < t.length; i++) if (i === 0 || t[i] !== t[i - 1]) instants++;
  return instants === 0 ? 0 : t.length / instants;
}

/** A closed-loop concurrency curve and where it saturates. */
export interface ConcurrencyCurve {
  /**
   * One row per client count (`CONCURRENCY_COLUMNS` says what each field is over): the
   * benchmark figures (`requestThroughput`, `outputThroughput`, `…TtftMs`, `…TpotMs`,
   * `…ItlMs`, `…E2elMs`) over the requests after the warm-up, as `vllm bench serve` reports
   * them; the simulator's run figures (`throughputRps`, `throughputTokS`, `ttftP50`,
   * `ttftP99`, `itlP50`, `itlP99`, `e2eMean`, in seconds) over every request of the run,
   * the warm-up round included, so they differ where the warm-up round queues.
   */
  table: Table;
  /** Highest throughput over the sweep, requests/s: each row's `requestThroughput`, over its steady-state window (warm-up left out), as the table reports it. */
  maxThroughputRps: number;
  /** The client count of that highest throughput: the largest count swept means the curve may not have levelled off, and N* is then a lower bound. */
  maxThroughputClients: number;
  /**
   * Kleinrock's saturation number N* = X_max · (R(1) + Z): the client count at which the
   * two asymptotes of the response-time law meet (X = N / (R(1) + Z) for few clients,
   * X = X_max beyond). Below it clients rarely queue; above it each added client adds
   * only waiting time.
   */
  saturationClients: number;
}

/**
 * What each run figure of a concurrency-curve row is over (servingConcurrencySweep), for
 * a table's or a JSON file's reader: the simulator's whole run, or the benchmark's
 * requests after the warm-up.
 *
 * @example
 * CONCURRENCY_COLUMNS.ttftP99 // => 'p99 TTFT, seconds, over every request of the run, the warm-up round included'
 */
export const CONCURRENCY_COLUMNS: Readonly<Record<string, string>> = {
  replica: "the replica's label: model, weights dtype, devices, hardware and what priced its steps",
  clients: 'N, the closed-loop clients (the concurrency)',
  thinkSeconds: "each client's think time between a finish and its next send, seconds, mean over the run",
  meanBatch: 'sequences per engine step, mean over the run, simulated',
  meanAdmitted: 'requests admitted per admission step, mean over the run',
  requestsPerSendInstant: 'measured requests per distinct send time: above 1, clients resend in lockstep and their prompts share a step',
  busySecondsPer1kTokens: 'engine-busy seconds per 1,000 output tokens over the run',
  completed: 'requests measured: those after the warm-up',
  warmupRequests: "requests left out as warm-up (by default each client's first)",
  totalInput: 'prompt tokens of the measured requests',
  totalOutput: 'output tokens of the measured requests',
  windowStartSeconds: 'the steady-state window: from the first measured send, seconds of simulated time',
  windowEndSeconds: 'the steady-state window: to the last measured finish, seconds of simulated time',
  durationSeconds: 'the steady-state window, seconds (the benchmark\'s duration)',
  drainSeconds: 'from the last measured send to the last finish, seconds: the tail with fewer than N requests in flight',
  seed: 'the random seed of the run',
  config: 'the simulated configuration in words: arrivals, lengths, requests and the scheduler',
  cost: 'the step model that priced every step',
  throughputRps: 'requests per second over the whole run, the warm-up round included',
  throughputTokS: 'output tokens per second over the whole run, the warm-up round included',
  ttftP50: 'p50 TTFT, seconds, over every request of the run, the warm-up round included',
  ttftP99: 'p99 TTFT, seconds, over every request of the run, the warm-up round included',
  itlP50: 'p50 inter-token latency, seconds, over every request of the run, the warm-up round included',
  itlP99: 'p99 inter-token latency, seconds, over every request of the run, the warm-up round included',
  e2eMean: 'mean end-to-end latency, seconds, over every request of the run, the warm-up round included',
  requestThroughput: 'requests per second over the steady-state window (vllm bench serve), the warm-up excluded',
  outputThroughput: 'output tokens per second over the steady-state window, the warm-up excluded',
  totalTokenThroughput: 'input and output tokens per second over the steady-state window, the warm-up excluded',
  ...Object.fromEntries(
    (
      [
        ['Ttft', 'TTFT, ms'],
        ['Tpot', 'TPOT = (E2EL − TTFT) / (output − 1), ms'],
        ['Itl', 'inter-token latency excluding the first token, ms'],
        ['E2el', 'end-to-end latency, ms'],
      ] as const
    ).flatMap(([m, what]) => (['mean', 'median', 'p99'] as const).map((stat) => [`${stat}${m}Ms`, `${what}, ${stat} over the requests after the warm-up (vllm bench serve)`])),
  ),
};

/**
 * The closed-loop concurrency curve as benchmark tools report it: for each client count
 * N, N users each send a request, wait for it to finish, think `thinkSeconds`, and send
 * the next (`vllm bench serve --max-concurrency N` with zero think). Each row carries
 * the figures of `vllm bench serve` (serveBenchmarkMetrics: request, output and total
 * token throughput; mean, median and p99 TTFT, TPOT, ITL and E2EL in ms) over the
 * requests after the warm-up (by default each client's first request, the round all
 * sent at t = 0), the measured window and its drain, and the saturation point N*.
 * Two columns say how the clients' sends group: `meanAdmitted` (requests admitted
 * per admission step) and `requestsPerSendInstant` (measured requests per distinct
 * send time: above 1, clients resend in lockstep and their prompts share a step).
 * `requestsPerClient` sizes each run by its concurrency (N × it requests) instead of
 * `workload.requests`, so every client completes as many requests at every N. The
 * `policy` is a policy config, or an engine name or preset (servingEnginePreset) whose
 * policy and KV admission the runs take; a name takes the preset for the replica's
 * `device` where it has one (`catalogServingReplica` sets it), as `batchlab simulate
 * --engine` does.
 *
 * @example
 * const c = servingConcurrencySweep(replica, workload, 'vllm', [1, 4, 16, 64, 256], 1);
 * c.saturationClients;
 */
export function servingConcurrencySweep(
  replica: ServingReplica,
  workload: ServingWorkload,
  policy: ServingPolicy | ServingEngineName | ServingEnginePreset,
  clients: number[],
  seed: number,
  opts: { thinkSeconds?: number; think?: 'fixed' | 'exponential'; requestsPerClient?: number; warmupRequestsPerClient?: number } = {},
): ConcurrencyCurve {
  const [r] = checkReplicas([replica]);
  const byEngine = typeof policy === 'string' || (!!policy && typeof policy === 'object' && 'engine' in policy);
  if (!byEngine) checkServingPolicy(policy);
  const engine = byEngine ? replicaEngine(r, policy as ServingEngineName | ServingEnginePreset) : undefined;
  const ns = [...checkArray<number>('clients', clients, 1000).map((c, i) => checkInt(`clients[${i}]`, c, { min: 1, max: 1_000_000 }))].sort((a, b) => a - b);
  const think = checkNumber('thinkSeconds', opts.thinkSeconds ?? 0, { min: 0, max: 1e6 });
  const perClient = opts.requestsPerClient === undefined ? undefined : checkInt('requestsPerClient', opts.requestsPerClient, { min: 1, max: 1_000_000 });
  const warmPerClient = checkInt('warmupRequestsPerClient', opts.warmupRequestsPerClient ?? 1, { min: 0, max: 1_000_000 });
  const rows = ns.map((n) => {
    const requests = perClient ? n * perClient : workload.requests;
    const warmup = Math.min(n * warmPerClient, requests === undefined ? Infinity : requests);
    if (requests !== undefined && warmup >= requests) {
      throw new InputError(perClient ? 'requestsPerClient' : 'workload.requests', perClient ?? requests, `more than the ${warmup} warm-up requests at ${n} clients`);
    }
    const base = { ...workload, ...(perClient ? { requests: n * perClient } : {}), ...(Number.isFinite(warmup) && warmup > 0 ? { warmupRequests: warmup } : {}), arrivals: { kind: 'closed' as const, clients: n, thinkSeconds: think, think: opts.think ?? 'fixed' }, stepCost: r.stepCost, costLabel: r.label, kvCapacityTokens: replicaKvCapacity(r, engine) };
    const res = simulateServing(byEngine ? { ...base, engine: engine! } : { ...base, policy: policy as ServingPolicy }, seed);
    const bench = serveBenchmarkMetrics(res, warmup);
    return {
      replica: r.label,
      clients: n,
      throughputRps: res.throughputRequestsPerSecond,
      throughputTokS: res.throughputTokensPerSecond,
      ttftP50: res.ttft.p50,
      ttftP99: res.ttft.p99,
      itlP50: res.itl ? res.itl.p50 : null,
      itlP99: res.itl ? res.itl.p99 : null,
      e2eMean: res.e2e.mean,
      thinkSeconds: res.meanThinkSeconds ?? 0,
      meanBatch: res.meanBatch,
      meanAdmitted: res.meanAdmitted,
      requestsPerSendInstant: requestsPerSendInstant(res.requestLog!.arrival, warmup),
      busySecondsPer1kTokens: res.busySecondsPer1kTokens,
      ...bench,
      seed,
      config: res.provenance.config,
      cost: res.provenance.cost,
    };
  });
  // X_max and R(1) from the figures the table reports (the steady-state window after the warm-up), not
  // the whole run's: with few requests per client the warm-up round alone would set them.
  const top = rows.reduce((best, x) => (x.requestThroughput > best.requestThroughput ? x : best), rows[0]);
  // R(1) + Z from the smallest client count: at N = 1 it is measured directly; otherwise
  // the response-time law gives it back as N / X at that N, an upper bound.
  const first = rows[0];
  const cycle = first.clients === 1 ? first.meanE2elMs / 1e3 + first.thinkSeconds : first.clients / first.requestThroughput;
  return { table: aq.from(rows), maxThroughputRps: top.requestThroughput, maxThroughputClients: top.clients, saturationClients: top.requestThroughput * cycle };
}
