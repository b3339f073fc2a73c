import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelDbOfRows, kernelRowsFromGemm, loadKernelDb, lookupKernel, writeKernelTable } from '../../lib/kernels/index.js';
import { InputError } from '../../lib/util/errors.js';

const point = (m: number, median: number, extra: Partial<Parameters<typeof kernelRowsFromGemm>[0][number]> = {}) => ({ case: 'sweep', variant: 'plain', m, k: 64, n: 32, batch: 1, calls: 1, dtype: 'fp32', median_s: median, ...extra });

test('kernelRowsFromGemm() keeps plain one-product sweep points at their median time per call', () => {
  const rows = kernelRowsFromGemm([point(1, 2e-5), point(2, 3e-5, { calls: 2 }), point(4, 1e-5, { variant: 'transposed-w' }), point(8, 1e-5, { case: 'dispatch' }), point(16, 1e-5, { batch: 4 })]);
  // 2e-5 s = 20 µs; two calls in 3e-5 s = 15 µs each.
  assert.deepEqual(rows, [
    { dtype: 'fp32', m: 1, n: 32, k: 64, time_us: 20 },
    { dtype: 'fp32', m: 2, n: 32, k: 64, time_us: 15 },
  ]);
});

test('writeKernelTable() merges a new measurement of a shape over the old one, and refuses unsafe names and bad times', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdb-w-'));
  const meta = { device: 'box', framework: 'tfjs-cpu', version: '4.22.0', op: 'gemm' as const };
  writeKernelTable(root, meta, kernelRowsFromGemm([point(1, 2e-5), point(2, 3e-5)]));
  writeKernelTable(root, meta, kernelRowsFromGemm([point(2, 4e-5), point(4, 5e-5)]));
  const t = loadKernelDb(root).table('box', 'tfjs-cpu', 'gemm')!;
  assert.equal(t.rows.length, 3);
  assert.equal(lookupKernel(t, { dtype: 'fp32', m: 2, n: 32, k: 64 })!.seconds, 40e-6);
  assert.throws(() => writeKernelTable(root, { ...meta, device: '../x' }, []), (e: unknown) => e instanceof InputError && e.field === 'device');
  assert.throws(() => writeKernelTable(root, meta, [{ dtype: 'fp32', m: 1, n: 1, k: 1, time_us: -3 }]), (e: unknown) => e instanceof InputError && e.field === 'rows[0].time_us');
  assert.throws(() => writeKernelTable(root, meta, [{ dtype: 'fp32', m: 0, n: 1, k: 1, time_us: 3 }]), (e: unknown) => e instanceof InputError && e.field === 'rows[0].m');
});

test('bench/gpu/torch_gemm_sweep.py writes rows the kernel-database loader accepts', (t) => {
  // The writer needs no GPU and no PyTorch: it is called directly on a measured-row dict.
  const root = mkdtempSync(join(tmpdir(), 'kdb-py-'));
  const code = [
    'import importlib.util, sys',
    "spec = importlib.util.spec_from_file_location('sweep', 'bench/gpu/torch_gemm_sweep.py')",
    'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
    `m.write_kernel_rows(sys.argv[1], 'gpu_x', '2.5.1', [{'dtype': 'bf16', 'm': 4, 'n': 64, 'k': 32, 'median_s': 2.5e-5, 'calls': 1}])`,
  ].join('\n');
  const r = spawnSync('python3', ['-B', '-c', code, root], { encoding: 'utf8' });
  if (r.error) {
    t.skip(`python3 is not available: ${r.error.message}`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const table = loadKernelDb(root).table('gpu_x', 'torch', 'gemm')!;
  // 2.5e-5 s per call = 25 µs.
  assert.equal(lookupKernel(table, { dtype: 'bf16', m: 4, n: 64, k: 32 })!.seconds, 25e-6);
});

test('kernelDbOfRows(): rows held in memory answer lookups as a loaded table of the same rows does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-kdb-mem-'));
  const rows = [
    { dtype: 'fp32', m: 1, n: 2048, k: 2048, time_us: 2000 },
    { dtype: 'fp32', m: 8, n: 2048, k: 2048, time_us: 4000 },
  ];
  const meta = { device: 'cpu-box', framework: 'tfjs-tensorflow', version: '4.22.0', op: 'gemm' as const };
  writeKernelTable(dir, meta, rows);
  const loaded = loadKernelDb(dir).table('cpu-box', 'tfjs-tensorflow', 'gemm')!;
  const mem = kernelDbOfRows('memory', loaded.rows);
  assert.deepEqual(mem.entries.map((e) => [e.device, e.framework, e.version, e.op]), [['cpu-box', 'tfjs-tensorflow', '4.22.0', 'gemm']]);
  const t = mem.table('cpu-box', 'tfjs-tensorflow', 'gemm')!;
  // m = 4 lies between the rows: log-log interpolation, 2000 · 2^(2/3) µs (the slope between 1 and 8 is 1/3).
  const q = { dtype: 'fp32', m: 4, n: 2048, k: 2048 };
  assert.equal(lookupKernel(t, q)!.seconds, lookupKernel(loaded, q)!.seconds);
  assert.ok(Math.abs(lookupKernel(t, q)!.seconds - 2000e-6 * 2 ** (2 / 3)) < 1e-12);
  assert.equal(mem.table('cpu-box', 'tfjs-tensorflow', 'generation_attention'), undefined);
});
