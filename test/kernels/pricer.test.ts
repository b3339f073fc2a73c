import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultKernelDb, kernelFrameworksOf, kernelPricer, loadKernelDb, lookupKernel, writeKernelTable } from '../../lib/kernels/index.js';
import { loadHardware } from '../../lib/hardware/spec.js';
import { InputError } from '../../lib/util/errors.js';

test('kernelPricer() on a device without tables answers the datasheet roofline, kind bound', () => {
  // H800 (data/hardware/h800.json) is not in the shipped database.
  const hw = loadHardware('h800');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  assert.equal(k.device, undefined);
  const a = k.gemm(4096, 4096, 4096, 'bf16');
  assert.equal(a.kind, 'bound');
  assert.equal(a.rows.length, 0);
  // Closed form: compute-bound, 2·m·n·k / bf16 peak.
  assert.equal(a.seconds, (2 * 4096 ** 3) / hw.peakFlops.bf16!);
  // Memory-bound decode attention: the KV cache (2 · KV heads · head dim · 2 bytes per token) over the bandwidth.
  const g = k.generationAttention({ batch: 8, context: 4096, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' });
  assert.equal(g.kind, 'bound');
  assert.equal(g.seconds, (8 * 4096 * 2 * 128 * 2) / hw.memoryBytesPerSecond);
  // Ring all-reduce at the datasheet link: 2(r−1)/r of the buffer.
  assert.equal(k.allReduce(1e6, 8, 'intra', 'bf16').seconds, ((2 * 7) / 8) * 1e6 / hw.intraNodeBytesPerSecond);
  // A bad size is an InputError naming the query field, never a NaN bound.
  assert.throws(() => k.gemm(Number.NaN, 8, 8, 'bf16'), (e: unknown) => e instanceof InputError && e.field === 'gemm.m');
  assert.throws(() => k.generationAttention({ batch: 1, context: -5, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' }), (e: unknown) => e instanceof InputError && e.field === 'generationAttention.context');
  assert.throws(() => k.gemm(1, 8, 8, 'fp4'), (e: unknown) => e instanceof InputError && e.field === 'dtype');
});

test('kernelPricer() reads the framework the caller names and refuses one the device has no table for', () => {
  const hw = loadHardware('h200');
  const db = defaultKernelDb();
  const t = kernelPricer(db, hw, 'trtllm');
  const s = kernelPricer(db, hw, 'sglang');
  assert.equal(t.device, 'h200_sxm');
  const a = t.allReduce(8192 * 2, 8, 'intra', 'bf16');
  const b = s.allReduce(8192 * 2, 8, 'intra', 'bf16');
  assert.match(a.from, /trtllm/);
  assert.match(b.from, /sglang/);
  assert.notEqual(a.kind, 'bound');
  assert.throws(() => kernelPricer(db, loadHardware('a100-80gb'), 'sglang'), (e: unknown) => e instanceof InputError && e.field === 'framework' && /trtllm 1\.0\.0/.test(e.message));
  // B200's GEMM table holds NVFP4 rows (aiconfigurator's nvfp4 sweep): an NVFP4 GEMM is read from them, not bounded.
  const blackwell = kernelPricer(db, loadHardware('b200'), 'trtllm');
  const f4 = blackwell.gemm(4096, 8192, 8192, 'nvfp4');
  assert.notEqual(f4.kind, 'bound');
  assert.match(f4.from, /b200_sxm/);
  // The datasheet bound of the same GEMM at 9 PFLOPS (NVFP4) sits below the measured time.
  assert.ok(f4.seconds >= (2 * 4096 * 8192 * 8192) / loadHardware('b200').peakFlops.nvfp4!);
  // A dtype no table holds falls back to the bound rather than failing.
  assert.equal(t.generationAttention({ batch: 1, context: 1024, heads: 8, kvHeads: 1, headDim: 128, dtype: 'fp16', kvDtype: 'fp16' }).kind, 'bound');
});

test('kernelFrameworksOf() lists the frameworks whose tables the database holds for a device, none for one it does not hold', () => {
  const db = defaultKernelDb();
  // data/kernels ships h200_sxm under sglang 0.5.14, trtllm 1.3.0rc20 and vllm 0.24.0, h100_sxm under trtllm only, no h800 folder.
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('h200')), ['sglang', 'trtllm', 'vllm']);
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('h100-sxm')), ['trtllm']);
  assert.deepEqual(kernelFrameworksOf(db, loadHardware('h800')), []);
  assert.deepEqual(kernelFrameworksOf(undefined, loadHardware('h200')), []);
  // Every framework it lists is one kernelPricer reads for that device.
  for (const f of kernelFrameworksOf(db, loadHardware('h200'))) assert.equal(kernelPricer(db, loadHardware('h200'), f).device, 'h200_sxm');
});

test("kernelPricer().gemmFp8Static() is the dynamic FP8 GEMM less the activation-quantize passes it skips, as aiconfigurator's fp8_static mode", () => {
  const db = defaultKernelDb();
  const k = kernelPricer(db, loadHardware('h200'), 'trtllm');
  // The measured rows themselves (aiconfigurator commit 095f58a5, h200_sxm trtllm 1.3.0rc20:
  // gemm_perf, quantize/computescale_perf and scale_matrix_perf at m = 1, k = 8192).
  const row = (op: 'gemm' | 'compute_scale' | 'scale_matrix', q: Record<string, string | number>): number => lookupKernel(db.table('h200_sxm', 'trtllm', op)!, q)!.seconds;
  const gemm = row('gemm', { dtype: 'fp8', m: 1, n: 8192, k: 8192 });
  const amax = row('compute_scale', { dtype: 'fp8', m: 1, k: 8192 });
  const convert = row('scale_matrix', { dtype: 'fp8', m: 1, k: 8192 });
  const plain = k.gemmFp8Static(1, 8192, 8192, false);
  assert.equal(plain.seconds, gemm - amax);
  assert.equal(plain.kind, 'measured');
  assert.equal(plain.rows.length, 2);
  assert.equal(k.gemmFp8Static(1, 8192, 8192, true).seconds, gemm - amax - convert);
  // Both passes are real time on this shape: the static kernel is faster than the dynamic one.
  assert.ok(plain.seconds < k.gemm(1, 8192, 8192, 'fp8').seconds);
});

test('kernelPricer().gemmFp8Static() never answers below the GEMM roofline, keeps the dynamic time without quantize tables, and is the roofline on a spec-only device', () => {
  const root = mkdtempSync(join(tmpdir(), 'batchlab-fp8static-'));
  try {
    const meta = { device: 'h200_sxm', framework: 'mine', version: '1' } as const;
    // 15 µs of GEMM less a 10 µs pass would be 5 µs, below the roofline of 8192·8192 FP8 bytes at 4.8 TB/s (data/hardware/h200.json).
    writeKernelTable(root, { ...meta, op: 'gemm' }, [{ dtype: 'fp8', m: 1, n: 8192, k: 8192, time_us: 15 }]);
    const hw = loadHardware('h200');
    const floor = (8192 + 8192 * 8192 + 8192) / hw.memoryBytesPerSecond;
    const noPasses = kernelPricer(loadKernelDb(root), hw, 'mine');
    assert.equal(noPasses.gemmFp8Static(1, 8192, 8192, false).seconds, 15e-6);
    writeKernelTable(root, { ...meta, op: 'compute_scale' }, [{ dtype: 'fp8', m: 1, k: 8192, time_us: 10 }]);
    const k = kernelPricer(loadKernelDb(root), hw, 'mine');
    assert.ok(Math.abs(k.gemmFp8Static(1, 8192, 8192, false).seconds - floor) < 1e-15);
    // A quantized input needs the conversion table too: without it, the dynamic time.
    assert.equal(k.gemmFp8Static(1, 8192, 8192, true).seconds, 15e-6);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const spec = kernelPricer(defaultKernelDb(), loadHardware('h800'), 'trtllm').gemmFp8Static(1, 8192, 8192, true);
  assert.equal(spec.kind, 'bound');
});
