// A float64 reference of the Llama / Mixtral forward pass in plain JavaScript, written
// from HF transformers' modeling_llama.py and modeling_mixtral.py (eager attention):
// no tfjs, no batching, one sequence, the whole prompt at once. The engine's logits
// are compared with it.
import type { EngineConfig } from '../../lib/engine/config.js';
import type { EngineWeights } from '../../lib/engine/weights.js';

type Mat = { rows: number; cols: number; data: Float64Array };

function get(w: EngineWeights, name: string): Mat {
  const t = w.get(name)!;
  return { rows: t.shape[0], cols: t.shape.length > 1 ? t.shape[1] : 1, data: Float64Array.from(t.data) };
}

/** y[t] = W · x[t] for W [out, in] (nn.Linear without bias). */
function linear(x: Float64Array[], W: Mat): Float64Array[] {
  return x.map((v) => {
    const y = new Float64Array(W.rows);
    for (let o = 0; o < W.rows; o++) {
      let s = 0;
      for (let i = 0; i < W.cols; i++) s += W.data[o * W.cols + i] * v[i];
      y[o] = s;
    }
    return y;
  });
}

function rmsNorm(x: Float64Array[], w: Mat, eps: number): Float64Array[] {
  return x.map((v) => {
    let ms = 0;
    for (const a of v) ms += a * a;
    const r = 1 / Math.sqrt(ms / v.length + eps);
    return v.map((a, i) => a * r * w.data[i]);
  });
}

function silu(a: number): number {
  return a / (1 + Math.exp(-a));
}

function mlp(x: Float64Array[], gate: Mat, up: Mat, down: Mat): Float64Array[] {
  const g = linear(x, gate);
  const u = linear(x, up);
  return linear(
    g.map((gv, t) => gv.map((a, i) => silu(a) * u[t][i])),
    down,
  );
}

/** Logits [tokens × vocab] of every position of `tokens`, in float64. */
export function referenceLogits(c: EngineConfig, w: EngineWeights, tokens: number[]): Float64Array[] {
  const { hiddenSize: H, numHeads: nh, numKvHeads: nkv, headDim: hd } = c;
  const T = tokens.length;
  const emb = get(w, 'model.embed_tokens.weight');
  let x = tokens.map((t) => emb.data.slice(t * H, (t + 1) * H));
  const half = hd / 2;
  const rope = (v: Float64Array, heads: number, pos: number): void => {
    // rotate_half: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin) per head.
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < half; j++) {
        const ang = pos * Math.pow(c.ropeTheta, (-2 * j) / hd);
        const a = v[h * hd + j];
        const b = v[h * hd + j + half];
        v[h * hd + j] = a * Math.cos(ang) - b * Math.sin(ang);
        v[h * hd + j + half] = b * Math.cos(ang) + a * Math.sin(ang);
      }
    }
  };
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const h = rmsNorm(x, get(w, `${p}input_layernorm.weight`), c.rmsNormEps);
    const q = linear(h, get(w, `${p}self_attn.q_proj.weight`));
    const k = linear(h, get(w, `${p}self_attn.k_proj.weight`));
    const v = linear(h, get(w, `${p}self_attn.v_proj.weight`));
    q.forEach((r, t) => rope(r, nh, t));
    k.forEach((r, t) => rope(r, nkv, t));
    const attn = Array.from({ length: T }, () => new Float64Array(nh * hd));
    const group = nh / nkv;
    for (let head = 0; head < nh; head++) {
      const kvh = Math.floor(head / group);
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(t + 1);
        let max = -Infinity;
        for (let j = 0; j <= t; j++) {
          let d = 0;
          for (let e = 0; e < hd; e++) d += q[t][head * hd + e] * k[j][kvh * hd + e];
          s[j] = d / Math.sqrt(hd);
          max = Math.max(max, s[j]);
        }
        let z = 0;
        for (let j = 0; j <= t; j++) z += (s[j] = Math.exp(s[j] - max));
        for (let j = 0; j <= t; j++) for (let e = 0; e < hd; e++) attn[t][head * hd + e] += (s[j] / z) * v[j][kvh * hd + e];
      }
    }
    const o = linear(attn, get(w, `${p}self_attn.o_proj.weight`));
    x = x.map((r, t) => r.map((a, i) => a + o[t][i]));
    const h2 = rmsNorm(x, get(w, `${p}post_attention_layernorm.weight`), c.rmsNormEps);
    let f: Float64Array[];
    if (c.numExperts === 0) {
      f = mlp(h2, get(w, `${p}mlp.gate_proj.weight`), get(w, `${p}mlp.up_proj.weight`), get(w, `${p}mlp.down_proj.weight`));
    } else {
      // MixtralSparseMoeBlock: softmax over experts, top-k, weights renormalised.
      const logits = linear(h2, get(w, `${p}block_sparse_moe.gate.weight`));
      f = h2.map(() => new Float64Array(H));
      for (let t = 0; t < T; t++) {
        const z = logits[t];
        const max = Math.max(...z);
        const pr = Array.from(z, (a) => Math.exp(a - max));
        const top = pr.map((_, e) => e).sort((a, b) => pr[b] - pr[a] || a - b).slice(0, c.expertsPerToken);
        const sum = top.reduce((s, e) => s + pr[e], 0);
        for (const e of top) {
          const x5 = `${p}block_sparse_moe.experts.${e}.`;
          const y = mlp([h2[t]], get(w, `${x5}w1.weight`), get(w, `${x5}w3.weight`), get(w, `${x5}w2.weight`))[0];
          for (let i = 0; i < H; i++) f[t][i] += (pr[e] / sum) * y[i];
        }
      }
    }
    x = x.map((r, t) => r.map((a, i) => a + f[t][i]));
  }
  const hn = rmsNorm(x, get(w, 'model.norm.weight'), c.rmsNormEps);
  return linear(hn, get(w, c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'));
}
