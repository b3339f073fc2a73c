import { fork } from '../util/random.js';
import { InputError } from '../util/errors.js';
import { checkNumber } from '../util/validate.js';
import type { EngineConfig } from './config.js';

/** One host-side weight tensor, row-major float32 (HF `nn.Linear` layout: [out, in]). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Weights by their HF parameter name. */
export type EngineWeights = Map<string, HostTensor>;

/**
 * The HF parameter names and shapes a config needs (LlamaForCausalLM, or
 * MixtralForCausalLM when the config has experts), in a stable order.
 *
 * @example
 * expectedWeightShapes(cfg).get('model.layers.0.self_attn.k_proj.weight') // => [numKvHeads * headDim, hiddenSize]
 */
export function expectedWeightShapes(c: EngineConfig): Map<string, number[]> {
  const h = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const i = c.intermediateSize;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, h]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(`${p}input_layernorm.weight`, [h]);
    m.set(`${p}self_attn.q_proj.weight`, [q, h]);
    m.set(`${p}self_attn.k_proj.weight`, [kv, h]);
    m.set(`${p}self_attn.v_proj.weight`, [kv, h]);
    m.set(`${p}self_attn.o_proj.weight`, [h, q]);
    m.set(`${p}post_attention_layernorm.weight`, [h]);
    if (c.numExperts > 0) {
      m.set(`${p}block_sparse_moe.gate.weight`, [c.numExperts, h]);
      for (let e = 0; e < c.numExperts; e++) {
        const x = `${p}block_sparse_moe.experts.${e}.`;
        m.set(`${x}w1.weight`, [i, h]);
        m.set(`${x}w2.weight`, [h, i]);
        m.set(`${x}w3.weight`, [i, h]);
      }
    } else {
      m.set(`${p}mlp.gate_proj.weight`, [i, h]);
      m.set(`${p}mlp.up_proj.weight`, [i, h]);
      m.set(`${p}mlp.down_proj.weight`, [h, i]);
    }
  }
  m.set('model.norm.weight', [h]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, h]);
  return m;
}

/** Refuse weight sets that would not fit comfortably in memory (4 GiB of float32). */
export const MAX_ENGINE_PARAMS = 1 << 30;

/**
 * Seeded weights for a config: each matrix uniform with variance 1/fan_in (so
 * activations stay O(1) through the layers), each norm weight 1 ± 0.1 (not all ones,
 * so a test notices a norm that is skipped). Step timing does not depend on the
 * values; answers depend on them only through the seed. Each tensor draws from its
 * own stream (fork(seed, name)), so adding a layer does not change the others.
 *
 * @example
 * const w = seededWeights(cfg, 1);
 * w.get('model.norm.weight')!.shape // => [cfg.hiddenSize]
 */
export function seededWeights(c: EngineConfig, seed: number): EngineWeights {
  checkNumber('seed', seed);
  const shapes = expectedWeightShapes(c);
  let total = 0;
  for (const s of shapes.values()) total += s.reduce((a, b) => a * b, 1);
  if (total > MAX_ENGINE_PARAMS) throw new InputError('config', c.id, `a model of at most ${MAX_ENGINE_PARAMS} parameters`, `${total} parameters`);
  const w: EngineWeights = new Map();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const r = fork(seed, name);
    if (shape.length === 1) {
      for (let k = 0; k < n; k++) data[k] = 1 + 0.2 * (r() - 0.5);
    } else {
      // Uniform on [-a, a] has variance a²/3: a = sqrt(3 / fan_in) gives 1/fan_in.
      const a = Math.sqrt(3 / shape[1]);
      for (let k = 0; k < n; k++) data[k] = a * (2 * r() - 1);
    }
    w.set(name, { shape, data });
  }
  return w;
}

/**
 * Throws an InputError naming the first missing or misshapen weight.
 *
 * @example
 * checkEngineWeights(cfg, readSafetensors(bytes)); // throws if a tensor is absent
 */
export function checkEngineWeights(c: EngineConfig, w: EngineWeights): void {
  for (const [name, shape] of expectedWeightShapes(c)) {
    const t = w.get(name);
    if (!t) throw new InputError(`weights["${name}"]`, undefined, `a tensor of shape [${shape.join(', ')}]`, 'missing');
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw new InputError(`weights["${name}"].shape`, `[${t.shape.join(', ')}]`, `[${shape.join(', ')}]`);
    }
    if (t.data.length !== shape.reduce((a, b) => a * b, 1)) throw new InputError(`weights["${name}"].data`, t.data.length, `${shape.reduce((a, b) => a * b, 1)} values`);
  }
}
