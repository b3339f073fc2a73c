import type { ModelSpec } from '../models/spec.js';
import { InputError } from '../util/errors.js';
import { checkInt, checkOneOf } from '../util/validate.js';
import { DTYPES } from '../core/types.js';
import type { DeploymentPrecision, PoolLayout } from './types.js';
import type { Parallelism } from '../roofline/deployment.js';

/** A layout with every default filled and every field checked against the model. */
export interface ResolvedLayout extends Required<PoolLayout> {
  /** Devices of one serving unit: tensorParallel × dataParallelAttention × pipelineParallel. */
  unitDevices: number;
}

/**
 * Checks a pool layout against a model and fills its defaults. Bad input names the
 * field: a routed-expert count per device above the model's experts, an expert
 * parallelism that is not the stage's device count, a layout bigger than 65,536 devices.
 *
 * @example
 * resolveLayout(loadModel('deepseek-v3'), { gpusPerNode: 8, tensorParallel: 1, dataParallelAttention: 144,
 *   pipelineParallel: 1, expertParallel: 144, redundantExperts: 32, microBatchOverlap: true }).routedExpertsPerDevice // => 2
 */
export function resolveLayout(model: ModelSpec, layout: PoolLayout): ResolvedLayout {
  if (typeof layout !== 'object' || layout === null) throw new InputError('layout', layout, 'a PoolLayout object');
  const gpusPerNode = checkInt('layout.gpusPerNode', layout.gpusPerNode, { min: 1, max: 1024 });
  const tp = checkInt('layout.tensorParallel', layout.tensorParallel, { min: 1, max: 1024 });
  const dp = checkInt('layout.dataParallelAttention', layout.dataParallelAttention, { min: 1, max: 65536 });
  const pp = checkInt('layout.pipelineParallel', layout.pipelineParallel, { min: 1, max: model.numLayers });
  const ep = checkInt('layout.expertParallel', layout.expertParallel, { min: 1, max: 65536 });
  const unitDevices = tp * dp * pp;
  if (unitDevices > 65536) throw new InputError('layout', unitDevices, 'at most 65536 devices per unit (tensorParallel × dataParallelAttention × pipelineParallel)');
  if (typeof layout.microBatchOverlap !== 'boolean') throw new InputError('layout.microBatchOverlap', layout.microBatchOverlap, 'true or false');
  const experts = model.moe?.numExperts ?? 0;
  const redundant = checkInt('layout.redundantExperts', layout.redundantExperts ?? 0, { min: 0, max: Math.max(0, experts * 64) });
  if (!model.moe) {
    if (ep !== 1) throw new InputError('layout.expertParallel', ep, '1 for a dense model (it has no routed experts)');
    if (redundant !== 0) throw new InputError('layout.redundantExperts', redundant, '0 for a dense model');
    return { gpusPerNode, tensorParallel: tp, dataParallelAttention: dp, pipelineParallel: pp, expertParallel: 1, redundantExperts: 0, routedExpertsPerDevice: 0, microBatchOverlap: layout.microBatchOverlap, unitDevices };
  }
  if (ep > 1 && ep !== tp * dp) {
    throw new InputError('layout.expertParallel', ep, `1 or tensorParallel × dataParallelAttention = ${tp * dp} (the devices of one pipeline stage)`);
  }
  const slots = experts + redundant;
  const dflt = Math.ceil(slots / ep);
  const perDevice = checkInt('layout.routedExpertsPerDevice', layout.routedExpertsPerDevice ?? dflt, { min: 1, max: experts });
  if (perDevice * ep < experts) {
    throw new InputError('layout.routedExpertsPerDevice', perDevice, `at least ${Math.ceil(experts / ep)} so that ${ep} devices hold all ${experts} experts`);
  }
  return { gpusPerNode, tensorParallel: tp, dataParallelAttention: dp, pipelineParallel: pp, expertParallel: ep, redundantExperts: redundant, routedExpertsPerDevice: perDevice, microBatchOverlap: layout.microBatchOverlap, unitDevices };
}

/**
 * Checks a precision: every tensor class one of the known dtypes. `kvCache` stays
 * absent when it is (the KV cache then takes the attention dtype, `precisionOfClasses`).
 *
 * @example
 * checkPrecision({ weights: 'fp8', attention: 'bf16', dispatch: 'fp8', combine: 'bf16' }).weights // => 'fp8'
 * checkPrecision({ weights: 'bf16', attention: 'bf16', dispatch: 'bf16', combine: 'bf16', kvCache: 'fp8' }).kvCache // => 'fp8'
 */
export function checkPrecision(p: DeploymentPrecision): DeploymentPrecision {
  if (typeof p !== 'object' || p === null) throw new InputError('precision', p, 'an object { weights, attention, dispatch, combine, kvCache?, compute? }');
  return {
    weights: checkOneOf('precision.weights', p.weights, DTYPES),
    attention: checkOneOf('precision.attention', p.attention, DTYPES),
    dispatch: checkOneOf('precision.dispatch', p.dispatch, DTYPES),
    combine: checkOneOf('precision.combine', p.combine, DTYPES),
    ...(p.kvCache === undefined ? {} : { kvCache: checkOneOf('precision.kvCache', p.kvCache, DTYPES) }),
    ...(p.compute === undefined ? {} : { compute: checkOneOf('precision.compute', p.compute, DTYPES) }),
  };
}

/**
 * One precision for every tensor class.
 *
 * @example
 * uniformPrecision('bf16').combine // => 'bf16'
 */
export function uniformPrecision(dtype: DeploymentPrecision['weights']): DeploymentPrecision {
  return checkPrecision({ weights: dtype, attention: dtype, dispatch: dtype, combine: dtype });
}

/**
 * The roofline's Parallelism of a pool layout: tensorParallel → tp,
 * dataParallelAttention → dp, expertParallel → ep, pipelineParallel → pp, gpusPerNode →
 * devicesPerNode, microBatchOverlap → overlap; `dispatch`, `expertLoadFactor` and
 * `expertRouting` come from the pool's role and routing. Under `expertRouting: 'eplb'`
 * redundantExperts → redundantExperts (the placement model then gives the load factor);
 * otherwise redundantExperts, like routedExpertsPerDevice, enters only through a given
 * `expertLoadFactor`. The one mapping between the two vocabularies.
 *
 * @example
 * layoutParallelism(loadModel('llama-3.1-70b'), { gpusPerNode: 8, tensorParallel: 4, dataParallelAttention: 1,
 *   pipelineParallel: 1, expertParallel: 1, redundantExperts: 0, microBatchOverlap: false }).tp // => 4
 */
export function layoutParallelism(model: ModelSpec, layout: PoolLayout, opts: Pick<Parallelism, 'dispatch' | 'expertLoadFactor' | 'expertRouting'> = {}): Parallelism {
  const L = resolveLayout(model, layout);
  const routing = opts.expertRouting === undefined ? {} : { expertRouting: opts.expertRouting, ...(opts.expertRouting === 'eplb' ? { redundantExperts: L.redundantExperts } : {}) };
  return {
    ...routing,
    tp: L.tensorParallel,
    dp: L.dataParallelAttention,
    ep: L.expertParallel,
    pp: L.pipelineParallel,
    devicesPerNode: L.gpusPerNode,
    overlap: L.microBatchOverlap,
    dispatch: opts.dispatch === undefined ? undefined : checkOneOf('dispatch', opts.dispatch, ['per-expert', 'per-node'] as const),
    expertLoadFactor: opts.expertLoadFactor,
  };
}
