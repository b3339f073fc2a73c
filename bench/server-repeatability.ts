// How repeatable a measured point is on this machine: the same plan (same seed, same
// server, same rate) run --repeats times by each client, alternating, and per metric the
// spread of the measured values (largest over smallest). Nothing is predicted here: this
// is the floor under engine-vs-simulator's errors, since a prediction cannot agree with a
// run better than two identical runs agree with each other.
//
//   node --import tsx bench/server-repeatability.ts [--repeats 3] [--requests 160] [--rate 2.8] [--clients 16] [--no-outside]
//
// Default: the default served model (DEFAULT_ENGINE_SCALE), continuous batching ≤ 16, a
// closed loop of --clients and Poisson arrivals at --rate (about 0.75 × its capacity on 2
// cores, the engine-vs-simulator knee), prompts U[16, 64], outputs U[8, 32]; a closed
// loop's first round is left out, as in engine-vs-simulator. About 10 minutes with the defaults.
// Each run also prints the client's own CPU (cores it kept busy over the run) and the whole
// machine's busy cores: on a machine whose cores the server shares with the client (and with
// anything else running), a run whose steps were slower shows whether the cores were full.
// Not in the default `npm run bench` list: run it by name (node scripts/bench.mjs server-repeatability).
import { parseArgs } from 'node:util';
import { cpus, hostname, loadavg } from 'node:os';
import { spawnServer, DEFAULT_ENGINE_SCALE } from '../lib/server/index.js';
import { runLoad } from '../lib/server/load.js';
import type { LoadResult, LoadWorkload } from '../lib/server/load.js';
import { closedLoopWarmup, measuredAfterWarmup } from '../lib/server/predict.js';
import { checkInt, checkNumber } from '../lib/util/validate.js';
import { median } from '../lib/util/stats.js';
import { outsideClientAvailable, runOutsideLoad } from './outside-client.js';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '3' },
    requests: { type: 'string', default: '160' },
    rate: { type: 'string', default: '2.8' },
    clients: { type: 'string', default: '16' },
    'no-outside': { type: 'boolean', default: false },
  },
});
const repeats = checkInt('--repeats', Number(values.repeats), { min: 2, max: 20 });
const requests = checkInt('--requests', Number(values.requests), { min: 2, max: 10_000 });
const rate = checkNumber('--rate', Number(values.rate), { min: 0, exclusiveMin: true, max: 100 });
const clients = checkInt('--clients', Number(values.clients), { min: 1, max: 64 });

type Run = (url: string, workload: LoadWorkload, seed: number) => Promise<LoadResult>;
/** Busy and total milliseconds over every core so far (os.cpus(): user, nice, sys, irq against idle). */
const cpuTimes = (): { busy: number; total: number } =>
  cpus().reduce((acc, c) => {
    const busy = c.times.user + c.times.nice + c.times.sys + c.times.irq;
    return { busy: acc.busy + busy, total: acc.total + busy + c.times.idle };
  }, { busy: 0, total: 0 });
/** The machine's busy share of all its cores between two cpuTimes readings. */
const cpuShare = (a: { busy: number; total: number }, b: { busy: number; total: number }): number => (b.busy - a.busy) / Math.max(1, b.total - a.total);
const runs: Array<[string, Run]> = [['batchlab', (url, workload, seed) => runLoad({ url, workload, seed })]];
if (!values['no-outside']) {
  if (outsideClientAvailable()) runs.push(['python', runOutsideLoad]);
  else console.log('the outside client is skipped: the venv has no Python (run node scripts/setup.mjs)');
}
console.log(`server repeatability; ${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`default model, continuous ≤ 16; ${requests} requests per run, seed 1 every run; ${repeats} runs per client and load, the clients alternating\n`);
const s = DEFAULT_ENGINE_SCALE;
const srv = await spawnServer(['--model', 'llama-3.2-1b', '--width', String(s.width), '--depth', String(s.depth), '--vocab', String(s.vocab), '--max-context', '256', '--seed', '1', '--policy', 'continuous', '--max-batch', '16']);
const ms = (x: number): string => (x * 1e3).toFixed(1);
try {
  const loads: Array<[string, LoadWorkload['arrivals']]> = [[`closed ${clients}`, { kind: 'closed', clients }], [`Poisson ${rate} req/s`, { kind: 'poisson', ratePerSecond: rate }]];
  for (const [name, arrivals] of loads) {
    const measured = new Map<string, LoadResult[]>();
    for (let rep = 0; rep < repeats; rep++) {
      for (const [client, run] of runs) {
        const reset = await fetch(`${srv.url}/batchlab/reset`, { method: 'POST', body: JSON.stringify({ policy: { kind: 'continuous', maxBatch: 16 } }) });
        if (!reset.ok) throw new Error(`the server refused the reset: ${await reset.text()}`);
        const workload: LoadWorkload = { requests, promptTokens: { kind: 'uniform', min: 16, max: 64 }, outputTokens: { kind: 'uniform', min: 8, max: 32 }, arrivals };
        const before = cpuTimes();
        const raw = await run(srv.url, workload, 1);
        const busy = cpuShare(before, cpuTimes());
        const m = measuredAfterWarmup(raw, closedLoopWarmup(workload));
        measured.set(client, [...(measured.get(client) ?? []), m]);
        // Where the cores went during the run (warm-up included): the client's own CPU, and the machine's busy share over all its cores.
        const clientCores = raw.clientCpuSeconds / raw.makespanSeconds;
        console.log(
          `${name} · ${client} · run ${rep + 1}: TTFT p50 ${ms(m.ttft.p50)} ms, p99 ${ms(m.ttft.p99)} ms, ITL p50 ${m.itl ? ms(m.itl.p50) : '-'} ms, throughput ${m.throughputTokensPerSecond.toFixed(2)} tok/s; ` +
            `client CPU ${Number.isFinite(clientCores) ? clientCores.toFixed(2) : '-'} cores, machine busy ${(busy * cpus().length).toFixed(2)} of ${cpus().length} cores`,
        );
      }
    }
    for (const [client, results] of measured) {
      const metrics: Array<[string, (m: LoadResult) => number]> = [['TTFT p50', (m) => m.ttft.p50], ['TTFT p99', (m) => m.ttft.p99], ['ITL p50', (m) => m.itl?.p50 ?? NaN], ['throughput', (m) => m.throughputTokensPerSecond]];
      const parts = metrics.map(([label, f]) => {
        const v = results.map(f).filter((x) => Number.isFinite(x));
        // largest / smallest of identical runs, and the half-range over the median (the ± a single run carries).
        return `${label} ×${(Math.max(...v) / Math.min(...v)).toFixed(2)} (±${((50 * (Math.max(...v) - Math.min(...v))) / median(v)).toFixed(0)} %)`;
      });
      console.log(`  ${name} · ${client}: measured largest / smallest over ${results.length} identical runs: ${parts.join(', ')}`);
    }
    console.log();
  }
} finally {
  await srv.stop();
}
console.log(`load average after ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
