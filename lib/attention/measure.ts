import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs-core';
import { activeBackend } from '../backend/registry.js';
import { deviceInfo } from '../backend/device.js';
import type { DeviceInfo } from '../backend/device.js';
import { resolveTimingOptions, timeTfOp } from '../gemm/timing.js';
import { timingStats } from '../gemm/stats.js';
import type { TimingOptions } from '../gemm/timing.js';
import { tensorflowSettings, versionsString } from '../gemm/row.js';
import type { MeasuredRowProvenance } from '../gemm/row.js';
import { measuredDir } from '../gemm/store.js';
import { InputError } from '../util/errors.js';
import { ensureDir, writeFileSafe } from '../util/files.js';
import type { Provenance } from '../util/provenance.js';
import { normal, rng } from '../util/random.js';
import { checkArray, checkInt, checkNumber } from '../util/validate.js';
import { raggedGroups } from './strategies.js';
import type { RaggedStrategy } from './strategies.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** Strategies that run on dense tensors; `ragged` needs a ragged kernel tfjs does not have. */
export type MeasuredStrategy = Exclude<RaggedStrategy, 'ragged'>;
/** The strategies the tfjs measurement runs; ragged needs a kernel tfjs does not have. */
export const MEASURED_STRATEGIES: readonly MeasuredStrategy[] = ['per-sequence', 'exact-shape', 'padded', 'bucketed'];

/** One decode step of attention: a query token per sequence against its cached keys and values (float32). */
export interface DecodeAttentionProblem {
  heads: number;
  kvHeads: number;
  headDim: number;
  lengths: number[];
  /** Per sequence: query [heads·headDim], keys and values [kvHeads·length·headDim], row-major. */
  q: Float32Array[];
  k: Float32Array[];
  v: Float32Array[];
}

const MAX_ELEMENTS = 1 << 27;

/**
 * A seeded decode-attention problem with standard-normal queries, keys and values.
 * Refuses layouts whose cache would exceed 2^27 floats.
 *
 * @example
 * decodeAttentionProblem({ heads: 8, kvHeads: 2, headDim: 64, lengths: [100, 37], seed: 1 }).k[1].length // => 2 × 37 × 64
 */
export function decodeAttentionProblem(opts: { heads: number; kvHeads: number; headDim: number; lengths: readonly number[]; seed: number }): DecodeAttentionProblem {
  const headDim = checkInt('headDim', opts.headDim, { min: 1, max: 4096 });
  const heads = checkInt('heads', opts.heads, { min: 1, max: 1024 });
  const kvHeads = checkInt('kvHeads', opts.kvHeads, { min: 1, max: heads });
  if (heads % kvHeads !== 0) throw new InputError('kvHeads', kvHeads, `a divisor of heads (${heads})`);
  const lengths = checkArray<number>('lengths', opts.lengths, 4096).map((l, i) => checkInt(`lengths[${i}]`, l, { min: 1, max: 1 << 20 }));
  const total = lengths.reduce((s, l) => s + l, 0) * kvHeads * headDim * 2;
  if (total > MAX_ELEMENTS) throw new InputError('lengths', lengths, `a cache of at most ${MAX_ELEMENTS} floats (kvHeads · headDim · Σ lengths · 2); got ${total}`);
  const draw = normal(rng(opts.seed), 0, 1);
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, () => draw());
  return {
    heads,
    kvHeads,
    headDim,
    lengths,
    q: lengths.map(() => fill(heads * headDim)),
    k: lengths.map((l) => fill(kvHeads * l * headDim)),
    v: lengths.map((l) => fill(kvHeads * l * headDim)),
  };
}

/**
 * The float64 reference: for each sequence and head, softmax(q·Kᵀ/√d)·V over its own
 * cache, query head h reading KV head ⌊h / (heads/kvHeads)⌋. Returns [heads·headDim] per sequence.
 *
 * @example
 * referenceDecodeAttention(p)[0].length // => p.heads × p.headDim
 */
export function referenceDecodeAttention(p: DecodeAttentionProblem): Float64Array[] {
  const d = p.headDim;
  const g = p.heads / p.kvHeads;
  const scale = 1 / Math.sqrt(d);
  return p.lengths.map((L, s) => {
    const out = new Float64Array(p.heads * d);
    const scores = new Float64Array(L);
    for (let h = 0; h < p.heads; h++) {
      const kvh = Math.floor(h / g);
      let max = -Infinity;
      for (let j = 0; j < L; j++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += p.q[s][h * d + i] * p.k[s][(kvh * L + j) * d + i];
        scores[j] = dot * scale;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = 0; j < L; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      for (let j = 0; j < L; j++) {
        const w = scores[j] / sum;
        for (let i = 0; i < d; i++) out[h * d + i] += w * p.v[s][(kvh * L + j) * d + i];
      }
    }
    return out;
  });
}

/** A strategy laid out on tensors: `run` computes the step's attention, [batch, heads, headDim] in batch order. */
export interface PreparedDecodeAttention {
  strategy: MeasuredStrategy;
  /** Kernels (groups) per step. */
  kernels: number;
  run: () => Tensor;
  dispose: () => void;
}

/**
 * Lays a problem's cache out as a strategy needs it, once (a server keeps its cache
 * in its kernel's layout), and returns the step: per group, scores Q·Kᵀ/√d
 * ([n·kvHeads, g, length]), an additive mask of −1e30 on padded slots, softmax and ·V,
 * then the groups' outputs put back in batch order.
 *
 * @example
 * const s = prepareDecodeAttention(tf, problem, 'padded');
 * const y = s.run(); // [batch, heads, headDim]
 */
export function prepareDecodeAttention(tf: Tf, p: DecodeAttentionProblem, strategy: MeasuredStrategy, opts: { buckets?: number } = {}): PreparedDecodeAttention {
  if (!MEASURED_STRATEGIES.includes(strategy)) throw new InputError('strategy', strategy, `one of ${MEASURED_STRATEGIES.join(', ')}`);
  const d = p.headDim;
  const g = p.heads / p.kvHeads;
  const groups = raggedGroups(p.lengths, strategy, { buckets: opts.buckets });
  const laidOut = groups.reduce((s, g) => s + g.executedTokens, 0) * p.kvHeads * d * 2;
  if (laidOut > 2 * MAX_ELEMENTS) throw new InputError('lengths', p.lengths, `a ${strategy} layout of at most ${2 * MAX_ELEMENTS} floats; padding these lengths needs ${laidOut}`);
  const keep: Tensor[] = [];
  const laid = groups.map((grp) => {
    const n = grp.indices.length;
    const Lg = grp.length;
    const q = new Float32Array(n * p.heads * d);
    const k = new Float32Array(n * p.kvHeads * Lg * d);
    const v = new Float32Array(n * p.kvHeads * Lg * d);
    const mask = new Float32Array(n * p.kvHeads * Lg);
    let padded = false;
    grp.indices.forEach((s, r) => {
      const L = p.lengths[s];
      q.set(p.q[s], r * p.heads * d);
      for (let h = 0; h < p.kvHeads; h++) {
        const row = (r * p.kvHeads + h) * Lg;
        k.set(p.k[s].subarray(h * L * d, (h + 1) * L * d), row * d);
        v.set(p.v[s].subarray(h * L * d, (h + 1) * L * d), row * d);
        if (L < Lg) {
          mask.fill(-1e30, row + L, row + Lg);
          padded = true;
        }
      }
    });
    const t = {
      q: tf.tensor3d(q, [n * p.kvHeads, g, d]),
      k: tf.tensor3d(k, [n * p.kvHeads, Lg, d]),
      v: tf.tensor3d(v, [n * p.kvHeads, Lg, d]),
      mask: padded ? tf.tensor3d(mask, [n * p.kvHeads, 1, Lg]) : null,
      n,
    };
    keep.push(t.q, t.k, t.v, ...(t.mask ? [t.mask] : []));
    return t;
  });
  // Output rows come grouped; this permutation puts them back in batch order.
  const sortedOrder = groups.flatMap((grp) => grp.indices);
  const inverse = new Int32Array(sortedOrder.length);
  sortedOrder.forEach((s, r) => (inverse[s] = r));
  const identity = sortedOrder.every((s, r) => s === r);
  const perm = tf.tensor1d(inverse, 'int32');
  keep.push(perm);
  const scale = 1 / Math.sqrt(d);
  const run = (): Tensor =>
    tf.tidy(() => {
      const outs = laid.map((t) => {
        let scores = tf.mul(tf.matMul(t.q, t.k, false, true), scale);
        if (t.mask) scores = tf.add(scores, t.mask);
        const y = tf.matMul(tf.softmax(scores), t.v);
        return tf.reshape(y, [t.n, p.heads, d]);
      });
      const all = outs.length === 1 ? outs[0] : tf.concat(outs, 0);
      return identity ? all : tf.gather(all, perm);
    });
  return {
    strategy,
    kernels: groups.length,
    run,
    dispose: () => {
      for (const t of keep) t.dispose();
    },
  };
}

/**
 * Largest absolute difference between a strategy's float32 output and the float64
 * reference, and the tolerance float32 rounding allows: γ_n·max|v| with
 * n = headDim + longest length + 16 and γ_n = n·u/(1 − n·u), u = 2⁻²⁴ (the forward
 * error bound of a length-n dot product, Higham, Accuracy and Stability of Numerical
 * Algorithms, §3.1), since each output is a convex combination of the values.
 *
 * @example
 * const { maxAbsError, tolerance } = attentionError(p, y.arraySync() as number[][][]);
 */
export function attentionError(p: DecodeAttentionProblem, output: ArrayLike<number>): { maxAbsError: number; tolerance: number } {
  const ref = referenceDecodeAttention(p);
  const width = p.heads * p.headDim;
  if (output.length !== ref.length * width) throw new InputError('output', output.length, `${ref.length * width} values (batch × heads × headDim)`);
  let err = 0;
  ref.forEach((r, s) => {
    for (let i = 0; i < width; i++) err = Math.max(err, Math.abs(output[s * width + i] - r[i]));
  });
  let vmax = 0;
  for (const v of p.v) for (const x of v) vmax = Math.max(vmax, Math.abs(x));
  const u = 2 ** -24;
  const n = p.headDim + Math.max(...p.lengths) + 16;
  return { maxAbsError: err, tolerance: ((n * u) / (1 - n * u)) * vmax };
}

/** One measured point of batched decode attention, with the provenance of the GEMM harness's rows. */
export interface AttentionRow extends MeasuredRowProvenance {
  case: 'decode-attention';
  strategy: MeasuredStrategy;
  /** Length distribution label, e.g. 'equal', 'uniform ±50%', 'trace'. */
  spread: string;
  buckets: number;
  batch: number;
  heads: number;
  kv_heads: number;
  head_dim: number;
  length_mean: number;
  length_min: number;
  length_max: number;
  distinct_lengths: number;
  kernels: number;
  useful_tokens: number;
  executed_tokens: number;
  /** FLOPs of the cached tokens (2·heads·2·headDim each) and of what the strategy ran. */
  useful_flops: number;
  executed_flops: number;
  /** Rounds over the strategies (each round times every strategy once, in rotated order); `reps` counts samples over all rounds. */
  rounds: number;
  /** Median over rounds of this strategy's median / padding's median in the same round (NaN without padding). */
  vs_padded: number;
  max_abs_error: number;
  tolerance: number;
}

/** Column order of a stored attention measurement (CSV and table), provenance last. */
export const ATTENTION_COLUMNS: readonly (keyof AttentionRow)[] = [
  'case', 'strategy', 'spread', 'buckets', 'batch', 'heads', 'kv_heads', 'head_dim', 'length_mean', 'length_min', 'length_max',
  'distinct_lengths', 'kernels', 'useful_tokens', 'executed_tokens', 'useful_flops', 'executed_flops', 'backend', 'device', 'host',
  'versions', 'timestamp', 'sync', 'warmup', 'rounds', 'reps', 'median_s', 'p10_s', 'p90_s', 'mean_s', 'cv', 'vs_padded', 'max_abs_error',
  'tolerance',
];

/** A batch of sequence lengths to measure, with its label. */
export interface LengthCase {
  spread: string;
  lengths: number[];
}

/** Options of `measureDecodeAttention`. */
export interface MeasureDecodeAttentionOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  cases: LengthCase[];
  strategies?: MeasuredStrategy[];
  /** Buckets of the `bucketed` strategy (default 4). */
  buckets?: number;
  /** Timing of each strategy within a round. */
  timing?: TimingOptions;
  /** Rounds over the strategies (default 5). */
  rounds?: number;
  seed?: number;
  /** Called after each point (progress, saving). */
  onRow?: (row: AttentionRow) => void;
}

/**
 * Measures batched decode attention on the active tfjs backend: for each length case
 * and strategy, the step is laid out (`prepareDecodeAttention`), checked against the
 * float64 reference (it throws when the output is outside float32 rounding), then
 * timed with `timeTfOp` in `rounds` rounds that rotate the strategies' order, so
 * that their ratios (`vs_padded`, paired within each round) share the machine's load.
 *
 * @example
 * const rows = await measureDecodeAttention({ heads: 8, kvHeads: 2, headDim: 128, cases: [{ spread: 'equal', lengths: [512, 512] }] });
 */
export async function measureDecodeAttention(opts: MeasureDecodeAttentionOptions): Promise<AttentionRow[]> {
  const backend = await activeBackend();
  const tf = backend.tf;
  const info: DeviceInfo = await deviceInfo();
  const strategies = opts.strategies ?? [...MEASURED_STRATEGIES];
  checkArray<MeasuredStrategy>('strategies', strategies, MEASURED_STRATEGIES.length).forEach((st, i) => {
    if (!MEASURED_STRATEGIES.includes(st)) throw new InputError(`strategies[${i}]`, st, `one of ${MEASURED_STRATEGIES.join(', ')}`);
  });
  const buckets = checkInt('buckets', opts.buckets ?? 4, { min: 1, max: 4096 });
  const rounds = checkInt('rounds', opts.rounds ?? 5, { min: 1, max: 1000 });
  const timing = resolveTimingOptions(opts.timing);
  const rows: AttentionRow[] = [];
  checkArray<LengthCase>('cases', opts.cases, 1000).forEach((c, ci) => {
    if (typeof c?.spread !== 'string') throw new InputError(`cases[${ci}].spread`, c?.spread, 'a label');
  });
  for (const [ci, c] of opts.cases.entries()) {
    const p = decodeAttentionProblem({ heads: opts.heads, kvHeads: opts.kvHeads, headDim: opts.headDim, lengths: c.lengths, seed: (opts.seed ?? 1) + ci });
    const useful = p.lengths.reduce((s, l) => s + l, 0);
    const preps = strategies.map((st) => prepareDecodeAttention(tf, p, st, { buckets }));
    try {
      const errors = preps.map((prep) => {
        const y = prep.run();
        const e = attentionError(p, y.dataSync());
        y.dispose();
        if (!(e.maxAbsError <= e.tolerance)) throw new Error(`${prep.strategy} decode attention differs from the float64 reference by ${e.maxAbsError} (> ${e.tolerance})`);
        return e;
      });
      // Rounds rotate the strategies' order, so that a burst of load on the shared
      // machine falls on all of them alike; ratios are taken within each round.
      const samples: number[][] = preps.map(() => []);
      const roundMedians: number[][] = preps.map(() => []);
      let sync = '';
      for (let r = 0; r < rounds; r++) {
        for (let j = 0; j < preps.length; j++) {
          const i = (j + r) % preps.length;
          const t = await timeTfOp(preps[i].run, { ...timing, warmup: r === 0 ? timing.warmup : 0 });
          samples[i].push(...t.samples);
          roundMedians[i].push(t.stats.median);
          sync = t.sync;
        }
      }
      const padIdx = strategies.indexOf('padded');
      preps.forEach((prep, i) => {
        const groups = raggedGroups(p.lengths, prep.strategy, { buckets });
        const executed = groups.reduce((s, g) => s + g.executedTokens, 0);
        const perToken = 2 * p.heads * 2 * p.headDim;
        const s = timingStats(samples[i]);
        const ratio = padIdx < 0 ? NaN : timingStats(roundMedians[i].map((m, r) => m / roundMedians[padIdx][r])).median;
        const row: AttentionRow = {
          case: 'decode-attention',
          strategy: prep.strategy,
          spread: c.spread,
          buckets: prep.strategy === 'bucketed' ? buckets : 0,
          batch: p.lengths.length,
          heads: p.heads,
          kv_heads: p.kvHeads,
          head_dim: p.headDim,
          length_mean: useful / p.lengths.length,
          length_min: Math.min(...p.lengths),
          length_max: Math.max(...p.lengths),
          distinct_lengths: new Set(p.lengths).size,
          kernels: prep.kernels,
          useful_tokens: useful,
          executed_tokens: executed,
          useful_flops: perToken * useful,
          executed_flops: perToken * executed,
          backend: backend.name,
          device: info.device,
          host: info.host,
          versions: versionsString({ ...info.versions, ...tensorflowSettings(backend.name) }),
          timestamp: new Date().toISOString(),
          sync,
          warmup: timing.warmup,
          rounds,
          reps: s.n,
          median_s: s.median,
          p10_s: s.p10,
          p90_s: s.p90,
          mean_s: s.mean,
          cv: s.cv,
          vs_padded: ratio,
          max_abs_error: errors[i].maxAbsError,
          tolerance: errors[i].tolerance,
        };
        rows.push(row);
        opts.onRow?.(row);
      });
    } finally {
      for (const prep of preps) prep.dispose();
    }
  }
  return rows;
}

function csvCell(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Attention rows as CSV text in ATTENTION_COLUMNS order.
 *
 * @example
 * attentionCsv(rows).split('\n')[0] // => 'case,strategy,spread,buckets,...'
 */
export function attentionCsv(rows: readonly AttentionRow[]): string {
  return `${[ATTENTION_COLUMNS.join(','), ...rows.map((r) => ATTENTION_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n')}\n`;
}

/**
 * Saves measured attention rows as `<dir>/attention-<host>-<backend>-<date>[-<tag>].csv`
 * and its JSON twin with provenance, written atomically (default dir: data/measured/).
 *
 * @example
 * saveAttentionRows(rows, { tag: 'quick' }).csv // => '.../data/measured/attention-host-tensorflow-2026-11-30-quick.csv'
 */
export function saveAttentionRows(rows: readonly AttentionRow[], opts: { dir?: string; tag?: string; notes?: string } = {}): { csv: string; json: string } {
  checkArray<AttentionRow>('rows', rows, 1_000_000);
  const r0 = rows[0];
  const date = r0.timestamp.slice(0, 10);
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown';
  const stem = ['attention', safe(r0.host), safe(r0.backend), date, ...(opts.tag ? [safe(opts.tag)] : [])].join('-');
  const dir = opts.dir ?? measuredDir();
  ensureDir('dir', dir);
  const versions = Object.fromEntries(r0.versions.split(';').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  const provenance: Provenance = { source: 'measured', date, backend: r0.backend, device: r0.device, host: r0.host, versions, notes: opts.notes ?? 'batchlab decode-attention harness (lib/attention/measure.ts)' };
  const paths = { csv: join(dir, `${stem}.csv`), json: join(dir, `${stem}.json`) };
  writeFileSafe('dir', paths.csv, attentionCsv(rows));
  writeFileSafe('dir', paths.json, `${JSON.stringify({ provenance, columns: ATTENTION_COLUMNS, rows }, null, 1)}\n`);
  return paths;
}

/** A linear cost for dense decode attention fitted to measured rows: seconds = kernels·perKernel + executedTokens·perToken. */
export interface AttentionKernelFit {
  perKernelSeconds: number;
  perTokenSeconds: number;
  /** Rows it was fitted to, and R² of the fit on their medians. */
  points: number;
  r2: number;
  label: string;
}

/**
 * Least squares through the origin of median seconds on (kernels, executed tokens),
 * both coefficients kept ≥ 0: what a kernel launch and a cached token cost on the
 * measured machine, so that a ragged kernel (one launch, useful tokens only) can be
 * predicted there.
 *
 * @example
 * const fit = fitAttentionKernelCost(rows);
 * attentionKernelSeconds(fit, { kernels: 1, tokens: usefulTokens }) // => predicted ragged step
 */
export function fitAttentionKernelCost(rows: readonly AttentionRow[]): AttentionKernelFit {
  checkArray<AttentionRow>('rows', rows, 1_000_000);
  if (rows.length < 2) throw new InputError('rows', rows.length, 'at least 2 measured rows');
  let a11 = 0;
  let a12 = 0;
  let a22 = 0;
  let b1 = 0;
  let b2 = 0;
  for (const r of rows) {
    a11 += r.kernels * r.kernels;
    a12 += r.kernels * r.executed_tokens;
    a22 += r.executed_tokens * r.executed_tokens;
    b1 += r.kernels * r.median_s;
    b2 += r.executed_tokens * r.median_s;
  }
  const det = a11 * a22 - a12 * a12;
  let k = det !== 0 ? (b1 * a22 - b2 * a12) / det : 0;
  let t = det !== 0 ? (a11 * b2 - a12 * b1) / det : 0;
  // A negative coefficient has no physical meaning: refit the other one alone.
  if (k < 0 || det === 0) {
    k = 0;
    t = b2 / a22;
  } else if (t < 0) {
    t = 0;
    k = b1 / a11;
  }
  const meanY = rows.reduce((s, r) => s + r.median_s, 0) / rows.length;
  let ssr = 0;
  let sst = 0;
  for (const r of rows) {
    ssr += (r.median_s - kernelSeconds(k, t, r.kernels, r.executed_tokens)) ** 2;
    sst += (r.median_s - meanY) ** 2;
  }
  const r0 = rows[0];
  return { perKernelSeconds: k, perTokenSeconds: t, points: rows.length, r2: sst === 0 ? 1 : 1 - ssr / sst, label: `fitted to ${rows.length} decode-attention points, ${r0.backend} on ${r0.host}, ${r0.timestamp.slice(0, 10)}` };
}

/**
 * Seconds the fitted linear cost predicts for `kernels` launches over `tokens` cached
 * tokens: kernels·perKernel + tokens·perToken. A ragged kernel is one launch over the
 * useful tokens only (no padding), so `{ kernels: 1, tokens: usefulTokens }` predicts it
 * on the machine the fit was measured on: an interpolation when the measured rows span
 * that many tokens, an extrapolation beyond them.
 *
 * @example
 * attentionKernelSeconds({ perKernelSeconds: 20e-6, perTokenSeconds: 3e-9 }, { kernels: 1, tokens: 1000 }) // => 2.3e-5
 */
export function attentionKernelSeconds(fit: Pick<AttentionKernelFit, 'perKernelSeconds' | 'perTokenSeconds'>, work: { kernels: number; tokens: number }): number {
  checkNumber('fit.perKernelSeconds', fit.perKernelSeconds, { min: 0 });
  checkNumber('fit.perTokenSeconds', fit.perTokenSeconds, { min: 0 });
  checkNumber('kernels', work.kernels, { min: 0 });
  checkNumber('tokens', work.tokens, { min: 0 });
  return kernelSeconds(fit.perKernelSeconds, fit.perTokenSeconds, work.kernels, work.tokens);
}

// attentionKernelSeconds without the checks, for the fit's own residuals.
function kernelSeconds(perKernel: number, perToken: number, kernels: number, tokens: number): number {
  return perKernel * kernels + perToken * tokens;
}

/** One length case of a measurement, each strategy's median relative to padding in the same run. */
export interface AttentionStrategyComparison {
  batch: number;
  spread: string;
  distinctLengths: number;
  /** executed / useful tokens of the padded strategy. */
  paddedOverhead: number;
  paddedSeconds: number;
  /** Time relative to padding in the same rounds, by strategy. */
  vsPadded: Partial<Record<MeasuredStrategy, number>>;
}

/**
 * Groups measured rows by (batch, spread) and gives each strategy's time relative to
 * padding (the per-round paired ratio `vs_padded`): ratios taken within one run,
 * which survive a loaded machine better than absolute times.
 *
 * @example
 * compareAttentionStrategies(rows).find((c) => c.spread === 'request mix')?.vsPadded['exact-shape'] // => e.g. 1.4
 */
export function compareAttentionStrategies(rows: readonly AttentionRow[]): AttentionStrategyComparison[] {
  checkArray<AttentionRow>('rows', rows, 1_000_000);
  const keys = [...new Set(rows.map((r) => `${r.batch}|${r.spread}`))];
  return keys.flatMap((key) => {
    const rs = rows.filter((r) => `${r.batch}|${r.spread}` === key);
    const padded = rs.find((r) => r.strategy === 'padded');
    if (!padded) return [];
    const vsPadded: Partial<Record<MeasuredStrategy, number>> = {};
    for (const r of rs) vsPadded[r.strategy] = Number.isFinite(r.vs_padded) ? r.vs_padded : r.median_s / padded.median_s;
    return [{ batch: padded.batch, spread: padded.spread, distinctLengths: padded.distinct_lengths, paddedOverhead: padded.executed_tokens / padded.useful_tokens, paddedSeconds: padded.median_s, vsPadded }];
  });
}
