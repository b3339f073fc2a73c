import { wantsJson } from './context.js';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import { mergeGemmCsvFiles, mergedGemmCsv } from '../../lib/sweep/gemm.js';
import { mergeSweepShards, sweepResultText } from '../../lib/sweep/run.js';
import { InputError } from '../../lib/util/errors.js';

function expand(inputs: string[]): string[] {
  const out: string[] = [];
  for (const p of inputs) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError('input', p, 'an existing shard file, GEMM CSV or folder of them');
    }
    if (st.isDirectory()) out.push(...readdirSync(p).filter((f) => /^shard-.*\.json$|\.csv$/.test(f)).sort().map((f) => join(p, f)));
    else out.push(p);
  }
  return out;
}

const SHARD_FORMAT = 'batchlab-sweep-shard/1';
const WHAT = `a sweep shard file written by \`batchlab sweep\` (format "${SHARD_FORMAT}") or a GEMM CSV`;

/** Refuses a file that is not a shard before merging, naming the file and what it holds instead. */
function checkShardFormat(path: string): void {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError('input', path, WHAT, `not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const format = j !== null && typeof j === 'object' && !Array.isArray(j) ? (j as { format?: unknown }).format : undefined;
  if (format !== SHARD_FORMAT) {
    const has = format === undefined ? 'it has no "format" field' : `its "format" is ${JSON.stringify(format)}`;
    throw new InputError('input', path, WHAT, has);
  }
}

async function mergeCommand(inputs: string[], o: { out?: string; json?: boolean }, io: CliIo): Promise<void> {
  const files = expand(inputs);
  const csv = files.filter((f) => f.endsWith('.csv'));
  if (csv.length > 0 && csv.length !== files.length) throw new InputError('inputs', files.length, 'all sweep shard files or all GEMM CSVs, not a mix');
  if (csv.length > 0) {
    const m = mergeGemmCsvFiles(csv);
    const text = mergedGemmCsv(m);
    if (o.out) await writeFileAtomic(o.out, text);
    if (o.json) io.out(JSON.stringify({ out: o.out ?? null, rows: m.rows.length, machines: m.machines }));
    else {
      if (!o.out) io.out(text.trimEnd());
      else io.out(`batchlab: ${m.rows.length} GEMM rows from ${m.machines.length} machine(s) -> ${o.out}`);
    }
    return;
  }
  for (const f of files) checkShardFormat(f);
  const r = mergeSweepShards(files);
  const text = sweepResultText(r);
  if (o.out) await writeFileAtomic(o.out, text);
  if (o.json) io.out(JSON.stringify({ out: o.out ?? null, kind: r.kind, specHash: r.specHash, size: r.size, shards: files.length }));
  else if (!o.out) io.out(text.trimEnd());
  else io.out(`batchlab: ${files.length} shard(s), ${r.size} points of ${r.kind} -> ${o.out}`);
}

/** `batchlab merge <shards or folder> --out merged.json`: shards into one result; GEMM CSVs into one table by machine. */
export function register(program: Command, io: CliIo): void {
  program
    .command('merge')
    .description('merge sweep shards (exactly covering every point) or GEMM CSVs from many machines')
    .argument('<inputs...>', 'shard files, GEMM CSV files, or folders holding them')
    .option('--out <file>', 'write the merged result here (atomically) instead of printing it')
    .exitOverride()
    .action(async (inputs: string[], o, cmd: Command) => mergeCommand(inputs, { ...o, json: wantsJson(cmd) }, io));
}
