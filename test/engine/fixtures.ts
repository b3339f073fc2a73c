import type { EngineConfig } from '../../lib/engine/config.js';

/** A dense config small enough for a float64 reference: GQA with 2 query heads per KV head. */
export const TINY_DENSE: EngineConfig = {
  id: 'tiny-llama',
  hiddenSize: 32,
  numLayers: 2,
  vocabSize: 61,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  intermediateSize: 48,
  numExperts: 0,
  expertsPerToken: 0,
  tieWordEmbeddings: false,
  ropeTheta: 10_000,
  rmsNormEps: 1e-5,
  maxContext: 64,
};

/** The same with Mixtral-style MoE layers: 4 experts, top-2, tied embeddings. */
export const TINY_MOE: EngineConfig = { ...TINY_DENSE, id: 'tiny-mixtral', numExperts: 4, expertsPerToken: 2, intermediateSize: 24, tieWordEmbeddings: true };

/** An HF config.json for TINY_DENSE. */
export const TINY_DENSE_HF = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 32,
  num_hidden_layers: 2,
  vocab_size: 61,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 48,
  rope_theta: 10_000,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 64,
  tie_word_embeddings: false,
};
