import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { runBatchlabCli } from '../../bin/cli.js';

const root = resolve(import.meta.dirname, '../..');
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('batchlab deploy --deepseek-day --json: the published arithmetic and one row per figure', async () => {
  const r = await run(['deploy', '--deepseek-day', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.arithmetic.dailyCostUsd, 87072);
  assert.equal(j.rows.length, 6);
});

test('batchlab deploy: a deployment priced; --local on a setup; bad flags exit 2 naming the field', async () => {
  const a = await run(['deploy', '--model', 'llama-3.1-70b', '--hardware', 'h100-sxm', '--tp', '4', '--batch', '32', '--json']);
  assert.equal(a.code, 0, a.err);
  const j = JSON.parse(a.out);
  // $ per million output tokens = $2.99 / 3600 / (tokens/s per device) × 1e6 (h100-sxm catalog price).
  assert.ok(Math.abs(j.usdPerMillionOutput - (2.99 / 3600 / j.decode.tokensPerSecondPerDevice) * 1e6) < 1e-9);
  const b = await run(['deploy', '--local', 'mac-studio-m3-ultra', '--model', 'deepseek-v3', '--bits', '4.8', '--context', '2048', '--batch', '1']);
  assert.equal(b.code, 0, b.err);
  assert.match(b.out, /tok\/s per user/);
  const c = await run(['deploy', '--tp', '0']);
  assert.equal(c.code, 2);
  assert.match(c.err, /layout\.tensorParallel/);
  const d = await run(['deploy', '--model', 'deepseek-v3', '--hardware', 'h800', '--dp', '144', '--ep', '144', '--redundant', '32', '--precision', 'fp8,bf16,fp8,bf16', '--batch', '64', '--simulate', '--rate', '0', '--json']);
  assert.equal(d.code, 2);
  assert.match(d.err, /ratePerSecond/);
});

test('batchlab search --spec --brute-force --json: the optimum agrees with brute force', async () => {
  const r = await run(['search', '--spec', join(root, 'docs', 'search-spec.example.json'), '--brute-force', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.agrees, true);
  assert.ok(j.best.tpotSeconds <= 0.04 && j.best.ttftSeconds <= 1);
  const bad = await run(['search', '--spec', join(root, 'no-such.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--spec/);
});
