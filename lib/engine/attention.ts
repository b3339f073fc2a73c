import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';

type Tf = typeof import('@tensorflow/tfjs-core');

/** Grouped-query attention's shape: query heads, KV heads and the head width. */
export interface EngineAttentionDims {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/** One sequence's cached keys and values of one layer, each [numKvHeads, length, headDim]; both absent for an empty cache. */
export interface LayerKv {
  k?: Tensor3D;
  v?: Tensor3D;
}

/**
 * One layer's attention over the segments of an engine step, the code `DecodeEngine`
 * runs (and the engine's attention microbenchmark times): the step's queries, keys and
 * values ([T, heads, headDim], rotary applied, queries scaled) are split by segment;
 * each segment appends its keys and values to its cache (a concat: the cache is copied)
 * and attends over it (q·Kᵀ, the causal mask for a chunk of several tokens, softmax,
 * ·V); the outputs are stacked back into [T, numHeads · headDim]. Run it inside
 * `tf.tidy`: the new caches are kept (they outlive the tidy), the old ones are left to
 * the caller to free.
 *
 * @example
 * const r = tf.tidy(() => attendSegments(tf, dims, q, k, v, [1, 1], [{}, {}], [null, null]));
 * r.out.shape // => [2, dims.numHeads * dims.headDim]; r.k[0].shape // => [dims.numKvHeads, 1, dims.headDim]
 */
export function attendSegments(
  tf: Tf,
  dims: EngineAttentionDims,
  q: Tensor3D,
  k: Tensor3D,
  v: Tensor3D,
  sizes: readonly number[],
  old: readonly LayerKv[],
  masks: ReadonlyArray<Tensor2D | null>,
): { out: Tensor2D; k: Tensor3D[]; v: Tensor3D[] } {
  const { numHeads: nh, numKvHeads: nkv, headDim: hd } = dims;
  const group = nh / nkv;
  const many = sizes.length > 1;
  const qs = many ? tf.split(q, [...sizes], 0) : [q];
  const ks = many ? tf.split(k, [...sizes], 0) : [k];
  const vs = many ? tf.split(v, [...sizes], 0) : [v];
  const kept: Tensor3D[] = [];
  const newK: Tensor3D[] = [];
  const newV: Tensor3D[] = [];
  try {
    const outs = sizes.map((n, i) => {
      // [n, nkv, hd] → [nkv, n, hd]; the cache grows along its middle axis.
      const kNew = (n === 1 ? ks[i].reshape([nkv, 1, hd]) : tf.transpose(ks[i], [1, 0, 2])) as Tensor3D;
      const vNew = (n === 1 ? vs[i].reshape([nkv, 1, hd]) : tf.transpose(vs[i], [1, 0, 2])) as Tensor3D;
      const o = old[i];
      const K = tf.keep(o.k ? (tf.concat([o.k, kNew], 1) as Tensor3D) : kNew);
      kept.push(K);
      const V = tf.keep(o.v ? (tf.concat([o.v, vNew], 1) as Tensor3D) : vNew);
      kept.push(V);
      newK.push(K);
      newV.push(V);
      // Query head h uses KV head floor(h / group) (HF repeat_kv): [n, nkv, g, hd] → [nkv, g·n, hd].
      const qh = (n === 1 ? qs[i].reshape([nkv, group, hd]) : tf.transpose(qs[i].reshape([n, nkv, group, hd]), [1, 2, 0, 3]).reshape([nkv, group * n, hd])) as Tensor3D;
      let scores: Tensor = tf.matMul(qh, K, false, true);
      const mask = masks[i];
      if (mask) scores = tf.add(scores.reshape([nkv, group, n, K.shape[1]]), mask).reshape([nkv, group * n, K.shape[1]]);
      const att = tf.matMul(tf.softmax(scores), V);
      return n === 1 ? att.reshape([1, nh * hd]) : tf.transpose(att.reshape([nkv, group, n, hd]), [2, 0, 1, 3]).reshape([n, nh * hd]);
    });
    return { out: (outs.length > 1 ? tf.concat(outs, 0) : outs[0]) as Tensor2D, k: newK, v: newV };
  } catch (e) {
    // Kept tensors outlive the tidy: free those made before the failure.
    for (const t of kept) t.dispose();
    throw e;
  }
}
