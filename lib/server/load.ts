import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Agent, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { resolveServing } from '../batching/config.js';
import { constantStepCost } from '../batching/cost.js';
import { servingPolicyModule } from '../batching/policy.js';
import { latencyStats } from '../batching/stats.js';
import type { ServingConfig, ServingLatencyStats } from '../batching/types.js';
import { fork } from '../util/random.js';
import { median } from '../util/stats.js';
import { InputError } from '../util/errors.js';
import { monotonicSeconds } from '../util/clock.js';
import { checkInt, checkNumber } from '../util/validate.js';

/** A workload: the simulator's arrival and length specs (no policy, no cost). */
export type LoadWorkload = Pick<ServingConfig, 'arrivals' | 'requests' | 'promptTokens' | 'outputTokens'>;

/** What one request saw, in seconds since the run started (client clock). */
export interface LoadRequestRecord {
  index: number;
  promptTokens: number;
  outputTokens: number;
  send: number;
  /** Arrival time of each output token, in order. */
  tokenTimes: number[];
  /** The token ids as the text spelled them. */
  tokens: number[];
  finish: number;
  /** HTTP status, or 0 when the connection failed. */
  status: number;
  error?: string;
  /**
   * False when the request never reached the server (its connection was refused or never
   * made); absent where the client did not say (another client's records), taken as true.
   */
  connected?: boolean;
  /** True when the client itself ended the request on an interrupt (LoadOptions.signal), not the server or the network. */
  aborted?: boolean;
  /** The response's id (the `id` of its chunks), to match the server's record of the request. */
  id?: string;
}

/**
 * Measured metrics of a run, shaped like the simulator's ServingResult where they
 * overlap, with the definitions of vLLM's `vllm bench serve` (benchmarks/serve.py,
 * calculate_metrics): TTFT from send to the first token; ITL every gap between a
 * request's consecutive tokens, the first token excluded; TPOT per request (e2e − TTFT) /
 * (output tokens − 1); e2e from send to the end of the response; throughputs over the
 * run's duration.
 */
export interface LoadResult {
  /** Requests that completed (HTTP 200 and at least one token). */
  requests: number;
  /** Requests that ended otherwise, for any reason but the client's own interrupt (`aborted`). */
  failed: number;
  /** Requests the client ended itself on an interrupt (LoadOptions.signal), neither completed nor failed. */
  aborted: number;
  /** Requests the workload asks for; more than requests + failed + aborted when an interrupt stopped the sends. */
  requestsAsked: number;
  /** Whether an interrupt (LoadOptions.signal) stopped the run before every request asked for had finished. */
  interrupted: boolean;
  /** Why requests failed: each distinct reason with its count, the most frequent first. */
  failureReasons: Array<{ reason: string; count: number }>;
  /** The unit of ttft, itl, tpot, e2e and makespanSeconds. */
  latencyUnit: 'seconds';
  /** First send to last completion (vLLM's benchmark duration). */
  makespanSeconds: number;
  throughputRequestsPerSecond: number;
  /** Output tokens per second. */
  throughputTokensPerSecond: number;
  /** Prompt and output tokens per second. */
  totalTokensPerSecond: number;
  inputTokens: number;
  outputTokens: number;
  ttft: ServingLatencyStats;
  /** Every gap between consecutive tokens of a request (the first token excluded). */
  itl: ServingLatencyStats | null;
  /** Per request: (e2e − TTFT) / (output tokens − 1). */
  tpot: ServingLatencyStats | null;
  e2e: ServingLatencyStats;
  /** Open loop: the arrival rate asked for; null in closed loop. */
  nominalRatePerSecond: number | null;
  /**
   * Requests sent per second between the first and the last send ((n − 1) / span) of the
   * requests that reached the server; NaN for one. A request whose connection was refused
   * is left out: in closed loop its client sends the next one at once, so a server that
   * went away would otherwise read as load offered at a high rate.
   */
  offeredRatePerSecond: number;
  /** The n of offeredRatePerSecond: requests sent that reached the server. */
  offeredRequests: number;
  /** TCP connections the run opened that connected (warm-up included; refused attempts are not connections). */
  connections: number;
  /** Time-averaged requests in flight, from the client's send and finish times. */
  meanInSystem: number;
  records: LoadRequestRecord[];
  /** The run's time 0 on CLOCK_MONOTONIC in seconds (see monotonicSeconds); NaN when the client did not report it. */
  monotonicStart: number;
  /**
   * CPU seconds (user + system) the client process spent from its first send to its last
   * finish (measured; NaN when not reported): on a machine whose cores the server shares,
   * the client's own work slows the server's steps.
   */
  clientCpuSeconds: number;
  provenance: { url: string; workload: string; seed: number; date: string };
}

/** Options of a load run. */
export interface LoadOptions {
  /** Server root, e.g. http://127.0.0.1:8000 */
  url: string;
  workload: LoadWorkload;
  seed: number;
  model?: string;
  /** Called after every finished request. */
  onRequest?: (r: LoadRequestRecord) => void;
  signal?: AbortSignal;
  /**
   * Open loop: keep-alive connections opened before the clock starts (default 16), so
   * that the requests of the run reuse them instead of timing a TCP handshake each. In
   * closed loop every client opens its one connection before the clock starts.
   */
  warmConnections?: number;
  /** Give up on a request after this many seconds (default 600). */
  timeoutSeconds?: number;
}

/** Keep-alive connections for a load run, counting the sockets they open. */
class ConnectionPool {
  readonly agent: Agent;
  /** Sockets that connected; an attempt the server refused never joins. */
  readonly sockets = new Set<Socket>();
  private readonly request: typeof httpRequest;
  private readonly url: URL;
  private readonly active = new Set<ReturnType<typeof httpRequest>>();

  constructor(url: string, maxSockets: number) {
    this.url = new URL(url);
    const https = this.url.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets }) : new HttpAgent({ keepAlive: true, maxSockets });
    this.request = https ? httpsRequest : httpRequest;
  }

  /** Ends every request in flight. */
  abort(): void {
    for (const r of this.active) r.destroy(new Error('aborted'));
  }

  /** One request; the response body is handed to `onData` with the response's status and read to its end; `onConnect` once its socket is connected. */
  send(path: string, method: string, body: string | undefined, onData: (chunk: Buffer, status: number) => void, timeoutMs = 600_000, onConnect: () => void = () => {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = this.request(
        new URL(path, this.url),
        { method, agent: this.agent, timeout: timeoutMs, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res: IncomingMessage) => {
          res.on('data', (c: Buffer) => onData(c, res.statusCode ?? 0));
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      this.active.add(req);
      req.on('close', () => this.active.delete(req));
      req.on('socket', (s: Socket) => {
        const connected = (): void => {
          this.sockets.add(s);
          onConnect();
        };
        // A kept-alive socket is connected already; a new one may yet be refused.
        if (s.connecting) s.once('connect', connected);
        else connected();
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The message of an OpenAI-style error body ({"error": {"message"}}), else the body itself (at most 300 characters). */
function errorReason(body: string): string {
  try {
    const m = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: the body as it came
  }
  return body.length > 300 ? `${body.slice(0, 297)}...` : body;
}

/** A failed request's reason in words, with the system's code where it has one ('connect ECONNREFUSED 127.0.0.1:8000'). */
function requestError(e: NodeJS.ErrnoException): string {
  // Node's word for a response cut off by the server (killed, or closing the connection) is only "aborted".
  if (e.message === 'aborted' && e.code === 'ECONNRESET') return 'the connection closed before the response ended (ECONNRESET)';
  return e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
}

/** Splits server-sent events into their data lines; `[DONE]` is passed on like any other. */
function sseReader(onData: (data: string) => void): (chunk: Buffer) => void {
  const dec = new TextDecoder();
  let buf = '';
  return (chunk) => {
    buf += dec.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) onData(line.slice(6));
    }
  };
}

/** The prompt ids of request i: seeded bytes, so every run of a seed sends the same text. */
function promptIds(seed: number, i: number, n: number): number[] {
  const r = fork(seed, `prompt-ids-${i}`);
  return Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** The requests of a load run, drawn from its workload and seed before it starts. */
export interface LoadPlan {
  loop: 'open' | 'closed';
  /** Closed loop: concurrent clients; 0 in open loop. */
  clients: number;
  /** The workload in words (arrivals, lengths, count). */
  description: string;
  /** In send order: open-loop send time in seconds (NaN in closed loop), prompt token ids, tokens to generate. */
  requests: Array<{ at: number; prompt: number[]; maxTokens: number }>;
  /** The seeded streams the plan was drawn from (think times are drawn from it as a run goes). */
  source: ReturnType<typeof resolveServing>;
}

/**
 * The requests a load run of `workload` and `seed` sends: the simulator's seeded arrival
 * and length streams (so `simulateServing` of the same workload and seed predicts the
 * run) and seeded prompt bytes. Any client, in this process or outside it, can send them.
 *
 * @example
 * planLoad({ arrivals: { kind: 'poisson', ratePerSecond: 4 }, requests: 3, promptTokens: { kind: 'fixed', tokens: 8 }, outputTokens: { kind: 'fixed', tokens: 4 } }, 1).requests[0].at // => 0
 */
export function planLoad(workload: LoadWorkload, seed: number): LoadPlan {
  // Only the seeded arrival and length streams of the config are used; the policy and
  // cost are stand-ins that the validator asks for.
  const standIn = { kind: 'continuous', maxBatch: 1 } as const;
  const R = resolveServing({ ...workload, policy: standIn, stepCost: constantStepCost(1) }, seed);
  // The description names the stand-in policy last; the client does not know the server's, so it is cut off.
  const standInText = `; ${servingPolicyModule(standIn.kind).describe(standIn)}`;
  const description = R.description.endsWith(standInText) ? R.description.slice(0, -standInText.length) : R.description;
  if (R.loop === 'open' && workload.arrivals.kind === 'trace') throw new InputError('workload.arrivals.kind', 'trace', 'poisson, gamma, burst or closed');
  const requests = Array.from({ length: R.n }, (_, i) => {
    const at = R.loop === 'open' ? R.nextArrival() : NaN;
    const p = R.nextPrompt();
    return { at, prompt: promptIds(seed, i, p), maxTokens: R.nextOutput() };
  });
  return { loop: R.loop, clients: R.loop === 'open' ? 0 : Math.min(R.clients, R.n), description, requests, source: R };
}

/** Waits `seconds`, or less when `signal` aborts first: an interrupt must not wait out a think time or an arrival gap. */
function sleepUnlessAborted(seconds: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, seconds * 1000);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Drives a completion server with the simulator's workload and seed: open loop (the
 * request times of `poisson`, `gamma` or `burst` arrivals, sent whatever the server is
 * doing) or closed loop (`closed`: N clients, each sending its next request when the
 * previous one finished, after its think time). Prompts and output lengths are the
 * seed's draws, so `simulateServing` of the same workload and seed predicts this run.
 * Every request streams (SSE); its TTFT, inter-token gaps and end-to-end latency are
 * recorded on the client's clock, as benchmark tools do.
 *
 * @example
 * const r = await runLoad({ url: srv.url, seed: 1, workload: { arrivals: { kind: 'poisson', ratePerSecond: 4 }, requests: 40,
 *   promptTokens: { kind: 'fixed', tokens: 32 }, outputTokens: { kind: 'fixed', tokens: 16 } } });
 * r.ttft.p50; r.throughputTokensPerSecond;
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (typeof o?.url !== 'string' || !/^https?:\/\//.test(o.url)) throw new InputError('url', o?.url, 'an http:// URL of a completion server');
  const plan = planLoad(o.workload, o.seed);
  const R = plan.source;
  const workloadText = plan.description;
  const n = R.n;
  const records: LoadRequestRecord[] = [];
  const warm = checkInt('warmConnections', o.warmConnections ?? 16, { min: 0, max: 256 });
  const timeoutMs = 1000 * checkNumber('timeoutSeconds', o.timeoutSeconds ?? 600, { min: 0.001, max: 86_400 });
  const clients = R.loop === 'open' ? 0 : Math.min(R.clients, n);
  // Open loop: one shared pool; closed loop: one keep-alive connection per client.
  const pools = R.loop === 'open' ? [new ConnectionPool(o.url, Infinity)] : Array.from({ length: clients }, () => new ConnectionPool(o.url, 1));
  // One listener for the run, removed at its end, however many clients (one per pool tripped Node's leak warning at 11).
  const abort = (): void => pools.forEach((p) => p.abort());
  o.signal?.addEventListener('abort', abort, { once: true });
  const warmUp = (pool: ConnectionPool): Promise<number> => pool.send('/v1/models', 'GET', undefined, () => {}, timeoutMs);
  let created = 0;
  let t0 = NaN;
  let cpu0 = process.cpuUsage();
  const clock = (): number => (performance.now() - t0) / 1000;

  const send = async (pool: ConnectionPool, i: number): Promise<void> => {
    const q = plan.requests[i];
    const rec: LoadRequestRecord = { index: i, promptTokens: q.prompt.length, outputTokens: q.maxTokens, send: clock(), tokenTimes: [], tokens: [], finish: NaN, status: 0, connected: false };
    records.push(rec);
    let error = '';
    const onData = sseReader((data) => {
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data) as { id?: string; choices?: Array<{ text?: string }> };
      rec.id ??= chunk.id;
      const text = chunk.choices?.[0]?.text;
      if (!text) return;
      const t = clock();
      for (const part of text.trim().split(/\s+/)) {
        rec.tokenTimes.push(t);
        rec.tokens.push(Number(part));
      }
    });
    try {
      const body = JSON.stringify({ model: o.model, prompt: q.prompt, max_tokens: q.maxTokens, stream: true });
      // An error's body is its reason (the server's message), not events: keep it for the record.
      rec.status = await pool.send('/v1/completions', 'POST', body, (c, status) => {
        if (status === 200) onData(c);
        else if (error.length < 4096) error += c.toString(); // bounded: another server's error body may be anything
      }, timeoutMs, () => (rec.connected = true));
      if (rec.status !== 200) rec.error = `HTTP ${rec.status}: ${errorReason(error)}`;
    } catch (e) {
      // Requests in flight when the signal fired were ended by this client (pool.abort), not by the server.
      if (o.signal?.aborted) {
        rec.aborted = true;
        rec.error = 'aborted by the client on an interrupt';
      } else rec.error = requestError(e as NodeJS.ErrnoException);
    }
    rec.finish = clock();
    o.onRequest?.(rec);
  };

  try {
    if (R.loop === 'open') {
      await Promise.all(Array.from({ length: warm }, () => warmUp(pools[0])));
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < n; i++) {
        const wait = plan.requests[i].at - clock();
        if (wait > 0) await sleepUnlessAborted(wait, o.signal);
        if (o.signal?.aborted) break;
        pending.push(send(pools[0], i));
        created++;
      }
      await Promise.all(pending);
    } else {
      await Promise.all(pools.map(warmUp));
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      const client = async (pool: ConnectionPool): Promise<void> => {
        while (created < n && !o.signal?.aborted) {
          const i = created++;
          await send(pool, i);
          if (created >= n) break;
          const think = R.nextThink();
          if (think > 0) await sleepUnlessAborted(think, o.signal);
        }
      };
      await Promise.all(pools.map(client));
    }
  } finally {
    o.signal?.removeEventListener('abort', abort);
    for (const p of pools) p.close();
  }
  const cpu = process.cpuUsage(cpu0);
  const nominal = o.workload.arrivals.kind === 'poisson' || o.workload.arrivals.kind === 'gamma' ? o.workload.arrivals.ratePerSecond : null;
  const connections = pools.reduce((s, p) => s + p.sockets.size, 0);
  const finished = records.filter((r) => !r.aborted).length;
  const interrupted = o.signal?.aborted === true && finished < n;
  return summariseLoad(records, { url: o.url, workload: workloadText, seed: o.seed }, { nominalRatePerSecond: nominal, connections, monotonicStart: monotonicSeconds(t0), clientCpuSeconds: (cpu.user + cpu.system) / 1e6, requestsAsked: n, interrupted });
}

/**
 * Metrics of a set of request records: latency statistics (the simulator's quantile
 * rule), throughput over first send to last finish, and the time-averaged number of
 * requests in flight. Failed requests are counted, with their reasons, and left out of the
 * latencies; requests the client aborted on an interrupt (`aborted`) are counted apart.
 * Latencies are in seconds (`latencyUnit`).
 *
 * @example
 * summariseLoad(records, { url, workload: 'poisson 4/s', seed: 1 }).e2e.p50
 */
export function summariseLoad(
  records: LoadRequestRecord[],
  meta: { url: string; workload: string; seed: number },
  run: { nominalRatePerSecond?: number | null; connections?: number; monotonicStart?: number; clientCpuSeconds?: number; requestsAsked?: number; interrupted?: boolean } = {},
): LoadResult {
  const ok = records.filter((r) => r.status === 200 && r.tokenTimes.length > 0);
  if (ok.length === 0) throw new InputError('records', records.length, 'at least one successful request', records[0]?.error);
  const first = Math.min(...ok.map((r) => r.send));
  const last = Math.max(...ok.map((r) => r.finish));
  const span = last - first;
  const stats = (v: number[]): ServingLatencyStats => latencyStats(Float64Array.from(v), v.length);
  const gaps: number[] = [];
  const tpots: number[] = [];
  let tokens = 0;
  let input = 0;
  let area = 0;
  for (const r of ok) {
    tokens += r.tokenTimes.length;
    input += r.promptTokens;
    area += r.finish - r.send;
    for (let k = 1; k < r.tokenTimes.length; k++) gaps.push(r.tokenTimes[k] - r.tokenTimes[k - 1]);
    if (r.tokenTimes.length > 1) tpots.push((r.finish - r.tokenTimes[0]) / (r.tokenTimes.length - 1));
  }
  const sends = records.filter((r) => r.connected !== false).map((r) => r.send).sort((a, b) => a - b);
  const okSet = new Set(ok);
  const notOk = records.filter((r) => !okSet.has(r));
  const aborted = notOk.filter((r) => r.aborted === true).length;
  return {
    requests: ok.length,
    failed: records.length - ok.length - aborted,
    aborted,
    requestsAsked: run.requestsAsked ?? records.length,
    interrupted: run.interrupted === true,
    failureReasons: failureReasons(notOk.filter((r) => r.aborted !== true)),
    latencyUnit: 'seconds',
    makespanSeconds: span,
    throughputRequestsPerSecond: ok.length / span,
    throughputTokensPerSecond: tokens / span,
    totalTokensPerSecond: (tokens + input) / span,
    inputTokens: input,
    outputTokens: tokens,
    nominalRatePerSecond: run.nominalRatePerSecond ?? null,
    offeredRatePerSecond: sends.length > 1 ? (sends.length - 1) / (sends[sends.length - 1] - sends[0]) : NaN,
    offeredRequests: sends.length,
    connections: run.connections ?? NaN,
    ttft: stats(ok.map((r) => r.tokenTimes[0] - r.send)),
    itl: gaps.length ? stats(gaps) : null,
    tpot: tpots.length ? stats(tpots) : null,
    e2e: stats(ok.map((r) => r.finish - r.send)),
    meanInSystem: area / span,
    records: records.slice().sort((a, b) => a.index - b.index),
    monotonicStart: run.monotonicStart ?? NaN,
    clientCpuSeconds: run.clientCpuSeconds ?? NaN,
    provenance: { ...meta, date: new Date().toISOString() },
  };
}

/**
 * The reasons of failed requests, each with its count, the most frequent first (ties in
 * first-seen order).
 *
 * @example
 * failureReasons([{ error: 'connect ECONNREFUSED 127.0.0.1:8000' }, { error: 'connect ECONNREFUSED 127.0.0.1:8000' }])
 * // => [{ reason: 'connect ECONNREFUSED 127.0.0.1:8000', count: 2 }]
 */
export function failureReasons(failed: Array<{ error?: string; status?: number }>): Array<{ reason: string; count: number }> {
  const counts = new Map<string, number>();
  for (const r of failed) {
    const reason = r.error ?? (r.status === 200 ? 'no token in a 200 response' : `HTTP ${r.status ?? 0}`);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
}

/**
 * Measures, on an idle server, what serving costs beyond engine steps: `requests`
 * one-at-a-time streaming probes (8-token prompt, 8 tokens out), then from the server's
 * own log the loop's median time from a step's end to its next decision, and the
 * median of client-observed minus loop-observed TTFT (the HTTP path both ways, and the
 * client's own time to send a request and read its first token). `client` runs the
 * probes (default batchlab's runLoad; another client measures its own path). Resets
 * the server's clock and log before and after.
 *
 * @example
 * const o = await probeServerOverheads('http://127.0.0.1:8000'); // { stepSeconds: 4e-4, requestSeconds: 3e-3 }
 */
export async function probeServerOverheads(
  url: string,
  requests = 8,
  client: (url: string, workload: LoadWorkload, seed: number) => Promise<LoadResult> = (u, workload, seed) => runLoad({ url: u, workload, seed }),
): Promise<{ stepSeconds: number; requestSeconds: number }> {
  checkInt('requests', requests, { min: 1, max: 1000 });
  const reset = async (): Promise<void> => {
    const r = await fetch(`${url}/batchlab/reset`, { method: 'POST' });
    if (!r.ok) throw new Error(`the server refused a reset: ${await r.text()}`);
  };
  await reset();
  const r = await client(url, { arrivals: { kind: 'closed', clients: 1, thinkSeconds: 0.02 }, requests, promptTokens: { kind: 'fixed', tokens: 8 }, outputTokens: { kind: 'fixed', tokens: 8 } }, 7);
  const m = (await (await fetch(`${url}/batchlab/metrics`)).json()) as { steps: Array<{ end: number; nextDecision: number }>; arrivals: Array<{ arrival: number; firstToken: number }> };
  await reset();
  const med = (v: number[]): number => {
    const s = v.filter((x) => Number.isFinite(x));
    return s.length ? median(s) : 0;
  };
  const gaps = m.steps.map((s) => (s.nextDecision ?? NaN) - s.end);
  const diffs = r.records.map((rec, i) => rec.tokenTimes[0] - rec.send - (m.arrivals[i] ? m.arrivals[i].firstToken - m.arrivals[i].arrival : NaN));
  return { stepSeconds: Math.max(0, med(gaps)), requestSeconds: Math.max(0, med(diffs)) };
}

