// The official openai Python package (from the project's venv) as an outside client of
// `batchlab serve`, beside the Node one: both see the same completions, chat completions,
// model card, seeded sampling, stop strings and 400s naming the field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { spawnServer } from '../../lib/server/serve.js';
import type { ChildServer } from '../../lib/server/serve.js';
import { requestTimelines } from '../../lib/server/timeline.js';
import type { ServerRunLog } from '../../lib/server/timeline.js';
import { runOutsideLoad } from '../../bench/outside-client.js';

const root = resolve(import.meta.dirname, '..', '..');
const python = join(root, '.venv', 'bin', 'python');
const ARGS = ['--model', 'llama-3.2-1b', '--width', '0.0625', '--depth', '0.125', '--vocab', '0.002', '--max-context', '256', '--seed', '1', '--max-batch', '8'];
let srv: ChildServer | undefined;

before(async () => {
  srv = await spawnServer(ARGS);
});

after(async () => {
  if (srv && srv.child.exitCode === null) await srv.stop('SIGKILL');
});

test('the openai Python package and the Node one get the same answers from batchlab serve', { timeout: 240_000 }, async (t) => {
  const hasClient = existsSync(python) && spawnSync(python, ['-c', 'import openai'], { encoding: 'utf8' }).status === 0;
  if (!hasClient) {
    t.skip('the venv has no openai package; run node scripts/setup.mjs');
    return;
  }
  const r = spawnSync(python, [join(root, 'test', 'e2e', 'openai_client.py'), srv!.url], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  const py = JSON.parse(r.stdout) as {
    version: string;
    completion: string;
    completion_streamed: string;
    completion_streamed_finish: string;
    chat: string;
    chat_object: string;
    chat_streamed: string;
    model: string;
    seeded_equal: boolean;
    stop_finish: string;
    errors: Record<string, { status: number; param: string } | null>;
    concurrent: Array<{ ttft: number; tokens: number }>;
  };
  t.diagnostic(`openai ${py.version}; 8 concurrent AsyncOpenAI streams, TTFT ${py.concurrent.map((c) => (1e3 * c.ttft).toFixed(0)).join(' ')} ms`);
  const node = new OpenAI({ baseURL: `${srv!.url}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 60_000 });
  const prompt = [3, 1, 4, 1, 5, 9, 2, 6];
  const completion = (await node.completions.create({ model: 'batchlab', prompt, max_tokens: 8 })).choices[0].text;
  const chat = (await node.chat.completions.create({ model: 'batchlab', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6 })).choices[0].message.content;
  assert.equal(py.completion, completion);
  assert.equal(py.completion_streamed, completion);
  assert.equal(py.completion_streamed_finish, 'length');
  assert.equal(completion.trim().split(' ').length, 8);
  assert.equal(py.chat, chat);
  assert.equal(py.chat_streamed, chat);
  assert.equal(py.chat_object, 'chat.completion');
  assert.equal(py.model, 'batchlab');
  assert.equal(py.seeded_equal, true);
  assert.equal(py.stop_finish, 'stop');
  for (const field of ['temperature', 'top_p', 'logprobs', 'best_of', 'echo']) assert.deepEqual(py.errors[field], { status: 400, param: field }, field);
  assert.equal(py.concurrent.length, 8);
  assert.ok(py.concurrent.every((c) => c.tokens === 6 && c.ttft > 0), JSON.stringify(py.concurrent));
});

test('the outside load client (bench/outside_load.py) reports its clock on CLOCK_MONOTONIC and each response id, so every TTFT splits into the server\'s parts', { timeout: 240_000 }, async (t) => {
  if (!existsSync(python) || spawnSync(python, ['-c', 'import openai'], { encoding: 'utf8' }).status !== 0) {
    t.skip('the venv has no openai package; run node scripts/setup.mjs');
    return;
  }
  const reset = await fetch(`${srv!.url}/batchlab/reset`, { method: 'POST' });
  assert.equal(reset.status, 200);
  const run = await runOutsideLoad(srv!.url, { arrivals: { kind: 'closed', clients: 2 }, requests: 6, promptTokens: { kind: 'fixed', tokens: 8 }, outputTokens: { kind: 'fixed', tokens: 4 } }, 2);
  const log = (await (await fetch(`${srv!.url}/batchlab/metrics`)).json()) as ServerRunLog;
  assert.ok(run.clientCpuSeconds > 0, `client CPU ${run.clientCpuSeconds} s`);
  const parts = requestTimelines(run, log);
  assert.equal(parts.length, 6, 'every request matched by its response id');
  // Python's perf_counter and the server's clock are both CLOCK_MONOTONIC: a wrong origin would put some part far below 0.
  for (const x of parts) for (const k of ['toHeaders', 'toSubmit', 'toAdmit', 'toFirstToken', 'toClient'] as const) assert.ok(x[k] > -1e-3, `${x.id} ${k} = ${x[k]}`);
});
