import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../lib/backend/registry.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { seededWeights } from '../../lib/engine/weights.js';
import { engineKernelBench } from '../../lib/server/engine-kernels.js';
import { InputError } from '../../lib/util/errors.js';
import { TINY_DENSE } from '../engine/fixtures.js';

type Tf = typeof import('@tensorflow/tfjs-core');
let tf: Tf;
before(async () => {
  tf = (await selectBackend('auto', { log: () => {} })).tf;
});

test('engineKernelBench: one GEMM row per projection and batch at the engine\'s shapes, one attention row per batch; a round times one batch and frees what it made', async () => {
  const c = TINY_DENSE;
  const e = new DecodeEngine(tf, c, seededWeights(c, 3));
  const before = tf.memory().numTensors;
  const bench = engineKernelBench(e, { batches: [1, 4], context: 9 });
  // Five projections (qkv, o, gate/up, down, LM head) and one attention row for each batch.
  assert.equal(bench.rows.length, 2 * 6);
  const qkv = bench.rows.find((r) => r.name === 'attn.qkv_proj' && r.dims.m === 4)!;
  assert.deepEqual(qkv.dims, { dtype: 'fp32', m: 4, n: (c.numHeads + 2 * c.numKvHeads) * c.headDim, k: c.hiddenSize });
  assert.equal(qkv.callsPerStep, c.numLayers);
  const att = bench.rows.find((r) => r.op === 'generation_attention' && r.dims.batch === 4)!;
  assert.equal(att.dims.context, 9);
  assert.equal(att.dims.heads, c.numHeads);
  const t = bench.round(4);
  // Only batch 4's rows, each timed (seconds > 0).
  assert.deepEqual([...t.keys()].sort((a, b) => a - b), bench.rows.map((r, i) => (r.dims.m === 4 || r.dims.batch === 4 ? i : -1)).filter((i) => i >= 0));
  for (const s of t.values()) assert.ok(s > 0 && Number.isFinite(s));
  // One attention call of 4 sequences launches at least the per-sequence q·Kᵀ, softmax and ·V (3 kernels each).
  const names = await bench.attentionKernels(4);
  assert.ok(names.length >= 12);
  assert.equal(names.filter((n) => n === 'Softmax').length, 4);
  assert.throws(() => bench.round(2), (err: unknown) => err instanceof InputError && err.field === 'batch');
  bench.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => engineKernelBench(e, { batches: [1], context: c.maxContext }), (err: unknown) => err instanceof InputError && err.field === 'context');
  e.dispose();
});
