import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from './run.js';

const trace = resolve(import.meta.dirname, '../../data/traces/bursty-chat.csv');

test('batchlab simulate --trace --requests N replays the first N requests of the trace (it replayed all 500)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-sim-'));
  try {
    // The same trace cut to its first 100 data rows by hand: replaying it whole must give the same run.
    const lines = readFileSync(trace, 'utf8').split('\n');
    const header = lines.findIndex((l) => l.startsWith('timestamp'));
    const cut = join(dir, 'first-100.csv');
    writeFileSync(cut, `${lines.slice(0, header + 101).join('\n')}\n`);
    const a = await run(['--json', 'simulate', '--trace', trace, '--requests', '100']);
    const b = await run(['--json', 'simulate', '--trace', cut]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    const ja = JSON.parse(a.out);
    const jb = JSON.parse(b.out);
    assert.equal(ja.requests, 100);
    assert.match(ja.description, /\(100 requests\)/);
    delete ja.description;
    delete jb.description;
    assert.deepEqual(ja, jb);
    // Without --requests the whole trace plays, whatever the Poisson default (1000) is.
    assert.equal(JSON.parse((await run(['--json', 'simulate', '--trace', trace])).out).requests, 500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchlab simulate --trace: --requests beyond the trace, Poisson-only flags and a missing file name the flag', async () => {
  const more = await run(['simulate', '--trace', trace, '--requests', '501']);
  assert.equal(more.code, 2);
  assert.equal(more.err, 'batchlab: --requests must be an integer in [1, 500]; got 501');
  const rate = await run(['simulate', '--trace', trace, '--rate', '5']);
  assert.equal(rate.code, 2);
  assert.match(rate.err, /^batchlab: --rate must be left out with --trace/);
  const missing = await run(['simulate', '--trace', '/nonexistent.csv']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^batchlab: --trace must be a readable CSV file; got "\/nonexistent.csv"/);
});

test('batchlab simulate prints one unit per latency line', async () => {
  const r = await run(['simulate', '--requests', '50']);
  assert.equal(r.code, 0, r.err);
  const ttft = r.out.split('\n').find((l) => l.startsWith('time to first token'))!;
  const e2e = r.out.split('\n').find((l) => l.startsWith('end-to-end latency'))!;
  assert.match(ttft, /^time to first token: p50 [\d.]+ ms, p99 [\d.]+ ms$/);
  assert.match(e2e, /^end-to-end latency: p50 [\d.]+ ms, p99 [\d.]+ ms$/);
  // Every request has 64 output tokens at 20 ms per step: end to end is at least 64 × 20 ms.
  assert.ok(Number(/p50 ([\d.]+) ms/.exec(e2e)![1]) >= 1280);
});
