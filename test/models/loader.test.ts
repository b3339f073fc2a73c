import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel, loadModelConfig, listModelIds } from '../../lib/models/index.js';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { InputError } from '../../lib/util/errors.js';

const config = (id: string): Record<string, unknown> => JSON.parse(readFileSync(join(batchlabRoot(), 'data/models', `${id}.json`), 'utf8'));

test('listModelIds() ships every catalog model and each loads', () => {
  const ids = listModelIds();
  for (const id of ['deepseek-v3', 'llama-3.1-8b', 'llama-3.1-70b', 'llama-3.1-405b', 'mixtral-8x7b', 'qwen3-235b-a22b', 'gpt-oss-120b', 'kimi-k2']) {
    assert.ok(ids.includes(id), id);
    assert.equal(loadModel(id).id, id);
  }
});

test('loadModel() reads each architecture into the layer split its modeling code uses', () => {
  // deepseek-ai/DeepSeek-V3 config.json: 61 layers, first_k_dense_replace 3, 256 routed + 1 shared expert, top-8.
  const ds = loadModel('deepseek-v3');
  assert.equal(ds.architecture, 'deepseek_v3');
  assert.deepEqual([ds.denseLayers, ds.moeLayers], [3, 58]);
  assert.deepEqual([ds.moe!.numExperts, ds.moe!.expertsPerToken, ds.moe!.sharedExperts], [256, 8, 1]);
  assert.equal(ds.attention.kind, 'mla');
  // moonshotai/Kimi-K2-Instruct config.json: DeepseekV3ForCausalLM with 384 experts, 64 heads, first_k_dense_replace 1.
  const kimi = loadModel('kimi-k2');
  assert.equal(kimi.architecture, 'deepseek_v3');
  assert.deepEqual([kimi.moe!.numExperts, kimi.attention.numHeads, kimi.denseLayers, kimi.moeLayers], [384, 64, 1, 60]);
  // Qwen/Qwen3-235B-A22B config.json: 94 layers, all sparse (decoder_sparse_step 1, mlp_only_layers []), GQA 64/4, head_dim 128.
  const qwen = loadModel('qwen3-235b-a22b');
  assert.deepEqual([qwen.moeLayers, qwen.denseLayers], [94, 0]);
  assert.ok(qwen.attention.kind === 'gqa' && qwen.attention.numKvHeads === 4 && qwen.attention.headDim === 128 && qwen.attention.qkNorm);
  // openai/gpt-oss-120b config.json: 36 layers alternating sliding (window 128) and full attention, 128 experts top-4.
  const oss = loadModel('gpt-oss-120b');
  assert.deepEqual([oss.slidingLayers, oss.slidingWindow, oss.moe!.numExperts, oss.moe!.expertsPerToken], [18, 128, 128, 4]);
  // meta-llama/Llama-3.1-70B config.json: 80 layers, 64 query heads, 8 KV heads, head_dim 8192/64 = 128.
  const llama = loadModel('llama-3.1-70b');
  assert.ok(llama.attention.kind === 'gqa' && llama.attention.headDim === 128 && llama.attention.numKvHeads === 8);
  assert.equal(llama.moe, null);
});

test('loadModelConfig() rejects an unsupported architecture, naming it', () => {
  const gpt2 = { ...config('llama-3.1-8b'), architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' };
  assert.throws(() => loadModelConfig(gpt2), (e: unknown) => e instanceof InputError && /unsupported architecture GPT2LMHeadModel/.test(e.message));
  const { architectures: _, ...noClass } = config('llama-3.1-8b');
  assert.equal(loadModelConfig(noClass).architecture, 'llama');
  assert.throws(() => loadModelConfig({ ...noClass, model_type: 'mamba' }), /unsupported architecture mamba/);
  assert.throws(() => loadModelConfig({ ...noClass, model_type: undefined }), /model_type/);
  assert.throws(() => loadModelConfig('not a config'), InputError);
});

test('loadModelConfig() names a missing or invalid field', () => {
  const base = config('llama-3.1-8b');
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...base, hidden_size: undefined }, /hidden_size must be an integer/],
    [{ ...base, num_hidden_layers: 0 }, /num_hidden_layers/],
    [{ ...base, num_key_value_heads: 5 }, /num_key_value_heads must be a divisor/],
    [{ ...base, vocab_size: 1.5 }, /vocab_size/],
    [{ ...base, tie_word_embeddings: 'yes' }, /tie_word_embeddings must be true or false/],
    [{ ...config('mixtral-8x7b'), num_experts_per_tok: 9 }, /num_experts_per_tok must be an integer in \[1, 8\]/],
    [{ ...config('deepseek-v3'), kv_lora_rank: undefined }, /kv_lora_rank/],
    [{ ...config('qwen3-235b-a22b'), moe_intermediate_size: -1 }, /moe_intermediate_size/],
    [{ ...config('qwen3-235b-a22b'), mlp_only_layers: [200] }, /mlp_only_layers/],
    [{ ...config('gpt-oss-120b'), layer_types: ['full_attention'] }, /layer_types/],
    [{ ...config('gpt-oss-120b'), sliding_window: undefined }, /sliding_window/],
  ];
  for (const [cfg, re] of cases) assert.throws(() => loadModelConfig(cfg), (e: unknown) => e instanceof InputError && re.test(e.message), String(re));
  assert.throws(() => loadModel('gpt-5'), /model id must be one of/);
});

test('loadModelConfig() follows each architecture\'s layer rules (Qwen3 sparse step, DeepSeek layer frequency)', () => {
  // Qwen3MoeDecoderLayer: sparse iff not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0.
  const q = loadModelConfig({ ...config('qwen3-235b-a22b'), decoder_sparse_step: 2, mlp_only_layers: [1] });
  assert.equal(q.moeLayers, 46); // odd i in [0, 93] is 47 layers, minus layer 1
  assert.equal(q.denseLayers, 48);
  // DeepseekV3DecoderLayer: MoE iff i >= first_k_dense_replace and i % moe_layer_freq == 0.
  const d = loadModelConfig({ ...config('deepseek-v3'), moe_layer_freq: 2 });
  assert.equal(d.moeLayers, 29); // even i in [3, 60]: 4, 6, ..., 60
  // A llama config with as many KV heads as query heads is plain MHA.
  const mha = loadModelConfig({ ...config('llama-3.1-8b'), num_key_value_heads: 32 });
  assert.equal(mha.attention.kind, 'mha');
});

test("loadModel carries the config's max_position_embeddings as maxContextTokens, and a config without one has none", () => {
  // data/models/*.json are the HF config.json files: Llama 2 4096, Llama 3.1 131072, Qwen3 40960, DeepSeek-V3 163840.
  assert.equal(loadModel('llama-2-7b').maxContextTokens, 4096);
  assert.equal(loadModel('llama-3.1-8b').maxContextTokens, 131072);
  assert.equal(loadModel('qwen3-8b').maxContextTokens, 40960);
  assert.equal(loadModel('deepseek-v3').maxContextTokens, 163840);
  const cfg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../data/models/llama-3.1-8b.json'), 'utf8'));
  delete cfg.max_position_embeddings;
  assert.equal(loadModelConfig(cfg, 'x').maxContextTokens, undefined);
  assert.throws(() => loadModelConfig({ ...cfg, max_position_embeddings: -1 }, 'x'), /max_position_embeddings must be an integer/);
});

test("loadModelConfig() reads an FP8 checkpoint's scaling from quantization_config, as aiconfigurator does (sdk/utils.py:1205-1207, sdk/models/helpers.py:598-612)", () => {
  // deepseek-ai/DeepSeek-V3 and moonshotai/Kimi-K2-Instruct config.json: quant_method "fp8", weight_block_size [128, 128].
  assert.equal(loadModel('deepseek-v3').checkpointFp8Scaling, 'block');
  assert.equal(loadModel('kimi-k2').checkpointFp8Scaling, 'block');
  // A 16-bit checkpoint, and gpt-oss's mxfp4 (not FP8): nothing.
  assert.equal(loadModel('llama-3.1-70b').checkpointFp8Scaling, undefined);
  assert.equal(loadModel('gpt-oss-120b').checkpointFp8Scaling, undefined);
  // Per-tensor FP8: dynamic only where the checkpoint says so; static otherwise (helpers.py: "Non-block per-tensor FP8 is static unless the checkpoint explicitly marks dynamic activations").
  const llama = config('llama-3.1-8b');
  assert.equal(loadModelConfig({ ...llama, quantization_config: { quant_method: 'fp8', activation_scheme: 'dynamic' } }).checkpointFp8Scaling, 'dynamic');
  assert.equal(loadModelConfig({ ...llama, quantization_config: { quant_method: 'fp8', activation_scheme: 'static' } }).checkpointFp8Scaling, 'static');
  assert.equal(loadModelConfig({ ...llama, quantization_config: { quant_method: 'fp8' } }).checkpointFp8Scaling, 'static');
  assert.equal(loadModelConfig({ ...llama, quantization_config: { quant_method: 'fp8', weight_block_size: [128, 128], activation_scheme: 'dynamic' } }).checkpointFp8Scaling, 'block');
  assert.equal(loadModelConfig({ ...llama, quantization_config: { quant_method: 'awq' } }).checkpointFp8Scaling, undefined);
  assert.equal(loadModelConfig({ ...llama, quantization_config: 'fp8' }).checkpointFp8Scaling, undefined);
  // A block that is not two positive integers is refused, naming the field (it was read as block scaling).
  for (const bad of [[0, 128], [128], ['128', 128], 128]) {
    assert.throws(() => loadModelConfig({ ...llama, quantization_config: { quant_method: 'fp8', weight_block_size: bad } }), (e: unknown) => e instanceof InputError && e.field === 'quantization_config.weight_block_size');
  }
  // Another method is priced at the precision a command gives, and the notes say so: AWQ, and gpt-oss's MXFP4.
  assert.ok(loadModelConfig({ ...llama, quantization_config: { quant_method: 'awq', bits: 4 } }).notes!.some((n) => /^checkpoint quantized as awq \(quantization_config\): priced at the precision given, not by awq kernels$/.test(n)));
  assert.ok(loadModel('gpt-oss-120b').notes!.some((n) => /^checkpoint quantized as mxfp4 /.test(n)));
  assert.ok(!(loadModel('deepseek-v3').notes ?? []).some((n) => /checkpoint quantized/.test(n)));
});
