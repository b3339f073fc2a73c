import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepTime } from '../../lib/roofline/deployment.js';
import { KernelTally, NO_WIDE_EP_MOE_TABLE, contextAttentionCall, eplbMoeTokens, kernelOpSeconds, largeExpertParallel, moeRoutingDistribution, sharedExpertsOverlapRouted } from '../../lib/roofline/kernel-step.js';
import { uniformRoutingLoadFactor } from '../../lib/roofline/routing.js';
import { modelStepOps } from '../../lib/models/ops.js';
import { prefillAttentionPairs } from '../../lib/core/matmul.js';
import { defaultKernelDb, kernelDbOfRows, kernelPricer } from '../../lib/kernels/index.js';
import type { KernelRow } from '../../lib/kernels/index.js';
import { loadHardware } from '../../lib/hardware/spec.js';
import { loadModel } from '../../lib/models/spec.js';
import { InputError } from '../../lib/util/errors.js';

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
  // A device the database does not hold (MI300X, which borrows no tables) is the same roofline with the database on.
  const mi300x = loadHardware('mi300x');
  const spec = stepTime(llama, mi300x, { parallelism: { tp: 8 }, efficiency: 'spec' }, DECODE);
  assert.equal(stepTime(llama, mi300x, { parallelism: { tp: 8 }, efficiency: 'spec', framework: 'trtllm' }, DECODE).seconds, spec.seconds);
});

test("stepTime() on H800 with tables: GEMMs and attention are H100 SXM's rows, the usage names the borrowing, all-reduces are the calibrated model over H800's links", () => {
  const h800 = loadHardware('h800');
  const h100 = loadHardware('h100-sxm');
  const cfg = { parallelism: { tp: 8 }, framework: 'trtllm' };
  const a = stepTime(llama, h800, cfg, DECODE);
  const b = stepTime(llama, h100, cfg, DECODE);
  // Same tables, same datasheet peaks and bandwidth (data/hardware/h800.json and h100-sxm.json): the same kernel seconds.
  assert.equal(a.breakdown.gemmSeconds, b.breakdown.gemmSeconds);
  assert.equal(a.breakdown.attentionSeconds, b.breakdown.attentionSeconds);
  // H100 SXM reads its all-reduce table; H800 does not, and its 200 GB/s NVLink (against 450 GB/s) costs more.
  assert.ok(a.breakdown.tensorParallelSeconds > b.breakdown.tensorParallelSeconds, `${a.breakdown.tensorParallelSeconds} vs ${b.breakdown.tensorParallelSeconds}`);
  const usage = a.kernels!;
  const tables = usage.filter((u) => u.rows > 0);
  assert.ok(tables.some((u) => u.op === 'gemm') && tables.some((u) => u.op === 'attention'));
  for (const u of tables) assert.match(u.from, /^data\/kernels\/h100_sxm\/trtllm\/[^ ]+ \(h800 borrows h100-sxm's compute and memory kernel tables: same datasheet compute and memory figures\)$/, u.op);
  const ar = usage.filter((u) => u.op === 'allreduce');
  // Two all-reduces in each of Llama-3.1-70B's 80 layers (data/models/llama-3.1-70b.json), none from a table.
  assert.deepEqual(ar.map((u) => [u.kind, u.from, u.calls, u.rows]), [['calibrated', 'NVIDIA H800 SXM5 80GB performance model (calibrated)', 160, 0]]);
  assert.ok(b.kernels!.some((u) => u.op === 'allreduce' && u.rows > 0 && /h100_sxm/.test(u.from)));
});

test("stepTime() with framework 'trtllm' prices each layer's GEMMs, decode attention and all-reduces from the tables", () => {
  const hw = loadHardware('h200');
  const t = stepTime(llama, hw, { parallelism: { tp: 8 }, framework: 'trtllm' }, DECODE);
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  // Llama-3.1-70B config.json: hidden 8192, 64 heads, 8 KV heads of 128, FFN 28672, 80 layers, vocab 128256; TP8 splits N of the column-parallel projections and K of the row-parallel o_proj and down_proj.
  const B = 16;
  const perLayer =
    k.gemm(B, (10240 / 8), 8192, 'bf16').seconds + k.gemm(B, 8192, 8192 / 8, 'bf16').seconds + k.gemm(B, (2 * 28672) / 8, 8192, 'bf16').seconds + k.gemm(B, 8192, 28672 / 8, 'bf16').seconds;
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

test('contextAttentionCall() reads whole prompts, a steady-state share of one prompt and a chunk after a cached prefix in closed form', () => {
  // Two whole 2,048-token prompts: one call of batch 2, paid in full.
  assert.deepEqual(contextAttentionCall({ P: 4096, S: 2 }), { batch: 2, prompt: 2048, prefix: 0, share: 1 });
  // One 1,000-token prompt every 10.4 steps: 96 tokens and 0.096 of its 1000·1001/2 pairs per mean step.
  const share = contextAttentionCall({ P: 96, S: 0.096, pairs: 0.096 * prefillAttentionPairs(1000, 0) });
  assert.equal(share.batch, 1);
  assert.ok(Math.abs(share.prompt - 1000) < 1e-9 && share.prefix === 0 && Math.abs(share.share - 0.096) < 1e-12, JSON.stringify(share));
  // A 2,048-token chunk after 2,048 cached tokens: aiconfigurator's prefix correction (4096² − 2048²) / 4096² = 0.75.
  const chunk = contextAttentionCall({ P: 2048, S: 1, pairs: prefillAttentionPairs(2048, 2048) });
  assert.ok(chunk.batch === 1 && chunk.prompt === 2048 && Math.abs(chunk.prefix - 2048) < 1e-9 && Math.abs(chunk.share - 0.75) < 1e-12, JSON.stringify(chunk));
  // Fewer pairs than fresh prompts imply (5,050 for 100 tokens) only scale the call down.
  assert.deepEqual(contextAttentionCall({ P: 100, S: 1, pairs: 2000 }), { batch: 1, prompt: 100, prefix: 0, share: 2000 / 5050 });
});

test("stepTime() with framework 'trtllm' charges a step holding a share of one prompt that share of the whole prompt's context-attention kernel, never a short prompt's fixed cost scaled up", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  // Llama-3.1-70B config.json: 80 layers, 64 heads, 8 KV heads of 128; TP1 keeps them all on one device.
  const ctx = (batch: number, prompt: number): number => k.contextAttention({ batch, prompt, heads: 64, kvHeads: 8, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' }).seconds;
  const attention = (work: Parameters<typeof stepTime>[3]): number => stepTime(llama, hw, { parallelism: { tp: 1 }, framework: 'trtllm', checkMemory: false }, work).breakdown.attentionSeconds;
  const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) / b < 1e-9, `${what}: ${a} vs ${b}`);
  // Offline steady state at 1000 in / 1000 out with 96 sequences: 0.096 prompts per step.
  const S = 0.096;
  near(attention({ prefillTokens: 96, decodeTokens: 0, contextTokens: 0, prefillSequences: S, prefillAttentionPairs: S * prefillAttentionPairs(1000, 0) }), 80 * S * ctx(1, 1000), 'share of one prompt');
  // The same share priced as a 96-token prompt scaled by its pair ratio (≈ 10.4×) would cost several times more.
  assert.ok(80 * ctx(1, 96) * ((S * prefillAttentionPairs(1000, 0)) / prefillAttentionPairs(96, 0)) > 5 * 80 * S * ctx(1, 1000));
  // 2.5 prompts per mean step: 3 whole prompts in one call, 2.5 / 3 of it paid.
  near(attention({ prefillTokens: 2500, decodeTokens: 0, contextTokens: 0, prefillSequences: 2.5 }), 80 * (2.5 / 3) * ctx(3, 1000), 'mean of 2.5 prompts');
  // A 2,048-token chunk after 2,048 cached tokens: the call at 4,096 tokens, 0.75 of it.
  near(attention({ prefillTokens: 2048, decodeTokens: 0, contextTokens: 0, prefillSequences: 1, prefillAttentionPairs: prefillAttentionPairs(2048, 2048) }), 80 * 0.75 * ctx(1, 4096), 'chunk after a prefix');
  // Whole prompts are the table's own call.
  near(attention(PREFILL), 80 * ctx(2, 2048), 'two whole prompts');
});

test("stepTime() with framework 'trtllm' prices a GEMM of an expected row count below one as that share of a one-row call", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  const gemm = (S: number): number =>
    stepTime(llama, hw, { parallelism: { tp: 8 }, framework: 'trtllm', checkMemory: false }, { prefillTokens: 96, decodeTokens: 0, contextTokens: 0, prefillSequences: S }).breakdown.gemmSeconds;
  // A prefill-only step runs the LM head on each prompt's last token: 0.096 of one row, vs one whole row at S = 1
  // (vocab 128256 split 8 ways, hidden 8192, config.json); every other GEMM sees the same 96 rows.
  const lmHead = k.gemm(1, 128256 / 8, 8192, 'bf16').seconds;
  const d = gemm(1) - gemm(0.096);
  assert.ok(Math.abs(d - (1 - 0.096) * lmHead) / lmHead < 1e-9, `${d} vs ${(1 - 0.096) * lmHead}`);
});

test("stepTime() with framework 'trtllm' prices FP8 weight GEMMs from the fp8 table and the LM head from the 16-bit one, as aiconfigurator does, even when attention runs in FP8", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  // aiconfigurator's logits GEMM is bfloat16 whatever the precision (models/llama.py:129-136 and 191-197, GEMMQuantMode.bfloat16, commit 095f58a5).
  for (const attention of ['bf16', 'fp8'] as const) {
    const t = stepTime(llama, hw, { parallelism: { tp: 8 }, precision: { weights: 'fp8', activations: attention, kvCache: attention }, framework: 'trtllm' }, DECODE);
    // Llama-3.1-70B config.json shapes split 8 ways, 16 rows (the decode batch).
    const perLayer = k.gemm(16, 10240 / 8, 8192, 'fp8').seconds + k.gemm(16, 8192, 8192 / 8, 'fp8').seconds + k.gemm(16, (2 * 28672) / 8, 8192, 'fp8').seconds + k.gemm(16, 8192, 28672 / 8, 'fp8').seconds;
    const lmHead16 = k.gemm(16, 128256 / 8, 8192, 'bf16').seconds;
    const lmHead8 = k.gemm(16, 128256 / 8, 8192, 'fp8').seconds;
    // What is left is the embedding gather (a few nanoseconds), far below the two LM heads' gap.
    const rest = t.breakdown.gemmSeconds - 80 * perLayer - lmHead16;
    assert.ok(rest >= 0 && rest < Math.abs(lmHead16 - lmHead8) / 100, `${attention} attention: rest ${rest} vs LM head gap ${lmHead16 - lmHead8}`);
  }
});

test("stepTime() with fp8Scaling 'static' prices FP8 GEMMs without the activation-quantize passes, the conversion too where the input arrives in FP8", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  const config = { parallelism: { tp: 8 }, precision: { weights: 'fp8', activations: 'bf16', kvCache: 'bf16' }, framework: 'trtllm' } as const;
  const t = stepTime(llama, hw, { ...config, fp8Scaling: 'static' }, DECODE);
  // Llama-3.1-70B config.json shapes split 8 ways (N, or K for the row-parallel o_proj and down_proj); o_proj and down_proj read FP8 written by the kernel before them
  // (aiconfigurator models/llama.py low_precision_input).
  const perLayer =
    k.gemmFp8Static(16, 10240 / 8, 8192, false).seconds + k.gemmFp8Static(16, 8192, 8192 / 8, true).seconds + k.gemmFp8Static(16, (2 * 28672) / 8, 8192, false).seconds + k.gemmFp8Static(16, 8192, 28672 / 8, true).seconds;
  const lmHead = k.gemm(16, 128256 / 8, 8192, 'bf16').seconds;
  const rest = t.breakdown.gemmSeconds - 80 * perLayer - lmHead;
  // What is left is the embedding gather, nanoseconds.
  assert.ok(rest >= 0 && rest < 1e-7, `rest ${rest}`);
  assert.ok(t.breakdown.gemmSeconds < stepTime(llama, hw, config, DECODE).breakdown.gemmSeconds);
  assert.throws(() => stepTime(llama, hw, { ...config, fp8Scaling: 'per-channel' as never }, DECODE), /fp8Scaling/);
});

test("stepTime() with fp8Scaling 'block' prices FP8 weight GEMMs from the fp8_block table (DeepSeek-style 128-wide blocks)", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  const t = stepTime(llama, hw, { parallelism: { tp: 8 }, precision: { weights: 'fp8', activations: 'bf16', kvCache: 'bf16' }, framework: 'trtllm', fp8Scaling: 'block' }, DECODE);
  // Llama-3.1-70B config.json shapes split 8 ways, 16 rows.
  const perLayer = k.gemm(16, 10240 / 8, 8192, 'fp8_block').seconds + k.gemm(16, 8192, 8192 / 8, 'fp8_block').seconds + k.gemm(16, (2 * 28672) / 8, 8192, 'fp8_block').seconds + k.gemm(16, 8192, 28672 / 8, 'fp8_block').seconds;
  const rest = t.breakdown.gemmSeconds - 80 * perLayer - k.gemm(16, 128256 / 8, 8192, 'bf16').seconds;
  assert.ok(rest >= 0 && rest < 1e-7, `rest ${rest}`);
});

test("stepTime() with an FP8 KV cache reads the attention tables' kv_dtype fp8 rows (16-bit FMHA over an FP8 cache), not the 16-bit cache's", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  const config = { parallelism: { tp: 8 }, precision: { weights: 'fp8', activations: 'bf16', kvCache: 'fp8' }, framework: 'trtllm' } as const;
  // Decode: Llama-3.1-70B config.json, 64 heads and 8 KV heads of 128 split 8 ways, 16 sequences of 2,048 cached tokens, 80 layers.
  const decode = stepTime(llama, hw, config, DECODE);
  const gen = k.generationAttention({ batch: 16, context: 2048, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'fp8' });
  assert.notEqual(gen.kind, 'bound');
  assert.ok(gen.rows.length > 0 && gen.rows.every((r) => r.dims.kv_dtype === 'fp8' && r.dims.dtype === 'bf16'));
  assert.ok(Math.abs(decode.breakdown.attentionSeconds - 80 * gen.seconds) / (80 * gen.seconds) < 1e-12);
  const usage = decode.kernels!.filter((u) => u.op === 'attention');
  assert.ok(usage.length > 0 && usage.every((u) => u.from.endsWith('h200_sxm/trtllm/1.3.0rc20/generation_attention.csv.gz')));
  // An FP8 cache reads half the bytes of a 16-bit one: the measured kernel is faster (table rows, not a formula).
  const gen16 = k.generationAttention({ batch: 16, context: 2048, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' });
  assert.ok(gen.seconds < gen16.seconds, `${gen.seconds} vs ${gen16.seconds}`);
  // Prefill: two prompts of 2,048 tokens in one context-attention call per layer, 16-bit FMHA over the FP8 cache.
  const prefill = stepTime(llama, hw, config, PREFILL);
  const ctx = k.contextAttention({ batch: 2, prompt: 2048, heads: 8, kvHeads: 1, headDim: 128, dtype: 'bf16', kvDtype: 'fp8' });
  assert.ok(ctx.rows.length > 0 && ctx.rows.every((r) => r.dims.kv_dtype === 'fp8' && r.dims.dtype === 'bf16'));
  assert.ok(Math.abs(prefill.breakdown.attentionSeconds - 80 * ctx.seconds) / (80 * ctx.seconds) < 1e-12);
});

// DeepSeek-V3 config.json: 61 layers, the first 3 dense (first_k_dense_replace), 128 heads,
// 256 routed experts of moe_intermediate_size 2048, top-8, hidden 7168; FP8 in 128-wide blocks.
const dsv3 = loadModel('deepseek-v3');
const FP8 = { weights: 'fp8', activations: 'bf16', kvCache: 'bf16' } as const;

test("stepTime() prices DeepSeek-V3's routed experts, MLA attention and absorbed decode matmuls on H200 from trtllm's MoE, MLA and MLA BMM tables, and lists them in its kernel usage", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  const config = { parallelism: { tp: 8 }, precision: FP8, fp8Scaling: 'block', framework: 'trtllm', checkMemory: false } as const;
  const decode = { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 };
  const t = stepTime(dsv3, hw, config, decode);
  const usage = (op: string) => t.kernels!.filter((u) => u.op === op);
  // 128 heads over TP8: 16 per device; 64 sequences reading 2,048 cached tokens; one call per layer.
  const mla = k.mlaGeneration({ batch: 64, tokens: 2048, heads: 16, dtype: 'bf16', kvDtype: 'bf16' });
  assert.notEqual(mla.kind, 'bound');
  assert.ok(Math.abs(t.breakdown.attentionSeconds - 61 * mla.seconds) / (61 * mla.seconds) < 1e-12);
  assert.deepEqual(usage('mla').map((u) => [u.calls, u.from]), [[61, 'data/kernels/h200_sxm/trtllm/1.3.0rc20/mla_generation.csv.gz']]);
  // Two absorbed BMMs (pre and post) per layer, and one MoE call per MoE layer (61 − 3 = 58).
  assert.equal(usage('mla_bmm').reduce((s, u) => s + u.calls, 0), 2 * 61);
  assert.ok(usage('mla_bmm').every((u) => u.from.endsWith('mla_bmm.csv.gz') && u.rows > 0));
  assert.deepEqual(usage('moe').map((u) => [u.calls, u.kind, u.from]), [[58, 'measured', 'data/kernels/h200_sxm/trtllm/1.3.0rc20/moe.csv.gz']]);
  // No attention or expert op is left to the performance model (only the embedding gather is).
  assert.deepEqual(t.kernels!.filter((u) => u.rows === 0).map((u) => u.op), ['embedding']);
  // The MoE call sees the step's 64 tokens in fp8_block under DeepSeek's power-law routing
  // (alpha 1.01), moe_tp 8, moe_ep 1; the power-law rows hold the busiest rank's load, so an
  // expert load factor of 2 leaves the table-priced step as it was (imbalance counted once).
  const loaded = stepTime(dsv3, hw, { ...config, parallelism: { tp: 8, expertLoadFactor: 2 } }, decode);
  assert.equal(loaded.breakdown.gemmSeconds, t.breakdown.gemmSeconds);
  assert.equal(usage('moe')[0].rows, 1);
});

test('stepTime() flags a DeepSeek-V3 prefill past the MoE table\'s 16,384 tokens as extrapolated in its kernel usage, and prices its MLA context from the table', () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'trtllm');
  // Eight 4,096-token prompts: 32,768 tokens enter each MoE layer.
  const t = stepTime(dsv3, hw, { parallelism: { tp: 8 }, precision: FP8, fp8Scaling: 'block', framework: 'trtllm', checkMemory: false }, { prefillTokens: 32768, decodeTokens: 0, contextTokens: 0, prefillSequences: 8 });
  const moe = t.kernels!.filter((u) => u.op === 'moe');
  assert.deepEqual(moe.map((u) => [u.calls, u.kind]), [[58, 'extrapolated']]);
  const ctx = k.mlaContext({ batch: 8, tokens: 4096, heads: 16, dtype: 'bf16', kvDtype: 'bf16' });
  assert.equal(ctx.kind, 'measured');
  assert.ok(Math.abs(t.breakdown.attentionSeconds - 61 * ctx.seconds) / (61 * ctx.seconds) < 1e-12);
});

test("stepTime() under vLLM prices DeepSeek-V3's attention as aiconfigurator's vLLM model does: standard attention of v_head_dim with a KV head per query head, the BMMs left to the model", () => {
  const hw = loadHardware('h200');
  const k = kernelPricer(defaultKernelDb(), hw, 'vllm');
  const config = { parallelism: { tp: 8 }, precision: FP8, fp8Scaling: 'block', framework: 'vllm', checkMemory: false } as const;
  // Two 2,048-token prompts: the context-attention table at 16 heads and 16 KV heads of 128 per device.
  const p = stepTime(dsv3, hw, config, { prefillTokens: 4096, decodeTokens: 0, contextTokens: 0, prefillSequences: 2 });
  const a = k.contextAttention({ batch: 2, prompt: 2048, heads: 16, kvHeads: 16, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' });
  assert.notEqual(a.kind, 'bound');
  assert.ok(Math.abs(p.breakdown.attentionSeconds - 61 * a.seconds) / (61 * a.seconds) < 1e-12);
  assert.ok(p.kernels!.some((u) => u.op === 'attention' && u.from.endsWith('vllm/0.24.0/context_attention.csv.gz') && u.calls === 61));
  // Decode: vLLM's table holds no 16-KV-head decode rows of 128, so the model prices the attention
  // core (61 calls) as it does q_absorb and v_absorb (61 each); no MLA or BMM table is read.
  const d = stepTime(dsv3, hw, config, { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 });
  assert.equal(k.generationAttention({ batch: 64, context: 2048, heads: 16, kvHeads: 16, headDim: 128, dtype: 'bf16', kvDtype: 'bf16' }).kind, 'bound');
  assert.equal(d.kernels!.filter((u) => u.op === 'mla_bmm' || u.op === 'mla').length, 0);
  assert.deepEqual(d.kernels!.filter((u) => u.op === 'attention').map((u) => [u.calls, u.kind]), [[3 * 61, 'calibrated']]);
});

// Hand-built H200 trtllm tables for DeepSeek-V3 at TP8 (moe_tp 8, moe_ep 1) and 64 tokens per
// step: the fp8_block MoE call and shared-expert GEMMs (gate/up n 2·2048 / 8, k 7168; down
// n 7168 / 8, k 2048), and the router's bfloat16 GEMM at all 256 experts, unsplit, as
// aiconfigurator times it (sdk/models/deepseek.py:933-939), from config.json.
// Guard rows at n 511, 513 and 897 (k 1 only) keep every other fp8_block GEMM of the step off
// these rows (no interpolation between them): those stay with the performance model.
let line = 1;
const row = (op: KernelRow['op'], dims: Record<string, string | number>, us: number): KernelRow => ({
  device: 'h200_sxm', framework: 'trtllm', version: '1', op, dims, dtype: String(dims.dtype), timeUs: us, source: { file: `${op}.csv`, line: ++line },
});
const moeDims = { dtype: 'fp8_block', experts: 256, topk: 8, hidden: 7168, inter: 2048, tp: 8, ep: 1 };
const gemmRow = (n: number, k: number, us: number, dtype = 'fp8_block'): KernelRow => row('gemm', { dtype, m: 64, n, k }, us);
function moeBlockDb(us: { powerLaw: [number, number]; balanced: [number, number]; router: number; sharedGateUp: number; sharedDown: number }) {
  return kernelDbOfRows('hand-built', [
    row('moe', { ...moeDims, distribution: 'power_law_1.01', tokens: 64 }, us.powerLaw[0]),
    row('moe', { ...moeDims, distribution: 'power_law_1.01', tokens: 128 }, us.powerLaw[1]),
    row('moe', { ...moeDims, distribution: 'balanced', tokens: 64 }, us.balanced[0]),
    row('moe', { ...moeDims, distribution: 'balanced', tokens: 128 }, us.balanced[1]),
    gemmRow(256, 7168, us.router, 'bf16'),
    gemmRow(512, 7168, us.sharedGateUp),
    // The shared expert's down projection is row-parallel: all 7,168 output columns, 2,048 / 8 input features.
    gemmRow(7168, 256, us.sharedDown),
    ...[511, 513, 7169].map((n) => gemmRow(n, 1, 1)),
  ]);
}
const BLOCK = { powerLaw: [100, 160] as [number, number], balanced: [70, 110] as [number, number], router: 2, sharedGateUp: 1, sharedDown: 1 };
const dsConfig = (db: ReturnType<typeof moeBlockDb>, par: Record<string, unknown> = {}) =>
  ({ parallelism: { tp: 8, ...par }, precision: FP8, fp8Scaling: 'block', framework: 'trtllm', kernelDb: db, checkMemory: false }) as const;
const DS_DECODE = { prefillTokens: 0, decodeTokens: 64, contextTokens: 64 * 2048 };
const DS_PREFILL = { prefillTokens: 64, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 };
const h200 = loadHardware('h200');
const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b), `${what}: ${a} vs ${b}`);

test('moeRoutingDistribution() reads the architecture\'s power law unless the routing is balanced, and sharedExpertsOverlapRouted() holds for a DeepSeek-V3 decode step only', () => {
  // aiconfigurator: DeepSeek alpha 1.01 (sdk/models/deepseek.py:170), generic MoE 1.2 (sdk/models/moe.py:128),
  // a non-power-law workload_distribution passed through untouched (sdk/models/helpers.py:165-175).
  assert.equal(moeRoutingDistribution(dsv3), 'power_law_1.01');
  assert.equal(moeRoutingDistribution(loadModel('mixtral-8x7b')), 'power_law_1.2');
  assert.equal(moeRoutingDistribution(dsv3, 'balanced'), 'balanced');
  // OverlapOp in DeepSeek's generation graph only (sdk/models/deepseek.py:985-987); context and
  // mixed steps run sequentially (deepseek.py:656-658, engine/runtime.rs:691-715); Mixtral has no shared expert.
  const tp8 = { framework: 'sglang', largeExpertParallel: false };
  assert.equal(sharedExpertsOverlapRouted(dsv3, { prefillTokens: 0, decodeTokens: 64 }, tp8), true);
  assert.equal(sharedExpertsOverlapRouted(dsv3, { prefillTokens: 64, decodeTokens: 64 }, tp8), false);
  assert.equal(sharedExpertsOverlapRouted(dsv3, { prefillTokens: 0, decodeTokens: 0 }, tp8), false);
  assert.equal(sharedExpertsOverlapRouted(loadModel('mixtral-8x7b'), { prefillTokens: 0, decodeTokens: 64 }, tp8), false);
  // The large-EP graph: shared experts overlapped on TensorRT-LLM only (sdk/models/blocks/moe.py:640-652).
  const large = { largeExpertParallel: true };
  assert.equal(sharedExpertsOverlapRouted(dsv3, { prefillTokens: 0, decodeTokens: 64 }, { ...large, framework: 'trtllm' }), true);
  assert.equal(sharedExpertsOverlapRouted(dsv3, { prefillTokens: 0, decodeTokens: 64 }, { ...large, framework: 'sglang' }), false);
  assert.equal(sharedExpertsOverlapRouted(dsv3, { prefillTokens: 0, decodeTokens: 64 }, { ...large, framework: 'vllm' }), false);
});

test("largeExpertParallel() is aiconfigurator's rule for its large-EP graph (moe_comm_backend set), in batchlab's layout", () => {
  // aiconfigurator commit 095f58a5: src/aiconfigurator/sdk/task_v2.py:1375-1420 (_resolve_moe_comm_backend) and
  // aic-core/src/aiconfigurator_core/sdk/operations/moe_comm.py:55-111 (the backends and their `feasible`).
  const layout = (framework: string, etp: number, ep: number, allToAll?: 'deepep') => ({ framework, expertTensorParallel: etp, expertParallel: ep, ...(allToAll ? { allToAll } : {}) });
  // SGLang/vLLM with one whole expert per device: DeepEP (deepep_ht/deepep_ll, moe_comm.py:86-97), 256 experts over 32 or 8 ranks.
  assert.equal(largeExpertParallel(dsv3, layout('sglang', 1, 32)), true);
  assert.equal(largeExpertParallel(dsv3, layout('vllm', 1, 8)), true);
  // moe_tp != 1 or moe_ep <= 1 stays fused (task_v2.py:1396-1398): TP8 experts, or EP 1.
  assert.equal(largeExpertParallel(dsv3, layout('sglang', 8, 1)), false);
  assert.equal(largeExpertParallel(dsv3, layout('sglang', 2, 4)), false);
  assert.equal(largeExpertParallel(dsv3, layout('sglang', 1, 1)), false);
  // `feasible` (moe_comm.py:75-82): the experts must divide evenly over the ranks (256 % 72 = 32) ...
  assert.equal(largeExpertParallel(dsv3, layout('sglang', 1, 72)), false);
  // ... and top-k at most 8: Mixtral's top-2 over 8 experts at EP8 qualifies.
  assert.equal(largeExpertParallel(loadModel('mixtral-8x7b'), layout('sglang', 1, 8)), true);
  // TensorRT-LLM's wide-EP backends need SM 100+ (moe_comm.py:98-111): batchlab's catalog holds no SM version, fused.
  assert.equal(largeExpertParallel(dsv3, layout('trtllm', 1, 8)), false);
  // A source stating DeepEP ran DeepEP's kernels: large EP whatever tables price it, at any width it deployed.
  assert.equal(largeExpertParallel(dsv3, layout('trtllm', 1, 144, 'deepep')), true);
  assert.equal(largeExpertParallel(dsv3, layout('sglang', 1, 72, 'deepep')), true);
  assert.equal(largeExpertParallel(dsv3, layout('trtllm', 8, 1, 'deepep')), false);
  // A dense model has no MoE graph.
  assert.equal(largeExpertParallel(llama, layout('sglang', 1, 8)), false);
});

test("stepTime() on a large expert-parallel layout reads routed experts and DeepEP dispatch/combine from SGLang's wide-EP tables, and its GEMMs and MLA from the usual ones", () => {
  const hw = loadHardware('h100-sxm');
  // LMSYS's decode layout shape: SGLang, DP-attention 32, EP32 over 4 nodes of 8, 64 sequences per device.
  const work = { prefillTokens: 0, decodeTokens: 32 * 64, contextTokens: 32 * 64 * 2048 };
  const config = { parallelism: { dp: 32, ep: 32 }, precision: FP8, fp8Scaling: 'block', framework: 'sglang', checkMemory: false } as const;
  const t = stepTime(dsv3, hw, config, work);
  const usage = (op: string) => t.kernels!.filter((u) => u.op === op);
  assert.deepEqual(usage('moe'), []);
  assert.deepEqual(usage('routed-expert'), []);
  // One wide-EP call per MoE layer (DeepSeek-V3's 58) at the 2048 tokens entering it, the generation
  // table's power-law row: aiconfigurator's h100_sxm/moe/sglang/0.5.10/wideep_generation_moe_perf.parquet
  // row 259 (ep 32, 2048 tokens, power_law_1.01), 0.18774463653564452 ms.
  const wide = 'data/kernels/h100_sxm/sglang/0.5.14/wideep_moe.csv.gz (rows measured under sglang 0.5.10, read from the earlier version folders aiconfigurator reads for 0.5.14)';
  assert.deepEqual(usage('wideep_moe').map((u) => [u.kind, u.from, u.calls, u.rows]), [['measured', wide, 58, 1]]);
  // DeepEP low-latency, 64 tokens per rank over 4 nodes: h100_sxm/comm/sglang/0.5.6.post2/wideep_deepep_ll_perf.parquet
  // row 59, dispatch 82.93 µs and combine 151.67 µs, once per MoE layer.
  const ll = 'data/kernels/h100_sxm/sglang/0.5.14/deepep_ll.csv.gz (rows measured under sglang 0.5.0, read from the earlier version folders aiconfigurator reads for 0.5.14)';
  assert.deepEqual(usage('deepep').map((u) => [u.kind, u.from, u.calls, u.rows]), [['measured', ll, 116, 2]]);
  assert.ok(Math.abs(t.breakdown.dispatchSeconds - 58 * 82.93e-6) < 1e-12);
  assert.ok(Math.abs(t.breakdown.combineSeconds - 58 * 151.67e-6) < 1e-12);
  // Every GEMM and the MLA attention are still table rows of SGLang's H100 SXM tables.
  for (const op of ['gemm', 'mla', 'mla_bmm']) {
    assert.ok(usage(op).length > 0 && usage(op).every((u) => u.rows > 0 && u.from.startsWith('data/kernels/h100_sxm/sglang/')), op);
  }
  // A prefill step reads the context table and DeepEP's normal kernels.
  const pre = stepTime(dsv3, hw, config, { prefillTokens: 32 * 4096, decodeTokens: 0, contextTokens: 0, prefillSequences: 32 });
  assert.ok(pre.kernels!.some((u) => u.op === 'deepep' && u.from.startsWith('data/kernels/h100_sxm/sglang/0.5.14/deepep_normal.csv.gz')));
  assert.ok(pre.kernels!.some((u) => u.op === 'wideep_moe' && u.kind === 'measured'));
});

test("stepTime() sends a prefill rank's DeepEP tokens over its attention tensor parallelism, and a layout with expert tensor parallelism never reaches the DeepEP tables", () => {
  const hw = loadHardware('h100-sxm');
  // Attention TP 2 in 16 data-parallel groups, EP 32 (expert TP (2 · 16) / 32 = 1) over 4 nodes of 8:
  // each group's 8192 prefill tokens leave as 8192 / 2 = 4096 per rank (aiconfigurator's
  // attention_tp_size, sdk/models/blocks/moe.py:582; operators/moe_a2a.rs:164). SGLang's
  // h100_sxm/comm/sglang/0.5.6.post2/wideep_deepep_normal_perf.parquet row 267 (4 nodes, 4096 tokens,
  // dispatch_sms 20): dispatch 1801 + 59.47 µs, once per MoE layer (58).
  const config = { parallelism: { tp: 2, dp: 16, ep: 32 }, precision: FP8, fp8Scaling: 'block', framework: 'sglang', checkMemory: false } as const;
  const work = { prefillTokens: 16 * 8192, decodeTokens: 0, contextTokens: 0, prefillSequences: 16 * 2 };
  const t = stepTime(dsv3, hw, config, work);
  assert.ok(Math.abs(t.breakdown.dispatchSeconds - 58 * 1860.47e-6) < 1e-12, `${t.breakdown.dispatchSeconds}`);
  assert.ok(t.kernels!.some((u) => u.op === 'deepep' && u.kind === 'measured' && u.rows === 2));
  // Expert TP 2 (tp 2, dp 16, ep 16): aiconfigurator's large-EP graph needs moe_tp 1 (task_v2.py:1396-1398),
  // so its node count over moe_ep · moe_tp (blocks/moe.py:570) never meets expert TP > 1: even a stated
  // DeepEP stays on the fused MoE table and the all-to-all model, no DeepEP row read.
  const etp = stepTime(dsv3, hw, { ...config, parallelism: { tp: 2, dp: 16, ep: 16, expertAllToAll: 'deepep' } }, work);
  assert.equal(etp.kernels!.filter((u) => u.op === 'deepep' || u.op === 'wideep_moe').length, 0);
  assert.ok(etp.kernels!.some((u) => u.op === 'moe'));
});

test('stepTime() on a large expert-parallel layout where no wide-EP table exists says NO_WIDE_EP_MOE_TABLE, and reads the tables another framework names for it', () => {
  const hw = loadHardware('h100-sxm');
  const work = { prefillTokens: 0, decodeTokens: 32 * 64, contextTokens: 32 * 64 * 2048 };
  // Stating DeepEP on a TensorRT-LLM-priced layout makes it large expert-parallel; TensorRT-LLM's
  // folder holds no wide-EP table, so the performance model prices the experts and the all-to-all.
  const trt = { parallelism: { dp: 32, ep: 32, expertAllToAll: 'deepep' }, precision: FP8, fp8Scaling: 'block', framework: 'trtllm', checkMemory: false } as const;
  const stated = stepTime(dsv3, hw, trt, work);
  assert.equal(stated.kernels!.filter((u) => u.op === 'moe').length, 0);
  assert.deepEqual(
    stated.kernels!.filter((u) => u.op === 'routed-expert').map((u) => [u.kind, u.from, u.rows]),
    [['calibrated', `${hw.name} performance model (calibrated): ${NO_WIDE_EP_MOE_TABLE}`, 0]],
  );
  assert.deepEqual(stated.kernels!.filter((u) => u.op === 'deepep').map((u) => u.from), [`${hw.name} performance model (calibrated): no DeepEP table for the device`]);
  // The same layout unstated reads trtllm's fused MoE table (its wide-EP backends need SM 100+).
  const fused = stepTime(dsv3, hw, { ...trt, parallelism: { dp: 32, ep: 32 } }, work);
  assert.deepEqual(fused.kernels!.filter((u) => u.op === 'moe').map((u) => [u.calls, u.from]), [[58, 'data/kernels/h100_sxm/trtllm/1.3.0rc20/moe.csv.gz']]);
  // Naming SGLang's wide-EP tables prices the experts from them, saying whose.
  const named = stepTime(dsv3, hw, { ...trt, wideEpFramework: 'sglang' }, work);
  assert.deepEqual(named.kernels!.filter((u) => u.op === 'routed-expert'), []);
  assert.match(named.kernels!.find((u) => u.op === 'wideep_moe')!.from, /^data\/kernels\/h100_sxm\/sglang\/0\.5\.14\/wideep_moe\.csv\.gz \(sglang's wide-EP table; /);
  // H200's SGLang folder holds them too; H800 borrows H100 SXM's compute tables, not its DeepEP links.
  const h800 = stepTime(dsv3, loadHardware('h800'), { ...trt, wideEpFramework: 'sglang' }, work);
  assert.ok(h800.kernels!.some((u) => u.op === 'wideep_moe' && u.rows === 1 && /h800 borrows h100-sxm's compute/.test(u.from)));
  assert.ok(h800.kernels!.some((u) => u.op === 'deepep' && u.rows === 0));
  assert.throws(() => stepTime(dsv3, hw, { ...trt, parallelism: { dp: 32, ep: 32, expertAllToAll: 'nccl' as 'deepep' } }, work), (e: unknown) => e instanceof InputError && /parallelism\.expertAllToAll/.test(e.message));
  assert.throws(() => stepTime(dsv3, hw, { ...trt, wideEpFramework: 'tensorrt' }, work), (e: unknown) => e instanceof InputError && /wideEp/.test(e.message));
});

test('stepTime() with an MoE table counts routing imbalance once: the power-law row at the mean tokens, no expert load factor on top; balanced routing reads the balanced rows', () => {
  const db = moeBlockDb(BLOCK);
  for (const work of [DS_DECODE, DS_PREFILL]) {
    const base = stepTime(dsv3, h200, dsConfig(db), work);
    // The 64-token power-law row (100 µs) prices the layer: aiconfigurator's MoE op queries the
    // tokens × attention_dp and nothing more (operators/moe.rs:274-279); the row's rank is the
    // busiest one (collector/helper.py:1357, 1422-1433). A load factor of 2 would have read 160 µs.
    const loaded = stepTime(dsv3, h200, dsConfig(db, { expertLoadFactor: 2 }), work);
    assert.equal(loaded.breakdown.gemmSeconds, base.breakdown.gemmSeconds);
    const moe = base.kernels!.filter((u) => u.op === 'moe');
    assert.deepEqual(moe.map((u) => [u.calls, u.kind, u.rows]), [[58, 'measured', 1]]);
    // Balanced routing: the 64-token 'balanced' row (70 µs) in each of the 58 MoE layers
    // (DeepSeek-V3 config.json: 61 layers, first_k_dense_replace 3); the router and shared
    // expert stay far shorter than either, so the decode overlap keeps the routed stream.
    const balanced = stepTime(dsv3, h200, dsConfig(db, { expertRouting: 'balanced', expertLoadFactor: 2 }), work);
    close(base.breakdown.gemmSeconds - balanced.breakdown.gemmSeconds, 58 * (100 - 70) * 1e-6, 'power law − balanced');
  }
  // Without the tables the performance model prices the experts, and the load factor is its imbalance.
  const off = (f: number) => stepTime(dsv3, h200, { ...dsConfig(db, { expertLoadFactor: f }), kernelDb: false }, DS_PREFILL).breakdown.gemmSeconds;
  assert.ok(off(2) > off(1));
  assert.throws(() => stepTime(dsv3, h200, dsConfig(db, { expertRouting: 'skewed' }), DS_DECODE), (e: unknown) => e instanceof InputError && e.field === 'parallelism.expertRouting');
});

test("stepTime() on a large expert-parallel layout priced by another framework's wide-EP tables takes that framework's large-EP graph: SGLang's runs the shared experts in line", () => {
  // TensorRT-LLM's GEMM rows above plus hand-built SGLang wide-EP MoE rows for DeepSeek-V3 at
  // moe_ep 8 (generation phase, 64 and 128 tokens): tp 8 with ep 8 and a stated DeepEP is large EP.
  const wide = (tokens: number, us: number): KernelRow => ({ ...row('wideep_moe', { dtype: 'fp8_block', distribution: 'power_law_1.01', phase: 'generation', experts: 256, topk: 8, hidden: 7168, inter: 2048, ep: 8, tokens }, us), framework: 'sglang' });
  const db = (shared: number) => kernelDbOfRows('hand-built', [...moeBlockDb({ ...BLOCK, sharedGateUp: shared, sharedDown: shared }).table('h200_sxm', 'trtllm', 'gemm')!.rows, wide(64, 100), wide(128, 160)]);
  const config = (shared: number, wideEp?: string) => ({ ...dsConfig(db(shared) as ReturnType<typeof moeBlockDb>, { ep: 8, expertAllToAll: 'deepep' }), ...(wideEp ? { wideEpFramework: wideEp } : {}) });
  const gemm = (shared: number, wideEp?: string) => stepTime(dsv3, h200, config(shared, wideEp) as Parameters<typeof stepTime>[2], DS_DECODE).breakdown.gemmSeconds;
  // The routed experts come from the SGLang row (100 µs at 64 tokens) in all 58 MoE layers.
  const usage = stepTime(dsv3, h200, config(1, 'sglang') as Parameters<typeof stepTime>[2], DS_DECODE).kernels!.filter((u) => u.op === 'wideep_moe');
  assert.deepEqual(usage.map((u) => [u.calls, u.kind, u.rows]), [[58, 'measured', 1]]);
  // SGLang's large-EP graph runs the shared experts after the routed ones (sdk/models/blocks/moe.py:640-652):
  // shared 200 + 200 µs instead of 1 + 1 adds all 398 µs per layer. TensorRT-LLM's graph (647-650)
  // would have hidden them behind router 2 + MoE 100 µs: 298 µs per layer.
  close(gemm(200, 'sglang') - gemm(1, 'sglang'), 58 * 398 * 1e-6, "SGLang's large-EP graph adds the shared experts");
  // Without a named wide-EP framework the layout is TensorRT-LLM's own, and its decode overlaps
  // the two streams: the shared experts' 2 µs stay hidden behind the routed experts.
  assert.ok(gemm(200) - gemm(1) < 58 * 398 * 1e-6);
});

test('stepTime() under a framework overlaps the shared expert with the router and routed experts in decode (the longer of the two), and adds them in prefill', () => {
  const step = (us: Partial<typeof BLOCK>, work: typeof DS_DECODE | typeof DS_PREFILL) => stepTime(dsv3, h200, dsConfig(moeBlockDb({ ...BLOCK, ...us })), work);
  // Every one of the three GEMMs per MoE layer is read from the hand-built rows.
  const usage = step({}, DS_DECODE).kernels!.filter((u) => u.op === 'gemm');
  assert.deepEqual(usage.map((u) => [u.calls, u.rows]), [[3 * 58, 3]]);
  // Decode, aiconfigurator's OverlapOp (sdk/models/deepseek.py:906-987; operators/op.rs:459-484):
  // max(router 2 + MoE 100, shared 1 + 1) = 102 µs per layer; shared 5 + 5 = 10 µs is still hidden,
  // shared 200 + 200 = 400 µs is the longer stream: 298 µs more per layer over 58 layers.
  const d1 = step({}, DS_DECODE).breakdown.gemmSeconds;
  close(step({ sharedGateUp: 5, sharedDown: 5 }, DS_DECODE).breakdown.gemmSeconds, d1, 'shared stream hidden');
  close(step({ sharedGateUp: 200, sharedDown: 200 }, DS_DECODE).breakdown.gemmSeconds - d1, 58 * (400 - 102) * 1e-6, 'shared stream longer');
  // Prefill runs them one after the other (deepseek.py:656-658): 8 µs more per layer.
  const p1 = step({}, DS_PREFILL).breakdown.gemmSeconds;
  close(step({ sharedGateUp: 5, sharedDown: 5 }, DS_PREFILL).breakdown.gemmSeconds - p1, 58 * 8 * 1e-6, 'prefill sums');
});

// Hand-built SGLang wide-EP MoE rows for DeepSeek-V3 at moe_ep 8, generation phase: 'uniform' (every local expert
// given the mean's tokens) at 64, 128 and 256 tokens, and power-law rows that an EPLB layout must not read.
const wideRow = (distribution: string, tokens: number, us: number): KernelRow => ({
  ...row('wideep_moe', { dtype: 'fp8_block', distribution, phase: 'generation', experts: 256, topk: 8, hidden: 7168, inter: 2048, ep: 8, tokens }, us),
  framework: 'sglang',
});
const UNIFORM: Array<[number, number]> = [[64, 100], [128, 160], [256, 250]];
const eplbDb = (uniform = true) =>
  kernelDbOfRows('hand-built', [
    ...moeBlockDb(BLOCK).table('h200_sxm', 'trtllm', 'gemm')!.rows,
    ...(uniform ? UNIFORM.map(([t, us]) => wideRow('uniform', t, us)) : []),
    ...UNIFORM.map(([t, us]) => wideRow('power_law_1.01', t, 3 * us)),
  ]);
// Log-log reading of the uniform rows at `tokens` (64 to 256): the closed form of the table's interpolation.
const uniformUs = (tokens: number): number => {
  const [lo, hi] = tokens <= 128 ? [UNIFORM[0], UNIFORM[1]] : [UNIFORM[1], UNIFORM[2]];
  return lo[1] * Math.exp((Math.log(tokens / lo[0]) / Math.log(hi[0] / lo[0])) * Math.log(hi[1] / lo[1]));
};
const eplbConfig = (db: ReturnType<typeof eplbDb>, par: Record<string, unknown> = {}) =>
  ({ ...dsConfig(db as ReturnType<typeof moeBlockDb>, { ep: 8, expertAllToAll: 'deepep', expertRouting: 'eplb', ...par }), wideEpFramework: 'sglang' }) as Parameters<typeof stepTime>[2];

test("kernelOpSeconds() under routing 'eplb' reads the wide-EP table's 'uniform' rows at the layer's tokens times the load factor: the measured row at factor 1, the table's log-log reading between rows", () => {
  const k = kernelPricer(eplbDb(), h200, 'trtllm', undefined, { wideEp: 'sglang' });
  const op = modelStepOps(dsv3, { ...DS_DECODE, dtype: 'fp8' }).find((o) => o.name === 'moe.expert.gate_up_proj')!;
  const split = { n: 1, batch: 8, m: 1, heads: 1, kv: 1 };
  const g = { P: 0, D: 64, C: 64 * 2048, S: 0 };
  const at = (factor: number) => {
    const tally = new KernelTally();
    const eplb = { redundantExperts: 0, seed: 1, steps: 5, tokens: 64, factor };
    const dtypes = { weights: 'fp8', attention: 'bf16', kvCache: 'bf16', fp8Scaling: 'block', routing: 'eplb', largeExpertParallel: true, eplb } as const;
    return { seconds: kernelOpSeconds(op, dsv3, k, dtypes, split, g, tally)!, usage: tally.list() };
  };
  // Factor 1: the 64-token uniform row itself (100 µs) once per MoE layer, measured.
  const one = at(1);
  close(one.seconds, op.calls * 100e-6, 'factor 1');
  assert.deepEqual(one.usage.map((u) => [u.op, u.kind, u.rows]), [['wideep_moe', 'measured', 1]]);
  assert.match(one.usage[0].from, /EPLB: 'uniform' rows at 1\.0000 × the layer's tokens, the busiest device over the mean from batchlab's placement model \(uniformRoutingLoadFactor: uniform top-8 routing of 64 tokens over 8 devices with 0 redundant experts, seed 1, 5 steps, sampled at 64 tokens\)/);
  // Factor 1.5: 96 tokens, read in log-log space between the 64- and 128-token rows (eplbMoeTokens rounds to whole tokens).
  assert.equal(eplbMoeTokens(64, 1.5), 96);
  const more = at(1.5);
  close(more.seconds, op.calls * uniformUs(96) * 1e-6, 'factor 1.5');
  assert.equal(more.usage[0].kind, 'interpolated');
  assert.match(more.usage[0].from, /'uniform' rows at 1\.5000 ×/);
  assert.throws(() => eplbMoeTokens(64, 0.5), (e: unknown) => e instanceof InputError && e.field === 'factor');
});

test("stepTime() with expertRouting 'eplb' prices routed experts at the placement model's load factor in both paths: 'uniform' rows at tokens × factor under tables, the same factor in the performance model; with and without redundant copies, each at its own factor", () => {
  const gemm = (db: ReturnType<typeof eplbDb> | false, par: Record<string, unknown>) =>
    stepTime(dsv3, h200, { ...eplbConfig(db === false ? eplbDb() : db, par), ...(db === false ? { kernelDb: false } : {}) }, DS_DECODE);
  // 64 tokens over EP8 (DeepSeek-V3: 256 experts, top-8), without and with 8 redundant copies.
  const f0 = uniformRoutingLoadFactor(dsv3, { expertParallel: 8, redundantExperts: 0 }, 64, 1, 5);
  const f8 = uniformRoutingLoadFactor(dsv3, { expertParallel: 8, redundantExperts: 8 }, 64, 1, 5);
  assert.ok(f0 > 1 && f8 > 1 && f0 !== f8, `${f0} ${f8}`);
  const a = gemm(eplbDb(), {});
  const b = gemm(eplbDb(), { redundantExperts: 8 });
  // Each step reads the uniform rows at its own factor, and only the routed experts differ (58 MoE layers).
  const usage = (t: typeof a) => t.kernels!.filter((u) => u.op === 'wideep_moe');
  assert.equal(usage(a).length, 1);
  assert.ok(usage(a)[0].from.includes(`'uniform' rows at ${f0.toFixed(4)} ×`) && usage(b)[0].from.includes(`'uniform' rows at ${f8.toFixed(4)} ×`));
  assert.match(usage(b)[0].from, /with 8 redundant experts/);
  close(a.breakdown.gemmSeconds - b.breakdown.gemmSeconds, 58 * (uniformUs(eplbMoeTokens(64, f0)) - uniformUs(eplbMoeTokens(64, f8))) * 1e-6, 'copies');
  // The power-law rows (three times the uniform ones) are not read: without EPLB the same layout costs more.
  assert.ok(stepTime(dsv3, h200, eplbConfig(eplbDb(), { expertRouting: 'power-law' }), DS_DECODE).breakdown.gemmSeconds > a.breakdown.gemmSeconds);
  // The performance model takes the same factor as its expert load factor: 'eplb' equals that factor stated by hand.
  const byHand = stepTime(dsv3, h200, { ...eplbConfig(eplbDb(), { expertRouting: 'power-law', expertLoadFactor: f0 }), kernelDb: false }, DS_DECODE);
  assert.equal(gemm(false, {}).breakdown.gemmSeconds, byHand.breakdown.gemmSeconds);
  // A stated sample fixes the factor whatever the step: the factor of 256 tokens, priced on a 64-token step.
  const f256 = uniformRoutingLoadFactor(dsv3, { expertParallel: 8, redundantExperts: 0 }, 256, 1, 5);
  assert.ok(usage(gemm(eplbDb(), { expertLoadSample: { tokens: 256 } }))[0].from.includes(`'uniform' rows at ${f256.toFixed(4)} ×`));
});

test("stepTime() with expertRouting 'eplb' on a table without 'uniform' rows lets the performance model price the experts and says why; the mode is refused for a dense model and beside a hand-set load factor", () => {
  // The wide-EP table holds power-law rows only: no silent fallback to them.
  const t = stepTime(dsv3, h200, eplbConfig(eplbDb(false)), DS_DECODE);
  assert.deepEqual(t.kernels!.filter((u) => u.op === 'wideep_moe'), []);
  const routed = t.kernels!.filter((u) => u.op === 'routed-expert');
  assert.equal(routed.length, 1);
  assert.match(routed[0].from, /EPLB reads 'uniform' rows and \S+ files none for fp8_block generation \(it holds power_law_1\.01\); EPLB: expert load factor \d\.\d{4}, the busiest device over the mean from batchlab's placement model/);
  // The fused TensorRT-LLM table of moeBlockDb holds balanced and power-law rows, no uniform ones (EP 8 over the
  // tensor-parallel group, no DeepEP: the fused table's layout).
  const fused = stepTime(dsv3, h200, dsConfig(moeBlockDb(BLOCK), { ep: 8, expertRouting: 'eplb' }), DS_DECODE).kernels!;
  assert.deepEqual(fused.filter((u) => u.op === 'moe'), []);
  assert.match(fused.find((u) => u.op === 'routed-expert')!.from, /EPLB reads 'uniform' rows and \S+ files none for fp8_block \(it holds balanced, power_law_1\.01\)/);
  // Refusals name the field and what is allowed.
  const refused = (model: typeof dsv3, par: Record<string, unknown>, field: string) =>
    assert.throws(() => stepTime(model, h200, { parallelism: { tp: 8, ...par }, checkMemory: false }, DECODE), (e: unknown) => e instanceof InputError && e.field === field, field);
  refused(llama, { expertRouting: 'eplb' }, 'parallelism.expertRouting');
  assert.throws(() => stepTime(llama, h200, { parallelism: { tp: 8, expertRouting: 'eplb' } }, DECODE), /dense model/);
  // At ep 1 (tp 8 here) no device holds other experts than its neighbour: nothing to balance.
  refused(dsv3, { expertRouting: 'eplb' }, 'parallelism.expertRouting');
  assert.throws(() => stepTime(dsv3, h200, { parallelism: { tp: 8, expertRouting: 'eplb' }, checkMemory: false }, DECODE), /parallelism\.ep > 1/);
  refused(dsv3, { ep: 8, expertRouting: 'eplb', expertLoadFactor: 1.2 }, 'parallelism.expertLoadFactor');
  // A step past the routing sample's 4,194,304 tokens (ROUTING_SAMPLE_MAX_TOKENS) is refused, naming the step's tokens, before any draw.
  const huge = { prefillTokens: 1 << 23, decodeTokens: 0, contextTokens: 0, prefillSequences: 1 << 10 };
  assert.throws(() => stepTime(dsv3, h200, { parallelism: { tp: 1, dp: 8, ep: 8, expertRouting: 'eplb' }, checkMemory: false }, huge), (e: unknown) => e instanceof InputError && e.field === 'prefillTokens + decodeTokens' && /at most 4194304/.test(e.message));
  refused(dsv3, { ep: 8, redundantExperts: 32 }, 'parallelism.redundantExperts');
  refused(dsv3, { ep: 8, expertRouting: 'eplb', redundantExperts: -1 }, 'parallelism.redundantExperts');
  refused(dsv3, { ep: 8, expertRouting: 'eplb', expertLoadSample: { steps: 1 } }, 'parallelism.expertLoadSample.steps');
  assert.equal(moeRoutingDistribution(dsv3, 'eplb'), 'uniform');
});

test('kernelOpSeconds() reads the GEMM table at each device\'s own shape: column-parallel projections split N, the row-parallel output and down projections split K', () => {
  // aiconfigurator's Llama (aic-core/src/aiconfigurator_core/sdk/models/llama.py:94-127, commit 095f58a5): ops.GEMM(name, layers,
  // n, k): context_proj_gemm n = hidden, k = heads · head_size // tp; context_gate_ffn1_gemm n = 2 · inter // tp, k = hidden;
  // context_ffn2_gemm n = hidden, k = inter // tp. Llama-3.1-70B at TP8: hidden 8,192, 64 heads of 128, intermediate 28,672.
  const llama = loadModel('llama-3.1-70b');
  const real = kernelPricer(defaultKernelDb(), h200, 'trtllm');
  const asked: number[][] = [];
  const k = new Proxy(real, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (prop !== 'gemm' || typeof v !== 'function') return v;
      return (m: number, n: number, kk: number, dtype: string) => {
        asked.push([m, n, kk]);
        return (v as (...a: unknown[]) => unknown).call(target, m, n, kk, dtype);
      };
    },
  });
  const ops = modelStepOps(llama, { prefillTokens: 0, decodeTokens: 1, contextTokens: 1024 });
  const split = { n: 8, batch: 1, m: 1, heads: 8, kv: 8 };
  const dtypes = { weights: 'bf16', attention: 'bf16', kvCache: 'bf16' } as const;
  const shape = (name: string): number[][] => {
    asked.length = 0;
    assert.ok(kernelOpSeconds(ops.find((o) => o.name === name)!, llama, k, dtypes, split, { P: 0, D: 1, C: 1024, S: 0 }, new KernelTally()) !== undefined, name);
    return [...asked];
  };
  assert.deepEqual(shape('attn.o_proj'), [[1, 8192, 1024]]);
  assert.deepEqual(shape('ffn.down_proj'), [[1, 8192, 3584]]);
  assert.deepEqual(shape('ffn.gate_up_proj'), [[1, 7168, 8192]]);
  // The same FLOPs either way: only the table's shape, and so its measured time, differs.
  const o = ops.find((x) => x.name === 'attn.o_proj')!;
  assert.equal(o.n * o.k, 8192 * 8192);
});
