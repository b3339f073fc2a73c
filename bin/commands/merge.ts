import { asFlags, wantsJson } from './context.js';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import { mergeGemmCsvFiles, mergedGemmCsv } from '../../lib/sweep/gemm.js';
import { mergeSweepShards, sweepResultText } from '../../lib/sweep/run.js';
import { InputError } from '../../lib/util/errors.js';
import { checkWritableFile, writeFileSafeAsync } from '../../lib/util/files.js';
import { countOf } from './inputs.js';

/** Shard files and GEMM CSVs of the inputs (folders expanded); a folder's partial shards (interrupted runs) go to `partial`. */
function expand(inputs: string[], partial: string[] = []): string[] {
  const out: string[] = [];
  for (const p of inputs) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError('input', p, 'an existing shard file, GEMM CSV or folder of them');
    }
    if (st.isDirectory()) {
      const names = readdirSync(p).sort();
      partial.push(...names.filter((f) => /^shard-.*\.partial\.json$/.test(f)).map((f) => join(p, f)));
      // A folder's GEMM CSVs are the harness's own files (gemmFileStem: gemm-*.csv): a measured
      // folder also holds attention and step CSVs of other formats, which a folder merge skips.
      const found = names.filter((f) => /^shard-.*\.json$|^gemm-.*\.csv$/.test(f) && !f.endsWith('.partial.json'));
      if (found.length === 0) throw new InputError('input', p, 'an existing shard file, GEMM CSV or folder of them', 'the folder holds no shard-*.json or gemm-*.csv file');
      out.push(...found.map((f) => join(p, f)));
    }
    else out.push(p);
  }
  return out;
}

async function mergeCommand(inputs: string[], o: { out?: string; json?: boolean }, io: CliIo): Promise<void> {
  // A device, FIFO or folder as --out is refused before any shard is read.
  if (o.out !== undefined) checkWritableFile('--out', o.out);
  const partial: string[] = [];
  const files = expand(inputs, partial);
  // An interrupted shard's points are not a shard: its run resumes from them (`batchlab sweep`, same command).
  if (partial.length > 0) io.err(`batchlab: ${countOf(partial.length, 'partial shard file')} left out (an interrupted shard; rerun its \`batchlab sweep\` command to finish it): ${partial.join(', ')}`);
  // Writing over an input would replace measured rows with the merge (and the next merge would read it back).
  if (o.out !== undefined && existsSync(o.out)) {
    const out = realpathSync(o.out);
    const same = files.find((f) => realpathSync(f) === out);
    if (same !== undefined) throw new InputError('--out', o.out, 'a file that is not one of the inputs', `it is the input ${same}`);
  }
  const csv = files.filter((f) => f.endsWith('.csv'));
  if (csv.length > 0 && csv.length !== files.length) throw new InputError('inputs', files.length, 'all sweep shard files or all GEMM CSVs, not a mix');
  if (csv.length > 0) {
    const m = asFlags(() => mergeGemmCsvFiles(csv), { 'GEMM CSV file': 'input' });
    const text = mergedGemmCsv(m);
    if (o.out) await writeFileSafeAsync('--out', o.out, text);
    if (o.json) io.out(JSON.stringify({ out: o.out ?? null, rows: m.rows.length, machines: m.machines }));
    else io.out(`batchlab: ${countOf(m.rows.length, 'GEMM row')} from ${countOf(m.machines.length, 'machine')} in ${countOf(csv.length, 'file')} ${o.out ? `-> ${o.out}` : '(not written: give --out FILE to write the merged CSV)'}`);
    return;
  }
  const r = asFlags(() => mergeSweepShards(files), { 'shard file': 'input', 'GEMM CSV file': 'input' });
  const text = sweepResultText(r);
  if (o.out) await writeFileSafeAsync('--out', o.out, text);
  if (o.json) io.out(JSON.stringify({ out: o.out ?? null, kind: r.kind, specHash: r.specHash, size: r.size, shards: files.length }));
  else {
    io.out(`batchlab: ${countOf(files.length, 'shard')} merged: ${countOf(r.size, 'row')} of ${r.kind}, spec hash ${r.specHash} ${o.out ? `-> ${o.out}` : '(not written: give --out FILE to write the merged result)'}`);
  }
}

/** `batchlab merge <shards or folder> --out merged.json`: shards into one result; GEMM CSVs into one table by machine. */
export function register(program: Command, io: CliIo): void {
  program
    .command('merge')
    .description('merge sweep shards (exactly covering every point) or GEMM CSVs from many machines')
    .argument('<inputs...>', 'shard files, GEMM CSV files, or folders holding them')
    .option('--out <file>', 'write the merged result here (atomically); without it only a summary is printed')
    .exitOverride()
    .action(async (inputs: string[], o, cmd: Command) => mergeCommand(inputs, { ...o, json: wantsJson(cmd) }, io));
}
