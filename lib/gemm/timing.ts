import type { Tensor } from '@tensorflow/tfjs-core';
import { activeBackend } from '../backend/registry.js';
import type { BackendName } from '../backend/registry.js';
import { checkInt, checkNumber, checkOneOf } from '../util/validate.js';
import { timingStats } from './stats.js';
import type { TimingStats } from './stats.js';

/**
 * How the harness makes sure the timed work has finished.
 * - `return`: the backend runs kernels in the calling thread, so the op call itself
 *   returns only when the result is complete (native TensorFlow on the CPU runs its
 *   eager executor synchronously; wasm and cpu compute inside the call). Reading
 *   anything back would only add a fixed cost to every repetition.
 * - `readback`: the backend queues work on a device (CUDA, WebGL); the harness reads
 *   back one element of each output, which waits for everything queued before it
 *   without copying the whole result to the host.
 */
export type SyncMode = 'return' | 'readback';
/** How a timed call waits for its result: `return` (the op returns when done) or `readback` (read one element back). */
export const SYNC_MODES: readonly SyncMode[] = ['return', 'readback'];

/**
 * The completion mode batchlab uses by default on a backend.
 *
 * @example
 * defaultSyncMode('tensorflow-gpu') // => 'readback'
 * defaultSyncMode('wasm') // => 'return'
 */
export function defaultSyncMode(backend: BackendName | string): SyncMode {
  return backend === 'tensorflow-gpu' || backend === 'webgl' || backend === 'webgpu' ? 'readback' : 'return';
}

/**
 * The stopping rule's defaults, one home for `resolveTimingOptions` and the help that states
 * them: the repetition cap, and the wall-time cap max(maxTimeMsFloor, maxTimeMsPerMinTime ×
 * minTimeMs).
 */
export const TIMING_DEFAULTS = { warmup: 2, minReps: 5, minTimeMs: 200, maxReps: 10_000, maxTimeMsFloor: 10_000, maxTimeMsPerMinTime: 20 } as const;

/** When to stop repeating a timed operation. */
export interface TimingOptions {
  /** Untimed calls first, for kernel selection and first-touch allocation (default 2). */
  warmup?: number;
  /** Timed repetitions at least (default 5). */
  minReps?: number;
  /** Milliseconds of timed repetitions at least (default 200). */
  minTimeMs?: number;
  /** Stop after this many repetitions even if minTimeMs is not reached (default 10 000, or minReps when that is more). */
  maxReps?: number;
  /** Stop after this long once 3 repetitions are in, even below minReps (default max(10 s, 20 × minTimeMs)). */
  maxTimeMs?: number;
  /** Completion mode; default: `defaultSyncMode` of the active backend. */
  sync?: SyncMode;
}

/** The outcome of `timeTfOp`: per-repetition seconds and their summary. */
export interface OpTiming {
  /** Seconds per repetition, in the order measured. */
  samples: number[];
  stats: TimingStats;
  warmup: number;
  sync: SyncMode;
  backend: BackendName;
}

/**
 * Validated timing options with defaults applied.
 *
 * @example
 * resolveTimingOptions({ minReps: 3 }).warmup // => 2
 */
export function resolveTimingOptions(opts: TimingOptions = {}): Required<Omit<TimingOptions, 'sync'>> & { sync?: SyncMode } {
  const d = TIMING_DEFAULTS;
  const warmup = checkInt('warmup', opts.warmup ?? d.warmup, { min: 0, max: 1000 });
  const minReps = checkInt('minReps', opts.minReps ?? d.minReps, { min: 1, max: 1_000_000 });
  const minTimeMs = checkNumber('minTimeMs', opts.minTimeMs ?? d.minTimeMs, { min: 0, max: 3_600_000 });
  // The default cap never sits below the repetitions asked for: only a cap the caller sets can conflict.
  const maxReps = checkInt('maxReps', opts.maxReps ?? Math.max(d.maxReps, minReps), { min: minReps, max: 10_000_000 });
  const maxTimeMs = checkNumber('maxTimeMs', opts.maxTimeMs ?? Math.max(d.maxTimeMsFloor, d.maxTimeMsPerMinTime * minTimeMs), { min: minTimeMs, max: 86_400_000 });
  const sync = opts.sync === undefined ? undefined : checkOneOf('sync', opts.sync, SYNC_MODES);
  return { warmup, minReps, minTimeMs, maxReps, maxTimeMs, sync };
}

type Tf = typeof import('@tensorflow/tfjs-core');

/**
 * Waits for `outs` to be computed by reading back a single element of each.
 *
 * @example
 * readbackOne(tf, [tf.matMul(a, b)]); // returns once the product is computed
 */
export function readbackOne(tf: Tf, outs: readonly Tensor[]): void {
  for (const y of outs) {
    if (y.size <= 1) {
      y.dataSync();
      continue;
    }
    // A one-element slice at the origin: its kernel depends on the whole output and is
    // queued behind it, and only 4 bytes cross to the host.
    const one = tf.slice(y, new Array(y.rank).fill(0), new Array(y.rank).fill(1));
    one.dataSync();
    one.dispose();
  }
}

/**
 * Times any tfjs operation: `warmup` untimed calls, then timed calls until both
 * `minReps` and `minTimeMs` are reached (or a cap). Each call runs inside `tf.tidy`,
 * is completed according to the sync mode, and its outputs are disposed, so a timed
 * op leaves no tensors behind.
 *
 * @example
 * const { tf } = await activeBackend();
 * const a = tf.ones([64, 64]);
 * const t = await timeTfOp(() => tf.matMul(a, a), { minReps: 5, minTimeMs: 20 });
 * t.stats.median // => seconds per call, e.g. 6e-5
 * a.dispose();
 */
export async function timeTfOp(run: () => Tensor | Tensor[], opts: TimingOptions = {}): Promise<OpTiming> {
  const o = resolveTimingOptions(opts);
  const backend = await activeBackend();
  const tf = backend.tf;
  const sync = o.sync ?? defaultSyncMode(backend.name);
  const once = (): void => {
    const out = tf.tidy(run);
    const outs = Array.isArray(out) ? out : [out];
    if (sync === 'readback') readbackOne(tf, outs);
    for (const y of outs) y.dispose();
  };
  for (let i = 0; i < o.warmup; i++) once();
  const samples: number[] = [];
  const start = performance.now();
  // The minimum time counts timed calls only, so that it means the same on a busy
  // machine (where the gaps between calls grow) as on a quiet one; the maximum time
  // is wall time, so that a point can never run away.
  let timedMs = 0;
  for (;;) {
    const t0 = performance.now();
    once();
    const t1 = performance.now();
    samples.push((t1 - t0) / 1e3);
    timedMs += t1 - t0;
    const elapsed = t1 - start;
    if (samples.length >= o.minReps && timedMs >= o.minTimeMs) break;
    if (samples.length >= o.maxReps) break;
    if (elapsed >= o.maxTimeMs && samples.length >= Math.min(3, o.minReps)) break;
  }
  return { samples, stats: timingStats(samples), warmup: o.warmup, sync, backend: backend.name };
}

/**
 * Times several tfjs calls in turn, each once per round, for `rounds` rounds, and
 * returns their seconds as `[call][round]`: interleaved, so that a kernel sees the
 * caches as a model's step leaves them (each call between the others, not repeated
 * back to back on operands already in cache), and a change of the machine's load
 * moves every call alike. Each call runs inside `tf.tidy`, is completed according to
 * the sync mode, and its outputs are disposed, within its time (as in `timeTfOp`).
 * `warmup` untimed rounds come first.
 *
 * @example
 * const s = timeTfCallsInTurn(tf, ws.map((w) => () => tf.matMul(x, w, false, true)), { rounds: 3, sync: 'return' });
 * s[0].length // => 3
 */
export function timeTfCallsInTurn(tf: Tf, runs: ReadonlyArray<() => Tensor | Tensor[]>, o: { rounds: number; warmup?: number; sync: SyncMode }): number[][] {
  const rounds = checkInt('rounds', o.rounds, { min: 1, max: 100_000 });
  const warmup = checkInt('warmup', o.warmup ?? 0, { min: 0, max: 1000 });
  const sync = checkOneOf('sync', o.sync, SYNC_MODES);
  const out = runs.map(() => [] as number[]);
  for (let r = -warmup; r < rounds; r++) {
    runs.forEach((run, i) => {
      const t0 = performance.now();
      const y = tf.tidy(run);
      const ys = Array.isArray(y) ? y : [y];
      if (sync === 'readback') readbackOne(tf, ys);
      // Freeing the outputs is part of the call, as in timeTfOp: a model frees what each op makes.
      for (const t of ys) t.dispose();
      const t1 = performance.now();
      if (r >= 0) out[i].push((t1 - t0) / 1e3);
    });
  }
  return out;
}
