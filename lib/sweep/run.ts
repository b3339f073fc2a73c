import { countOf } from '../util/words.js';
import { createHash } from 'node:crypto';
import stringify from 'fast-json-stable-stringify';
import { InputError } from '../util/errors.js';
import { existsSync, rmSync } from 'node:fs';
import { yieldToEventLoop } from '../util/event-loop.js';
import { readTextCapped, writeFileSafeAsync } from '../util/files.js';
import { checkInt } from '../util/validate.js';
import type { Shard } from './shard.js';
import { shardRange } from './shard.js';

/** The shard format this version writes and reads: `/2` added `contentHash`. */
export const SWEEP_SHARD_FORMAT = 'batchlab-sweep-shard/2' as const;
/** A shard file larger than this is refused while it is read (the byte count, not `stat`, decides). */
export const MAX_SHARD_BYTES = 256 * 2 ** 20;

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
  /** What each row field is, with its unit, where the names do not say it: carried into every shard and the merge. */
  columns?: Record<string, string>;
}

/** What one shard writes. */
export interface SweepShardFile<Row = unknown> {
  format: typeof SWEEP_SHARD_FORMAT;
  kind: string;
  specHash: string;
  size: number;
  shard: Shard;
  start: number;
  end: number;
  rows: Row[];
  /** The definition's `columns`, where it has them. */
  columns?: Record<string, string>;
  /** `sweepShardContentHash` of every other field: merge recomputes it, so a changed byte anywhere is refused. */
  contentHash: string;
}

/** The merged result of every shard: rows in index order. */
export interface SweepResult<Row = unknown> {
  format: 'batchlab-sweep/1';
  kind: string;
  specHash: string;
  size: number;
  rows: Row[];
  /** What each row field is, with its unit (the shards' `columns`), where the sweep states it. */
  columns?: Record<string, string>;
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

/** A shard's file: its header, its rows (every point of its range, in order) and their content hash. */
function shardFileOf<Row>(def: SweepDefinition<Row>, shard: Shard, rows: Row[]): SweepShardFile<Row> {
  const { start, end } = shardRange(def.size, shard);
  const body = { format: SWEEP_SHARD_FORMAT, kind: def.kind, specHash: sweepSpecHash(def.spec), size: def.size, shard, start, end, rows, ...(def.columns ? { columns: def.columns } : {}) };
  return { ...body, contentHash: sweepShardContentHash(body) };
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
  return shardFileOf(def, shard, rows);
}

/** The format of the rows an interrupted shard completed, kept to be resumed. */
export const SWEEP_PARTIAL_FORMAT = 'batchlab-sweep-partial/1' as const;
/** How often, at most, a running shard rewrites its partial file (besides when it is interrupted). */
export const SWEEP_PARTIAL_EVERY_MS = 30_000;

/** What `runSweepShardResumable` returns: the whole shard, or where an interrupted one stopped. */
export interface SweepShardRun<Row> {
  /** The shard, once every point is done; null when interrupted. */
  file: SweepShardFile<Row> | null;
  /** Points done (resumed ones included) and the shard's points. */
  done: number;
  total: number;
  /** Points read back from an earlier interrupted run. */
  resumed: number;
}

/**
 * The partial file name beside a shard's: `shard-0003-of-0016.partial.json`.
 *
 * @example
 * sweepPartialFileName({ index: 3, count: 16 }) // => 'shard-0003-of-0016.partial.json'
 */
export function sweepPartialFileName(shard: Shard): string {
  return sweepShardFileName(shard).replace(/\.json$/, '.partial.json');
}

function partialRowsHash(rows: unknown[]): string {
  return createHash('sha256').update(stringify(rows)).digest('hex');
}

function readSweepPartial(path: string, want: { kind: string; specHash: string; size: number; shard: Shard; start: number; end: number }): unknown[] {
  const field = '--out';
  const what = `a partial shard file of this sweep and shard (format "${SWEEP_PARTIAL_FORMAT}", kind ${want.kind}, spec hash ${want.specHash.slice(0, 12)}, shard ${want.shard.index}/${want.shard.count}); delete it to start the shard afresh`;
  const text = readTextCapped(field, path, { maxBytes: MAX_SHARD_BYTES, what: 'partial shard file' });
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(field, path, what, `not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const shard = (j?.shard ?? {}) as Partial<Shard>;
  const same = j !== null && typeof j === 'object' && j.format === SWEEP_PARTIAL_FORMAT && j.kind === want.kind && j.specHash === want.specHash && j.size === want.size && shard.index === want.shard.index && shard.count === want.shard.count && j.start === want.start;
  if (!same) throw new InputError(field, path, what, j?.specHash !== undefined && j.specHash !== want.specHash ? `it holds points of spec hash ${String(j.specHash).slice(0, 12)}` : 'its header differs');
  if (!Array.isArray(j.rows) || j.rows.length > want.end - want.start) throw new InputError(field, path, what, `its rows are not a list of at most ${want.end - want.start}`);
  // The rows go into a shard whose content hash merge trusts: a changed partial must not pass into it.
  if (j.rowsHash !== partialRowsHash(j.rows)) throw new InputError(field, path, what, 'its rows do not match its rowsHash: the file changed after the run wrote it');
  return j.rows;
}

/**
 * Runs one shard's points in index order, yielding to the event loop between points so
 * that `signal` (Ctrl-C) stops it after the point in progress. The points done so far are
 * kept in `partialPath` when it stops, and at most every SWEEP_PARTIAL_EVERY_MS while it
 * runs; a later run with the same spec and shard resumes from that file (a file of another
 * spec or shard is an InputError naming it) and deletes it once the shard is whole. The
 * rows are those of `runSweepShard`: points are pure functions of (spec, index).
 *
 * @example
 * const r = await runSweepShardResumable(def, { index: 0, count: 4 }, { partialPath: 'out/shard-0000-of-0004.partial.json', signal });
 * r.file === null // => true when interrupted; r.done points are in the partial file
 */
export async function runSweepShardResumable<Row>(
  def: SweepDefinition<Row>,
  shard: Shard,
  opts: { partialPath: string; signal?: AbortSignal; onPoint?: (done: number, total: number) => void; now?: () => number },
): Promise<SweepShardRun<Row>> {
  const { start, end } = shardRange(def.size, shard);
  const head = { kind: def.kind, specHash: sweepSpecHash(def.spec), size: def.size, shard, start, end };
  const rows = (existsSync(opts.partialPath) ? readSweepPartial(opts.partialPath, head) : []) as Row[];
  const resumed = rows.length;
  const now = opts.now ?? Date.now;
  const savePartial = (): Promise<void> => writeFileSafeAsync('--out', opts.partialPath, `${JSON.stringify({ format: SWEEP_PARTIAL_FORMAT, ...head, rows, rowsHash: partialRowsHash(rows) })}\n`);
  let saved = now();
  for (let i = start + rows.length; i < end; i++) {
    await yieldToEventLoop();
    if (opts.signal?.aborted) {
      await savePartial();
      return { file: null, done: rows.length, total: end - start, resumed };
    }
    rows.push(def.point(i));
    opts.onPoint?.(rows.length, end - start);
    if (now() - saved >= SWEEP_PARTIAL_EVERY_MS && i + 1 < end) {
      await savePartial();
      saved = now();
    }
  }
  return { file: shardFileOf(def, shard, rows), done: rows.length, total: end - start, resumed };
}

/** Deletes a shard's partial file once the whole shard is written (nothing when there is none). */
export function removeSweepPartial(path: string): void {
  rmSync(path, { force: true });
}

/**
 * SHA-256 (hex) of a shard's canonical JSON without its `contentHash`: kind, spec hash,
 * size, shard, range and rows. It finds corruption and hand edits (a flipped byte, a row
 * nulled or reordered); it is a checksum, not a signature: whoever edits the rows can
 * recompute it.
 *
 * @example
 * const f = runSweepShard(def, { index: 0, count: 1 });
 * sweepShardContentHash(f) === f.contentHash // => true
 */
export function sweepShardContentHash(file: Omit<SweepShardFile, 'contentHash'> & { contentHash?: unknown }): string {
  const { contentHash: _ignored, ...body } = file;
  return createHash('sha256').update(stringify(body)).digest('hex');
}

/**
 * Writes a shard file atomically (a temporary file renamed into place), so a killed
 * or preempted task leaves either no file or a whole one.
 *
 * @example
 * await writeSweepShard('out/shard-0003-of-0016.json', runSweepShard(def, { index: 3, count: 16 }))
 */
export async function writeSweepShard(path: string, file: SweepShardFile): Promise<void> {
  await writeFileSafeAsync('path', path, `${JSON.stringify(file)}\n`);
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

const SHARD_KIND = `sweep shard file written by \`batchlab sweep\` (format "${SWEEP_SHARD_FORMAT}")`;
const SHARD_WHAT = `a ${SHARD_KIND}`;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Reads and checks one shard file: its format, every header field, that its range is the
 * one its shard owns, its row count and its content hash. A shard of the earlier format
 * (`/1`, no hash) is refused with the advice to re-run it: its rows cannot be checked.
 *
 * @example
 * readSweepShard('out/shard-0000-of-0002.json').rows.length
 */
export function readSweepShard(path: string): SweepShardFile {
  const field = 'shard file';
  const text = readTextCapped(field, path, { maxBytes: MAX_SHARD_BYTES, what: SHARD_KIND });
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new InputError(field, path, SHARD_WHAT, `not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new InputError(field, path, SHARD_WHAT, `it holds ${Array.isArray(j) ? 'a JSON array' : `JSON ${j === null ? 'null' : typeof j}`}`);
  const f = j as Record<string, unknown>;
  if (f.format === 'batchlab-sweep-shard/1') {
    throw new InputError(field, path, SHARD_WHAT, 'it was written in format "batchlab-sweep-shard/1", which has no content hash to check its rows against; re-run `batchlab sweep` for this shard');
  }
  if (f.format !== SWEEP_SHARD_FORMAT) throw new InputError(field, path, SHARD_WHAT, f.format === undefined ? 'it has no "format" field' : `its "format" is ${JSON.stringify(f.format).slice(0, 60)}`);
  const bad = (key: string, want: string): never => {
    throw new InputError(`${field} ${path}: ${key}`, f[key] as unknown, want);
  };
  if (typeof f.kind !== 'string' || f.kind === '') bad('kind', 'a non-empty string');
  if (typeof f.specHash !== 'string' || !HEX64.test(f.specHash)) bad('specHash', 'a SHA-256 hex string');
  if (typeof f.contentHash !== 'string' || !HEX64.test(f.contentHash)) bad('contentHash', 'a SHA-256 hex string');
  const size = checkInt(`${field} ${path}: size`, f.size, { min: 0 });
  const shard = f.shard as { index?: unknown; count?: unknown } | null;
  if (shard === null || typeof shard !== 'object') bad('shard', 'an object { index, count }');
  const count = checkInt(`${field} ${path}: shard.count`, shard!.count, { min: 1, max: 1_000_000 });
  const index = checkInt(`${field} ${path}: shard.index`, shard!.index, { min: 0, max: count - 1 });
  const own = shardRange(size, { index, count });
  if (f.start !== own.start || f.end !== own.end) bad('start', `the range shard ${index}/${count} of ${size} points owns: ${own.start}..${own.end} (end exclusive), with "end" ${own.end}`);
  if (!Array.isArray(f.rows) || f.rows.length !== own.end - own.start) {
    throw new InputError(`${field} ${path}: rows`, Array.isArray(f.rows) ? f.rows.length : f.rows, `an array of ${own.end - own.start} rows (points ${own.start}..${own.end - 1})`);
  }
  const file = f as unknown as SweepShardFile;
  const hash = sweepShardContentHash(file);
  if (hash !== file.contentHash) {
    throw new InputError(`${field} ${path}`, `contentHash ${file.contentHash.slice(0, 12)}`, 'a shard whose content matches its contentHash', `its content hashes to ${hash.slice(0, 12)}: the file changed after \`batchlab sweep\` wrote it; re-run that shard`);
  }
  return file;
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
  const files = paths.map((p) => ({ p, f: readSweepShard(p) }));
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
    if (f.start > next) throw new InputError('shard files', countOf(paths.length, 'file'), 'shards covering every point', `points ${next}..${f.start - 1} are missing`);
    if (f.start < next) throw new InputError('shard files', p, 'shards that do not overlap', `points ${f.start}..${Math.min(next, f.end) - 1} appear twice`);
    rows.push(...f.rows);
    next = f.end;
  }
  if (next !== first.size) throw new InputError('shard files', countOf(paths.length, 'file'), 'shards covering every point', `points ${next}..${first.size - 1} are missing`);
  // Shards of one sweep written by different versions may describe their columns differently: refused, as any mismatch.
  const described = files.filter(({ f }) => f.columns !== undefined);
  const columns = described[0]?.f.columns;
  const other = described.find(({ f }) => stringify(f.columns) !== stringify(columns));
  if (other) throw new InputError(`${other.p}`, 'its columns', `the columns of ${described[0].p} (shards of one sweep describe their rows alike; re-run the older shards)`);
  return { format: 'batchlab-sweep/1', kind: first.kind, specHash: first.specHash, size: first.size, rows, ...(columns ? { columns } : {}) };
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
