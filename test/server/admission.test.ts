// Fair admission: requests that reach the server on fresh connections while an engine step
// runs are all read and queued before the next step, so they share one step boundary
// (with one event-loop turn per step, ten of them landed at ten successive steps).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { spawnServer } from '../../lib/server/serve.js';
import type { ChildServer } from '../../lib/server/serve.js';
import { runLoad } from '../../lib/server/load.js';
import { requestTimelines } from '../../lib/server/timeline.js';
import type { ServerRunLog } from '../../lib/server/timeline.js';

// 19 M parameters (hidden 512, 4 layers): a 200-token prefill is a step of tens of milliseconds or more.
const ARGS = ['--model', 'llama-3.2-1b', '--width', '0.25', '--depth', '0.25', '--vocab', '0.0625', '--max-context', '256', '--seed', '1', '--max-batch', '16'];
let srv: ChildServer;

before(async () => {
  srv = await spawnServer(ARGS);
});

after(async () => {
  if (srv && srv.child.exitCode === null) await srv.stop('SIGKILL');
});

/** Opens a fresh TCP connection (no request yet). */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
    s.setTimeout(120_000, () => s.destroy(new Error('no answer within 120 s')));
  });
}

/** Writes one POST /v1/completions on the socket and resolves with the whole response once the server closes it. */
function post(s: Socket, body: object): Promise<string> {
  const b = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(`POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\nconnection: close\r\n\r\n${b}`);
  });
}

test('10 simultaneous requests on fresh connections reach the scheduler at one step boundary (the server\'s admission log)', async () => {
  const port = Number(new URL(srv.url).port);
  const N = 10;
  const reset = await fetch(`${srv.url}/batchlab/reset`, { method: 'POST' });
  assert.equal(reset.status, 200);
  // A long first step (a 200-token prefill) that the ten arrive during.
  const blocker = post(await open(port), { prompt: Array.from({ length: 200 }, (_, i) => i % 256), max_tokens: 8 });
  await new Promise((r) => setTimeout(r, 100));
  // All ten written in one tick; their connections are new to the server.
  const sockets = await Promise.all(Array.from({ length: N }, () => open(port)));
  const replies = await Promise.all([blocker, ...sockets.map((s, i) => post(s, { prompt: [1, 2, 3, i], max_tokens: 4 }))]);
  for (const r of replies) assert.match(r, /^HTTP\/1\.1 200/);
  const m = (await (await fetch(`${srv.url}/batchlab/metrics`)).json()) as { arrivals: Array<{ admitStep: number; promptTokens: number }>; steps: Array<{ index: number; admitted: number }> };
  const steps = m.arrivals.filter((a) => a.promptTokens === 4).map((a) => a.admitStep);
  assert.equal(steps.length, N);
  assert.ok(steps.every((s) => Number.isInteger(s)), `admission steps ${steps.join(' ')}`);
  assert.equal(new Set(steps).size, 1, `the ${N} requests were admitted at steps ${steps.join(' ')}`);
  // The step log agrees: the step that admitted them lists N (or N + the blocker) admissions.
  const step = m.steps.find((s) => s.index === steps[0])!;
  assert.ok(step.admitted >= N, `step ${step.index} admitted ${step.admitted}`);
});

test('the server logs when it read each request\'s headers; requestTimelines puts them on the client\'s clock in order: send ≤ headers ≤ submitted ≤ admitted ≤ first token ≤ read', async () => {
  const reset = await fetch(`${srv.url}/batchlab/reset`, { method: 'POST' });
  assert.equal(reset.status, 200);
  const run = await runLoad({ url: srv.url, seed: 3, workload: { arrivals: { kind: 'closed', clients: 2 }, requests: 6, promptTokens: { kind: 'fixed', tokens: 16 }, outputTokens: { kind: 'fixed', tokens: 4 } } });
  const log = (await (await fetch(`${srv.url}/batchlab/metrics`)).json()) as ServerRunLog;
  assert.ok(Number.isFinite(log.monotonicOrigin));
  const t = requestTimelines(run, log);
  assert.equal(t.length, 6, 'every request matched by its response id');
  // Both clocks are CLOCK_MONOTONIC: a misplaced origin would make some part negative by far more than 1 ms.
  for (const x of t) {
    for (const k of ['toHeaders', 'toSubmit', 'toAdmit', 'toFirstToken', 'toClient'] as const) assert.ok(x[k] > -1e-3, `${x.id} ${k} = ${x[k]}`);
    assert.ok(Math.abs(x.toHeaders + x.toSubmit + x.toAdmit + x.toFirstToken + x.toClient - x.ttft) < 1e-9);
  }
});
