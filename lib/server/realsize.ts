import { loadavg } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../backend/registry.js';
import type { BackendName } from '../backend/registry.js';
import { engineModelSpec, engineParamCount, scaleEngineConfig } from '../engine/config.js';
import type { EngineScale } from '../engine/config.js';
import { DecodeEngine } from '../engine/model.js';
import { seededWeightSource } from '../engine/weights.js';
import { measuredDir } from '../gemm/store.js';
import { thisMachineHardware } from '../hardware/spec.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { kernelDbOfRows, loadKernelDb } from '../kernels/load.js';
import type { KernelDb } from '../kernels/load.js';
import type { KernelRow } from '../kernels/schema.js';
import { writeKernelTable } from '../kernels/write.js';
import type { ModelSpec } from '../models/spec.js';
import { stepTime } from '../roofline/deployment.js';
import type { StepTime } from '../roofline/deployment.js';
import { machineId, thisMachineFacts } from '../util/machine.js';
import { median } from '../util/stats.js';
import { writeFileSafe } from '../util/files.js';
import { checkArray, checkInt } from '../util/validate.js';
import { InputError } from '../util/errors.js';
import { engineKernelBench } from './engine-kernels.js';
import type { EngineKernelRow } from './engine-kernels.js';
import { engineMemoryBudget, peakRssBytes, resolveEngineConfig } from './serve.js';

/** One decode batch of the engine on this machine beside the kernel-table prediction. */
export interface EngineVsLocalRow {
  batch: number;
  /** Median seconds of a decode step over the rounds (measured). */
  measuredStepSeconds: number;
  measuredTokensPerSecond: number;
  /** Slowest and fastest round's tokens/s (measured; this machine's spread between rounds). */
  measuredTokensPerSecondRange: [number, number];
  /** `stepTime` of this step priced from the kernel rows measured in this run (their medians over the rounds). */
  predictedStepSeconds: number;
  predictedTokensPerSecond: number;
  /** The prediction from each round's own kernel rows: the lowest and highest tokens/s. */
  predictedTokensPerSecondRange: [number, number];
  /** predicted / measured − 1 of tokens/s (the medians above). */
  error: number;
  /**
   * The same error round by round, each round's prediction (from its own kernel rows)
   * against its own step, timed just after them: the lowest, the median and the
   * highest. Pairing cancels the load the machine's other work puts on both.
   */
  roundErrors: [number, number, number];
  /** What the prediction is: always 'kernel-table' (stepTime over this machine's measured kernel rows). */
  prediction: 'kernel-table';
  /** What bounds the predicted step (stepTime's `bound`). */
  limitedBy: StepTime['bound'];
  /** Where the predicted step goes (seconds): the weight GEMMs and attention from the kernel rows, elementwise traffic at the measured bandwidth, launches. */
  breakdown: { gemm: number; attention: number; elementwise: number; launch: number };
  /** Kernels the engine launched in one step of this batch (tf.profile), and those besides its GEMMs and attention (priced at `kernelSeconds` each). */
  kernels: number;
  auxiliaryKernels: number;
  /** Mean seconds of one such kernel at this batch: their kernel times in a profiled step (tf.profile, measured) over their count. */
  kernelSeconds: number;
}

/** One kernel-database row measured in this run: its medians and spread over the rounds. */
export interface EngineKernelResult extends EngineKernelRow {
  /** Median over the rounds of each round's median call (measured). */
  seconds: number;
  /** Fastest and slowest round. */
  range: [number, number];
}

/** The engine at (or near) real size on this machine, measured beside the kernel-table prediction. */
export interface EngineVsLocalResult {
  model: string;
  parameters: number;
  rows: EngineVsLocalRow[];
  /**
   * This machine as the prediction saw it (medians over the rounds, measured): the
   * weight-streaming bandwidth of the one-row GEMMs over the engine's weights, the
   * kernel rows with their spread (each batch's per-kernel cost is in its row).
   */
  machine: {
    bytesPerSecond: number;
    kernels: EngineKernelResult[];
    /** The folder the rows were written to (gemm.csv, generation_attention.csv, provenance.json), or null if kept in memory. */
    kernelTable: string | null;
    /** Cached tokens per sequence the attention rows and the prediction take. */
    context: number;
  };
  /** The process's peak resident memory (measured) and what the engine may hold (weights + KV + 2 GiB). */
  memory: { peakRssBytes: number; weightBytes: number; kvBytes: number; budgetBytes: number };
  /** One long prompt prefilled at the end (option longPrompt): its time and the peak RSS before and after it; null if none. */
  longPrompt: { tokens: number; seconds: number; peakRssBefore: number; peakRssAfter: number } | null;
  /** Step time of the largest batch over that of batch 1, measured and predicted: what a batch costs over one token. */
  batchCost: { batch: number; measured: number; predicted: number };
  note: string;
}

const range = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];

/** The framework folder and version of this run's kernel rows: the engine's tfjs backend and tfjs-core's version. */
function kernelMeta(backend: string, version: string) {
  return { device: machineId(thisMachineFacts()), framework: `tfjs-${backend}`, version };
}

/** This machine as the kernel pricer's hardware: its measured per-kernel cost and bandwidth, the best measured GEMM rate. */
function machineOf(launch: number, bytesPerSecond: number, flopsPerSecond: number, label: string): HardwareSpec {
  return thisMachineHardware({ overheadSeconds: launch, peakFlopsPerSecond: flopsPerSecond, bytesPerSecond, dtype: 'fp32', label }, { name: 'this machine (engine kernel microbenchmarks)' });
}

/**
 * The auxiliary kernels of a profiled step: every kernel but the weight GEMMs
 * (BatchMatMul outside an attention call) and the attention calls (each a run of kernels
 * named as `attention`, one attention call's kernels in order); their count and the sum
 * of their kernel times (seconds).
 */
function auxiliaryKernelsOf(list: ReadonlyArray<{ name: string; kernelTimeMs: unknown }>, attention: readonly string[]): { count: number; seconds: number } {
  let count = 0;
  let ms = 0;
  for (let i = 0; i < list.length; ) {
    if (attention.length > 0 && attention.every((n, j) => list[i + j]?.name === n)) {
      i += attention.length;
      continue;
    }
    const k = list[i++];
    if (k.name === 'BatchMatMul') continue;
    count++;
    if (typeof k.kernelTimeMs === 'number') ms += k.kernelTimeMs;
  }
  return { count, seconds: ms / 1000 };
}

/**
 * Runs a Llama-architecture engine (default: the full Llama-3.2-1B, 1.24 B parameters,
 * seeded float32 weights) on this machine at several decode batches, and predicts the
 * same steps with `stepTime` over a kernel database of this machine's own kernels,
 * measured in the same run (`engineKernelBench`: the engine's GEMMs on its own weights
 * at m = batch, and its own attention at the run's context), in rounds interleaved
 * with the engine's steps so that a change of the machine's load moves both sides
 * alike. The rows' medians over the rounds are written in the kernel database's schema
 * under `kernelDir` (`<machine id>/tfjs-<backend>/<tfjs version>/`, with
 * provenance.json beside them), and stepTime prices from that file. Everything else a
 * step does is priced from measurement too: its other kernels (norms, rotary, residual
 * adds, splits, sampling: the kernels of a step that tf.profile lists besides its
 * weight GEMMs and its layers' attention calls) at their mean kernel time in that
 * profiled step (measured), and their activation traffic at the bandwidth the
 * one-row GEMMs achieve. Each round's own rows give a prediction too:
 * their lowest and highest are the prediction's spread.
 *
 * @example
 * const r = await measureEngineVsLocal({ batches: [1, 8, 32], rounds: 5 });
 * r.rows[0].error // => e.g. -0.08: the prediction 8 % below the measured tokens/s
 */
export async function measureEngineVsLocal(
  o: {
    model?: string;
    scale?: EngineScale;
    batches?: number[];
    rounds?: number;
    prompt?: number;
    longPrompt?: number;
    seed?: number;
    backend?: BackendName | 'auto';
    /** Root of the kernel database the rows are written to (default data/measured/engine-kernels); false keeps them in memory. */
    kernelDir?: string | false;
    log?: (line: string) => void;
  } = {},
): Promise<EngineVsLocalResult> {
  const batches = checkArray<number>('batches', o.batches ?? [1, 8, 32], 16).map((b, i) => checkInt(`batches[${i}]`, b, { min: 1, max: 256 }));
  if (batches.length === 0) throw new InputError('batches', batches, 'at least one batch size');
  const rounds = checkInt('rounds', o.rounds ?? 5, { min: 1, max: 100 });
  const prompt = checkInt('prompt', o.prompt ?? 16, { min: 1, max: 1024 });
  const longPrompt = checkInt('longPrompt', o.longPrompt ?? 0, { min: 0, max: 8192 });
  if (o.kernelDir !== undefined && o.kernelDir !== false && (typeof o.kernelDir !== 'string' || o.kernelDir === '')) throw new InputError('kernelDir', o.kernelDir, 'a folder path, or false');
  const log = o.log ?? (() => {});
  const tf = (await selectBackend(o.backend ?? 'auto', { log: () => {} })).tf;
  const base = resolveEngineConfig(o.model ?? 'llama-3.2-1b', Math.max(prompt + rounds + 8, longPrompt + 1));
  const cfg = o.scale ? scaleEngineConfig(base, o.scale) : base;
  const t0 = performance.now();
  const engine = new DecodeEngine(tf, cfg, seededWeightSource(cfg, o.seed ?? 1));
  const params = engineParamCount(cfg).total;
  log(`engine ${cfg.id}: ${(params / 1e9).toFixed(3)} B parameters, built in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${engine.backend}`);
  const toks = (i: number): number[] => Array.from({ length: prompt }, (_, k) => (k * 31 + i * 7) % Math.min(256, cfg.vocabSize));
  const seqs = new Map(batches.map((B) => [B, Array.from({ length: B }, (_, i) => B * 1000 + i)]));
  // Cached tokens before a timed step: the prompt, the warm-up decode step and the profiled one, then one per round.
  // The attention rows are measured at the middle round's context, and the prediction prices that context.
  const context = prompt + 2 + Math.floor((rounds - 1) / 2);
  const kernels = new Map<number, number>();
  const auxiliary = new Map<number, number>();
  let long: EngineVsLocalResult['longPrompt'] = null;
  const auxSeconds = new Map<number, number>();
  const kernelSeconds: number[][] = [];
  const times = new Map<number, number[]>(batches.map((B) => [B, []]));
  let bench: ReturnType<typeof engineKernelBench> | undefined;
  try {
    // Every batch's sequences keep their prompts for the whole run; one warm-up step each, not kept.
    for (const B of batches) {
      engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: toks(s) })));
      engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: [1] })));
    }
    bench = engineKernelBench(engine, { batches, context });
    // Kernels one decode step launches, listed once per batch by tf.profile with each one's kernel time: those besides
    // the weight GEMMs and the layers' attention calls (each found as the run of kernels one attention call makes)
    // are the step's auxiliary kernels.
    for (const B of batches) {
      // Copied: the next tf.profile reuses the object it returns.
      const step = (await tf.profile(() => { engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: [1] }))); })).kernels.map((k) => ({ name: k.name, kernelTimeMs: k.kernelTimeMs }));
      const att = await bench.attentionKernels(B);
      const aux = auxiliaryKernelsOf(step, att);
      kernels.set(B, step.length);
      auxiliary.set(B, aux.count);
      auxSeconds.set(B, aux.seconds);
    }
    for (let r = 0; r < rounds; r++) {
      const round: number[] = [];
      // Each batch's kernels just before its step: a pair the machine's load moves alike.
      for (const B of batches) {
        for (const [i, t] of bench.round(B)) round[i] = t;
        const a = performance.now();
        engine.step(seqs.get(B)!.map((s) => ({ seq: s, tokens: [1] })));
        times.get(B)!.push((performance.now() - a) / 1000);
      }
      kernelSeconds.push(round);
    }
    bench.dispose();
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
    bench?.dispose();
    engine.dispose();
  }
  const rowsBench = bench!.rows;
  const results: EngineKernelResult[] = rowsBench.map((row, i) => {
    const per = kernelSeconds.map((s) => s[i]);
    return { ...row, seconds: median(per), range: range(per) };
  });
  const meta = { ...kernelMeta(engine.backend, tf.version_core), op: 'gemm' as const };
  const asRows = (seconds: (i: number) => number, file: string): KernelRow[] =>
    rowsBench.map((row, i) => ({ ...meta, op: row.op, dims: row.dims, dtype: 'fp32', timeUs: seconds(i) * 1e6, source: { file, line: i + 2 } }));
  // The weight-streaming bandwidth: the one-row GEMMs' weight bytes over their seconds, summed over a step's calls.
  const streaming = (seconds: (i: number) => number): number => {
    const one = rowsBench.map((row, i) => ({ row, i })).filter(({ row }) => row.op === 'gemm' && row.dims.m === Math.min(...batches));
    return one.reduce((a, { row }) => a + 4 * Number(row.dims.n) * Number(row.dims.k) * row.callsPerStep, 0) / one.reduce((a, { row, i }) => a + seconds(i) * row.callsPerStep, 0);
  };
  const bestFlops = (seconds: (i: number) => number): number =>
    Math.max(...rowsBench.map((row, i) => (row.op === 'gemm' ? (2 * Number(row.dims.m) * Number(row.dims.n) * Number(row.dims.k)) / seconds(i) : 0)));
  const medianOf = (i: number): number => results[i].seconds;
  let db: KernelDb;
  let kernelTable: string | null = null;
  const dir = o.kernelDir === false ? null : (o.kernelDir ?? join(measuredDir(), 'engine-kernels'));
  if (dir) {
    for (const op of ['gemm', 'generation_attention'] as const) {
      const mine = results.filter((r) => r.op === op);
      if (mine.length > 0) writeKernelTable(dir, { ...meta, op }, mine.map((r) => ({ ...r.dims, time_us: r.seconds * 1e6 })));
    }
    kernelTable = join(dir, meta.device, meta.framework, meta.version);
    writeFileSafe(
      'kernelDir',
      join(kernelTable, 'provenance.json'),
      `${JSON.stringify(
        {
          what: `kernel rows of ${cfg.id}'s decode step on this machine, measured by measureEngineVsLocal (lib/server/realsize.ts): GEMMs on the engine's own weights in its order, the engine's own attention; medians over ${rounds} rounds of each round's median call, interleaved with the engine's steps`,
          date: new Date().toISOString(),
          machine: meta.device,
          backend: engine.backend,
          tfjs: tf.version_core,
          loadAverage: loadavg(),
          rows: results.map((r) => ({ op: r.op, name: r.name, ...r.dims, time_us: r.seconds * 1e6, fastest_round_us: r.range[0] * 1e6, slowest_round_us: r.range[1] * 1e6, calls_per_step: r.callsPerStep })),
        },
        null,
        1,
      )}\n`,
    );
    db = loadKernelDb(dir);
  } else {
    db = kernelDbOfRows('this run (in memory)', asRows(medianOf, 'this run (in memory)'));
  }
  const model = engineModelSpec(cfg);
  const predict = (spec: ModelSpec, kdb: KernelDb, hw: HardwareSpec, B: number): StepTime =>
    stepTime(spec, hw, { framework: meta.framework, frameworkVersion: meta.version, kernelDb: kdb, precision: 'fp32', efficiency: 'calibrated', checkMemory: false, auxiliaryKernels: auxiliary.get(B) }, { prefillTokens: 0, decodeTokens: B, contextTokens: B * context });
  const bytesPerSecond = streaming(medianOf);
  const launchSeconds = new Map(batches.map((B) => [B, auxSeconds.get(B)! / Math.max(1, auxiliary.get(B)!)]));
  const flops = bestFlops(medianOf);
  const hwOf = (B: number): HardwareSpec => machineOf(launchSeconds.get(B)!, bytesPerSecond, flops, `engine kernel microbenchmarks at batch ${B} on ${engine.backend}, medians of ${rounds} rounds`);
  const perRound = kernelSeconds.map((s, r) => {
    const at = (i: number): number => s[i];
    const bw = streaming(at);
    const best = bestFlops(at);
    return { db: kernelDbOfRows(`round ${r + 1} (in memory)`, asRows(at, `round ${r + 1}`)), hw: (B: number) => machineOf(launchSeconds.get(B)!, bw, best, `engine kernel microbenchmarks at batch ${B}, round ${r + 1}`) };
  });
  const rows = batches.map((B): EngineVsLocalRow => {
    const step = median(times.get(B)!);
    const pred = predict(model, db, hwOf(B), B);
    const b = pred.breakdown;
    return {
      batch: B,
      measuredStepSeconds: step,
      measuredTokensPerSecond: B / step,
      measuredTokensPerSecondRange: [B / Math.max(...times.get(B)!), B / Math.min(...times.get(B)!)],
      predictedStepSeconds: pred.seconds,
      predictedTokensPerSecond: B / pred.seconds,
      predictedTokensPerSecondRange: range(perRound.map((x) => B / predict(model, x.db, x.hw(B), B).seconds)),
      error: B / pred.seconds / (B / step) - 1,
      roundErrors: (() => {
        const e = perRound.map((x, r) => times.get(B)![r] / predict(model, x.db, x.hw(B), B).seconds - 1);
        return [Math.min(...e), median(e), Math.max(...e)];
      })(),
      prediction: 'kernel-table',
      limitedBy: pred.bound,
      breakdown: { gemm: b.gemmSeconds, attention: b.attentionSeconds, elementwise: b.elementwiseSeconds, launch: b.launchSeconds },
      kernels: kernels.get(B)!,
      auxiliaryKernels: auxiliary.get(B)!,
      kernelSeconds: launchSeconds.get(B)!,
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
    machine: { bytesPerSecond, kernels: results, kernelTable, context },
    memory: { peakRssBytes: peakRssBytes(), ...m },
    longPrompt: long,
    batchCost: { batch: last.batch, measured: last.measuredStepSeconds / first.measuredStepSeconds, predicted: last.predictedStepSeconds / first.predictedStepSeconds },
    note: `${engine.backend} backend, ${rounds} rounds, prompts of ${prompt} tokens, ${new Date().toISOString().slice(0, 10)}`,
  };
}

/**
 * The measurement in sentences: each batch's tokens/s measured and predicted from the
 * kernel table (with the spread of each over the rounds), what a batch of the largest
 * size costs over one token, and the peak memory against its budget.
 *
 * @example
 * showMarkdown(describeEngineVsLocal(await measureEngineVsLocal()))
 */
export function describeEngineVsLocal(r: EngineVsLocalResult): string {
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const tps = (x: number): string => x.toFixed(2);
  const per = r.rows
    .map(
      (x) =>
        `batch ${x.batch}: ${tps(x.measuredTokensPerSecond)} tokens/s measured (rounds ${tps(x.measuredTokensPerSecondRange[0])}–${tps(x.measuredTokensPerSecondRange[1])}), ` +
        `${tps(x.predictedTokensPerSecond)} kernel-table prediction (rounds ${tps(x.predictedTokensPerSecondRange[0])}–${tps(x.predictedTokensPerSecondRange[1])}; ${x.error >= 0 ? '+' : ''}${(100 * x.error).toFixed(0)} %)`,
    )
    .join('; ');
  const b = r.batchCost;
  const m = r.machine;
  return [
    `This machine ran ${r.model} (${(r.parameters / 1e9).toFixed(2)} B parameters, float32), and \`stepTime\` predicted each step from a kernel table of this machine measured in the same run: the engine's GEMMs on its own weights and its own attention at ${m.context} cached tokens (medians of the rounds), its ${r.rows.map((x) => x.auxiliaryKernels).join(', ')} other kernels per step at ${r.rows.map((x) => (x.kernelSeconds * 1e6).toFixed(0)).join(', ')} µs each (their mean kernel time in a profiled step, measured), their traffic at ${(m.bytesPerSecond / 1e9).toFixed(1)} GB/s (the one-row GEMMs' measured weight streaming): ${per}.`,
    b.measured <= b.batch / 4
      ? `A step of ${b.batch} sequences took ${b.measured.toFixed(2)}× the time of a step of one (predicted ${b.predicted.toFixed(2)}×) while making ${b.batch}× the tokens: reading the weights costs the same for one token or ${b.batch}, so a batch costs almost what one token costs.`
      : `A step of ${b.batch} sequences took ${b.measured.toFixed(2)}× the time of a step of one (predicted ${b.predicted.toFixed(2)}×) for ${b.batch}× the tokens: on this run the batch did not come almost free.`,
    `Peak resident memory ${gib(r.memory.peakRssBytes)} (measured) against weights ${gib(r.memory.weightBytes)} + KV ${gib(r.memory.kvBytes)} + 2 GiB = ${gib(r.memory.budgetBytes)}. (${r.note}.)`,
  ].join('\n\n');
}
