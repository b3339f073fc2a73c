// Where a client's time to first token goes, batchlab's Node client beside the openai
// Python package (bench/outside_load.py):
//   node --import tsx bench/http-path.ts [--requests 24] [--rate 2]
// 1. The client's floor: both clients against a trivial server (a child process that
//    answers every completion with one SSE token at once), one request at a time.
// 2. The served default model: each request's TTFT split on one clock (both sides report
//    their origin on CLOCK_MONOTONIC) into send → headers read → body parsed and submitted
//    → admitted (the step that takes it starts) → first token written → read by the
//    client, at closed loop 1 and 4 and open-loop Poisson arrivals, medians per part.
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { runLoad } from '../lib/server/load.js';
import type { LoadResult, LoadWorkload } from '../lib/server/load.js';
import { spawnServer } from '../lib/server/serve.js';
import { requestTimelines, timelineMedians } from '../lib/server/timeline.js';
import type { ServerRunLog } from '../lib/server/timeline.js';
import { median } from '../lib/util/stats.js';
import { outsideClientAvailable, runOutsideLoad } from './outside-client.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const requests = arg('--requests', 24);
const rate = arg('--rate', 2);
const ms = (s: number): string => (s * 1e3).toFixed(1).padStart(7);
type Client = [string, (url: string, w: LoadWorkload, seed: number) => Promise<LoadResult>];
const clients: Client[] = [['batchlab', (url, workload, seed) => runLoad({ url, workload, seed })]];
if (outsideClientAvailable()) clients.push(['python', runOutsideLoad]);
else console.log('the openai Python client is absent (run node scripts/setup.mjs): batchlab client only');
console.log(`HTTP path; ${cpus().length} CPUs, Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);

// 1. The floor: a server that does nothing but answer.
const trivial = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url.startsWith('/v1/models')) { res.setHeader('content-type', 'application/json'); return res.end('{"object":"list","data":[]}'); }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = { id: 'cmpl-1', object: 'text_completion', created: 0, model: 'trivial', choices: [{ text: ' 7', index: 0, logprobs: null, finish_reason: 'length' }] };
    res.write('data: ' + JSON.stringify(chunk) + '\\n\\n');
    res.end('data: [DONE]\\n\\n');
  });
});
s.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + s.address().port));`;
const child = spawn(process.execPath, ['-e', trivial], { stdio: ['ignore', 'pipe', 'inherit'] });
const trivialUrl = await new Promise<string>((r) => child.stdout.once('data', (d) => r(String(d).trim())));
const one: LoadWorkload = { arrivals: { kind: 'closed', clients: 1, thinkSeconds: 0.02 }, requests, promptTokens: { kind: 'fixed', tokens: 32 }, outputTokens: { kind: 'fixed', tokens: 1 } };
console.log(`the client's floor: a trivial server answering one SSE token at once, ${requests} requests one at a time (measured; median and p90 of TTFT)`);
for (const [name, run] of clients) {
  const r = await run(trivialUrl, one, 1);
  const t = r.records.map((x) => x.tokenTimes[0] - x.send).sort((a, b) => a - b);
  console.log(`  ${name.padEnd(9)} TTFT median ${ms(median(t))} ms, p90 ${ms(t[Math.floor(0.9 * (t.length - 1))])} ms; client CPU ${ms(r.clientCpuSeconds / r.requests)} ms per request`);
}
child.kill();

// 2. The served model, each TTFT split into its parts.
const srv = await spawnServer(['--max-context', '256', '--max-batch', '16']);
try {
  const lengths = { promptTokens: { kind: 'uniform', min: 16, max: 64 }, outputTokens: { kind: 'uniform', min: 8, max: 32 } } as const;
  const points: Array<[string, LoadWorkload]> = [
    ['closed 1', { ...lengths, requests, arrivals: { kind: 'closed', clients: 1 } }],
    ['closed 4', { ...lengths, requests, arrivals: { kind: 'closed', clients: 4 } }],
    [`poisson ${rate}/s`, { ...lengths, requests, arrivals: { kind: 'poisson', ratePerSecond: rate } }],
  ];
  console.log(`\nthe default model served (continuous ≤ 16), ${requests} requests per run; medians per part of the TTFT, ms (measured; parts' medians need not add up to the TTFT median)`);
  console.log(`  ${'point'.padEnd(14)} ${'client'.padEnd(9)} ${'n'.padStart(3)} ${'→headers'.padStart(8)} ${'→submit'.padStart(8)} ${'→admit'.padStart(8)} ${'→token'.padStart(8)} ${'→client'.padStart(8)} ${'TTFT'.padStart(8)}   step p50 / gap p50 (server); client CPU per output token`);
  for (const [name, workload] of points) {
    for (const [client, run] of clients) {
      const reset = await fetch(`${srv.url}/batchlab/reset`, { method: 'POST' });
      if (!reset.ok) throw new Error(await reset.text());
      const r = await run(srv.url, workload, 1);
      const log = (await (await fetch(`${srv.url}/batchlab/metrics`)).json()) as ServerRunLog;
      const m = timelineMedians(requestTimelines(r, log));
      const step = median(log.steps.map((s) => s.end - s.start));
      const gap = median(log.steps.map((s) => s.nextDecision - s.end).filter(Number.isFinite));
      console.log(`  ${name.padEnd(14)} ${client.padEnd(9)} ${String(m.requests).padStart(3)} ${ms(m.toHeaders)}  ${ms(m.toSubmit)}  ${ms(m.toAdmit)}  ${ms(m.toFirstToken)}  ${ms(m.toClient)}  ${ms(m.ttft)}   ${ms(step)} / ${ms(gap)}; ${ms(r.clientCpuSeconds / r.outputTokens)}`);
    }
  }
} finally {
  await srv.stop();
}
console.log(`\nload average after ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
