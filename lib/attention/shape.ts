import { InputError } from '../util/errors.js';
import { checkInt } from '../util/validate.js';

/**
 * The plain numbers attention is priced from, whatever model they come from
 * (lib/models converts a ModelSpec with `modelAttentionShape`). GQA covers MHA
 * (kvHeads = heads) and MQA (kvHeads = 1). For MLA, `headDim` is the query–key
 * width per head (qk_nope + qk_rope), prefill expands the cached latent into
 * per-head keys and values (so it runs as MHA with kvHeads = heads), and decode
 * reads the latent itself through absorbed weights.
 */
export interface AttentionShape {
  kind: 'gqa' | 'mla';
  /** Model width; the query heads cannot outnumber it. */
  hiddenSize: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (GQA); for MLA, the heads prefill expands the latent into (= heads). */
  kvHeads: number;
  /** Query–key width per head. */
  headDim: number;
  /** Value width per head (= headDim for GQA models). */
  valueDim: number;
  /** MLA's cached latent width (kv_lora_rank) and the rotary key width cached beside it; null for GQA. */
  mla: { latentDim: number; ropeDim: number } | null;
  /** Every layer with attention, sliding ones included. */
  layers: number;
  /** Layers whose queries see only the last `slidingWindow` keys (0 when none). */
  slidingLayers: number;
  slidingWindow: number | null;
}

const DIM = { min: 1, max: 1 << 20 };

/**
 * Validates an AttentionShape: positive integer dimensions, kvHeads dividing heads,
 * no more heads than the hidden size, sliding layers within the layers and a window
 * when there are any. Errors name the field.
 *
 * @example
 * checkAttentionShape({ kind: 'gqa', hiddenSize: 4096, heads: 32, kvHeads: 8, headDim: 128, valueDim: 128, mla: null, layers: 32, slidingLayers: 0, slidingWindow: null }).heads // => 32
 */
export function checkAttentionShape(shape: AttentionShape): AttentionShape {
  if (typeof shape !== 'object' || shape === null) throw new InputError('shape', shape, 'an AttentionShape object');
  if (shape.kind !== 'gqa' && shape.kind !== 'mla') throw new InputError('shape.kind', shape.kind, 'one of "gqa", "mla"');
  const hidden = checkInt('hiddenSize', shape.hiddenSize, DIM);
  checkInt('heads', shape.heads, { min: 1, max: hidden });
  checkInt('kvHeads', shape.kvHeads, { min: 1, max: shape.heads });
  if (shape.heads % shape.kvHeads !== 0) throw new InputError('kvHeads', shape.kvHeads, `a divisor of heads (${shape.heads})`);
  checkInt('headDim', shape.headDim, DIM);
  checkInt('valueDim', shape.valueDim, DIM);
  checkInt('layers', shape.layers, { min: 1, max: 4096 });
  checkInt('slidingLayers', shape.slidingLayers, { min: 0, max: shape.layers });
  if (shape.slidingLayers > 0 || shape.slidingWindow !== null) checkInt('slidingWindow', shape.slidingWindow, { min: 1, max: 1 << 24 });
  if (shape.kind === 'mla') {
    if (typeof shape.mla !== 'object' || shape.mla === null) throw new InputError('mla', shape.mla, 'an object { latentDim, ropeDim } for kind "mla"');
    checkInt('mla.latentDim', shape.mla.latentDim, DIM);
    checkInt('mla.ropeDim', shape.mla.ropeDim, { min: 0, max: shape.headDim });
  } else if (shape.mla !== null) throw new InputError('mla', shape.mla, 'null for kind "gqa"');
  return shape;
}

/**
 * A GQA shape from its four defining numbers (MHA: kvHeads = heads), no sliding layers.
 *
 * @example
 * gqaShape({ hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, layers: 80 }).valueDim // => 128
 */
export function gqaShape(p: { hiddenSize: number; heads: number; kvHeads: number; headDim: number; layers: number; slidingLayers?: number; slidingWindow?: number | null }): AttentionShape {
  return checkAttentionShape({
    kind: 'gqa',
    hiddenSize: p.hiddenSize,
    heads: p.heads,
    kvHeads: p.kvHeads,
    headDim: p.headDim,
    valueDim: p.headDim,
    mla: null,
    layers: p.layers,
    slidingLayers: p.slidingLayers ?? 0,
    slidingWindow: p.slidingWindow ?? null,
  });
}
