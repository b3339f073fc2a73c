import { createRequire } from 'node:module';
import * as aq from 'arquero';
import { DOLLAR_HTML, displayBundle, escapeHtml } from './display.js';
import type { MimeBundle } from './display.js';
import type { DeviceInfo } from '../backend/device.js';
import type { Provenance } from '../util/provenance.js';
import { median as medianOf } from '../util/stats.js';
import { columnTable } from '../util/column-table.js';
import type { Table } from '../util/table.js';

const require = createRequire(import.meta.url);

function isTable(x: unknown): x is Table {
  return typeof (x as Table)?.toHTML === 'function' && typeof (x as Table)?.numRows === 'function';
}

/**
 * Shows an arquero table (or plain row objects) as an HTML table, numbers rounded
 * for reading; the full-precision data stays in the table.
 *
 * @example
 * showTable(aq.from([{ backend: 'wasm', available: true }]));
 */
export function showTable(data: Table | Array<Record<string, unknown>>, opts: { limit?: number; digits?: number } = {}): void {
  displayBundle(tableBundle(data, opts));
}

/**
 * The MIME bundle showTable displays: an HTML table (every header and cell escaped;
 * null, undefined and non-finite numbers shown as a dash, booleans as yes and no, dollar
 * signs kept as text in JupyterLab) and a Markdown table as plain text.
 *
 * @example
 * tableBundle([{ '<b>': 1 }])['text/html'] // => '<div class="batchlab-table"><table>…&lt;b&gt;…'
 */
export function tableBundle(data: Table | Array<Record<string, unknown>>, opts: { limit?: number; digits?: number } = {}): MimeBundle {
  const raw = isTable(data) ? columnTable(data) : aq.from(data);
  // arquero escapes cells but not column names; a header is user text too.
  const names: Record<string, string> = {};
  for (const name of raw.columnNames()) names[name] = escapeHtml(name);
  const t = raw.rename(names);
  const digits = opts.digits ?? 4;
  const format: Record<string, (v: unknown) => string> = {};
  for (const name of t.columnNames()) {
    // An absent value (a refusal that did not happen, a point no configuration reaches) reads as a dash, not as "null" or "Infinity".
    format[name] = (v: unknown) =>
      v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))
        ? '—'
        : typeof v === 'boolean'
          ? v
            ? 'yes'
            : 'no'
          : typeof v === 'number' && !Number.isInteger(v)
            ? Number(v.toPrecision(digits)).toString()
            : String(v);
  }
  // Every header and cell is escaped by now, and the markup around them holds no '$'.
  const html = t.toHTML({ limit: opts.limit ?? 50, format }).replace(/\$/g, DOLLAR_HTML);
  return { 'text/html': `<div class="batchlab-table">${html}</div>`, 'text/plain': raw.toMarkdown({ limit: opts.limit ?? 50 }) };
}

/**
 * Summary statistics of benchmark samples, one row per statistic (count, mean, std,
 * min, median, max, variance: pandas' `describe()` rows) and one column per sample,
 * from `summarizeSample` (simple-statistics). Samples may differ in length.
 *
 * @example
 * describeSamples({ 'M=1': [5.6, 5.7, 5.5] })[4] // => { stat: 'median', 'M=1': 5.6 }
 */
export function describeSamples(samples: Record<string, number[]>): Array<Record<string, string | number>> {
  // danfojs-node is loaded on demand (it pulls in tfjs through the one-engine shim, and
  // mathjs), and it is an optional peer of the published package: say how to get it.
  let loaded: unknown;
  try {
    loaded = require('danfojs-node');
  } catch (err) {
    throw new Error(`describeSamples needs danfojs-node (an optional peer dependency of batchlab): npm install danfojs-node (${(err as Error).message.split('\n')[0]})`);
  }
  const dfd = loaded as {
    DataFrame: new (data: Record<string, number[]>) => { describe(): { index: string[]; columns: string[]; values: number[][] } };
  };
  // One describe() per column: columns may differ in length, and padding them with NaN
  // would turn every statistic of the shorter ones into NaN.
  const names = Object.keys(samples);
  const described = names.map((n) => new dfd.DataFrame({ [n]: samples[n] }).describe());
  const stats = described[0]?.index ?? [];
  return stats.map((stat, i) => {
    const row: Record<string, string | number> = { stat };
    described.forEach((d, j) => (row[names[j]] = d.values[i][0]));
    return row;
  });
}

/**
 * A one-line provenance note for a chart: machine, backend and versions of a
 * measurement (DeviceInfo), or the source and date of a published figure.
 *
 * @example
 * provenanceLine({ source: 'NVIDIA H100 datasheet', date: '2023-09-01' }) // => 'Source: NVIDIA H100 datasheet (2023-09-01).'
 */
export function provenanceLine(p: DeviceInfo | Provenance): string {
  if ('cpuModel' in p) {
    const v = p.versions;
    const tf = v.tensorflow ? `, TensorFlow ${v.tensorflow}` : '';
    return `Measured on ${p.host} (${p.device}${p.gpu ? `, ${p.gpu.name}` : ''}), backend ${p.backend}, tfjs ${v['tfjs-core']}${tf}, Node ${v.node}, ${new Date().toISOString().slice(0, 10)}.`;
  }
  return `Source: ${p.source}${p.date ? ` (${p.date})` : ''}${p.device ? `, ${p.device}` : ''}${p.backend ? `, backend ${p.backend}` : ''}.`;
}

/**
 * One sentence on how far timings with these coefficients of variation (std / mean of
 * the repetitions of each point) can be trusted, quoting their median: a few percent is
 * steady; above 0.2 another process shared the cores and only the shape of a curve and
 * ratios taken within one run mean anything.
 *
 * @example
 * timingSpreadNote([0.02, 0.03, 0.01]) // => 'Median CV 0.02: steady timings; the medians can be trusted to a few percent.'
 */
export function timingSpreadNote(cvs: readonly number[]): string {
  const xs = cvs.filter((c) => Number.isFinite(c) && c >= 0).sort((a, b) => a - b);
  if (!xs.length) return 'No repeated timings: no spread to judge.';
  const median = medianOf(xs);
  const m = median.toFixed(2);
  if (median <= 0.05) return `Median CV ${m}: steady timings; the medians can be trusted to a few percent.`;
  if (median <= 0.2) return `Median CV ${m}: moderately noisy timings; a median is good to about ±${Math.round(median * 100)} % and only differences larger than that mean anything.`;
  return `Median CV ${m}: noisy timings (other processes shared the cores during the run); read the shape of the curve and ratios taken within this run, not single values, and re-run on a quiet machine (or with BATCHLAB_PROFILE=thorough) before quoting a number.`;
}
