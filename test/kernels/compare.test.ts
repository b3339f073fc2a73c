import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultKernelDb, kernelDbOfRows, kernelTableAgreement, loadKernelDb } from '../../lib/kernels/index.js';
import type { KernelRow } from '../../lib/kernels/index.js';
import { InputError } from '../../lib/util/errors.js';

const row = (m: number, timeUs: number, framework = 'a'): KernelRow => ({ device: 'd', framework, version: '1', op: 'gemm', dims: { dtype: 'bf16', m, n: 8, k: 8 }, dtype: 'bf16', timeUs, source: { file: 'x.csv', line: m + 1 } });

test('kernelTableAgreement() pairs exact shapes only and reports the ratios\' median and deciles', () => {
  const db = kernelDbOfRows('mem', [row(1, 10), row(2, 20), row(4, 40), row(3, 30), row(1, 5, 'b'), row(2, 10, 'b'), row(4, 20, 'b'), row(8, 1, 'b')]);
  const a = kernelTableAgreement(db.table('d', 'a', 'gemm')!, db.table('d', 'b', 'gemm')!);
  // m = 3 and m = 8 are in one table only; every shared shape is twice as slow in 'a'.
  assert.equal(a.pairs.length, 3);
  assert.deepEqual([a.median, a.p10, a.p90], [2, 2, 2]);
  assert.equal(kernelTableAgreement(db.table('d', 'a', 'gemm')!, db.table('d', 'b', 'gemm')!, (d) => d.m === 16).median, undefined);
  const other = kernelDbOfRows('mem', [{ ...row(1, 1), op: 'compute_scale', dims: { dtype: 'fp8', m: 1, k: 8 } }]);
  assert.throws(() => kernelTableAgreement(db.table('d', 'a', 'gemm')!, other.table('d', 'a', 'compute_scale')!), (e: unknown) => e instanceof InputError && e.field === 'reference.op');
});

test("the shipped aiconfigurator H200 bf16 GEMM rows agree with PyTorch's on another H200 within 15 % at the median", () => {
  // Independent measurements of the same shapes: aiconfigurator's collectors (data/kernels,
  // TensorRT-LLM, vLLM and SGLang on H200 SXM) and bench/gpu/kernel_tables.py's F.linear on
  // an NVIDIA H200 (data/examples/measured/kernels). Measured medians: 0.948 (vLLM), 0.968 (SGLang),
  // 0.981 (TensorRT-LLM) over 112 shapes each (bench/measured-steps.ts).
  const torch = loadKernelDb('data/examples/measured/kernels').table('h200_sxm', 'torch', 'gemm')!;
  for (const fw of ['trtllm', 'vllm', 'sglang']) {
    const a = kernelTableAgreement(defaultKernelDb().table('h200_sxm', fw, 'gemm')!, torch, (d) => d.dtype === 'bf16');
    assert.ok(a.pairs.length >= 100, `${fw}: ${a.pairs.length} shared shapes`);
    assert.ok(a.median! >= 0.85 && a.median! <= 1.15, `${fw}: median ${a.median}`);
  }
});
