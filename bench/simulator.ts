// Serving simulator speed: 10^4, 10^5 and 10^6 requests under every registered policy.
//   node --import tsx bench/simulator.ts [--max 1000000] [--policy continuous]
// Prints requests simulated per second and how wall time grows against n·log n, with
// each policy's 10^4 run as its in-run reference. Target: ≤ 10 s for 10^6 requests on
// 2 cores, for every policy. Wall times depend on what else loads the machine: the
// growth ratios are comparable within one run, the absolute seconds only on a quiet one.
import { cpus, hostname, loadavg } from 'node:os';
import { simulateServing, affineStepCost, servingPolicyKinds, type ServingConfig, type ServingPolicy } from '../lib/batching/index.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const max = Number(arg('--max') ?? 1_000_000);
const only = arg('--policy');
const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= max);

// A 70B-class replica in round numbers: 12 ms per step plus per-token prefill and
// per-sequence decode costs; at 20 req/s the queue is stable (utilisation < 1 counts idle gaps).
const POLICIES: Record<string, ServingPolicy> = {
  static: { kind: 'static', windowMs: 50, maxBatch: 128 },
  window: { kind: 'window', windowMs: 50, maxBatch: 128 },
  continuous: { kind: 'continuous', maxBatch: 128 },
  chunked: { kind: 'chunked', maxBatch: 128, tokenBudget: 2048 },
  'continuous, paged KV': { kind: 'continuous', maxBatch: 128 },
};
const config = (n: number, name: string): ServingConfig => ({
  arrivals: { kind: 'poisson', ratePerSecond: 20 },
  requests: n,
  promptTokens: { kind: 'lognormal', median: 512, sigma: 0.8, max: 8192 },
  outputTokens: { kind: 'lognormal', median: 96, sigma: 0.8, max: 2048 },
  policy: POLICIES[name],
  kvCapacityTokens: 400_000,
  kvAdmission: name.includes('paged') ? 'blocks' : 'reserve',
  stepCost: affineStepCost({ fixedSeconds: 0.012, perPrefillToken: 2e-5, perDecodeToken: 5e-5, perContextToken: 1e-8 }),
  keepRequests: false,
});

console.log(`serving simulator; ${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at start`);
console.log(`registered policies: ${servingPolicyKinds().join(', ')}`);
const names = Object.keys(POLICIES).filter((p) => !only || p === only);
const reps = (n: number) => (n <= 10_000 ? 5 : n <= 100_000 ? 2 : 1);
const verdicts: string[] = [];
for (const name of names) {
  simulateServing(config(50_000, name), 2); // warm-up: JIT
  const rows: Array<{ n: number; seconds: number; steps: number; p99: number; util: number; rss: number }> = [];
  for (const n of sizes) {
    let seconds = Infinity;
    let r = simulateServing(config(1, name), 1);
    for (let k = 0; k < reps(n); k++) {
      const t0 = process.hrtime.bigint();
      r = simulateServing(config(n, name), 1);
      seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    rows.push({ n, seconds, steps: r.steps, p99: r.e2e.p99, util: r.utilisation, rss: process.memoryUsage().rss / 2 ** 20 });
  }
  const ref = rows[0];
  const nlogn = (n: number) => n * Math.log(n);
  console.log(`\n${name}: ${JSON.stringify(POLICIES[name])}`);
  console.log('requests   seconds  req/s        steps      growth  n·log n growth  ratio  e2e p99 (s)  util   RSS (MiB)');
  for (const r of rows) {
    const growth = r.seconds / ref.seconds;
    const model = nlogn(r.n) / nlogn(ref.n);
    console.log(
      `${String(r.n).padEnd(10)} ${r.seconds.toFixed(3).padStart(7)}  ${Math.round(r.n / r.seconds).toLocaleString('en-US').padEnd(11)}  ${String(r.steps).padEnd(9)}  ${growth.toFixed(1).padStart(6)}  ${model.toFixed(1).padStart(14)}  ${(growth / model).toFixed(2).padStart(5)}  ${r.p99.toFixed(2).padStart(11)}  ${r.util.toFixed(2)}  ${r.rss.toFixed(0).padStart(9)}`,
    );
  }
  const big = rows.find((r) => r.n === 1_000_000);
  if (big) verdicts.push(`${name}: 10^6 requests in ${big.seconds.toFixed(2)} s (target ≤ 10 s): ${big.seconds <= 10 ? 'met' : 'NOT met'}`);
}
if (verdicts.length) console.log(`\n${verdicts.join('\n')}\nload average ${loadavg()[0].toFixed(1)} at the end (other processes share these cores)`);
