import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultKernelDb, kernelPricer } from '../../lib/kernels/index.js';
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
