// End to end: `batchlab serve` in a child process, driven by the official openai client
// and by the load generator; the expected tokens come from the same engine in this
// process, decoding each prompt alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { selectBackend } from '../../lib/backend/registry.js';
import { scaleEngineConfig } from '../../lib/engine/config.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { seededWeights } from '../../lib/engine/weights.js';
import { runLoad } from '../../lib/server/load.js';
import { resolveEngineConfig, spawnServer } from '../../lib/server/serve.js';
import type { ChildServer } from '../../lib/server/serve.js';

const SCALE = { width: 0.0625, depth: 0.125, vocab: 0.002 };
const ARGS = ['--model', 'llama-3.2-1b', '--width', '0.0625', '--depth', '0.125', '--vocab', '0.002', '--max-context', '256', '--seed', '1'];
let srv: ChildServer;
let client: OpenAI;

before(async () => {
  srv = await spawnServer([...ARGS, '--policy', 'continuous', '--max-batch', '4']);
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  if (srv && srv.child.exitCode === null) await srv.stop('SIGKILL');
});

/** Greedy continuation of each prompt decoded alone: what the server must stream. */
async function expected(prompts: number[][], maxTokens: number): Promise<number[][]> {
  const tf = (await selectBackend('auto', { log: () => {} })).tf;
  const cfg = scaleEngineConfig(resolveEngineConfig('llama-3.2-1b', 256), SCALE);
  const e = new DecodeEngine(tf, cfg, seededWeights(cfg, 1));
  const out = prompts.map((p, s) => {
    const toks = [e.step([{ seq: s, tokens: p }])[0]];
    while (toks.length < maxTokens) toks.push(e.step([{ seq: s, tokens: [toks[toks.length - 1]] }])[0]);
    return toks;
  });
  e.dispose();
  return out;
}

test('batchlab serve streams every token in order to 6 concurrent openai-client requests', async () => {
  const prompts = Array.from({ length: 6 }, (_, i) => Array.from({ length: 5 + 3 * i }, (_, j) => (17 * i + 5 * j) % 256));
  const maxTokens = 12;
  const want = await expected(prompts, maxTokens);
  const got = await Promise.all(
    prompts.map(async (prompt) => {
      const stream = await client.completions.create({ model: 'batchlab', prompt, max_tokens: maxTokens, stream: true });
      const tokens: number[] = [];
      const finish: Array<string | null> = [];
      for await (const chunk of stream) {
        if (!chunk.choices.length) continue;
        tokens.push(...chunk.choices[0].text.trim().split(/\s+/).map(Number));
        finish.push(chunk.choices[0].finish_reason);
      }
      assert.equal(finish.at(-1), 'length');
      assert.ok(finish.slice(0, -1).every((f) => f === null));
      return tokens;
    }),
  );
  // Batching changes speed, never answers: each stream is the prompt's greedy decode alone.
  assert.deepEqual(got, want);
  // A non-streaming request returns the same text in one body.
  const whole = await client.completions.create({ model: 'batchlab', prompt: prompts[2], max_tokens: maxTokens });
  assert.deepEqual(whole.choices[0].text.trim().split(' ').map(Number), want[2]);
  assert.equal(whole.usage?.completion_tokens, maxTokens);
});

test('batchlab serve answers bad input with a clear 400 and keeps serving', async () => {
  const err = async (p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      return e;
    }
    throw new Error('expected an error');
  };
  const zero = await err(client.completions.create({ model: 'batchlab', prompt: [1, 2], max_tokens: 0 }));
  assert.equal(zero.status, 400);
  assert.match(zero.message, /max_tokens must be an integer ≥ 1/);
  const long = await err(client.completions.create({ model: 'batchlab', prompt: new Array(250).fill(3), max_tokens: 10 }));
  assert.equal(long.status, 400);
  assert.equal(long.code, 'context_length_exceeded');
  assert.match(long.message, /at most 256 tokens/);
  const res = await fetch(`${srv.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt": [1, 2' });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /malformed JSON/);
  // Still serving.
  const ok = await client.completions.create({ model: 'batchlab', prompt: 'hello', max_tokens: 3 });
  assert.equal(ok.choices[0].text.trim().split(' ').length, 3);
});

test('a client that disconnects mid-stream is cancelled cleanly and the server keeps serving', async () => {
  const before = (await (await fetch(`${srv.url}/batchlab/metrics`)).json()) as { cancelled: number };
  const controller = new AbortController();
  const stream = await client.completions.create({ model: 'batchlab', prompt: [9, 8, 7], max_tokens: 200, stream: true }, { signal: controller.signal });
  let seen = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.choices.length && ++seen === 3) controller.abort();
    }
  } catch (e) {
    // The client may surface the abort as an error or simply end the stream.
    assert.ok(e instanceof Error && /abort/i.test(`${e.name} ${e.message}`), String(e));
  }
  assert.equal(seen, 3);
  const ok = await client.completions.create({ model: 'batchlab', prompt: [1, 2, 3], max_tokens: 4 });
  assert.equal(ok.choices[0].text.trim().split(' ').length, 4);
  const m = (await (await fetch(`${srv.url}/batchlab/metrics`)).json()) as { cancelled: number; completed: number; accepted: number };
  assert.equal(m.cancelled, before.cancelled + 1);
});

test("Little's law on a measured run: the server's mean requests in system equals λ·W from the client's latencies within 5 %", async (t) => {
  const reset = await fetch(`${srv.url}/batchlab/reset`, { method: 'POST' });
  assert.equal(reset.status, 200);
  const r = await runLoad({
    url: srv.url,
    seed: 3,
    workload: { arrivals: { kind: 'poisson', ratePerSecond: 12 }, requests: 30, promptTokens: { kind: 'uniform', min: 8, max: 40 }, outputTokens: { kind: 'uniform', min: 16, max: 32 } },
  });
  assert.equal(r.failed, 0);
  for (const rec of r.records) {
    assert.equal(rec.tokens.length, rec.outputTokens);
    for (let k = 1; k < rec.tokenTimes.length; k++) assert.ok(rec.tokenTimes[k] >= rec.tokenTimes[k - 1]);
  }
  const m = (await (await fetch(`${srv.url}/batchlab/metrics`)).json()) as { meanInSystem: number; completed: number };
  assert.equal(m.completed, 30);
  // L (server: time-average of requests queued or running) against λ·W (client: completions
  // per second of its makespan × mean end-to-end latency). They differ only by the HTTP
  // round trip and by arrivals that wait in the socket while a step runs.
  const lambdaW = r.throughputRequestsPerSecond * r.e2e.mean;
  t.diagnostic(`L = ${m.meanInSystem.toFixed(3)} (server), λ·W = ${lambdaW.toFixed(3)} (client)`);
  assert.ok(Math.abs(m.meanInSystem - lambdaW) / lambdaW < 0.05, `L ${m.meanInSystem.toFixed(3)} vs λW ${lambdaW.toFixed(3)}`);
});

test('runLoad in closed loop keeps at most N requests in flight and completes every one', async () => {
  const r = await runLoad({ url: srv.url, seed: 4, workload: { arrivals: { kind: 'closed', clients: 3 }, requests: 9, promptTokens: { kind: 'fixed', tokens: 6 }, outputTokens: { kind: 'fixed', tokens: 5 } } });
  assert.equal(r.requests, 9);
  assert.equal(r.failed, 0);
  // At every send, fewer than 3 other requests are still in flight.
  for (const a of r.records) {
    const inFlight = r.records.filter((b) => b !== a && b.send <= a.send && b.finish > a.send).length;
    assert.ok(inFlight <= 2, `${inFlight} in flight at request ${a.index}`);
  }
  assert.ok(r.records.every((x) => x.tokens.length === 5));
});

test('SIGTERM stops the server only after every accepted request has finished', async () => {
  const stream = await client.completions.create({ model: 'batchlab', prompt: [5, 6], max_tokens: 40, stream: true });
  const code = srv.stop('SIGTERM');
  let tokens = 0;
  for await (const chunk of stream) if (chunk.choices.length) tokens += chunk.choices[0].text.trim().split(/\s+/).length;
  assert.equal(tokens, 40);
  assert.equal(await code, 0);
  assert.ok(srv.output.some((l) => /SIGTERM: finishing 1 accepted requests/.test(l)), srv.output.join('\n'));
});
