/**
 * A plain plotly figure: what every chart builder in batchlab returns. Rendering it
 * (a notebook output, an HTML report) is lib/report's job, so builders stay pure and
 * testable.
 */
export interface Figure {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
}

/** The house palette, so the same series keep the same colour across charts. */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * Tick labels of a log axis written out in full ("20", "0.05", "1,000"), minor ticks
 * included: without a format plotly prints a minor tick as a bare digit ("2 3 … 9")
 * and a small value with an SI letter ("10m" for 0.01).
 */
export const LOG_TICK_FORMAT = ',~r';

/**
 * A log axis over `values` in seconds with ticks on a 1–2–5 grid (decades only when the
 * values span more than four) labelled "50 µs", "20 ms", "1 s": a latency reads in the
 * unit it would be quoted in. Values that are not finite and positive are ignored.
 *
 * @example
 * secondsLogAxis([0.012, 0.3], 'p99 latency').ticktext // => ['10 ms', '20 ms', '50 ms', '100 ms', '200 ms', '500 ms']
 */
export function secondsLogAxis(values: readonly unknown[], title: string): Record<string, unknown> {
  const xs = values.map(Number).filter((v) => Number.isFinite(v) && v > 0);
  const axis: Record<string, unknown> = { title: { text: title }, type: 'log' };
  if (!xs.length) return axis;
  const lo = Math.floor(Math.log10(Math.min(...xs)));
  const hi = Math.ceil(Math.log10(Math.max(...xs)));
  const steps = hi - lo > 4 ? [1] : [1, 2, 5];
  const tickvals: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of steps) tickvals.push(Number((m * 10 ** e).toPrecision(1)));
  const min = Math.min(...xs) / 1.0001;
  const max = Math.max(...xs) * 1.0001;
  // Keep one tick either side of the data so the ends of the axis are labelled too.
  const first = Math.max(0, tickvals.findIndex((v) => v >= min) - 1);
  const lastInside = tickvals.findLastIndex((v) => v <= max);
  const kept = tickvals.slice(first, Math.min(tickvals.length, lastInside + 2));
  return { ...axis, tickvals: kept, ticktext: kept.map(formatSeconds) };
}

/** A duration in the unit a person would quote it in: µs, ms or s, up to three significant digits. */
function formatSeconds(s: number): string {
  const [v, unit] = s < 1e-3 ? [s * 1e6, 'µs'] : s < 1 ? [s * 1e3, 'ms'] : [s, 's'];
  return `${Number(v.toPrecision(3)).toLocaleString('en-US')} ${unit}`;
}

/**
 * A layout with batchlab's defaults: title, axis titles, optional log axes (their tick
 * labels written in full, LOG_TICK_FORMAT).
 *
 * @example
 * baseLayout('Latency', { title: 'batch', log: true }, { title: 'ms' }).xaxis // => { title: { text: 'batch' }, type: 'log', tickformat: ',~r' }
 */
export function baseLayout(
  title: string,
  x: { title: string; log?: boolean },
  y: { title: string; log?: boolean },
): Record<string, unknown> {
  return {
    title: { text: title },
    // '-' lets plotly infer the axis type: a forced 'linear' would drop category (bar) data.
    xaxis: { title: { text: x.title }, type: x.log ? 'log' : '-', ...(x.log ? { tickformat: LOG_TICK_FORMAT } : {}) },
    yaxis: { title: { text: y.title }, type: y.log ? 'log' : '-', ...(y.log ? { tickformat: LOG_TICK_FORMAT } : {}) },
    legend: { orientation: 'h', y: -0.2 },
    margin: { t: 50, r: 20, b: 60, l: 70 },
  };
}
