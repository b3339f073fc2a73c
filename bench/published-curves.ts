// Published concurrency curves (data/published/*-curves.json) predicted by the serving
// simulator under each curve's engine preset, priced by kernel tables where the database
// holds the device and framework, else by the calibrated model. Prints every point and
// the per-curve targets met or missed: saturation concurrency within 2×, ITL at
// concurrency 1 and plateau throughput within ±25 %, TTFT below saturation within ±50 %.
// Nothing is fitted to these curves; the time of each prediction is printed beside the
// time of the first (the reference measured in the same run). `--kv-cache DTYPE` is a
// what-if: every curve's KV-cache precision (stated or assumed in the data file) is
// replaced by DTYPE, and the printout says so; it changes no file and no default.
// `--warmup-per-client 0` counts each client's first request (the wave all sent at t = 0)
// as genai-perf does by default, instead of leaving it out as warm-up.
// Each point prints how the simulated clients group: requests admitted per admission
// step and measured requests per distinct send instant (above 1: lockstep groups).
//   node --import tsx bench/published-curves.ts [--seed 1] [--requests-per-client 4] [--warmup-per-client 1] [--kv-cache fp8]
import { predictPublishedCurve, publishedCurveTargets, readPublishedCurves } from '../lib/batching/published-curves.js';
import { DTYPES } from '../lib/core/types.js';
import { checkInt, checkOneOf } from '../lib/util/validate.js';

const flag = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? checkInt(name, Number(process.argv[i + 1]), { min: 0, max: 1e6 }) : def;
};
const seed = flag('--seed', 1);
const perClient = flag('--requests-per-client', 4);
const warmPerClient = flag('--warmup-per-client', 1);
if (warmPerClient !== 1) console.log(`WHAT-IF: ${warmPerClient} request(s) per client left out as warm-up (default 1)`);
const kvAt = process.argv.indexOf('--kv-cache');
const kvCache = kvAt >= 0 ? checkOneOf('--kv-cache', process.argv[kvAt + 1], DTYPES) : undefined;
if (kvCache) console.log(`WHAT-IF: every curve's KV cache priced and sized at ${kvCache}, not at the precision its data file states or assumes`);
const files = ['nvidia-nim-llm-benchmarking-curves'];
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const comparisons = [];
let reference = 0;
for (const file of files) {
  for (const read of readPublishedCurves(file)) {
    const curve = kvCache ? { ...read, precision: { ...read.precision, kvCache } } : read;
    const t0 = performance.now();
    const c = predictPublishedCurve(curve, { seed, requestsPerClient: perClient, warmupRequestsPerClient: warmPerClient });
    const s = (performance.now() - t0) / 1000;
    if (!reference) reference = s;
    comparisons.push(c);
    console.log(`\n${c.label}\n  source: ${c.source}\n  step model: ${c.stepModel}\n  scheduler: ${c.scheduler}\n  simulated in ${s.toFixed(2)} s (${(s / reference).toFixed(2)}× the first curve)`);
    if (c.unsourcedEngineSettings) console.log(`  engine settings no source states (the preset's stand in): ${c.unsourcedEngineSettings.join(', ')}`);
    console.log('  concurrency  TTFT ms published/predicted   ITL ms published/predicted   output tok/s published/predicted   simulated: admitted/step  requests/send instant');
    for (const p of c.points) {
      console.log(
        `  ${String(p.concurrency).padStart(11)}  ${`${p.published.ttftMs.toFixed(1)} / ${p.predicted.ttftMs.toFixed(1)}`.padStart(26)}  ${`${p.published.itlMs.toFixed(2)} / ${p.predicted.itlMs.toFixed(2)}`.padStart(26)}  ${`${p.published.outputTokensPerSecond.toFixed(0)} / ${p.predicted.outputTokensPerSecond.toFixed(0)}`.padStart(32)}  ${p.grouping.meanAdmitted.toFixed(2).padStart(24)}  ${p.grouping.requestsPerSendInstant.toFixed(2).padStart(21)}`,
      );
    }
    const pl = c.plateau;
    const pub = c.points.reduce((a, b) => (b.published.outputTokensPerSecond > a.published.outputTokensPerSecond ? b : a)).published;
    console.log(
      `  plateau (simulated): at ${pl.concurrency} clients, mean batch ${pl.meanBatch.toFixed(1)} sequences/step, decode-only step of ${Math.round(pl.meanBatch)} at the mean context ${pl.decodeStepMs.toFixed(2)} ms (step model); ` +
        `KV ${pl.kvCapacityTokens} tokens at ${(pl.memoryFraction * 100).toFixed(1)} % of device memory holds ${pl.kvBoundBatch} requests; batch limit ${pl.maxBatch}; limited by ${pl.limit}`,
    );
    console.log(`  plateau (published): ${pub.outputTokensPerSecond} tok/s at ${pub.concurrency} clients with ITL ${pub.itlMs} ms, a decoding batch of about ${pl.publishedBatch.toFixed(1)} (throughput × ITL, Little's law); at the curve's precision it ${pl.publishedBatchFit.fits ? 'fits' : 'does NOT fit'}: ${pl.publishedBatchFit.message}`);
  }
}
console.log('\nTargets (published: read from the source; predicted: simulated; saturation error is the ratio predicted / published)');
const rows = publishedCurveTargets(comparisons);
const table = [['curve', 'target', 'tolerance', 'published', 'predicted', 'error', 'met', 'step model'], ...rows.map((r) => [r.curve, r.target, r.tolerance, r.published.toFixed(2), r.predicted.toFixed(2), r.target.startsWith('saturation') ? `${r.error.toFixed(2)}×` : pct(r.error), r.met ? 'met' : 'MISSED', r.stepModel])];
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
for (const r of table) console.log(r.map((x, i) => x.padEnd(widths[i])).join('  '));
console.log(`\n${rows.filter((r) => r.met).length} of ${rows.length} targets met over ${comparisons.length} curves`);
