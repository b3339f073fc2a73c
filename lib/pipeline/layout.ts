import { InputError } from '../util/errors.js';
import { checkInt, checkNumber, checkPositive } from '../util/validate.js';
import type { StepCostFn, StepWork } from '../core/types.js';

/**
 * Seconds of one layer for one micro-batch: one number for every layer, one number
 * per layer, or a function of the 0-based layer index.
 */
export type PipelineLayerCost = number | readonly number[] | ((layer: number) => number);


// A layer takes between a picosecond and a million seconds; a denormal cost (1e-320) made
// every sum underflow and the bubble fraction NaN.
const LAYER_SECONDS = { min: 1e-12, max: 1e6 };
/** How a model's layers sit on a pipeline of devices. */
export interface PipelineStageSpec {
  /** Transformer layers in the model, 1..100000. */
  layers: number;
  /** Pipeline devices S, 1..4096. */
  stages: number;
  /**
   * Layers per virtual stage in pipeline order (length S·v; with v = 1, one entry per
   * device). Default: an even split, the first `layers mod (S·v)` virtual stages
   * taking one layer more.
   */
  assignment?: readonly number[];
  /** Seconds of each layer for one micro-batch. */
  layerSeconds: PipelineLayerCost;
  /** Latency of handing a micro-batch's activations to another device, seconds (default 0). */
  transferSeconds?: number;
}

/**
 * A resolved pipeline: which layers each virtual stage runs and how long it takes.
 * Virtual stage j runs on device j mod S (Megatron-LM's interleaved placement, so
 * device d holds chunks d, d+S, d+2S, …).
 */
export interface PipelineLayout {
  layers: number;
  stages: number;
  /** Virtual stages (model chunks) per device, v. */
  chunks: number;
  /** Layers of each virtual stage, length S·v. */
  virtualLayers: number[];
  /** Seconds of each virtual stage for one micro-batch, length S·v. */
  virtualSeconds: number[];
  /** Seconds of each device for one micro-batch (sum over its chunks), length S. */
  stageSeconds: number[];
  transferSeconds: number;
}

const MAX_LAYERS = 100_000;
const MAX_STAGES = 4096;

/**
 * Splits a model's layers over S devices × v chunks and prices each piece.
 *
 * @example
 * pipelineLayout({ layers: 61, stages: 4, layerSeconds: 1e-3 }).virtualLayers // => [16, 15, 15, 15]
 */
export function pipelineLayout(spec: PipelineStageSpec, chunks = 1): PipelineLayout {
  if (spec === null || typeof spec !== 'object') throw new InputError('spec', spec, 'an object with layers, stages and layerSeconds');
  const layers = checkInt('layers', spec.layers, { min: 1, max: MAX_LAYERS });
  const stages = checkInt('stages', spec.stages, { min: 1, max: MAX_STAGES });
  const v = checkInt('chunks', chunks, { min: 1, max: 64 });
  const transferSeconds = checkNumber('transferSeconds', spec.transferSeconds ?? 0, { min: 0 });
  const nv = stages * v;
  let virtualLayers: number[];
  if (spec.assignment === undefined) {
    if (layers < nv) throw new InputError('layers', layers, `at least stages × chunks = ${nv}`, 'every virtual stage needs a layer');
    const base = Math.floor(layers / nv);
    const extra = layers % nv;
    virtualLayers = Array.from({ length: nv }, (_, j) => base + (j < extra ? 1 : 0));
  } else {
    const a = spec.assignment;
    if (!Array.isArray(a) || a.length !== nv) {
      throw new InputError('assignment', a, `an array of stages × chunks = ${nv} layer counts`);
    }
    virtualLayers = a.map((n, j) => checkInt(`assignment[${j}]`, n, { min: 1, max: MAX_LAYERS }));
    const sum = virtualLayers.reduce((s, n) => s + n, 0);
    if (sum !== layers) throw new InputError('assignment', a, `layer counts summing to layers = ${layers}`, `they sum to ${sum}`);
  }
  const perLayer = layerCosts(spec.layerSeconds, layers);
  const virtualSeconds: number[] = [];
  let next = 0;
  for (const n of virtualLayers) {
    let s = 0;
    for (let i = 0; i < n; i++) s += perLayer[next++];
    virtualSeconds.push(s);
  }
  const stageSeconds = Array.from({ length: stages }, () => 0);
  virtualSeconds.forEach((s, j) => (stageSeconds[j % stages] += s));
  return { layers, stages, chunks: v, virtualLayers, virtualSeconds, stageSeconds, transferSeconds };
}

function layerCosts(cost: PipelineLayerCost, layers: number): number[] {
  if (typeof cost === 'number') {
    checkNumber('layerSeconds', cost, LAYER_SECONDS);
    return Array.from({ length: layers }, () => cost);
  }
  if (Array.isArray(cost)) {
    if (cost.length !== layers) throw new InputError('layerSeconds', cost, `a number or an array of layers = ${layers} positive numbers`);
    return cost.map((c, i) => checkNumber(`layerSeconds[${i}]`, c, LAYER_SECONDS));
  }
  if (typeof cost === 'function') {
    const f = cost as (layer: number) => number;
    return Array.from({ length: layers }, (_, i) => checkNumber(`layerSeconds(${i})`, f(i), LAYER_SECONDS));
  }
  throw new InputError('layerSeconds', cost, 'a positive number, an array of positive numbers, or a function of the layer index');
}

/**
 * Seconds of one layer for one micro-batch, read off a whole-model step cost: the
 * step's time divided evenly over the layers. A roofline or fitted StepCostFn prices
 * the whole forward pass; a pipeline stage runs a share of it.
 *
 * @example
 * pipelineLayerSeconds(() => 0.061, { prefillTokens: 0, decodeTokens: 64, contextTokens: 0 }, 61) // => 0.001
 */
export function pipelineLayerSeconds(stepCost: StepCostFn, work: StepWork, layers: number): number {
  if (typeof stepCost !== 'function') throw new InputError('stepCost', stepCost, 'a StepCostFn');
  checkInt('layers', layers, { min: 1, max: MAX_LAYERS });
  const step = checkPositive('stepCost(work)', stepCost(work));
  return step / layers;
}
