import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../lib/backend/registry.js';
import { attendSegments } from '../../lib/engine/attention.js';
import type { Tensor3D } from '@tensorflow/tfjs-core';

type Tf = typeof import('@tensorflow/tfjs-core');
let tf: Tf;
before(async () => {
  tf = (await selectBackend('auto', { log: () => {} })).tf;
});

const dims = { numHeads: 4, numKvHeads: 2, headDim: 8 };

test('attendSegments: over an empty cache a one-token segment attends to its own key only, so each query head returns its KV head\'s value', () => {
  const q = tf.randomUniform([2, 4, 8]) as Tensor3D;
  const k = tf.randomUniform([2, 2, 8]) as Tensor3D;
  const v = tf.randomUniform([2, 2, 8]) as Tensor3D;
  const r = tf.tidy(() => attendSegments(tf, dims, q, k, v, [1, 1], [{}, {}], [null, null]));
  const out = r.out.arraySync() as number[][];
  const vv = v.arraySync() as number[][][];
  // softmax over one key is 1: query head h (KV head floor(h / 2), HF repeat_kv) outputs that head's value.
  for (let s = 0; s < 2; s++) for (let h = 0; h < 4; h++) for (let d = 0; d < 8; d++) assert.ok(Math.abs(out[s][h * 8 + d] - vv[s][Math.floor(h / 2)][d]) < 1e-6);
  assert.deepEqual(r.k.map((t) => t.shape), [[2, 1, 8], [2, 1, 8]]);
  tf.dispose([q, k, v, r.out, ...r.k, ...r.v]);
});

test('attendSegments: the new cache is the old one with the segment appended, and the old one is left to the caller', () => {
  const old = { k: tf.zeros([2, 5, 8]) as Tensor3D, v: tf.ones([2, 5, 8]) as Tensor3D };
  const q = tf.randomUniform([1, 4, 8]) as Tensor3D;
  const k = tf.randomUniform([1, 2, 8]) as Tensor3D;
  const v = tf.ones([1, 2, 8]) as Tensor3D;
  const before = tf.memory().numTensors;
  const r = tf.tidy(() => attendSegments(tf, dims, q, k, v, [1], [old], [null]));
  // Six values of 1: any softmax weights average to 1.
  for (const x of r.out.dataSync()) assert.ok(Math.abs(x - 1) < 1e-6);
  assert.deepEqual(r.k[0].shape, [2, 6, 8]);
  assert.equal(old.k.isDisposed, false);
  // Only the output and the new K and V outlive the tidy.
  assert.equal(tf.memory().numTensors, before + 3);
  tf.dispose([old.k, old.v, q, k, v, r.out, ...r.k, ...r.v]);
});
