import { CliExit } from './io.js';
import { Option } from 'commander';
import type { Command } from 'commander';
import { wantsJson } from './context.js';
import type { ServingArrivalSpec, ServingPolicy } from '../../lib/batching/types.js';
import type { EngineStepCostFit } from '../../lib/engine/stepcost.js';
import { servingPolicyModule } from '../../lib/batching/policy.js';
import { failureReasons, probeServerOverheads, runLoad } from '../../lib/server/load.js';
import type { LoadRequestRecord, LoadResult, LoadWorkload } from '../../lib/server/load.js';
import { closedLoopWarmup, comparePrediction, predictLoadDraws } from '../../lib/server/predict.js';
import type { ServerOverheads } from '../../lib/server/predict.js';
import { calibrateOnServedSteps } from '../../lib/server/experiment.js';
import { InputError, described } from '../../lib/util/errors.js';
import { checkWritableFile, writeFileSafe } from '../../lib/util/files.js';
import { decimalInRange, intArg } from './context.js';

interface LoadFlags {
  url: string;
  rate?: string;
  clients?: string;
  think: string;
  requests: string;
  prompt: string;
  output: string;
  seed: string;
  predict: boolean;
  calibration: string;
  records?: string;
}

// Strict decimals (Number('0x10') is 16), with the range in the refusal.
function num(flag: string, raw: string, bounds: { min?: number; max?: number; int?: boolean }): number {
  if (bounds.int) return intArg(flag, raw, bounds.min ?? -Number.MAX_SAFE_INTEGER, bounds.max ?? Number.MAX_SAFE_INTEGER);
  return decimalInRange(flag, raw, bounds);
}

function ms(s: number | undefined): string {
  return s === undefined ? '-' : (s * 1e3).toFixed(2);
}

/**
 * The offered rate beside the nominal one. A Poisson sample of n requests spans n − 1
 * exponential gaps, so its realised rate scatters around the nominal one with a relative
 * standard deviation of about 1/√(n − 1) (16 % at 40 requests).
 */
function offeredRateLine(nominal: number | null, offered: number, n: number, clients: number, partial = false): string {
  // (n − 1) / the span of the sends: in a single round every client sends at the start, and that span is microseconds.
  if (nominal === null && n <= clients) return `offered: every client sent its one request at the start (closed loop, a single round of ${n})`;
  if (nominal === null) return `offered ${offered.toFixed(2)} requests/s (closed loop: set by the server's speed)`;
  if (n < 2) return `arrival rate: nominal ${nominal}/s (one request)`;
  const sd = 1 / Math.sqrt(n - 1);
  const z = (nominal / offered - 1) / sd;
  // Requests left out (never connected, or not sent after an interrupt) make this no longer the seed's sample.
  const unusual = !partial && Math.abs(z) > 2.5 ? `; this seed's sample is ${Math.abs(z).toFixed(1)} standard deviations out, another --seed gives a more typical one` : '';
  return `arrival rate: nominal ${nominal}/s, realised ${offered.toFixed(2)}/s (a sample of ${n} Poisson arrivals realises the nominal rate within ±${(100 * sd).toFixed(0)} % at one standard deviation${unusual})`;
}

/** A model list is a few hundred bytes; a server that sends more is not read past this. */
const MODELS_BODY_BYTES = 1 << 20;

/** The body as text, or as much as `max` bytes of it (a longer body is not a model list; the rest is dropped). */
async function cappedText(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return '';
    }
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * One GET before the run, so that a wrong --url is one line naming it rather than a failed
 * request per request. Returns the context the server reports (max_model_len in
 * /v1/models, as vLLM and batchlab serve give it), or undefined when it reports none.
 */
async function checkServerAnswers(url: string): Promise<number | undefined> {
  let body: unknown;
  try {
    const res = await fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(10_000) });
    const text = await cappedText(res, MODELS_BODY_BYTES);
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: something answered, and it reports no context.
    }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.cause?.code ?? err.cause?.message ?? err.message;
    throw new InputError('--url', url, 'the root of a running completion server', `nothing answered GET ${url}/v1/models: ${why}`);
  }
  const data = (body as { data?: Array<{ max_model_len?: unknown }> } | undefined)?.data;
  const lens = Array.isArray(data) ? data.map((m) => m?.max_model_len).filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0) : [];
  // Requests name no model, so the server answers with its own; with several, the largest context is the most it could take.
  return lens.length ? Math.max(...lens) : undefined;
}

/** Failure reasons as "33× connect ECONNREFUSED 127.0.0.1:8011, 1× socket hang up" (the first three, then how many more). */
function describeFailures(reasons: Array<{ reason: string; count: number }>): string {
  const shown = reasons.slice(0, 3).map((r) => `${r.count}× ${r.reason}`);
  const more = reasons.length - shown.length;
  return `${shown.join('; ')}${more > 0 ? `; ${more} other reason${more > 1 ? 's' : ''}` : ''}`;
}

/** Thrown by the calibration's client when the user interrupts it. */
class Interrupted extends Error {}

// The flags each loop reads beyond the shared ones: a typed flag the run would not read is refused.
function refuseUnread(o: LoadFlags, typed: string[]): void {
  if (o.rate !== undefined && typed.includes('--think')) throw new InputError('--think', o.think, 'left out with --rate (an open loop sends at its arrival times; think time is the closed loop\'s, --clients)');
  if (!o.predict && typed.includes('--calibration')) throw new InputError('--calibration', o.calibration, 'given with --predict (it chooses the step cost of the prediction)');
}

/** The batching policy the server reports at GET /batchlab/metrics (a batchlab server does); null for any other server. */
async function reportedPolicy(url: string): Promise<ServingPolicy | null> {
  try {
    const res = await fetch(`${url}/batchlab/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return null;
    const policy = ((await res.json()) as { policy?: ServingPolicy }).policy;
    return policy && typeof policy === 'object' && typeof policy.kind === 'string' ? policy : null;
  } catch {
    return null;
  }
}

function describePolicy(p: ServingPolicy): string {
  try {
    return servingPolicyModule(p.kind).describe(p);
  } catch {
    return JSON.stringify(p);
  }
}

/**
 * `batchlab load`: drives a completion server open loop (Poisson arrivals at --rate) or
 * closed loop (--clients N) and prints TTFT, inter-token latency, end-to-end latency and
 * throughput; with --predict, the simulator's prediction from the server's measured step
 * cost beside each.
 */
export function register(program: Command, io: { out: (s: string) => void; err: (s: string) => void; signal?: AbortSignal } = { out: console.log, err: console.error }): void {
  program
    .command('load')
    .description('load a completion server (open loop Poisson or closed loop) and report TTFT, ITL, e2e and throughput')
    .option('--url <url>', 'server root', 'http://127.0.0.1:8000')
    .option('--rate <rps>', 'open loop: Poisson arrivals per second')
    .option('--clients <n>', 'closed loop: concurrent clients')
    .option('--think <s>', 'closed loop: think time between a client\'s requests, seconds (refused with --rate)', '0')
    .option('--requests <n>', 'requests to send', '50')
    .option('--prompt <n>', 'prompt tokens per request', '32')
    .option('--output <n>', 'output tokens per request', '16')
    .option('--seed <n>', 'workload seed', '1')
    .option('--predict', 'print the simulator\'s prediction from the server\'s measured step cost; it resets the server\'s metrics and request log (POST /batchlab/reset) around its probes and calibration', false)
    .addOption(new Option('--calibration <from>', '--predict only: step cost fitted to steps the server ran under a calibration load (served), or engine steps timed back to back (engine)').choices(['served', 'engine']).default('served'))
    .option('--records <file>', 'write every request record and the summary as JSON')
    .exitOverride()
    .action(async (o: LoadFlags, cmd: Command) => {
      const typed = cmd.options.filter((opt) => opt.long !== undefined && cmd.getOptionValueSource(opt.attributeName()) === 'cli').map((opt) => opt.long!);
      refuseUnread(o, typed);
      let arrivals: ServingArrivalSpec;
      if ((o.rate === undefined) === (o.clients === undefined)) {
        throw new InputError('--rate/--clients', o.rate === undefined ? 'neither' : 'both', 'exactly one of --rate (open loop) and --clients (closed loop)');
      }
      if (o.rate !== undefined) arrivals = { kind: 'poisson', ratePerSecond: num('--rate', o.rate, { min: 1e-6, max: 1e6 }) };
      else arrivals = { kind: 'closed', clients: num('--clients', o.clients!, { min: 1, max: 10000, int: true }), thinkSeconds: num('--think', o.think, { min: 0, max: 3600 }) };
      const promptLen = num('--prompt', o.prompt, { min: 1, max: 32768, int: true });
      const outputLen = num('--output', o.output, { min: 1, max: 32768, int: true });
      const requests = num('--requests', o.requests, { min: 1, max: 1e6, int: true });
      const workload: LoadWorkload = {
        arrivals,
        requests,
        promptTokens: { kind: 'fixed', tokens: promptLen },
        outputTokens: { kind: 'fixed', tokens: outputLen },
      };
      const seed = num('--seed', o.seed, { int: true });
      if (o.records !== undefined) checkWritableFile('--records', o.records);
      const url = o.url.replace(/\/+$/, '');
      if (!/^https?:\/\/[^/\s]+/.test(url)) throw new InputError('--url', o.url, 'an http:// or https:// URL of a completion server, e.g. http://127.0.0.1:8000');
      const context = await checkServerAnswers(url);
      // Refused before sending: otherwise every request is a 400 and the run measures nothing.
      if (context !== undefined && promptLen + outputLen > context) {
        throw new InputError('--prompt/--output', described(`${promptLen} + ${outputLen} = ${promptLen + outputLen} tokens`), `at most the server's context of ${context} tokens together (max_model_len at GET ${url}/v1/models)`);
      }
      const json = wantsJson(cmd);
      // Under --json stdout holds one JSON document, so notes go to stderr.
      const note = json ? io.err : io.out;
      let phase: 'setup' | 'calibration' | 'run' | 'done' = 'setup';
      let completed = 0;
      const onAbort = (): void => {
        if (phase === 'calibration') io.err('batchlab: interrupted during the --predict calibration: aborting its requests; nothing has been measured');
        else if (phase === 'run') io.err(`batchlab: interrupted: aborting the requests in flight; the ${completed} completed so far are kept and reported`);
      };
      io.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        let overheads: ServerOverheads | undefined;
        let fit: EngineStepCostFit | undefined;
        let policy: ServingPolicy | undefined;
        let serverReset = false;
        if (o.predict) {
          const fitRes = await fetch(`${url}/batchlab/step-cost`);
          if (!fitRes.ok) throw new Error(`the server has no measured step cost (start it with --calibrate): ${await fitRes.text()}`);
          fit = (await fitRes.json()) as EngineStepCostFit;
          policy = ((await (await fetch(`${url}/batchlab/metrics`)).json()) as { policy: ServingPolicy }).policy;
          note(`batchlab: --predict resets the server's metrics and request log (POST ${url}/batchlab/reset) around its probes${o.calibration === 'served' ? ' and calibration' : ''}: what the server logged before is dropped, and /batchlab/metrics will hold this run only`);
          serverReset = true;
          phase = 'calibration';
          // The calibration's loads stop on an interrupt like the run's; an interrupted load measured nothing worth fitting.
          const client = async (u: string, w: LoadWorkload, s: number): Promise<LoadResult> => {
            if (io.signal?.aborted) throw new Interrupted();
            try {
              const r = await runLoad({ url: u, workload: w, seed: s, signal: io.signal });
              if (io.signal?.aborted) throw new Interrupted();
              return r;
            } catch (e) {
              throw io.signal?.aborted ? new Interrupted() : e;
            }
          };
          try {
            overheads = await probeServerOverheads(url, 8, client);
            if (o.calibration === 'served') {
              // The calibration of notebook 08 and the benchmark: steps served under closed-loop loads of this workload's lengths (another seed).
              fit = await calibrateOnServedSteps(url, workload, policy.maxBatch, seed + 1000, fit, policy, client);
              overheads = { stepSeconds: 0, requestSeconds: overheads.requestSeconds };
              const reset = await fetch(`${url}/batchlab/reset`, { method: 'POST' });
              if (!reset.ok) throw new Error(`the server refused a reset: ${await reset.text()}`);
            }
          } catch (e) {
            if (e instanceof Interrupted) {
              io.err('batchlab: interrupted during the --predict calibration; nothing was measured');
              throw new CliExit(130);
            }
            throw e;
          }
        }
        if (io.signal?.aborted) {
          io.err('batchlab: interrupted before the run started; nothing was measured');
          throw new CliExit(130);
        }
        phase = 'run';
        const records: LoadRequestRecord[] = [];
        let r: LoadResult | undefined;
        try {
          r = await runLoad({
            url, workload, seed, signal: io.signal,
            onRequest: (rec) => {
              records.push(rec);
              if (rec.status === 200 && rec.tokenTimes.length > 0) completed++;
            },
          });
        } catch (e) {
          // No request completed (summariseLoad's refusal), or the warm-up was interrupted: what was recorded is still reported below.
          if (!(e instanceof InputError && e.field === 'records') && !io.signal?.aborted) throw e;
        }
        phase = 'done';
        if (!r) return nothingCompleted(records, requests, io.signal?.aborted === true);
        // Written first, so that nothing measured is lost to a later failure.
        if (o.records) writeFileSafe('--records', o.records, JSON.stringify(r, null, 1));
        let rows: ReturnType<typeof comparePrediction> | undefined;
        // A closed loop's first round (one request per client, sent together) is warm-up, left out of both sides as in the benchmark.
        const warmupRequests = closedLoopWarmup(workload);
        // One run when the fit has no measured spread of served steps (--calibration engine), else PREDICTION_DRAWS.
        let draws = 0;
        // The prediction is of the whole workload, every request completed: a run short of that is not its measurement.
        const skipped = !o.predict
          ? undefined
          : r.interrupted
            ? `interrupted: the prediction is of all ${r.requestsAsked} requests, the measurement of the ${r.requests} completed before the interrupt`
            : r.failed > 0
              ? `${r.failed} of ${r.requestsAsked} requests failed: the prediction is of all of them completing`
              : undefined;
        if (o.predict && skipped === undefined) {
          const runs = predictLoadDraws(workload, policy!, fit!, seed, overheads, { warmupRequests });
          draws = runs.length;
          rows = comparePrediction(r, runs, overheads, { warmupRequests });
        }
        const serverPolicy = await reportedPolicy(url);
        if (json) {
          const { records: _records, ...summary } = r as typeof r & { records?: unknown };
          // The prediction's measured column leaves out `warmupRequests` (each client's first request in closed loop); the summary above it does not.
          io.out(JSON.stringify({ ...summary, serverPolicy, serverMetricsReset: serverReset, overheads: overheads ?? null, prediction: rows ?? null, ...(skipped ? { predictionSkipped: skipped } : {}), ...(rows ? { predictionDraws: draws, warmupRequests } : {}) }, null, 2));
        } else {
          printRun(io, r, workload, serverPolicy);
          if (skipped !== undefined) io.out(`  prediction not compared: ${skipped}`);
          if (rows) printPrediction(io, rows, { calibration: o.calibration, fit: fit!, overheads: overheads!, draws, warmupRequests, measuredRequests: r.requests + r.failed });
        }
        const problems = [
          ...(r.interrupted ? [`interrupted: ${r.requests} of ${r.requestsAsked} requests completed (${r.aborted} aborted in flight); the figures are over those ${r.requests}`] : []),
          ...(r.failed > 0 ? [`${r.failed} of ${r.requestsAsked} requests failed (${describeFailures(r.failureReasons)})`] : []),
        ];
        if (problems.length) {
          io.err(`batchlab: ${problems.join('; ')}`);
          // 130 as for any run stopped by Ctrl-C; 1 where requests failed.
          throw new CliExit(r.interrupted ? 130 : 1);
        }
      } finally {
        io.signal?.removeEventListener('abort', onAbort);
      }

      /** No request completed: the records still go to --records and --json, and the error says why. */
      function nothingCompleted(records: LoadRequestRecord[], asked: number, interrupted: boolean): void {
        const aborted = records.filter((x) => x.aborted === true).length;
        const reasons = failureReasons(records.filter((x) => x.aborted !== true));
        const failed = records.length - aborted;
        const summary = { interrupted, requestsAsked: asked, requests: 0, failed, aborted, failureReasons: reasons, latencyUnit: 'seconds', provenance: { url, seed, date: new Date().toISOString() } };
        if (o.records) writeFileSafe('--records', o.records, JSON.stringify({ ...summary, records: records.slice().sort((a, b) => a.index - b.index) }, null, 1));
        if (wantsJson(cmd)) io.out(JSON.stringify(summary, null, 2));
        if (interrupted) {
          io.err(`batchlab: interrupted before any request completed (${aborted} aborted in flight${failed ? `, ${failed} failed: ${describeFailures(reasons)}` : ''}); nothing was measured`);
          throw new CliExit(130);
        }
        const top = reasons[0];
        if (top && reasons.every((x) => x.reason.startsWith('HTTP '))) {
          // The server's own words first: they say what to change.
          throw new Error(`${top.reason} (the server refused ${top.count === records.length ? 'every one' : top.count} of the ${records.length} requests sent${reasons.length > 1 ? `; others: ${describeFailures(reasons.slice(1))}` : ''}; nothing was measured)`);
        }
        throw new Error(`every one of the ${records.length} requests sent failed (${describeFailures(reasons)}); nothing was measured`);
      }
    });
}

/** The measured run in the words and fields of vllm bench serve. */
function printRun(io: { out: (s: string) => void }, r: LoadResult, workload: LoadWorkload, serverPolicy: ServingPolicy | null): void {
  const parts = [`${r.requests} of ${r.requestsAsked} requests completed`, `${r.failed} failed${r.failed ? ` (${describeFailures(r.failureReasons)})` : ''}`];
  if (r.aborted > 0) parts.push(`${r.aborted} aborted in flight by the interrupt`);
  const unsent = r.requestsAsked - r.requests - r.failed - r.aborted;
  if (unsent > 0) parts.push(`${unsent} never sent`);
  io.out(`batchlab: ${r.interrupted ? 'interrupted: ' : ''}${parts.join(', ')} in ${r.makespanSeconds.toFixed(2)} s over ${r.connections} connection${r.connections === 1 ? '' : 's'}; ${r.provenance.workload}`);
  if (r.interrupted) io.out(`  interrupted: every figure below is over the ${r.requests} requests completed before the interrupt, not the ${r.requestsAsked} asked`);
  io.out(`  server policy: ${serverPolicy ? describePolicy(serverPolicy) : 'not reported by the server'}`);
  const sent = r.requests + r.failed + r.aborted;
  const unreached = sent - r.offeredRequests;
  io.out(`  ${offeredRateLine(r.nominalRatePerSecond, r.offeredRatePerSecond, r.offeredRequests, workload.arrivals.kind === 'closed' ? workload.arrivals.clients : 0, r.offeredRequests < r.requestsAsked)}${unreached > 0 ? ` (over the ${r.offeredRequests} requests that reached the server; ${unreached} never connected)` : ''}`);
  io.out(`  measured on the client's clock; definitions of vllm bench serve (ITL excludes the first token, TPOT = (e2e − TTFT) / (output − 1))`);
  io.out(`  ${'Successful requests:'.padEnd(34)} ${r.requests}`);
  io.out(`  ${'Benchmark duration (s):'.padEnd(34)} ${r.makespanSeconds.toFixed(2)}`);
  io.out(`  ${'Total input tokens:'.padEnd(34)} ${r.inputTokens}`);
  io.out(`  ${'Total generated tokens:'.padEnd(34)} ${r.outputTokens}`);
  io.out(`  ${'Request throughput (req/s):'.padEnd(34)} ${r.throughputRequestsPerSecond.toFixed(2)}`);
  io.out(`  ${'Output token throughput (tok/s):'.padEnd(34)} ${r.throughputTokensPerSecond.toFixed(2)}`);
  io.out(`  ${'Total token throughput (tok/s):'.padEnd(34)} ${r.totalTokensPerSecond.toFixed(2)}`);
  for (const [name, st] of [['TTFT', r.ttft], ['TPOT', r.tpot], ['ITL', r.itl], ['E2EL', r.e2e]] as const) {
    io.out(`  ${`Mean ${name} (ms):`.padEnd(34)} ${ms(st?.mean)}`);
    io.out(`  ${`Median ${name} (ms):`.padEnd(34)} ${ms(st?.p50)}`);
    io.out(`  ${`P99 ${name} (ms):`.padEnd(34)} ${ms(st?.p99)}`);
  }
}

/** The predicted-beside-measured table of --predict. */
function printPrediction(
  io: { out: (s: string) => void },
  rows: ReturnType<typeof comparePrediction>,
  c: { calibration: string; fit: EngineStepCostFit; overheads: ServerOverheads; draws: number; warmupRequests: number; measuredRequests: number },
): void {
  const { fit, overheads, draws, warmupRequests } = c;
  io.out(`  step cost: ${c.calibration === 'served' ? `fitted to ${fit.provenance.reps} served steps (rms error ${(100 * fit.rmsRelativeError).toFixed(0)} %), the time between steps included` : `engine steps timed back to back, plus ${(overheads.stepSeconds * 1e3).toFixed(2)} ms per step measured between served steps`}; HTTP path ${(overheads.requestSeconds * 1e3).toFixed(2)} ms per request, measured before the run`);
  io.out(`  predicted: simulateServing of the same workload and seed, ${draws > 1 ? `the median over ${draws} seeded draws of the served steps' measured spread, the smallest and largest draw beside it` : 'one run (the step cost has no measured spread)'}; measured: this run`);
  if (warmupRequests > 0) io.out(`  warm-up: both columns leave out each client's first request (${warmupRequests} requests, sent together at the start), so the measured column is over ${c.measuredRequests - warmupRequests} requests, the figures above over all ${c.measuredRequests}`);
  io.out(`  ${'metric'.padEnd(20)} ${'predicted'.padStart(10)} ${draws > 1 ? `${'draws min–max'.padStart(19)} ` : ''}${'measured'.padStart(10)} ${'error'.padStart(8)}`);
  for (const row of rows) {
    const band = row.predictedMin !== undefined && row.predictedMax !== undefined ? `${row.predictedMin.toPrecision(4)}–${row.predictedMax.toPrecision(4)}`.padStart(19) + ' ' : draws > 1 ? `${'-'.padStart(19)} ` : '';
    io.out(`  ${row.metric.padEnd(20)} ${row.predicted.toPrecision(4).padStart(10)} ${band}${row.measured.toPrecision(4).padStart(10)} ${(100 * row.error).toFixed(1).padStart(8)} %`);
  }
}
