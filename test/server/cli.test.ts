import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
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

test('batchlab serve refuses the flags its policy or mode would not read, each naming the flag and why (they were ignored)', async () => {
  // Which policy reads which flag: lib/batching/policies (window and static read windowMs, chunked tokenBudget, continuous neither).
  const cases: Array<[string[], string]> = [
    [['--policy', 'continuous', '--token-budget', '64'], 'batchlab: --token-budget must be given only with --policy chunked (the continuous policy does not read it); got "64"'],
    [['--policy', 'window', '--token-budget', '64'], 'batchlab: --token-budget must be given only with --policy chunked (the window policy does not read it); got "64"'],
    [['--policy', 'continuous', '--window-ms', '5'], 'batchlab: --window-ms must be given only with --policy static or window (the continuous policy does not read it); got "5"'],
    [['--policy', 'chunked', '--token-budget', '64', '--window-ms', '5'], 'batchlab: --window-ms must be given only with --policy static or window (the chunked policy does not read it); got "5"'],
    [['--calibrate-reps', '3'], 'batchlab: --calibrate-reps must be given only with --calibrate (it shapes the step-cost calibration, which runs only then); got "3"'],
    [['--calibrate-max-prompt', '64'], 'batchlab: --calibrate-max-prompt must be given only with --calibrate (it shapes the step-cost calibration, which runs only then); got "64"'],
    [['--calibrate-burst'], 'batchlab: --calibrate-burst must be given only with --calibrate (it shapes the step-cost calibration, which runs only then); got true'],
    // It was clamped to the context silently; --max-context defaults to 1024.
    [['--calibrate', '--calibrate-max-prompt', '5000'], 'batchlab: --calibrate-max-prompt must be an integer in [1, 1024] (at most --max-context, the longest sequence the server runs); got 5000'],
    [['--calibrate', '--max-context', '64', '--calibrate-max-prompt', '65'], 'batchlab: --calibrate-max-prompt must be an integer in [1, 64] (at most --max-context, the longest sequence the server runs); got 65'],
    // static's window starts at 0.001 ms (lib/batching/policies/static.ts, MIN_WINDOW_MS); it failed only after the model was built.
    [['--policy', 'static', '--window-ms', '0'], 'batchlab: --window-ms must be a finite number in [0.001, 3600000]; got 0'],
    // chunked's budget is at least maxBatch (lib/batching/policies/chunked.ts).
    [['--policy', 'chunked', '--max-batch', '16', '--token-budget', '8'], 'batchlab: --token-budget must be an integer in [16, 10000000]; got 8'],
  ];
  // A port in use: a case that got past the flag checks fails there, naming --port, instead of serving.
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  try {
    for (const [args, message] of cases) {
      const r = await run(['serve', '--port', String((busy.address() as AddressInfo).port), ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.deepEqual(r.err, [message], args.join(' '));
      // Nothing was built: choosing a backend is the first thing a build prints.
      assert.equal(r.out.length, 0, r.out.join('\n'));
    }
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  }
  // The same flags where their policy or mode reads them pass the checks.
  assert.deepEqual(policyFromFlags({ policy: 'window', maxBatch: '8', windowMs: '0', typed: ['--window-ms'] }), { kind: 'window', maxBatch: 8, windowMs: 0 });
  assert.deepEqual(policyFromFlags({ policy: 'continuous', maxBatch: '8', windowMs: '20' }), { kind: 'continuous', maxBatch: 8 });
});

test('batchlab serve --calibrate on a port in use is refused naming --port before the engine is built (it calibrated first)', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const r = await run(['serve', '--model', 'llama-3.2-1b', '--width', '0.0625', '--depth', '0.125', '--vocab', '0.002', '--max-context', '64', '--port', String(port), '--calibrate', '--calibrate-reps', '1', '--calibrate-max-prompt', '8']);
    assert.equal(r.code, 2, r.err.join('\n'));
    assert.deepEqual(r.err, [`batchlab: --port must be a port free on 127.0.0.1 that this user may bind (0: any free port); got ${port} (listen EADDRINUSE: address already in use 127.0.0.1:${port})`]);
    // No backend chosen, no engine, no calibration: those print their lines first.
    assert.deepEqual(r.out, []);
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  }
});
