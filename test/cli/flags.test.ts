import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from './run.js';

// Each refusal names the flag the user typed (not the library field it feeds) with the allowed range.
const CASES: Array<[string[], string]> = [
  [['pipeline', '--layers', '3', '--stages', '4'], 'batchlab: --layers must be at least --stages × --chunks = 4; got 3 (every virtual stage needs a layer)'],
  [['roofline', '--model', 'nope'], 'batchlab: --model must be a catalog id (deepseek-v3, '],
  [['roofline', '--hardware', 'nope'], 'batchlab: --hardware must be a catalog id (a100-80gb, '],
  [['deploy', '--hardware', 'nope'], 'batchlab: --hardware must be a catalog id (a100-80gb, '],
  [['deploy', '--model', './missing/config.json'], 'batchlab: --model must be a catalog id (deepseek-v3, '],
  [['deploy', '--hardware', '/dev/zero'], 'batchlab: --hardware must be a hardware JSON file of at most 4194304 bytes; got "/dev/zero" (it is a character device, not a regular file)'],
  [['deploy', '--usd-per-hour', '-1'], 'batchlab: --usd-per-hour must be a number in [0, 1000000]; got "-1"'],
  // Search ranks by money: at $0 every configuration ties (it used to answer 281 devices at batch 1 for $0).
  [['search', '--spec', 'docs/search-spec.example.json', '--usd-per-hour', '0'], 'batchlab: --usd-per-hour must be a number in (0, 1000000]; got "0"'],
  [['deploy', '--local', 'nope'], 'batchlab: --local must be one of '],
  // A seed is an integer (1.5 and -1 ran, each with its own percentiles).
  [['deploy', '--simulate', '--rate', '1', '--seed', '1.5'], 'batchlab: --seed must be an integer in [0, 4294967295]; got "1.5"'],
  [['simulate', '--seed', '-1'], 'batchlab: --seed must be an integer in [0, 4294967295]; got -1'],
  // A dtype the calibration does not price names --precision and the way around it (it named calibration.gemmEfficiency.int8).
  [['simulate', '--model', 'llama-3.1-8b', '--hardware', 'h100-sxm', '--precision', 'int8'], 'batchlab: --precision must be a dtype h100-sxm\'s calibration prices (fp8, bf16, fp16), or give --efficiency typical or spec to price int8 without it; got "int8"'],
  // A dtype the hardware has no peak for names the flag that gave it (it named the library's "dtype").
  [['deploy', '--model', 'gpt-oss-120b', '--hardware', 'h200', '--tp', '1', '--precision', 'nvfp4'], 'batchlab: --precision must be one of fp32, tf32, bf16, fp16, fp8, int8; got "nvfp4" (NVIDIA H200 SXM 141GB has no nvfp4 peak; to store nvfp4 weights and compute in bf16, as weight-only quantization runs, give --precision nvfp4,bf16,bf16,bf16 --compute bf16)'],
  [['bench', 'attention', '--heads', '8', '--kv-heads', '3'], 'batchlab: --kv-heads must be a divisor of --heads (8); got 3'],
  [['bench', 'attention', '--trace', '/nonexistent.csv'], 'batchlab: --trace must be a readable CSV file; got "/nonexistent.csv"'],
  // "0x10" is 16 to Number(): a typo must not become another number.
  [['bench', 'attention', '--heads', '0x10'], 'batchlab: --heads must be an integer in [1, 1024]; got "0x10"'],
  [['bench', 'attention', '--trace', 'data/traces/bursty-chat.csv', '--trace-scale', '2'], 'batchlab: --trace-scale must be a number in (0, 1]; got "2"'],
  // Commander answered a mistyped command with --help by the top-level help and exit 0.
  [['nosuch', '--help'], 'batchlab: command must be one of bench, simulate, '],
  [['bench', 'nosuch', '--help'], 'batchlab: bench command must be one of gemm, attention; got "nosuch"'],
  [['bench', 'attention', '--trace-scale', '-1'], 'batchlab: --trace-scale must be given with --trace (it scales the trace\'s contexts); got "-1"'],
  // The roofline's parallelism.tp, which deploy's --tp feeds.
  [['deploy', '--model', 'llama-3.1-70b', '--tp', '3'], 'batchlab: --tp must be a divisor of the 64 attention heads of llama-3.1-70b'],
  [['serve', '--model', 'nope'], 'batchlab: --model must be a catalog model id'],
  [['serve', '--width', '0'], 'batchlab: --width must be a number in (0, 1]; got "0"'],
  [['serve', '--max-batch', '0x10'], 'batchlab: --max-batch must be an integer in [1, 4096]; got "0x10"'],
  [['load', '--rate', '0x10'], 'batchlab: --rate must be a number in [0.000001, 1000000]; got "0x10"'],
];

test('batchlab: refusals name the flag the user typed, with its range', async () => {
  for (const [args, start] of CASES) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err.split('\n').length, 1, r.err);
    assert.ok(r.err.startsWith(start), `${args.join(' ')}: ${r.err}`);
  }
});

test('pipeline and moe refusals name their flags (they said "flows × passes × stages × chunks" and "tokens")', async () => {
  const p = await run(['pipeline', '--layers', '100000', '--stages', '4096', '--micro-batches', '4096', '--chunks', '16', '--ticks', '64']);
  assert.equal(p.code, 2);
  assert.equal(p.err, 'batchlab: --micro-batches × --ticks × --stages × --chunks must be at most 1000000; got 17179869184 (fewer micro-batches, ticks, stages or chunks)');
  const m = await run(['moe', '--tokens', '1000000', '--experts', '65536', '--top-k', '65536']);
  assert.equal(m.code, 2);
  assert.match(m.err, /^batchlab: --tokens must be at most 30517 /);
});
