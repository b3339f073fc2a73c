import type { PublishedVsPredicted } from '../deployment/deepseek.js';
import type { SearchPoint } from '../deployment/search.js';
import { InputError } from '../util/errors.js';
import { checkArray } from '../util/validate.js';
import { baseLayout, PALETTE, type Figure, withLogTicks, wrapWords } from './types.js';

// The colour of the i-th marked setup, the same in every chart that lists setups in one order
// (deploymentFrontierChart's marks, localSetupChart's local setups): after the first two
// colours, which frontier lines take (and more where a chart draws more lines).
function markColor(i: number, lines = 2): string {
  return PALETTE[(Math.max(2, lines) + i) % PALETTE.length];
}

/** A single operating point to mark on a frontier chart (a local setup, a published figure). */
export interface FrontierMark {
  label: string;
  tokensPerSecondPerUser: number;
  tokensPerSecondPerDevice: number;
}

/**
 * Tokens/s per device against tokens/s per user (log–log): one frontier line per
 * series, and single marked points (local setups, published figures) as symbols. Up
 * and to the right is better; a frontier shows what a provider trades.
 *
 * @example
 * show(deploymentFrontierChart({ 'deepseek-v3 on H800': deploymentFrontier(evaluateSearchSpace(space)) }));
 */
export function deploymentFrontierChart(series: Record<string, readonly SearchPoint[]>, opts: { marks?: readonly FrontierMark[]; title?: string } = {}): Figure {
  if (typeof series !== 'object' || series === null) throw new InputError('series', series, 'an object of frontier point lists by label');
  const data: Array<Record<string, unknown>> = Object.entries(series).map(([name, pts], i) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: pts.map((p) => p.tokensPerSecondPerUser),
    y: pts.map((p) => p.tokensPerSecondPerDevice),
    text: pts.map((p) => `${p.hardware}, batch ${p.batch}, ${p.devicesPerUnit} device(s), $${p.usdPerMillionOutput.toFixed(3)}/M output`),
    hoverinfo: 'text+x+y',
    line: { color: PALETTE[i % PALETTE.length] },
  }));
  // A mark's label runs away from the nearer edge of the (log) x range, so that it is not cut off.
  const xs = [...Object.values(series).flatMap((pts) => pts.map((p) => p.tokensPerSecondPerUser)), ...(opts.marks ?? []).map((m) => m.tokensPerSecondPerUser)].filter((x) => x > 0);
  const mid = xs.length > 0 ? (Math.log(Math.min(...xs)) + Math.log(Math.max(...xs))) / 2 : 0;
  // Two marks within a quarter decade of each other on both axes would print their labels over
  // one another: the later one's goes below its point, on the other side. Long labels wrap.
  const placed: Array<{ x: number; y: number; top: boolean }> = [];
  const near = (a: number, b: number): boolean => a > 0 && b > 0 && Math.abs(Math.log10(a) - Math.log10(b)) < 0.25;
  (opts.marks ?? []).forEach((m, i) => {
    const x = m.tokensPerSecondPerUser;
    const y = m.tokensPerSecondPerDevice;
    const top = !placed.some((q) => q.top && near(q.x, x) && near(q.y, y));
    placed.push({ x, y, top });
    const away = x > 0 && Math.log(x) > mid ? 'left' : 'right';
    const side = top ? away : away === 'left' ? 'right' : 'left';
    data.push({
      type: 'scatter',
      mode: 'markers+text',
      name: m.label,
      x: [x],
      y: [y],
      text: [wrapWords(m.label, 28)],
      textposition: `${top ? 'top' : 'bottom'} ${side}`,
      marker: { symbol: 'diamond', size: 11, color: markColor(i, Object.keys(series).length) },
      showlegend: false,
    });
  });
  if (data.length === 0) throw new InputError('series', series, 'at least one frontier or mark');
  return withLogTicks({
    data,
    layout: baseLayout(opts.title ?? 'What a provider trades: tokens/s per device against tokens/s per user', { title: 'output tokens/s per user', log: true }, { title: 'output tokens/s per device', log: true }),
  });
}

/**
 * Published figures beside predictions: one bar group per figure, predicted / published
 * (1 = exact), with the datasheet bound when present and the ±25 % band shaded.
 * `reference` names what the figures are when they are not published ones, e.g. 'measured'
 * for steps timed on a GPU (`measuredStepsCheck`).
 *
 * @example
 * show(publishedVsPredictedChart(deepseekDayReproduction().rows));
 */
export function publishedVsPredictedChart(rows: readonly PublishedVsPredicted[], opts: { title?: string; reference?: string } = {}): Figure {
  // What the predictions are set against: a published figure by default, or a measurement.
  const ref = opts.reference ?? 'published';
  checkArray<PublishedVsPredicted>('rows', rows, 100);
  // Horizontal bars, first figure on top: long figure names stay readable.
  const y = rows.map((r) => r.figure);
  const data: Array<Record<string, unknown>> = [
    {
      type: 'bar',
      orientation: 'h',
      name: `model / ${ref}`,
      y,
      x: rows.map((r) => r.ratio),
      text: rows.map((r) => `${r.ratio.toFixed(2)}×`),
      // Inside the bar's end: a ratio near 1 printed outside sits on the dotted line at 1.
      textposition: 'inside',
      insidetextanchor: 'end',
      textfont: { color: '#fff' },
      marker: { color: PALETTE[0] },
    },
  ];
  if (rows.every((r) => r.bound !== undefined)) {
    data.push({ type: 'bar', orientation: 'h', name: `datasheet bound / ${ref}`, y, x: rows.map((r) => r.bound! / r.published), marker: { color: PALETTE[7] } });
  }
  const layout = baseLayout(opts.title ?? `Predicted against ${ref} (1 = exact; shaded: ±25 %)`, { title: `ratio to the ${ref} figure` }, { title: '' });
  layout.barmode = 'group';
  // Thin bars (many rows) would shrink the ratio inside them past reading.
  layout.uniformtext = { mode: 'show', minsize: 10 };
  layout.yaxis = { ...(layout.yaxis as Record<string, unknown>), autorange: 'reversed', automargin: true };
  layout.shapes = [
    { type: 'rect', yref: 'paper', y0: 0, y1: 1, x0: 0.75, x1: 1.25, fillcolor: '#2ca02c', opacity: 0.15, line: { width: 0 } },
    { type: 'line', yref: 'paper', y0: 0, y1: 1, x0: 1, x1: 1, line: { color: '#2ca02c', dash: 'dot' } },
  ];
  layout.margin = { t: 50, r: 40, b: 80, l: 20 };
  return withLogTicks({ data, layout });
}

/** One point of the local-against-scale chart. */
export interface LocalSetupBar {
  label: string;
  tokensPerSecondPerUser: number;
  usdPerMillionOutput: number;
  /** A machine at home serving one user, or a provider's pool; local by default. */
  kind?: 'local' | 'scale';
  /** What the figures are (e.g. 'bound', 'calibrated', 'published', 'predicted'): shown beside the label. */
  basis?: string;
}

/**
 * Dollars per million output tokens against the tokens/s one user gets, log–log, one
 * point per setup named with its basis in the legend: local machines (circles) against
 * a provider's pool (diamonds), so cheap-at-scale and expensive-at-home is where the
 * points sit. `note`
 * (the amortisation assumption, what the speeds are) is printed under the chart.
 *
 * @example
 * show(localSetupChart([{ label: 'Mac Studio', tokensPerSecondPerUser: 17, usdPerMillionOutput: 5.9, basis: 'bound' }], { note: 'purchase amortised over 3 years' }));
 */
export function localSetupChart(bars: readonly LocalSetupBar[], opts: { title?: string; note?: string } = {}): Figure {
  checkArray<LocalSetupBar>('bars', bars, 1000);
  const layout = baseLayout(
    opts.title ?? '$ per million output tokens against tokens/s per user',
    { title: 'output tokens/s per user', log: true },
    { title: '$ per million output tokens', log: true },
  );
  layout.margin = { t: 50, r: 30, b: opts.note ? 120 : 70, l: 80 };
  // The note sits under the axis title.
  if (opts.note) {
    layout.annotations = [{ text: wrapWords(opts.note, 110), xref: 'paper', yref: 'paper', x: 0, y: 0, yshift: -62, xanchor: 'left', yanchor: 'top', showarrow: false, align: 'left', font: { size: 11, color: '#555' } }];
  }
  const usd = (v: number): string => `$${v < 1 ? v.toFixed(3) : v.toFixed(2)}/M`;
  // One trace per setup, named in the legend beside the chart: long setup names written on
  // the points ran into each other where setups sit close together.
  layout.legend = { orientation: 'v', x: 1.02, y: 1, xanchor: 'left', yanchor: 'top', groupclick: 'toggleitem', font: { size: 11 } };
  layout.margin = { ...(layout.margin as object), r: 330 };
  const data: Array<Record<string, unknown>> = [];
  for (const kind of ['local', 'scale'] as const) {
    const pts = bars.filter((b) => (b.kind ?? 'local') === kind);
    pts.forEach((b, j) => {
      data.push({
        type: 'scatter',
        mode: 'markers',
        name: wrapWords(`${b.label}${b.basis && !b.label.includes(b.basis) ? ` (${b.basis})` : ''}`, 48),
        legendgroup: kind,
        ...(j === 0 ? { legendgrouptitle: { text: kind === 'local' ? 'at home, one user (circles)' : 'at scale, shared by many users (diamonds)' } } : {}),
        x: [b.tokensPerSecondPerUser],
        y: [b.usdPerMillionOutput],
        hovertext: [`${b.label}: ${b.tokensPerSecondPerUser.toPrecision(3)} tok/s per user, ${usd(b.usdPerMillionOutput)}`],
        hoverinfo: 'text',
        marker: { color: kind === 'local' ? markColor(j) : j % 2 ? '#6baed6' : PALETTE[0], size: 12, symbol: kind === 'local' ? 'circle' : 'diamond', line: { width: 1, color: '#333' } },
      });
    });
  }
  return withLogTicks({ data, layout });
}
