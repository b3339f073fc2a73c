// End to end: `batchlab serve` in a child process, driven by the official openai client
// and by the load generator; the expected tokens come from the same engine in this
// process, decoding each prompt alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { getEventListeners } from 'node:events';
import { connect } from 'node:net';
import { InputError } from '../../lib/util/errors.js';
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
  // A 405 names the method the route answers (RFC 9110 15.5.6: a 405 carries Allow).
  const get = await fetch(`${srv.url}/v1/completions`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal((await fetch(`${srv.url}/v1/models/batchlab`, { method: 'DELETE' })).headers.get('allow'), 'GET');
  // OpenAI's API reads a list of prompts as a batch: a batch of one is that prompt, a batch of two is refused as a batch.
  const one = await client.completions.create({ model: 'batchlab', prompt: ['hello'], max_tokens: 3, temperature: 0 });
  const same = await client.completions.create({ model: 'batchlab', prompt: 'hello', max_tokens: 3, temperature: 0 });
  assert.equal(one.choices[0].text, same.choices[0].text);
  assert.equal((await client.completions.create({ model: 'batchlab', prompt: [[1, 2]], max_tokens: 2 })).choices.length, 1);
  const two = await err(client.completions.create({ model: 'batchlab', prompt: ['a', 'b'], max_tokens: 2 }));
  assert.equal(two.status, 400);
  assert.match(two.message, /^400 prompt must be one prompt per request .*; got a batch of 2 prompts$/);
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
  // One keep-alive connection per client: each response is read to its end, so the connection is reused.
  assert.equal(r.connections, 3);
});

test('/v1/chat/completions answers streamed (chat.completion.chunk deltas) and not, with the plain chat template', async () => {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  // The template: "user: hi\nassistant:" as UTF-8 bytes (chatPrompt), decoded greedily.
  const [want] = await expected([[...new TextEncoder().encode('user: hi\nassistant:')]], 6);
  const whole = await client.chat.completions.create({ model: 'batchlab', messages, max_tokens: 6 });
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.deepEqual(whole.choices[0].message.content!.trim().split(' ').map(Number), want);
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage?.prompt_tokens, 19); // "user: hi\nassistant:" is 19 bytes
  const stream = await client.chat.completions.create({ model: 'batchlab', messages, max_tokens: 6, stream: true, stream_options: { include_usage: true } });
  let text = '';
  const finishes: Array<string | null> = [];
  let usage: number | undefined;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage.completion_tokens;
    if (!chunk.choices.length) continue;
    text += chunk.choices[0].delta.content ?? '';
    finishes.push(chunk.choices[0].finish_reason);
  }
  assert.deepEqual(text.trim().split(' ').map(Number), want);
  assert.equal(finishes.at(-1), 'length');
  assert.equal(usage, 6);
  const card = await client.models.retrieve('batchlab');
  assert.equal(card.id, 'batchlab');
  const missing = await fetch(`${srv.url}/v1/models/gpt-4`);
  assert.equal(missing.status, 404);
});

test('sampling: the same seed gives the same tokens, temperature 0 is greedy, a stop string ends with finish_reason "stop"', async () => {
  const prompt = [4, 5, 6, 7];
  const [greedy] = await expected([prompt], 12);
  const ask = (extra: Record<string, unknown>) => client.completions.create({ model: 'batchlab', prompt, max_tokens: 12, ...extra });
  const a = await ask({ temperature: 1.5, top_p: 0.95, seed: 42 });
  const b = await ask({ temperature: 1.5, top_p: 0.95, seed: 42 });
  assert.equal(a.choices[0].text, b.choices[0].text);
  // Twelve draws at temperature 1.5 over 256 tokens differ from the greedy run (else sampling is ignored).
  assert.notDeepEqual(a.choices[0].text.trim().split(' ').map(Number), greedy);
  const g = await ask({ temperature: 0 });
  assert.deepEqual(g.choices[0].text.trim().split(' ').map(Number), greedy);
  // Stop at the text of the third greedy token: the completion is the text before its first occurrence.
  const stop = ` ${greedy[2]}`;
  const full = greedy.map((t) => ` ${t}`).join('');
  const s = await ask({ temperature: 0, stop: [stop] });
  assert.equal(s.choices[0].finish_reason, 'stop');
  assert.equal(s.choices[0].text, full.slice(0, full.indexOf(stop)));
  const streamed = await client.completions.create({ model: 'batchlab', prompt, max_tokens: 12, stop, stream: true });
  let text = '';
  let finish: string | null = null;
  for await (const c of streamed) if (c.choices.length) (text += c.choices[0].text), (finish = c.choices[0].finish_reason);
  assert.equal(text, s.choices[0].text);
  assert.equal(finish, 'stop');
});

test('unsupported or out-of-range fields are a 400 naming the field; a body over 1 MiB is a 413; created is the time of each response', async () => {
  const post = async (path: string, body: unknown): Promise<{ status: number; param: string | null }> => {
    const r = await fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = (await r.json()) as { error?: { param: string | null } };
    return { status: r.status, param: j.error?.param ?? null };
  };
  const base = { model: 'batchlab', prompt: [1, 2], max_tokens: 2 };
  for (const [extra, field] of [
    [{ temperature: 5 }, 'temperature'], [{ temperature: -1 }, 'temperature'], [{ temperature: 'hot' }, 'temperature'], [{ top_p: 7 }, 'top_p'],
    [{ logprobs: 2 }, 'logprobs'], [{ best_of: 3 }, 'best_of'], [{ echo: true }, 'echo'], [{ stream: 'yes' }, 'stream'], [{ n: 2 }, 'n'], [{ frobnicate: 1 }, 'frobnicate'],
  ] as const) {
    assert.deepEqual(await post('/v1/completions', { ...base, ...extra }), { status: 400, param: field }, JSON.stringify(extra));
  }
  assert.deepEqual(await post('/v1/chat/completions', { model: 'batchlab', messages: [{ role: 'user', content: 'x' }], logprobs: true }), { status: 400, param: 'logprobs' });
  assert.deepEqual(await post('/v1/chat/completions', { model: 'batchlab', messages: [] }), { status: 400, param: 'messages' });
  // Inert values are accepted.
  assert.equal((await post('/v1/completions', { ...base, logprobs: null, echo: false, best_of: 1, stream: false })).status, 200);
  const big = JSON.stringify({ prompt: 'x'.repeat(2 << 20) });
  const r = await fetch(`${srv.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(r.status, 413);
  assert.match(((await r.json()) as { error: { message: string } }).error.message, /body must be at most 1048576 bytes/);
  // The server was started seconds before: a start-time constant would be older than this.
  const t = Math.floor(Date.now() / 1000);
  const c = await client.completions.create(base);
  assert.ok(c.created >= t && c.created <= Math.floor(Date.now() / 1000), `created ${c.created}, asked at ${t}`);
});

test('a body over 1 MiB from a client that writes it all before reading (as httpx does) is answered with a 413, never a reset', async () => {
  // A raw connection that reads nothing until its 2 MiB body is written, in 64 KiB chunks 2 ms apart: a 413 sent
  // (and the connection closed) before the body ends fails its next write with EPIPE, as it did for httpx.
  const { hostname, port } = new URL(srv.url);
  const once = (): Promise<string> =>
    new Promise((done) => {
      const sock = connect(Number(port), hostname);
      const chunks: Buffer[] = [];
      let err: string | null = null;
      sock.on('error', (e: NodeJS.ErrnoException) => void (err ??= e.code ?? e.message));
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('close', () => {
        const text = Buffer.concat(chunks).toString();
        done(text.startsWith('HTTP/1.1 ') ? text.slice(9, 12) : err ?? 'closed without an answer');
      });
      sock.pause();
      sock.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${2 << 20}\r\n\r\n`);
      const chunk = Buffer.alloc(64 << 10, 0x61);
      let sent = 0;
      const next = (): void => {
        if (err !== null || sent++ === 32) return void sock.resume();
        sock.write(chunk, () => setTimeout(next, 2));
      };
      next();
    });
  const answers: string[] = [];
  for (let i = 0; i < 4; i++) answers.push(await once());
  assert.deepEqual(answers, Array(4).fill('413'));
});

test('runLoad keeps the server\'s reason for a refused request and leaves no listener on its signal', async () => {
  const ac = new AbortController();
  // A prompt beyond the server's 256-token context: every request is a 400 whose body says why.
  const workload = { arrivals: { kind: 'closed' as const, clients: 12 }, requests: 12, promptTokens: { kind: 'fixed' as const, tokens: 300 }, outputTokens: { kind: 'fixed' as const, tokens: 4 } };
  await assert.rejects(runLoad({ url: srv.url, seed: 1, workload, signal: ac.signal }), (e: unknown) => e instanceof InputError && /context of 256 tokens/.test(e.message));
  // One listener per client (12) tripped Node's MaxListenersExceededWarning at 11 and outlived the run.
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('the server reports its context in /v1/models; a chat request with two different output limits, or a max_tokens that alone fills the context, is refused naming that field', async () => {
  const models = (await (await fetch(`${srv.url}/v1/models`)).json()) as { data: Array<{ max_model_len?: number }> };
  // --max-context 256 in ARGS; max_model_len is vLLM's name for it.
  assert.equal(models.data[0].max_model_len, 256);
  const post = async (path: string, body: unknown): Promise<{ status: number; body: { error?: { message: string; param: string | null; code: string | null }; usage?: { completion_tokens: number } } }> => {
    const r = await fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as never };
  };
  const messages = [{ role: 'user', content: 'hi' }];
  const both = await post('/v1/chat/completions', { messages, max_tokens: 4, max_completion_tokens: 6 });
  assert.equal(both.status, 400);
  assert.equal(both.body.error?.param, 'max_tokens/max_completion_tokens');
  assert.equal(both.body.error?.message, 'max_tokens/max_completion_tokens must be one of the two, or both equal (they set the same limit); got 4 and 6');
  const same = await post('/v1/chat/completions', { messages, max_tokens: 3, max_completion_tokens: 3 });
  assert.equal(same.status, 200);
  assert.equal(same.body.usage?.completion_tokens, 3);
  // 1e9 output tokens fill the 256-token context alone: max_tokens is the field to fix, not the 2-token prompt (256 − 2 = 254 left).
  const huge = await post('/v1/completions', { prompt: [1, 2], max_tokens: 1e9 });
  assert.equal(huge.status, 400);
  assert.equal(huge.body.error?.param, 'max_tokens');
  assert.equal(huge.body.error?.code, 'context_length_exceeded');
  assert.match(huge.body.error?.message ?? '', /^max_tokens must be at most 254 with this 2-token prompt \(the engine's context of 256 tokens holds prompt and output together\); got 1000000000$/);
  const hugeChat = await post('/v1/chat/completions', { messages, max_completion_tokens: 1e9 });
  assert.equal(hugeChat.status, 400);
  assert.equal(hugeChat.body.error?.param, 'max_completion_tokens');
  assert.match(hugeChat.body.error?.message ?? '', /^max_completion_tokens must be at most \d+ with this/);
});

test('SIGTERM stops the server only after every accepted request has finished', async () => {
  const stream = await client.completions.create({ model: 'batchlab', prompt: [5, 6], max_tokens: 40, stream: true });
  const code = srv.stop('SIGTERM');
  let tokens = 0;
  for await (const chunk of stream) if (chunk.choices.length) tokens += chunk.choices[0].text.trim().split(/\s+/).length;
  assert.equal(tokens, 40);
  assert.equal(await code, 0);
  // What the stop does, in its words: no new requests, the accepted ones (here 1, streaming) to their end.
  assert.ok(srv.output.some((l) => /SIGTERM: closing the port \(new connections are refused, a request on an open one is answered 503\); the 1 accepted requests run to their end, streams included, then the server stops/.test(l)), srv.output.join('\n'));
});
