import { freemem, totalmem } from 'node:os';
import { forkFloat32 } from '../util/random.js';
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

/** Bytes the engine holds per parameter: it computes in float32 whatever dtype the weights are stored in. */
export const ENGINE_BYTES_PER_PARAM = 4;

/** Working memory kept free beside the weights: activations of one layer, the KV caches of a calibration, the runtime. */
export const ENGINE_HEADROOM_BYTES = 2 * 2 ** 30;

/**
 * The most new tokens one forward pass of the engine runs at once. A pass holds one
 * layer's intermediates at a time (float32, freed when the layer ends), and they grow
 * with its tokens: per token about 7 hidden-wide rows (norms, projections, residuals),
 * the query/key/value projections twice and their rotary temporaries five times, 7
 * FFN-wide rows (gate and up, their split, SiLU, product; an MoE token's k experts
 * each), and 3 rows of attention scores over up to `maxContext` keys per query head
 * (scores, mask, softmax), counted from the ops in `DecodeEngine.forward`,
 * `attendSegments` and `swiglu`. Half of ENGINE_HEADROOM_BYTES is given to them, the
 * rest to the runtime; a larger step runs as several passes, a long prompt as chunks
 * that attend to what the earlier chunks cached (the tokens produced are the same).
 *
 * @example
 * enginePassTokens(resolveEngineConfig('llama-3.2-1b', 1024)) // => 1420 (Llama-3.2-1B at context 1,024: 756 KB per token)
 */
export function enginePassTokens(c: EngineConfig, headroomBytes: number = ENGINE_HEADROOM_BYTES): number {
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const rope = (c.numHeads + c.numKvHeads) * c.headDim;
  const ffn = c.intermediateSize * Math.max(1, c.numExperts > 0 ? c.expertsPerToken : 1);
  const floats = 7 * c.hiddenSize + 2 * qkv + 5 * rope + 7 * ffn + 3 * c.numHeads * c.maxContext;
  return Math.max(1, Math.floor(headroomBytes / 2 / (4 * floats)));
}

/**
 * The most parameters the engine accepts on a machine: float32 weights
 * (ENGINE_BYTES_PER_PARAM) plus ENGINE_HEADROOM_BYTES must fit in the memory
 * available now (os.freemem(), which counts reclaimable page cache on Linux) and in
 * the machine's RAM (os.totalmem()). `memory` overrides both, for a test or another
 * machine.
 *
 * @example
 * engineParamLimit({ totalBytes: 24 * 2 ** 30, freeBytes: 18 * 2 ** 30 }).params // => 4026531840 (16 GiB of float32)
 */
export function engineParamLimit(memory: { totalBytes?: number; freeBytes?: number } = {}): { params: number; usableBytes: number; reason: string } {
  const total = memory.totalBytes === undefined ? totalmem() : checkNumber('memory.totalBytes', memory.totalBytes, { min: 0 });
  const free = memory.freeBytes === undefined ? freemem() : checkNumber('memory.freeBytes', memory.freeBytes, { min: 0 });
  const usable = Math.max(0, Math.min(total, free) - ENGINE_HEADROOM_BYTES);
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
  return {
    params: Math.floor(usable / ENGINE_BYTES_PER_PARAM),
    usableBytes: usable,
    reason: `float32 weights (${ENGINE_BYTES_PER_PARAM} bytes per parameter) + ${gib(ENGINE_HEADROOM_BYTES)} working memory within min(total ${gib(total)}, available ${gib(free)}) of this machine`,
  };
}

/**
 * Throws an InputError when a config's weights would not fit in memory
 * (engineParamLimit), naming the bound and how it was computed.
 *
 * @example
 * checkEngineFits(cfg); // throws for a 70 B model on a 24 GiB machine
 */
export function checkEngineFits(c: EngineConfig, memory: { totalBytes?: number; freeBytes?: number } = {}): void {
  let total = 0;
  for (const s of expectedWeightShapes(c).values()) total += s.reduce((a, b) => a * b, 1);
  const lim = engineParamLimit(memory);
  if (total > lim.params) throw new InputError('config', c.id, `a model of at most ${lim.params} parameters (${lim.reason})`, `${total} parameters`);
}

/** A source of weights by HF parameter name: a Map, or a reader that loads one tensor at a time. */
export interface EngineWeightSource {
  get(name: string): HostTensor | undefined;
}

function seededTensor(seed: number, name: string, shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  // 24 random bits per float32 weight (forkFloat32): the precision the weight keeps, at half fork's cost.
  const r = forkFloat32(seed, name);
  if (shape.length === 1) {
    for (let k = 0; k < n; k++) data[k] = 1 + 0.2 * (r() - 0.5);
  } else {
    // Uniform on [-a, a] has variance a²/3: a = sqrt(3 / fan_in) gives 1/fan_in.
    const a = Math.sqrt(3 / shape[1]);
    for (let k = 0; k < n; k++) data[k] = a * (2 * r() - 1);
  }
  return { shape, data };
}

/**
 * The seeded weights of `seededWeights`, drawn one tensor at a time when asked for, so
 * a model near the memory bound never holds a host copy of every weight beside the
 * engine's own. Refuses a config whose weights do not fit (checkEngineFits).
 *
 * @example
 * const engine = await DecodeEngine.create(cfg, seededWeightSource(cfg, 1));
 */
export function seededWeightSource(c: EngineConfig, seed: number, memory?: { totalBytes?: number; freeBytes?: number }): EngineWeightSource {
  checkNumber('seed', seed);
  checkEngineFits(c, memory);
  const shapes = expectedWeightShapes(c);
  return {
    get: (name: string): HostTensor | undefined => {
      const shape = shapes.get(name);
      return shape ? seededTensor(seed, name, shape.slice()) : undefined;
    },
  };
}

/**
 * Seeded weights for a config: each matrix uniform with variance 1/fan_in (so
 * activations stay O(1) through the layers), each norm weight 1 ± 0.1 (not all ones,
 * so a test notices a norm that is skipped). Step timing does not depend on the
 * values; answers depend on them only through the seed. Each tensor draws from its
 * own stream (forkFloat32(seed, name)), so adding a layer does not change the others.
 * A config whose weights do not fit in memory is an InputError (checkEngineFits).
 *
 * @example
 * const w = seededWeights(cfg, 1);
 * w.get('model.norm.weight')!.shape // => [cfg.hiddenSize]
 */
export function seededWeights(c: EngineConfig, seed: number): EngineWeights {
  const src = seededWeightSource(c, seed);
  const w: EngineWeights = new Map();
  for (const name of expectedWeightShapes(c).keys()) w.set(name, src.get(name)!);
  return w;
}

/**
 * Throws an InputError naming a tensor that is missing or misshapen.
 *
 * @example
 * checkEngineTensor('model.norm.weight', [2048], w.get('model.norm.weight'));
 */
export function checkEngineTensor(name: string, shape: readonly number[], t: HostTensor | undefined): HostTensor {
  if (!t) throw new InputError(`weights["${name}"]`, undefined, `a tensor of shape [${shape.join(', ')}]`, 'missing');
  if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
    throw new InputError(`weights["${name}"].shape`, `[${t.shape.join(', ')}]`, `[${shape.join(', ')}]`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new InputError(`weights["${name}"].data`, t.data.length, `${n} values`);
  return t;
}

/**
 * Throws an InputError naming the first missing or misshapen weight.
 *
 * @example
 * checkEngineWeights(cfg, readSafetensors(bytes)); // throws if a tensor is absent
 */
export function checkEngineWeights(c: EngineConfig, w: EngineWeights): void {
  for (const [name, shape] of expectedWeightShapes(c)) checkEngineTensor(name, shape, w.get(name));
}
