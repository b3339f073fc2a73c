import { refuseRepeated } from './inputs.js';
import { TIMING_DEFAULTS } from '../../lib/gemm/timing.js';
import { totalmem } from 'node:os';
import { CliExit } from './io.js';
import { countOf } from '../../lib/util/words.js';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BACKEND_NAMES, tfjs } from '../../lib/backend/registry.js';
import type { BackendName } from '../../lib/backend/registry.js';
import { fitRoofline, fittedKneeBatch, heldOutFitError, rooflineFitPoints } from '../../lib/cost/fit.js';
import { DTYPES } from '../../lib/core/types.js';
import type { Dtype } from '../../lib/core/types.js';
import { gemmBatchSizes, MAX_GEMM_DIM } from '../../lib/gemm/shapes.js';
import { measuredDir, sweepGemmToFiles } from '../../lib/gemm/store.js';
import { GEMM_VARIANTS, gemmDtypes, gemmRows } from '../../lib/gemm/sweep.js';
import { kernelRowsFromGemm, writeKernelTable } from '../../lib/kernels/write.js';
import { machineId, thisMachineFacts } from '../../lib/util/machine.js';
import { join } from 'node:path';
import type { GemmVariant } from '../../lib/gemm/sweep.js';
import { InputError } from '../../lib/util/errors.js';
import { checkWritableDir } from '../../lib/util/files.js';
import { checkOneOf } from '../../lib/util/validate.js';
import { decimalInRange, emit, intArg, ioOf } from './context.js';

/**
 * Parses a batch-size list: "1,2,8,64", or "pow2:4096" (powers of two and the points
 * between, as gemmBatchSizes), or "pow2only:4096".
 *
 * @example
 * parseBatchList('--m', 'pow2only:8') // => [1, 2, 4, 8]
 */
export function parseBatchList(flag: string, raw: string): number[] {
  const s = raw.trim();
  const pow = /^pow2(only)?:(.+)$/.exec(s);
  if (pow) {
    const max = pow[2].trim();
    if (!/^\d+$/.test(max)) throw new InputError(flag, raw, `pow2:<max> or pow2only:<max> with <max> an integer in [1, ${MAX_GEMM_DIM}], or a comma-separated list of positive integers`);
    return gemmBatchSizes(intArg(flag, max, 1, MAX_GEMM_DIM), { between: !pow[1] });
  }
  if (s === '') throw new InputError(flag, raw, 'a comma-separated list of positive integers, or pow2:<max>');
  const ms = s.split(',').map((p, i) => intArg(`${flag}[${i}]`, p, 1, MAX_GEMM_DIM));
  refuseRepeated(flag, ms, (m) => m, 'a value the list does not already hold (each is one point)');
  return ms;
}

/**
 * Parses "4096x4096,1024x1024" into (K, N) pairs.
 *
 * @example
 * parseShapeList('--shapes', '8x16') // => [{ k: 8, n: 16 }]
 */
export function parseShapeList(flag: string, raw: string): Array<{ k: number; n: number }> {
  const shapes = raw.split(',').map((p, i) => {
    const m = /^\s*([^x]+)x([^x]+)\s*$/.exec(p);
    if (!m) throw new InputError(`${flag}[${i}]`, p, 'KxN, e.g. 4096x4096');
    return { k: intArg(`${flag}[${i}].k`, m[1], 1, MAX_GEMM_DIM), n: intArg(`${flag}[${i}].n`, m[2], 1, MAX_GEMM_DIM) };
  });
  const text = (x: { k: number; n: number }): string => `${x.k}x${x.n}`;
  refuseRepeated(flag, shapes, text, 'a shape the list does not already hold (each is one line of points)', text);
  return shapes;
}

interface GemmCliOptions {
  backend: string;
  m: string;
  k?: string;
  n?: string;
  shapes?: string;
  dtype: string;
  variants: string;
  minReps: string;
  minTimeMs: string;
  warmup: string;
  memoryBudgetGib?: string;
  out?: string;
  stem?: string;
}

async function benchGemm(o: GemmCliOptions, cmd: Command): Promise<void> {
  const io = ioOf(cmd);
  // The output folder first (a file, a device, /proc/x): refused before anything is parsed, loaded or measured.
  checkWritableDir('--out', o.out ?? measuredDir());
  const backend = checkOneOf('--backend', o.backend, ['auto', ...BACKEND_NAMES] as const) as BackendName | 'auto';
  const ms = parseBatchList('--m', o.m);
  let shapes: Array<{ k: number; n: number }>;
  if (o.shapes !== undefined) {
    if (o.k !== undefined || o.n !== undefined) throw new InputError('--shapes', o.shapes, 'used without --k and --n');
    shapes = parseShapeList('--shapes', o.shapes);
  } else shapes = [{ k: intArg('--k', o.k ?? '4096', 1, MAX_GEMM_DIM), n: intArg('--n', o.n ?? '4096', 1, MAX_GEMM_DIM) }];
  const supported = gemmDtypes(backend);
  const dtypes = o.dtype.split(',').map((d) => {
    const t = d.trim();
    if (!(supported as string[]).includes(t)) {
      const allowed = `one of ${supported.map((x) => JSON.stringify(x)).join(', ')}${(DTYPES as readonly string[]).includes(t) ? ' (tfjs has no 16- or 8-bit float type: every backend multiplies in float32)' : ''}`;
      throw new InputError('--dtype', t, allowed);
    }
    return t as Dtype;
  });
  const variants = o.variants.split(',').map((v, i) => checkOneOf(`--variants[${i}]`, v.trim(), GEMM_VARIANTS)) as GemmVariant[];
  const minReps = intArg('--min-reps', o.minReps, 1, 1_000_000);
  const minTimeMs = decimalInRange('--min-time-ms', o.minTimeMs, { min: 0, max: 3_600_000 });
  const warmup = intArg('--warmup', o.warmup, 0, 1000);
  const memoryBudgetBytes =
    o.memoryBudgetGib === undefined
      ? undefined
      : budgetWithinRam(decimalInRange('--memory-budget-gib', o.memoryBudgetGib, { min: 0, exclusiveMin: true, max: 1e6 })) * 2 ** 30;

  if (backend === 'cpu') {
    // tfjs's plain cpu backend prints "install our node backend" on its first tensor;
    // here the user chose cpu beside an installed native backend, so the advice is noise.
    const cpu = tfjs().findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
  }

  const showBar = io.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar({ format: 'gemm {bar} {value}/{total} points | M={m} K={k} N={n} {ms} ms', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  let started = false;
  // The library names its own fields; the user typed flags.
  const flagOf: Record<string, string> = { dir: '--out', stem: '--stem', backend: '--backend' };
  const onAbort = (): void => io.err('batchlab: stopping after the current point');
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const result = await sweepGemmToFiles({
    backend,
    ms,
    shapes,
    dtypes,
    variants,
    timing: { minReps, minTimeMs, warmup },
    memoryBudgetBytes,
    dir: o.out,
    stem: o.stem,
    signal: io.signal,
    onPoint: (row, p) => {
      if (!bar) return;
      if (!started) {
        bar.start(p.total, p.done - 1, { m: '', k: '', n: '', ms: '' });
        started = true;
      }
      bar.update(p.done, { m: row.m, k: row.k, n: row.n, ms: (row.median_s * 1e3).toFixed(3) });
    },
    onComplete: (table) => {
      const pts = rooflineFitPoints(table);
      if (new Set(pts.map((p) => p.m)).size < 3) return {};
      return { fit: fitRoofline(table) };
    },
  })
    .catch((err: unknown) => {
      if (err instanceof InputError && err.field === 'memoryBudgetBytes') {
        // The flag is in GiB, the library's field in bytes.
        throw new InputError('--memory-budget-gib', typeof err.value === 'number' ? err.value / 2 ** 30 : err.value, err.allowed, err.detail);
      }
      if (err instanceof InputError && Object.hasOwn(flagOf, err.field)) {
        throw new InputError(flagOf[err.field], err.value, err.allowed, err.detail);
      }
      throw err;
    })
    .finally(() => {
      bar?.stop();
      io.signal?.removeEventListener('abort', onAbort);
    });

  // The same points as kernel-database rows, so this machine is priced from its own table
  // like any GPU (`--hardware this-machine --framework tfjs-<backend> --kernel-db <out>/kernels`).
  const timed = gemmRows(result.table);
  const kernelRows = kernelRowsFromGemm(timed);
  const tfjsVersion = /(?:^|;)tfjs=([^;]+)/.exec(timed[0]?.versions ?? '')?.[1] ?? 'unknown';
  const kernelTable =
    kernelRows.length > 0
      ? writeKernelTable(join(o.out ?? measuredDir(), 'kernels'), { device: machineId(thisMachineFacts()), framework: `tfjs-${timed[0].backend}`, version: tfjsVersion, op: 'gemm' }, kernelRows)
      : undefined;
  const pts = rooflineFitPoints(result.table);
  const canFit = result.complete && new Set(pts.map((p) => p.m)).size >= 3;
  const fit = canFit ? fitRoofline(result.table) : undefined;
  const knee = fit ? fittedKneeBatch(fit, shapes[0].k, shapes[0].n) : undefined;
  const heldOut = fit && pts.length >= 6 ? heldOutFitError(pts).test : undefined;
  emit(
    cmd,
    { csv: result.csv, json: result.json, droppedLine: result.droppedLine, kernelTable, resumed: result.resumed, kept: result.kept, measured: result.measured, complete: result.complete, fit, kneeBatch: knee, heldOutError: heldOut },
    () => {
      const kept = result.kept > 0 ? `; ${countOf(result.kept, 'row')} of earlier runs in the file kept (other points)` : '';
      const lines = [`batchlab: ${countOf(result.resumed, 'point')} resumed, ${result.measured} measured${kept} -> ${result.csv}`, `batchlab: JSON with provenance -> ${result.json}`];
      if (result.droppedLine !== null) lines.push(`batchlab: the last line of ${result.csv} was cut short (no newline) and is dropped: ${JSON.stringify(result.droppedLine.slice(0, 80))}`);
      if (kernelTable) lines.push(`batchlab: ${kernelRows.length} kernel-database GEMM rows -> ${kernelTable}`);
      if (!result.complete) lines.push('batchlab: sweep interrupted; completed points are saved, re-run the same command to continue');
      if (fit && result.kept > 0) lines.push(`batchlab: the fit below is over every row of the file: this run's points and the ${countOf(result.kept, 'row')} kept`);
      if (fit && knee !== undefined) {
        lines.push(
          `batchlab: fitted roofline: overhead ${(fit.overheadSeconds * 1e6).toFixed(1)} us, peak ${(fit.peakFlopsPerSecond / 1e9).toFixed(1)} GFLOP/s, ` +
            `bandwidth ${(fit.bytesPerSecond / 1e9).toFixed(1)} GB/s; knee at M = ${knee.toFixed(1)} for K=${shapes[0].k}, N=${shapes[0].n}`,
        );
        for (const w of fit.warnings ?? []) lines.push(`batchlab: fit warning: ${w}`);
      }
      if (heldOut) lines.push(`batchlab: held-out prediction error (fit on alternate M, predict the rest): median ${(heldOut.median * 100).toFixed(1)} %, max ${(heldOut.max * 100).toFixed(1)} %`);
      return lines;
    },
  );
  // Stopped by Ctrl-C: what was measured is written; the exit code says the run is not whole.
  if (!result.complete && io.signal?.aborted) throw new CliExit(130);
}

/**
 * `batchlab bench gemm`: sweeps X[M×K]·W[K×N] on this machine.
 *
 * @example
 * register(new Command('batchlab'));
 */
export function register(program: Command): void {
  const bench = program.command('bench').description('run a benchmark on this machine');
  bench
    .command('gemm')
    .description('sweep X[M×K]·W[K×N] over batch sizes M; writes CSV and JSON under data/measured/, resumably')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', ...BACKEND_NAMES]).default('auto'))
    .option('--m <list>', 'batch sizes: "1,2,8" or pow2:<max> (powers of two and 1.5x points) or pow2only:<max>', 'pow2:4096')
    .option('--k <int>', 'input width K (default 4096)')
    .option('--n <int>', 'output width N (default 4096)')
    .option('--shapes <list>', 'several KxN pairs instead of --k/--n, e.g. 4096x4096,1024x1024')
    .option('--dtype <list>', 'element types (tfjs backends support fp32)', 'fp32')
    .option('--variants <list>', `weight layouts: ${GEMM_VARIANTS.join(', ')}`, 'plain')
    .option('--min-reps <int>', 'timed repetitions per point at least', '3')
    .option('--min-time-ms <ms>', `timed milliseconds per point at least, unless the point first reaches ${TIMING_DEFAULTS.maxReps.toLocaleString('en-US')} repetitions (or --min-reps, if more) or max(${TIMING_DEFAULTS.maxTimeMsFloor / 1000} s, ${TIMING_DEFAULTS.maxTimeMsPerMinTime} × this) of wall time; the reps column says how many ran`, String(TIMING_DEFAULTS.minTimeMs))
    .option('--warmup <int>', 'untimed calls per point', '1')
    .option('--memory-budget-gib <gib>', 'refuse shapes whose tensors exceed this (default: half of free memory)')
    .option('--out <dir>', 'output folder (default data/measured/ of a checkout; ~/.local/share/batchlab/measured for an installed package; BATCHLAB_MEASURED_DIR overrides both)')
    .option('--stem <name>', 'file name without extension (default gemm-<machine>-<backend>-<date>)')
    .action(benchGemm);
}

// A budget past this machine's RAM (as the OS reports it: a container's limit may be lower)
// would let a shape through to an allocation that fails with the engine's own message.
function budgetWithinRam(gib: number): number {
  const ram = Math.floor((totalmem() / 2 ** 30) * 100) / 100;
  if (gib > ram) throw new InputError('--memory-budget-gib', gib, `at most this machine's RAM, ${ram} GiB (the tensors are allocated in it)`);
  return gib;
}
