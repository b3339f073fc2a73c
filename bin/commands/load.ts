import { Option } from 'commander';
import type { Command } from 'commander';
import { wantsJson } from './context.js';
import type { ServingArrivalSpec, ServingPolicy } from '../../lib/batching/types.js';
import type { EngineStepCostFit } from '../../lib/engine/stepcost.js';
import { servingPolicyModule } from '../../lib/batching/policy.js';
import { probeServerOverheads, runLoad } from '../../lib/server/load.js';
import type { LoadWorkload } from '../../lib/server/load.js';
import { closedLoopWarmup, comparePrediction, predictLoadDraws } from '../../lib/server/predict.js';
import type { ServerOverheads } from '../../lib/server/predict.js';
import { calibrateOnServedSteps } from '../../lib/server/experiment.js';
import { InputError } from '../../lib/util/errors.js';
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
function offeredRateLine(nominal: number | null, offered: number, n: number, clients: number): string {
  // (n − 1) / the span of the sends: in a single round every client sends at the start, and that span is microseconds.
  if (nominal === null && n <= clients) return `offered: every client sent its one request at the start (closed loop, a single round of ${n})`;
  if (nominal === null) return `offered ${offered.toFixed(2)} requests/s (closed loop: set by the server's speed)`;
  if (n < 2) return `arrival rate: nominal ${nominal}/s (one request)`;
  const sd = 1 / Math.sqrt(n - 1);
  const z = (nominal / offered - 1) / sd;
  const unusual = Math.abs(z) > 2.5 ? `; this seed's sample is ${Math.abs(z).toFixed(1)} standard deviations out, another --seed gives a more typical one` : '';
  return `arrival rate: nominal ${nominal}/s, realised ${offered.toFixed(2)}/s (a sample of ${n} Poisson arrivals realises the nominal rate within ±${(100 * sd).toFixed(0)} % at one standard deviation${unusual})`;
}

/** One GET before the run, so that a wrong --url is one line naming it rather than a failed request per request. */
async function checkServerAnswers(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.cause?.code ?? err.cause?.message ?? err.message;
    throw new InputError('--url', url, 'the root of a running completion server', `nothing answered GET ${url}/v1/models: ${why}`);
  }
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
    .option('--think <s>', 'closed loop: think time between a client\'s requests, seconds', '0')
    .option('--requests <n>', 'requests to send', '50')
    .option('--prompt <n>', 'prompt tokens per request', '32')
    .option('--output <n>', 'output tokens per request', '16')
    .option('--seed <n>', 'workload seed', '1')
    .option('--predict', 'print the simulator\'s prediction from the server\'s measured step cost', false)
    .addOption(new Option('--calibration <from>', '--predict: step cost fitted to steps the server ran under a calibration load (served), or engine steps timed back to back (engine)').choices(['served', 'engine']).default('served'))
    .option('--records <file>', 'write every request record and the summary as JSON')
    .exitOverride()
    .action(async (o: LoadFlags, cmd: Command) => {
      let arrivals: ServingArrivalSpec;
      if ((o.rate === undefined) === (o.clients === undefined)) {
        throw new InputError('--rate/--clients', o.rate === undefined ? 'neither' : 'both', 'exactly one of --rate (open loop) and --clients (closed loop)');
      }
      if (o.rate !== undefined) arrivals = { kind: 'poisson', ratePerSecond: num('--rate', o.rate, { min: 1e-6, max: 1e6 }) };
      else arrivals = { kind: 'closed', clients: num('--clients', o.clients!, { min: 1, max: 10000, int: true }), thinkSeconds: num('--think', o.think, { min: 0, max: 3600 }) };
      const workload: LoadWorkload = {
        arrivals,
        requests: num('--requests', o.requests, { min: 1, max: 1e6, int: true }),
        promptTokens: { kind: 'fixed', tokens: num('--prompt', o.prompt, { min: 1, max: 32768, int: true }) },
        outputTokens: { kind: 'fixed', tokens: num('--output', o.output, { min: 1, max: 32768, int: true }) },
      };
      const seed = num('--seed', o.seed, { int: true });
      if (o.records !== undefined) checkWritableFile('--records', o.records);
      const url = o.url.replace(/\/+$/, '');
      if (!/^https?:\/\/[^/\s]+/.test(url)) throw new InputError('--url', o.url, 'an http:// or https:// URL of a completion server, e.g. http://127.0.0.1:8000');
      await checkServerAnswers(url);
      let overheads: ServerOverheads | undefined;
      let fit: EngineStepCostFit | undefined;
      let policy: ServingPolicy | undefined;
      if (o.predict) {
        const fitRes = await fetch(`${url}/batchlab/step-cost`);
        if (!fitRes.ok) throw new Error(`the server has no measured step cost (start it with --calibrate): ${await fitRes.text()}`);
        fit = (await fitRes.json()) as EngineStepCostFit;
        policy = ((await (await fetch(`${url}/batchlab/metrics`)).json()) as { policy: ServingPolicy }).policy;
        overheads = await probeServerOverheads(url);
        if (o.calibration === 'served') {
          // The calibration of notebook 08 and the benchmark: steps served under closed-loop loads of this workload's lengths (another seed).
          fit = await calibrateOnServedSteps(url, workload, policy.maxBatch, seed + 1000, fit, policy);
          overheads = { stepSeconds: 0, requestSeconds: overheads.requestSeconds };
          const reset = await fetch(`${url}/batchlab/reset`, { method: 'POST' });
          if (!reset.ok) throw new Error(`the server refused a reset: ${await reset.text()}`);
        }
      }
      const r = await runLoad({ url, workload, seed, signal: io.signal });
      let rows: ReturnType<typeof comparePrediction> | undefined;
      // A closed loop's first round (one request per client, sent together) is warm-up, left out of both sides as in the benchmark.
      const warmupRequests = closedLoopWarmup(workload);
      // One run when the fit has no measured spread of served steps (--calibration engine), else PREDICTION_DRAWS.
      let draws = 0;
      if (o.predict) {
        const runs = predictLoadDraws(workload, policy!, fit!, seed, overheads, { warmupRequests });
        draws = runs.length;
        rows = comparePrediction(r, runs, overheads, { warmupRequests });
      }
      const serverPolicy = await reportedPolicy(url);
      if (o.records) writeFileSafe('--records', o.records, JSON.stringify(r, null, 1));
      if (wantsJson(cmd)) {
        const { records: _records, ...summary } = r as typeof r & { records?: unknown };
        // The prediction's measured column leaves out `warmupRequests` (each client's first request in closed loop); the summary above it does not.
        io.out(JSON.stringify({ ...summary, serverPolicy, overheads: overheads ?? null, prediction: rows ?? null, ...(rows ? { predictionDraws: draws, warmupRequests } : {}) }, null, 2));
        return;
      }
      io.out(`batchlab: ${r.requests} requests (${r.failed} failed) in ${r.makespanSeconds.toFixed(2)} s over ${r.connections} connections; ${r.provenance.workload}`);
      io.out(`  server policy: ${serverPolicy ? describePolicy(serverPolicy) : 'not reported by the server'}`);
      io.out(`  ${offeredRateLine(r.nominalRatePerSecond, r.offeredRatePerSecond, r.requests + r.failed, workload.arrivals.kind === 'closed' ? workload.arrivals.clients : 0)}`);
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
      if (rows) {
        io.out(`  step cost: ${o.calibration === 'served' ? `fitted to ${fit!.provenance.reps} served steps (rms error ${(100 * fit!.rmsRelativeError).toFixed(0)} %), the time between steps included` : `engine steps timed back to back, plus ${(overheads!.stepSeconds * 1e3).toFixed(2)} ms per step measured between served steps`}; HTTP path ${(overheads!.requestSeconds * 1e3).toFixed(2)} ms per request, measured before the run`);
        io.out(`  predicted: simulateServing of the same workload and seed, ${draws > 1 ? `the median over ${draws} seeded draws of the served steps' measured spread, the smallest and largest draw beside it` : 'one run (the step cost has no measured spread)'}; measured: this run`);
        if (warmupRequests > 0) io.out(`  warm-up: both columns leave out each client's first request (${warmupRequests} requests, sent together at the start), so the measured column is over ${r.requests + r.failed - warmupRequests} requests, the figures above over all ${r.requests + r.failed}`);
        io.out(`  ${'metric'.padEnd(20)} ${'predicted'.padStart(10)} ${draws > 1 ? `${'draws min–max'.padStart(19)} ` : ''}${'measured'.padStart(10)} ${'error'.padStart(8)}`);
        for (const row of rows) {
          const band = row.predictedMin !== undefined && row.predictedMax !== undefined ? `${row.predictedMin.toPrecision(4)}–${row.predictedMax.toPrecision(4)}`.padStart(19) + ' ' : draws > 1 ? `${'-'.padStart(19)} ` : '';
          io.out(`  ${row.metric.padEnd(20)} ${row.predicted.toPrecision(4).padStart(10)} ${band}${row.measured.toPrecision(4).padStart(10)} ${(100 * row.error).toFixed(1).padStart(8)} %`);
        }
      }
    });
}
