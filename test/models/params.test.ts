import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, loadModelConfig, paramCounts, kvBytesPerToken, kvCacheBytesPerSequence } from '../../lib/models/index.js';
import { batchlabRoot } from '../../lib/util/package-root.js';

const B = 1e9;
function near(actual: number, expected: number, relTol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relTol * expected, `${what}: ${actual} vs ${expected} (±${relTol * 100}%)`);
}

test('paramCounts(): DeepSeek-V3 has 671B total and about 37B active', () => {
  // DeepSeek-V3 technical report (arXiv:2412.19437), abstract: "671B total parameters with 37B activated for each token".
  const p = paramCounts(loadModel('deepseek-v3'));
  near(p.total, 671 * B, 0.001, 'total');
  near(p.active, 37 * B, 0.03, 'active');
});

test('paramCounts(): Llama-3.1-70B is 70.6B and Llama-3.1-405B is 405.9B', () => {
  // Hugging Face model pages of meta-llama/Llama-3.1-70B and -405B: "Model size 70.6B params" and "405.9B params"
  // (rounded to one decimal, hence ±0.1%).
  near(paramCounts(loadModel('llama-3.1-70b')).total, 70.6 * B, 0.001, '70B');
  near(paramCounts(loadModel('llama-3.1-405b')).total, 405.9 * B, 0.001, '405B');
  // Llama 3.2 1B: the HF model page lists 1.24B params; by hand from its config.json,
  // embed 128256·2048 (tied with the LM head) + 16 layers · (2·2048² + 2·2048·512 + 3·2048·8192)
  // + norms (33·2048) = 1,235,814,400.
  assert.equal(paramCounts(loadModel('llama-3.2-1b')).total, 1_235_814_400);
  // Llama 3.1 model card: 8B (HF model page: 8.03B params).
  near(paramCounts(loadModel('llama-3.1-8b')).total, 8.03 * B, 0.001, '8B');
  const dense = paramCounts(loadModel('llama-3.1-70b'));
  assert.equal(dense.active, dense.total); // dense: a token touches everything
});

test('paramCounts(): Mixtral-8x7B has 46.7B total and 12.9B active', () => {
  // Mistral AI, "Mixtral of experts" (arXiv:2401.04088), sec. 2: 47B total / 13B active; blog post
  // "Mixtral of experts" (Dec 2023): "46.7B total parameters but only uses 12.9B parameters per token".
  const p = paramCounts(loadModel('mixtral-8x7b'));
  near(p.total, 46.7 * B, 0.002, 'total');
  near(p.active, 12.9 * B, 0.005, 'active');
});

test('paramCounts(): Qwen3-235B-A22B has 235B total and 22B active', () => {
  // Qwen3 technical report (arXiv:2505.09388), Table 2 and the model name: 235B total, 22B activated.
  const p = paramCounts(loadModel('qwen3-235b-a22b'));
  near(p.total, 235 * B, 0.003, 'total');
  near(p.active, 22 * B, 0.02, 'active');
});

test('paramCounts(): gpt-oss-120b has 116.83B total and 5.13B active without the embedding table', () => {
  // OpenAI gpt-oss model card (Aug 2025), Table 1: total 116.83B, active per token 5.13B; the card does not
  // count the input embedding as active.
  const p = paramCounts(loadModel('gpt-oss-120b'));
  near(p.total, 116.83 * B, 0.0005, 'total');
  near(p.active - p.embedding, 5.13 * B, 0.002, 'active');
});

test('paramCounts(): Kimi-K2 has about 1T total and 32B active', () => {
  // moonshotai/Kimi-K2-Instruct README: "1 trillion total parameters", "32 billion activated parameters".
  const p = paramCounts(loadModel('kimi-k2'));
  near(p.total, 1000 * B, 0.04, 'total');
  near(p.active, 32 * B, 0.04, 'active');
});

test('paramCounts() parts add up to the total, and active = total - unrouted experts', () => {
  for (const id of ['deepseek-v3', 'mixtral-8x7b', 'gpt-oss-120b', 'llama-3.1-8b']) {
    const m = loadModel(id);
    const p = paramCounts(m);
    assert.equal(p.embedding + p.lmHead + p.attention + p.denseFfn + p.routedExperts + p.sharedExperts + p.router + p.norms, p.total, id);
    if (m.moe) {
      // Each MoE layer's routed experts are identical, so the active share is k/E of them.
      assert.ok(Math.abs(p.total - p.active - p.routedExperts * (1 - m.moe.expertsPerToken / m.moe.numExperts)) < 1, id);
    }
  }
  // Tying the LM head to the embedding removes vocab·hidden parameters.
  const cfg = JSON.parse(readFileSync(join(batchlabRoot(), 'data/models/llama-3.1-8b.json'), 'utf8'));
  const tied = paramCounts(loadModelConfig({ ...cfg, tie_word_embeddings: true }));
  assert.equal(paramCounts(loadModel('llama-3.1-8b')).total - tied.total, 128256 * 4096);
});

test('kvBytesPerToken(): DeepSeek-V3 MLA caches 70,272 bytes per token in bf16', () => {
  // (kv_lora_rank 512 + qk_rope_head_dim 64) × 61 layers × 2 bytes (DeepSeek-V2 paper, arXiv:2405.04434, sec. 2.1.4).
  assert.equal(kvBytesPerToken(loadModel('deepseek-v3'), 'bf16'), 70272);
  assert.equal(kvBytesPerToken(loadModel('deepseek-v3'), 'fp8'), 35136);
});

test('kvBytesPerToken(): GQA and MHA cache K and V per KV head', () => {
  // GQA closed form 2 · kv_heads · head_dim · layers · bytes: Llama-3.1-70B = 2·8·128·80·2 = 327,680.
  assert.equal(kvBytesPerToken(loadModel('llama-3.1-70b'), 'bf16'), 327680);
  // Qwen3-235B-A22B: 2·4·128·94·2 = 192,512.
  assert.equal(kvBytesPerToken(loadModel('qwen3-235b-a22b'), 'bf16'), 192512);
  // MHA (kv heads = heads = 32): 2·32·128·32·2 = 524,288, four times the GQA figure of the same model (32/8).
  const cfg = JSON.parse(readFileSync(join(batchlabRoot(), 'data/models/llama-3.1-8b.json'), 'utf8'));
  const mha = loadModelConfig({ ...cfg, num_key_value_heads: 32 });
  assert.equal(kvBytesPerToken(mha, 'bf16'), 524288);
  assert.equal(kvBytesPerToken(mha, 'bf16') / kvBytesPerToken(loadModel('llama-3.1-8b'), 'bf16'), 4);
});

test('kvCacheBytesPerSequence() caps sliding-window layers at the window', () => {
  const oss = loadModel('gpt-oss-120b');
  // gpt-oss-120b: 18 full + 18 sliding (window 128) layers, 2·8·64·2 = 2,048 bytes per token per layer.
  assert.equal(kvCacheBytesPerSequence(oss, 'bf16', 100), 36 * 100 * 2048);
  assert.equal(kvCacheBytesPerSequence(oss, 'bf16', 10_000), (18 * 10_000 + 18 * 128) * 2048);
  assert.equal(kvCacheBytesPerSequence(loadModel('llama-3.1-70b'), 'bf16', 1000), 1000 * 327680);
  assert.throws(() => kvCacheBytesPerSequence(oss, 'bf16', -1), /context/);
});
