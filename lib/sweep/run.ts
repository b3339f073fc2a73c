import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import stringify from 'fast-json-stable-stringify';
import writeFileAtomic from 'write-file-atomic';
import { InputError } from '../util/errors.js';
import type { Shard } from './shard.js';
import { shardRange } from './shard.js';

/**
 * A sweep: a pure function of (spec, index) over `size` addressable points. The spec
 * is plain JSON (what a scheduler's every task reads from the same file), so its
 * hash identifies the sweep across processes and machines.
 */
export interface SweepDefinition<Row> {
  kind: string;
  spec: unknown;
  size: number;
  point(index: number): Row;
}

/** What one shard writes. */
export interface SweepShardFile<Row = unknown> {
  format: 'batchlab-sweep-shard/1';
  kind: string;
  specHash: string;
  size: number;
  shard: Shard;
  start: number;
  end: number;
  rows: Row[];
}

/** The merged result of every shard: rows in index order. */
export interface SweepResult<Row = unknown> {
  format: 'batchlab-sweep/1';
  kind: string;
  specHash: string;
  size: number;
  rows: Row[];
}

/**
 * SHA-256 of the spec's canonical JSON (keys sorted), hex.
 *
 * @example
 * sweepSpecHash({ b: 1, a: 2 }) === sweepSpecHash({ a: 2, b: 1 }) // => true
 */
export function sweepSpecHash(spec: unknown): string {
  return createHash('sha256').update(stringify(spec)).digest('hex');
}

/**
 * Runs the points of one shard, in index order.
 *
 * @example
 * runSweepShard(def, { index: 1, count: 4 }).rows.length
 */
export function runSweepShard<Row>(def: SweepDefinition<Row>, shard: Shard, onPoint?: (done: number, total: number) => void): SweepShardFile<Row> {
  const { start, end } = shardRange(def.size, shard);
  const rows: Row[] = [];
  for (let i = start; i < end; i++) {
    rows.push(def.point(i));
    onPoint?.(i - start + 1, end - start);
  }
  return { format: 'batchlab-sweep-shard/1', kind: def.kind, specHash: sweepSpecHash(def.spec), size: def.size, shard, start, end, rows };
}

/**
 * Writes a shard file atomically (a temporary file renamed into place), so a killed
 * or preempted task leaves either no file or a whole one.
 *
 * @example
 * await writeSweepShard('out/shard-0003-of-0016.json', runSweepShard(def, { index: 3, count: 16 }))
 */
export async function writeSweepShard(path: string, file: SweepShardFile): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}

/**
 * The file name a shard writes under its output folder; the numbers are zero-padded
 * (at least 4 digits) so the files of one sweep sort in shard order.
 *
 * @example
 * sweepShardFileName({ index: 3, count: 16 }) // => 'shard-0003-of-0016.json'
 */
export function sweepShardFileName(shard: Shard): string {
  const w = Math.max(4, String(shard.count).length);
  return `shard-${String(shard.index).padStart(w, '0')}-of-${String(shard.count).padStart(w, '0')}.json`;
}

function readShard(path: string): SweepShardFile {
  let j: SweepShardFile;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as SweepShardFile;
  } catch (e) {
    throw new InputError(path, 'unreadable', 'a shard file written by `batchlab sweep`', (e as Error).message);
  }
  if (j?.format !== 'batchlab-sweep-shard/1' || !Array.isArray(j.rows)) throw new InputError(path, j?.format, '"batchlab-sweep-shard/1" format');
  if (j.rows.length !== j.end - j.start) throw new InputError(`${path} rows`, j.rows.length, `${j.end - j.start} rows (points ${j.start}..${j.end - 1})`);
  return j;
}

/**
 * Merges shard files into one result: every file must come from the same sweep (kind
 * and spec hash) and together they must cover every point exactly once; a gap or an
 * overlap is an InputError naming the points. The rows come out in index order, so the
 * merge of any sharding is identical to a single-process run.
 *
 * @example
 * mergeSweepShards(['out/shard-0000-of-0002.json', 'out/shard-0001-of-0002.json']).rows.length
 */
export function mergeSweepShards(paths: string[]): SweepResult {
  if (!Array.isArray(paths) || paths.length === 0) throw new InputError('shard files', paths, 'at least one shard file');
  const files = paths.map((p) => ({ p, f: readShard(p) }));
  const first = files[0].f;
  for (const { p, f } of files) {
    if (f.kind !== first.kind || f.specHash !== first.specHash || f.size !== first.size) {
      throw new InputError(`${p}`, `${f.kind} ${f.specHash.slice(0, 12)}`, `a shard of the same sweep as ${files[0].p} (${first.kind} ${first.specHash.slice(0, 12)}, ${first.size} points)`);
    }
  }
  files.sort((a, b) => a.f.start - b.f.start || a.f.end - b.f.end);
  let next = 0;
  const rows: unknown[] = [];
  for (const { p, f } of files) {
    if (f.start === f.end) continue;
    if (f.start > next) throw new InputError('shard files', `${paths.length} files`, 'shards covering every point', `points ${next}..${f.start - 1} are missing`);
    if (f.start < next) throw new InputError('shard files', p, 'shards that do not overlap', `points ${f.start}..${Math.min(next, f.end) - 1} appear twice`);
    rows.push(...f.rows);
    next = f.end;
  }
  if (next !== first.size) throw new InputError('shard files', `${paths.length} files`, 'shards covering every point', `points ${next}..${first.size - 1} are missing`);
  return { format: 'batchlab-sweep/1', kind: first.kind, specHash: first.specHash, size: first.size, rows };
}

/**
 * The canonical text of a merged result (what `batchlab merge` writes): one line of
 * JSON, so merging the same shards in any order gives the same bytes.
 *
 * @example
 * sweepResultText({ format: 'batchlab-sweep/1', kind: 'gemm', specHash: 'ab12', size: 1, rows: [{ m: 1 }] })
 * // => '{"format":"batchlab-sweep/1","kind":"gemm","specHash":"ab12","size":1,"rows":[{"m":1}]}\n'
 */
export function sweepResultText(r: SweepResult): string {
  return `${JSON.stringify(r)}\n`;
}
