import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../lib/backend/registry.js';
import { engineConfigFromHf, engineParamCount, scaleEngineConfig } from '../../lib/engine/config.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { loadSafetensorsDir, readSafetensors, saveSafetensors, writeSafetensors } from '../../lib/engine/safetensors.js';
import { checkEngineFits, engineParamLimit, expectedWeightShapes, seededWeightSource, seededWeights } from '../../lib/engine/weights.js';
import type { EngineWeights } from '../../lib/engine/weights.js';
import { loadModel } from '../../lib/models/spec.js';
import { readFileSync } from 'node:fs';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { InputError } from '../../lib/util/errors.js';
import { TINY_DENSE, TINY_DENSE_HF } from './fixtures.js';

test('engineConfigFromHf(llama-3.2-1b config.json) reads its shapes and constants', () => {
  const json = JSON.parse(readFileSync(join(batchlabRoot(), 'data/models/llama-3.2-1b.json'), 'utf8'));
  const c = engineConfigFromHf(json, { id: 'llama-3.2-1b', maxContext: 2048 });
  // meta-llama/Llama-3.2-1B config.json: hidden 2048, 16 layers, 32/8 heads of 64, FFN 8192, theta 500000, eps 1e-5, tied.
  assert.deepEqual(
    [c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.ropeTheta, c.rmsNormEps, c.tieWordEmbeddings, c.numExperts],
    [2048, 16, 32, 8, 64, 8192, 500000, 1e-5, true, 0],
  );
});

test('engineConfigFromHf(mixtral-8x7b) keeps 8 experts, top-2; deepseek-v3 (MLA) is refused by name', () => {
  const m = engineConfigFromHf(JSON.parse(readFileSync(join(batchlabRoot(), 'data/models/mixtral-8x7b.json'), 'utf8')), { maxContext: 4096 });
  // mistralai/Mixtral-8x7B-v0.1 config.json: num_local_experts 8, num_experts_per_tok 2, intermediate 14336.
  assert.deepEqual([m.numExperts, m.expertsPerToken, m.intermediateSize], [8, 2, 14336]);
  const ds = JSON.parse(readFileSync(join(batchlabRoot(), 'data/models/deepseek-v3.json'), 'utf8'));
  assert.throws(() => engineConfigFromHf(ds), (e: unknown) => e instanceof InputError && /attention/.test(e.message));
});

test('scaleEngineConfig(llama-3.2-1b, ½ width, ½ depth, ⅛ vocab) has the parameter count of its closed form', () => {
  const json = JSON.parse(readFileSync(join(batchlabRoot(), 'data/models/llama-3.2-1b.json'), 'utf8'));
  const s = scaleEngineConfig(engineConfigFromHf(json, { maxContext: 2048 }), { width: 0.5, depth: 0.5, vocab: 0.125 });
  assert.deepEqual([s.hiddenSize, s.numHeads, s.numKvHeads, s.headDim, s.intermediateSize, s.numLayers, s.vocabSize], [1024, 16, 4, 64, 4096, 8, 16032]);
  // Per layer: q,o 2·1024² + k,v 2·1024·256 + FFN 3·1024·4096 + 2 norms of 1024; plus tied embedding 16032·1024 and the final norm.
  const perLayer = 2 * 1024 * 1024 + 2 * 1024 * 256 + 3 * 1024 * 4096 + 2 * 1024;
  assert.equal(engineParamCount(s).total, 8 * perLayer + 16032 * 1024 + 1024);
  // The same count lib/models gives for the equivalent spec of the unscaled model.
  assert.equal(engineParamCount(engineConfigFromHf(json)).total, 1_235_814_400);
  assert.equal(loadModel('llama-3.2-1b').hiddenSize, 2048);
});

test('seededWeights(config, seed) is bit-identical for a seed and differs between seeds', () => {
  const a = seededWeights(TINY_DENSE, 3).get('model.layers.1.mlp.down_proj.weight')!;
  const b = seededWeights(TINY_DENSE, 3).get('model.layers.1.mlp.down_proj.weight')!;
  const c = seededWeights(TINY_DENSE, 4).get('model.layers.1.mlp.down_proj.weight')!;
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  // Uniform on ±sqrt(3/fan_in): variance 1/fan_in = 1/48 for down_proj [32, 48].
  let v = 0;
  for (const x of a.data) v += x * x;
  assert.ok(Math.abs(v / a.data.length - 1 / 48) < 0.25 / 48);
});

test('loadSafetensorsDir() on a tiny model written as two shards gives the engine the seeded logits exactly', async () => {
  const tf = (await selectBackend('auto', { log: () => {} })).tf;
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-st-'));
  try {
    const w = seededWeights(TINY_DENSE, 11);
    const names = [...w.keys()];
    const half = Math.floor(names.length / 2);
    const shard = (ns: string[]): EngineWeights => new Map(ns.map((n) => [n, w.get(n)!]));
    saveSafetensors(join(dir, 'model-00001-of-00002.safetensors'), shard(names.slice(0, half)), { format: 'pt' });
    saveSafetensors(join(dir, 'model-00002-of-00002.safetensors'), shard(names.slice(half)));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(TINY_DENSE_HF));
    const cfg = engineConfigFromHf(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const loaded = loadSafetensorsDir(dir);
    assert.deepEqual([...loaded.keys()].sort(), [...expectedWeightShapes(cfg).keys()].sort());
    const a = new DecodeEngine(tf, cfg, loaded);
    const b = new DecodeEngine(tf, TINY_DENSE, w);
    const la = a.forward([{ seq: 0, tokens: [1, 2, 3] }]);
    const lb = b.forward([{ seq: 0, tokens: [1, 2, 3] }]);
    assert.deepEqual(la.dataSync(), lb.dataSync());
    tf.dispose([la, lb]);
    a.dispose();
    b.dispose();
    // A name in two shards is refused.
    saveSafetensors(join(dir, 'model-extra.safetensors'), shard([names[0]]));
    assert.throws(() => loadSafetensorsDir(dir), /one shard only/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readSafetensors() decodes F16 and BF16 and names what is wrong in a malformed file', () => {
  // IEEE 754 bit patterns: f16 0x3C00 = 1, 0xC000 = -2, 0x3555 = 0.333251953125; bf16 0x3F80 = 1, 0x4049 = 3.140625.
  const header = (h: object): Uint8Array => {
    const j = new TextEncoder().encode(JSON.stringify(h));
    const b = new Uint8Array(8 + j.length);
    new DataView(b.buffer).setBigUint64(0, BigInt(j.length), true);
    b.set(j, 8);
    return b;
  };
  const withData = (h: object, data: number[]): Uint8Array => {
    const head = header(h);
    const out = new Uint8Array(head.length + 2 * data.length);
    out.set(head);
    const v = new DataView(out.buffer);
    data.forEach((d, i) => v.setUint16(head.length + 2 * i, d, true));
    return out;
  };
  const f16 = readSafetensors(withData({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, [0x3c00, 0xc000, 0x3555]));
  assert.deepEqual([...f16.get('a')!.data], [1, -2, 0.333251953125]);
  const bf = readSafetensors(withData({ b: { dtype: 'BF16', shape: [1, 2], data_offsets: [0, 4] } }, [0x3f80, 0x4049]));
  assert.deepEqual([...bf.get('b')!.data], [1, 3.140625]);
  assert.deepEqual(bf.get('b')!.shape, [1, 2]);
  const round = readSafetensors(writeSafetensors(new Map([['x', { shape: [2], data: Float32Array.of(0.5, -7) }]])));
  assert.deepEqual([...round.get('x')!.data], [0.5, -7]);

  const bad: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(4), /header length/],
    [header({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }), /dtype/],
    [header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }), /data_offsets/],
    [withData({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, [1, 2]), /span of 6 bytes/],
  ];
  const notJson = header({});
  notJson[8] = 0x7b + 1;
  bad.push([notJson, /valid JSON/]);
  for (const [bytes, re] of bad) assert.throws(() => readSafetensors(bytes), (e: unknown) => e instanceof InputError && re.test(e.message), String(re));
});

test('engineParamLimit(memory) is (min(total, free) − 2 GiB) / 4 bytes, and the full Llama-3.2-1B passes within 24 GiB', () => {
  const GiB = 2 ** 30;
  // (18 − 2) GiB of float32 = 16 · 2^30 / 4 parameters.
  assert.equal(engineParamLimit({ totalBytes: 24 * GiB, freeBytes: 18 * GiB }).params, (16 * GiB) / 4);
  // Total below free: the total bounds it.
  assert.equal(engineParamLimit({ totalBytes: 6 * GiB, freeBytes: 18 * GiB }).params, GiB);
  assert.equal(engineParamLimit({ totalBytes: GiB, freeBytes: GiB }).params, 0);
  const json = JSON.parse(readFileSync(join(batchlabRoot(), 'data/models/llama-3.2-1b.json'), 'utf8'));
  const full = engineConfigFromHf(json);
  // 1,235,814,400 parameters (lib/models count, test above) · 4 bytes = 4.6 GiB, + 2 GiB < 18 GiB.
  assert.doesNotThrow(() => checkEngineFits(full, { totalBytes: 24 * GiB, freeBytes: 18 * GiB }));
  // With 6 GiB available only 1 GiB of parameters fit: refused, the bound and its reason in the message.
  assert.throws(
    () => seededWeightSource(full, 1, { totalBytes: 24 * GiB, freeBytes: 6 * GiB }),
    (e: unknown) => e instanceof InputError && e.field === 'config' && e.message.includes(`at most ${GiB} parameters`) && /float32 weights/.test(e.message) && /available 6\.0 GiB/.test(e.message),
  );
});

test('seededWeightSource(config, seed) draws each tensor as seededWeights does, one at a time', () => {
  const src = seededWeightSource(TINY_DENSE, 3);
  const map = seededWeights(TINY_DENSE, 3);
  for (const name of expectedWeightShapes(TINY_DENSE).keys()) assert.deepEqual(src.get(name), map.get(name));
  assert.equal(src.get('not.a.weight'), undefined);
});

test('DecodeEngine refuses a source that lacks a tensor, naming it, and leaves no tensor behind', async () => {
  const tf = (await selectBackend('auto', { log: () => {} })).tf;
  const src = seededWeightSource(TINY_DENSE, 3);
  const before = tf.memory().numTensors;
  const missing = 'model.layers.1.mlp.down_proj.weight';
  assert.throws(
    () => new DecodeEngine(tf, TINY_DENSE, { get: (n: string) => (n === missing ? undefined : src.get(n)) }),
    (e: unknown) => e instanceof InputError && e.field === `weights["${missing}"]`,
  );
  assert.equal(tf.memory().numTensors, before);
});
