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
 * A layout with batchlab's defaults: title, axis titles, optional log axes.
 *
 * @example
 * baseLayout('Latency', { title: 'batch', log: true }, { title: 'ms' }).xaxis // => { title: { text: 'batch' }, type: 'log' }
 */
export function baseLayout(
  title: string,
  x: { title: string; log?: boolean },
  y: { title: string; log?: boolean },
): Record<string, unknown> {
  return {
    title: { text: title },
    // '-' lets plotly infer the axis type: a forced 'linear' would drop category (bar) data.
    xaxis: { title: { text: x.title }, type: x.log ? 'log' : '-' },
    yaxis: { title: { text: y.title }, type: y.log ? 'log' : '-' },
    legend: { orientation: 'h', y: -0.2 },
    margin: { t: 50, r: 20, b: 60, l: 70 },
  };
}
