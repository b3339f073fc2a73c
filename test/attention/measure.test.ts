import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeBackend } from '../../lib/backend/index.js';
import {
  decodeAttentionProblem,
  referenceDecodeAttention,
  prepareDecodeAttention,
  attentionError,
  measureDecodeAttention,
  saveAttentionRows,
  fitAttentionKernelCost,
  attentionKernelSeconds,
  MEASURED_STRATEGIES,
  ATTENTION_COLUMNS,
} from '../../lib/attention/index.js';
import type { AttentionRow } from '../../lib/attention/index.js';
import { InputError } from '../../lib/util/errors.js';

const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;

test('referenceDecodeAttention(): one cached token returns its value; equal keys average the values', () => {
  const p = decodeAttentionProblem({ heads: 2, kvHeads: 1, headDim: 3, lengths: [1, 2], seed: 4 });
  const ref = referenceDecodeAttention(p);
  // softmax over one key is 1: the output is that key's value for both query heads.
  assert.deepEqual(Array.from(ref[0]), [...p.v[0], ...p.v[0]].map((x) => x));
  p.k[1].set(p.k[1].subarray(0, 3), 3);
  const avg = referenceDecodeAttention(p)[1];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(avg[i] - (p.v[1][i] + p.v[1][3 + i]) / 2) < 1e-12);
});

test('prepareDecodeAttention(): every strategy equals the float64 reference within float32 rounding', async () => {
  const { tf } = await activeBackend();
  const p = decodeAttentionProblem({ heads: 8, kvHeads: 2, headDim: 32, lengths: [5, 90, 90, 3, 170, 64, 5], seed: 2 });
  for (const s of MEASURED_STRATEGIES) {
    const prep = prepareDecodeAttention(tf, p, s, { buckets: 3 });
    const y = prep.run();
    assert.deepEqual(y.shape, [7, 8, 32]);
    const { maxAbsError, tolerance } = attentionError(p, y.dataSync());
    assert.ok(maxAbsError <= tolerance, `${s}: ${maxAbsError} > ${tolerance}`);
    // The check can fail: a different problem's values are far outside the tolerance.
    const other = decodeAttentionProblem({ heads: 8, kvHeads: 2, headDim: 32, lengths: p.lengths, seed: 3 });
    assert.ok(attentionError(other, y.dataSync()).maxAbsError > 100 * tolerance);
    y.dispose();
    prep.dispose();
  }
});

test('prepareDecodeAttention(): no tensor leaked across 1,000 iterations of every strategy', async () => {
  const { tf } = await activeBackend();
  const p = decodeAttentionProblem({ heads: 4, kvHeads: 2, headDim: 8, lengths: [3, 7, 7, 12], seed: 1 });
  const before = tf.memory().numTensors;
  for (const s of MEASURED_STRATEGIES) {
    const prep = prepareDecodeAttention(tf, p, s, { buckets: 2 });
    const during = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) prep.run().dispose();
    assert.equal(tf.memory().numTensors, during, s);
    prep.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

test('measureDecodeAttention() stores rows with provenance, and the fit recovers a launch and a token cost', async () => {
  const rows = await measureDecodeAttention({
    heads: 4, kvHeads: 2, headDim: 16,
    cases: [{ spread: 'equal', lengths: [40, 40, 40] }, { spread: 'wide', lengths: [4, 40, 120] }],
    timing: { minReps: 3, minTimeMs: 1, warmup: 1 },
    rounds: 3,
  });
  assert.equal(rows.length, 2 * MEASURED_STRATEGIES.length);
  // Padding against itself, round by round, is exactly 1; each strategy was timed in every round.
  for (const r of rows.filter((x) => x.strategy === 'padded')) assert.equal(r.vs_padded, 1);
  assert.ok(rows.every((r) => r.rounds === 3 && r.reps >= 9 && r.vs_padded > 0));
  for (const r of rows) {
    assert.ok(r.median_s > 0 && r.p10_s <= r.median_s && r.median_s <= r.p90_s && r.max_abs_error <= r.tolerance);
    assert.ok(r.backend && r.host && r.versions.includes('=') && r.timestamp);
  }
  const wide = rows.filter((r) => r.spread === 'wide');
  assert.deepEqual(wide.map((r) => [r.strategy, r.kernels, r.executed_tokens]), [['per-sequence', 3, 164], ['exact-shape', 3, 164], ['padded', 1, 360], ['bucketed', 3, 164]]);
  const dir = mkdtempSync(join(tmpdir(), 'attn-'));
  const paths = saveAttentionRows(rows, { dir, tag: 'test' });
  const csv = readFileSync(paths.csv, 'utf8').trim().split('\n');
  assert.equal(csv[0], ATTENTION_COLUMNS.join(','));
  assert.equal(csv.length, rows.length + 1);
  const doc = JSON.parse(readFileSync(paths.json, 'utf8'));
  assert.equal(doc.provenance.source, 'measured');
  assert.equal(doc.rows.length, rows.length);
  // Synthetic rows with 20 µs per kernel and 3 ns per token: the fit finds both.
  const synth = [[1, 1000], [4, 1000], [16, 500], [2, 8000]].map(([kernels, tokens]) => ({ ...rows[0], kernels, executed_tokens: tokens, median_s: 20e-6 * kernels + 3e-9 * tokens }) as AttentionRow);
  const fit = fitAttentionKernelCost(synth);
  assert.ok(Math.abs(fit.perKernelSeconds - 20e-6) < 1e-12 && Math.abs(fit.perTokenSeconds - 3e-9) < 1e-15 && fit.r2 > 0.999999);
  // The fit predicts a row it was not given: 20 µs + 1000 · 3 ns (the synthetic cost above).
  assert.ok(Math.abs(attentionKernelSeconds(fit, { kernels: 1, tokens: 1000 }) - 23e-6) < 1e-12);
});

test('attentionKernelSeconds(fit, work) is kernels·perKernel + tokens·perToken and refuses negative or NaN inputs, naming them', () => {
  const fit = { perKernelSeconds: 20e-6, perTokenSeconds: 3e-9 };
  assert.equal(attentionKernelSeconds(fit, { kernels: 0, tokens: 0 }), 0);
  assert.equal(attentionKernelSeconds(fit, { kernels: 2, tokens: 0 }), 40e-6); // two launches, no tokens
  assert.throws(() => attentionKernelSeconds(fit, { kernels: 1, tokens: -1 }), isInput('tokens'));
  assert.throws(() => attentionKernelSeconds(fit, { kernels: NaN, tokens: 1 }), isInput('kernels'));
  assert.throws(() => attentionKernelSeconds({ perKernelSeconds: -1, perTokenSeconds: 0 }, { kernels: 1, tokens: 1 }), isInput('fit.perKernelSeconds'));
});

test('decodeAttentionProblem() rejects bad layouts naming the field', () => {
  assert.throws(() => decodeAttentionProblem({ heads: 4, kvHeads: 3, headDim: 8, lengths: [4], seed: 1 }), isInput('kvHeads'));
  assert.throws(() => decodeAttentionProblem({ heads: 4, kvHeads: 2, headDim: 8, lengths: [0], seed: 1 }), isInput('lengths[0]'));
  assert.throws(() => decodeAttentionProblem({ heads: 4, kvHeads: 2, headDim: 4096, lengths: [1 << 20], seed: 1 }), isInput('lengths'));
});
