// `batchlab load` against `batchlab serve` in a child process (a tiny seeded engine), and
// against addresses where nothing answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { spawnServer } from '../../lib/server/serve.js';
import type { ChildServer } from '../../lib/server/serve.js';
import { run } from './run.js';
import { PREDICTION_DRAWS } from '../../lib/server/predict.js';

const ARGS = ['--model', 'llama-3.2-1b', '--width', '0.0625', '--depth', '0.125', '--vocab', '0.002', '--max-context', '256', '--seed', '1'];
let srv: ChildServer;

before(async () => {
  srv = await spawnServer([...ARGS, '--policy', 'continuous', '--max-batch', '16']);
});

after(async () => {
  if (srv && srv.child.exitCode === null) await srv.stop('SIGKILL');
});

test('batchlab load prints the policy the server reports, not the stand-in that generated arrivals (it printed "batch ≤ 1")', async () => {
  const args = ['load', '--url', srv.url, '--rate', '50', '--requests', '4', '--prompt', '8', '--output', '4'];
  const r = await run(args);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^ {2}server policy: continuous, batch ≤ 16$/m);
  // The realised rate beside the nominal one, and the fields of vllm bench serve.
  assert.match(r.out, /^ {2}arrival rate: nominal 50\/s, realised \d+\.\d\d\/s/m);
  for (const field of ['Request throughput (req/s):', 'Output token throughput (tok/s):', 'Median TTFT (ms):', 'P99 TTFT (ms):', 'Mean TPOT (ms):', 'Median ITL (ms):', 'P99 E2EL (ms):']) assert.ok(r.out.includes(field), field);
  assert.doesNotMatch(r.out, /batch ≤ 1\b/);
  const t0 = performance.now();
  const j = JSON.parse((await run(['--json', ...args])).out);
  const wallSeconds = (performance.now() - t0) / 1000;
  assert.deepEqual(j.serverPolicy, { kind: 'continuous', maxBatch: 16 });
  // The latencies' unit is stated, and is the one they are in: no request outlasts the run, and the run fits in the wall time the test saw.
  assert.equal(j.latencyUnit, 'seconds');
  for (const k of ['ttft', 'itl', 'tpot', 'e2e']) assert.ok(j[k].max <= j.makespanSeconds + 1e-9, `${k}.max ${j[k].max} > makespan ${j.makespanSeconds}`);
  assert.ok(j.makespanSeconds > 0 && j.makespanSeconds < wallSeconds, `makespan ${j.makespanSeconds} s against ${wallSeconds} s of wall time`);
  assert.equal(j.interrupted, false);
  assert.equal(j.requestsAsked, 4);
  assert.match(j.provenance.workload, /^poisson arrivals 50\/s, prompt 8, output 4, 4 requests$/);
});

test('batchlab load: a --url where nothing answers is one line naming the URL', async () => {
  // A port that was free a moment ago: bind, read it, close.
  const port = await new Promise<number>((done) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => done(p));
    });
  });
  const r = await run(['load', '--url', `http://127.0.0.1:${port}`, '--rate', '1']);
  assert.equal(r.code, 2);
  assert.equal(r.err.split('\n').length, 1);
  assert.match(r.err, new RegExp(`^batchlab: --url must be the root of a running completion server; got "http://127.0.0.1:${port}" \\(nothing answered GET http://127.0.0.1:${port}/v1/models: ECONNREFUSED\\)$`));
  const scheme = await run(['load', '--url', 'ftp://127.0.0.1', '--rate', '1']);
  assert.equal(scheme.code, 2);
  assert.match(scheme.err, /^batchlab: --url must be an http:\/\/ or https:\/\/ URL/);
});

test('batchlab load without --rate or --clients says that one of them is required', async () => {
  const r = await run(['load']);
  assert.equal(r.code, 2);
  assert.equal(r.err, 'batchlab: --rate/--clients must be exactly one of --rate (open loop) and --clients (closed loop); got "neither"');
  assert.match((await run(['load', '--rate', '1', '--clients', '2'])).err, /got "both"$/);
});

test('batchlab load --predict fits the step cost to served steps (the calibration of notebook 08) and prints predicted beside measured', async () => {
  const cal = await spawnServer([...ARGS, '--policy', 'continuous', '--max-batch', '4', '--calibrate', '--calibrate-reps', '1', '--calibrate-max-prompt', '16']);
  try {
    const r = await run(['load', '--url', cal.url, '--clients', '2', '--requests', '6', '--prompt', '8', '--output', '4', '--predict']);
    assert.equal(r.code, 0, r.err);
    // Closed loops at 1, 2 and 4 clients of 2·clients + 4 requests each: 6 + 8 + 12 requests, at least one step each.
    const m = /step cost: fitted to (\d+) served steps/.exec(r.out);
    assert.ok(m && Number(m[1]) >= 26, r.out);
    // A served fit keeps its steps' spread: the median over the draws, the smallest and largest draw beside it.
    const draws = /the median over (\d+) seeded draws/.exec(r.out);
    assert.ok(draws && Number(draws[1]) === PREDICTION_DRAWS, r.out);
    for (const metric of ['TTFT p50 (s)', 'TTFT p99 (s)', 'ITL p50 (s)', 'throughput (tok/s)']) assert.match(r.out, new RegExp(`^ {2}${metric.replace(/[()]/g, '\\$&')} +[\\d.e+-]+ +[\\d.e+-]+–[\\d.e+-]+ +[\\d.e+-]+ +-?[\\d.]+ %$`, 'm'));
    // 6 requests from 2 clients: each client's first request (2) is warm-up, the measured column over the other 4.
    assert.match(r.out, /^ {2}warm-up: both columns leave out each client's first request \(2 requests, sent together at the start\), so the measured column is over 4 requests, the figures above over all 6$/m);
    const engine = await run(['load', '--url', cal.url, '--clients', '1', '--requests', '2', '--prompt', '8', '--output', '4', '--predict', '--calibration', 'engine', '--json']);
    assert.equal(engine.code, 0, engine.err);
    // Engine steps timed back to back have no spread: one run, no band; one client's first of 2 requests is warm-up.
    const j = JSON.parse(engine.out);
    assert.equal(j.predictionDraws, 1);
    assert.equal(j.warmupRequests, 1);
    assert.ok(j.prediction.length >= 4 && j.prediction.every((row: { predictedMin?: number }) => row.predictedMin === undefined), engine.out);
    // A single round (as many clients as requests): no warm-up, and no offered rate from sends microseconds apart.
    const one = await run(['load', '--url', cal.url, '--clients', '2', '--requests', '2', '--prompt', '8', '--output', '4', '--predict', '--calibration', 'engine']);
    assert.equal(one.code, 0, one.err);
    assert.match(one.out, /step cost: engine steps timed back to back, plus [\d.]+ ms per step/);
    assert.match(one.out, /^ {2}offered: every client sent its one request at the start \(closed loop, a single round of 2\)$/m);
    assert.match(one.out, /one run \(the step cost has no measured spread\)/);
    assert.doesNotMatch(one.out, /warm-up/);
  } finally {
    await cal.stop('SIGKILL');
  }
});
