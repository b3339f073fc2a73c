// `batchlab load` when a run does not go to plan: interrupted (during the run and during
// --predict's calibration), requests refused or failing, a workload beyond the server's
// context, and flags the run would not read. The server is a stand-in in this process whose
// every answer the test decides, so that "3 requests complete, then 2 hang until the
// interrupt" happens every time, whatever the machine's speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBatchlabCli } from '../../bin/cli.js';
import { withDir } from './run.js';

type Answer = 'complete' | 'hang' | 'refuse' | 'die';

interface Stand {
  url: string;
  /** Completion requests received. */
  completions: number;
  /** POST /batchlab/reset received. */
  resets: number;
  close(): Promise<void>;
}

/**
 * A completion server whose n-th completion request (1-based) gets `answer(n)`: streamed to
 * its end, one token and then nothing (until the client goes), a 400 with an OpenAI-style
 * body, or the server closing every connection and its port (a killed server). `onHang`
 * is called with the number of requests hanging so far.
 */
async function standIn(answer: (n: number) => Answer, opts: { context?: number; onHang?: (hanging: number) => void } = {}): Promise<Stand> {
  const hanging = new Set<ServerResponse>();
  const json = (res: ServerResponse, status: number, v: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(v));
  };
  const s: Stand = { url: '', completions: 0, resets: 0, close: async () => {} };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const route = `${req.method} ${req.url}`;
      if (route === 'GET /v1/models') return json(res, 200, { object: 'list', data: [{ id: 'stand-in', object: 'model', ...(opts.context ? { max_model_len: opts.context } : {}) }] });
      if (route === 'GET /batchlab/metrics') return json(res, 200, { policy: { kind: 'continuous', maxBatch: 4 }, steps: [], arrivals: [] });
      if (route === 'GET /batchlab/step-cost') return json(res, 200, {});
      if (route === 'POST /batchlab/reset') {
        s.resets++;
        return json(res, 200, { ok: true });
      }
      if (route !== 'POST /v1/completions') return json(res, 404, { error: { message: 'no route' } });
      const n = ++s.completions;
      const a = answer(n);
      if (a === 'refuse') return json(res, 400, { error: { message: "prompt must be at most 1024 tokens together (the engine's context); got 5000 prompt + 16 output tokens" } });
      if (a === 'die') {
        server.close();
        server.closeAllConnections();
        return;
      }
      const tokens = (JSON.parse(body) as { max_tokens: number }).max_tokens;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (): string => `data: ${JSON.stringify({ id: `cmpl-${n}`, choices: [{ text: ' 7' }] })}\n\n`;
      if (a === 'hang') {
        res.write(chunk());
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        opts.onHang?.(hanging.size);
        return;
      }
      for (let k = 0; k < tokens; k++) res.write(chunk());
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((resolve) => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  return s;
}

/** The CLI in this process, with an interrupt the test fires (as bin/batchlab.ts fires one on Ctrl-C). */
async function run(args: string[], signal?: AbortSignal): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false, signal });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const SMALL = ['--prompt', '8', '--output', '4'];

test('an interrupted load says so in its text, its --json and its --records, counts the aborted apart from the failed, and exits 130 as any run Ctrl-C stops', withDir(async (dir) => {
  for (const json of [false, true]) {
    const ac = new AbortController();
    // 3 requests complete; the next two (one per client) hang until the interrupt, fired once both hang.
    const s = await standIn((n) => (n <= 3 ? 'complete' : 'hang'), { onHang: (k) => k === 2 && ac.abort() });
    try {
      const records = join(dir, `records-${json}.json`);
      const r = await run([...(json ? ['--json'] : []), 'load', '--url', s.url, '--clients', '2', '--requests', '10', ...SMALL, '--records', records], ac.signal);
      assert.equal(r.code, 130, r.err);
      // Load aborts in flight at once: the stop line says that, not "after the current point".
      assert.match(r.err, /^batchlab: interrupted: aborting the requests in flight; the 3 completed so far are kept and reported$/m);
      assert.match(r.err, /^batchlab: interrupted: 3 of 10 requests completed \(2 aborted in flight\); the figures are over those 3$/m);
      assert.doesNotMatch(r.err, /requests failed/);
      // 10 asked = 3 completed + 2 aborted by the interrupt + 5 never sent (two clients, each stopped at its hanging request).
      const expected = { interrupted: true, requestsAsked: 10, requests: 3, failed: 0, aborted: 2, latencyUnit: 'seconds' };
      const file = JSON.parse(readFileSync(records, 'utf8'));
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(file[k], v, `--records ${k}`);
      assert.equal(file.records.filter((x: { aborted?: boolean }) => x.aborted === true).length, 2);
      if (json) {
        const j = JSON.parse(r.out);
        for (const [k, v] of Object.entries(expected)) assert.deepEqual(j[k], v, `--json ${k}`);
      } else {
        assert.match(r.out, /^batchlab: interrupted: 3 of 10 requests completed, 0 failed, 2 aborted in flight by the interrupt, 5 never sent in [\d.]+ s over 2 connections; /m);
        assert.match(r.out, /^ {2}interrupted: every figure below is over the 3 requests completed before the interrupt, not the 10 asked$/m);
        assert.match(r.out, /^ {2}Successful requests: +3$/m);
      }
    } finally {
      await s.close();
    }
  }
}));

test('an interrupted load --predict says the prediction is not compared (it is of the whole workload) instead of printing the table', async () => {
  const ac = new AbortController();
  // The HTTP-path probe (probeServerOverheads) sends 8 requests one at a time first; then the run's 3 complete and 2 hang.
  const s = await standIn((n) => (n <= 8 + 3 ? 'complete' : 'hang'), { onHang: (k) => k === 2 && ac.abort() });
  try {
    const r = await run(['load', '--url', s.url, '--clients', '2', '--requests', '10', ...SMALL, '--predict', '--calibration', 'engine'], ac.signal);
    assert.equal(r.code, 130, r.err);
    assert.match(r.out, /^ {2}prediction not compared: interrupted: the prediction is of all 10 requests, the measurement of the 3 completed before the interrupt$/m);
    assert.doesNotMatch(r.out, /^ {2}metric +predicted/m);
    // The resets --predict does are said (the probe resets before and after itself).
    assert.match(r.out, /^batchlab: --predict resets the server's metrics and request log \(POST http:\/\/127\.0\.0\.1:\d+\/batchlab\/reset\) around its probes:/m);
    assert.ok(s.resets >= 2, `resets seen: ${s.resets}`);
  } finally {
    await s.close();
  }
});

test('an interrupt during load --predict\'s calibration stops it at once with a line saying nothing was measured (it waited for the calibration, then blamed "records")', { timeout: 60_000 }, async () => {
  const ac = new AbortController();
  // Every request hangs: without an abort the calibration's first request would wait for its 600 s timeout.
  const s = await standIn(() => 'hang', { onHang: () => ac.abort() });
  try {
    const t0 = performance.now();
    const r = await run(['load', '--url', s.url, '--clients', '2', '--requests', '10', ...SMALL, '--predict'], ac.signal);
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.code, 130, r.err);
    assert.match(r.err, /^batchlab: interrupted during the --predict calibration: aborting its requests; nothing has been measured$/m);
    assert.match(r.err, /^batchlab: interrupted during the --predict calibration; nothing was measured$/m);
    assert.doesNotMatch(r.err, /records must be/);
    // The stand-in answers at once: anything near the request timeout (600 s) means the interrupt was not acted on.
    assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s`);
    assert.equal(s.completions, 1);
  } finally {
    await s.close();
  }
});

test('batchlab load exits 1 when the server goes away mid-run, counting only the connections made and the requests that reached it', withDir(async (dir) => {
  // Request 4 finds the server closing every connection and its port: 4 reached it, 6 are refused at connect.
  const s = await standIn((n) => (n <= 3 ? 'complete' : 'die'));
  try {
    const records = join(dir, 'r.json');
    const r = await run(['--json', 'load', '--url', s.url, '--clients', '1', '--requests', '10', ...SMALL, '--records', records]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^batchlab: 7 of 10 requests failed \(.*ECONNREFUSED.*\)$/m);
    const j = JSON.parse(r.out);
    assert.equal(j.requests, 3);
    assert.equal(j.failed, 7);
    assert.equal(j.interrupted, false);
    // One client, one kept-alive connection: the refused attempts were counted as connections (7 in all).
    assert.equal(j.connections, 1);
    // The 3 completed and the 4th, cut off by the server, reached it; the 6 after were refused at connect.
    assert.equal(j.offeredRequests, 4);
    assert.equal(j.failureReasons.find((f: { reason: string }) => /ECONNREFUSED/.test(f.reason)).count, 6);
    // Everything measured is written before the exit.
    assert.equal(JSON.parse(readFileSync(records, 'utf8')).records.length, 10);
  } finally {
    await s.close();
  }
}));

test('batchlab load: every request refused is an error that gives the server\'s message first (it said "records must be at least one successful request")', async () => {
  const s = await standIn(() => 'refuse');
  try {
    const r = await run(['load', '--url', s.url, '--rate', '100', '--requests', '2', '--prompt', '5000']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^batchlab: HTTP 400: prompt must be at most 1024 tokens together .*\(the server refused every one of the 2 requests sent; nothing was measured\)$/);
    assert.doesNotMatch(r.err, /records must be/);
  } finally {
    await s.close();
  }
});

test('batchlab load refuses --prompt + --output beyond the context the server reports, before sending anything', async () => {
  // max_model_len as vLLM's /v1/models reports it.
  const s = await standIn(() => 'complete', { context: 1024 });
  try {
    const r = await run(['load', '--url', s.url, '--rate', '100', '--requests', '2', '--prompt', '5000']);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err, `batchlab: --prompt/--output must be at most the server's context of 1024 tokens together (max_model_len at GET ${s.url}/v1/models); got 5000 + 16 = 5016 tokens`);
    assert.equal(s.completions, 0);
    // 1008 + 16 = 1024 fits exactly.
    const ok = await run(['load', '--url', s.url, '--rate', '100', '--requests', '1', '--prompt', '1008']);
    assert.equal(ok.code, 0, ok.err);
  } finally {
    await s.close();
  }
});

test('batchlab load refuses the flags its run would not read: --think with --rate, --calibration without --predict', async () => {
  // Refused before any server is asked (nothing listens at the default --url in tests).
  const think = await run(['load', '--rate', '1', '--think', '2']);
  assert.equal(think.code, 2);
  assert.equal(think.err, 'batchlab: --think must be left out with --rate (an open loop sends at its arrival times; think time is the closed loop\'s, --clients); got "2"');
  const cal = await run(['load', '--clients', '1', '--calibration', 'engine']);
  assert.equal(cal.code, 2);
  assert.equal(cal.err, 'batchlab: --calibration must be given with --predict (it chooses the step cost of the prediction); got "engine"');
  const help = await run(['load', '--help']);
  assert.match(help.out.replace(/\s+/g, ' '), /--predict .*resets the server's metrics and request log \(POST \/batchlab\/reset\)/);
});

test('an interrupt during a closed loop\'s think time ends the run at once and still writes --records (it waited out the think time, and a second Ctrl-C then lost them)', withDir(async (dir) => {
  const s = await standIn(() => 'complete');
  try {
    const ac = new AbortController();
    const records = join(dir, 'think.json');
    // One client thinks 30 s between requests: interrupt 1.5 s into the first think.
    setTimeout(() => ac.abort(), 1500);
    const t0 = Date.now();
    const r = await run(['load', '--url', s.url, '--clients', '1', '--think', '30', '--requests', '3', ...SMALL, '--records', records], ac.signal);
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assert.equal(r.code, 130, r.err);
    assert.ok(existsSync(records));
  } finally {
    await s.close();
  }
}));
