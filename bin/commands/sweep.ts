import { wantsJson } from './context.js';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliExit } from './io.js';
import type { CliIo } from './io.js';
import { searchSweep } from '../../lib/deployment/spec.js';
import type { SearchSpec } from '../../lib/deployment/spec.js';
import { parseShard } from '../../lib/sweep/shard.js';
import { servingSweepDefinition } from '../../lib/sweep/serving.js';
import type { ServingSweepSpec } from '../../lib/sweep/serving.js';
import type { SweepDefinition } from '../../lib/sweep/run.js';
import { removeSweepPartial, runSweepShardResumable, sweepPartialFileName, sweepShardFileName, writeSweepShard } from '../../lib/sweep/run.js';
import { checkOneOf } from '../../lib/util/validate.js';
import { checkWritableDir, ensureDir } from '../../lib/util/files.js';
import { asFlagsAsync } from './context.js';
import { readJsonSpec } from './search.js';
import { countOf, progressBar } from './inputs.js';

const KINDS = ['deployment-search', 'serving'] as const;

async function sweepCommand(o: { kind: string; spec?: string; shard: string; out: string; json?: boolean }, io: CliIo): Promise<void> {
  const kind = checkOneOf('--kind', o.kind, KINDS);
  // The output folder first: a file, a device or /proc/x is refused before the spec is read.
  checkWritableDir('--out', o.out);
  const raw = readJsonSpec('--spec', o.spec);
  const def: SweepDefinition<unknown> = kind === 'serving' ? servingSweepDefinition(raw as ServingSweepSpec) : searchSweep(raw as SearchSpec);
  const shard = parseShard(o.shard);
  // The folder is made before the sweep runs, not after it.
  ensureDir('--out', o.out);
  const bar = progressBar(io, `sweep shard ${shard.index}/${shard.count}: points`);
  const partialPath = join(o.out, sweepPartialFileName(shard));
  // A scheduler ends a task with SIGTERM (Slurm at its time limit or on preemption): it
  // stops the shard like Ctrl-C, keeping the points done, for the same command to resume.
  const stop = new AbortController();
  const onAbort = (): void => {
    io.err('batchlab: stopping after the current point');
    stop.abort();
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  // Every SIGTERM stops the shard the same way (a wrapper such as npx forwards the scheduler's, so two arrive).
  const onTerm = (): void => {
    if (!stop.signal.aborted) io.err('batchlab: SIGTERM: stopping after the current point');
    stop.abort();
  };
  process.on('SIGTERM', onTerm);
  let run: Awaited<ReturnType<typeof runSweepShardResumable>>;
  try {
    run = await runSweepShardResumable(def, shard, { partialPath, signal: stop.signal, onPoint: (done, total) => bar.update(done, total) });
  } finally {
    process.removeListener('SIGTERM', onTerm);
    io.signal?.removeEventListener('abort', onAbort);
    bar.stop();
  }
  const file = run.file;
  if (file === null) {
    const summary = { path: null, partial: partialPath, interrupted: true, done: run.done, points: run.total, resumed: run.resumed };
    io.out(o.json ? JSON.stringify(summary) : `batchlab: shard ${shard.index}/${shard.count} interrupted after ${run.done} of ${countOf(run.total, 'point')}; they are kept in ${partialPath}, and the same command continues from there`);
    throw new CliExit(130);
  }
  const path = join(o.out, sweepShardFileName(shard));
  await asFlagsAsync(() => writeSweepShard(path, file), { path: '--out' });
  removeSweepPartial(partialPath);
  if (run.resumed > 0) io.err(`batchlab: resumed ${countOf(run.resumed, 'point')} from ${partialPath}`);
  const points = file.end - file.start;
  // More shards than points leave the last ones empty; the file is still written so that merge sees every shard.
  const reason = points === 0 ? `${file.size} points over ${shard.count} shards leave shard ${shard.index} none` : null;
  const summary = { path, kind: file.kind, specHash: file.specHash, shard, start: file.start, end: file.end, size: file.size, points, reason };
  const what = points === 0 ? `holds no points (${reason})` : `(points ${file.start}..${file.end - 1} of ${file.size})`;
  io.out(o.json ? JSON.stringify(summary) : `batchlab: shard ${shard.index}/${shard.count} ${what} -> ${path}`);
}

/**
 * `batchlab sweep --kind deployment-search --spec s.json --shard i/n --out dir`: runs one
 * shard of a sweep and writes it atomically; i may come from SLURM_ARRAY_TASK_ID or
 * JOB_COMPLETION_INDEX ("--shard /n").
 */
export function register(program: Command, io: CliIo): void {
  program
    .command('sweep')
    .description('run one shard of a sweep (a pure function of spec and point index) and write it atomically')
    .option('--kind <kind>', `what to sweep: ${KINDS.join(', ')}`, 'deployment-search')
    .option('--spec <file>', 'the sweep spec (JSON)')
    .option('--shard <i/n>', 'this task\'s shard; "/n" takes i from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX', '0/1')
    .option('--out <dir>', 'folder for shard files', 'sweep-out')
    .exitOverride()
    .action(async (o, cmd: Command) => sweepCommand({ ...o, json: wantsJson(cmd) }, io));
}
