import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from './run.js';

test('batchlab deploy --framework trtllm prints the inter-token latency and the kernel-table rows that priced it', async () => {
  const r = await run(['deploy', '--framework', 'trtllm', '--model', 'llama-3.1-70b', '--hardware', 'h200', '--tp', '8', '--batch', '1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /inter-token latency [\d.]+ ms at batch 1/);
  // Llama-3.1-70B: 4 weight GEMMs in each of 80 layers plus the LM head (data/models/llama-3.1-70b.json).
  const gemmCalls = [...r.out.matchAll(/gemm: (\d+) (measured|interpolated|extrapolated) calls \(\d+ table rows\) from data\/kernels\/h200_sxm\/trtllm\/[^/]+\/gemm\.csv\.gz/g)].reduce((s, m) => s + Number(m[1]), 0);
  assert.equal(gemmCalls, 4 * 80 + 1);
  assert.match(r.out, /attention: 80 \w+ calls .* from data\/kernels\/h200_sxm\/trtllm\/[^/]+\/generation_attention\.csv\.gz/);
  assert.match(r.out, /allreduce: 160 \w+ calls/);
});

test('batchlab deploy refuses a framework the device has no table for, and --kernel-db without --framework, naming the flag', async () => {
  const a = await run(['deploy', '--framework', 'sglang', '--hardware', 'a100-80gb', '--tp', '4']);
  assert.equal(a.code, 2);
  assert.match(a.err, /^batchlab: --framework must be one the kernel database holds for a100-80gb: trtllm 1\.0\.0/);
  const b = await run(['deploy', '--kernel-db', 'data/kernels']);
  assert.equal(b.code, 2);
  assert.match(b.err, /^batchlab: --framework must be given with --kernel-db/);
  const c = await run(['deploy', '--framework', 'trtllm', '--kernel-db', '/nonexistent']);
  assert.equal(c.code, 2);
  assert.match(c.err, /^batchlab: --kernel-db must be a directory/);
});
