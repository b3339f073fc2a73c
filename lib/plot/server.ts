import { PALETTE, baseLayout, withLogTicks } from './types.js';
import type { Figure } from './types.js';
import { InputError } from '../util/errors.js';
import type { Table } from '../util/table.js';


const Y = {
  throughput: { measured: 'measuredThroughput', predicted: 'predictedThroughput', title: 'output tokens / s', scale: 1 },
  ttft: { measured: 'measuredTtftP50', predicted: 'predictedTtftP50', title: 'TTFT p50 (ms)', scale: 1e3 },
  itl: { measured: 'measuredItlP50', predicted: 'predictedItlP50', title: 'inter-token latency p50 (ms)', scale: 1e3 },
  e2e: { measured: 'measuredE2eP50', predicted: 'predictedE2eP50', title: 'end-to-end latency p50 (ms)', scale: 1e3 },
} as const;

const X = {
  windowMs: 'collection window (ms)',
  maxBatch: 'batch cap (sequences per step)',
  ratePerSecond: 'arrival rate (requests / s)',
} as const;

/**
 * Measured points (markers) and the simulator's prediction of each (dashed line) for
 * one metric against one knob, a series per model: the `points` table of
 * predictedVsMeasured, optionally filtered to one policy kind.
 *
 * @example
 * show(predictionChart(r.points, { x: 'windowMs', y: 'ttft', kind: 'window' }));
 */
export function predictionChart(points: Table, opts: { x: keyof typeof X; y: keyof typeof Y; kind?: string; title?: string }): Figure {
  if (!(opts?.x in X)) throw new InputError('x', opts?.x, `one of ${Object.keys(X).join(', ')}`);
  if (!(opts?.y in Y)) throw new InputError('y', opts?.y, `one of ${Object.keys(Y).join(', ')}`);
  const y = Y[opts.y];
  const rows = (points.objects() as Array<Record<string, unknown>>).filter((r) => opts.kind === undefined || r.kind === opts.kind);
  const models = [...new Set(rows.map((r) => String(r.model)))];
  const data: Array<Record<string, unknown>> = [];
  models.forEach((m, i) => {
    const rs = rows.filter((r) => r.model === m).sort((a, b) => (a[opts.x] as number) - (b[opts.x] as number));
    const xs = rs.map((r) => r[opts.x]);
    const color = PALETTE[i % PALETTE.length];
    data.push({ type: 'scatter', mode: 'markers', name: `${m} measured`, x: xs, y: rs.map((r) => (r[y.measured] as number) * y.scale), marker: { color, size: 10 } });
    data.push({ type: 'scatter', mode: 'lines+markers', name: `${m} predicted`, x: xs, y: rs.map((r) => (r[y.predicted] as number) * y.scale), line: { color, dash: 'dash' }, marker: { color, symbol: 'x', size: 8 } });
  });
  return withLogTicks({ data, layout: baseLayout(opts.title ?? `${y.title}: measured and predicted`, { title: X[opts.x] }, { title: y.title }) });
}

/**
 * Relative error of every prediction, (predicted − measured) / measured in percent, one
 * bar group per metric and a bar per point, with the ±10 % target band.
 *
 * @example
 * show(predictionErrorChart(r.table));
 */
export function predictionErrorChart(table: Table, opts: { metrics?: string[]; title?: string } = {}): Figure {
  const metrics = opts.metrics ?? ['TTFT p50 (s)', 'ITL p50 (s)', 'throughput (tok/s)'];
  const rows = (table.objects() as Array<Record<string, unknown>>).filter((r) => metrics.includes(String(r.metric)));
  // A series names its model, policy and point, each once ("window 0 ms" is often both).
  const nameOf = (r: Record<string, unknown>): string => [...new Set([r.model, r.policy, r.point].map(String))].join(' · ');
  const series = [...new Set(rows.map(nameOf))];
  // The bars are relative errors: a metric's unit ("TTFT p50 (s)") says nothing on this axis.
  const metricOf = (m: unknown): string => String(m).replace(/\s*\([^)]*\)$/, '');
  const data = series.map((s, i) => {
    const rs = rows.filter((r) => nameOf(r) === s);
    return { type: 'bar', name: s, x: rs.map((r) => metricOf(r.metric)), y: rs.map((r) => 100 * (r.error as number)), marker: { color: PALETTE[i % PALETTE.length] } };
  });
  const layout = baseLayout(opts.title ?? 'Prediction error per metric and point', { title: '' }, { title: 'error, (predicted − measured) / measured (%)' });
  layout.legend = { orientation: 'h', y: -0.15 };
  layout.barmode = 'group';
  layout.shapes = [10, -10].map((v) => ({ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: v, y1: v, line: { dash: 'dot', color: '#7f7f7f' } }));
  return withLogTicks({ data, layout });
}
