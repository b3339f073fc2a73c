import type { Figure } from './types.js';
import { LOG_TICK_FORMAT, PALETTE, baseLayout, withLogTicks } from './types.js';

/** One measured point of a batch sweep: batch M and median seconds (with spread). */
export interface BatchLatencyPoint {
  m: number;
  median_s: number;
  p10_s: number;
  p90_s: number;
}

/**
 * Latency (ms, left axis, with p10–p90 error bars) and tokens/s (right axis) against
 * batch size M on log axes: the essay's first claim in one picture — latency stays
 * almost flat while tokens/s grows with M, until the matmul turns compute-bound.
 *
 * @example
 * show(batchLatencyThroughputChart([{ m: 1, median_s: 5e-3, p10_s: 4.9e-3, p90_s: 5.2e-3 }]));
 */
export function batchLatencyThroughputChart(points: readonly BatchLatencyPoint[], opts: { title?: string; label?: string } = {}): Figure {
  const pts = [...points].sort((a, b) => a.m - b.m);
  const label = opts.label ? ` (${opts.label})` : '';
  const layout = baseLayout(opts.title ?? 'Latency and throughput against batch size', { title: 'batch size M (tokens per matmul)', log: true }, { title: 'latency (ms)', log: true });
  layout.margin = { t: 50, r: 80, b: 60, l: 70 };
  layout.yaxis2 = { title: { text: 'tokens/s' }, type: 'log', tickformat: LOG_TICK_FORMAT, overlaying: 'y', side: 'right' };
  return withLogTicks({
    data: [
      {
        type: 'scatter',
        mode: 'lines+markers',
        name: `latency${label}`,
        x: pts.map((p) => p.m),
        y: pts.map((p) => p.median_s * 1e3),
        error_y: {
          type: 'data',
          symmetric: false,
          array: pts.map((p) => (p.p90_s - p.median_s) * 1e3),
          arrayminus: pts.map((p) => (p.median_s - p.p10_s) * 1e3),
        },
        line: { color: PALETTE[0] },
      },
      {
        type: 'scatter',
        mode: 'lines+markers',
        name: `tokens/s${label}`,
        x: pts.map((p) => p.m),
        y: pts.map((p) => p.m / p.median_s),
        yaxis: 'y2',
        line: { color: PALETTE[1], dash: 'dot' },
      },
    ],
    layout,
  });
}
