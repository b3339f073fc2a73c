import type { Tensor2D } from '@tensorflow/tfjs';
import { selectBackend } from '../backend/registry.js';
import type { BackendName } from '../backend/registry.js';
import { engineModelSpec, engineParamCount, scaleEngineConfig } from '../engine/config.js';
import type { EngineScale } from '../engine/config.js';
import { DecodeEngine } from '../engine/model.js';
import { seededWeightSource } from '../engine/weights.js';
import { localDecode, singleDeviceSetup } from '../deployment/local.js';
import type { LocalRun } from '../deployment/local.js';
import { timeTfOp } from '../gemm/timing.js';
import { thisMachineHardware } from '../hardware/spec.js';
import { checkArray, checkInt } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { engineMemoryBudget, peakRssBytes, resolveEngineConfig } from './serve.js';

/** One decode batch of the engine on this machine beside the local model's prediction. */
export interface EngineVsLocalRow {
  batch: number;
  /** Median seconds of a decode step over the rounds (measured). */
  measuredStepSeconds: number;
  measuredTokensPerSecond: number;
  /** Slowest and fastest round's tokens/s (measured; this machine's spread between rounds). */
  measuredTokensPerSecondRange: [number, number];
  /** localDecode's step on this machine as a local setup (calibrated: its bandwidth and compute measured). */
  predictedStepSeconds: number;
  predictedTokensPerSecond: number;
  /** predicted / measured − 1 of tokens/s. */
  error: number;
  calibration: LocalRun['calibration'];
  limitedBy: string;
  /** Kernels the engine launched in one step of this batch (counted), and the seconds the prediction gives them. */
  kernels: number;
  launchSeconds: number;
}

/** The engine at (or near) real size on this machine, measured beside the local model. */
export interface EngineVsLocalResult {
  model: string;
  parameters: number;
  rows: EngineVsLocalRow[];
  /**
   * Kernel microbenchmarks in the engine's layout (x·Wᵀ), medians over the rounds: this
   * machine's achieved streaming bandwidth (1 row) and GEMM rate at each batch's row count.
   */
  machine: { bytesPerSecond: number; flopsPerSecond: Record<number, number>; kernelLaunchSeconds: number };
  /** The process's peak resident memory (measured; it includes the 512 MB of microbenchmark matrices) and what the engine may hold (weights + KV + 2 GiB). */
  memory: { peakRssBytes: number; weightBytes: number; kvBytes: number; budgetBytes: number };
  /** One long prompt prefilled at the end (option longPrompt): its time and the peak RSS before and after it; null if none. */
  longPrompt: { tokens: number; seconds: number; peakRssBefore: number; peakRssAfter: number } | null;
  /** Step time of the largest batch over that of batch 1, measured and predicted: what a batch costs over one token. */
  batchCost: { batch: number; measured: number; predicted: number };
  note: string;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];

/**
 * Runs a Llama-architecture engine (default: the full Llama-3.2-1B, 1.24 B parameters,
 * seeded float32 weights) on this machine at several decode batches, and predicts the
 * same steps with `localDecode` on this machine as a local setup whose bandwidth and
 * compute are kernel microbenchmarks in the engine's own layout, run in the same rounds
 * (so a change of the machine's load moves both sides alike): one pass of 1 row against
 * float32 matrices of the model's FFN shape (512 MB of them, beyond any cache; eight
 * 8192 × 2048 for Llama-3.2-1B) for bandwidth, and of B
 * rows for the GEMM rate at batch B (a CPU GEMM of few rows reaches a fraction of a
 * large one's rate: the kernel's own table, measured). Each round times the
 * microbenchmarks and one decode step per batch; medians are reported, with the
 * process's peak RSS. The engine launches many small kernels per step (attention per
 * sequence, norms): their count (tf.profile of one step) times this backend's measured
 * per-kernel launch cost (256 dependent tiny ops, one sync) is the prediction's launch
 * term (localDecode's kernelsPerStep).
 *
 * @example
 * const r = await measureEngineVsLocal({ batches: [1, 8, 32], rounds: 5 });
 * r.rows[0].error // => e.g. -0.08: the prediction 8 % below the measured tokens/s
 */
export async function measureEngineVsLocal(
  o: { model?: string; scale?: EngineScale; batches?: number[]; rounds?: number; prompt?: number; longPrompt?: number; seed?: number; backend?: BackendName | 'auto'; log?: (line: string) => void } = {},
): Promise<EngineVsLocalResult> {
  const batches = checkArray<number>('batches', o.batches ?? [1, 8, 32], 16).map((b, i) => checkInt(`batches[${i}]`, b, { min: 1, max: 256 }));
  if (batches.length === 0) throw new InputError('batches', batches, 'at least one batch size');
  const rounds = checkInt('rounds', o.rounds ?? 5, { min: 1, max: 100 });
  const prompt = checkInt('prompt', o.prompt ?? 16, { min: 1, max: 1024 });
  const longPrompt = checkInt('longPrompt', o.longPrompt ?? 0, { min: 0, max: 8192 });
  const log = o.log ?? (() => {});
  const tf = (await selectBackend(o.backend ?? 'auto', { log: () => {} })).tf;
  const base = resolveEngineConfig(o.model ?? 'llama-3.2-1b', Math.max(prompt + rounds + 8, longPrompt + 1));
  const cfg = o.scale ? scaleEngineConfig(base, o.scale) : base;
  const t0 = performance.now();
  const engine = new DecodeEngine(tf, cfg, seededWeightSource(cfg, o.seed ?? 1));
  const params = engineParamCount(cfg).total;
  log(`engine ${cfg.id}: ${(params / 1e9).toFixed(3)} B parameters, built in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${engine.backend}`);
  // The model's own FFN shape (gate/up: [intermediate, hidden]), enough matrices for 512 MB of float32.
  const K = cfg.hiddenSize;
  const N = cfg.intermediateSize;
  const mats = Array.from({ length: Math.max(1, Math.ceil(2 ** 29 / (4 * N * K))) }, () => tf.randomUniform([N, K]) as Tensor2D);
  const xs = new Map([...new Set([1, ...batches])].map((b) => [b, tf.randomUniform([b, K]) as Tensor2D]));
  const pass = async (b: number): Promise<number> => (await timeTfOp(() => mats.map((w) => tf.matMul(xs.get(b)!, w, false, true)), { warmup: 0, minReps: 1, maxReps: 1, minTimeMs: 0 })).stats.median;
  const toks = (i: number): number[] => Array.from({ length: prompt }, (_, k) => (k * 31 + i * 7) % Math.min(256, cfg.vocabSize));
  const seqs = new Map(batches.map((B) => [B, Array.from({ length: B }, (_, i) => B * 1000 + i)]));
  // Per-kernel launch cost on this backend: 256 dependent tiny ops, one sync at the end (as a step syncs once).
  const tiny = tf.ones([4]);
  const launch = (): number => {
    const a = performance.now();
    let y = tf.add(tiny, tiny);
    for (let k = 0; k < 255; k++) {
      const z = tf.add(y, tiny);
      y.dispose();
      y = z;
    }
    y.dataSync();
    y.dispose();
    return (performance.now() - a) / 1000 / 256;
  };
  const kernels = new Map<number, number>();
  let long: EngineVsLocalResult['longPrompt'] = null;
  const launches: number[] = [];
  const bw: number[] = [];
  const fl = new Map<number, number[]>(batches.map((B) => [B, []]));
  const times = new Map<number, number[]>(batches.map((B) => [B, []]));
  try {
    // Every batch's sequences keep their prompts for the whole run; one warm-up step each, not kept.
    for (const B of batches) {
      engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: toks(s) })));
      engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: [1] })));
    }
    for (const b of xs.keys()) await pass(b);
    // Kernels one decode step launches, counted once per batch (tf.profile lists every kernel run).
    for (const B of batches) kernels.set(B, (await tf.profile(() => { engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: [1] }))); })).kernels.length);
    launch();
    for (let r = 0; r < rounds; r++) {
      launches.push(launch());
      bw.push((mats.length * N * K * 4) / (await pass(1)));
      for (const B of batches) fl.get(B)!.push((2 * B * mats.length * N * K) / (await pass(B)));
      for (const B of batches) {
        const a = performance.now();
        engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: [1] })));
        times.get(B)!.push((performance.now() - a) / 1000);
      }
    }
    // The microbenchmark matrices (512 MB) are not the engine's: free them before the long prompt.
    tf.dispose([...mats, ...xs.values(), tiny]);
    if (longPrompt > 0) {
      // One long prompt in one step, after everything else: the peak RSS it adds (each layer's intermediates are freed
      // before the next layer runs).
      const before = peakRssBytes();
      const a = performance.now();
      engine.step([{ seq: 1e9, tokens: Array.from({ length: longPrompt }, (_, k) => (k * 13) % Math.min(256, cfg.vocabSize)) }]);
      long = { tokens: longPrompt, seconds: (performance.now() - a) / 1000, peakRssBefore: before, peakRssAfter: peakRssBytes() };
      engine.release(1e9);
    }
  } finally {
    tf.dispose([...mats, ...xs.values(), tiny]);
    engine.dispose();
  }
  const machine = { bytesPerSecond: median(bw), flopsPerSecond: Object.fromEntries(batches.map((B) => [B, median(fl.get(B)!)])) as Record<number, number>, kernelLaunchSeconds: median(launches) };
  const model = engineModelSpec(cfg);
  const rows = batches.map((B): EngineVsLocalRow => {
    const hw = thisMachineHardware(
      { overheadSeconds: machine.kernelLaunchSeconds, peakFlopsPerSecond: machine.flopsPerSecond[B], bytesPerSecond: machine.bytesPerSecond, dtype: 'fp32', label: `engine-layout microbenchmarks at ${B} rows on ${engine.backend}` },
      { name: 'this machine (microbenchmarks)' },
    );
    const step = median(times.get(B)!);
    const pred = localDecode(model, singleDeviceSetup(hw), { bitsPerWeight: 32, context: prompt + 2 + rounds, batch: B, offload: 'none', kernelsPerStep: kernels.get(B) });
    return {
      batch: B,
      measuredStepSeconds: step,
      measuredTokensPerSecond: B / step,
      measuredTokensPerSecondRange: [B / Math.max(...times.get(B)!), B / Math.min(...times.get(B)!)],
      predictedStepSeconds: pred.stepSeconds,
      predictedTokensPerSecond: pred.tokensPerSecond,
      error: pred.tokensPerSecond / (B / step) - 1,
      calibration: pred.calibration,
      limitedBy: pred.tiers.map((t) => t.limitedBy).join(', '),
      kernels: kernels.get(B)!,
      launchSeconds: pred.launchSeconds,
    };
  });
  const cached = batches.reduce((a, B) => a + B, 0) * (prompt + 2 + rounds) + longPrompt;
  const m = engineMemoryBudget(cfg, cached);
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    model: cfg.id,
    parameters: params,
    rows,
    machine,
    memory: { peakRssBytes: peakRssBytes(), ...m },
    longPrompt: long,
    batchCost: { batch: last.batch, measured: last.measuredStepSeconds / first.measuredStepSeconds, predicted: last.predictedStepSeconds / first.predictedStepSeconds },
    note: `${engine.backend} backend, ${rounds} rounds, prompts of ${prompt} tokens, ${new Date().toISOString().slice(0, 10)}`,
  };
}

/**
 * The measurement in sentences: each batch's tokens/s measured and predicted, what a
 * batch of the largest size costs over one token, and the peak memory against its budget.
 *
 * @example
 * showMarkdown(describeEngineVsLocal(await measureEngineVsLocal()))
 */
export function describeEngineVsLocal(r: EngineVsLocalResult): string {
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const per = r.rows
    .map((x) => `batch ${x.batch}: ${x.measuredTokensPerSecond.toFixed(2)} tokens/s measured (median; slowest–fastest round ${x.measuredTokensPerSecondRange[0].toFixed(2)}–${x.measuredTokensPerSecondRange[1].toFixed(2)}), ${x.predictedTokensPerSecond.toFixed(2)} predicted (${x.error >= 0 ? '+' : ''}${(100 * x.error).toFixed(0)} %, ${x.limitedBy}-limited)`)
    .join('; ');
  const b = r.batchCost;
  return [
    `This machine ran ${r.model} (${(r.parameters / 1e9).toFixed(2)} B parameters, float32) and the local model predicted it from this machine's own kernel microbenchmarks (${(r.machine.bytesPerSecond / 1e9).toFixed(1)} GB/s streaming weights; GEMMs of the batch's rows at ${r.rows.map((x) => `${(r.machine.flopsPerSecond[x.batch] / 1e9).toFixed(0)}`).join(', ')} GFLOP/s; ${(r.machine.kernelLaunchSeconds * 1e6).toFixed(0)} µs per kernel launched, ${r.rows.map((x) => x.kernels).join(', ')} kernels per step; calibrated by measurement): ${per}.`,
    b.measured <= b.batch / 4
      ? `A step of ${b.batch} sequences took ${b.measured.toFixed(2)}× the time of a step of one (predicted ${b.predicted.toFixed(2)}×) while making ${b.batch}× the tokens: reading the weights costs the same for one token or ${b.batch}, so a batch costs almost what one token costs.`
      : `A step of ${b.batch} sequences took ${b.measured.toFixed(2)}× the time of a step of one (predicted ${b.predicted.toFixed(2)}×) for ${b.batch}× the tokens: on this run the batch did not come almost free.`,
    `Peak resident memory ${gib(r.memory.peakRssBytes)} (measured) against weights ${gib(r.memory.weightBytes)} + KV ${gib(r.memory.kvBytes)} + 2 GiB = ${gib(r.memory.budgetBytes)}. (${r.note}.)`,
  ].join('\n\n');
}
