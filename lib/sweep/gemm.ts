import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { GEMM_COLUMNS, gemmRowKey } from '../gemm/row.js';
import type { GemmRow } from '../gemm/row.js';
import { MAX_GEMM_CSV_BYTES, parseGemmCsv } from '../gemm/store.js';
import { InputError } from '../util/errors.js';
import { readTextCapped } from '../util/files.js';

/**
 * A short fingerprint of the machine a GEMM row was measured on: SHA-256 of its host,
 * device, backend and software versions (first 12 hex digits). Two hosts with the
 * same name but different devices or builds get different fingerprints.
 *
 * @example
 * gemmMachineFingerprint(row) // => 'a1b2c3d4e5f6'
 */
export function gemmMachineFingerprint(r: Pick<GemmRow, 'host' | 'device' | 'backend' | 'versions'>): string {
  return createHash('sha256').update([r.host, r.device, r.backend, r.versions].join('\n')).digest('hex').slice(0, 12);
}

/** GEMM rows from many machines, each tagged with its machine fingerprint. */
export interface MergedGemm {
  rows: Array<GemmRow & { machine: string }>;
  machines: Array<{ machine: string; host: string; device: string; backend: string; rows: number }>;
}

/**
 * Merges GEMM CSVs measured on many machines (`batchlab bench gemm` on each node of
 * a fleet) into one table keyed by machine fingerprint. A row measured twice (same
 * machine, same point, same timestamp: the same file given twice) is kept once; rows
 * come out sorted by machine, then point, then time, whatever the file order.
 *
 * @example
 * mergeGemmCsvFiles(['a/gemm-host1-tensorflow-2026-11-29.csv', 'b/gemm-host2-tensorflow-2026-11-29.csv']).machines.length // => 2
 */
export function mergeGemmCsvFiles(paths: string[]): MergedGemm {
  if (!Array.isArray(paths) || paths.length === 0) throw new InputError('GEMM CSV files', paths, 'at least one file');
  const seen = new Map<string, GemmRow & { machine: string }>();
  for (const p of paths) {
    if (!existsSync(p)) throw new InputError('GEMM CSV file', p, 'an existing file');
    const parsed = parseGemmCsv(readTextCapped('GEMM CSV file', p, { maxBytes: MAX_GEMM_CSV_BYTES, what: 'GEMM CSV file' }), p);
    // A file of no rows (any text without a data line parses so) would merge into nothing, reported as done.
    if (parsed.length === 0) throw new InputError('GEMM CSV file', p, `a GEMM harness CSV of at least one row (header ${GEMM_COLUMNS.slice(0, 4).join(',')},…; batchlab bench gemm writes them)`);
    for (const r of parsed) {
      const machine = gemmMachineFingerprint(r);
      seen.set(`${machine}|${gemmRowKey(r)}|${r.timestamp}`, { ...r, machine });
    }
  }
  const key = (r: GemmRow & { machine: string }): string => `${r.machine}|${gemmRowKey(r)}|${r.timestamp}`;
  const rows = [...seen.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const by = new Map<string, { machine: string; host: string; device: string; backend: string; rows: number }>();
  for (const r of rows) {
    const m = by.get(r.machine) ?? { machine: r.machine, host: r.host, device: r.device, backend: r.backend, rows: 0 };
    m.rows++;
    by.set(r.machine, m);
  }
  return { rows, machines: [...by.values()] };
}

function cell(v: unknown): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The merged table as CSV: a `machine` column, then the harness's columns.
 *
 * @example
 * mergedGemmCsv(mergeGemmCsvFiles(['a.csv', 'b.csv'])).split('\n')[0] // => 'machine,case,variant,m,k,n,…'
 */
export function mergedGemmCsv(m: MergedGemm): string {
  const cols = ['machine', ...GEMM_COLUMNS] as const;
  const lines = [cols.join(',')];
  for (const r of m.rows) lines.push(cols.map((c) => cell((r as unknown as Record<string, unknown>)[c])).join(','));
  return `${lines.join('\n')}\n`;
}
