import { InputError } from '../util/errors.js';
import { baseLayout, LOG_TICK_FORMAT, PALETTE, secondsLogAxis, type Figure, withLogTicks, wrapWords } from './types.js';
import { servingLoadPercent as loadPercent, servingMetricLabel as metricLabel } from '../batching/describe.js';

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
 * Asymmetric error bars from `<col>P10` and `<col>P90` (servingSweepSpread) when every
 * row has both, else undefined: the chart of a single run has no bars.
 */
function spreadBars(rows: Rows, col: string, mid: number[], color: string): { error_y: Record<string, unknown>; customdata: number[][] } | undefined {
  const lo = rows.map((r) => r[`${col}P10`]);
  const hi = rows.map((r) => r[`${col}P90`]);
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!lo.every(finite) || !hi.every(finite)) return undefined;
  return {
    error_y: { type: 'data', symmetric: false, array: hi.map((h, i) => Math.max(0, h - mid[i])), arrayminus: lo.map((l, i) => Math.max(0, mid[i] - l)), visible: true, color, thickness: 1.5, width: 4 },
    customdata: lo.map((l, i) => [l, hi[i]]),
  };
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
  // The benchmark tables' latency columns are in milliseconds (…Ms): the axis is in seconds, so they are scaled.
  const toSeconds = /Ms$/.test(latency) ? 1e-3 : 1;
  const latencies = (rows: Rows, what: string): number[] => numberColumn(rows, latency, what).map((v) => v * toSeconds);
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
      x: latencies(rows, 'points'),
      y: numberColumn(rows, throughput, 'points'),
      text: rows.map((r) => String(r.config ?? '')),
      marker: { color: colour(g), opacity: 0.25, size: 6 },
      hovertemplate: '%{text}<extra></extra>',
    });
  }
  // The pale points once in the legend, in grey: each group's are in its colour.
  if (all.length > 0) {
    data.push({ type: 'scatter', mode: 'markers', name: 'every setting swept (pale; the lines join the best of them)', x: [null], y: [null], marker: { color: '#777', opacity: 0.35, size: 6 }, hoverinfo: 'skip' });
  }
  for (const [g, rows] of groups(front, opts.groupBy)) {
    data.push({
      type: 'scatter',
      mode: 'lines+markers+text',
      name: g,
      x: latencies(rows, 'frontier'),
      y: numberColumn(rows, throughput, 'frontier'),
      // Each frontier point says which setting it is: the policy and, for a window policy, W.
      text: frontierLabels(rows, latency, throughput),
      textposition: 'top center',
      textfont: { size: 10, color: colour(g) },
      hovertext: rows.map((r) => String(r.config ?? '')),
      line: { color: colour(g), width: 2 },
      marker: { color: colour(g), size: 8 },
      hovertemplate: '%{hovertext}<br>%{x:.3g} s, %{y:.4s}<extra></extra>',
    });
  }
  const layout = baseLayout(
    opts.title ?? 'Throughput against tail latency',
    { title: opts.latencyLabel ?? metricLabel(latency), log: true },
    { title: opts.throughputLabel ?? (throughput === 'throughputTokS' ? 'output tokens / s' : throughput) },
  );
  layout.xaxis = secondsLogAxis(data.flatMap((d) => d.x as number[]), opts.latencyLabel ?? metricLabel(latency));
  return withLogTicks({ data, layout });
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
  return withLogTicks({ data, layout: baseLayout(opts.title ?? 'Requests caught per collection window', { title: 'arrival rate (requests / s)', log: true }, { title: 'requests per batch', log: true }) });
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
  return withLogTicks({ data, layout: { ...baseLayout(opts.title ?? 'Batch size per engine step', { title: 'sequences in the step' }, { title: 'fraction of steps' }), barmode: 'overlay' } });
}

/**
 * The label of each frontier point: its policy and, for a window policy, W. Settings that
 * land on (nearly) the same point share one label ("W = 0, 5, 10 ms") instead of overprinting.
 */
function frontierLabels(rows: Array<Record<string, unknown>>, x: string, y: string): string[] {
  const setting = (r: Record<string, unknown>) => (r.policy === 'window' || r.policy === 'static' ? `${r.policy === 'static' ? 'static ' : ''}W = ${windowLabel(r.windowMs)}` : String(r.policy ?? ''));
  // Points within 3 % of each other on both axes print on top of each other: one label for them.
  const near = (a: number, b: number) => Math.abs(a - b) <= 0.03 * Math.max(Math.abs(a), Math.abs(b));
  const clusters: number[][] = [];
  rows.forEach((r, i) => {
    const home = clusters.find((c) => near(Number(rows[c[0]][x]), Number(r[x])) && near(Number(rows[c[0]][y]), Number(r[y])));
    if (home) home.push(i);
    else clusters.push([i]);
  });
  const labels = rows.map(() => '');
  for (const idx of clusters) {
    const same = idx.map((i) => rows[i]);
    const windows = same.every((r) => r.policy === same[0].policy && (r.policy === 'window' || r.policy === 'static'));
    labels[idx[0]] = windows && same.length > 1 ? `${same[0].policy === 'static' ? 'static ' : ''}W = ${same.map((r) => String(r.windowMs)).join(', ')} ms` : same.map(setting).join(' · ');
  }
  return labels;
}

function windowLabel(w: unknown): string {
  return `${w} ms`;
}

/**
 * What the collection window does at a fixed load, in two panels over the same window
 * axis: a tail latency (left) and the cost of a token (right), one line per group
 * (e.g. replica · load). Rows are tick-window sweep points (policy `window`) with a
 * `windowMs` column; both value axes are logarithmic so a GPU's milliseconds and a
 * CPU's seconds read alike. Rows of repeated runs (servingSweepSpread: the median, with
 * `<column>P10` and `<column>P90`) get p10–p90 error bars on both panels.
 *
 * @example
 * show(windowEffectChart(table.filter((d) => d.policy === 'window'), { groupBy: ['replica', 'loadLabel'] }));
 * show(windowEffectChart(servingSweepSpread(sweeps, { keys: ['loadLabel', 'windowMs'], columns: ['itlP99', 'busySecondsPer1kTokens'] }), { groupBy: 'loadLabel' }));
 */
export function windowEffectChart(
  rows: TableLike,
  opts: { groupBy?: string | string[]; latency?: string; cost?: string; latencyLabel?: string; costLabel?: string; title?: string } = {},
): Figure {
  const latency = opts.latency ?? 'itlP99';
  const cost = opts.cost ?? 'busySecondsPer1kTokens';
  const all = rowsOf(rows, 'rows').filter((r) => r.windowMs !== null && r.windowMs !== undefined);
  if (all.length === 0) throw new InputError('rows', rows, 'rows with a windowMs column (tick-window sweep points)');
  const by = opts.groupBy === undefined ? [] : Array.isArray(opts.groupBy) ? opts.groupBy : [opts.groupBy];
  const keyed = all.map((r) => ({ ...r, _group: by.length ? by.map((c) => String(r[c])).join(' · ') : 'all' }));
  const windows = [...new Set(all.map((r) => Number(r.windowMs)))].sort((a, b) => a - b);
  const data: Array<Record<string, unknown>> = [];
  let i = 0;
  for (const [g, rs] of groups(keyed, '_group')) {
    const sorted = [...rs].sort((a, b) => Number(a.windowMs) - Number(b.windowMs));
    const x = sorted.map((r) => windowLabel(r.windowMs));
    const colour = PALETTE[i % PALETTE.length];
    const dash = ['solid', 'dash', 'dot', 'dashdot'][Math.floor(i / PALETTE.length) % 4];
    i++;
    const lat = numberColumn(sorted, latency, 'rows');
    const cst = numberColumn(sorted, cost, 'rows');
    const latBars = spreadBars(sorted, latency, lat, colour);
    const costBars = spreadBars(sorted, cost, cst, colour);
    const range = (bars: unknown, fmt: string): string => (bars ? ` (p10–p90 %{customdata[0]:${fmt}}–%{customdata[1]:${fmt}})` : '');
    data.push({ type: 'scatter', mode: 'lines+markers', name: g, legendgroup: g, x, y: lat, line: { color: colour, dash }, xaxis: 'x', yaxis: 'y', ...(latBars ?? {}), hovertemplate: `${g}<br>W = %{x}: %{y:.3g} s${range(latBars, '.3g')}<extra></extra>` });
    data.push({ type: 'scatter', mode: 'lines+markers', name: g, legendgroup: g, showlegend: false, x, y: cst, line: { color: colour, dash }, xaxis: 'x2', yaxis: 'y2', ...(costBars ?? {}), hovertemplate: `${g}<br>W = %{x}: %{y:.3s}${range(costBars, '.3s')}<extra></extra>` });
  }
  const categories = windows.map(windowLabel);
  return withLogTicks({
    data,
    layout: {
      title: { text: opts.title ?? 'Latency and cost per token against the collection window, at fixed loads' },
      xaxis: { domain: [0, 0.45], type: 'category', categoryorder: 'array', categoryarray: categories, title: { text: 'collection window W' } },
      // The axis spans the error bars too (customdata holds each point's p10 and p90).
      yaxis: secondsLogAxis(data.filter((d) => d.yaxis === 'y').flatMap((d) => [...(d.y as number[]), ...((d.customdata as number[][] | undefined) ?? []).flat()]), opts.latencyLabel ?? metricLabel(latency)),
      xaxis2: { domain: [0.57, 1], type: 'category', categoryorder: 'array', categoryarray: categories, title: { text: 'collection window W' }, anchor: 'y2' },
      yaxis2: { type: 'log', tickformat: LOG_TICK_FORMAT, anchor: 'x2', title: { text: opts.costLabel ?? (cost === 'busySecondsPer1kTokens' ? 'engine busy seconds per 1,000 output tokens' : cost === 'usdPerMTok' ? '$ per million output tokens' : cost) } },
      legend: { orientation: 'h', y: -0.25 },
      margin: { t: 50, r: 20, b: 60, l: 70 },
    },
  });
}

/**
 * The load each policy setting carries under a latency limit: one bar group per
 * window (or policy), one bar per replica, as a percentage of the replica's
 * continuous-batching capacity (rows from servingLoadUnderLimitTable).
 *
 * @example
 * show(servingLoadLimitChart(servingLoadUnderLimitTable(replicas, workload, policies, { itlP99: 0.25 }, 1)));
 */
export function servingLoadLimitChart(rows: TableLike, opts: { title?: string } = {}): Figure {
  const all = rowsOf(rows, 'rows');
  if (all.length === 0) throw new InputError('rows', rows, 'at least one row from servingLoadUnderLimitTable');
  const label = (r: Record<string, unknown>) => (r.windowMs === null || r.windowMs === undefined ? String(r.policy) : `${r.policy} ${windowLabel(r.windowMs)}`);
  const data: Array<Record<string, unknown>> = [];
  const notes: Array<Record<string, unknown>> = [];
  const missing = new Map<string, number>();
  // Where a missing bar would stand: its category's index plus its slot in the group (plotly's
  // grouped bars: bargap 0.2, so n bars share 0.8 of a category), so its note covers no other bar.
  const categories = [...new Set(all.map(label))];
  const replicas = [...groups(all, 'replica')].length;
  const slot = (category: string, j: number): number => categories.indexOf(category) - 0.4 + ((j + 0.5) * 0.8) / replicas;
  const wrapAt = Math.max(10, Math.floor(24 / replicas));
  let i = 0;
  for (const [g, rs] of groups(all, 'replica')) {
    data.push({
      type: 'bar',
      name: g,
      x: rs.map(label),
      y: numberColumn(rs, 'load', 'rows').map((l) => 100 * l),
      text: rs.map((r) => (Number(r.load) > 0 ? `${(r.ratePerSecond as number).toPrecision(3)} req/s` : '')),
      textposition: 'outside',
      cliponaxis: false,
      marker: { color: PALETTE[i % PALETTE.length] },
      hovertemplate: '%{x}: %{y:.0f} % of capacity, %{text}<extra></extra>',
    });
    // A zero is the bisection's floor, not a measured load: the bar is missing, and a note at its place says why.
    for (const r of rs.filter((x) => !(Number(x.load) > 0))) {
      const broke = r.brokenLimits ? String(r.brokenLimits).split(', ').map(metricLabel).join(', ') : 'a limit';
      const why = r.brokenAtLoad === null || r.brokenAtLoad === undefined ? 'no load meets the limits' : `even ${loadPercent(Number(r.brokenAtLoad))} breaks ${broke}`;
      const stacked = missing.get(label(r)) ?? 0;
      missing.set(label(r), stacked + 1);
      // In the replica's colour, wrapped to the width of a bar group, one above the other when several are missing.
      notes.push({ x: slot(label(r), i), y: 0, yanchor: 'bottom', yshift: 4 + 56 * stacked, showarrow: false, align: 'center', text: wrapWords(`no bar: ${why}`, wrapAt), font: { size: 11, color: PALETTE[i % PALETTE.length] }, hovertext: g });
    }
    i++;
  }
  const limits = String(all[0].limits ?? '');
  return withLogTicks({
    data,
    layout: { ...baseLayout(opts.title ?? `Load carried while ${limits}`, { title: 'policy' }, { title: '% of saturated continuous-batching capacity' }), barmode: 'group', ...(notes.length ? { annotations: notes } : {}) },
  });
}

/**
 * A closed-loop concurrency curve: throughput (requests/s) against client count with
 * the two asymptotes of the response-time law, N / (R(1) + Z) and X_max, which meet
 * at the saturation point N* (dotted line); p50 inter-token latency on the right axis.
 *
 * @example
 * show(concurrencyCurveChart(servingConcurrencySweep(replica, workload, policy, [1, 4, 16, 64], 1)));
 */
export function concurrencyCurveChart(curve: { table: TableLike; maxThroughputRps: number; saturationClients: number; maxThroughputClients?: number }, opts: { title?: string } = {}): Figure {
  if (!curve || typeof curve !== 'object') throw new InputError('curve', curve, 'a ConcurrencyCurve from servingConcurrencySweep');
  const rows = [...rowsOf(curve.table, 'curve.table')].sort((a, b) => (a.clients as number) - (b.clients as number));
  const n = numberColumn(rows, 'clients', 'curve.table');
  // The benchmark's steady-state throughput where the rows carry it (servingConcurrencySweep), as X_max is taken.
  const x = numberColumn(rows, rows.every((r) => typeof r.requestThroughput === 'number') ? 'requestThroughput' : 'throughputRps', 'curve.table');
  // In ms: an SI tick format read "10m" seconds as minutes. The benchmark's median ITL (after
  // the warm-up) where the rows carry it, as the throughput is taken.
  const itl = rows.map((r) => (typeof r.medianItlMs === 'number' ? r.medianItlMs : typeof r.itlP50 === 'number' ? r.itlP50 * 1e3 : null));
  const { maxThroughputRps: xmax, saturationClients: nstar } = curve;
  const lo = n[0];
  const hi = n[n.length - 1];
  // N / (R(1) + Z) is a straight line on linear axes only: sample it densely for the log axis.
  const rise: number[] = [];
  for (let k = 0; k <= 40; k++) {
    const v = lo * Math.pow(Math.min(hi, nstar) / lo, k / 40);
    rise.push(v);
  }
  return withLogTicks({
    data: [
      { type: 'scatter', mode: 'lines+markers', name: 'throughput (simulated)', x: n, y: x, line: { color: PALETTE[0], width: 2 } },
      { type: 'scatter', mode: 'lines', name: 'N / (R(1) + Z)', x: rise, y: rise.map((v) => v * (xmax / nstar)), line: { color: PALETTE[0], dash: 'dash', width: 1 } },
      { type: 'scatter', mode: 'lines', name: 'X_max', x: [lo, hi], y: [xmax, xmax], line: { color: PALETTE[7], dash: 'dash', width: 1 } },
      { type: 'scatter', mode: 'lines+markers', name: 'ITL p50 (right axis)', x: n, y: itl, yaxis: 'y2', line: { color: PALETTE[1] } },
    ],
    layout: {
      ...baseLayout(opts.title ?? 'Closed loop: throughput and inter-token latency against concurrency', { title: 'concurrent clients N', log: true }, { title: 'requests / s' }),
      yaxis2: { overlaying: 'y', side: 'right', rangemode: 'tozero', title: { text: 'ITL p50 (ms)' } },
      margin: { t: 50, r: 80, b: 60, l: 70 },
      shapes: [{ type: 'line', x0: nstar, x1: nstar, yref: 'paper', y0: 0, y1: 1, line: { dash: 'dot', color: '#444', width: 1 } }],
      // Throughput still rising at the largest N swept: X_max, and N* with it, are lower bounds.
      annotations: [{ x: Math.log10(nstar), y: 1, yref: 'paper', text: `N* ${curve.maxThroughputClients === hi ? '≥' : '≈'} ${nstar.toFixed(0)}`, showarrow: false, yanchor: 'bottom' }],
    },
  });
}

/** What `publishedCurvesChart` draws of one curve (a PublishedCurveComparison has it). */
export interface PublishedCurveSeries {
  label: string;
  points: Array<{ concurrency: number; published: { itlMs: number; outputTokensPerSecond: number }; predicted: { itlMs: number; outputTokensPerSecond: number } }>;
}

/**
 * Published concurrency curves beside the simulator's predictions of them: output
 * throughput against concurrency (log axis), published as markers, predicted as lines
 * of the same colour; ITL on the right axis (published dotted markers, predicted dotted
 * lines).
 *
 * @example
 * show(publishedCurvesChart(readPublishedCurves('nvidia-nim-llm-benchmarking-curves').map((c) => predictPublishedCurve(c))));
 */
export function publishedCurvesChart(curves: PublishedCurveSeries[], opts: { title?: string } = {}): Figure {
  if (!Array.isArray(curves) || curves.length === 0) throw new InputError('curves', curves, 'a non-empty array of PublishedCurveComparison');
  const data: Array<Record<string, unknown>> = [];
  // A curve simulated exactly as an earlier one (the same figures at every concurrency both
  // have, two at least) is drawn dashed and says whose line it repeats: drawn plain, it would
  // hide under the earlier one.
  const drawn: Array<{ label: string; at: Map<number, string> }> = [];
  curves.forEach((c, i) => {
    if (!c || !Array.isArray(c.points) || c.points.length === 0) throw new InputError(`curves[${i}].points`, c?.points, 'a non-empty array of points');
    const color = PALETTE[i % PALETTE.length];
    const n = c.points.map((p) => p.concurrency);
    const name = wrapWords(c.label, 60);
    const at = new Map(c.points.map((p) => [p.concurrency, `${p.predicted.outputTokensPerSecond}|${p.predicted.itlMs}`]));
    const twin = drawn.find((d) => {
      const shared = [...at.keys()].filter((n) => d.at.has(n));
      return shared.length >= 2 && shared.every((n) => d.at.get(n) === at.get(n));
    });
    drawn.push({ label: c.label, at });
    data.push(
      { type: 'scatter', mode: 'markers', name: `${name} — published`, legendgroup: String(i), x: n, y: c.points.map((p) => p.published.outputTokensPerSecond), marker: { color, size: 8, symbol: 'circle' } },
      {
        type: 'scatter',
        mode: 'lines',
        name: twin ? `${name} — predicted (simulated; the same as ${wrapWords(twin.label, 60)}'s, dashed)` : `${name} — predicted (simulated)`,
        legendgroup: String(i),
        x: n,
        y: c.points.map((p) => p.predicted.outputTokensPerSecond),
        line: { color, width: 2, ...(twin ? { dash: 'dash' } : {}) },
      },
      { type: 'scatter', mode: 'markers', name: 'ITL published (right axis)', legendgroup: String(i), showlegend: false, x: n, y: c.points.map((p) => p.published.itlMs), yaxis: 'y2', marker: { color, size: 6, symbol: 'diamond-open' } },
      { type: 'scatter', mode: 'lines', name: 'ITL predicted (right axis)', legendgroup: String(i), showlegend: false, x: n, y: c.points.map((p) => p.predicted.itlMs), yaxis: 'y2', line: { color, dash: 'dot', width: 1 } },
    );
  });
  // The ITL marks once in the legend, in grey: each curve's are in its colour.
  data.push(
    { type: 'scatter', mode: 'markers', name: 'ITL published (right axis, each curve in its colour)', legendgroup: 'itl', x: [null], y: [null], yaxis: 'y2', marker: { color: '#777', size: 6, symbol: 'diamond-open' } },
    { type: 'scatter', mode: 'lines', name: 'ITL predicted (right axis, dotted)', legendgroup: 'itl', x: [null], y: [null], yaxis: 'y2', line: { color: '#777', dash: 'dot', width: 1 } },
  );
  const base = baseLayout(opts.title ?? 'Published concurrency curves (markers) against the simulator (lines): output tokens/s, and ITL dotted', { title: 'concurrency (clients)', log: true }, { title: 'output tokens / s' });
  return withLogTicks({
    data,
    layout: {
      ...base,
      // Both axes from zero, so their zeros share the bottom edge.
      yaxis: { ...(base.yaxis as Record<string, unknown>), rangemode: 'tozero' },
      yaxis2: { overlaying: 'y', side: 'right', rangemode: 'tozero', title: { text: 'ITL (ms), dotted' } },
      // A legend of two entries per curve: below the plot with room between it and the axis title.
      legend: { orientation: 'h', y: -0.28 },
      height: 520 + 22 * curves.length,
      margin: { t: 50, r: 80, b: 80, l: 70 },
    },
  });
}
