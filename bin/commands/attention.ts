import { Command } from 'commander';
import { MEASURED_STRATEGIES, compareAttentionStrategies, measureDecodeAttention, saveAttentionRows } from '../../lib/attention/measure.js';
import { progressBar } from './inputs.js';
import { lengthCases } from '../../lib/attention/strategies.js';
import { selectBackend, BACKEND_NAMES } from '../../lib/backend/registry.js';
import { loadServingTrace } from '../../lib/batching/trace.js';
import { measuredDir } from '../../lib/gemm/store.js';
import { InputError } from '../../lib/util/errors.js';
import { checkWritableDir, ensureDir } from '../../lib/util/files.js';
import { asFlags, asFlagsAsync, decimalInRange, emit, intArg, ioOf } from './context.js';

interface AttentionCliOptions {
  backend: string;
  heads: string;
  kvHeads: string;
  headDim: string;
  batches: string;
  mean: string;
  spreads: string;
  trace?: string;
  traceScale: string;
  rounds: string;
  minTimeMs: string;
  seed: string;
  out?: string;
  tag?: string;
}

function list(flag: string, raw: string, parse: (f: string, p: string) => number): number[] {
  if (raw.trim() === '') throw new InputError(flag, raw, 'a comma-separated list of numbers');
  return raw.split(',').map((p, i) => parse(`${flag}[${i}]`, p.trim()));
}

/**
 * `batchlab bench attention`: measures batched decode attention (per-sequence loop,
 * exact-shape groups, padding with a mask, length buckets) on this machine and writes
 * `attention-<host>-<backend>-<date>[-<tag>].csv` and `.json` with provenance.
 *
 * @example
 * // batchlab bench attention --batches 8,32 --spreads 0,0.5,0.9 --trace data/traces/bursty-chat.csv --tag mine
 */
export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('run a benchmark on this machine');
  bench
    .command('attention')
    .description('measure batched decode attention by batching strategy; writes CSV and JSON under data/measured/')
    .option('--backend <name>', `tfjs backend: auto, ${BACKEND_NAMES.join(', ')}`, 'auto')
    .option('--heads <int>', 'query heads', '8')
    .option('--kv-heads <int>', 'key/value heads', '2')
    .option('--head-dim <int>', 'head width', '128')
    .option('--batches <list>', 'sequences per step', '8,32')
    .option('--mean <int>', 'mean context length of the spread cases', '512')
    .option('--spreads <list>', 'uniform spreads ±s around the mean (0 = equal lengths)', '0,0.5,0.9')
    .option('--trace <csv>', 'also draw contexts from this request trace (timestamp,prompt_tokens,output_tokens)')
    .option('--trace-scale <x>', 'scale trace contexts by this factor', '0.5')
    .option('--rounds <int>', 'rounds over the strategies, order rotated each round', '5')
    .option('--min-time-ms <ms>', 'timed milliseconds per strategy and round', '20')
    .option('--seed <int>', 'seed of the lengths and tensors', '1')
    .option('--out <dir>', 'output folder (default data/measured/ of a checkout; ~/.local/share/batchlab/measured for an installed package; BATCHLAB_MEASURED_DIR overrides both)')
    .option('--tag <name>', 'file name suffix')
    .exitOverride()
    .action(async (o: AttentionCliOptions, cmd: Command) => {
      // The output folder first (a file, a device, /proc/x): refused before the trace is read or the backend loads.
      checkWritableDir('--out', o.out ?? measuredDir());
      if (o.backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(o.backend)) throw new InputError('--backend', o.backend, `one of auto, ${BACKEND_NAMES.join(', ')}`);
      // Strict decimal integers: Number('0x10') would read a typo as 16.
      const int = (f: string, raw: string): number => intArg(f, raw, 1, 1 << 20);
      // The scale applies to a trace's contexts only: without one it would be ignored.
      if (!o.trace && cmd.getOptionValueSource('traceScale') === 'cli') throw new InputError('--trace-scale', o.traceScale, 'given with --trace (it scales the trace\'s contexts)');
      const trace = o.trace ? asFlags(() => loadServingTrace(o.trace!), { path: '--trace' }) : undefined;
      const seed = int('--seed', o.seed);
      const cases = lengthCases({
        batches: list('--batches', o.batches, (f, p) => int(f, p)),
        mean: int('--mean', o.mean),
        spreads: list('--spreads', o.spreads, (f, p) => decimalInRange(f, p, { min: 0, max: 1 })),
        mix: trace ? { promptTokens: trace.promptTokens, outputTokens: trace.outputTokens, scale: decimalInRange('--trace-scale', o.traceScale, { min: 0, exclusiveMin: true, max: 1 }) } : undefined,
        seed,
      });
      const heads = intArg('--heads', o.heads, 1, 1024);
      const shape = { heads, kvHeads: intArg('--kv-heads', o.kvHeads, 1, heads), headDim: intArg('--head-dim', o.headDim, 1, 4096) };
      if (heads % shape.kvHeads !== 0) throw new InputError('--kv-heads', shape.kvHeads, `a divisor of --heads (${heads})`);
      const rounds = intArg('--rounds', o.rounds, 1, 1000);
      const minTimeMs = decimalInRange('--min-time-ms', o.minTimeMs, { min: 0, max: 600_000 });
      ensureDir('--out', o.out ?? measuredDir());
      await selectBackend(o.backend as (typeof BACKEND_NAMES)[number] | 'auto', { log: () => {} });
      // The cache-size cap depends on every length at once: it names the flags that set them.
      const bar = progressBar(ioOf(cmd), 'bench attention: points');
      let done = 0;
      const onRow = (): void => bar.update(++done, cases.length * MEASURED_STRATEGIES.length);
      const rows = await asFlagsAsync(() => measureDecodeAttention({ ...shape, cases, rounds, timing: { warmup: 1, minReps: 2, minTimeMs }, seed, onRow }), { lengths: '--batches/--mean/--kv-heads/--head-dim' }).finally(() => bar.stop());
      const paths = asFlags(() => saveAttentionRows(rows, { dir: o.out, tag: o.tag }), { dir: '--out' });
      const comparisons = compareAttentionStrategies(rows);
      emit(cmd, { csv: paths.csv, json: paths.json, comparisons }, () => [
        ...comparisons.map((c) => {
          const v = Object.entries(c.vsPadded).map(([s, x]) => `${s} ${x!.toFixed(2)}x`).join(', ');
          return `B=${c.batch} ${c.spread} (${c.distinctLengths} lengths, padding ${c.paddedOverhead.toFixed(2)}x tokens): ${v} of padding`;
        }),
        `wrote ${paths.csv} and ${paths.json}`,
      ]);
    });
}
