import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { activeBackend, selectBackend } from '../backend/registry.js';
import type { BackendName } from '../backend/registry.js';
import { InputError } from '../util/errors.js';
import { checkInt } from '../util/validate.js';
import type { EngineConfig } from './config.js';
import { attendSegments } from './attention.js';
import { checkEngineTensor, checkEngineWeights, enginePassTokens, expectedWeightShapes } from './weights.js';
import type { EngineWeightSource } from './weights.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** New tokens of one sequence in a step: appended after the tokens it already cached. */
export interface EngineSegment {
  /** Caller-chosen sequence id; a new id starts an empty KV cache. */
  seq: number;
  /** Token ids, each in [0, vocabSize): a whole prompt, a prompt chunk or one decode token. */
  tokens: ArrayLike<number>;
}

interface LayerWeights {
  inNorm: Tensor1D;
  postNorm: Tensor1D;
  /** q, k and v projections stacked along the output dim, [(nh + 2·nkv)·hd, H]. */
  qkv: Tensor2D;
  o: Tensor2D;
  /** Dense: gate and up stacked, [2I, H]; MoE: one per expert. */
  gateUp: Tensor2D[];
  down: Tensor2D[];
  router?: Tensor2D;
}

interface SequenceCache {
  /** Per layer, keys and values [numKvHeads, length, headDim]. */
  k: Tensor3D[];
  v: Tensor3D[];
  length: number;
}

/**
 * A Llama-architecture decode engine on tfjs: RMSNorm, rotary embeddings, grouped-query
 * attention over a per-sequence KV cache, SwiGLU FFN, and Mixtral-style top-k MoE
 * layers when the config has experts. One `forward` is one engine step: the new tokens
 * of every segment (whole prompts, prompt chunks and single decode tokens alike) are
 * stacked into one [T × H] activation, so every projection is one GEMM over the whole
 * step; only attention runs per sequence, over that sequence's own cache.
 *
 * RoPE uses the plain `rope_theta` frequencies (no long-context `rope_scaling`), which
 * is exact for contexts below the original training length of the configs shipped here.
 *
 * @example
 * const engine = await DecodeEngine.create(cfg, seededWeights(cfg, 1));
 * const [first] = engine.step([{ seq: 0, tokens: [1, 2, 3] }]); // prefill, greedy token
 * engine.step([{ seq: 0, tokens: [first] }]);                  // one decode step
 * engine.release(0);
 */
export class DecodeEngine {
  readonly config: EngineConfig;
  readonly tf: Tf;
  /** The backend the engine's tensors live on. */
  readonly backend: string;
  private readonly layers: LayerWeights[];
  private readonly embed: Tensor2D;
  private readonly finalNorm: Tensor1D;
  private readonly lmHead: Tensor2D;
  private readonly cos: Tensor2D;
  private readonly sin: Tensor2D;
  private readonly cache = new Map<number, SequenceCache>();
  private disposed = false;

  /**
   * Builds an engine on the active backend (or `opts.backend`), uploading the weights.
   * `opts.passTokens` bounds the new tokens of one forward pass (default `enginePassTokens(config)`).
   *
   * @example
   * const engine = await DecodeEngine.create(cfg, seededWeights(cfg, 1), { backend: 'tensorflow' });
   */
  static async create(config: EngineConfig, weights: EngineWeightSource, opts: { backend?: BackendName | 'auto'; passTokens?: number } = {}): Promise<DecodeEngine> {
    const sel = opts.backend && opts.backend !== 'auto' ? await selectBackend(opts.backend, { log: () => {} }) : await activeBackend();
    return new DecodeEngine(sel.tf, config, weights, { passTokens: opts.passTokens });
  }

  /**
   * Prefer `DecodeEngine.create`; this takes an already initialised tfjs namespace.
   * `weights` is a Map (checked whole before anything is uploaded) or a source read one
   * tensor at a time (seededWeightSource, openSafetensorsDir), each checked as it is
   * read, so a model near the memory bound never has every weight twice in memory.
   */
  constructor(tf: Tf, config: EngineConfig, weights: EngineWeightSource, opts: { passTokens?: number } = {}) {
    if (weights instanceof Map) checkEngineWeights(config, weights);
    this.tf = tf;
    this.config = config;
    this.passTokens = opts.passTokens === undefined ? enginePassTokens(config) : checkInt('passTokens', opts.passTokens, { min: 1 });
    this.backend = tf.getBackend();
    const shapes = expectedWeightShapes(config);
    const made: Tensor[] = [];
    const host = (name: string) => checkEngineTensor(name, shapes.get(name)!, weights.get(name));
    // tfjs-node keeps a new tensor's host array until an op first reads it, so weights
    // made here would all be held twice at the first step (host arrays not yet collected
    // beside their native copies: 2.3 GB more for Llama-3.2-1B). One op per weight now
    // moves each to native memory as it is read, so host copies go one at a time.
    const native = this.backend === 'tensorflow';
    const resident = <T extends Tensor>(t: T): T => {
      if (!native) return t;
      const r = tf.tidy(() => tf.add(t, 0) as T);
      t.dispose();
      return r;
    };
    const t2 = (name: string): Tensor2D => {
      const w = host(name);
      const t = resident(tf.tensor2d(w.data, w.shape as [number, number]));
      made.push(t);
      return t;
    };
    const t1 = (name: string): Tensor1D => {
      const t = resident(tf.tensor1d(host(name).data));
      made.push(t);
      return t;
    };
    const cat = (names: string[]): Tensor2D => {
      const t = tf.tidy(() => tf.concat(names.map((n) => tf.tensor2d(host(n).data, shapes.get(n) as [number, number])), 0) as Tensor2D);
      made.push(t);
      return t;
    };
    try {
      this.embed = t2('model.embed_tokens.weight');
      this.finalNorm = t1('model.norm.weight');
      this.lmHead = config.tieWordEmbeddings ? this.embed : t2('lm_head.weight');
      this.layers = [];
      for (let l = 0; l < config.numLayers; l++) {
        const p = `model.layers.${l}.`;
        const a = `${p}self_attn.`;
        const layer: LayerWeights = {
          inNorm: t1(`${p}input_layernorm.weight`),
          postNorm: t1(`${p}post_attention_layernorm.weight`),
          qkv: cat([`${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`]),
          o: t2(`${a}o_proj.weight`),
          gateUp: [],
          down: [],
        };
        if (config.numExperts > 0) {
          layer.router = t2(`${p}block_sparse_moe.gate.weight`);
          for (let e = 0; e < config.numExperts; e++) {
            const x = `${p}block_sparse_moe.experts.${e}.`;
            layer.gateUp.push(cat([`${x}w1.weight`, `${x}w3.weight`]));
            layer.down.push(t2(`${x}w2.weight`));
          }
        } else {
          layer.gateUp.push(cat([`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`]));
          layer.down.push(t2(`${p}mlp.down_proj.weight`));
        }
        this.layers.push(layer);
      }
    } catch (e) {
      // A tensor missing or misshapen half way: free what was uploaded before refusing.
      for (const t of made) t.dispose();
      throw e;
    }
    // HF LlamaRotaryEmbedding: inv_freq[j] = theta^(-2j/d), angle = position · inv_freq.
    const half = config.headDim / 2;
    const cos = new Float32Array(config.maxContext * half);
    const sin = new Float32Array(config.maxContext * half);
    for (let pos = 0; pos < config.maxContext; pos++) {
      for (let j = 0; j < half; j++) {
        const angle = pos * Math.pow(config.ropeTheta, (-2 * j) / config.headDim);
        cos[pos * half + j] = Math.cos(angle);
        sin[pos * half + j] = Math.sin(angle);
      }
    }
    this.cos = tf.tensor2d(cos, [config.maxContext, half]);
    this.sin = tf.tensor2d(sin, [config.maxContext, half]);
  }

  /** Tokens cached for a sequence (0 for an unknown id). */
  length(seq: number): number {
    return this.cache.get(seq)?.length ?? 0;
  }

  /** Ids of the sequences holding a KV cache. */
  sequences(): number[] {
    return [...this.cache.keys()];
  }

  /**
   * The engine's dense weight matrices by projection, each stored [n, k] and multiplied
   * as x·Wᵀ, named as `modelStepOps` names the operations (one matrix per layer; the LM
   * head once): what a kernel microbenchmark times to price the engine's own GEMMs on
   * its own weights. MoE experts and routers are left out. The tensors are the engine's:
   * do not dispose them.
   *
   * @example
   * engine.projections().map((p) => `${p.name} ${p.n}×${p.k}`) // => ['attn.qkv_proj 3072×2048', 'attn.o_proj 2048×2048', ...]
   */
  projections(): Array<{ name: string; n: number; k: number; weights: Tensor2D[] }> {
    const of = (name: string, ws: Tensor2D[]) => ({ name, n: ws[0].shape[0], k: ws[0].shape[1], weights: ws });
    const out = [of('attn.qkv_proj', this.layers.map((l) => l.qkv)), of('attn.o_proj', this.layers.map((l) => l.o))];
    if (this.config.numExperts === 0) out.push(of('ffn.gate_up_proj', this.layers.map((l) => l.gateUp[0])), of('ffn.down_proj', this.layers.map((l) => l.down[0])));
    out.push(of('lm_head', [this.lmHead]));
    return out;
  }

  /**
   * Gives a new sequence a KV cache of `tokens` zero-valued keys and values in
   * every layer, as a prompt of that length would leave it, without running the
   * prompt: a decode step's work depends on the cache's size, not on what it holds, so
   * a step-cost measurement can time decode steps at a long context without paying for
   * the prompts (a 1,020-token cache for 4 sequences is 4,080 prompt tokens, minutes of
   * prefill for Llama-3.2-1B on 2 CPU cores). The tokens it generates are meaningless.
   *
   * @example
   * engine.fillCache(7, 1000);
   * engine.step([{ seq: 7, tokens: [1] }]); // a decode step at context 1,000
   */
  fillCache(seq: number, tokens: number): void {
    if (this.disposed) throw new Error('DecodeEngine: used after dispose()');
    if (!Number.isSafeInteger(seq)) throw new InputError('seq', seq, 'an integer sequence id');
    if (this.cache.has(seq)) throw new InputError('seq', seq, 'a sequence without a cache (release it first)');
    checkInt('tokens', tokens, { min: 1, max: this.config.maxContext - 1 });
    const { numKvHeads, headDim, numLayers } = this.config;
    const zeros = (): Tensor3D => this.tf.zeros([numKvHeads, tokens, headDim]) as Tensor3D;
    this.cache.set(seq, { k: Array.from({ length: numLayers }, zeros), v: Array.from({ length: numLayers }, zeros), length: tokens });
  }

  /** Frees a sequence's KV cache; unknown ids are ignored. */
  release(seq: number): void {
    const c = this.cache.get(seq);
    if (!c) return;
    for (const t of c.k) t.dispose();
    for (const t of c.v) t.dispose();
    this.cache.delete(seq);
  }

  /** Frees every KV cache and every weight. The engine cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    for (const s of this.sequences()) this.release(s);
    const all: Tensor[] = [this.embed, this.finalNorm, this.cos, this.sin];
    if (this.lmHead !== this.embed) all.push(this.lmHead);
    for (const l of this.layers) all.push(l.inNorm, l.postNorm, l.qkv, l.o, ...l.gateUp, ...l.down, ...(l.router ? [l.router] : []));
    for (const t of all) t.dispose();
    this.disposed = true;
  }

  private checkSegments(segments: EngineSegment[]): void {
    if (this.disposed) throw new Error('DecodeEngine: used after dispose()');
    if (!Array.isArray(segments) || segments.length === 0) throw new InputError('segments', segments, 'a non-empty array of { seq, tokens }');
    const seen = new Set<number>();
    const { vocabSize, maxContext } = this.config;
    segments.forEach((s, i) => {
      if (!s || !Number.isSafeInteger(s.seq)) throw new InputError(`segments[${i}].seq`, s?.seq, 'an integer sequence id');
      if (seen.has(s.seq)) throw new InputError(`segments[${i}].seq`, s.seq, 'an id that appears once per step');
      seen.add(s.seq);
      const n = s.tokens?.length;
      if (!Number.isSafeInteger(n) || n < 1) throw new InputError(`segments[${i}].tokens`, s.tokens, 'a non-empty array of token ids');
      const room = maxContext - this.length(s.seq);
      if (n > room) throw new InputError(`segments[${i}].tokens`, `${n} tokens`, `at most ${room} more tokens (context limit ${maxContext})`);
      for (let k = 0; k < n; k++) {
        const t = s.tokens[k];
        if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new InputError(`segments[${i}].tokens[${k}]`, t, `an integer in [0, ${vocabSize - 1}]`);
      }
    });
  }

  /**
   * One engine step: runs every segment's new tokens, appends them to their KV caches
   * and returns the logits after each segment's last token, [segments × vocab]. The
   * caller disposes the returned tensor. Bad input throws before any cache changes.
   *
   * @example
   * const logits = engine.forward([{ seq: 0, tokens: [5, 6] }, { seq: 1, tokens: [7] }]);
   * logits.shape // => [2, vocabSize]
   */
  forward(segments: EngineSegment[]): Tensor2D {
    this.checkSegments(segments);
    const limit = this.passTokens;
    if (segments.reduce((n, s) => n + s.tokens.length, 0) <= limit) return this.pass(segments);
    // A step over the pass size runs as passes of at most `limit` tokens, in segment
    // order; a segment cut between passes continues from the cache its earlier chunk
    // filled. Each pass's rows of segments that end in it are the step's logits.
    const tf = this.tf;
    const rows: Tensor2D[] = [];
    let batch: EngineSegment[] = [];
    let ends: number[] = [];
    let room = limit;
    const flush = (): void => {
      const logits = this.pass(batch);
      if (ends.length === batch.length) rows.push(logits);
      else {
        if (ends.length > 0) rows.push(tf.tidy(() => tf.gather(logits, tf.tensor1d(ends, 'int32'))) as Tensor2D);
        logits.dispose();
      }
      batch = [];
      ends = [];
      room = limit;
    };
    try {
      for (const s of segments) {
        for (let at = 0; at < s.tokens.length; ) {
          const take = Math.min(room, s.tokens.length - at);
          batch.push({ seq: s.seq, tokens: Array.prototype.slice.call(s.tokens, at, at + take) as number[] });
          at += take;
          room -= take;
          if (at === s.tokens.length) ends.push(batch.length - 1);
          if (room === 0) flush();
        }
      }
      if (batch.length > 0) flush();
    } catch (e) {
      // As a failed pass does: a step that failed part-way leaves no sequence of it half-extended.
      for (const r of rows) r.dispose();
      for (const s of segments) this.release(s.seq);
      throw e;
    }
    if (rows.length === 1) return rows[0];
    const out = tf.concat(rows, 0) as Tensor2D;
    for (const r of rows) r.dispose();
    return out;
  }

  /** New tokens one forward pass runs at most (`enginePassTokens` of the config). */
  readonly passTokens: number;

  private pass(segments: EngineSegment[]): Tensor2D {
    const tf = this.tf;
    const c = this.config;
    const { numHeads: nh, numKvHeads: nkv, headDim: hd } = c;
    const half = hd / 2;
    const ids: number[] = [];
    const positions: number[] = [];
    const lastRows: number[] = [];
    for (const s of segments) {
      const o = this.length(s.seq);
      for (let k = 0; k < s.tokens.length; k++) {
        ids.push(s.tokens[k]);
        positions.push(o + k);
      }
      lastRows.push(ids.length - 1);
    }
    const T = ids.length;
    const caches = segments.map((s) => this.cache.get(s.seq) ?? { k: [], v: [], length: 0 });
    const newK: Tensor3D[][] = segments.map(() => []);
    const newV: Tensor3D[][] = segments.map(() => []);
    // Memory: each layer runs in its own tidy, so only one layer's intermediates are alive
    // at a time (one tidy over the whole pass kept every layer's: 2.5 GB more for a
    // 1,000-token prompt on Llama-3.2-1B); a sequence's old K and V of a layer are freed
    // as soon as that layer has appended to them, so the caches are never held twice.
    const [cos, sin, x0] = tf.tidy(() => {
      const pos = tf.tensor1d(positions, 'int32');
      return [tf.gather(this.cos, pos).reshape([T, 1, half]) as Tensor3D, tf.gather(this.sin, pos).reshape([T, 1, half]) as Tensor3D, tf.gather(this.embed, tf.tensor1d(ids, 'int32')) as Tensor2D];
    });
    const masks = segments.map((s, i) => this.causalMask(s.tokens.length, caches[i].length));
    const rope = (x: Tensor3D): Tensor3D => {
      const [x1, x2] = tf.split(x, 2, 2);
      return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], 2) as Tensor3D;
    };
    const scale = 1 / Math.sqrt(hd);
    const sizes = segments.map((s) => s.tokens.length);
    let x = x0 as Tensor2D;
    let logits: Tensor2D;
    try {
      this.layers.forEach((L, l) => {
        const next = tf.tidy(() => {
          const h = this.rmsNorm(x, L.inNorm);
          const qkv = tf.matMul(h, L.qkv, false, true);
          const [qf, kf, vf] = tf.split(qkv, [nh * hd, nkv * hd, nkv * hd], 1);
          const q = rope(tf.mul(qf, scale).reshape([T, nh, hd]) as Tensor3D);
          const k = rope(kf.reshape([T, nkv, hd]) as Tensor3D);
          const v = vf.reshape([T, nkv, hd]) as Tensor3D;
          const att = attendSegments(tf, c, q, k, v, sizes, caches.map((old) => (old.length > 0 ? { k: old.k[l], v: old.v[l] } : {})), masks);
          segments.forEach((_, i) => {
            const old = caches[i];
            if (old.length > 0) {
              old.k[l].dispose();
              old.v[l].dispose();
            }
            newK[i].push(att.k[i]);
            newV[i].push(att.v[i]);
          });
          const attn = att.out;
          const x1 = tf.add(x, tf.matMul(attn, L.o, false, true)) as Tensor2D;
          const h2 = this.rmsNorm(x1, L.postNorm);
          return tf.add(x1, L.router ? this.moe(h2, L) : this.swiglu(h2, L.gateUp[0], L.down[0])) as Tensor2D;
        });
        x.dispose();
        x = next;
      });
      logits = tf.tidy(() => {
        const last = tf.gather(x, tf.tensor1d(lastRows, 'int32')) as Tensor2D;
        return tf.matMul(this.rmsNorm(last, this.finalNorm), this.lmHead, false, true) as Tensor2D;
      });
    } catch (e) {
      // A failure inside the pass leaves these sequences' caches part old, part new: drop them.
      for (const t of [...newK.flat(), ...newV.flat()]) t.dispose();
      for (const s of segments) this.release(s.seq);
      throw e;
    } finally {
      x.dispose();
      cos.dispose();
      sin.dispose();
      for (const m of masks) m?.dispose();
    }
    // Every layer's old K and V were freed as the new ones were made.
    segments.forEach((s, i) => {
      this.cache.set(s.seq, { k: newK[i], v: newV[i], length: caches[i].length + s.tokens.length });
    });
    return logits;
  }

  /**
   * One step with greedy sampling: the argmax token after each segment.
   *
   * @example
   * engine.step([{ seq: 3, tokens: [42] }]) // => Int32Array [next token of sequence 3]
   */
  step(segments: EngineSegment[]): Int32Array {
    const logits = this.forward(segments);
    const next = this.tf.tidy(() => this.tf.argMax(logits, 1));
    logits.dispose();
    const out = next.dataSync() as Int32Array;
    next.dispose();
    return Int32Array.from(out);
  }

  /** Additive causal mask [n, cached + n] for a chunk of n > 1 tokens, or null for one token. */
  private causalMask(n: number, cached: number): Tensor2D | null {
    if (n === 1) return null;
    const L = cached + n;
    const m = new Float32Array(n * L);
    for (let i = 0; i < n; i++) for (let j = cached + i + 1; j < L; j++) m[i * L + j] = -1e9;
    return this.tf.tensor2d(m, [n, L]);
  }

  private rmsNorm(x: Tensor2D, w: Tensor1D): Tensor2D {
    const tf = this.tf;
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, this.config.rmsNormEps))), w) as Tensor2D;
  }

  private swiglu(h: Tensor2D, gateUp: Tensor2D, down: Tensor2D): Tensor2D {
    const tf = this.tf;
    const [g, u] = tf.split(tf.matMul(h, gateUp, false, true), 2, 1);
    return tf.matMul(tf.mul(tf.mul(g, tf.sigmoid(g)), u), down, false, true) as Tensor2D;
  }

  /**
   * Mixtral's sparse block: softmax over the router logits, the top-k experts per token,
   * their weights renormalised to sum to 1; each expert runs one GEMM over the tokens
   * routed to it. Routing is read back to the host, as the per-expert token lists are.
   */
  private moe(h: Tensor2D, L: LayerWeights): Tensor2D {
    const tf = this.tf;
    const T = h.shape[0];
    const E = this.config.numExperts;
    const k = this.config.expertsPerToken;
    const logits = tf.matMul(h, L.router!, false, true).dataSync();
    const rows: number[][] = Array.from({ length: E }, () => []);
    const weights: number[][] = Array.from({ length: E }, () => []);
    const order = new Array<number>(E);
    for (let t = 0; t < T; t++) {
      const z = logits.subarray(t * E, (t + 1) * E);
      for (let e = 0; e < E; e++) order[e] = e;
      // Ties go to the lower expert index, as torch.topk does on CPU.
      order.sort((a, b) => z[b] - z[a] || a - b);
      let max = -Infinity;
      for (let j = 0; j < k; j++) max = Math.max(max, z[order[j]]);
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(z[order[j]] - max);
      for (let j = 0; j < k; j++) {
        rows[order[j]].push(t);
        weights[order[j]].push(Math.exp(z[order[j]] - max) / sum);
      }
    }
    const outs: Tensor2D[] = [];
    // Row of the stacked expert outputs that holds token t's j-th expert: a gather and a
    // sum combine them (every backend has both; wasm has no segment sum).
    const slot = new Int32Array(T * k);
    const filled = new Int32Array(T);
    let row = 0;
    for (let e = 0; e < E; e++) {
      if (rows[e].length === 0) continue;
      const xe = tf.gather(h, tf.tensor1d(rows[e], 'int32')) as Tensor2D;
      const ye = this.swiglu(xe, L.gateUp[e], L.down[e]);
      outs.push(tf.mul(ye, tf.tensor2d(weights[e], [rows[e].length, 1])) as Tensor2D);
      for (const t of rows[e]) slot[t * k + filled[t]++] = row++;
    }
    const stacked = outs.length > 1 ? tf.concat(outs, 0) : outs[0];
    return tf.sum(tf.gather(stacked, tf.tensor1d(slot, 'int32')).reshape([T, k, this.config.hiddenSize]), 1) as Tensor2D;
  }
}
