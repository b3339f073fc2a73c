import * as aq from 'arquero';
import { showHtml } from './display.js';
import type { DeviceInfo } from '../backend/device.js';
import type { Provenance } from '../util/provenance.js';
import { summarizeSample } from '../util/stats.js';

type Table = ReturnType<typeof aq.table>;

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
  const t = isTable(data) ? data : aq.from(data);
  const digits = opts.digits ?? 4;
  const format: Record<string, (v: unknown) => string> = {};
  for (const name of t.columnNames()) {
    format[name] = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(digits)).toString() : String(v));
  }
  showHtml(`<div class="batchlab-table">${t.toHTML({ limit: opts.limit ?? 50, format })}</div>`, t.toMarkdown({ limit: opts.limit ?? 50 }));
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
  const summaries = Object.entries(samples).map(([name, values]) => [name, summarizeSample(values)] as const);
  const stats = ['count', 'mean', 'std', 'min', 'median', 'max', 'variance'] as const;
  return stats.map((stat) => {
    const row: Record<string, string | number> = { stat };
    for (const [name, s] of summaries) row[name] = s[stat];
    return row;
  });
}

/** A one-line provenance note for a chart: machine, backend and versions. */
export function provenanceLine(p: DeviceInfo | Provenance): string {
  if ('cpuModel' in p) {
    const v = p.versions;
    const tf = v.tensorflow ? `, TensorFlow ${v.tensorflow}` : '';
    return `Measured on ${p.host} (${p.device}${p.gpu ? `, ${p.gpu.name}` : ''}), backend ${p.backend}, tfjs ${v['tfjs-core']}${tf}, Node ${v.node}, ${new Date().toISOString().slice(0, 10)}.`;
  }
  return `Source: ${p.source}${p.date ? ` (${p.date})` : ''}${p.device ? `, ${p.device}` : ''}${p.backend ? `, backend ${p.backend}` : ''}.`;
}
