import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { attendSegments } from '../engine/attention.js';
import type { DecodeEngine } from '../engine/model.js';
import { defaultSyncMode, timeTfCallsInTurn } from '../gemm/timing.js';
import type { KernelOp } from '../kernels/schema.js';
import { median } from '../util/stats.js';
import { checkArray, checkInt } from '../util/validate.js';
import { InputError } from '../util/errors.js';

/** One kernel-database row the engine's microbenchmark measures: its op, its columns, and the engine operation it prices. */
export interface EngineKernelRow {
  op: Extract<KernelOp, 'gemm' | 'generation_attention'>;
  /** The engine operation (modelStepOps's name: 'attn.qkv_proj', …, 'attn.core.decode'). */
  name: string;
  /** The op's key and axis columns (KERNEL_SCHEMA), without time_us. */
  dims: Record<string, string | number>;
  /** Calls of this kernel per engine step (layers; 1 for the LM head). */
  callsPerStep: number;
}

/**
 * The engine's own kernels, timed on this machine in rounds (see `engineKernelBench`).
 */
export interface EngineKernelBench {
  readonly rows: readonly EngineKernelRow[];
  /**
   * Times every row of one batch once per call it makes in a step, in the engine's
   * order, and returns this round's seconds of those rows (the median over each row's
   * calls) by their index in `rows`.
   */
  round(batch: number): Map<number, number>;
  /** The kernels one attention call of `batch` sequences launches, by name, in order (tf.profile of one call). */
  attentionKernels(batch: number): Promise<string[]>;
  /** Frees the microbenchmark's inputs (never the engine's weights). */
  dispose(): void;
}

/**
 * Microbenchmarks of the kernels an engine decode step runs, on the engine's own
 * weights and in its own code, as kernel-database rows (dtype float32):
 *
 * - GEMM rows (m = batch, n and k of each projection): x·Wᵀ over every layer's own
 *   matrix in the engine's order (qkv, o, gate/up, down of layer 0, then layer 1, …,
 *   with the LM head after a third, two thirds and all of the layers), so each weight
 *   comes from memory as it does in a step (gigabytes pass between two reads of a
 *   matrix for Llama-3.2-1B, not a matrix left in cache by the call before);
 * - generation-attention rows (batch sequences with `context` cached tokens each):
 *   `attendSegments`, the engine's own attention of one layer (split per sequence,
 *   KV append, q·Kᵀ, softmax, ·V, concat), called once per layer, with the new caches
 *   freed after each call so the context stays `context`.
 *
 * Each `round(batch)` times one of every call of that batch; a caller runs it just
 * before the engine's step of the same batch, so that both see the same load.
 *
 * @example
 * const bench = engineKernelBench(engine, { batches: [1, 8], context: 20 });
 * const seconds = bench.round(8); // one round of batch 8: row index → seconds
 * bench.dispose();
 */
export function engineKernelBench(engine: DecodeEngine, o: { batches: readonly number[]; context: number }): EngineKernelBench {
  const batches = checkArray<number>('batches', o.batches, 16).map((b, i) => checkInt(`batches[${i}]`, b, { min: 1, max: 256 }));
  if (batches.length === 0) throw new InputError('batches', batches, 'at least one batch size');
  const c = engine.config;
  const context = checkInt('context', o.context, { min: 1, max: c.maxContext - 1 });
  const tf = engine.tf;
  const sync = defaultSyncMode(engine.backend);
  const projections = engine.projections();
  const made: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  const rows: EngineKernelRow[] = [];
  // Per row, the indices of its calls in `runs` (one per layer).
  const callsOf: number[][] = [];
  const runs: Array<() => Tensor | Tensor[]> = [];
  // Per batch, its rows and the range of `runs` that times them.
  const spans = new Map<number, { rows: number[]; from: number; to: number }>();
  const dims = { numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim };
  for (const B of batches) {
    const from = runs.length;
    const xs = new Map<number, Tensor2D>();
    const xOf = (k: number): Tensor2D => xs.get(k) ?? (xs.set(k, keep(tf.randomUniform([B, k], -1, 1) as Tensor2D)), xs.get(k)!);
    const first = rows.length;
    for (const p of projections) {
      rows.push({ op: 'gemm', name: p.name, dims: { dtype: 'fp32', m: B, n: p.n, k: p.k }, callsPerStep: p.weights.length });
      callsOf.push([]);
    }
    const layers = Math.max(...projections.map((p) => p.weights.length));
    // A matrix used once per step (the LM head) is timed after a third, two thirds and all of the layers: three
    // samples a round instead of one, each after as many other weights as in a step, not back to back.
    const once = new Set([Math.floor(layers / 3) - 1, Math.floor((2 * layers) / 3) - 1, layers - 1].filter((l) => l >= 0));
    for (let l = 0; l < layers; l++) {
      projections.forEach((p, j) => {
        const w = p.weights.length === 1 ? (once.has(l) ? p.weights[0] : undefined) : p.weights[l];
        if (!w) return;
        const x = xOf(p.k);
        callsOf[first + j].push(runs.length);
        runs.push(() => tf.matMul(x, w, false, true));
      });
    }
    // The engine's attention of one layer: B sequences of one new token each, over `context` cached tokens.
    rows.push({
      op: 'generation_attention',
      name: 'attn.core.decode',
      dims: { dtype: 'fp32', kv_dtype: 'fp32', kv_heads: c.numKvHeads, head_dim: c.headDim, heads: c.numHeads, context, batch: B },
      callsPerStep: c.numLayers,
    });
    const q = keep(tf.randomUniform([B, c.numHeads, c.headDim], -1, 1) as Tensor3D);
    const k = keep(tf.randomUniform([B, c.numKvHeads, c.headDim], -1, 1) as Tensor3D);
    const v = keep(tf.randomUniform([B, c.numKvHeads, c.headDim], -1, 1) as Tensor3D);
    const old = Array.from({ length: B }, () => ({
      k: keep(tf.randomUniform([c.numKvHeads, context, c.headDim], -1, 1) as Tensor3D),
      v: keep(tf.randomUniform([c.numKvHeads, context, c.headDim], -1, 1) as Tensor3D),
    }));
    const sizes = new Array<number>(B).fill(1);
    const masks = new Array<null>(B).fill(null);
    const attend = (): Tensor[] => {
      const r = attendSegments(tf, dims, q, k, v, sizes, old, masks);
      // The new caches are kept by attendSegments: return them so the timing loop frees them.
      return [r.out, ...r.k, ...r.v];
    };
    callsOf.push([]);
    for (let l = 0; l < c.numLayers; l++) {
      callsOf[callsOf.length - 1].push(runs.length);
      runs.push(attend);
    }
    spans.set(B, { rows: Array.from({ length: rows.length - first }, (_, j) => first + j), from, to: runs.length });
  }
  // One untimed round: first touch of every output size and of the attention path.
  timeTfCallsInTurn(tf, runs, { rounds: 1, sync });
  return {
    rows,
    round(batch) {
      const span = spans.get(batch);
      if (!span) throw new InputError('batch', batch, `one of the benchmark's batches: ${batches.join(', ')}`);
      const s = timeTfCallsInTurn(tf, runs.slice(span.from, span.to), { rounds: 1, sync });
      return new Map(span.rows.map((r) => [r, median(callsOf[r].map((i) => s[i - span.from][0]))]));
    },
    async attentionKernels(batch) {
      const i = rows.findIndex((r) => r.op === 'generation_attention' && r.dims.batch === batch);
      if (i < 0) throw new InputError('batch', batch, `one of the benchmark's batches: ${batches.join(', ')}`);
      const run = runs[callsOf[i][0]];
      const prof = await tf.profile(() => {
        const y = tf.tidy(run);
        tf.dispose(y);
      });
      return prof.kernels.map((k) => k.name);
    },
    dispose() {
      tf.dispose(made);
    },
  };
}
