import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepTime } from '../../lib/roofline/deployment.js';
import { defaultKernelDb, kernelPricer } from '../../lib/kernels/index.js';
import { loadHardware } from '../../lib/hardware/spec.js';
import { loadModel } from '../../lib/models/spec.js';

const llama = loadModel('llama-3.1-70b');
const DECODE = { prefillTokens: 0, decodeTokens: 16, contextTokens: 16 * 2048 };
const PREFILL = { prefillTokens: 4096, decodeTokens: 0, contextTokens: 0, prefillSequences: 2 };

test('stepTime() with the kernel database switched off and at full efficiency reproduces the datasheet roofline exactly', () => {
  const hw = loadHardware('h200');
  for (const work of [DECODE, PREFILL]) {
    for (const tp of [2, 8]) {
      const spec = stepTime(llama, hw, { parallelism: { tp }, efficiency: 'spec' }, work);
      const off = stepTime(llama, hw, { parallelism: { tp }, efficiency: 'spec', framework: 'trtllm', kernelDb: false }, work);
      assert.equal(off.seconds, spec.seconds);
      assert.deepEqual(off.breakdown, spec.breakdown);
      // Every op says it was priced by the model, none by a table.
      assert.ok(off.kernels!.every((u) => u.kind === 'spec' && u.rows === 0));
    }
  }
  // A device the database does not hold (H800) is the same roofline with the database on.
  const h800 = loadHardware('h800');
  const spec = stepTime(llama, h800, { parallelism: { tp: 8 }, efficiency: 'spec' }, DECODE);
  assert.equal(stepTime(llama, h800, { parallelism: { tp: 8 }, efficiency: 'spec', framework: 'trtllm' }, DECODE).seconds, spec.seconds);
});

test("stepTime() with framework 'trtllm' prices each layer's GEMMs, decode attention and all-reduces from the tables", () => {
  const hw = loadHardware('h200');
  const t = stepTime(llama, hw, { parallelism: { tp: 8 }, framework: 'trtllm' }, DECODE);
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  // Llama-3.1-70B config.json: hidden 8192, 64 heads, 8 KV heads of 128, FFN 28672, 80 layers, vocab 128256; TP8 splits N.
  const B = 16;
  const perLayer =
    k.gemm(B, (10240 / 8), 8192, 'bf16').seconds + k.gemm(B, 8192 / 8, 8192, 'bf16').seconds + k.gemm(B, (2 * 28672) / 8, 8192, 'bf16').seconds + k.gemm(B, 8192 / 8, 28672, 'bf16').seconds;
  const lmHead = k.gemm(B, 128256 / 8, 8192, 'bf16').seconds;
  // The embedding gather stays with the calibrated model: 16 rows of 8192 read and written in bf16,
  // split 8 ways, at 0.69 of 4.8 TB/s (data/hardware/h200.json memoryEfficiency, memoryBytesPerSecond).
  const embed = (2 * 16 * 8192 * 2) / 8 / (4.8e12 * 0.69);
  const gemm = 80 * perLayer + lmHead + embed;
  assert.ok(Math.abs(t.breakdown.gemmSeconds - gemm) / gemm < 1e-12, `${t.breakdown.gemmSeconds} vs ${gemm}`);
  const attn = 80 * k.generationAttention({ batch: B, context: 2048, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' }).seconds;
  assert.ok(Math.abs(t.breakdown.attentionSeconds - attn) / attn < 1e-12);
  // Two all-reduces of the hidden state per layer.
  const ar = 160 * k.allReduce(B * 8192 * 2, 8, 'intra', 'bf16').seconds;
  assert.ok(Math.abs(t.breakdown.tensorParallelSeconds - ar) / ar < 1e-12);
  const gemmUsage = t.kernels!.filter((u) => u.op === 'gemm');
  assert.equal(gemmUsage.reduce((s, u) => s + u.calls, 0), 4 * 80 + 1);
  assert.ok(gemmUsage.every((u) => u.from.endsWith('h200_sxm/trtllm/1.3.0rc20/gemm.csv.gz')));
});
