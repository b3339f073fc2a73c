import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readJsonCapped } from '../util/files.js';
import { InputError, described } from '../util/errors.js';
import { checkInt } from '../util/validate.js';
import { batchlabDataDir } from '../util/package-root.js';

/** The HF architectures the loader understands (their `model_type`). */
export type ModelArchitecture = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma2' | 'gemma3' | 'phi3' | 'mixtral' | 'qwen3_moe' | 'deepseek_v3' | 'gpt_oss';
/** The config.json architectures (`model_type`) the loader reads. */
export const MODEL_ARCHITECTURES: readonly ModelArchitecture[] = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'phi3', 'mixtral', 'qwen3_moe', 'deepseek_v3', 'gpt_oss'];

// `architectures[0]` names the module that runs the weights, so it decides; model_type
// is the fallback (Kimi-K2 ships model_type "kimi_k2" with DeepseekV3ForCausalLM).
// Maps, not object literals: a user string such as "constructor" or "__proto__" must not
// find Object.prototype's members.
const CLASS_TO_ARCH = new Map<string, ModelArchitecture>(Object.entries({
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  Gemma2ForCausalLM: 'gemma2',
  Gemma3ForCausalLM: 'gemma3',
  Phi3ForCausalLM: 'phi3',
  MixtralForCausalLM: 'mixtral',
  Qwen3MoeForCausalLM: 'qwen3_moe',
  DeepseekV3ForCausalLM: 'deepseek_v3',
  GptOssForCausalLM: 'gpt_oss',
} satisfies Record<string, ModelArchitecture>));
const TYPE_TO_ARCH = new Map<string, ModelArchitecture>(Object.entries({
  llama: 'llama',
  mistral: 'mistral',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  gemma2: 'gemma2',
  gemma3_text: 'gemma3',
  phi3: 'phi3',
  mixtral: 'mixtral',
  qwen3_moe: 'qwen3_moe',
  deepseek_v3: 'deepseek_v3',
  kimi_k2: 'deepseek_v3',
  gpt_oss: 'gpt_oss',
} satisfies Record<string, ModelArchitecture>));

/** Grouped-query attention; MHA is numKvHeads = numHeads, MQA is numKvHeads = 1. */
export interface GqaAttentionSpec {
  kind: 'mha' | 'gqa';
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Biases on the q, k and v projections. */
  bias: boolean;
  /** A bias on the o projection (Llama's attention_bias and gpt-oss set both; Qwen2 biases q, k, v only). */
  outputBias: boolean;
  /** Per-head RMSNorm on q and k (Qwen3). */
  qkNorm: boolean;
  /** One learned attention-sink logit per head (gpt-oss). */
  sinks: boolean;
}

/** DeepSeek's multi-head latent attention: K and V are rebuilt from a small cached latent. */
export interface MlaAttentionSpec {
  kind: 'mla';
  numHeads: number;
  /** Rank of the query down-projection; null when q is projected directly. */
  qLoraRank: number | null;
  /** Width of the cached latent c_kv. */
  kvLoraRank: number;
  qkNopeHeadDim: number;
  /** Width of the decoupled rotary key, cached once per token (shared by all heads). */
  qkRopeHeadDim: number;
  vHeadDim: number;
}

/** The routed-expert part of a mixture-of-experts model, from its config.json. */
export interface MoeSpec {
  /** Routed experts per MoE layer. */
  numExperts: number;
  /** Routed experts each token goes to (top-k). */
  expertsPerToken: number;
  /** Hidden width of one routed expert's gated FFN. */
  expertIntermediateSize: number;
  /** Always-on shared experts (DeepSeek), modelled as one FFN of width sharedIntermediateSize. */
  sharedExperts: number;
  sharedIntermediateSize: number;
  /** A bias per expert on the router (gpt-oss logits bias, DeepSeek's e_score_correction_bias). */
  routerBias: boolean;
  /** Biases inside each expert's projections (gpt-oss). */
  expertBias: boolean;
}

/**
 * A model normalised from its HF config.json: the numbers every operation shape,
 * parameter count and KV-cache size is derived from. All FFNs are gated (SwiGLU):
 * gate and up projections of width intermediateSize, then down.
 */
export interface ModelSpec {
  id: string;
  architecture: ModelArchitecture;
  hiddenSize: number;
  numLayers: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  attention: GqaAttentionSpec | MlaAttentionSpec;
  /** Layers whose attention sees only the last `slidingWindow` tokens. */
  slidingLayers: number;
  slidingWindow: number | null;
  /** Layers with a dense FFN of width intermediateSize. */
  denseLayers: number;
  intermediateSize: number;
  mlpBias: boolean;
  /** Layers with a routed-expert FFN; moe is null when there are none. */
  moeLayers: number;
  moe: MoeSpec | null;
  /**
   * The longest sequence (prompt and output together) the config declares, its
   * max_position_embeddings: what vLLM, SGLang and TensorRT-LLM allow by default
   * (max_model_len, context_length, max_seq_len). Absent when the config states none.
   */
  maxContextTokens?: number;
  /**
   * How the checkpoint scales its FP8 weights, read from config.json's `quantization_config`
   * (quant_method "fp8") as aiconfigurator reads it (aic-core/src/aiconfigurator_core/sdk/utils.py:1205-1207
   * and sdk/models/helpers.py:598-612, commit 095f58a5): 'block' where it names a
   * `weight_block_size` (DeepSeek-V3's 128 × 128), else 'dynamic' where its
   * `activation_scheme` is "dynamic", else 'static'. Absent for a checkpoint that is not FP8.
   */
  checkpointFp8Scaling?: 'dynamic' | 'static' | 'block';
  /**
   * What the config asks for that the step cost does not price, one sentence each
   * (soft-capping, q/k norms, fused projections…), and how the windows it does price
   * are counted. Printed beside every figure computed from this model.
   */
  notes?: string[];
}

const DIM = { min: 1, max: 1 << 20 };

function own(cfg: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(cfg, key) ? cfg[key] : undefined;
}
function int(cfg: Record<string, unknown>, key: string, bounds = DIM): number {
  return checkInt(key, own(cfg, key), bounds);
}
function intOr(cfg: Record<string, unknown>, key: string, dflt: number, bounds = DIM): number {
  const v = own(cfg, key);
  return v === undefined || v === null ? dflt : checkInt(key, v, bounds);
}
function bool(cfg: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = own(cfg, key);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new InputError(key, v, 'true or false');
  return v;
}

function architectureOf(cfg: Record<string, unknown>): ModelArchitecture {
  const arches = cfg.architectures;
  if (arches !== undefined) {
    if (!Array.isArray(arches) || arches.length === 0 || typeof arches[0] !== 'string') {
      throw new InputError('architectures', arches, 'a non-empty array of class names');
    }
    const a = CLASS_TO_ARCH.get(arches[0]);
    if (!a) {
      throw new InputError('architectures', arches[0], `one of ${[...CLASS_TO_ARCH.keys()].join(', ')}`, `unsupported architecture ${arches[0]}`);
    }
    return a;
  }
  const mt = cfg.model_type;
  if (mt === undefined) throw new InputError('model_type', mt, `one of ${[...TYPE_TO_ARCH.keys()].join(', ')} (or an architectures list)`);
  const a = typeof mt === 'string' ? TYPE_TO_ARCH.get(mt) : undefined;
  if (!a) throw new InputError('model_type', mt, `one of ${[...TYPE_TO_ARCH.keys()].join(', ')}`, `unsupported architecture ${String(mt)}`);
  return a;
}

function gqa(cfg: Record<string, unknown>, hidden: number, o: { bias: boolean; outputBias?: boolean; qkNorm: boolean; sinks: boolean }): GqaAttentionSpec {
  const opts = { bias: o.bias, outputBias: o.outputBias ?? o.bias, qkNorm: o.qkNorm, sinks: o.sinks };
  const numHeads = int(cfg, 'num_attention_heads');
  const numKvHeads = intOr(cfg, 'num_key_value_heads', numHeads, { min: 1, max: numHeads });
  if (numHeads % numKvHeads !== 0) {
    throw new InputError('num_key_value_heads', numKvHeads, `a divisor of num_attention_heads (${numHeads})`);
  }
  let headDim: number;
  if (cfg.head_dim === undefined || cfg.head_dim === null) {
    if (hidden % numHeads !== 0) throw new InputError('head_dim', cfg.head_dim, `given, since hidden_size ${hidden} is not a multiple of num_attention_heads ${numHeads}`);
    headDim = hidden / numHeads;
  } else headDim = int(cfg, 'head_dim');
  return { kind: numKvHeads === numHeads ? 'mha' : 'gqa', numHeads, numKvHeads, headDim, ...opts };
}

function experts(cfg: Record<string, unknown>, countKey: string, topKKey: string): { numExperts: number; expertsPerToken: number } {
  const numExperts = int(cfg, countKey, { min: 1, max: 65536 });
  const expertsPerToken = int(cfg, topKKey, { min: 1, max: numExperts });
  return { numExperts, expertsPerToken };
}

function windowOf(cfg: Record<string, unknown>): number {
  return int(cfg, 'sliding_window', { min: 1, max: 1 << 24 });
}

/**
 * Layers that slide, from `layer_types` when the config lists them (newer transformers
 * write it for every hybrid model), else from the architecture's own rule `slides(i)`.
 */
function slidingFromLayerTypes(cfg: Record<string, unknown>, numLayers: number, slides: (layer: number) => boolean): number {
  const types = cfg.layer_types;
  if (types === undefined || types === null) {
    let n = 0;
    for (let i = 0; i < numLayers; i++) if (slides(i)) n++;
    return n;
  }
  if (!Array.isArray(types) || types.length !== numLayers || !types.every((t) => t === 'sliding_attention' || t === 'full_attention')) {
    throw new InputError('layer_types', types, `an array of ${numLayers} entries, each "sliding_attention" or "full_attention"`);
  }
  return types.filter((t) => t === 'sliding_attention').length;
}

/** Qwen2/Qwen3 (dense and MoE): with use_sliding_window, layers from max_window_layers on slide. */
function qwenWindows(cfg: Record<string, unknown>, numLayers: number): { slidingLayers: number; slidingWindow: number | null } {
  if (!bool(cfg, 'use_sliding_window', false)) return { slidingLayers: 0, slidingWindow: null };
  const maxWindowLayers = intOr(cfg, 'max_window_layers', numLayers, { min: 0, max: numLayers });
  return { slidingLayers: numLayers - maxWindowLayers, slidingWindow: windowOf(cfg) };
}

/** Mistral and Phi-3 slide every layer when sliding_window is set (null or absent: full attention). */
function everyLayerWindow(cfg: Record<string, unknown>, numLayers: number): { slidingLayers: number; slidingWindow: number | null } {
  if (cfg.sliding_window === undefined || cfg.sliding_window === null) return { slidingLayers: 0, slidingWindow: null };
  return { slidingLayers: numLayers, slidingWindow: windowOf(cfg) };
}

// What the step cost leaves out, by feature: it prices matmuls and memory traffic, so
// elementwise work (norms, activations, soft-capping, bias adds) is not in it.
const UNPRICED = {
  qkNorm: 'per-head q/k RMSNorm: its weights are counted, its elementwise work is not priced',
  qkvBias: 'q, k, v projection biases: counted in the weights, the bias adds are not priced',
  softcap: 'attention-logit and final-logit soft-capping (tanh) are not priced',
  sandwich: 'four RMSNorms per layer (pre and post attention and FFN): two are counted in the weights, none is priced',
  geglu: 'GeGLU FFN (gelu_pytorch_tanh): priced as the same three matmuls as SwiGLU',
  scaledEmbedding: 'the embedding scaled by sqrt(hidden_size) is not priced',
  fused: 'fused qkv_proj and gate_up_proj: priced as the same matmul shapes as separate projections',
  sinks: 'attention sinks (one learned logit per head): counted in the weights, not priced',
};

// quantization_config of an FP8 checkpoint (ModelSpec.checkpointFp8Scaling); anything else is not read.
function checkpointFp8Scaling(q: unknown): ModelSpec['checkpointFp8Scaling'] {
  if (typeof q !== 'object' || q === null || Array.isArray(q)) return undefined;
  const c = q as Record<string, unknown>;
  if (own(c, 'quant_method') !== 'fp8') return undefined;
  const block = own(c, 'weight_block_size');
  if (block !== undefined && block !== null) {
    // A block is rows × columns of weights sharing one scale: two positive integers.
    if (!Array.isArray(block) || block.length !== 2 || !block.every((x) => Number.isInteger(x) && (x as number) > 0)) {
      throw new InputError('quantization_config.weight_block_size', block, 'two positive integers, e.g. [128, 128]');
    }
    return 'block';
  }
  return own(c, 'activation_scheme') === 'dynamic' ? 'dynamic' : 'static';
}

// A checkpoint quantized some other way than FP8 (AWQ, GPTQ, MXFP4…) is priced at the precision a
// command gives, not by that method's kernels: said beside every figure.
function quantizationNote(q: unknown): string[] {
  if (typeof q !== 'object' || q === null || Array.isArray(q)) return [];
  const m = own(q as Record<string, unknown>, 'quant_method');
  if (typeof m !== 'string' || m === 'fp8') return [];
  return [`checkpoint quantized as ${m.slice(0, 40)} (quantization_config): priced at the precision given, not by ${m.slice(0, 40)} kernels`];
}

function mtpNote(cfg: Record<string, unknown>): string[] {
  const n = intOr(cfg, 'num_nextn_predict_layers', 0, { min: 0, max: 64 });
  return n > 0 ? [`${n} multi-token-prediction layer${n === 1 ? '' : 's'} (num_nextn_predict_layers): neither counted nor priced; speculative decoding is priced by its flags`] : [];
}

function windowNote(slidingLayers: number, numLayers: number, window: number | null): string[] {
  if (slidingLayers === 0 || window === null) return [];
  return [`sliding window: ${slidingLayers} of ${numLayers} layers attend to the last ${window} tokens; their KV cache and attention reads are capped at ${window} tokens`];
}

/**
 * Normalises an HF config.json (parsed) into a ModelSpec. Supports the llama, mistral,
 * qwen2 (Qwen2 and Qwen2.5), qwen3, gemma2, gemma3 (text), phi3, mixtral, qwen3_moe,
 * deepseek_v3 (also Kimi-K2) and gpt_oss architectures; any other architecture, and any
 * missing or invalid field, is an InputError naming it. `notes` says what the step
 * cost does not price for this architecture.
 *
 * @example
 * const m = loadModelConfig(JSON.parse(readFileSync('config.json', 'utf8')), 'my-llama');
 * m.attention.kind // => 'gqa'
 */
export function loadModelConfig(json: unknown, id?: string): ModelSpec {
  const m = modelOfConfig(json, id);
  const q = quantizationNote(Object.hasOwn(json as object, 'quantization_config') ? (json as Record<string, unknown>).quantization_config : undefined);
  return q.length ? { ...m, notes: [...(m.notes ?? []), ...q] } : m;
}

function modelOfConfig(json: unknown, id?: string): ModelSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError('config', json, 'a JSON object (an HF config.json)');
  const outer = json as Record<string, unknown>;
  if (Array.isArray(outer.architectures) && outer.architectures[0] === 'Gemma3ForConditionalGeneration') return gemma3Multimodal(outer, id);
  // A prototype-free copy of the own keys: no lookup below can reach Object.prototype.
  const cfg = Object.assign(Object.create(null) as Record<string, unknown>, json);
  const architecture = architectureOf(cfg);
  const hiddenSize = int(cfg, 'hidden_size');
  const numLayers = int(cfg, 'num_hidden_layers', { min: 1, max: 4096 });
  const vocabSize = int(cfg, 'vocab_size', { min: 1, max: 1 << 24 });
  const tieWordEmbeddings = bool(cfg, 'tie_word_embeddings', false);
  const name = id ?? (typeof cfg._name_or_path === 'string' && cfg._name_or_path ? cfg._name_or_path : architecture);
  const maxPos = own(cfg, 'max_position_embeddings');
  const maxContext = maxPos === undefined || maxPos === null ? {} : { maxContextTokens: checkInt('max_position_embeddings', maxPos, { min: 1, max: 1 << 26 }) };
  const fp8 = checkpointFp8Scaling(own(cfg, 'quantization_config'));
  const base = { id: name, architecture, hiddenSize, numLayers, vocabSize, tieWordEmbeddings, ...maxContext, ...(fp8 ? { checkpointFp8Scaling: fp8 } : {}) };

  switch (architecture) {
    case 'llama': {
      return {
        ...base,
        attention: gqa(cfg, hiddenSize, { bias: bool(cfg, 'attention_bias', false), qkNorm: false, sinks: false }),
        slidingLayers: 0,
        slidingWindow: null,
        denseLayers: numLayers,
        intermediateSize: int(cfg, 'intermediate_size'),
        mlpBias: bool(cfg, 'mlp_bias', false),
        moeLayers: 0,
        moe: null,
      };
    }
    case 'mistral':
    case 'phi3':
    case 'qwen2':
    case 'qwen3': {
      // MistralAttention and Phi3Attention have no biases; Qwen2 biases q, k, v (not o);
      // Qwen3 adds per-head q/k RMSNorm and follows attention_bias on all four.
      const attention =
        architecture === 'qwen2'
          ? gqa(cfg, hiddenSize, { bias: true, outputBias: false, qkNorm: false, sinks: false })
          : gqa(cfg, hiddenSize, { bias: architecture === 'qwen3' ? bool(cfg, 'attention_bias', false) : false, qkNorm: architecture === 'qwen3', sinks: false });
      const w = architecture === 'qwen2' || architecture === 'qwen3' ? qwenWindows(cfg, numLayers) : everyLayerWindow(cfg, numLayers);
      const notes = [
        ...windowNote(w.slidingLayers, numLayers, w.slidingWindow),
        ...(architecture === 'qwen2' ? [UNPRICED.qkvBias] : []),
        ...(architecture === 'qwen3' ? [UNPRICED.qkNorm] : []),
        ...(architecture === 'phi3' ? [UNPRICED.fused] : []),
      ];
      return { ...base, attention, ...w, denseLayers: numLayers, intermediateSize: int(cfg, 'intermediate_size'), mlpBias: false, moeLayers: 0, moe: null, notes };
    }
    case 'gemma2':
    case 'gemma3': {
      // Gemma2DecoderLayer slides on even layers; Gemma3 on every layer but each
      // sliding_window_pattern-th ((i + 1) % pattern != 0). Both tie the embeddings by default.
      const pattern = architecture === 'gemma3' ? intOr(cfg, 'sliding_window_pattern', 6, { min: 1, max: numLayers + 1 }) : 2;
      const slides = architecture === 'gemma2' ? (i: number) => i % 2 === 0 : (i: number) => (i + 1) % pattern !== 0;
      const slidingWindow = windowOf(cfg);
      const slidingLayers = slidingFromLayerTypes(cfg, numLayers, slides);
      const softcap = own(cfg, 'attn_logit_softcapping') ?? own(cfg, 'final_logit_softcapping');
      const notes = [
        ...windowNote(slidingLayers, numLayers, slidingWindow),
        ...(softcap === undefined || softcap === null ? [] : [UNPRICED.softcap]),
        ...(architecture === 'gemma3' ? [UNPRICED.qkNorm] : []),
        UNPRICED.sandwich,
        UNPRICED.geglu,
        UNPRICED.scaledEmbedding,
      ];
      return {
        ...base,
        tieWordEmbeddings: bool(cfg, 'tie_word_embeddings', true),
        attention: gqa(cfg, hiddenSize, { bias: bool(cfg, 'attention_bias', false), qkNorm: architecture === 'gemma3', sinks: false }),
        slidingLayers,
        slidingWindow,
        denseLayers: numLayers,
        intermediateSize: int(cfg, 'intermediate_size'),
        mlpBias: false,
        moeLayers: 0,
        moe: null,
        notes,
      };
    }
    case 'mixtral': {
      const e = experts(cfg, 'num_local_experts', 'num_experts_per_tok');
      const w = everyLayerWindow(cfg, numLayers);
      return {
        ...base,
        attention: gqa(cfg, hiddenSize, { bias: false, qkNorm: false, sinks: false }),
        ...w,
        notes: windowNote(w.slidingLayers, numLayers, w.slidingWindow),
        denseLayers: 0,
        intermediateSize: int(cfg, 'intermediate_size'),
        mlpBias: false,
        moeLayers: numLayers,
        moe: { ...e, expertIntermediateSize: int(cfg, 'intermediate_size'), sharedExperts: 0, sharedIntermediateSize: 0, routerBias: false, expertBias: false },
      };
    }
    case 'qwen3_moe': {
      const e = experts(cfg, 'num_experts', 'num_experts_per_tok');
      const step = intOr(cfg, 'decoder_sparse_step', 1, { min: 1, max: numLayers });
      const only = cfg.mlp_only_layers ?? [];
      if (!Array.isArray(only) || !only.every((l) => Number.isInteger(l) && l >= 0 && l < numLayers)) {
        throw new InputError('mlp_only_layers', only, `an array of layer indices in [0, ${numLayers - 1}]`);
      }
      // Qwen3MoeDecoderLayer: sparse when not listed in mlp_only_layers and (i + 1) % decoder_sparse_step == 0.
      let moeLayers = 0;
      for (let i = 0; i < numLayers; i++) if (!only.includes(i) && (i + 1) % step === 0) moeLayers++;
      // A MoE spec with no sparse layer would carry experts that no layer uses.
      if (moeLayers === 0) throw new InputError('mlp_only_layers/decoder_sparse_step', described(`${only.length} dense-only layers, step ${step}`), `settings that leave at least one of the ${numLayers} layers sparse`);
      const w = qwenWindows(cfg, numLayers);
      return {
        ...base,
        attention: gqa(cfg, hiddenSize, { bias: bool(cfg, 'attention_bias', false), qkNorm: true, sinks: false }),
        ...w,
        notes: [...windowNote(w.slidingLayers, numLayers, w.slidingWindow), UNPRICED.qkNorm],
        denseLayers: numLayers - moeLayers,
        intermediateSize: moeLayers === numLayers ? intOr(cfg, 'intermediate_size', 1) : int(cfg, 'intermediate_size'),
        mlpBias: false,
        moeLayers,
        moe: { ...e, expertIntermediateSize: int(cfg, 'moe_intermediate_size'), sharedExperts: 0, sharedIntermediateSize: 0, routerBias: false, expertBias: false },
      };
    }
    case 'deepseek_v3': {
      const numHeads = int(cfg, 'num_attention_heads');
      const qLoraRank = cfg.q_lora_rank === null ? null : int(cfg, 'q_lora_rank');
      const attention: MlaAttentionSpec = {
        kind: 'mla',
        numHeads,
        qLoraRank,
        kvLoraRank: int(cfg, 'kv_lora_rank'),
        qkNopeHeadDim: int(cfg, 'qk_nope_head_dim'),
        qkRopeHeadDim: int(cfg, 'qk_rope_head_dim'),
        vHeadDim: int(cfg, 'v_head_dim'),
      };
      const firstDense = intOr(cfg, 'first_k_dense_replace', 0, { min: 0, max: numLayers });
      const freq = intOr(cfg, 'moe_layer_freq', 1, { min: 1, max: numLayers });
      const e = experts(cfg, 'n_routed_experts', 'num_experts_per_tok');
      const shared = intOr(cfg, 'n_shared_experts', 0, { min: 0, max: 1024 });
      const expertIntermediateSize = int(cfg, 'moe_intermediate_size');
      // DeepseekV3DecoderLayer: MoE when layer_idx >= first_k_dense_replace and layer_idx % moe_layer_freq == 0.
      let moeLayers = 0;
      for (let i = firstDense; i < numLayers; i++) if (i % freq === 0) moeLayers++;
      if (moeLayers === 0) throw new InputError('first_k_dense_replace/moe_layer_freq', described(`${firstDense}, ${freq}`), `settings that leave at least one of the ${numLayers} layers MoE`);
      return {
        ...base,
        attention,
        notes: mtpNote(cfg),
        slidingLayers: 0,
        slidingWindow: null,
        denseLayers: numLayers - moeLayers,
        intermediateSize: moeLayers === numLayers ? intOr(cfg, 'intermediate_size', 1) : int(cfg, 'intermediate_size'),
        mlpBias: false,
        moeLayers,
        moe: {
          ...e,
          expertIntermediateSize,
          sharedExperts: shared,
          sharedIntermediateSize: shared * expertIntermediateSize,
          routerBias: cfg.topk_method === 'noaux_tc',
          expertBias: false,
        },
      };
    }
    case 'gpt_oss': {
      const topKKey = cfg.num_experts_per_tok !== undefined ? 'num_experts_per_tok' : 'experts_per_token';
      const e = experts(cfg, 'num_local_experts', topKKey);
      const window = int(cfg, 'sliding_window', { min: 1, max: 1 << 24 });
      // GptOssConfig's default: even layers slide, odd layers see everything.
      const slidingLayers = slidingFromLayerTypes(cfg, numLayers, (i) => i % 2 === 0);
      const inter = int(cfg, 'intermediate_size');
      return {
        ...base,
        attention: gqa(cfg, hiddenSize, { bias: bool(cfg, 'attention_bias', true), qkNorm: false, sinks: true }),
        slidingLayers,
        slidingWindow: window,
        notes: [...windowNote(slidingLayers, numLayers, window), UNPRICED.sinks],
        denseLayers: 0,
        intermediateSize: inter,
        mlpBias: false,
        moeLayers: numLayers,
        moe: { ...e, expertIntermediateSize: inter, sharedExperts: 0, sharedIntermediateSize: 0, routerBias: true, expertBias: true },
      };
    }
  }
}

// Gemma-3 4B and up ship as Gemma3ForConditionalGeneration: the decoder's fields sit
// under text_config, beside a vision tower whose work on image tokens is not priced.
function gemma3Multimodal(outer: Record<string, unknown>, id?: string): ModelSpec {
  const text = Object.hasOwn(outer, 'text_config') ? outer.text_config : undefined;
  if (typeof text !== 'object' || text === null || Array.isArray(text)) throw new InputError('text_config', text, 'an object with the Gemma-3 decoder\'s fields');
  const inner: Record<string, unknown> = { ...(text as Record<string, unknown>), architectures: ['Gemma3ForCausalLM'] };
  if (typeof outer._name_or_path === 'string' && !Object.hasOwn(inner, '_name_or_path')) inner._name_or_path = outer._name_or_path;
  if (!Object.hasOwn(inner, 'tie_word_embeddings') && Object.hasOwn(outer, 'tie_word_embeddings')) inner.tie_word_embeddings = outer.tie_word_embeddings;
  try {
    const m = loadModelConfig(inner, id);
    return { ...m, notes: [...(m.notes ?? []), 'vision tower (Gemma3ForConditionalGeneration): image tokens and the vision encoder are not priced; the text decoder is'] };
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`text_config.${err.field}`, err.value, err.allowed, err.detail);
    throw err;
  }
}

function modelDir(): string {
  return batchlabDataDir('models');
}

/**
 * Ids of the model configs shipped in data/models/.
 *
 * @example
 * listModelIds() // => ['deepseek-v3', 'gpt-oss-120b', 'kimi-k2', 'llama-3.1-405b', ...]
 */
export function listModelIds(): string[] {
  return readdirSync(modelDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * A shipped model by id (data/models/<id>.json, an HF config.json).
 *
 * @example
 * loadModel('deepseek-v3').moe?.numExperts // => 256
 */
export function loadModel(id: string): ModelSpec {
  const ids = listModelIds();
  if (typeof id !== 'string' || !ids.includes(id)) throw new InputError('model id', id, `one of ${ids.join(', ')}`);
  const text = readFileSync(join(modelDir(), `${id}.json`), 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`data/models/${id}.json`, id, 'valid JSON', (err as Error).message);
  }
  return loadModelConfig(json, id);
}

/** The largest config.json read from a user's file (real ones are a few KB). */
const MODEL_FILE_BYTES = 4 << 20;

/**
 * A model from the user's own HF config.json: the path of the file, or of a folder
 * holding one (a downloaded checkpoint). The id is the config's `_name_or_path`, else
 * the folder's name. Every error names `field` (the flag the path came from).
 *
 * @example
 * loadModelFile('./qwen2.5-7b').architecture // => 'qwen2'
 */
export function loadModelFile(path: string, field = 'model file'): ModelSpec {
  if (typeof path !== 'string' || path === '') throw new InputError(field, path, 'the path of an HF config.json or of a folder holding one');
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'config.json');
  } catch {
    throw new InputError(field, path, `a catalog id (${listModelIds().join(', ')}) or the path of an HF config.json or of a folder holding one`, 'no such file');
  }
  const json = readJsonCapped(field, file, { maxBytes: MODEL_FILE_BYTES, what: 'config.json file' });
  const named = json !== null && typeof json === 'object' && typeof (json as { _name_or_path?: unknown })._name_or_path === 'string' ? (json as { _name_or_path: string })._name_or_path : '';
  const stem = basename(file) === 'config.json' ? basename(dirname(file)) : basename(file).replace(/\.json$/i, '');
  try {
    return loadModelConfig(json, named || stem || 'config.json');
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${field} ${file}: ${err.field}`, err.value, err.allowed, err.detail);
    throw err;
  }
}

/**
 * A catalog id (data/models) or, when `ref` is not one and names a file or folder, that
 * config.json: what every `--model` flag accepts.
 *
 * @example
 * resolveModel('llama-3.1-8b').id // => 'llama-3.1-8b'
 * resolveModel('./qwen2.5-7b/config.json').id // => 'Qwen/Qwen2.5-7B-Instruct'
 */
export function resolveModel(ref: string, field = 'model'): ModelSpec {
  if (typeof ref === 'string' && listModelIds().includes(ref)) return loadModel(ref);
  if (typeof ref === 'string' && ref !== '' && (existsSync(ref) || /[\\/]|\.json$/i.test(ref))) return loadModelFile(ref, field);
  throw new InputError(field, ref, `a catalog id (${listModelIds().join(', ')}) or the path of an HF config.json or of a folder holding one`);
}

/**
 * Refuses a sequence longer than the model's declared context (its config's
 * max_position_embeddings, the length engines allow by default): `tokens` is the
 * sequence's length, `flag` and `value` the flag to name, `what` how the tokens add up.
 * A model whose config states no context passes.
 *
 * @example
 * checkModelContext(loadModel('llama-3.1-8b'), 200_000, '--prompt', 199_936, '--prompt + --output') // throws "--prompt must be ... at most 131072 tokens ..."
 */
export function checkModelContext(model: Pick<ModelSpec, 'id' | 'maxContextTokens'>, tokens: number, flag: string, value: unknown, what: string): void {
  const max = model.maxContextTokens;
  if (max !== undefined && tokens > max) throw new InputError(flag, value, `small enough that ${what} (${tokens.toLocaleString('en-US')} tokens) is at most ${model.id}'s context of ${max.toLocaleString('en-US')} tokens (max_position_embeddings of its config)`);
}
