import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, loadModelConfig, loadModelFile, resolveModel } from '../../lib/models/spec.js';
import { paramCounts } from '../../lib/models/params.js';
import { kvBytesPerToken } from '../../lib/models/index.js';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { InputError } from '../../lib/util/errors.js';

// Each fixture copies the fields batchlab reads from the public config.json of the repo
// named in its test (as reproduced in public test fixtures and model registries).
const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(batchlabRoot(), 'test/fixtures/models', `${name}.json`), 'utf8'));
const QWEN25_DIR = join(batchlabRoot(), 'data/examples/models/qwen2.5-7b');

test('loadModelFile(): Qwen/Qwen2.5-7B-Instruct config.json loads as qwen2 with q, k, v biases and no o bias; its parameters are the closed-form sum', () => {
  const m = loadModelFile(QWEN25_DIR);
  assert.equal(m.architecture, 'qwen2');
  assert.equal(m.id, 'Qwen/Qwen2.5-7B-Instruct');
  assert.ok(m.attention.kind === 'gqa');
  // Qwen2Attention: q_proj, k_proj, v_proj with bias=True, o_proj bias=False.
  assert.deepEqual([m.attention.bias, m.attention.outputBias, m.attention.numHeads, m.attention.numKvHeads, m.attention.headDim], [true, false, 28, 4, 128]);
  assert.deepEqual([m.slidingLayers, m.slidingWindow, m.tieWordEmbeddings], [0, null, false]);
  // Closed form from the config: per layer q,o 3584² each, k,v 3584·512 each, biases 3584 + 2·512,
  // FFN 3·3584·18944, two norms of 3584; 28 layers; untied embedding and head 152064·3584 each; final norm.
  const perLayer = 2 * 3584 * 3584 + 2 * 3584 * 512 + (3584 + 2 * 512) + 3 * 3584 * 18944 + 2 * 3584;
  assert.equal(paramCounts(m).total, 28 * perLayer + 2 * 152064 * 3584 + 3584);
  assert.ok(m.notes!.some((n) => /biases/.test(n)));
  // The same through the file path and through resolveModel.
  assert.deepEqual(loadModelFile(join(QWEN25_DIR, 'config.json')), m);
  assert.deepEqual(resolveModel(QWEN25_DIR), m);
});

test('loadModelConfig(): Qwen/Qwen3-8B is qwen3 with per-head q/k norm and head_dim 128, and says the norm is not priced', () => {
  const m = loadModelConfig(fixture('qwen3-8b'), 'qwen3-8b');
  assert.equal(m.architecture, 'qwen3');
  assert.ok(m.attention.kind === 'gqa' && m.attention.qkNorm && !m.attention.bias && m.attention.headDim === 128 && m.attention.numKvHeads === 8);
  assert.deepEqual([m.numLayers, m.intermediateSize, m.vocabSize], [36, 12288, 151936]);
  assert.ok(m.notes!.some((n) => /q\/k RMSNorm/.test(n)));
});

test('loadModelConfig(): mistralai/Mistral-7B-Instruct-v0.3 (sliding_window null) attends over the whole context', () => {
  const m = loadModelConfig(fixture('mistral-7b-v0.3'));
  assert.equal(m.architecture, 'mistral');
  assert.deepEqual([m.slidingLayers, m.slidingWindow], [0, null]);
  // KV per token: 2 (K and V) × 8 heads × 128 × 32 layers × 2 bytes (bf16) = 131,072 bytes.
  assert.equal(kvBytesPerToken(m, 'bf16'), 2 * 8 * 128 * 32 * 2);
  // Mistral v0.1 set sliding_window 4096: every layer then slides.
  const v01 = loadModelConfig({ ...fixture('mistral-7b-v0.3'), sliding_window: 4096 });
  assert.deepEqual([v01.slidingLayers, v01.slidingWindow], [32, 4096]);
  assert.ok(v01.notes!.some((n) => /32 of 32 layers attend to the last 4096 tokens/.test(n)));
});

test('loadModelConfig(): google/gemma-2-9b slides on even layers, ties its embeddings, head_dim 256, and names the soft-capping it does not price', () => {
  const m = loadModelConfig(fixture('gemma-2-9b'));
  assert.equal(m.architecture, 'gemma2');
  // Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2): 21 of 42 layers.
  assert.deepEqual([m.slidingLayers, m.slidingWindow], [21, 4096]);
  assert.equal(m.tieWordEmbeddings, true);
  // head_dim 256 although hidden_size / heads = 3584 / 16 = 224.
  assert.ok(m.attention.kind === 'gqa' && m.attention.headDim === 256);
  assert.ok(m.notes!.some((n) => /soft-capping/.test(n)));
  assert.equal(paramCounts(m).lmHead, 0);
});

test('loadModelConfig(): google/gemma-3-1b-it keeps every 6th layer global (4 of 26), q/k norm; layer_types overrides the pattern', () => {
  const m = loadModelConfig(fixture('gemma-3-1b'));
  assert.equal(m.architecture, 'gemma3');
  // Gemma3: sliding unless (layer_idx + 1) % sliding_window_pattern == 0: layers 5, 11, 17, 23 are global.
  assert.deepEqual([m.slidingLayers, m.slidingWindow], [22, 512]);
  assert.ok(m.attention.kind === 'gqa' && m.attention.qkNorm && m.attention.numKvHeads === 1 && m.attention.headDim === 256);
  const types = Array.from({ length: 26 }, (_, i) => (i < 13 ? 'sliding_attention' : 'full_attention'));
  assert.equal(loadModelConfig({ ...fixture('gemma-3-1b'), layer_types: types }).slidingLayers, 13);
  assert.throws(() => loadModelConfig({ ...fixture('gemma-3-1b'), layer_types: ['sliding_attention'] }), (e: unknown) => e instanceof InputError && e.field === 'layer_types');
  // The KV of a sliding layer stops growing at the window: at 32k context, 22 layers hold 512 tokens.
  const windowed = loadModelConfig(fixture('gemma-3-1b'));
  const full = { ...windowed, slidingLayers: 0, slidingWindow: null };
  assert.ok(kvBytesPerToken(windowed, 'bf16') <= kvBytesPerToken(full, 'bf16'));
});

test('loadModelConfig(): microsoft/Phi-3-mini-4k-instruct is phi3, multi-head (32 of 32 KV heads, head_dim 96), fused projections noted', () => {
  const m = loadModelConfig(fixture('phi-3-mini'));
  assert.equal(m.architecture, 'phi3');
  assert.ok(m.attention.kind === 'mha' && m.attention.headDim === 3072 / 32 && !m.attention.bias && !m.attention.outputBias);
  assert.ok(m.notes!.some((n) => /fused qkv_proj/.test(n)));
});

test('loadModelFile() / resolveModel(): a missing path, a folder without config.json, bad JSON and a device are InputErrors naming the flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-model-'));
  assert.throws(() => resolveModel(join(dir, 'nope.json'), '--model'), (e: unknown) => e instanceof InputError && e.field === '--model');
  assert.throws(() => loadModelFile(dir, '--model'), (e: unknown) => e instanceof InputError && e.field === '--model' && /readable config\.json file/.test(e.message));
  writeFileSync(join(dir, 'config.json'), '{ not json');
  assert.throws(() => loadModelFile(dir, '--model'), (e: unknown) => e instanceof InputError && /valid JSON/.test(e.message));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...fixture('qwen3-8b'), num_key_value_heads: 5 }));
  assert.throws(() => loadModelFile(dir, '--model'), (e: unknown) => e instanceof InputError && /^--model .*config\.json: num_key_value_heads/.test(e.field));
  // A device is refused before a byte is read: only a regular file is read (lib/util/files.ts readTextCapped).
  assert.throws(() => loadModelFile('/dev/zero', '--model'), (e: unknown) => e instanceof InputError && e.field === '--model' && /it is a character device, not a regular file/.test(e.message));
  assert.throws(() => resolveModel('no-such-model', '--model'), (e: unknown) => e instanceof InputError && /catalog id/.test(e.message));
});

test('loadModelConfig(): a Gemma3ForConditionalGeneration config reads its text_config as the decoder and notes the unpriced vision tower', () => {
  // The multimodal Gemma-3 checkpoints nest the decoder's fields under text_config; the 1B fields stand in for them here.
  const { architectures: _a, model_type: _t, ...decoder } = fixture('gemma-3-1b');
  const wrapped = { architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: decoder, vision_config: { model_type: 'siglip_vision_model' } };
  const m = loadModelConfig(wrapped, 'gemma-3-wrapped');
  const plain = loadModelConfig(fixture('gemma-3-1b'), 'gemma-3-wrapped');
  assert.deepEqual({ ...m, notes: undefined }, { ...plain, notes: undefined });
  assert.ok(m.notes!.some((n) => /vision tower/.test(n)));
  const { num_attention_heads: _h, ...noHeads } = decoder;
  assert.throws(() => loadModelConfig({ ...wrapped, text_config: noHeads }), (e: unknown) => e instanceof InputError && e.field === 'text_config.num_attention_heads');
  assert.throws(() => loadModelConfig({ ...wrapped, text_config: undefined }), (e: unknown) => e instanceof InputError && e.field === 'text_config');
});

test('loadModel(): catalog models carry their own notes: gpt-oss\'s sinks and windows, DeepSeek-V3\'s uncounted MTP layer; Llama has none', () => {
  // openai/gpt-oss-120b config.json: 18 of 36 layers slide over 128 tokens; one sink logit per head.
  const oss = loadModel('gpt-oss-120b').notes!;
  assert.ok(oss.some((n) => /18 of 36 layers attend to the last 128 tokens/.test(n)) && oss.some((n) => /attention sinks/.test(n)));
  // deepseek-ai/DeepSeek-V3 config.json: num_nextn_predict_layers 1; Kimi-K2 sets 0.
  assert.ok(loadModel('deepseek-v3').notes!.some((n) => /^1 multi-token-prediction layer/.test(n)));
  assert.deepEqual(loadModel('kimi-k2').notes, []);
  assert.equal(loadModel('llama-3.1-8b').notes, undefined);
});
