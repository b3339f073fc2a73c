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
  const d = await run(['search', '--spec', 'docs/search-spec.example.json', '--framework', 'nope']);
  assert.equal(d.code, 2);
  assert.match(d.err, /^batchlab: --framework must be one of the frameworks data\/kernels holds: sglang, trtllm, vllm; got "nope"/);
  const c = await run(['deploy', '--framework', 'trtllm', '--kernel-db', '/nonexistent']);
  assert.equal(c.code, 2);
  assert.match(c.err, /^batchlab: --kernel-db must be a directory/);
});

test('batchlab bench gemm writes kernel-database rows, and this machine is then priced from its own table', async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadKernelDb, kernelPricer } = await import('../../lib/kernels/index.js');
  const { loadHardware } = await import('../../lib/hardware/spec.js');
  const { parseGemmCsv } = await import('../../lib/gemm/store.js');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-kdb-'));
  try {
    const r = await run(['bench', 'gemm', '--backend', 'cpu', '--m', '1,2,4', '--k', '8', '--n', '8', '--min-reps', '1', '--min-time-ms', '1', '--out', dir, '--json']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { csv: string; kernelTable: string };
    assert.match(out.kernelTable, /kernels\/[^/]+\/tfjs-cpu\/[^/]+\/gemm\.csv$/);
    // The harness's own CSV is the source: median seconds of the M = 2 point.
    const m2 = parseGemmCsv(readFileSync(out.csv, 'utf8')).find((x) => x.m === 2 && x.dtype === 'fp32')!;
    const hw = loadHardware('this-machine', { measuredDir: dir });
    const k = kernelPricer(loadKernelDb(join(dir, 'kernels')), hw, 'tfjs-cpu');
    const a = k.gemm(2, 8, 8, 'fp32');
    assert.equal(a.kind, 'measured');
    assert.ok(Math.abs(a.seconds - m2.median_s) / m2.median_s < 1e-5, `${a.seconds} vs ${m2.median_s}`);
    assert.equal(k.gemm(3, 8, 8, 'fp32').kind, 'interpolated');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
