import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopMatcher, checkSampling, checkStop, requestSampler, sampleToken } from '../../lib/server/sampling.js';
import { rng } from '../../lib/util/random.js';
import { InputError } from '../../lib/util/errors.js';

test('sampleToken with temperature 0 or top_k 1 is the argmax, lowest id on ties (as tf.argMax)', () => {
  const l = Float32Array.from([0.5, 2, 2, -1]);
  assert.equal(sampleToken(l, { temperature: 0, topP: 1, topK: 0 }, 0.99), 1);
  assert.equal(sampleToken(l, { temperature: 1, topP: 1, topK: 1 }, 0.99), 1);
});

test('sampleToken draws each token with probability softmax(logits / T) (closed form, 200k draws within 1 %)', () => {
  const l = Float32Array.from([0, Math.log(2), Math.log(5)]); // softmax at T = 1: 1/8, 2/8, 5/8
  const p = { temperature: 1, topP: 1, topK: 0 };
  const r = rng(11);
  const counts = [0, 0, 0];
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[sampleToken(l, p, r())]++;
  [1 / 8, 2 / 8, 5 / 8].forEach((want, k) => assert.ok(Math.abs(counts[k] / n - want) < 0.01, `token ${k}: ${counts[k] / n} vs ${want}`));
  // T = 0.5 squares the odds: weights 1, 4, 25 of 30.
  const c2 = [0, 0, 0];
  for (let i = 0; i < n; i++) c2[sampleToken(l, { ...p, temperature: 0.5 }, r())]++;
  [1 / 30, 4 / 30, 25 / 30].forEach((want, k) => assert.ok(Math.abs(c2[k] / n - want) < 0.01, `T 0.5 token ${k}: ${c2[k] / n} vs ${want}`));
});

test('sampleToken keeps the top_k tokens and the smallest nucleus reaching top_p', () => {
  const l = Float32Array.from([0, Math.log(2), Math.log(5)]); // probabilities 1/8, 2/8, 5/8
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(sampleToken(l, { temperature: 1, topP: 1, topK: 2 }, i / 1000));
  assert.deepEqual([...seen].sort(), [1, 2]);
  // top_p 0.6 < 5/8: only token 2; top_p 0.8 ≤ 7/8: tokens 2 and 1.
  for (let i = 0; i < 100; i++) assert.equal(sampleToken(l, { temperature: 1, topP: 0.6, topK: 0 }, i / 100), 2);
  const s2 = new Set<number>();
  for (let i = 0; i < 100; i++) s2.add(sampleToken(l, { temperature: 1, topP: 0.8, topK: 0 }, i / 100));
  assert.deepEqual([...s2].sort(), [1, 2]);
});

test('requestSampler is reproducible for a seed and greedy (undefined) at temperature 0', () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
  const p = { temperature: 1, topP: 1, topK: 0, seed: 5 };
  const a = requestSampler(p, 1, 'cmpl-1')!;
  const b = requestSampler(p, 2, 'cmpl-9')!;
  const da = Array.from({ length: 30 }, () => a(logits));
  assert.deepEqual(Array.from({ length: 30 }, () => b(logits)), da);
  const c = requestSampler({ ...p, seed: 6 }, 1, 'cmpl-1')!;
  assert.notDeepEqual(Array.from({ length: 30 }, () => c(logits)), da);
  assert.equal(requestSampler({ temperature: 0, topP: 1, topK: 0 }, 1, 'x'), undefined);
});

test('checkSampling refuses out-of-range or mistyped fields, naming each', () => {
  assert.deepEqual(checkSampling({}), { temperature: 0, topP: 1, topK: 0 });
  assert.deepEqual(checkSampling({ temperature: 0.7, top_p: 0.9, top_k: -1, seed: 3 }), { temperature: 0.7, topP: 0.9, topK: 0, seed: 3 });
  for (const [body, field] of [[{ temperature: 5 }, 'temperature'], [{ temperature: -1 }, 'temperature'], [{ temperature: 'hot' }, 'temperature'], [{ top_p: 7 }, 'top_p'], [{ top_p: 0 }, 'top_p'], [{ top_k: 1.5 }, 'top_k'], [{ seed: 'x' }, 'seed']] as const) {
    assert.throws(() => checkSampling(body as Record<string, unknown>), (e: unknown) => e instanceof InputError && e.field === field, JSON.stringify(body));
  }
  assert.throws(() => checkStop([1]), /stop must be/);
  assert.throws(() => checkStop(['a', 'b', 'c', 'd', 'e']), /at most 4/);
});

test('StopMatcher holds back a possible stop prefix and cuts at the first stop string', () => {
  const m = new StopMatcher([' 7 8']);
  // ' 1' cannot start ' 7 8' past its space; the space itself might.
  assert.deepEqual(m.push(' 1'), { text: ' 1', stopped: false });
  assert.deepEqual(m.push(' 7'), { text: '', stopped: false });
  assert.deepEqual(m.push(' 9'), { text: ' 7 9', stopped: false });
  assert.deepEqual(m.push(' 7 '), { text: '', stopped: false });
  assert.equal(m.flush(), ' 7 ');
  const n = new StopMatcher([' 7 8']);
  n.push(' 1 7');
  assert.deepEqual(n.push(' 8 5'), { text: '', stopped: true });
  const none = new StopMatcher([]);
  assert.deepEqual(none.push(' 3'), { text: ' 3', stopped: false });
});
