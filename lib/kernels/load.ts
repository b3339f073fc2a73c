import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { InputError } from '../util/errors.js';
import { batchlabDataDir, batchlabRoot } from '../util/package-root.js';
import type { KernelOp, KernelRow } from './schema.js';
import { KERNEL_OPS, KERNEL_SCHEMA } from './schema.js';
import type { KernelTable } from './table.js';
import { kernelTableFromRows } from './table.js';

/** One table file of a kernel database. */
export interface KernelTableEntry {
  device: string;
  framework: string;
  version: string;
  op: KernelOp;
  /** Absolute path of the .csv or .csv.gz file. */
  path: string;
}

/**
 * A kernel database: the table files under one root, read and indexed on first use.
 * `table` picks the newest version of a (device, framework) unless one is named.
 */
export interface KernelDb {
  readonly root: string;
  readonly entries: readonly KernelTableEntry[];
  table(device: string, framework: string, op: KernelOp, version?: string): KernelTable | undefined;
}

// A table beyond this is not a kernel table (the largest shipped one is about 10 MB of CSV).
const MAX_TABLE_BYTES = 256 * 1024 * 1024;
/** A folder name a kernel database may hold: no path separators, no leading dot. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * A release as frameworks print theirs (the shape of PEP 440): up to four numbers, an
 * optional a/b/rc pre-release, .postN, .devN and a +local tag ('0.4.3.post2', '1.3.0rc20',
 * '0.7.4.dev181+gf35f8e22').
 */
export const KERNEL_RELEASE = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:\.?(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?(?:\+[A-Za-z0-9.]{1,40})?$/;
const PRE_RELEASE: Readonly<Record<string, number>> = { a: 1, b: 2, rc: 3 };

/**
 * A release's sort key in PEP 440's order (1.0.dev1 < 1.0a1 < 1.0b1 < 1.0rc1 < 1.0 <
 * 1.0.post1; a dev build just before what it builds; the local tag ignored), or undefined
 * for a name of another shape.
 */
function versionParts(v: string): number[] | undefined {
  const m = KERNEL_RELEASE.exec(v);
  if (!m) return undefined;
  const n = (x: string | undefined, none = 0): number => (x === undefined ? none : Number(x));
  // A dev build of a final release (no pre-release, no post) sorts before its alphas.
  const pre = m[5] !== undefined ? PRE_RELEASE[m[5]] : m[8] !== undefined && m[7] === undefined ? 0 : 4;
  return [n(m[1]), n(m[2]), n(m[3]), n(m[4]), pre, n(m[6]), n(m[7], -1), m[8] === undefined ? 1 : 0, n(m[8])];
}

/**
 * Compares two framework versions: negative when `a` is older, 0 for one release (local
 * tags aside). A name that is not a release sorts before every release, and two such
 * names as strings.
 *
 * @example
 * compareKernelVersions('1.3.0rc20', '1.3.0') < 0 // => true
 * compareKernelVersions('0.7.4.dev181+gf35f8e22', '0.7.4') < 0 // => true
 */
export function compareKernelVersions(a: string, b: string): number {
  const x = versionParts(a);
  const y = versionParts(b);
  if (x === undefined || y === undefined) return x !== undefined ? 1 : y !== undefined ? -1 : a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** Of table entries, the newest version's (of `version` when named): the one `KernelDb.table` reads. */
function newestEntry<E extends KernelTableEntry>(entries: readonly E[], device: string, framework: string, op: KernelOp, version?: string): E | undefined {
  return entries
    .filter((e) => e.device === device && e.framework === framework && e.op === op && (version === undefined || e.version === version))
    .sort((a, b) => compareKernelVersions(a.version, b.version))
    .at(-1);
}

const dirs = (p: string): string[] => readdirSync(p, { withFileTypes: true }).filter((d) => d.isDirectory() && SAFE_NAME.test(d.name)).map((d) => d.name);

/**
 * Reads one table file in batchlab's schema and checks every row: each of the op's
 * columns present, axes and numeric keys finite and > 0, `time_us` finite and > 0.
 * A bad row is an InputError naming the file and line.
 *
 * @example
 * readKernelRows('data/kernels/h200_sxm/trtllm/1.3.0rc20/gemm.csv.gz', { device: 'h200_sxm', framework: 'trtllm', version: '1.3.0rc20', op: 'gemm' }).length
 */
export function readKernelRows(path: string, meta: { device: string; framework: string; version: string; op: KernelOp }): KernelRow[] {
  if (!existsSync(path) || !statSync(path).isFile()) throw new InputError('kernel table', path, 'a readable .csv or .csv.gz file');
  if (statSync(path).size > MAX_TABLE_BYTES) throw new InputError('kernel table', path, `a file of at most ${MAX_TABLE_BYTES} bytes`);
  const raw = readFileSync(path);
  let text: string;
  try {
    text = (path.endsWith('.gz') ? gunzipSync(raw, { maxOutputLength: MAX_TABLE_BYTES }) : raw).toString('utf8');
  } catch (e) {
    // zlib stops at maxOutputLength with a Buffer error whose text names no file or limit.
    const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /larger than/.test((e as Error).message);
    throw new InputError('kernel table', path, `a gzip file of CSV text of at most ${MAX_TABLE_BYTES} bytes unpacked`, tooBig ? `it unpacks to more than ${MAX_TABLE_BYTES} bytes` : (e as Error).message);
  }
  // Record i (0: the header) as cells; a parsed CSV's records, or an unquoted file's lines split one at a time.
  let records: { length: number; at(i: number): string[] };
  if (!text.includes('"')) {
    // Unquoted numeric CSV (every shipped table): a plain split is 10× faster than the parser
    // and keeps physical line numbers; lines are split as they are read, not all at once
    // (holding every line's cells doubled the parse's memory and its garbage collection).
    const lines = text.split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const split = (l: string): string[] => {
      const cells = l.split(',');
      if (l.includes(' ') || l.includes('\t')) for (let j = 0; j < cells.length; j++) cells[j] = cells[j].trim();
      return cells;
    };
    records = { length: lines.length, at: (i) => split(lines[i]) };
  } else {
    try {
      const parsed = parse(text, { relax_column_count: true, trim: true }) as string[][];
      records = { length: parsed.length, at: (i) => parsed[i] };
    } catch (e) {
      throw new InputError('kernel table', path, 'well-formed CSV', (e as Error).message);
    }
  }
  const file = relative(batchlabRoot(), path).startsWith('..') ? path : relative(batchlabRoot(), path);
  if (records.length === 0) throw new InputError(`${file}:1`, '', `a header with columns ${[...KERNEL_SCHEMA[meta.op].keys, ...KERNEL_SCHEMA[meta.op].axes, 'time_us'].join(',')}`);
  const s = KERNEL_SCHEMA[meta.op];
  const header = records.at(0);
  const need = [...s.keys, ...s.axes, 'time_us'];
  const at: Record<string, number> = {};
  for (const c of need) {
    at[c] = header.indexOf(c);
    if (at[c] < 0) throw new InputError(`${file}:1`, header.join(','), `a header naming the ${meta.op} columns ${need.join(',')}`, `missing ${c}`);
  }
  // Optional: the framework version and the device folder each row was measured under and on
  // (see KernelRow.measuredVersion and measuredOn).
  const versionAt = header.indexOf('version');
  const onAt = header.indexOf('measured_on');
  const rows: KernelRow[] = [];
  // One row's cell of column c, named by file and line when it is missing or not a number > 0.
  const cell = (r: string[], line: number, c: string): string => {
    const v = r[at[c]];
    if (v === undefined || v === '') throw new InputError(`${file}:${line} ${c}`, v, `a value (every ${meta.op} row has ${need.join(',')})`);
    return v;
  };
  const num = (r: string[], line: number, c: string): number => {
    const v = Number(cell(r, line, c));
    if (!Number.isFinite(v) || v <= 0) throw new InputError(`${file}:${line} ${c}`, cell(r, line, c), 'a finite number > 0');
    return v;
  };
  const numericKey = s.keys.map((k) => s.numericKeys.includes(k));
  for (let i = 1; i < records.length; i++) {
    const r = records.at(i);
    const line = i + 1;
    if (r.length === 1 && r[0] === '') continue;
    // A short row names the column it lacks (cell above); a long one has a value no column holds.
    if (r.length > header.length) throw new InputError(`${file}:${line}`, r.join(','), `at most ${header.length} fields, as the header has (${header.join(',')})`, `${r.length} fields`);
    const dims: Record<string, string | number> = {};
    for (let k = 0; k < s.keys.length; k++) dims[s.keys[k]] = numericKey[k] ? num(r, line, s.keys[k]) : cell(r, line, s.keys[k]);
    for (const a of s.axes) dims[a] = num(r, line, a);
    const measured = versionAt >= 0 ? r[versionAt] : undefined;
    if (measured !== undefined && !SAFE_NAME.test(measured)) throw new InputError(`${file}:${line} version`, measured, 'a framework version, e.g. 0.5.10');
    const on = onAt >= 0 ? r[onAt] : undefined;
    if (on !== undefined && !SAFE_NAME.test(on)) throw new InputError(`${file}:${line} measured_on`, on, 'a device folder name, e.g. h100_sxm');
    rows.push({
      device: meta.device,
      framework: meta.framework,
      version: meta.version,
      op: meta.op,
      dims,
      dtype: String(dims.dtype ?? ''),
      timeUs: num(r, line, 'time_us'),
      source: { file, line },
      ...(measured && measured !== meta.version ? { measuredVersion: measured } : {}),
      ...(on && on !== meta.device ? { measuredOn: on } : {}),
    });
  }
  return rows;
}

/** Which of an aiconfigurator checkout's tables to convert (default: every device, trtllm, sglang and vllm). */
export interface AiconfiguratorOptions {
  devices?: readonly string[];
  frameworks?: readonly string[];
}

const AIC_DATA = 'aic-core/src/aiconfigurator_core/systems/data';

function isBareGit(root: string): boolean {
  return existsSync(join(root, 'HEAD')) && existsSync(join(root, 'objects'));
}

function isAiconfigurator(root: string): boolean {
  return existsSync(join(root, AIC_DATA)) || (isBareGit(root) && existsSync(join(root, 'refs')) && !existsSync(join(root, 'SOURCE.json')));
}

/** Whether a process of this id is running (signal 0 only checks; EPERM means it runs as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Converts an aiconfigurator checkout (or bare git directory) once with
 * scripts/kernel-db-from-aiconfigurator.mjs, the one home of the table mapping, into a
 * cache folder keyed by its path, its state and the selection; returns that folder.
 */
function convertAiconfigurator(root: string, opts: AiconfiguratorOptions): string {
  const names = (field: string, xs: readonly string[] | undefined): string => {
    if (xs === undefined) return 'all';
    if (!Array.isArray(xs) || xs.length === 0 || !xs.every((x) => typeof x === 'string' && SAFE_NAME.test(x))) throw new InputError(field, xs, 'a non-empty list of folder names');
    return xs.join(',');
  };
  const devices = names('devices', opts.devices);
  const frameworks = names('frameworks', opts.frameworks);
  const real = realpathSync(root);
  // The state: the data folder's mtime in a checkout, HEAD's target in a bare directory.
  const state = isBareGit(real) ? readFileSync(join(real, 'HEAD'), 'utf8') + String(statSync(join(real, 'refs')).mtimeMs) : String(statSync(join(real, AIC_DATA)).mtimeMs);
  const key = createHash('sha256').update(`${real}\0${state}\0${devices}\0${frameworks}`).digest('hex').slice(0, 16);
  const cache = join(tmpdir(), `batchlab-kernels-${key}`);
  if (existsSync(join(cache, 'SOURCE.json'))) return cache;
  // A conversion killed midway leaves its work folder: clear any whose process is gone.
  for (const name of readdirSync(tmpdir())) {
    const m = /^batchlab-kernels-[0-9a-f]{16}\.tmp-(\d+)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const work = `${cache}.tmp-${process.pid}`;
  const script = join(batchlabRoot(), 'scripts', 'kernel-db-from-aiconfigurator.mjs');
  try {
    execFileSync(process.execPath, [script, '--source', real, '--out', work, '--devices', devices, '--frameworks', frameworks], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
    rmSync(cache, { recursive: true, force: true });
    renameSync(work, cache);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim().split('\n').at(-1) ?? (e as Error).message;
    throw new InputError('kernelDb', root, 'an aiconfigurator checkout whose tables convert', err);
  }
  return cache;
}

/**
 * Opens a kernel database in batchlab's schema: `<root>/<device>/<framework>/<version>/<op>.csv[.gz]`
 * (the shipped one is data/kernels, converted from NVIDIA aiconfigurator by
 * scripts/kernel-db-from-aiconfigurator.mjs). Files are parsed on first use. A full
 * aiconfigurator checkout (or its bare git directory) is converted by that script once,
 * into a temporary cache keyed by the checkout's state, with `opts` choosing devices
 * and frameworks (default all).
 *
 * @example
 * const db = loadKernelDb();
 * db.table('h200_sxm', 'trtllm', 'gemm')?.version // => '1.3.0rc20'
 */
export function loadKernelDb(root: string = batchlabDataDir('kernels'), opts: AiconfiguratorOptions = {}): KernelDb {
  if (typeof root !== 'string' || !existsSync(root) || !statSync(root).isDirectory()) throw new InputError('kernelDb', root, 'a directory of <device>/<framework>/<version>/<op>.csv[.gz] tables, or an aiconfigurator checkout');
  if (isAiconfigurator(root)) root = convertAiconfigurator(root, opts);
  const entries: KernelTableEntry[] = [];
  for (const device of dirs(root)) {
    for (const framework of dirs(join(root, device))) {
      for (const version of dirs(join(root, device, framework))) {
        const here = join(root, device, framework, version);
        for (const f of readdirSync(here)) {
          const m = /^([a-z_]+)\.csv(\.gz)?$/.exec(f);
          if (!m || !(KERNEL_OPS as readonly string[]).includes(m[1])) continue;
          // One table per op: a .csv beside a .csv.gz would leave the one read to chance.
          const twin = entries.find((e) => e.device === device && e.framework === framework && e.version === version && e.op === m[1]);
          if (twin) throw new InputError('kernelDb', join(here, f), `one table per op in a folder (${basename(twin.path)} holds ${m[1]} too)`);
          entries.push({ device, framework, version, op: m[1] as KernelOp, path: join(here, f) });
        }
      }
    }
  }
  if (entries.length === 0) throw new InputError('kernelDb', root, 'a directory holding at least one <device>/<framework>/<version>/<op>.csv[.gz] table');
  const cache = new Map<string, KernelTable>();
  // A simulation asks for the same table at every step: its entry is resolved once (null: none).
  const resolved = new Map<string, KernelTableEntry | null>();
  return {
    root,
    entries,
    table(device, framework, op, version) {
      const want = `${device}|${framework}|${op}|${version ?? ''}`;
      let e = resolved.get(want);
      if (e === undefined) {
        e = newestEntry(entries, device, framework, op, version) ?? null;
        resolved.set(want, e);
      }
      if (e === null) return undefined;
      const key = e.path;
      let t = cache.get(key);
      if (!t) {
        const rows = readKernelRows(e.path, { device: e.device, framework: e.framework, version: e.version, op: e.op });
        t = kernelTableFromRows({ device: e.device, framework: e.framework, version: e.version, op: e.op, file: rows[0]?.source.file ?? e.path }, rows);
        cache.set(key, t);
      }
      return t;
    },
  };
}

/**
 * A kernel database held in memory: rows already measured (one round of a
 * microbenchmark, say), indexed as `loadKernelDb` indexes files; `root` names where
 * the rows came from and is each entry's path.
 *
 * @example
 * const db = kernelDbOfRows('round 1', rows);
 * db.table(rows[0].device, rows[0].framework, 'gemm')?.rows.length
 */
export function kernelDbOfRows(root: string, rows: readonly KernelRow[]): KernelDb {
  const groups = new Map<string, { entry: KernelTableEntry; rows: KernelRow[] }>();
  for (const r of rows) {
    const key = [r.device, r.framework, r.version, r.op].join('/');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { entry: { device: r.device, framework: r.framework, version: r.version, op: r.op, path: root }, rows: [] }));
    g.rows.push(r);
  }
  const tables = new Map([...groups].map(([key, g]) => [key, kernelTableFromRows({ ...g.entry, file: root }, g.rows)]));
  const entries = [...groups.values()].map((g) => g.entry);
  return {
    root,
    entries,
    table(device, framework, op, version) {
      const e = newestEntry(entries, device, framework, op, version);
      return e ? tables.get([e.device, e.framework, e.version, e.op].join('/')) : undefined;
    },
  };
}

/**
 * The newest release of a framework's tables a kernel database holds for a device folder,
 * or undefined. `KernelDb.table` reads each op at the newest release that holds it, so
 * with an op's `op` this is the release that prices it; without, the newest of any op
 * (the shipped database files every op of a framework under one release).
 *
 * @example
 * newestKernelVersion(defaultKernelDb(), 'h200_sxm', 'sglang') // => '0.5.14'
 */
export function newestKernelVersion(db: KernelDb | undefined, device: string, framework: string, op?: KernelOp): string | undefined {
  const versions = [...new Set((db?.entries ?? []).filter((e) => e.device === device && e.framework === framework && (op === undefined || e.op === op)).map((e) => e.version))];
  return versions.sort(compareKernelVersions).at(-1);
}

let shipped: KernelDb | undefined;

/**
 * The shipped kernel database (data/kernels), opened once: its files are read-only
 * package data, so every caller can share one index and its parsed tables.
 *
 * @example
 * defaultKernelDb().entries.some((e) => e.device === 'h200_sxm') // => true
 */
export function defaultKernelDb(): KernelDb {
  return (shipped ??= loadKernelDb());
}
