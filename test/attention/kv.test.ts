import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gqaShape, pagedKvUsage, kvBatchLimit, kvBlocksForTokens, attentionKvBytesPerToken } from '../../lib/attention/index.js';
import { loadModel, modelAttentionShape, modelKvBatchLimit, paramCounts, stepActivationBytes } from '../../lib/models/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { rng, randomInt } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';

const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;
const llama70b = gqaShape({ hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, layers: 80 });

test('pagedKvUsage(): blocks are ceil(context / block) per sequence; fragmentation stays below one block per sequence', () => {
  // 1 → 1 block, 16 → 1 block, 17 → 2 blocks: 4 blocks, 64 slots, 34 used, 30 empty.
  const u = pagedKvUsage({ contexts: [1, 16, 17], blockTokens: 16 });
  assert.deepEqual([u.blocks, u.slotTokens, u.usedTokens, u.fragmentationTokens], [4, 64, 34, 30]);
  const r = rng(11);
  for (let t = 0; t < 200; t++) {
    const B = 1 + randomInt(r, 64);
    const contexts = Array.from({ length: 1 + randomInt(r, 50) }, () => 1 + randomInt(r, 5000));
    const p = pagedKvUsage({ contexts, blockTokens: B });
    assert.ok(p.fragmentationTokens >= 0 && p.fragmentationTokens < contexts.length * B);
    assert.equal(p.usedTokens, contexts.reduce((s, c) => s + c, 0));
  }
  // Block size 1: no fragmentation.
  assert.equal(pagedKvUsage({ contexts: [5, 7], blockTokens: 1 }).fragmentationTokens, 0);
});

test('pagedKvUsage(): a shared prefix stores its full blocks once', () => {
  // 10 sequences share a 1,000-token system prompt (62 full 16-token blocks + 8 tokens), each adds 200 of its own.
  const contexts = Array.from({ length: 10 }, () => 1200);
  const shared = pagedKvUsage({ contexts, blockTokens: 16, sharedPrefixTokens: 1000 });
  assert.equal(shared.sharedBlocks, 62);
  // Each sequence keeps 1200 − 992 = 208 tokens of its own: 13 blocks.
  assert.equal(shared.blocks, 62 + 10 * 13);
  assert.equal(pagedKvUsage({ contexts, blockTokens: 16 }).blocks, 10 * 75);
});

test('kvBatchLimit() follows its closed form (Llama-3.1-70B, 8 × 80 GB, BF16)', () => {
  const weights = paramCounts(loadModel('llama-3.1-70b')).total * 2;
  const ctx = 8192;
  const lim = kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: ctx, deviceMemoryBytes: 80e9, devices: 8, weightBytes: weights, blockTokens: 16 });
  // 8 KV heads over 8 devices: each holds 327,680 / 8 = 40,960 B per token; 16-token blocks of 655,360 B.
  const free = 80e9 * 0.9 - weights / 8;
  const blocks = Math.floor(free / (40960 * 16));
  assert.equal(lim.kvShards, 8);
  assert.equal(lim.sequences, Math.floor(blocks / (ctx / 16)));
  // Beyond 8 devices the 8 KV heads are replicated: 16 devices hold no more per device than 8.
  const sixteen = kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: ctx, deviceMemoryBytes: 80e9, devices: 16, weightBytes: weights });
  assert.equal(sixteen.kvShards, 8);
  // Weights that do not fit leave no room.
  assert.equal(kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: ctx, deviceMemoryBytes: 80e9, devices: 1, weightBytes: weights }).sequences, 0);
  // A shared prefix raises the limit.
  const withPrefix = kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: ctx, deviceMemoryBytes: 80e9, devices: 8, weightBytes: weights, sharedPrefixTokens: 4096 });
  assert.ok(withPrefix.sequences > 1.9 * lim.sequences);
});

test('modelKvBatchLimit(): DeepSeek-V3 (MLA, sharded by sequence) on 8 × H200 in FP8', () => {
  const ds = loadModel('deepseek-v3');
  const h200 = loadHardware('h200');
  const lim = modelKvBatchLimit(ds, { dtype: 'fp8', context: 32768, deviceMemoryBytes: h200.memoryCapacityBytes, devices: 8 });
  const perSeq = attentionKvBytesPerToken(modelAttentionShape(ds), 'fp8') * 32768;
  // Upper bound: all memory after the weights, no activations or fragmentation; 141 GiB per H200 (data/hardware/h200.json).
  const bound = Math.floor((8 * 141 * 2 ** 30 * 0.9 - paramCounts(ds).total) / perSeq);
  assert.ok(lim.sequences > 0 && lim.sequences <= bound, `${lim.sequences} vs ${bound}`);
  assert.ok(lim.sequences > 0.9 * bound);
  assert.equal(lim.kvShards, 1);
  // 671 GB of FP8 weights do not fit in 8 × 80 GB at 90 %.
  assert.equal(modelKvBatchLimit(ds, { dtype: 'fp8', context: 4096, deviceMemoryBytes: 80e9, devices: 8 }).sequences, 0);
});

test('KV functions reject bad input naming the field', () => {
  assert.throws(() => pagedKvUsage({ contexts: [10], blockTokens: 0 }), isInput('blockTokens'));
  assert.throws(() => pagedKvUsage({ contexts: [0], blockTokens: 16, sharedPrefixTokens: 4 }), isInput('contexts[0]'));
  assert.throws(() => kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: 0, deviceMemoryBytes: 80e9, weightBytes: 0 }), isInput('context'));
  assert.throws(() => kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: -3, deviceMemoryBytes: 80e9, weightBytes: 0 }), isInput('context'));
  assert.throws(() => kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: 10, deviceMemoryBytes: 80e9, weightBytes: 0, blockTokens: 0 }), isInput('blockTokens'));
  assert.throws(() => kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: 10, deviceMemoryBytes: 80e9, weightBytes: 0, memoryUtilization: 1.5 }), isInput('memoryUtilization'));
});

test('kvBlocksForTokens() is ceil(tokens / block) and agrees with pagedKvUsage', () => {
  assert.deepEqual([0, 1, 16, 17, 32].map((t) => kvBlocksForTokens(t, 16)), [0, 1, 1, 2, 2]);
  assert.equal(kvBlocksForTokens(1000, 16) + kvBlocksForTokens(17, 16), pagedKvUsage({ contexts: [1000, 17], blockTokens: 16 }).blocks);
  assert.throws(() => kvBlocksForTokens(5, 0), isInput('blockTokens'));
});

test('stepActivationBytes(): hidden in and out plus the widest layer temporaries per token, fp32 logits per row', () => {
  const llama = loadModel('llama-3.1-70b');
  // 2 · 8192 + max(2 · 28672 FFN, 2 · (64 + 16) · 128 QKV) = 73,728 elements of 2 B per token (config.json).
  assert.equal(stepActivationBytes(llama, { tokens: 1, logitRows: 0, dtype: 'bf16' }), 73728 * 2);
  // One logit row: 128,256 vocabulary entries in fp32.
  assert.equal(stepActivationBytes(llama, { tokens: 0, logitRows: 1, dtype: 'bf16' }), 128256 * 4);
});
