import { loadModelConfig } from '../models/spec.js';
import type { ModelSpec } from '../models/spec.js';
import { paramCounts } from '../models/params.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkPositive } from '../util/validate.js';

/**
 * The shapes and constants a Llama-architecture decode engine needs: a ModelSpec (the
 * shared reading of an HF config.json) restricted to what the engine implements, plus
 * the numeric constants the spec does not carry (RoPE base, RMSNorm epsilon) and the
 * longest context the engine accepts.
 */
export interface EngineConfig {
  id: string;
  hiddenSize: number;
  numLayers: number;
  vocabSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Width of the dense FFN, or of one expert's FFN in an MoE layer. */
  intermediateSize: number;
  /** Routed experts per layer (0 for a dense model) and experts per token. */
  numExperts: number;
  expertsPerToken: number;
  tieWordEmbeddings: boolean;
  ropeTheta: number;
  rmsNormEps: number;
  /** Longest prompt + output a sequence may reach (RoPE table length). */
  maxContext: number;
}

/** Upper bound on maxContext: the RoPE table and one sequence's KV cache stay small. */
export const MAX_ENGINE_CONTEXT = 32_768;

/**
 * Reads an HF config.json (parsed) into an EngineConfig. Llama (dense) and Mixtral
 * (every layer MoE, softmax top-k routing renormalised over the chosen experts) are
 * implemented; attention biases, q/k norms, sinks, MLA and sliding windows are not, and
 * a config that needs them is an InputError naming the field.
 *
 * @example
 * const c = engineConfigFromHf(JSON.parse(readFileSync('config.json', 'utf8')));
 * c.numKvHeads // => 8 for Llama-3.2-1B
 */
export function engineConfigFromHf(json: unknown, opts: { id?: string; maxContext?: number } = {}): EngineConfig {
  const spec = loadModelConfig(json, opts.id);
  const cfg = json as Record<string, unknown>;
  const ropeTheta = cfg.rope_theta === undefined ? 10_000 : checkPositive('rope_theta', cfg.rope_theta);
  const eps = cfg.rms_norm_eps === undefined ? 1e-6 : checkPositive('rms_norm_eps', cfg.rms_norm_eps, 1);
  const maxPos = cfg.max_position_embeddings === undefined ? 2048 : checkInt('max_position_embeddings', cfg.max_position_embeddings, { min: 1 });
  const maxContext = checkInt('maxContext', opts.maxContext ?? Math.min(maxPos, 4096), { min: 2, max: MAX_ENGINE_CONTEXT });
  return engineConfigFromSpec(spec, { ropeTheta, rmsNormEps: eps, maxContext });
}

/**
 * An EngineConfig from a ModelSpec and the constants a spec does not carry.
 *
 * @example
 * engineConfigFromSpec(loadModel('llama-3.2-1b'), { ropeTheta: 500000, rmsNormEps: 1e-5, maxContext: 2048 }).headDim // => 64
 */
export function engineConfigFromSpec(spec: ModelSpec, c: { ropeTheta: number; rmsNormEps: number; maxContext: number }): EngineConfig {
  const a = spec.attention;
  if (a.kind === 'mla') throw new InputError('attention', 'mla', 'grouped-query attention (llama, mixtral)', `${spec.id} uses multi-head latent attention`);
  if (a.bias || a.outputBias) throw new InputError('attention_bias', true, 'false (the engine has no attention biases)');
  if (a.qkNorm || a.sinks) throw new InputError('architecture', spec.architecture, '"llama" or "mixtral" (no q/k norms or attention sinks)');
  if (spec.mlpBias) throw new InputError('mlp_bias', true, 'false (the engine has no FFN biases)');
  if (spec.slidingLayers > 0 && (spec.slidingWindow ?? Infinity) < c.maxContext) {
    throw new InputError('sliding_window', spec.slidingWindow, `absent or at least maxContext (${c.maxContext})`, 'this engine runs full attention only');
  }
  if (a.headDim % 2 !== 0) throw new InputError('head_dim', a.headDim, 'an even number (RoPE rotates pairs)');
  const moe = spec.moe;
  if (moe && (spec.denseLayers !== 0 || moe.sharedExperts > 0 || moe.routerBias || moe.expertBias)) {
    throw new InputError('architecture', spec.architecture, 'a Mixtral-style MoE (every layer routed, no shared experts, no router or expert biases)');
  }
  return {
    id: spec.id,
    hiddenSize: spec.hiddenSize,
    numLayers: spec.numLayers,
    vocabSize: spec.vocabSize,
    numHeads: a.numHeads,
    numKvHeads: a.numKvHeads,
    headDim: a.headDim,
    intermediateSize: moe ? moe.expertIntermediateSize : spec.intermediateSize,
    numExperts: moe ? moe.numExperts : 0,
    expertsPerToken: moe ? moe.expertsPerToken : 0,
    tieWordEmbeddings: spec.tieWordEmbeddings,
    ropeTheta: checkPositive('ropeTheta', c.ropeTheta),
    rmsNormEps: checkPositive('rmsNormEps', c.rmsNormEps, 1),
    maxContext: checkInt('maxContext', c.maxContext, { min: 2, max: MAX_ENGINE_CONTEXT }),
  };
}

/** How a config is shrunk to fit a small machine: each factor is in (0, 1]. */
export interface EngineScale {
  /** Multiplies hidden size, FFN width and the number of query and KV heads (head dim is kept). */
  width: number;
  /** Multiplies the number of layers. */
  depth: number;
  /** Multiplies the vocabulary (at least 256, so byte-level prompts fit). */
  vocab: number;
}

function shrink(v: number, f: number, min: number): number {
  return Math.max(min, Math.round(v * f));
}

/**
 * The same architecture with smaller shapes: widths, head counts, depth and vocabulary
 * multiplied by `scale` (head dim, expert count, top-k and the constants kept), so a
 * step fits a small CPU. Head counts are rounded so that the query heads stay a
 * multiple of the KV heads; the hidden size becomes numHeads · headDim.
 *
 * @example
 * // Llama-3.2-1B (1.24 B params) at width 1/2, depth 1/2, vocab 1/8: about 137 M params.
 * scaleEngineConfig(llama1b, { width: 0.5, depth: 0.5, vocab: 0.125 }).hiddenSize // => 1024
 */
export function scaleEngineConfig(c: EngineConfig, scale: EngineScale): EngineConfig {
  const w = checkNumber('scale.width', scale.width, { min: 0, exclusiveMin: true, max: 1 });
  const d = checkNumber('scale.depth', scale.depth, { min: 0, exclusiveMin: true, max: 1 });
  const v = checkNumber('scale.vocab', scale.vocab, { min: 0, exclusiveMin: true, max: 1 });
  const numKvHeads = shrink(c.numKvHeads, w, 1);
  const group = c.numHeads / c.numKvHeads;
  const numHeads = numKvHeads * group;
  return {
    ...c,
    id: `${c.id} ×(w ${w}, d ${d}, v ${v})`,
    numHeads,
    numKvHeads,
    hiddenSize: numHeads * c.headDim,
    intermediateSize: shrink(c.intermediateSize, w, 1),
    numLayers: shrink(c.numLayers, d, 1),
    vocabSize: shrink(c.vocabSize, v, 256),
  };
}

/**
 * Parameters of an engine config, counted by lib/models' formulas (the one home of
 * parameter counting) on the equivalent ModelSpec.
 *
 * @example
 * engineParamCount(cfg) // => 137e6 for the ×(½, ½, ⅛) Llama-3.2-1B
 */
export function engineParamCount(c: EngineConfig): { total: number; active: number } {
  const p = paramCounts(engineModelSpec(c));
  return { total: p.total, active: p.active };
}

/**
 * The ModelSpec an engine config runs, so that lib/models and lib/roofline can count
 * and price it.
 *
 * @example
 * engineModelSpec(cfg).attention.kind // => 'gqa'
 */
export function engineModelSpec(c: EngineConfig): ModelSpec {
  const moe = c.numExperts > 0;
  return {
    id: c.id,
    architecture: moe ? 'mixtral' : 'llama',
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    vocabSize: c.vocabSize,
    tieWordEmbeddings: c.tieWordEmbeddings,
    attention: { kind: c.numHeads === c.numKvHeads ? 'mha' : 'gqa', numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, bias: false, outputBias: false, qkNorm: false, sinks: false },
    slidingLayers: 0,
    slidingWindow: null,
    denseLayers: moe ? 0 : c.numLayers,
    intermediateSize: c.intermediateSize,
    mlpBias: false,
    moeLayers: moe ? c.numLayers : 0,
    moe: moe
      ? { numExperts: c.numExperts, expertsPerToken: c.expertsPerToken, expertIntermediateSize: c.intermediateSize, sharedExperts: 0, sharedIntermediateSize: 0, routerBias: false, expertBias: false }
      : null,
  };
}
