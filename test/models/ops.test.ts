import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, paramCounts, kvBytesPerToken, decodeOps, prefillOps, modelStepOps } from '../../lib/models/index.js';
import type { ModelOperation } from '../../lib/models/index.js';
import { expectedActiveExperts } from '../../lib/models/ops.js';
import { rng } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';
import { prefillAttentionPairs } from '../../lib/core/matmul.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { rooflineStepCost, opRoofline } from '../../lib/roofline/index.js';

const sum = (ops: ModelOperation[], f: (o: ModelOperation) => number, pred: (o: ModelOperation) => boolean = () => true): number =>
  ops.filter(pred).reduce((s, o) => s + f(o), 0);
const byName = (ops: ModelOperation[], name: string): ModelOperation => {
  const o = ops.find((x) => x.name === name);
  assert.ok(o, `no operation ${name}`);
  return o;
};
const isWeightMatmul = (o: ModelOperation): boolean => o.group !== 'attention-core' && o.group !== 'embedding';
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

test('decodeOps() gives Llama-3.1-70B its matmul shapes from the config', () => {
  const ops = decodeOps(loadModel('llama-3.1-70b'), { batch: 64, context: 2048 });
  // Fused QKV: k = hidden 8192, n = (64 + 2·8) heads · 128 = 10,240 (config.json).
  assert.deepEqual(['m', 'k', 'n', 'calls'].map((f) => byName(ops, 'attn.qkv_proj')[f as 'm']), [64, 8192, 10240, 80]);
  assert.deepEqual(['m', 'k', 'n'].map((f) => byName(ops, 'ffn.gate_up_proj')[f as 'm']), [64, 8192, 2 * 28672]);
  assert.deepEqual(['m', 'k', 'n'].map((f) => byName(ops, 'ffn.down_proj')[f as 'm']), [64, 28672, 8192]);
  assert.deepEqual(['m', 'k', 'n'].map((f) => byName(ops, 'lm_head')[f as 'm']), [64, 8192, 128256]);
  for (const o of ops) assert.equal(o.bytes, o.weightBytes + o.activationBytes + o.kvBytes, o.name);
});

test('decodeOps(): weight-matmul FLOPs are 2 · tokens · matmul parameters, and weight bytes are every parameter once (dense)', () => {
  for (const id of ['llama-3.1-8b', 'llama-3.1-70b']) {
    const m = loadModel(id);
    const p = paramCounts(m);
    const matmulParams = p.total - p.embedding - p.norms;
    const ops = decodeOps(m, { batch: 16, context: 0 });
    assert.ok(rel(sum(ops, (o) => o.flops, isWeightMatmul), 2 * 16 * matmulParams) < 1e-12, id);
    assert.ok(rel(sum(ops, (o) => o.weightBytes, isWeightMatmul), 2 * matmulParams) < 1e-12, id);
  }
});

test('modelStepOps(): MoE FLOPs follow the active parameters, weight bytes the experts actually reached', () => {
  for (const id of ['deepseek-v3', 'mixtral-8x7b', 'qwen3-235b-a22b', 'gpt-oss-120b']) {
    const m = loadModel(id);
    const p = paramCounts(m);
    // Biases (gpt-oss) and DeepSeek's router correction bias are not matmul weights: allow 1e-3.
    const activeMatmul = p.active - p.embedding - p.norms;
    const ops = decodeOps(m, { batch: 32, context: 0 });
    assert.ok(rel(sum(ops, (o) => o.flops, isWeightMatmul), 2 * 32 * activeMatmul) < 1e-3, id);
    // With one token exactly k experts are read; with 2^20 tokens all of them are.
    const one = decodeOps(m, { batch: 1, context: 0 });
    assert.ok(rel(sum(one, (o) => o.weightBytes, isWeightMatmul), 2 * activeMatmul) < 1e-3, `${id} batch 1`);
    const all = modelStepOps(m, { prefillTokens: 0, decodeTokens: 1 << 20, contextTokens: 0 });
    assert.ok(rel(sum(all, (o) => o.weightBytes, isWeightMatmul), 2 * (p.total - p.embedding - p.norms)) < 1e-3, `${id} all experts`);
  }
});

test('expectedActiveExperts(E, k, T) = E·(1 − (1 − k/E)^T) matches seeded sampling of top-k routing', () => {
  // Closed form: a token misses a given expert with probability 1 − k/E (k distinct picks out of E).
  assert.equal(expectedActiveExperts(256, 8, 1), 8);
  assert.equal(expectedActiveExperts(8, 8, 5), 8);
  const E = 64;
  const k = 6;
  const T = 12;
  const r = rng(7);
  let total = 0;
  const trials = 3000;
  for (let t = 0; t < trials; t++) {
    const hit = new Set<number>();
    for (let i = 0; i < T; i++) {
      const pool = Array.from({ length: E }, (_, j) => j);
      for (let j = 0; j < k; j++) hit.add(pool.splice(Math.floor(r() * pool.length), 1)[0]);
    }
    total += hit.size;
  }
  assert.ok(rel(total / trials, expectedActiveExperts(E, k, T)) < 0.01);
});

test('routed-expert operations: an expert\'s batch is its routed share of the tokens', () => {
  const ds = loadModel('deepseek-v3');
  const one = byName(decodeOps(ds, { batch: 1, context: 0 }), 'moe.expert.gate_up_proj');
  assert.deepEqual([one.m, one.batch, one.k, one.n], [1, 8, 7168, 4096]); // top-8 experts, one token each
  const many = byName(decodeOps(ds, { batch: 65536, context: 0 }), 'moe.expert.down_proj');
  // 65,536 tokens × 8 / 256 experts = 2,048 tokens per expert once every expert is reached.
  assert.ok(rel(many.m, 2048) < 1e-9 && rel(many.batch, 256) < 1e-9);
  assert.equal(many.calls, 58);
  // Shared experts see every token.
  assert.equal(byName(decodeOps(ds, { batch: 100, context: 0 }), 'moe.shared.gate_up_proj').m, 100);
});

test('decodeOps(): the attention core reads exactly the KV cache and does 2·heads·(qk + v) FLOPs per cached token', () => {
  const ctx = 3000;
  const batch = 8;
  const ds = loadModel('deepseek-v3');
  const dsCore = byName(decodeOps(ds, { batch, context: ctx }), 'attn.core.decode');
  assert.equal(dsCore.kvBytes, kvBytesPerToken(ds, 'bf16') * ctx * batch); // 70,272 B/token (MLA latent + rope key)
  // Absorbed MLA: scores over 576 latent+rope dims, values over the 512-wide latent, 128 heads, 61 layers.
  assert.equal(dsCore.flops, 2 * 128 * (576 + 512) * ctx * batch * 61);
  const llama = loadModel('llama-3.1-70b');
  const core = byName(decodeOps(llama, { batch, context: ctx }), 'attn.core.decode');
  assert.equal(core.kvBytes, kvBytesPerToken(llama, 'bf16') * ctx * batch);
  assert.equal(core.flops, 4 * 64 * 128 * ctx * batch * 80);
  // GQA: 8 query heads share each KV head, so the core's matmul has m = 8 rows per sequence and KV head.
  assert.deepEqual([core.m, core.k, core.n, core.batch], [8, 128, ctx, 8 * batch]);
  // gpt-oss sliding layers only see the last 128 tokens.
  const oss = decodeOps(loadModel('gpt-oss-120b'), { batch, context: ctx });
  assert.equal(byName(oss, 'attn.core.decode.sliding').n, 128);
  assert.equal(byName(oss, 'attn.core.decode').n, ctx);
  // No context, no attention core.
  assert.equal(decodeOps(llama, { batch, context: 0 }).some((o) => o.group === 'attention-core'), false);
});

test('MLA: prefill up-projects the latent (kv_b_proj), decode uses absorbed weights instead', () => {
  const ds = loadModel('deepseek-v3');
  const pre = prefillOps(ds, { tokens: 1024 });
  const kvb = byName(pre, 'attn.kv_b_proj');
  // kv_b_proj: kv_lora_rank 512 -> 128 heads · (qk_nope 128 + v 128) = 32,768 (DeepSeek-V3 config.json).
  assert.deepEqual([kvb.m, kvb.k, kvb.n], [1024, 512, 32768]);
  assert.equal(pre.some((o) => o.name === 'attn.q_absorb'), false);
  const dec = decodeOps(ds, { batch: 4, context: 100 });
  assert.equal(dec.some((o) => o.name === 'attn.kv_b_proj'), false);
  // The absorbed path uses the same weights as kv_b_proj: 128 · 128 · 512 + 128 · 512 · 128 parameters.
  const absorbed = byName(dec, 'attn.q_absorb').weightBytes + byName(dec, 'attn.v_absorb').weightBytes;
  assert.equal(absorbed, kvb.weightBytes);
});

test('prefillOps(): causal attention FLOPs are 4·heads·head_dim·L(L+1)/2 per layer; LM head runs once per prompt', () => {
  const L = 512;
  const ops = prefillOps(loadModel('llama-3.1-8b'), { tokens: L });
  assert.equal(byName(ops, 'attn.core.prefill').flops, 4 * 32 * 128 * ((L * (L + 1)) / 2) * 32);
  assert.equal(byName(ops, 'lm_head').m, 1);
  const split = prefillOps(loadModel('llama-3.1-8b'), { tokens: L, sequences: 4 });
  // Four prompts of 128 tokens: 4 · 128·129/2 query-key pairs, four LM-head rows.
  assert.equal(byName(split, 'attn.core.prefill').flops, 4 * 32 * 128 * (4 * (128 * 129) / 2) * 32);
  assert.equal(byName(split, 'lm_head').m, 4);
  // gpt-oss sliding layers: 128·129/2 + (L − 128)·128 pairs.
  const oss = prefillOps(loadModel('gpt-oss-120b'), { tokens: L });
  assert.equal(byName(oss, 'attn.core.prefill.sliding').flops, 4 * 64 * 64 * ((128 * 129) / 2 + (L - 128) * 128) * 18);
});

test('bytes scale with the dtype', () => {
  const m = loadModel('mixtral-8x7b');
  const bf = decodeOps(m, { batch: 4, context: 64, dtype: 'bf16' });
  const f8 = decodeOps(m, { batch: 4, context: 64, dtype: 'fp8' });
  assert.equal(sum(bf, (o) => o.bytes), 2 * sum(f8, (o) => o.bytes));
  assert.equal(sum(bf, (o) => o.flops), sum(f8, (o) => o.flops));
});

test('operation builders reject bad input with InputError naming the field', () => {
  const m = loadModel('llama-3.1-8b');
  assert.throws(() => decodeOps(m, { batch: 0, context: 1 }), (e: unknown) => e instanceof InputError && /batch/.test(e.message));
  assert.throws(() => decodeOps(m, { batch: 2, context: NaN }), /context/);
  assert.throws(() => decodeOps(m, { batch: 2 ** 30, context: 1 }), /batch/);
  assert.throws(() => prefillOps(m, { tokens: 10, sequences: 11 }), /prefillSequences/);
  assert.throws(() => modelStepOps(m, { prefillTokens: 0, decodeTokens: 0, contextTokens: 0 }), /at least 1/);
  assert.throws(() => modelStepOps(m, { prefillTokens: 5, decodeTokens: 0, contextTokens: 9 }), /contextTokens/);
  assert.throws(() => decodeOps(m, { batch: 1, context: 1, dtype: 'fp4' as never }), /dtype/);
});

const coreFlops = (ops: ModelOperation[]): number => sum(ops, (o) => o.flops, (o) => o.group === 'attention-core');
const coreBytes = (ops: ModelOperation[]): number => sum(ops, (o) => o.bytes, (o) => o.group === 'attention-core');

test("modelStepOps(): a steady state's mean share of one prompt costs that share of the whole prompt's attention and LM-head rows", () => {
  const m = loadModel('llama-3.1-70b');
  // One 1,000-token prompt every 10.4 steps: 96 tokens of 0.096 prompts per mean step.
  const share = modelStepOps(m, { prefillTokens: 96, decodeTokens: 0, contextTokens: 0, prefillSequences: 0.096 });
  const whole = modelStepOps(m, { prefillTokens: 1000, decodeTokens: 0, contextTokens: 0 });
  // Causal pairs 0.096 · 1000·1001/2, against 96·97/2 if the 96 tokens were a prompt of their own.
  assert.ok(Math.abs(coreFlops(share) - 0.096 * coreFlops(whole)) < 1e-9 * coreFlops(whole));
  // The LM head runs on each prompt's last token: 0.096 rows per mean step.
  assert.equal(share.find((o) => o.name === 'lm_head')!.m, 0.096);
});

test('modelStepOps(): k prompts prefilled together cost exactly the sum of k single-prompt prefills', () => {
  // Causal attention of k prompts of L tokens is k · L(L+1)/2 pairs, not (kL)(kL+1)/2 (issue 12, honest pricing).
  for (const id of ['llama-3.1-70b', 'deepseek-v3', 'gpt-oss-120b']) {
    const m = loadModel(id);
    for (const [k, L] of [[2, 512], [7, 300], [16, 4096]]) {
      const together = modelStepOps(m, { prefillTokens: k * L, decodeTokens: 0, contextTokens: 0, prefillSequences: k });
      const one = modelStepOps(m, { prefillTokens: L, decodeTokens: 0, contextTokens: 0 });
      assert.equal(coreFlops(together), k * coreFlops(one), `${id} k=${k} L=${L}`);
      assert.equal(coreBytes(together), k * coreBytes(one), `${id} k=${k} L=${L} bytes`);
      // The same step described by its pair count instead of its prompt count.
      const byPairs = modelStepOps(m, { prefillTokens: k * L, decodeTokens: 0, contextTokens: 0, prefillSequences: k, prefillAttentionPairs: k * prefillAttentionPairs(L, 0) });
      // Sliding layers (gpt-oss) price a pair count at min(pairs, tokens·window): an upper bound on the windowed pairs.
      if (m.slidingLayers === 0) assert.equal(coreFlops(byPairs), coreFlops(together), `${id} pairs`);
      else assert.ok(coreFlops(byPairs) >= coreFlops(together), `${id} pairs bound`);
    }
  }
});

test('modelStepOps(): the chunks of a prompt sum exactly to the whole prompt\'s attention cost', () => {
  // A 131,072-token prompt in 8,192-token chunks: chunk i attends to its i·8192 cached tokens too
  // (prefillAttentionPairs(c, o) = c·o + c(c+1)/2, lib/core), so the chunks sum to 131072·131073/2 pairs.
  for (const id of ['llama-3.1-70b', 'deepseek-v3']) {
    const m = loadModel(id);
    const L = 131072;
    const c = 8192;
    const whole = modelStepOps(m, { prefillTokens: L, decodeTokens: 0, contextTokens: 0 });
    let flops = 0;
    let bytes = 0;
    for (let o = 0; o < L; o += c) {
      const chunk = modelStepOps(m, { prefillTokens: c, decodeTokens: 0, contextTokens: 0, prefillAttentionPairs: prefillAttentionPairs(c, o) });
      flops += coreFlops(chunk);
      bytes += coreBytes(chunk);
    }
    assert.equal(flops, coreFlops(whole), id);
    assert.equal(bytes, coreBytes(whole), `${id} bytes`);
    // Without the pair count each chunk would be priced as a fresh prompt: 16 × 8192²/2 ≈ 1/16 of the whole.
    const fresh = 16 * coreFlops(modelStepOps(m, { prefillTokens: c, decodeTokens: 0, contextTokens: 0 }));
    assert.ok(fresh < coreFlops(whole) / 15, id);
  }
});

test('rooflineStepCost() honours prefillSequences and prefillAttentionPairs', () => {
  const m = loadModel('llama-3.1-70b');
  const hw = loadHardware('h100-sxm');
  const cost = rooflineStepCost(m, hw, { dtype: 'bf16' });
  // Eight 4,096-token prompts: one prompt of 32,768 tokens has 8× the attention pairs, so it must cost more.
  const eight = cost({ prefillTokens: 8 * 4096, decodeTokens: 0, contextTokens: 0, prefillSequences: 8 });
  const one = cost({ prefillTokens: 8 * 4096, decodeTokens: 0, contextTokens: 0 });
  assert.ok(eight < one);
  // The two steps differ only in the attention core and the LM head (one row per prompt): the cost passes both through.
  const ops8 = modelStepOps(m, { prefillTokens: 8 * 4096, decodeTokens: 0, contextTokens: 0, prefillSequences: 8 });
  const ops1 = modelStepOps(m, { prefillTokens: 8 * 4096, decodeTokens: 0, contextTokens: 0 });
  const seconds = (ops: ModelOperation[]): number =>
    sum(ops, (o) => opRoofline(o, hw, 'bf16').seconds, (o) => o.group === 'attention-core' || o.group === 'lm-head');
  assert.ok(rel(one - eight, seconds(ops1) - seconds(ops8)) < 1e-9);
  // A late chunk attends to the cached prompt: dearer than the same chunk from an empty cache.
  const late = cost({ prefillTokens: 8192, decodeTokens: 0, contextTokens: 0, prefillAttentionPairs: prefillAttentionPairs(8192, 122880) });
  const first = cost({ prefillTokens: 8192, decodeTokens: 0, contextTokens: 0, prefillAttentionPairs: prefillAttentionPairs(8192, 0) });
  assert.ok(late > first);
});

test('modelStepOps() rejects a pair count that cannot be (fewer than one pair per token, or pairs without prefill)', () => {
  const m = loadModel('llama-3.1-8b');
  assert.throws(() => modelStepOps(m, { prefillTokens: 10, decodeTokens: 0, contextTokens: 0, prefillAttentionPairs: 9 }), /prefillAttentionPairs/);
  assert.throws(() => modelStepOps(m, { prefillTokens: 0, decodeTokens: 1, contextTokens: 1, prefillAttentionPairs: 5 }), /prefillAttentionPairs/);
});
