// The attention numbers of a model, apart from lib/models/attention.ts: ops.ts and
// params.ts need them, and attention.ts prices whole steps through ops.ts and params.ts.
import type { AttentionShape } from '../attention/index.js';
import { checkAttentionShape } from '../attention/index.js';
import type { ModelSpec } from './spec.js';

/**
 * The attention numbers of a model, as lib/attention prices them.
 *
 * @example
 * modelAttentionShape(loadModel('deepseek-v3')).mla // => { latentDim: 512, ropeDim: 64 }
 */
export function modelAttentionShape(model: ModelSpec): AttentionShape {
  const a = model.attention;
  const common = { hiddenSize: model.hiddenSize, layers: model.numLayers, slidingLayers: model.slidingLayers, slidingWindow: model.slidingWindow };
  if (a.kind === 'mla') {
    return checkAttentionShape({
      kind: 'mla',
      heads: a.numHeads,
      kvHeads: a.numHeads,
      headDim: a.qkNopeHeadDim + a.qkRopeHeadDim,
      valueDim: a.vHeadDim,
      mla: { latentDim: a.kvLoraRank, ropeDim: a.qkRopeHeadDim },
      ...common,
    });
  }
  return checkAttentionShape({ kind: 'gqa', heads: a.numHeads, kvHeads: a.numKvHeads, headDim: a.headDim, valueDim: a.headDim, mla: null, ...common });
}
