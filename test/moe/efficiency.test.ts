import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gammaln } from 'simple-statistics';
import type { MatmulCostModel, MatmulShape } from '../../lib/core/types.js';
import { InputError } from '../../lib/util/errors.js';
import {
  moeLayerShape,
  moeExpertSeconds,
  moeExpertEfficiency,
  moeBatchForExpertEfficiency,
  moeEfficiencyCurve,
  moeZipfPopularity,
  moeLayerShapes,
  moeEfficiencyCurves,
  moeBatchesForExpertEfficiency,
  moeRoutingSweep,
} from '../../lib/moe/index.js';
import { loadModel } from '../../lib/models/index.js';
import type { ModelSpec } from '../../lib/models/spec.js';

// A toy roofline with weights-only traffic: t = max(2mkn/P, k·n·1 byte/W). Every matmul
// turns compute-bound at m* = P/(2W) = 100 tokens, so an FFN's efficiency is min(1, n/100)
// whatever its width: the closed forms below follow from that.
const P = 200e12;
const W = 1e12;
const toy: MatmulCostModel = {
  kind: 'roofline',
  label: 'toy roofline, ridge at 100 tokens',
  matmulSeconds: (s: MatmulShape) => Math.max((2 * s.m * s.k * s.n) / P, (s.k * s.n) / W),
};
// DeepSeek-V3's routed-expert shape (data/models/deepseek-v3.json: hidden 7168, 256 experts, top-8, moe_intermediate_size 2048).
const DSV3 = { hiddenSize: 7168, experts: 256, topK: 8, expertIntermediate: 2048 };

function pmf(n: number, p: number, x: number): number {
  return Math.exp(gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1) + x * Math.log(p) + (n - x) * Math.log1p(-p));
}
function upperTail(n: number, p: number, x: number): number {
  let s = 0;
  for (let y = x; y <= n; y++) s += pmf(n, p, y);
  return s;
}

test('moeExpertSeconds: gate+up then down, weight-bound below 100 tokens, compute-bound above', () => {
  const weights = 7168 * 2 * 2048 + 2048 * 7168; // gate+up and down, 1 byte each
  assert.equal(moeExpertSeconds(DSV3, toy, 'fp8', 0), 0);
  assert.ok(Math.abs(moeExpertSeconds(DSV3, toy, 'fp8', 10) - weights / W) < 1e-15);
  assert.ok(Math.abs(moeExpertSeconds(DSV3, toy, 'fp8', 400) - (2 * 400 * weights) / P) < 1e-15);
});

test('moeExpertEfficiency = min(1, n/100) on the toy roofline', () => {
  for (const n of [1, 10, 50, 99, 100, 1000]) {
    assert.ok(Math.abs(moeExpertEfficiency(DSV3, toy, n, { dtype: 'fp8' }) - Math.min(1, n / 100)) < 1e-12, `n=${n}`);
  }
  assert.equal(moeExpertEfficiency(DSV3, toy, 0, { dtype: 'fp8' }), 0);
});

test('moeBatchForExpertEfficiency: 80 tokens per expert for 80 %, and the smallest B whose binomial tail reaches the share', () => {
  const r = moeBatchForExpertEfficiency(DSV3, toy, { dtype: 'fp8', expertShare: 0.9, efficiency: 0.8 });
  assert.equal(r.tokensPerExpert, 80); // ⌈0.8 · 100⌉
  assert.equal(r.denseBatch, 80); // the toy's efficiency does not depend on width
  const p = 8 / 256;
  // Each expert's count is Binomial(B, k/E): B must reach share 0.9 and B − 1 must not.
  assert.ok(upperTail(r.globalBatch, p, 80) >= 0.9);
  assert.ok(upperTail(r.globalBatch - 1, p, 80) < 0.9);
  assert.equal(r.ratio, r.globalBatch / 80);
  // Mean needed ≥ 80 tokens per expert: B > 80·32 = 2560.
  assert.ok(r.globalBatch > 2560);
});

test('moeBatchForExpertEfficiency under skew needs a larger batch, and Infinity when experts never get tokens', () => {
  const uniform = moeBatchForExpertEfficiency(DSV3, toy, { dtype: 'fp8', expertShare: 0.9, efficiency: 0.8 });
  // Top-1 inclusion equals popularity; scale it by k as an inclusion vector (each ≤ 1).
  const z = moeZipfPopularity(256, 0.8, undefined).map((v) => Math.min(1, v * 8));
  const skewed = moeBatchForExpertEfficiency(DSV3, toy, { dtype: 'fp8', expertShare: 0.9, efficiency: 0.8, inclusion: z });
  assert.ok(skewed.globalBatch > uniform.globalBatch);
  const dead = new Float64Array(256).fill(8 / 200);
  dead.fill(0, 0, 56); // 56 experts never picked: at most 200/256 = 78 % can reach the target
  assert.equal(moeBatchForExpertEfficiency(DSV3, toy, { dtype: 'fp8', expertShare: 0.9, efficiency: 0.8, inclusion: dead }).globalBatch, Infinity);
});

test('moeEfficiencyCurve equals B·k·c / (E·E[max(X, 100)·1{X ≥ 1}]·c) on the toy roofline', () => {
  const shape = { hiddenSize: 64, experts: 16, topK: 2, expertIntermediate: 32 };
  const rows = moeEfficiencyCurve(shape, toy, { dtype: 'fp8', tokens: [1, 10, 200, 800, 5000], efficiency: 0.5 });
  for (const r of rows) {
    const p = 2 / 16;
    let e = 0;
    for (let x = 1; x <= r.tokens; x++) e += pmf(r.tokens, p, x) * Math.max(x, 100);
    const expected = Math.min(1, (r.tokens * 2) / (16 * e));
    assert.ok(Math.abs(r.moeEfficiency - expected) < 1e-9, `B=${r.tokens}: ${r.moeEfficiency} vs ${expected}`);
    assert.ok(Math.abs(r.denseEfficiency - Math.min(1, r.tokens / 100)) < 1e-12);
    assert.ok(r.moeEfficiency <= r.denseEfficiency + 1e-12, 'experts never beat the dense FFN of equal active parameters');
    assert.ok(Math.abs(r.expertShareAtTarget - upperTail(r.tokens, p, 50)) < 1e-9);
  }
});

test('moeEfficiencyCurve with one expert and top-1 is the dense FFN', () => {
  const rows = moeEfficiencyCurve({ hiddenSize: 64, experts: 1, topK: 1, expertIntermediate: 32 }, toy, { dtype: 'fp8', tokens: [3, 70, 300], efficiency: 0.5 });
  for (const r of rows) assert.ok(Math.abs(r.moeEfficiency - r.denseEfficiency) < 1e-12);
});

test('moeLayerShape reads a catalog-shaped ModelSpec and rejects a dense model', () => {
  const moe = { id: 'm', hiddenSize: 7168, moe: { numExperts: 256, expertsPerToken: 8, expertIntermediateSize: 2048 } } as unknown as ModelSpec;
  assert.deepEqual(moeLayerShape(moe), DSV3);
  assert.throws(() => moeLayerShape({ id: 'dense', moe: null } as unknown as ModelSpec), (e: unknown) => e instanceof InputError && e.field === 'model');
});

test('bad efficiency input throws InputError naming the field', () => {
  const nan: MatmulCostModel = { kind: 'fitted', label: 'broken', matmulSeconds: () => NaN };
  const bad: Array<[() => unknown, string]> = [
    [() => moeExpertSeconds(DSV3, nan, 'fp8', 4), 'cost'],
    [() => moeExpertSeconds(DSV3, {} as MatmulCostModel, 'fp8', 4), 'cost'],
    [() => moeExpertSeconds({ ...DSV3, topK: 300 }, toy, 'fp8', 4), 'shape.topK'],
    [() => moeExpertEfficiency(DSV3, toy, 4, { dtype: 'fp4' as never }), 'dtype'],
    [() => moeBatchForExpertEfficiency(DSV3, toy, { dtype: 'fp8', expertShare: 0, efficiency: 0.8 }), 'expertShare'],
    [() => moeBatchForExpertEfficiency(DSV3, toy, { dtype: 'fp8', expertShare: 0.5, efficiency: 1.5 }), 'efficiency'],
    [() => moeBatchForExpertEfficiency(DSV3, toy, { dtype: 'fp8', expertShare: 0.5, efficiency: 0.5, inclusion: [0.1] }), 'inclusion'],
    [() => moeEfficiencyCurve(DSV3, toy, { dtype: 'fp8', tokens: [], efficiency: 0.5 }), 'tokens'],
    [() => moeEfficiencyCurve(DSV3, toy, { dtype: 'fp8', tokens: [0], efficiency: 0.5 }), 'tokens[0]'],
  ];
  for (const [fn, field] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof InputError && e.field === field, `expected InputError on ${field}`);
  }
});

test('moeLayerShapes(ids) reads each model\'s routed-expert shape from its config, labelled by id, in order', () => {
  const shapes = moeLayerShapes(['deepseek-v3', 'mixtral-8x7b', loadModel('qwen3-235b-a22b')]);
  // data/models/*.json: DeepSeek-V3 n_routed_experts 256, top-8, moe_intermediate_size 2048, hidden 7168;
  // Mixtral num_local_experts 8, top-2, intermediate_size 14336, hidden 4096; Qwen3 num_experts 128, top-8, moe_intermediate_size 1536.
  assert.deepEqual(shapes[0], { label: 'deepseek-v3', ...DSV3 });
  assert.deepEqual(shapes[1], { label: 'mixtral-8x7b', hiddenSize: 4096, experts: 8, topK: 2, expertIntermediate: 14336 });
  assert.deepEqual(shapes[2], { label: 'qwen3-235b-a22b', ...moeLayerShape(loadModel('qwen3-235b-a22b')) });
  assert.equal(shapes[2].expertIntermediate, 1536);
  // The labelled shapes are models for moeRoutingSweep as they are.
  assert.deepEqual(moeRoutingSweep({ models: shapes, tokens: [10], trials: 2, seed: 1 }).map((r) => r.label), ['deepseek-v3', 'mixtral-8x7b', 'qwen3-235b-a22b']);
  assert.throws(() => moeLayerShapes([]), (e: unknown) => e instanceof InputError && e.field === 'models');
  // Llama-3.1-70B is dense: no routed experts.
  assert.throws(() => moeLayerShapes(['deepseek-v3', 'llama-3.1-70b']), InputError);
});

test('moeEfficiencyCurves and moeBatchesForExpertEfficiency equal the one-shape calls for every labelled shape', () => {
  const shapes = [{ label: 'ds', ...DSV3 }, { label: 'small', hiddenSize: 1024, experts: 8, topK: 2, expertIntermediate: 512 }];
  const curveOpts = { dtype: 'fp8' as const, tokens: [10, 4000], efficiency: 0.8 };
  const curves = moeEfficiencyCurves(shapes, toy, curveOpts);
  assert.deepEqual(curves.map((c) => c.label), ['ds', 'small']);
  assert.deepEqual(curves[1].rows, moeEfficiencyCurve(shapes[1], toy, curveOpts));
  const needOpts = { dtype: 'fp8' as const, expertShare: 0.9, efficiency: 0.8 };
  const needs = moeBatchesForExpertEfficiency(shapes, toy, needOpts);
  assert.deepEqual(needs[0], { label: 'ds', shape: shapes[0], ...moeBatchForExpertEfficiency(DSV3, toy, needOpts) });
  // Toy ridge at 100 tokens: DeepSeek-V3's expert needs ⌈0.8 · 100⌉ = 80 tokens for 80 %.
  assert.equal(needs[0].tokensPerExpert, 80);
  assert.deepEqual(needs[1], { label: 'small', shape: shapes[1], ...moeBatchForExpertEfficiency(shapes[1], toy, needOpts) });
  assert.throws(() => moeEfficiencyCurves([{ ...DSV3 } as never], toy, curveOpts), (e: unknown) => e instanceof InputError && e.field === 'shapes[0].label');
  assert.throws(() => moeBatchesForExpertEfficiency([], toy, needOpts), (e: unknown) => e instanceof InputError && e.field === 'shapes');
});
