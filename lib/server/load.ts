import { resolveServing } from '../batching/config.js';
import { constantStepCost } from '../batching/cost.js';
import { servingPolicyModule } from '../batching/policy.js';
import { latencyStatsInPlace } from '../batching/stats.js';
import type { ServingConfig, ServingLatencyStats } from '../batching/types.js';
import { fork } from '../util/random.js';
import { median } from '../util/stats.js';
import { InputError } from '../util/errors.js';
import { checkInt } from '../util/validate.js';

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
}

/** Measured metrics of a run, shaped like the simulator's ServingResult where they overlap. */
export interface LoadResult {
  requests: number;
  failed: number;
  /** First send to last completion. */
  makespanSeconds: number;
  throughputRequestsPerSecond: number;
  throughputTokensPerSecond: number;
  ttft: ServingLatencyStats;
  /** Every gap between consecutive tokens of a request. */
  itl: ServingLatencyStats | null;
  /** Mean gap per request. */
  tpot: ServingLatencyStats | null;
  e2e: ServingLatencyStats;
  /** Time-averaged requests in flight, from the client's send and finish times. */
  meanInSystem: number;
  records: LoadRequestRecord[];
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
   * Keep-alive connections opened before the clock starts (default 16), so that the
   * requests of the run reuse them instead of timing a TCP handshake each.
   */
  warmConnections?: number;
}

/** The prompt ids of request i: seeded bytes, so every run of a seed sends the same text. */
function promptIds(seed: number, i: number, n: number): number[] {
  const r = fork(seed, `prompt-ids-${i}`);
  return Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** Reads an SSE completion stream, calling `onText` per data event's text in order. */
async function readStream(res: Response, onText: (text: string) => void): Promise<void> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        const j = JSON.parse(data) as { choices?: Array<{ text?: string }> };
        const text = j.choices?.[0]?.text;
        if (text) onText(text);
      }
    }
  }
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
  // Only the seeded arrival and length streams of the config are used; the policy and
  // cost are stand-ins that the validator asks for.
  const standIn = { kind: 'continuous', maxBatch: 1 } as const;
  const R = resolveServing({ ...o.workload, policy: standIn, stepCost: constantStepCost(1) }, o.seed);
  // The description names the stand-in policy last; the client does not know the server's, so it is cut off.
  const standInText = `; ${servingPolicyModule(standIn.kind).describe(standIn)}`;
  const workloadText = R.description.endsWith(standInText) ? R.description.slice(0, -standInText.length) : R.description;
  if (R.loop === 'open' && o.workload.arrivals.kind === 'trace') throw new InputError('workload.arrivals.kind', 'trace', 'poisson, gamma, burst or closed');
  const n = R.n;
  const records: LoadRequestRecord[] = [];
  const warm = checkInt('warmConnections', o.warmConnections ?? 16, { min: 0, max: 256 });
  await Promise.all(Array.from({ length: warm }, () => fetch(`${o.url}/v1/models`).then((r) => r.arrayBuffer())));
  const t0 = performance.now();
  const clock = (): number => (performance.now() - t0) / 1000;
  let created = 0;

  const send = async (i: number, prompt: number, output: number): Promise<void> => {
    const rec: LoadRequestRecord = { index: i, promptTokens: prompt, outputTokens: output, send: clock(), tokenTimes: [], tokens: [], finish: NaN, status: 0 };
    records.push(rec);
    try {
      const res = await fetch(`${o.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: o.model, prompt: promptIds(o.seed, i, prompt), max_tokens: output, stream: true }),
        signal: o.signal,
      });
      rec.status = res.status;
      if (res.status !== 200) {
        rec.error = await res.text();
      } else {
        await readStream(res, (text) => {
          const t = clock();
          for (const part of text.trim().split(/\s+/)) {
            rec.tokenTimes.push(t);
            rec.tokens.push(Number(part));
          }
        });
      }
    } catch (e) {
      rec.error = (e as Error).message;
    }
    rec.finish = clock();
    o.onRequest?.(rec);
  };

  if (R.loop === 'open') {
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) {
      const at = R.nextArrival();
      const p = R.nextPrompt();
      const out = R.nextOutput();
      const wait = at - clock();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
      if (o.signal?.aborted) break;
      pending.push(send(i, p, out));
      created++;
    }
    await Promise.all(pending);
  } else {
    const client = async (): Promise<void> => {
      while (created < n && !o.signal?.aborted) {
        const i = created++;
        await send(i, R.nextPrompt(), R.nextOutput());
        if (created >= n) break;
        const think = R.nextThink();
        if (think > 0) await new Promise((r) => setTimeout(r, think * 1000));
      }
    };
    await Promise.all(Array.from({ length: Math.min(R.clients, n) }, () => client()));
  }
  return summariseLoad(records, { url: o.url, workload: workloadText, seed: o.seed });
}

/**
 * Metrics of a set of request records: latency statistics (the simulator's quantile
 * rule), throughput over first send to last finish, and the time-averaged number of
 * requests in flight. Failed requests are counted and left out of the latencies.
 *
 * @example
 * summariseLoad(records, { url, workload: 'poisson 4/s', seed: 1 }).e2e.p50
 */
export function summariseLoad(records: LoadRequestRecord[], meta: { url: string; workload: string; seed: number }): LoadResult {
  const ok = records.filter((r) => r.status === 200 && r.tokenTimes.length > 0);
  if (ok.length === 0) throw new InputError('records', records.length, 'at least one successful request', records[0]?.error);
  const first = Math.min(...ok.map((r) => r.send));
  const last = Math.max(...ok.map((r) => r.finish));
  const span = last - first;
  const stats = (v: number[]): ServingLatencyStats => latencyStatsInPlace(Float64Array.from(v), v.length);
  const gaps: number[] = [];
  const tpots: number[] = [];
  let tokens = 0;
  let area = 0;
  for (const r of ok) {
    tokens += r.tokenTimes.length;
    area += r.finish - r.send;
    for (let k = 1; k < r.tokenTimes.length; k++) gaps.push(r.tokenTimes[k] - r.tokenTimes[k - 1]);
    if (r.tokenTimes.length > 1) tpots.push((r.tokenTimes[r.tokenTimes.length - 1] - r.tokenTimes[0]) / (r.tokenTimes.length - 1));
  }
  return {
    requests: ok.length,
    failed: records.length - ok.length,
    makespanSeconds: span,
    throughputRequestsPerSecond: ok.length / span,
    throughputTokensPerSecond: tokens / span,
    ttft: stats(ok.map((r) => r.tokenTimes[0] - r.send)),
    itl: gaps.length ? stats(gaps) : null,
    tpot: tpots.length ? stats(tpots) : null,
    e2e: stats(ok.map((r) => r.finish - r.send)),
    meanInSystem: area / span,
    records: records.slice().sort((a, b) => a.index - b.index),
    provenance: { ...meta, date: new Date().toISOString() },
  };
}

/**
 * Measures, on an idle server, what serving costs beyond engine steps: `requests`
 * one-at-a-time streaming probes (8-token prompt, 8 tokens out), then from the server's
 * own log the loop's median time from a step's end to its next decision, and the
 * median of client-observed minus loop-observed TTFT (the HTTP path both ways). Resets
 * the server's clock and log before and after.
 *
 * @example
 * const o = await probeServerOverheads('http://127.0.0.1:8000'); // { stepSeconds: 4e-4, requestSeconds: 3e-3 }
 */
export async function probeServerOverheads(url: string, requests = 8): Promise<{ stepSeconds: number; requestSeconds: number }> {
  checkInt('requests', requests, { min: 1, max: 1000 });
  const reset = async (): Promise<void> => {
    const r = await fetch(`${url}/batchlab/reset`, { method: 'POST' });
    if (!r.ok) throw new Error(`the server refused a reset: ${await r.text()}`);
  };
  await reset();
  const r = await runLoad({ url, seed: 7, workload: { arrivals: { kind: 'closed', clients: 1, thinkSeconds: 0.02 }, requests, promptTokens: { kind: 'fixed', tokens: 8 }, outputTokens: { kind: 'fixed', tokens: 8 } } });
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

