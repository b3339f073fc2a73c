import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../util/errors.js';
import { checkInt } from '../util/validate.js';
import { MAX_REQUEST_TOKENS } from './config.js';
import type { ServingTrace } from './types.js';

const COLUMNS = ['timestamp', 'prompt_tokens', 'output_tokens'] as const;
/** Large enough for any real replay, small enough that a runaway file is refused. */
export const MAX_TRACE_ROWS = 10_000_000;
/** About 50 bytes a row at the row cap; checked before a file is read. */
export const MAX_TRACE_BYTES = 512 * 2 ** 20;

/**
 * Parses a request trace: a CSV with the header `timestamp,prompt_tokens,output_tokens`
 * (any column order; `#` lines are comments), timestamps in seconds and non-decreasing,
 * prompt and output tokens integers in [1, MAX_REQUEST_TOKENS]. A malformed row throws an
 * InputError that names the file line and the column.
 *
 * Rows are checked and stored as the parser emits them (no array of records is built),
 * so the row cap stops a runaway input at row MAX_TRACE_ROWS + 1, before its memory grows.
 *
 * @example
 * const t = parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,128,16\n0.05,64,32\n');
 * t.timestamps.length // => 2
 */
export function parseServingTrace(csv: string, source = 'inline trace', opts: { maxRows?: number } = {}): ServingTrace {
  if (typeof csv !== 'string') throw new InputError('trace', csv, 'CSV text');
  const maxRows = opts.maxRows === undefined ? MAX_TRACE_ROWS : checkInt('maxRows', opts.maxRows, { min: 1, max: MAX_TRACE_ROWS });
  let header: string[] | undefined;
  let index: number[] = [];
  let n = 0;
  let cap = 1024;
  let timestamps = new Float64Array(cap);
  let promptTokens = new Int32Array(cap);
  let outputTokens = new Int32Array(cap);
  const tokens = (line: number, col: string, raw: string): number => {
    const v = Number(raw);
    if (raw === '' || !Number.isSafeInteger(v) || v < 1 || v > MAX_REQUEST_TOKENS) {
      throw new InputError(`trace line ${line}: ${col}`, raw, `an integer in [1, ${MAX_REQUEST_TOKENS}]`);
    }
    return v;
  };
  const onRecord = (record: string[], info: { lines: number }): null => {
    const line = info.lines;
    if (!header) {
      header = record.map((h) => h.toLowerCase());
      index = COLUMNS.map((c) => header!.indexOf(c));
      const missing = COLUMNS.filter((_, i) => index[i] < 0);
      if (missing.length) throw new InputError(`trace line ${line}`, record.join(','), `a header naming ${COLUMNS.join(', ')}`, `missing ${missing.join(', ')}`);
      return null;
    }
    if (n === maxRows) throw new InputError('trace', source, `at most ${maxRows} rows`, `row ${n + 1} at line ${line}`);
    if (record.length !== header.length) {
      throw new InputError(`trace line ${line}`, record.join(','), `${header.length} fields (${header.join(',')})`, `${record.length} fields`);
    }
    const ts = Number(record[index[0]]);
    const prev = n > 0 ? timestamps[n - 1] : 0;
    if (record[index[0]] === '' || !Number.isFinite(ts) || ts < 0 || (n > 0 && ts < prev)) {
      throw new InputError(`trace line ${line}: timestamp`, record[index[0]], `a finite number of seconds ≥ ${n > 0 ? prev : 0} (non-decreasing)`);
    }
    const p = tokens(line, 'prompt_tokens', record[index[1]]);
    const o = tokens(line, 'output_tokens', record[index[2]]);
    if (n === cap) {
      cap = Math.min(cap * 2, maxRows);
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (k: number) => T): T => {
        const b = make(cap);
        b.set(a);
        return b;
      };
      timestamps = grow(timestamps, (k) => new Float64Array(k));
      promptTokens = grow(promptTokens, (k) => new Int32Array(k));
      outputTokens = grow(outputTokens, (k) => new Int32Array(k));
    }
    timestamps[n] = ts;
    promptTokens[n] = p;
    outputTokens[n] = o;
    n++;
    return null;
  };
  try {
    parse(csv, { comment: '#', info: false, skip_empty_lines: true, trim: true, relax_column_count: true, on_record: onRecord as never });
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as { lines?: number; message?: string };
    throw new InputError(`trace line ${err.lines ?? '?'}`, source, 'well-formed CSV', err.message);
  }
  if (!header) throw new InputError('trace', source, `a CSV with the header ${COLUMNS.join(',')} and at least one row`, 'empty');
  if (n === 0) throw new InputError('trace', source, 'a trace with at least one request row', 'header only');
  return { timestamps: timestamps.slice(0, n), promptTokens: promptTokens.slice(0, n), outputTokens: outputTokens.slice(0, n), source };
}

/**
 * Reads and parses a trace file (see parseServingTrace); a file over MAX_TRACE_BYTES is
 * refused before it is read.
 *
 * @example
 * const trace = loadServingTrace('data/traces/bursty-chat.csv');
 */
export function loadServingTrace(path: string): ServingTrace {
  if (typeof path !== 'string' || path === '') throw new InputError('path', path, 'a path to a CSV trace');
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_TRACE_BYTES) throw new InputError('path', path, `a trace file of at most ${MAX_TRACE_BYTES} bytes`, `${size} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('path', path, 'a readable CSV file', (e as Error).message);
  }
  return parseServingTrace(text, basename(path));
}
