import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBatchlabCli } from '../../bin/cli.js';
import { policyFromFlags } from '../../bin/commands/serve.js';

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
  return { code, out, err };
}

test('batchlab load needs exactly one of --rate and --clients (exit 2, naming both)', async () => {
  for (const args of [['load'], ['load', '--rate', '2', '--clients', '3']]) {
    const r = await run(args);
    assert.equal(r.code, 2);
    assert.match(r.err.join('\n'), /--rate\/--clients must be exactly one of --rate \(open loop\) and --clients \(closed loop\)/);
  }
  const bad = await run(['load', '--rate', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.err.join('\n'), /--rate/);
});

test('batchlab serve flags build the policy its module validates', async () => {
  assert.deepEqual(policyFromFlags({ policy: 'window', maxBatch: '8', windowMs: '20' }), { kind: 'window', maxBatch: 8, windowMs: 20 });
  assert.deepEqual(policyFromFlags({ policy: 'chunked', maxBatch: '8', windowMs: '20', tokenBudget: '64' }), { kind: 'chunked', maxBatch: 8, tokenBudget: 64 });
  const r = await run(['serve', '--policy', 'chunked', '--max-batch', '8']);
  assert.equal(r.code, 2);
  assert.match(r.err.join('\n'), /--token-budget/);
  const p = await run(['serve', '--policy', 'fifo']);
  assert.equal(p.code, 2);
  assert.match(p.err.join('\n'), /static, window, continuous, chunked/);
});
