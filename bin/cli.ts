import { Command, CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BACKEND_NAMES } from '../lib/backend/registry.js';
import type { BackendName } from '../lib/backend/registry.js';
import { fitRoofline, fittedKneeBatch, heldOutFitError, rooflineFitPoints } from '../lib/cost/fit.js';
import { DTYPES } from '../lib/core/types.js';
import type { Dtype } from '../lib/core/types.js';
import { gemmBatchSizes, MAX_GEMM_DIM } from '../lib/gemm/shapes.js';
import { sweepGemmToFiles } from '../lib/gemm/store.js';
import { GEMM_VARIANTS } from '../lib/gemm/sweep.js';
import type { GemmVariant } from '../lib/gemm/sweep.js';
import { InputError } from '../lib/util/errors.js';
import { checkInt, checkNumber, checkOneOf } from '../lib/util/validate.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerLoad } from './commands/load.js';

/** Where the CLI writes text; tests capture it. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Show a progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  signal?: AbortSignal;
}

function intArg(flag: string, raw: string, min = 1, max = MAX_GEMM_DIM): number {
  const v = raw.trim() === '' ? NaN : Number(raw);
  return checkInt(flag, v, { min, max });
}

/**
 * Parses a batch-size list: "1,2,8,64", or "pow2:4096" (powers of two and the points
 * between, as gemmBatchSizes), or "pow2only:4096".
 */
export function parseBatchList(flag: string, raw: string): number[] {
  const s = raw.trim();
  const pow = /^pow2(only)?:(.+)$/.exec(s);
  if (pow) return gemmBatchSizes(intArg(flag, pow[2]), { between: !pow[1] });
  const parts = s.split(',');
  if (parts.length === 0 || s === '') throw new InputError(flag, raw, 'a comma-separated list of positive integers, or pow2:<max>');
  return parts.map((p, i) => intArg(`${flag}[${i}]`, p));
}

/** Parses "4096x4096,1024x1024" into (K, N) pairs. */
export function parseShapeList(flag: string, raw: string): Array<{ k: number; n: number }> {
  return raw.split(',').map((p, i) => {
    const m = /^\s*([^x]+)x([^x]+)\s*$/.exec(p);
    if (!m) throw new InputError(`${flag}[${i}]`, p, 'KxN, e.g. 4096x4096');
    return { k: intArg(`${flag}[${i}].k`, m[1]), n: intArg(`${flag}[${i}].n`, m[2]) };
  });
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

async function benchGemmCommand(o: GemmCliOptions, io: CliIo): Promise<void> {
  const backend = checkOneOf('--backend', o.backend, ['auto', ...BACKEND_NAMES] as const) as BackendName | 'auto';
  const ms = parseBatchList('--m', o.m);
  let shapes: Array<{ k: number; n: number }>;
  if (o.shapes !== undefined) {
    if (o.k !== undefined || o.n !== undefined) throw new InputError('--shapes', o.shapes, 'used without --k and --n');
    shapes = parseShapeList('--shapes', o.shapes);
  } else shapes = [{ k: intArg('--k', o.k ?? '4096'), n: intArg('--n', o.n ?? '4096') }];
  const dtypes = o.dtype.split(',').map((d, i) => checkOneOf(`--dtype[${i}]`, d.trim(), DTYPES)) as Dtype[];
  const variants = o.variants.split(',').map((v, i) => checkOneOf(`--variants[${i}]`, v.trim(), GEMM_VARIANTS)) as GemmVariant[];
  const minReps = intArg('--min-reps', o.minReps, 1, 1_000_000);
  const minTimeMs = checkNumber('--min-time-ms', o.minTimeMs.trim() === '' ? NaN : Number(o.minTimeMs), { min: 0, max: 3_600_000 });
  const warmup = intArg('--warmup', o.warmup, 0, 1000);
  const memoryBudgetBytes =
    o.memoryBudgetGib === undefined ? undefined : checkNumber('--memory-budget-gib', Number(o.memoryBudgetGib), { min: 0, exclusiveMin: true }) * 2 ** 30;

  const showBar = io.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar({ format: 'gemm {bar} {value}/{total} points | M={m} K={k} N={n} {ms} ms', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  let started = false;
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
  });
  bar?.stop();
  io.out(`batchlab: ${result.resumed} points resumed, ${result.measured} measured -> ${result.csv}`);
  io.out(`batchlab: JSON with provenance -> ${result.json}`);
  if (!result.complete) {
    io.out('batchlab: sweep interrupted; completed points are saved, re-run the same command to continue');
    return;
  }
  const pts = rooflineFitPoints(result.table);
  if (new Set(pts.map((p) => p.m)).size >= 3) {
    const fit = fitRoofline(result.table);
    io.out(
      `batchlab: fitted roofline: overhead ${(fit.overheadSeconds * 1e6).toFixed(1)} us, peak ${(fit.peakFlopsPerSecond / 1e9).toFixed(1)} GFLOP/s, ` +
        `bandwidth ${(fit.bytesPerSecond / 1e9).toFixed(1)} GB/s; knee at M = ${fittedKneeBatch(fit, shapes[0].k, shapes[0].n).toFixed(1)} for K=${shapes[0].k}, N=${shapes[0].n}`,
    );
    for (const w of fit.warnings ?? []) io.out(`batchlab: fit warning: ${w}`);
    if (pts.length >= 6) {
      const h = heldOutFitError(pts);
      io.out(`batchlab: held-out prediction error (fit on alternate M, predict the rest): median ${(h.test.median * 100).toFixed(1)} %, max ${(h.test.max * 100).toFixed(1)} %`);
    }
  }
}

/**
 * The `batchlab` command line: `batchlab bench gemm [options]`.
 *
 * @example
 * await batchlabProgram({ out: console.log, err: console.error }).parseAsync(['node', 'batchlab', 'bench', 'gemm', '--m', '1,8', '--k', '256', '--n', '256']);
 */
export function batchlabProgram(io: CliIo): Command {
  const program = new Command('batchlab').description('Measure, model and simulate LLM-serving batch efficiency').exitOverride();
  program.configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const bench = program.command('bench').description('run a benchmark on this machine').exitOverride();
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
    .option('--min-time-ms <ms>', 'timed milliseconds per point at least', '200')
    .option('--warmup <int>', 'untimed calls per point', '1')
    .option('--memory-budget-gib <gib>', 'refuse shapes whose tensors exceed this (default: half of free memory)')
    .option('--out <dir>', 'output folder (default data/measured/)')
    .option('--stem <name>', 'file name without extension (default gemm-<host>-<backend>-<date>)')
    .exitOverride()
    .action(async (o: GemmCliOptions) => benchGemmCommand(o, io));
  registerServe(program, io);
  registerLoad(program, io);
  return program;
}

/**
 * Runs the CLI on `argv` (without node and script) and returns the exit code:
 * 0 on success, 2 for a bad argument (the message names it), 1 otherwise.
 */
export async function runBatchlabCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await batchlabProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof InputError) {
      io.err(`batchlab: ${err.message}`);
      return 2;
    }
    io.err(`batchlab: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}
