import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../util/errors.js';
import { readTextCapped } from '../util/files.js';
import { batchlabDataDir } from '../util/package-root.js';
import { checkInt } from '../util/validate.js';
import { MAX_REQUEST_TOKENS } from './config.js';
import type { ServingTrace } from './types.js';
import type { LengthMoments } from '../roofline/published.js';
import { prefillAttentionPairs } from '../core/matmul.js';

const COLUMNS = ['timestamp', 'prompt_tokens', 'output_tokens'] as const;
/** Large enough for any real replay, small enough that a runaway file is refused. */
export const MAX_TRACE_ROWS = 10_000_000;
/** About 50 bytes a row at the row cap; counted while the file is read (not taken from `stat`, which reads 0 for a device). */
export const MAX_TRACE_BYTES = 512 * 2 ** 20;

/**
 * Parses a request trace: a CSV with the header `timestamp,prompt_tokens,output_tokens`
 * (any column order; `#` lines are comments), timestamps in seconds and non-decreasing,
 * prompt and output tokens integers in [1, MAX_REQUEST_TOKENS]. A malformed row throws an
 * InputError that names the file line and the column.
 *
 * Before parsing, the lines that can hold a row (not blank, not a `#` comment) are counted
 * in one pass over the text: more than the row cap plus the header is refused at once,
 * without parsing a row. Rows are then checked and stored as the parser emits them (no
 * array of records is built).
 *
 * @example
 * const t = parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,128,16\n0.05,64,32\n');
 * t.timestamps.length // => 2
 */
export function parseServingTrace(csv: string, source = 'inline trace', opts: { maxRows?: number } = {}): ServingTrace {
  if (typeof csv !== 'string') throw new InputError('trace', csv, 'CSV text');
  const maxRows = opts.maxRows === undefined ? MAX_TRACE_ROWS : checkInt('maxRows', opts.maxRows, { min: 1, max: MAX_TRACE_ROWS });
  const scan = prescanTrace(csv, maxRows);
  if (scan.long !== null) throw new InputError(`trace line ${scan.long.line}`, source, `a line of at most ${MAX_TRACE_LINE_CHARS} characters`, `${scan.long.chars} characters; refused before parsing`);
  if (scan.beyond !== null) throw new InputError('trace', source, `at most ${maxRows} rows`, `row ${maxRows + 1} at line ${scan.beyond}; refused before parsing`);
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

// A trace line is a timestamp, two token counts and perhaps a few more columns (a
// Mooncake trace's block hashes run to a few kilobytes). The CSV parser takes about a
// second per 3 MB of one unbroken field, so a longer line is refused before parsing.
const MAX_TRACE_LINE_CHARS = 1 << 20;

/**
 * One pass over the text without parsing: the file line of row `maxRows + 1` (the header
 * is the first line that is neither blank nor a `#` comment), null when the text holds at
 * most `maxRows` rows; and the first line longer than MAX_TRACE_LINE_CHARS, null when none
 * is. Every row csv-parse emits sits on such a line (a quoted cell spanning lines counts
 * once per line, and no valid trace cell holds a newline), so the scan never refuses a
 * trace the parser would accept.
 */
function prescanTrace(text: string, maxRows: number): { beyond: number | null; long: { line: number; chars: number } | null } {
  let rows = -1; // the header is not a row
  let line = 0;
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    line++;
    if (end - at > MAX_TRACE_LINE_CHARS) return { beyond: null, long: { line, chars: end - at } };
    let i = at;
    while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9 || text.charCodeAt(i) === 13)) i++;
    if (i < end && text.charCodeAt(i) !== 35 && ++rows > maxRows) return { beyond: line, long: null };
    at = end + 1;
  }
  return { beyond: null, long: null };
}

/**
 * Reads and parses a trace file (see parseServingTrace); a file is refused once more than
 * MAX_TRACE_BYTES have been read, or at a NUL byte (/dev/zero), so a device or FIFO
 * cannot grow memory without bound. A shipped trace is also found by its name
 * ('bursty-chat'), or by its path in the package ('data/traces/bursty-chat.csv') from any
 * working folder, as an installed package's user has it.
 *
 * @example
 * const trace = loadServingTrace('bursty-chat');
 */
export function loadServingTrace(path: string): ServingTrace {
  if (typeof path !== 'string' || path === '') throw new InputError('path', path, 'a path to a CSV trace, or the name of a shipped one (data/traces)');
  const file = shippedTracePath(path) ?? path;
  const text = readTextCapped('path', file, { maxBytes: MAX_TRACE_BYTES, what: 'CSV file' });
  return parseServingTrace(text, basename(file));
}

// A file that exists where the caller points wins; else a shipped trace by name or by its path in the package.
function shippedTracePath(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  const name = /^[a-z0-9][a-z0-9-]*$/.test(path) ? path : /^(?:\.\/)?data\/traces\/([a-z0-9][a-z0-9-]*)\.csv$/.exec(path)?.[1];
  if (name === undefined) return undefined;
  const shipped = join(batchlabDataDir('traces'), `${name}.csv`);
  return existsSync(shipped) ? shipped : undefined;
}

/**
 * The length moments of a trace's requests (what an offline published case prices for a
 * dataset of many lengths, `PublishedCase.lengths`): means over requests of the prompt P,
 * the output O, O², P·O and a whole prompt's prefill attention pairs. An empty trace is
 * an InputError.
 *
 * @example
 * traceLengthMoments(parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,100,10\n0,300,30\n')).promptTimesOutput // => 5000
 */
export function traceLengthMoments(trace: ServingTrace): LengthMoments {
  const n = trace?.promptTokens?.length;
  if (!(n >= 1) || trace.outputTokens?.length !== n) throw new InputError('trace', n, 'a trace of at least one request (parseServingTrace)');
  let prompt = 0;
  let output = 0;
  let outputSquare = 0;
  let promptTimesOutput = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    const p = trace.promptTokens[i];
    const o = trace.outputTokens[i];
    prompt += p;
    output += o;
    outputSquare += o * o;
    promptTimesOutput += p * o;
    pairs += prefillAttentionPairs(p, 0);
  }
  return { prompt: prompt / n, output: output / n, outputSquare: outputSquare / n, promptTimesOutput: promptTimesOutput / n, prefillAttentionPairs: pairs / n };
}
