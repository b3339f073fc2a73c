import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { deviceInfo } from '../backend/device.js';
import { measuredDataDir } from '../util/package-root.js';
import type { Provenance } from '../util/provenance.js';
import { machineFingerprint, nativeStackVersions, thisMachineFacts } from '../util/machine.js';
import { InputError } from '../util/errors.js';
import { checkWritableDir, ensureDir, readJsonCapped, readTextCapped, writeFileSafe } from '../util/files.js';
import { GEMM_COLUMNS, GEMM_NUMERIC_COLUMNS, tensorflowSettings } from './row.js';
import type { GemmRow } from './row.js';
import { gemmBackend, gemmRows, gemmSweepPoints, sweepGemm } from './sweep.js';
import type { GemmSweepOptions } from './sweep.js';
import type { Table } from '../util/table.js';

/**
 * The folder of this machine's measurements (`measuredDataDir`: data/measured/ of a
 * checkout, BATCHLAB_MEASURED_DIR overrides it, the user's data folder for an installed package).
 *
 * @example
 * measuredDir() // => '<package>/data/measured' in a checkout, unless BATCHLAB_MEASURED_DIR is set
 */
export function measuredDir(): string {
  return measuredDataDir();
}

/** A file-name-safe version of a host or backend name. */
function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown';
}

/**
 * The file stem of a measurement: `gemm-<machine>-<backend>-<YYYY-MM-DD>[-<tag>]`, where
 * machine is the machine id (lib/util/machine.ts; a host name is accepted for files
 * named by hand).
 *
 * @example
 * gemmFileStem({ machine: 'epyc-2c-8g-3f09a1c2', backend: 'tensorflow', date: '2026-01-02' }) // => 'gemm-epyc-2c-8g-3f09a1c2-tensorflow-2026-01-02'
 */
export function gemmFileStem(p: { machine?: string; host?: string; backend: string; date: string; tag?: string }): string {
  return ['gemm', safe(p.machine ?? p.host ?? ''), safe(p.backend), p.date, ...(p.tag ? [safe(p.tag)] : [])].join('-');
}

function csvCell(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * GEMM rows as CSV text in the harness's column order.
 *
 * @example
 * gemmCsv(gemmRows(table)).split('\n')[0] // => the header: case,variant,m,k,n,…
 */
export function gemmCsv(rows: readonly GemmRow[]): string {
  const lines = [GEMM_COLUMNS.join(',')];
  for (const r of rows) lines.push(GEMM_COLUMNS.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * Parses GEMM CSV text (this harness's or the PyTorch reference's). A missing column
 * or a non-numeric value in a numeric column is an error naming the line.
 *
 * @example
 * parseGemmCsv(gemmCsv(rows)).length === rows.length // => true
 */
export function parseGemmCsv(text: string, source = 'CSV'): GemmRow[] {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, info: true }) as typeof records;
  } catch (e) {
    // csv-parse's own text ("Quote Not Closed …") names neither the file nor what was expected.
    const err = e as { lines?: number; message?: string };
    throw new InputError(`${source} line ${err.lines ?? '?'}`, source, 'well-formed CSV in the GEMM CSV format (the header `batchlab bench gemm` writes)', err.message);
  }
  return records.map(({ record, info }) => {
    const row: Record<string, unknown> = {};
    for (const c of GEMM_COLUMNS) {
      const v = record[c];
      if (v === undefined) throw new InputError(`${source} line ${info.lines} column ${c}`, v, 'present (GEMM CSV format: the header `batchlab bench gemm` writes)');
      if (GEMM_NUMERIC_COLUMNS.has(c)) {
        const num = Number(v);
        if (v === '' || !Number.isFinite(num)) throw new InputError(`${source} line ${info.lines} column ${c}`, v, 'a finite number');
        // A time, a size or a count below zero is no measurement (a resumed run would keep it).
        if (num < 0) throw new InputError(`${source} line ${info.lines} column ${c}`, v, 'a finite number ≥ 0');
        row[c] = num;
      } else row[c] = v;
    }
    return row as unknown as GemmRow;
  });
}

/** A GEMM CSV holds a row per measured point: thousands of rows, well under a megabyte; the cap counts bytes read. */
export const MAX_GEMM_CSV_BYTES = 64 * 2 ** 20;

/**
 * Reads a GEMM CSV file; a missing file is an empty list.
 *
 * @example
 * readGemmCsv('data/measured/gemm-sweep.csv')[0].median_s // => a number
 */
export function readGemmCsv(path: string): GemmRow[] {
  if (!existsSync(path)) return [];
  return parseGemmCsv(readTextCapped('path', path, { maxBytes: MAX_GEMM_CSV_BYTES, what: 'GEMM CSV file' }), path);
}

/**
 * The rows a resumed sweep keeps from `path`: every line the file ends with a newline.
 * batchlab writes the CSV whole (atomically), so a last line without its newline was cut
 * by another writer or a failing disk; it may still parse (a number cut short is a
 * number), so it is dropped, never trusted, and returned in `dropped` to be reported.
 *
 * @example
 * readGemmCsvForResume('out/gemm-box-tensorflow-2026-01-02.csv') // => { rows: [...], dropped: null }
 */
export function readGemmCsvForResume(path: string): { rows: GemmRow[]; dropped: string | null } {
  if (!existsSync(path)) return { rows: [], dropped: null };
  const text = readTextCapped('dir', path, { maxBytes: MAX_GEMM_CSV_BYTES, what: 'GEMM CSV file' });
  if (text === '' || text.endsWith('\n')) return { rows: parseGemmCsv(text, path), dropped: null };
  const cut = text.lastIndexOf('\n') + 1;
  return { rows: cut === 0 ? [] : parseGemmCsv(text.slice(0, cut), path), dropped: text.slice(cut) };
}

/** The JSON twin of a GEMM CSV: provenance, rows and, once complete, extras such as a fit. */
export interface GemmResultDoc {
  provenance: Provenance;
  complete: boolean;
  columns: readonly string[];
  rows: GemmRow[];
  [extra: string]: unknown;
}

/**
 * A result file stem: letters, digits, '.', '_' and '-', not starting with '.' or '-', so
 * that `<dir>/<stem>.csv` can never leave `dir` (no '/', '..', newline or hidden file).
 *
 * @example
 * checkStem('gemm-box-tensorflow-2026-01-02') // => 'gemm-box-tensorflow-2026-01-02'
 */
export function checkStem(stem: unknown): string {
  if (typeof stem !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(stem)) {
    throw new InputError('stem', stem, "a file name of up to 200 letters, digits, '.', '_' or '-', not starting with '.' or '-'");
  }
  return stem;
}

// writeFileSafe writes "<target>.<digits>" and renames it over the target; a process
// killed between the two leaves that temporary behind.
function removeOrphanTemps(dir: string, stem: string): void {
  if (!existsSync(dir)) return;
  const orphan = new RegExp(`^${stem.replace(/[.]/g, '\\.')}\\.(csv|json)\\.\\d+$`);
  for (const name of readdirSync(dir)) if (orphan.test(name)) unlinkSync(join(dir, name));
}

/**
 * Writes the CSV and JSON of a measurement atomically (writeFileSafe: a temporary
 * file renamed over the target), so that a crash mid-write leaves the previous
 * complete file, never a truncated one.
 *
 * @example
 * writeGemmResults({ csv: 'out.csv', json: 'out.json' }, rows, { provenance, complete: true });
 */
export function writeGemmResults(paths: { csv: string; json: string }, rows: readonly GemmRow[], doc: Omit<GemmResultDoc, 'rows' | 'columns'>): void {
  writeFileSafe('dir', paths.csv, gemmCsv(rows));
  writeFileSafe('dir', paths.json, `${JSON.stringify({ ...doc, columns: GEMM_COLUMNS, rows }, null, 1)}\n`);
}

function readJsonProvenance(path: string): Provenance | undefined {
  try {
    // The JSON twin repeats the CSV's rows with provenance: a few times the CSV's cap.
    return (readJsonCapped('dir', path, { maxBytes: 4 * MAX_GEMM_CSV_BYTES }) as { provenance?: Provenance }).provenance;
  } catch {
    return undefined; // absent or torn: the CSV is the record
  }
}

/** Options of `sweepGemmToFiles`. */
export interface GemmSweepFileOptions extends GemmSweepOptions {
  /** Output folder; default `measuredDir()`. */
  dir?: string;
  /** File stem; default `gemmFileStem` of this machine's id, the backend and today's date. */
  stem?: string;
  /** Extra fields for the JSON once the sweep is complete (e.g. `{ fit }`). */
  onComplete?: (table: Table) => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/**
 * The resumable form of `sweepGemm`, used by `batchlab bench gemm`: points already in
 * `<dir>/<stem>.csv` are kept and skipped, and the CSV and JSON are rewritten
 * atomically after every new point, so an interrupted sweep keeps its completed
 * points and the next run continues where it stopped.
 *
 * @example
 * const r = await sweepGemmToFiles({ ms: [1, 2, 4], shapes: [{ k: 64, n: 64 }], dir: '/tmp/m' });
 * r.csv // => '/tmp/m/gemm-<machine>-tensorflow-<date>.csv'
 */
export async function sweepGemmToFiles(
  opts: GemmSweepFileOptions = {},
): Promise<{ table: Table; csv: string; json: string; resumed: number; kept: number; measured: number; complete: boolean; droppedLine: string | null }> {
  const points = gemmSweepPoints(opts);
  if (opts.stem !== undefined) checkStem(opts.stem);
  // A folder that cannot be one (a file, a device on the way) is refused before anything is measured.
  if (opts.dir !== undefined) checkWritableDir('dir', opts.dir);
  const backend = await gemmBackend(opts.backend).catch((err: Error) => {
    throw new InputError('backend', opts.backend, 'a backend that loads on this machine (see listBackends())', err.message);
  });
  const info = await deviceInfo();
  const dir = opts.dir ?? measuredDir();
  const date = new Date().toISOString().slice(0, 10);
  // Driver, CUDA and cuDNN (or the CPU wheel) of the native build travel with every result.
  const versions = { ...info.versions, ...(backend.name.startsWith('tensorflow') ? nativeStackVersions() : {}), ...tensorflowSettings(backend.name) };
  const id = machineFingerprint(thisMachineFacts(), { backend: backend.name, versions });
  const stem = opts.stem ?? gemmFileStem({ machine: id.machine, backend: backend.name, date });
  const paths = { csv: join(dir, `${stem}.csv`), json: join(dir, `${stem}.json`) };
  const { rows: previous, dropped } = readGemmCsvForResume(paths.csv);
  const foreign = previous.find((r) => r.backend !== backend.name || r.host !== info.host);
  if (foreign) {
    throw new InputError('stem', stem, `a file of this host and backend (${info.host}, ${backend.name})`, `${paths.csv} holds points of ${foreign.host}, ${foreign.backend}`);
  }
  // Host names repeat across machines, so the JSON's fingerprint decides whose file it is.
  const before = previous.length ? readJsonProvenance(paths.json) : undefined;
  if (before?.fingerprint !== undefined && before.fingerprint !== id.fingerprint) {
    throw new InputError('stem', stem, `a file of this machine, backend and versions (${id.fingerprint})`, `${paths.json} was measured on ${before.fingerprint}`);
  }
  const provenance: Provenance = {
    source: 'measured', date, backend: backend.name, device: info.device, host: info.host, machine: id.machine, fingerprint: id.fingerprint,
    versions, notes: 'batchlab GEMM harness (lib/gemm)',
  };
  const rows: GemmRow[] = [...previous];
  // The folder is made when there is something to write: a refused run leaves no trace.
  let ready = false;
  const write = (list: readonly GemmRow[], doc: Omit<GemmResultDoc, 'rows' | 'columns'>): void => {
    if (!ready) {
      ensureDir('dir', dir);
      removeOrphanTemps(dir, stem);
      ready = true;
    }
    writeGemmResults(paths, list, doc);
  };
  // The CSV is the record a resume trusts; a kill between the CSV and JSON renames
  // leaves the JSON a row behind, so a resume rewrites both before measuring.
  if (previous.length || dropped !== null) write(previous, { provenance, complete: false });
  let measured = 0;
  const table = await sweepGemm({
    ...opts,
    backend: backend.name,
    done: previous,
    onPoint: async (row, progress) => {
      rows.push(row);
      measured++;
      write(rows, { provenance, complete: false });
      await opts.onPoint?.(row, progress);
    },
  });
  const have = new Set(gemmRows(table).map((r) => `${r.case}|${r.variant}|${r.m}|${r.k}|${r.n}|${r.dtype}`));
  const complete = points.every((p) => have.has(`sweep|${p.variant}|${p.m}|${p.k}|${p.n}|${p.dtype}`));
  const extra = complete && opts.onComplete ? await opts.onComplete(table) : {};
  write(gemmRows(table), { provenance, complete, ...extra });
  // Rows of the file that are points of this run count as resumed; the file's other rows (earlier runs of other points) are kept.
  const asked = new Set(points.map((p) => `sweep|${p.variant}|${p.m}|${p.k}|${p.n}|${p.dtype}`));
  const resumed = previous.filter((r) => asked.has(`${r.case}|${r.variant}|${r.m}|${r.k}|${r.n}|${r.dtype}`)).length;
  return { table, ...paths, resumed, kept: previous.length - resumed, measured, complete, droppedLine: dropped };
}

/**
 * Every GEMM row saved under a folder (default data/measured/): all `gemm-*.csv`
 * files, e.g. this machine's CLI sweeps and GPU references from
 * bench/gpu/torch_gemm_sweep.py, optionally filtered. A file that does not parse is
 * skipped and named in `skipped`, so one bad file does not hide the others.
 *
 * @example
 * const gpu = readMeasuredGemm({ where: (r) => r.backend === 'torch-cuda' }).rows;
 */
export function readMeasuredGemm(opts: { dir?: string; where?: (r: GemmRow) => boolean; machine?: string } = {}): { rows: GemmRow[]; files: string[]; skipped: string[] } {
  const dir = opts.dir ?? measuredDir();
  const out = { rows: [] as GemmRow[], files: [] as string[], skipped: [] as string[] };
  if (!existsSync(dir)) return out;
  // A machine's files carry its id in their name (gemmFileStem); rows do not.
  const prefix = opts.machine === undefined ? 'gemm-' : `gemm-${safe(opts.machine)}-`;
  for (const name of readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.csv')).sort()) {
    const path = join(dir, name);
    try {
      const rows = readGemmCsv(path).filter((r) => (opts.where ? opts.where(r) : true));
      out.files.push(path);
      out.rows.push(...rows);
    } catch (err) {
      out.skipped.push(`${path}: ${(err as Error).message}`);
    }
  }
  return out;
}
