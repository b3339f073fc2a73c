import type { Dtype } from '../core/types.js';
import type { HardwareSpec } from '../hardware/spec.js';
import { hardwarePeakFlops } from '../hardware/spec.js';
import type { DecodeThroughputPoint, OpRooflineRow } from '../roofline/model.js';
import type { PublishedComparison, PublishedMethodRow } from '../roofline/published.js';
import type { StepTime, StepTimeBreakdown } from '../roofline/deployment.js';
import { InputError } from '../util/errors.js';
import type { Figure } from './types.js';
import { baseLayout, PALETTE, withLogTicks, wrapWords } from './types.js';

/** One hardware/dtype roofline with the operations placed on it. */
export interface RooflineSeries {
  label: string;
  hw: HardwareSpec;
  dtype: Dtype;
  rows: OpRooflineRow[];
}

/**
 * The classic roofline chart: attainable FLOP/s against arithmetic intensity (both
 * log), one ceiling per series, and each operation at (intensity, achieved FLOP/s).
 * Operations without FLOPs (the embedding gather) are left out.
 *
 * @example
 * show(rooflineChart([{ label: 'H100 bf16', hw, dtype: 'bf16', rows: decodeOpRoofline(model, hw, opts) }]));
 */
export function rooflineChart(series: RooflineSeries[], title = 'Roofline: operations of one step'): Figure {
  if (!Array.isArray(series) || series.length === 0) throw new InputError('series', series, 'a non-empty array of roofline series');
  const data: Array<Record<string, unknown>> = [];
  let lo = Infinity;
  let hi = 0;
  for (const s of series) {
    for (const r of s.rows) {
      if (r.flops > 0 && r.intensity > 0) {
        lo = Math.min(lo, r.intensity);
        hi = Math.max(hi, r.intensity);
      }
    }
  }
  if (!Number.isFinite(lo)) {
    lo = 1;
    hi = 1000;
  }
  // The highest ceiling or point, so that the range leaves room above it.
  let yHi = 0;
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const peak = hardwarePeakFlops(s.hw, s.dtype);
    const bw = s.hw.memoryBytesPerSecond;
    const ridge = peak / bw;
    const x0 = Math.min(lo, ridge) / 4;
    const x1 = Math.max(hi, ridge) * 4;
    yHi = Math.max(yHi, peak);
    // One legend entry per series: its points, with its ceiling in the same group (dotted).
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `${s.label} ceiling`,
      legendgroup: String(i),
      showlegend: false,
      x: [x0, ridge, x1],
      y: [x0 * bw, peak, peak],
      line: { color, dash: 'dot' },
      hovertemplate: `${s.label}: ridge ${ridge.toFixed(0)} FLOP/B<extra></extra>`,
    });
    const pts = s.rows.filter((r) => r.flops > 0);
    for (const r of pts) if (r.flopsPerSecond > 0) yHi = Math.max(yHi, r.flopsPerSecond);
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `${wrapWords(s.label, 48)} (dotted: its ceiling)`,
      legendgroup: String(i),
      x: pts.map((r) => r.intensity),
      y: pts.map((r) => r.flopsPerSecond),
      text: pts.map((r) => `${r.name}<br>${r.bound}-bound, ${(r.seconds * 1e3).toPrecision(3)} ms, critical batch ${Number.isFinite(r.criticalBatch) ? r.criticalBatch : '∞'}`),
      hovertemplate: '%{text}<br>%{x:.3g} FLOP/B, %{y:.3g} FLOP/s<extra></extra>',
      marker: { color, size: 8, symbol: pts.map((r) => (r.bound === 'compute' ? 'diamond' : 'circle')) },
    });
  });
  const fig = withLogTicks({ data, layout: { ...baseLayout(title, { title: 'arithmetic intensity (FLOP/byte)', log: true }, { title: 'FLOP/s at the lower bound', log: true }), height: 520 } });
  // A peak on a grid tick ends the range there, and its ceiling and the points on it lie on the frame: a little room above.
  const y = fig.layout.yaxis as { range?: number[] };
  if (yHi > 0 && Array.isArray(y.range) && y.range[1] - Math.log10(yHi) < 0.1) y.range = [y.range[0], Math.log10(yHi) + 0.15];
  return fig;
}

/**
 * Time lower bound of each operation of one step as horizontal bars, coloured by
 * the limit that binds it.
 *
 * @example
 * show(rooflineOpTimeChart(decodeOpRoofline(model, hw, { dtype: 'bf16', batch: 64, context: 4096 })));
 */
export function rooflineOpTimeChart(rows: OpRooflineRow[], title = 'Time per operation (lower bound)'): Figure {
  if (!Array.isArray(rows) || rows.length === 0) throw new InputError('rows', rows, 'a non-empty array of operation rows');
  const data = (['memory', 'compute'] as const).map((bound, i) => {
    const rs = rows.filter((r) => r.bound === bound);
    return {
      type: 'bar',
      orientation: 'h',
      name: `${bound}-bound`,
      y: rs.map((r) => r.name),
      x: rs.map((r) => r.seconds * 1e3),
      marker: { color: PALETTE[i] },
      hovertemplate: '%{y}: %{x:.3g} ms<extra></extra>',
    };
  });
  const layout = baseLayout(title, { title: 'milliseconds per step' }, { title: '' });
  (layout.yaxis as Record<string, unknown>).categoryorder = 'array';
  (layout.yaxis as Record<string, unknown>).categoryarray = rows.map((r) => r.name).reverse();
  layout.barmode = 'stack';
  layout.margin = { t: 50, r: 20, b: 60, l: 190 };
  return withLogTicks({ data, layout });
}

/**
 * Decode throughput (tokens/s over the batch) against batch size for several
 * model/hardware curves, log-log.
 *
 * @example
 * show(rooflineThroughputChart([{ label: 'Llama-3.1-70B on H100', points: decodeThroughputCurve(...) }]));
 */
export function rooflineThroughputChart(
  curves: Array<{ label: string; points: DecodeThroughputPoint[] }>,
  title = 'Decode throughput against batch (roofline)',
): Figure {
  if (!Array.isArray(curves) || curves.length === 0) throw new InputError('curves', curves, 'a non-empty array of throughput curves');
  const data = curves.map((c, i) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name: c.label,
    x: c.points.map((p) => p.batch),
    y: c.points.map((p) => p.tokensPerSecond),
    customdata: c.points.map((p) => p.stepSeconds * 1e3),
    hovertemplate: 'batch %{x}: %{y:.3g} tok/s, step %{customdata:.3g} ms<extra></extra>',
    line: { color: PALETTE[i % PALETTE.length] },
  }));
  return withLogTicks({ data, layout: baseLayout(title, { title: 'concurrent sequences (decode batch)', log: true }, { title: 'output tokens/s', log: true }) });
}

/** A critical batch for one (series, hardware) pair, e.g. one dtype or one model. */
export interface CriticalBatchPoint {
  series: string;
  hardware: string;
  criticalBatch: number;
}

/**
 * Critical batch per hardware as grouped bars (log axis), one bar group per
 * hardware and one colour per series. Infinite critical batches are left out.
 *
 * @example
 * show(rooflineCriticalBatchChart([{ series: 'bf16', hardware: 'H100', criticalBatch: 311 }]));
 */
export function rooflineCriticalBatchChart(points: CriticalBatchPoint[], title = 'Critical batch: where a decode step turns compute-bound'): Figure {
  if (!Array.isArray(points) || points.length === 0) throw new InputError('points', points, 'a non-empty array of critical batches');
  const names = [...new Set(points.map((p) => p.series))];
  const data = names.map((name, i) => {
    const ps = points.filter((p) => p.series === name && Number.isFinite(p.criticalBatch));
    return {
      type: 'bar',
      name,
      x: ps.map((p) => p.hardware),
      y: ps.map((p) => p.criticalBatch),
      text: ps.map((p) => String(Math.round(p.criticalBatch))),
      textposition: 'outside',
      // Upright labels on grouped bars of equal height ran together ("64006400").
      textangle: -90,
      cliponaxis: false,
      marker: { color: PALETTE[i % PALETTE.length] },
    };
  });
  const layout = baseLayout(title, { title: '' }, { title: 'tokens per step', log: true });
  layout.barmode = 'group';
  return withLogTicks({ data, layout });
}

/**
 * Published throughputs of real serving systems beside batchlab's predictions, one
 * pair of bars per case, each predicted bar labelled with its error.
 *
 * @example
 * show(publishedComparisonChart(publishedComparisons()));
 */
export function publishedComparisonChart(comparisons: readonly PublishedComparison[], title = 'Published throughput against batchlab\'s prediction'): Figure {
  if (!Array.isArray(comparisons) || comparisons.length === 0) throw new InputError('comparisons', comparisons, 'a non-empty array of published comparisons');
  // Case ids keep the axis readable; the full label and source are in the hover text.
  const x = comparisons.map((c) => c.id);
  const pct = (e: number) => `${e >= 0 ? '+' : ''}${(e * 100).toFixed(0)} %`;
  return withLogTicks({
    data: [
      { type: 'bar', name: 'published', x, y: comparisons.map((c) => c.published), marker: { color: PALETTE[0] }, hovertext: comparisons.map((c) => `${c.label}: ${c.unit}; ${c.source}`) },
      { type: 'bar', name: 'predicted', x, y: comparisons.map((c) => c.predicted), text: comparisons.map((c) => pct(c.error)), textposition: 'outside', marker: { color: PALETTE[1] } },
    ],
    layout: { ...baseLayout(title, { title: 'case' }, { title: 'tokens/s per node' }), barmode: 'group' },
  });
}

/**
 * Published cases priced three ways, one row per case: each method's prediction over the
 * published figure on a log axis (1 = exact), the ±`tolerance` band shaded, the cases
 * grouped by file with the cases the calibrated model was built beside on top and the
 * held-out ones below. A kernel-database point whose device has no table (the calibrated
 * model priced it again) and a method that cannot price a case are left out; the hover
 * text says which.
 *
 * @example
 * show(publishedMethodChart(publishedMethodRows()));
 */
export function publishedMethodChart(rows: readonly PublishedMethodRow[], title = 'Predicted over published, per case', tolerance = 0.25, framework?: string): Figure {
  if (!Array.isArray(rows) || rows.length === 0) throw new InputError('rows', rows, 'a non-empty array of published method rows');
  if (!(tolerance > 0 && tolerance < 1)) throw new InputError('tolerance', tolerance, 'a number in (0, 1)');
  // A time (ms per token, ms to first token) runs the other way from a rate: its datasheet
  // bound lies below 1, and a prediction below 1 is the optimistic one. Its row says so.
  const isTime = (r: PublishedMethodRow): boolean => /^ms\b/.test(r.unit);
  const y = rows.map((r) => (isTime(r) ? `${r.id} (a time)` : r.id));
  const ratio = (v: number | null, r: PublishedMethodRow) => (v === null ? null : v / r.published);
  const pct = (v: number | null) => (v === null ? '' : `${v >= 1 ? '+' : ''}${((v - 1) * 100).toFixed(0)} %`);
  const methods: Array<[string, (r: PublishedMethodRow) => number | null, string]> = [
    ['calibrated model', (r) => ratio(r.calibrated, r), 'circle'],
    [framework === undefined ? "kernel database (each case's framework)" : `kernel database (${framework})`, (r) => (r.kernelDbTableShare > 0 ? ratio(r.kernelDb, r) : null), 'diamond'],
    ['datasheet bound', (r) => ratio(r.spec, r), 'triangle-right'],
  ];
  const data = methods.map(([name, get, symbol], i) => ({
    type: 'scatter',
    mode: 'markers',
    name,
    y,
    x: rows.map(get),
    marker: { color: PALETTE[i], symbol, size: 9 },
    hovertext: rows.map((r) => {
      const v = get(r);
      const tables = i === 1 ? (r.kernelDbTables ?? framework) : undefined;
      if (v !== null) return `${r.label}: ${name} ${pct(v)} (${r.unit}${tables === undefined ? '' : `; tables: ${tables}`})`;
      return `${r.label}: ${name} not shown (${i === 1 && r.kernelDb !== null ? `no kernel table for ${r.hardware}` : (r.kernelDbMissing ?? r.specMissing ?? 'not priced')})`;
    }),
    hoverinfo: 'text',
  }));
  // Group boundaries: a line between files, the file's name (and role) in the right margin, clear of the points.
  const shapes: Array<Record<string, unknown>> = [
    { type: 'rect', xref: 'x', yref: 'paper', x0: 1 - tolerance, x1: 1 + tolerance, y0: 0, y1: 1, fillcolor: 'rgba(44,160,44,0.12)', line: { width: 0 }, layer: 'below' },
    { type: 'line', xref: 'x', yref: 'paper', x0: 1, x1: 1, y0: 0, y1: 1, line: { color: '#555', width: 1 } },
  ];
  const annotations: Array<Record<string, unknown>> = [];
  rows.forEach((r, i) => {
    if (i > 0 && rows[i - 1].file === r.file) return;
    if (i > 0) shapes.push({ type: 'line', xref: 'paper', yref: 'y', x0: 0, x1: 1, y0: i - 0.5, y1: i - 0.5, line: { color: '#999', width: 1, dash: 'dot' } });
    annotations.push({ xref: 'paper', yref: 'y', x: 1.01, y: i - 0.45, xanchor: 'left', yanchor: 'top', align: 'left', showarrow: false, font: { size: 10, color: '#444' }, text: `<b>${r.heldOut ? 'held out' : 'built beside'}</b> · ${r.file}` });
  });
  const times = rows.some(isTime);
  const layout = baseLayout(
    title,
    { title: `predicted / published (log; shaded: within ±${Math.round(tolerance * 100)} %)${times ? '; rows marked "a time": below 1 is faster than published, the bound lies below 1' : ''}`, log: true },
    { title: '' },
  );
  return withLogTicks({
    data,
    layout: {
      ...layout,
      yaxis: { type: 'category', autorange: 'reversed', automargin: true, tickfont: { size: 11 } },
      height: 140 + 24 * rows.length,
      shapes,
      annotations,
      legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
      margin: { t: 80, r: 290, b: 60, l: 70 },
    },
  });
}

/**
 * Where each predicted step's time goes, one stacked bar per case: GEMMs, attention,
 * auxiliary kernels, launches and the communication left exposed, as percent of the
 * step (each bar sums to 100 %: prefill steps of seconds and decode steps of
 * milliseconds side by side), the step's milliseconds in the hover text.
 *
 * @example
 * show(stepBreakdownChart(publishedComparisons().map((c) => ({ label: c.id, step: c.step }))));
 */
export function stepBreakdownChart(steps: ReadonlyArray<{ label: string; step: StepTime }>, title = 'Where the predicted step time goes'): Figure {
  if (!Array.isArray(steps) || steps.length === 0) throw new InputError('steps', steps, 'a non-empty array of { label, step }');
  const x = steps.map((s) => s.label);
  const parts: Array<[string, (b: StepTimeBreakdown) => number]> = [
    ['GEMMs', (b) => b.gemmSeconds],
    ['attention', (b) => b.attentionSeconds],
    ['auxiliary kernels', (b) => b.elementwiseSeconds],
    ['launches', (b) => b.launchSeconds],
    ['exposed communication', (b) => b.exposedCommunicationSeconds + b.pipelineSeconds],
  ];
  return withLogTicks({
    data: parts.map(([name, get], i) => ({
      type: 'bar',
      name,
      x,
      y: steps.map((s) => (100 * get(s.step.breakdown)) / s.step.intervalSeconds),
      hovertext: steps.map((s) => `${name}: ${(get(s.step.breakdown) * 1e3).toFixed(2)} ms of ${(s.step.intervalSeconds * 1e3).toFixed(2)} ms`),
      marker: { color: PALETTE[i % PALETTE.length] },
    })),
    // Case labels rotate under long names: the margin grows to hold them, and the legend stands beside the bars.
    layout: {
      ...baseLayout(title, { title: 'case' }, { title: '% of the step' }),
      xaxis: { title: { text: 'case' }, type: '-', automargin: true },
      barmode: 'stack',
      legend: { orientation: 'v', x: 1.02, y: 1, traceorder: 'reversed' },
      margin: { t: 50, r: 180, b: 60, l: 70 },
    },
  });
}
