import type { Dtype } from '../core/types.js';
import { DTYPE_BYTES, DTYPES } from '../core/types.js';
import { InputError } from '../util/errors.js';
import { checkArray, checkFraction, checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import type { AttentionShape } from './shape.js';
import { checkAttentionShape } from './shape.js';

const MAX_TOKENS = 1 << 24;
const MAX_SEQUENCES = 1 << 22;

/**
 * KV-cache elements one token adds to one layer: K and V per KV head
 * (kvHeads·(headDim + valueDim)), or MLA's latent plus its rotary key.
 *
 * @example
 * attentionKvElementsPerTokenPerLayer(gqaShape({ hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, layers: 80 })) // => 2048
 */
export function attentionKvElementsPerTokenPerLayer(shape: AttentionShape): number {
  const a = checkAttentionShape(shape);
  return a.mla ? a.mla.latentDim + a.mla.ropeDim : a.kvHeads * (a.headDim + a.valueDim);
}

/**
 * KV-cache bytes one token adds over all layers (sliding layers included; they stop
 * growing past the window, see `attentionKvBytesPerSequence`).
 *
 * @example
 * attentionKvBytesPerToken(deepseekV3Shape, 'bf16') // => 70272 = (512 + 64) × 61 × 2
 */
export function attentionKvBytesPerToken(shape: AttentionShape, dtype: Dtype): number {
  checkOneOf('dtype', dtype, DTYPES);
  return attentionKvElementsPerTokenPerLayer(shape) * shape.layers * DTYPE_BYTES[dtype];
}

/**
 * KV-cache bytes of one sequence of `context` tokens: full-attention layers hold every
 * token, sliding-window layers at most the window.
 *
 * @example
 * attentionKvBytesPerSequence(llama70bShape, 'bf16', 1000) // => 1000 × 327680
 */
export function attentionKvBytesPerSequence(shape: AttentionShape, dtype: Dtype, context: number): number {
  checkOneOf('dtype', dtype, DTYPES);
  checkInt('context', context, { min: 0, max: MAX_TOKENS });
  const perLayer = attentionKvElementsPerTokenPerLayer(shape) * DTYPE_BYTES[dtype];
  const windowed = shape.slidingWindow === null ? context : Math.min(context, shape.slidingWindow);
  return perLayer * ((shape.layers - shape.slidingLayers) * context + shape.slidingLayers * windowed);
}

/** Paged KV blocks of a set of sequences. */
export interface PagedKvUsage {
  blockTokens: number;
  /** Blocks allocated, shared prefix blocks counted once. */
  blocks: number;
  /** Token slots those blocks hold. */
  slotTokens: number;
  /** Tokens actually cached, shared prefix tokens counted once. */
  usedTokens: number;
  /** Empty slots in partly filled last blocks: internal fragmentation, below one block per sequence. */
  fragmentationTokens: number;
  /** Shared prefix blocks (allocated once for all sequences). */
  sharedBlocks: number;
  /** fragmentationTokens / slotTokens. */
  wasteFraction: number;
}

/**
 * Paged KV allocation (vLLM's PagedAttention): each sequence holds ceil(context /
 * blockTokens) blocks, so at most blockTokens − 1 slots of each are empty. With
 * `sharedPrefixTokens`, every sequence starts with the same prefix: its full blocks
 * are stored once and referenced by all (vLLM's prefix caching shares full blocks
 * only; the partial last block of the prefix is each sequence's own).
 *
 * @example
 * pagedKvUsage({ contexts: [1, 16, 17], blockTokens: 16 }) // => { blocks: 4, fragmentationTokens: 30, ... }
 */
export function pagedKvUsage(opts: { contexts: readonly number[]; blockTokens: number; sharedPrefixTokens?: number }): PagedKvUsage {
  const contexts = checkArray<number>('contexts', opts.contexts, MAX_SEQUENCES);
  const B = checkInt('blockTokens', opts.blockTokens, { min: 1, max: 1 << 16 });
  const prefix = checkInt('sharedPrefixTokens', opts.sharedPrefixTokens ?? 0, { min: 0, max: MAX_TOKENS });
  const shared = Math.floor(prefix / B);
  let blocks = contexts.length > 0 ? shared : 0;
  let used = contexts.length > 0 ? shared * B : 0;
  contexts.forEach((c, i) => {
    checkInt(`contexts[${i}]`, c, { min: prefix, max: MAX_TOKENS });
    const own = c - shared * B;
    blocks += Math.ceil(own / B);
    used += own;
  });
  const slots = blocks * B;
  return {
    blockTokens: B,
    blocks,
    slotTokens: slots,
    usedTokens: used,
    fragmentationTokens: slots - used,
    sharedBlocks: shared,
    wasteFraction: slots === 0 ? 0 : (slots - used) / slots,
  };
}

/** How a deployment's devices split the KV cache. */
export type KvSharding = 'heads' | 'sequences';

/** Inputs of `kvBatchLimit`: plain numbers, so that any model and device can be priced. */
export interface KvBatchLimitInput {
  shape: AttentionShape;
  dtype: Dtype;
  /** Tokens each sequence holds (prompt plus output so far). */
  context: number;
  /** Memory of one device, bytes. */
  deviceMemoryBytes: number;
  /** Devices the model is spread over (default 1). */
  devices?: number;
  /** Weight bytes of the whole model; each device holds 1/devices of them. */
  weightBytes: number;
  /** Activation workspace per device, bytes (default 0): peak temporaries of a step, logits. */
  activationBytes?: number;
  /** Fraction of memory the server may use at all (vLLM's gpu_memory_utilization; default 0.9). */
  memoryUtilization?: number;
  /**
   * `heads` (tensor parallel: each device holds its KV heads, replicated once the devices
   * outnumber the KV heads; an MLA latent is replicated on every device) or `sequences`
   * (data-parallel attention: each device holds whole sequences). Default: heads for
   * GQA, sequences for MLA, as DeepSeek-V3 is served.
   */
  kvSharding?: KvSharding;
  /** Paged block size in tokens (default 16, vLLM's default); 1 means no fragmentation. */
  blockTokens?: number;
  /** A prompt prefix every sequence shares (default 0), stored once per device. */
  sharedPrefixTokens?: number;
}

/** What `kvBatchLimit` finds. */
export interface KvBatchLimit {
  /** Largest number of concurrent sequences over all devices; 0 when weights and activations alone do not fit. */
  sequences: number;
  /** Bytes per device left for the KV cache. */
  kvBytesPerDevice: number;
  /** KV bytes one sequence takes on one device, in whole blocks. */
  sequenceBytesPerDevice: number;
  /** Paged blocks per device and per sequence. */
  blocksPerDevice: number;
  blocksPerSequence: number;
  /** Devices one sequence's KV is spread over (1 when sharded by sequence). */
  kvShards: number;
}

/**
 * The largest concurrent decode batch a deployment can hold at a context length:
 * memory × utilisation − weights/devices − activations is what each device has for
 * KV, counted in paged blocks; each sequence takes ceil(context / block) blocks of
 * its own (after any shared prefix). This models vLLM's block allocator under its own
 * settings (gpu_memory_utilization, block size, max_num_batched_tokens); whether a
 * step fits a device in the performance model is `memoryFit` (lib/roofline). This is the real batch limit of long-context
 * decode: weights are read once per step whatever the batch, KV is per sequence.
 *
 * @example
 * kvBatchLimit({ shape: llama70b, dtype: 'bf16', context: 8192, deviceMemoryBytes: 80e9, devices: 8, weightBytes: 141e9 }).sequences
 */
export function kvBatchLimit(input: KvBatchLimitInput): KvBatchLimit {
  if (typeof input !== 'object' || input === null) throw new InputError('input', input, 'a KvBatchLimitInput object');
  const shape = checkAttentionShape(input.shape);
  const dtype = checkOneOf('dtype', input.dtype, DTYPES);
  const context = checkInt('context', input.context, { min: 1, max: MAX_TOKENS });
  const mem = checkNumber('deviceMemoryBytes', input.deviceMemoryBytes, { min: 0, exclusiveMin: true, max: 1e15 });
  const devices = checkInt('devices', input.devices ?? 1, { min: 1, max: 4096 });
  const weights = checkNumber('weightBytes', input.weightBytes, { min: 0, max: 1e18 });
  const act = checkNumber('activationBytes', input.activationBytes ?? 0, { min: 0, max: 1e15 });
  const util = checkFraction('memoryUtilization', input.memoryUtilization ?? 0.9);
  const sharding = checkOneOf<KvSharding>('kvSharding', input.kvSharding ?? (shape.mla ? 'sequences' : 'heads'), ['heads', 'sequences']);
  const B = checkInt('blockTokens', input.blockTokens ?? 16, { min: 1, max: 1 << 16 });
  const prefix = checkInt('sharedPrefixTokens', input.sharedPrefixTokens ?? 0, { min: 0, max: context });
  // Heads split across tensor-parallel ranks up to the KV head count; an MLA latent has no heads to split.
  const kvShards = sharding === 'sequences' || shape.mla ? 1 : Math.min(devices, shape.kvHeads);
  const blockBytes = (attentionKvBytesPerSequence(shape, dtype, 1) / kvShards) * B;
  // Tokens a sequence holds in every layer's terms (fewer than its context when sliding layers stop at the window).
  const heldTokens = attentionKvBytesPerSequence(shape, dtype, context) / attentionKvBytesPerSequence(shape, dtype, 1);
  const sharedBlocks = Math.floor(prefix / B);
  const blocksPerSequence = Math.max(1, Math.ceil((heldTokens - sharedBlocks * B) / B));
  const free = mem * util - weights / devices - act;
  const out = { kvBytesPerDevice: Math.max(0, free), sequenceBytesPerDevice: blocksPerSequence * blockBytes, blocksPerSequence, kvShards };
  if (free <= 0) return { ...out, sequences: 0, blocksPerDevice: 0 };
  const blocksPerDevice = Math.floor(free / blockBytes);
  const perDevice = Math.max(0, Math.floor((blocksPerDevice - sharedBlocks) / blocksPerSequence));
  // Sharded by heads, every device holds a slice of every sequence; sharded by sequence, each holds its own.
  return { ...out, sequences: sharding === 'sequences' ? perDevice * devices : perDevice, blocksPerDevice };
}

/**
 * Paged blocks a sequence of `tokens` cached tokens holds: ceil(tokens / blockTokens).
 * What a block-level admission check asks before it adds a token or a prompt.
 *
 * @example
 * kvBlocksForTokens(17, 16) // => 2
 */
export function kvBlocksForTokens(tokens: number, blockTokens: number): number {
  const t = checkInt('tokens', tokens, { min: 0, max: MAX_TOKENS });
  const B = checkInt('blockTokens', blockTokens, { min: 1, max: 1 << 16 });
  return Math.ceil(t / B);
}
