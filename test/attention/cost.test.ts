import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  gqaShape,
  checkAttentionShape,
  decodeAttentionCost,
  prefillAttentionCost,
  decodeAttentionCalls,
  prefillAttentionCalls,
  attentionKvBytesPerToken,
  attentionKvBytesPerSequence,
} from '../../lib/attention/index.js';
import type { AttentionShape } from '../../lib/attention/index.js';
import { loadModel, modelAttentionShape } from '../../lib/models/index.js';
import { prefillAttentionPairs } from '../../lib/core/matmul.js';
import { InputError } from '../../lib/util/errors.js';

const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;

// Llama-3.1-70B config.json: hidden 8192, 64 heads, 8 KV heads, head_dim 128, 80 layers.
const llama70b = gqaShape({ hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, layers: 80 });
// DeepSeek-V3 config.json: 128 heads, kv_lora_rank 512, qk_rope 64, qk_nope 128, v_head_dim 128, 61 layers.
const dsv3: AttentionShape = checkAttentionShape({
  kind: 'mla', hiddenSize: 7168, heads: 128, kvHeads: 128, headDim: 192, valueDim: 128,
  mla: { latentDim: 512, ropeDim: 64 }, layers: 61, slidingLayers: 0, slidingWindow: null,
});

test('attentionKvBytesPerToken() matches the published figures: DeepSeek-V3 70,272 B and Llama-3.1-405B 516,096 B in BF16', () => {
  // DeepSeek-V3: (512 latent + 64 rope) × 61 layers × 2 B = 70,272 (DeepSeek-V3 technical report's MLA cache).
  assert.equal(attentionKvBytesPerToken(dsv3, 'bf16'), 70272);
  assert.equal(attentionKvBytesPerToken(modelAttentionShape(loadModel('deepseek-v3')), 'bf16'), 70272);
  // Llama-3.1-405B: 2 × 8 KV heads × 128 × 126 layers × 2 B = 516,096.
  assert.equal(attentionKvBytesPerToken(modelAttentionShape(loadModel('llama-3.1-405b')), 'bf16'), 516096);
  assert.equal(attentionKvBytesPerToken(llama70b, 'bf16'), 327680);
  assert.equal(attentionKvBytesPerToken(llama70b, 'fp8'), 163840);
  // gpt-oss-120b: sliding layers stop at the 128-token window (18 full + 18 sliding layers, 8 KV heads × 64 × 2).
  const oss = modelAttentionShape(loadModel('gpt-oss-120b'));
  assert.equal(attentionKvBytesPerSequence(oss, 'bf16', 10_000), (18 * 10_000 + 18 * 128) * 2048);
});

test('decodeAttentionCost() counts 2·heads·(qk + v) FLOPs and one KV read per cached token (hand counts)', () => {
  const c = 1000;
  const llama = decodeAttentionCost(llama70b, { context: c, dtype: 'bf16' });
  // Q·Kᵀ: 2·64·128·c, P·V: 2·64·128·c, per layer, 80 layers.
  assert.equal(llama.flops, 80 * (2 * 64 * 128 * c + 2 * 64 * 128 * c));
  assert.equal(llama.kvBytes, 327680 * c);
  // Queries in and outputs out: 64 heads × 128 × 2 (q, o) × 2 B × 80 layers.
  assert.equal(llama.activationBytes, 80 * 64 * 256 * 2);
  const ds = decodeAttentionCost(dsv3, { context: c, dtype: 'bf16' });
  // Absorbed MLA: scores over the 576-wide latent+rope, values over the 512-wide latent, all 128 heads.
  assert.equal(ds.flops, 61 * 2 * 128 * (576 + 512) * c);
  assert.equal(ds.kvBytes, 70272 * c);
  // MLA reads 4.7× fewer KV bytes per token than Llama-70B but does 8.5× the FLOPs per byte.
  assert.ok(ds.flops / ds.kvBytes > 8 * (llama.flops / llama.kvBytes));
});

test('decodeAttentionCalls(): a batch costs the sum over its sequences', () => {
  const contexts = [17, 400, 4096, 1];
  const batch = decodeAttentionCalls(llama70b, { sequences: 4, contextTokens: contexts.reduce((s, x) => s + x, 0), dtype: 'bf16' });
  const sum = contexts.reduce((s, c) => s + decodeAttentionCost(llama70b, { context: c, dtype: 'bf16' }).flops, 0);
  assert.equal(batch[0].flops * batch[0].layers, sum);
  // GQA: g = 8 query heads per KV head are the rows of each sequence's matmul.
  assert.deepEqual([batch[0].score.m, batch[0].score.k, batch[0].score.batch], [8, 128, 32]);
});

test('prefillAttentionCost(): causal pairs L(L+1)/2, and chunks sum exactly to the whole prompt', () => {
  // Four tokens: 1 + 2 + 3 + 4 = 10 query-key pairs per head and layer.
  assert.equal(prefillAttentionCost(llama70b, { tokens: 4, dtype: 'bf16' }).flops, 80 * 2 * 64 * 256 * 10);
  for (const shape of [llama70b, dsv3, modelAttentionShape(loadModel('gpt-oss-120b'))]) {
    const whole = prefillAttentionCost(shape, { tokens: 10_000, dtype: 'bf16' });
    const chunks = [3000, 3000, 3000, 1000];
    let flops = 0;
    let bytes = 0;
    let offset = 0;
    for (const c of chunks) {
      const x = prefillAttentionCost(shape, { tokens: c, offset, dtype: 'bf16' });
      flops += x.flops;
      bytes += x.bytes;
      offset += c;
    }
    assert.equal(flops, whole.flops);
    assert.equal(bytes, whole.bytes);
  }
});

test('prefillAttentionCalls(): k prompts together cost k single prompts; a pair count prices chunks', () => {
  const k = 6;
  const L = 777;
  const together = prefillAttentionCalls(llama70b, { tokens: k * L, sequences: k, dtype: 'bf16' })[0];
  const one = prefillAttentionCalls(llama70b, { tokens: L, dtype: 'bf16' })[0];
  assert.equal(together.flops, k * one.flops);
  const pairs = prefillAttentionCalls(llama70b, { tokens: 512, pairs: prefillAttentionPairs(512, 4096), dtype: 'bf16' })[0];
  assert.equal(pairs.flops, 2 * 64 * 256 * (512 * 4096 + (512 * 513) / 2));
});

test('attention functions reject bad input naming the field', () => {
  assert.throws(() => decodeAttentionCost(llama70b, { context: 0, dtype: 'bf16' }), isInput('context'));
  assert.throws(() => decodeAttentionCost(llama70b, { context: -5, dtype: 'bf16' }), isInput('context'));
  assert.throws(() => prefillAttentionCost(llama70b, { tokens: 0, dtype: 'bf16' }), isInput('tokens'));
  // More heads than the hidden size.
  assert.throws(() => gqaShape({ hiddenSize: 64, heads: 128, kvHeads: 8, headDim: 64, layers: 2 }), isInput('heads'));
  assert.throws(() => gqaShape({ hiddenSize: 4096, heads: 32, kvHeads: 5, headDim: 128, layers: 2 }), isInput('kvHeads'));
  assert.throws(() => decodeAttentionCost(llama70b, { context: 10, dtype: 'fp4' as never }), isInput('dtype'));
  assert.throws(() => prefillAttentionCalls(llama70b, { tokens: 10, pairs: 3, dtype: 'bf16' }), isInput('prefillAttentionPairs'));
});
