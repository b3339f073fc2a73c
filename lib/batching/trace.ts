import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../util/errors.js';
import type { ServingTrace } from './types.js';

const COLUMNS = ['timestamp', 'prompt_tokens', 'output_tokens'] as const;
/** Large enough for any real replay, small enough that a runaway file is refused. */
export const MAX_TRACE_ROWS = 10_000_000;

/**
 * Parses a request trace: a CSV with the header `timestamp,prompt_tokens,output_tokens`
 * (any column order; `#` lines are comments), timestamps in seconds and non-decreasing,
 * prompt tokens ≥ 1, output tokens ≥ 1. A malformed row throws an InputError that names
 * the file line and the column.
 *
 * @example
 * const t = parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,128,16\n0.05,64,32\n');
 * t.timestamps.length // => 2
 */
export function parseServingTrace(csv: string, source = 'inline trace'): ServingTrace {
  if (typeof csv !== 'string') throw new InputError('trace', csv, 'CSV text');
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(csv, { comment: '#', info: true, skip_empty_lines: true, trim: true, relax_column_count: true }) as unknown as typeof rows;
  } catch (e) {
    const err = e as { lines?: number; message?: string };
    throw new InputError(`trace line ${err.lines ?? '?'}`, source, 'well-formed CSV', err.message);
  }
  if (rows.length === 0) throw new InputError('trace', source, `a CSV with the header ${COLUMNS.join(',')} and at least one row`, 'empty');
  const header = rows[0].record.map((h) => h.toLowerCase());
  const index = COLUMNS.map((c) => header.indexOf(c));
  const missing = COLUMNS.filter((_, i) => index[i] < 0);
  if (missing.length) {
    throw new InputError(`trace line ${rows[0].info.lines}`, rows[0].record.join(','), `a header naming ${COLUMNS.join(', ')}`, `missing ${missing.join(', ')}`);
  }
  const n = rows.length - 1;
  if (n === 0) throw new InputError('trace', source, 'a trace with at least one request row', 'header only');
  if (n > MAX_TRACE_ROWS) throw new InputError('trace', source, `at most ${MAX_TRACE_ROWS} rows`, `${n} rows`);
  const timestamps = new Float64Array(n);
  const promptTokens = new Int32Array(n);
  const outputTokens = new Int32Array(n);
  for (let r = 1; r <= n; r++) {
    const { record, info } = rows[r];
    const line = info.lines;
    if (record.length !== header.length) {
      throw new InputError(`trace line ${line}`, record.join(','), `${header.length} fields (${header.join(',')})`, `${record.length} fields`);
    }
    const ts = Number(record[index[0]]);
    const prev = r > 1 ? timestamps[r - 2] : 0;
    if (record[index[0]] === '' || !Number.isFinite(ts) || ts < 0 || (r > 1 && ts < prev)) {
      throw new InputError(`trace line ${line}: timestamp`, record[index[0]], `a finite number of seconds ≥ ${r > 1 ? prev : 0} (non-decreasing)`);
    }
    const p = Number(record[index[1]]);
    if (record[index[1]] === '' || !Number.isSafeInteger(p) || p < 1) {
      throw new InputError(`trace line ${line}: prompt_tokens`, record[index[1]], 'an integer ≥ 1');
    }
    const o = Number(record[index[2]]);
    if (record[index[2]] === '' || !Number.isSafeInteger(o) || o < 1) {
      throw new InputError(`trace line ${line}: output_tokens`, record[index[2]], 'an integer ≥ 1');
    }
    timestamps[r - 1] = ts;
    promptTokens[r - 1] = p;
    outputTokens[r - 1] = o;
  }
  return { timestamps, promptTokens, outputTokens, source };
}

/**
 * Reads and parses a trace file (see parseServingTrace).
 *
 * @example
 * const trace = loadServingTrace('data/traces/bursty-chat.csv');
 */
export function loadServingTrace(path: string): ServingTrace {
  if (typeof path !== 'string' || path === '') throw new InputError('path', path, 'a path to a CSV trace');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError('path', path, 'a readable CSV file', (e as Error).message);
  }
  return parseServingTrace(text, basename(path));
}
