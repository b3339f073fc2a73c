import type { Dtype, MatmulCostModel } from '../core/types.js';
import { DTYPES } from '../core/types.js';
import type { ModelSpec } from '../models/spec.js';
import { loadModel } from '../models/spec.js';
import { InputError } from '../util/errors.js';
import { checkFraction, checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { smallestIntegerWhere } from '../util/search.js';
import { MOE_MAX_EXPERTS } from './routing.js';
import { checkInclusion, moeBinomialUpperTail, moeBinomialWindow } from './closed.js';

/** The shape of one MoE layer's routed experts (each a gated SwiGLU FFN). */
export interface MoeLayerShape {
  /** Model width: the expert's input and output size. */
  hiddenSize: number;
  experts: number;
  topK: number;
  /** Width of one routed expert's gated FFN. */
  expertIntermediate: number;
}

const MAX_WIDTH = 1 << 20;
/** Largest global batch the batch search explores before answering Infinity. */
export const MOE_MAX_SEARCH_TOKENS = 1e9;

function checkShape(s: MoeLayerShape): MoeLayerShape {
  if (s === null || typeof s !== 'object') throw new InputError('shape', s, 'an object { hiddenSize, experts, topK, expertIntermediate }');
  const experts = checkInt('shape.experts', s.experts, { min: 1, max: MOE_MAX_EXPERTS });
  return {
    hiddenSize: checkInt('shape.hiddenSize', s.hiddenSize, { min: 1, max: MAX_WIDTH }),
    experts,
    topK: checkInt('shape.topK', s.topK, { min: 1, max: experts }),
    expertIntermediate: checkInt('shape.expertIntermediate', s.expertIntermediate, { min: 1, max: MAX_WIDTH }),
  };
}

/**
 * The routed-expert shape of a catalog model (lib/models); an InputError for a dense model.
 *
 * @example
 * moeLayerShape(loadModel('deepseek-v3')) // => { hiddenSize: 7168, experts: 256, topK: 8, expertIntermediate: 2048 }
 */
export function moeLayerShape(model: ModelSpec): MoeLayerShape {
  if (!model?.moe) throw new InputError('model', model?.id ?? model, 'a mixture-of-experts model (its config has routed experts)');
  return { hiddenSize: model.hiddenSize, experts: model.moe.numExperts, topK: model.moe.expertsPerToken, expertIntermediate: model.moe.expertIntermediateSize };
}

/** Seconds for a gated FFN of width `inter` on `tokens` tokens: fused gate+up, then down. */
function ffnSeconds(cost: MatmulCostModel, dtype: Dtype, hidden: number, inter: number, tokens: number): number {
  if (tokens === 0) return 0;
  const t =
    cost.matmulSeconds({ m: tokens, k: hidden, n: 2 * inter, dtype }) + cost.matmulSeconds({ m: tokens, k: inter, n: hidden, dtype });
  if (!Number.isFinite(t) || t <= 0) throw new InputError('cost', cost.label, 'a cost model returning positive finite seconds', `got ${t} for ${tokens} tokens`);
  return t;
}

function checkCost(cost: MatmulCostModel): MatmulCostModel {
  if (cost === null || typeof cost !== 'object' || typeof cost.matmulSeconds !== 'function') {
    throw new InputError('cost', cost, 'a MatmulCostModel (rooflineMatmulCost or a fitted model)');
  }
  return cost;
}

/** Options shared by the efficiency helpers. */
export interface MoeEfficiencyOptions {
  dtype: Dtype;
  /**
   * Tokens at which an FFN counts as compute-saturated: efficiency is per-token time
   * there over per-token time at n (default 65536). For a roofline this is the
   * fraction of peak FLOP/s; for a fitted model, of its own large-batch throughput.
   */
  saturationTokens?: number;
}

function checkOpts(o: MoeEfficiencyOptions): { dtype: Dtype; saturation: number } {
  return {
    dtype: checkOneOf('dtype', o?.dtype, DTYPES),
    saturation: checkInt('saturationTokens', o.saturationTokens ?? 65_536, { min: 1, max: 1 << 24 }),
  };
}

/**
 * Seconds one routed expert takes for `tokens` tokens on a cost model (0 for none).
 *
 * @example
 * moeExpertSeconds(moeLayerShape(loadModel('deepseek-v3')), rooflineMatmulCost(loadHardware('h200'), 'fp8'), 'fp8', 32)
 */
export function moeExpertSeconds(shape: MoeLayerShape, cost: MatmulCostModel, dtype: Dtype, tokens: number): number {
  const s = checkShape(shape);
  checkOneOf('dtype', dtype, DTYPES);
  checkInt('tokens', tokens, { min: 0, max: 1 << 24 });
  return ffnSeconds(checkCost(cost), dtype, s.hiddenSize, s.expertIntermediate, tokens);
}

/** Per-token efficiency of a gated FFN at n tokens relative to saturation. */
function ffnEfficiency(cost: MatmulCostModel, dtype: Dtype, hidden: number, inter: number, n: number, sat: number): number {
  if (n === 0) return 0;
  const ref = ffnSeconds(cost, dtype, hidden, inter, sat) / sat;
  return Math.min(1, ref / (ffnSeconds(cost, dtype, hidden, inter, n) / n));
}

/**
 * Compute-bound efficiency of one expert holding `tokens` tokens: its per-token
 * throughput over the throughput it reaches at `saturationTokens`.
 *
 * @example
 * moeExpertEfficiency(shape, rooflineMatmulCost(loadHardware('h200'), 'fp8'), 32, { dtype: 'fp8' }) // => well under 0.5
 */
export function moeExpertEfficiency(shape: MoeLayerShape, cost: MatmulCostModel, tokens: number, opts: MoeEfficiencyOptions): number {
  const s = checkShape(shape);
  const { dtype, saturation } = checkOpts(opts);
  checkInt('tokens', tokens, { min: 0, max: 1 << 24 });
  return ffnEfficiency(checkCost(cost), dtype, s.hiddenSize, s.expertIntermediate, tokens, saturation);
}

/** Smallest n in [1, sat] with eff(n) ≥ target, assuming eff rises with n (binary search). */
function tokensForTarget(eff: (n: number) => number, target: number, sat: number): number {
  return smallestIntegerWhere((n) => eff(n) >= target, 1, sat);
}

/** Smallest integer B in [1, MOE_MAX_SEARCH_TOKENS] with ok(B), for ok monotone in B. */
function smallestBatch(ok: (b: number) => boolean, start: number): number {
  return smallestIntegerWhere(ok, 1, MOE_MAX_SEARCH_TOKENS, { guess: start });
}

/** The answer of `moeBatchForExpertEfficiency`. */
export interface MoeBatchForEfficiency {
  /** Tokens one expert needs to reach the efficiency target. */
  tokensPerExpert: number;
  /** Smallest global batch at which the expected share of experts with that many tokens reaches the target share. */
  globalBatch: number;
  /** Smallest batch at which a dense FFN of equal active parameters (width topK·expertIntermediate) reaches the efficiency target. */
  denseBatch: number;
  /** globalBatch / denseBatch: how much larger a batch the MoE layer needs. */
  ratio: number;
}

/**
 * What global batch keeps `expertShare` of the experts at ≥ `efficiency` of their
 * compute-bound throughput, against a dense FFN with the same active parameters.
 * Each expert's count is Binomial(B, π_i) exactly (tokens route independently), so
 * the expected share of experts at ≥ n* tokens is (1/E)·Σ P(Binomial(B, π_i) ≥ n*);
 * π_i = k/E for uniform routing, or pass `inclusion` (moeInclusionProbabilities) for
 * skewed routing. Efficiency is assumed to rise with tokens (true of rooflines).
 *
 * @example
 * moeBatchForExpertEfficiency(moeLayerShape(loadModel('deepseek-v3')), rooflineMatmulCost(loadHardware('h200'), 'fp8'),
 *   { dtype: 'fp8', expertShare: 0.9, efficiency: 0.8 }).ratio // => MoE needs tens of times the dense batch
 */
export function moeBatchForExpertEfficiency(
  shape: MoeLayerShape,
  cost: MatmulCostModel,
  opts: MoeEfficiencyOptions & { expertShare: number; efficiency: number; inclusion?: ArrayLike<number> },
): MoeBatchForEfficiency {
  const s = checkShape(shape);
  const { dtype, saturation } = checkOpts(opts);
  checkCost(cost);
  const share = checkNumber('expertShare', opts.expertShare, { min: 0, exclusiveMin: true, max: 1 });
  const target = checkNumber('efficiency', opts.efficiency, { min: 0, exclusiveMin: true, max: 1 });
  const pi = inclusionFor(s, opts.inclusion);
  const need = tokensForTarget((n) => ffnEfficiency(cost, dtype, s.hiddenSize, s.expertIntermediate, n, saturation), target, saturation);
  const denseBatch = tokensForTarget((n) => ffnEfficiency(cost, dtype, s.hiddenSize, s.topK * s.expertIntermediate, n, saturation), target, saturation);
  let globalBatch = Infinity;
  if (Number.isFinite(need)) {
    const maxPi = Math.max(...pi);
    // The share of experts that can ever reach n* is the share with π_i > 0.
    const reachable = pi.filter((p) => p > 0).length / pi.length;
    if (reachable >= share && maxPi > 0) {
      globalBatch = smallestBatch((b) => expectedShareAtLeast(pi, b, need) >= share - 1e-12, need / maxPi);
    }
  }
  return { tokensPerExpert: need, globalBatch, denseBatch, ratio: globalBatch / denseBatch };
}

function inclusionFor(s: MoeLayerShape, inclusion?: ArrayLike<number>): Float64Array {
  if (inclusion === undefined) return new Float64Array(s.experts).fill(s.topK / s.experts);
  const pi = checkInclusion(inclusion);
  if (pi.length !== s.experts) throw new InputError('inclusion', inclusion, `an array of ${s.experts} per-expert probabilities`);
  return pi;
}

function expectedShareAtLeast(pi: Float64Array, tokens: number, need: number): number {
  // Experts with the same π share one tail computation (all of them, for uniform routing).
  const cache = new Map<number, number>();
  let s = 0;
  for (const p of pi) {
    let v = cache.get(p);
    if (v === undefined) {
      v = moeBinomialUpperTail(tokens, p, need);
      cache.set(p, v);
    }
    s += v;
  }
  return s / pi.length;
}

/** One global batch size of `moeEfficiencyCurve`. */
export interface MoeEfficiencyRow {
  tokens: number;
  /** Expected share of experts with at least the tokens that reach the efficiency target. */
  expertShareAtTarget: number;
  /** All routed experts together: ideal compute-bound time over expected actual time. */
  moeEfficiency: number;
  /** A dense FFN of equal active parameters on the same tokens. */
  denseEfficiency: number;
}

/**
 * Routed-expert efficiency against global batch, exact in expectation: the layer's
 * expected time is Σ_i E[t(X_i)] with X_i ~ Binomial(B, π_i) (experts with no tokens
 * do not run), and its efficiency is the saturated time of the same B·k token-expert
 * assignments over that. The dense FFN of equal active parameters runs all B tokens.
 *
 * @example
 * moeEfficiencyCurve(shape, cost, { dtype: 'fp8', tokens: [10, 4000], efficiency: 0.8 })[1].moeEfficiency
 */
export function moeEfficiencyCurve(
  shape: MoeLayerShape,
  cost: MatmulCostModel,
  opts: MoeEfficiencyOptions & { tokens: readonly number[]; efficiency: number; inclusion?: ArrayLike<number> },
): MoeEfficiencyRow[] {
  const s = checkShape(shape);
  const { dtype, saturation } = checkOpts(opts);
  checkCost(cost);
  const target = checkNumber('efficiency', opts.efficiency, { min: 0, exclusiveMin: true, max: 1 });
  if (!Array.isArray(opts.tokens) || opts.tokens.length === 0 || opts.tokens.length > 1000) {
    throw new InputError('tokens', opts.tokens, 'a non-empty array of at most 1000 batch sizes');
  }
  const sizes = opts.tokens.map((b, i) => checkInt(`tokens[${i}]`, b, { min: 1, max: 1 << 24 }));
  const pi = inclusionFor(s, opts.inclusion);
  const h = s.hiddenSize;
  const I = s.expertIntermediate;
  const memo = new Map<number, number>();
  const t = (n: number) => {
    let v = memo.get(n);
    if (v === undefined) {
      v = ffnSeconds(cost, dtype, h, I, n);
      memo.set(n, v);
    }
    return v;
  };
  const perTokenSat = t(saturation) / saturation;
  const need = tokensForTarget((n) => Math.min(1, perTokenSat / (t(n) / n)), target, saturation);
  const densePerTokenSat = ffnSeconds(cost, dtype, h, s.topK * I, saturation) / saturation;
  return sizes.map((B) => {
    const byPi = new Map<number, number>();
    let expected = 0;
    let assignments = 0;
    for (const p of pi) {
      let v = byPi.get(p);
      if (v === undefined) {
        const w = moeBinomialWindow(B, p);
        v = 0;
        for (let i = 0; i < w.pmf.length; i++) v += w.pmf[i] * t(w.lo + i);
        byPi.set(p, v);
      }
      expected += v;
      assignments += B * p;
    }
    return {
      tokens: B,
      expertShareAtTarget: Number.isFinite(need) ? expectedShareAtLeast(pi, B, need) : 0,
      moeEfficiency: Math.min(1, (assignments * perTokenSat) / expected),
      denseEfficiency: Math.min(1, (B * densePerTokenSat) / ffnSeconds(cost, dtype, h, s.topK * I, B)),
    };
  });
}

/** A routed-expert shape named after its model: also a `{ label, experts, topK }` for `moeRoutingSweep`. */
export interface LabelledMoeLayerShape extends MoeLayerShape {
  /** The model id. */
  label: string;
}

const MAX_MODELS = 50;

function checkLabelledShapes(shapes: readonly LabelledMoeLayerShape[]): Array<{ label: string; shape: MoeLayerShape }> {
  if (!Array.isArray(shapes) || shapes.length === 0 || shapes.length > MAX_MODELS) {
    throw new InputError('shapes', shapes, `a non-empty array of at most ${MAX_MODELS} labelled layer shapes (moeLayerShapes)`);
  }
  return shapes.map((s, i) => {
    if (typeof s?.label !== 'string') throw new InputError(`shapes[${i}].label`, s?.label, 'a string');
    return { label: s.label, shape: s };
  });
}

/**
 * The routed-expert shape of each catalog model (ids from data/models, or specs),
 * labelled with the model id, in the order given; an InputError names a dense model.
 *
 * @example
 * moeLayerShapes(['deepseek-v3', 'mixtral-8x7b']).map((s) => `${s.label}: ${s.experts} experts, top-${s.topK}`)
 * // => ['deepseek-v3: 256 experts, top-8', 'mixtral-8x7b: 8 experts, top-2'] (their config.json)
 */
export function moeLayerShapes(models: ReadonlyArray<string | ModelSpec>): LabelledMoeLayerShape[] {
  if (!Array.isArray(models) || models.length === 0 || models.length > MAX_MODELS) {
    throw new InputError('models', models, `a non-empty array of at most ${MAX_MODELS} model ids or specs`);
  }
  return models.map((m, i) => {
    const spec = typeof m === 'string' ? loadModel(m) : m;
    if (spec === null || typeof spec !== 'object' || typeof spec.id !== 'string') throw new InputError(`models[${i}]`, m, 'a model id from data/models or a ModelSpec');
    return { label: spec.id, ...moeLayerShape(spec) };
  });
}

/**
 * `moeEfficiencyCurve` for each labelled shape under one cost model and options:
 * one `{ label, rows }` per shape, in the order given, ready for `moeEfficiencyChart`.
 *
 * @example
 * moeEfficiencyCurves(moeLayerShapes(['deepseek-v3', 'mixtral-8x7b']), rooflineMatmulCost(loadHardware('h200'), 'fp8'),
 *   { dtype: 'fp8', tokens: [10, 4000], efficiency: 0.8 })[1].rows[1].moeEfficiency
 */
export function moeEfficiencyCurves(
  shapes: readonly LabelledMoeLayerShape[],
  cost: MatmulCostModel,
  opts: MoeEfficiencyOptions & { tokens: readonly number[]; efficiency: number },
): Array<{ label: string; rows: MoeEfficiencyRow[] }> {
  return checkLabelledShapes(shapes).map(({ label, shape }) => ({ label, rows: moeEfficiencyCurve(shape, cost, opts) }));
}

/** One model's row of `moeBatchesForExpertEfficiency`. */
export interface LabelledMoeBatchForEfficiency extends MoeBatchForEfficiency {
  label: string;
  shape: MoeLayerShape;
}

/**
 * `moeBatchForExpertEfficiency` for each labelled shape (uniform routing) under one
 * cost model and target: one row per shape, in the order given, with its label and shape.
 *
 * @example
 * moeBatchesForExpertEfficiency(moeLayerShapes(['deepseek-v3', 'mixtral-8x7b']), rooflineMatmulCost(loadHardware('h200'), 'fp8'),
 *   { dtype: 'fp8', expertShare: 0.9, efficiency: 0.8 }).map((r) => r.ratio) // => [about 37, about 4.4]
 */
export function moeBatchesForExpertEfficiency(
  shapes: readonly LabelledMoeLayerShape[],
  cost: MatmulCostModel,
  opts: MoeEfficiencyOptions & { expertShare: number; efficiency: number },
): LabelledMoeBatchForEfficiency[] {
  return checkLabelledShapes(shapes).map(({ label, shape }) => ({ label, shape, ...moeBatchForExpertEfficiency(shape, cost, opts) }));
}
