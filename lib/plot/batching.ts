import { InputError } from '../util/errors.js';
import { baseLayout, PALETTE, type Figure } from './types.js';

type Rows = Array<Record<string, unknown>>;
/** An arquero table or plain row objects. */
type TableLike = { objects(): object[] } | Rows;

function rowsOf(t: TableLike, field: string): Rows {
  if (Array.isArray(t)) return t;
  if (t && typeof (t as { objects?: unknown }).objects === 'function') return (t as { objects(): Rows }).objects();
  throw new InputError(field, t, 'an arquero table or an array of row objects');
}

function numberColumn(rows: Rows, col: string, field: string): number[] {
  return rows.map((r, i) => {
    const v = r[col];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${field}[${i}].${col}`, v, 'a finite number');
    return v;
  });
}

function groups(rows: Rows, by: string | undefined): Map<string, Rows> {
  const m = new Map<string, Rows>();
  for (const r of rows) {
    const g = by ? String(r[by]) : 'all';
    if (!m.has(g)) m.set(g, []);
    m.get(g)!.push(r);
  }
  return m;
}

/**
 * Throughput against tail latency: every sweep point as a faint marker and each
 * group's frontier as a line. Latency is in seconds on a log axis, which reads as
 * well for a GPU's milliseconds as for a CPU's minutes. Pass the full sweep and its
 * frontier (servingSweep / servingFrontier).
 *
 * @example
 * show(servingFrontierChart(table, servingFrontier(table, { groupBy: 'policy' }), { groupBy: 'policy' }));
 */
export function servingFrontierChart(
  points: TableLike,
  frontier: TableLike,
  opts: { latency?: string; throughput?: string; groupBy?: string; title?: string; latencyLabel?: string; throughputLabel?: string } = {},
): Figure {
  const latency = opts.latency ?? 'e2eP99';
  const throughput = opts.throughput ?? 'throughputTokS';
  const all = rowsOf(points, 'points');
  const front = rowsOf(frontier, 'frontier');
  const data: Array<Record<string, unknown>> = [];
  const names = [...new Set([...groups(all, opts.groupBy).keys(), ...groups(front, opts.groupBy).keys()])];
  const colour = (g: string) => PALETTE[names.indexOf(g) % PALETTE.length];
  for (const [g, rows] of groups(all, opts.groupBy)) {
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `${g} (all points)`,
      showlegend: false,
      x: numberColumn(rows, latency, 'points'),
      y: numberColumn(rows, throughput, 'points'),
      text: rows.map((r) => String(r.config ?? '')),
      marker: { color: colour(g), opacity: 0.25, size: 6 },
      hovertemplate: '%{text}<extra></extra>',
    });
  }
  for (const [g, rows] of groups(front, opts.groupBy)) {
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: g,
      x: numberColumn(rows, latency, 'frontier'),
      y: numberColumn(rows, throughput, 'frontier'),
      text: rows.map((r) => String(r.config ?? '')),
      line: { color: colour(g), width: 2 },
      marker: { color: colour(g), size: 8 },
      hovertemplate: '%{text}<br>%{x:.3s} s, %{y:.4s}<extra></extra>',
    });
  }
  return {
    data,
    layout: baseLayout(
      opts.title ?? 'Throughput against tail latency',
      { title: opts.latencyLabel ?? `${latency} latency (s)`, log: true },
      { title: opts.throughputLabel ?? (throughput === 'throughputTokS' ? 'output tokens / s' : throughput) },
    ),
  };
}

/**
 * Requests caught per dispatched batch against arrival rate, one line per collection
 * window, with the λ·W reference dashed.
 *
 * @example
 * show(windowCatchChart(rows)); // rows: { ratePerSecond, windowMs, meanAdmitted }
 */
export function windowCatchChart(rows: TableLike, opts: { title?: string } = {}): Figure {
  const all = rowsOf(rows, 'rows');
  const data: Array<Record<string, unknown>> = [];
  let i = 0;
  for (const [w, rs] of groups(all, 'windowMs')) {
    const sorted = [...rs].sort((a, b) => (a.ratePerSecond as number) - (b.ratePerSecond as number));
    const rate = numberColumn(sorted, 'ratePerSecond', 'rows');
    const caught = numberColumn(sorted, 'meanAdmitted', 'rows');
    const colour = PALETTE[i++ % PALETTE.length];
    data.push({ type: 'scatter', mode: 'lines+markers', name: `W = ${w} ms (simulated)`, x: rate, y: caught, line: { color: colour } });
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `λ·W, W = ${w} ms`,
      x: rate,
      y: rate.map((r) => (r * Number(w)) / 1000),
      line: { color: colour, dash: 'dash', width: 1 },
    });
  }
  return { data, layout: baseLayout(opts.title ?? 'Requests caught per collection window', { title: 'arrival rate (requests / s)', log: true }, { title: 'requests per batch', log: true }) };
}

/**
 * How many steps ran at each batch size (sequences per step), from a ServingResult's
 * batchHistogram; several results overlay as separate bar series.
 *
 * @example
 * show(servingBatchSizeChart({ continuous: r1.batchHistogram, 'window 50 ms': r2.batchHistogram }));
 */
export function servingBatchSizeChart(histograms: Record<string, ArrayLike<number>>, opts: { title?: string } = {}): Figure {
  const entries = Object.entries(histograms ?? {});
  if (entries.length === 0) throw new InputError('histograms', histograms, 'at least one named batch histogram');
  const data = entries.map(([name, h], i) => {
    let total = 0;
    for (let b = 0; b < h.length; b++) total += h[b];
    const x: number[] = [];
    const y: number[] = [];
    for (let b = 1; b < h.length; b++) {
      if (h[b] > 0) {
        x.push(b);
        y.push(h[b] / total);
      }
    }
    return { type: 'bar', name, x, y, marker: { color: PALETTE[i % PALETTE.length] }, opacity: 0.7 };
  });
  return { data, layout: { ...baseLayout(opts.title ?? 'Batch size per engine step', { title: 'sequences in the step' }, { title: 'fraction of steps' }), barmode: 'overlay' } };
}
