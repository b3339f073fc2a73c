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
 * A tick value written out in full: "0.05", "20", "5,000", then "20k", "1.5M", "3G" from
 * ten thousand up (never an SI letter below one, which plotly writes as "10m").
 *
 * @example
 * formatTick(0.01) // => '0.01'
 */
export function formatTick(v: number): string {
  const units: Array<[number, string]> = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e4, 'k']];
  for (const [scale, unit] of units) if (Math.abs(v) >= scale) return `${Number((v / (unit === 'k' ? 1e3 : scale)).toPrecision(3)).toLocaleString('en-US')}${unit}`;
  return Number(v.toPrecision(3)).toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

/**
 * Ticks of a log axis over `values`: a 1–2–5 grid (decades only beyond four decades,
 * every second decade beyond ten) from the grid tick below the values to the one above,
 * each labelled in full by `format`, with the axis range set to the outer ticks so both
 * ends carry a label. Null when no value is finite and positive.
 *
 * @example
 * logTicks([3, 40]).ticktext // => ['2', '5', '10', '20', '50']
 */
export function logTicks(values: readonly unknown[], format: (v: number) => string = formatTick): { tickvals: number[]; ticktext: string[]; range: [number, number] } | null {
  const xs = values.map(Number).filter((v) => Number.isFinite(v) && v > 0);
  if (!xs.length) return null;
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const steps = hi - lo > 4 ? [1] : [1, 2, 5];
  const every = hi - lo > 10 ? 2 : 1;
  const grid: number[] = [];
  for (let e = lo; e < hi + every; e += every) for (const m of steps) grid.push(Number((m * 10 ** e).toPrecision(1)));
  const first = Math.max(0, grid.findIndex((v) => v >= min / 1.0001) - 1);
  const lastInside = grid.findLastIndex((v) => v <= max * 1.0001);
  const kept = grid.slice(first, Math.min(grid.length, lastInside + 2));
  return { tickvals: kept, ticktext: kept.map(format), range: [Math.log10(kept[0]), Math.log10(kept[kept.length - 1])] };
}

/** Where a trace's error bars along `axis` end (value ± its `error_x`/`error_y` arrays), so that an axis range holds them. */
function errorBarEnds(trace: Record<string, unknown>, axis: string): number[] {
  const bars = trace[`error_${axis}`] as { type?: string; array?: unknown; arrayminus?: unknown; symmetric?: boolean; visible?: boolean } | undefined;
  const at = trace[axis];
  if (!bars || bars.visible === false || (bars.type !== undefined && bars.type !== 'data') || !Array.isArray(at) || !Array.isArray(bars.array)) return [];
  const up = bars.array as unknown[];
  const down = (bars.symmetric === false && Array.isArray(bars.arrayminus) ? bars.arrayminus : up) as unknown[];
  return at.flatMap((v, i) => [Number(v) + Number(up[i] ?? 0), Number(v) - Number(down[i] ?? 0)]);
}

/**
 * The figure with every log axis that has no ticks of its own given logTicks over the
 * values plotted on it (x or y of the traces drawn against that axis, error bars included): plotly's own log
 * ticks print minor ticks as bare digits ("2 3 … 9") or crowd them, and small values
 * with an SI letter ("10m" for 0.01).
 *
 * @example
 * withLogTicks({ data: [{ x: [1, 30], y: [1, 2] }], layout: { xaxis: { type: 'log' } } }).layout.xaxis // => { type: 'log', tickvals: [1, 2, 5, 10, 20, 50], ticktext: [...], range: [0, 1.699] }
 */
export function withLogTicks(fig: Figure): Figure {
  const layout: Record<string, unknown> = { ...fig.layout };
  for (const [key, axis] of Object.entries(fig.layout)) {
    const m = /^([xy])axis(\d*)$/.exec(key);
    const a = axis as Record<string, unknown> | undefined;
    if (!m || !a || a.type !== 'log' || a.tickvals !== undefined) continue;
    const id = `${m[1]}${m[2]}`;
    const values = fig.data.filter((t) => (t[`${m[1]}axis`] ?? m[1]) === id).flatMap((t) => [...(Array.isArray(t[m[1]]) ? (t[m[1]] as unknown[]) : []), ...errorBarEnds(t, m[1])]);
    const ticks = logTicks(values);
    if (!ticks) continue;
    const { tickformat: _unused, ...rest } = a;
    layout[key] = { ...rest, ...ticks };
  }
  return { data: fig.data, layout };
}

/**
 * A log axis over `values` in seconds with ticks on a 1–2–5 grid (decades only when the
 * values span more than four) labelled "50 µs", "20 ms", "1 s": a latency reads in the
 * unit it would be quoted in. The axis runs from the grid tick below the values to the
 * one above, so both ends are labelled. Values that are not finite and positive are ignored.
 *
 * @example
 * secondsLogAxis([0.012, 0.3], 'p99 latency').ticktext // => ['10 ms', '20 ms', '50 ms', '100 ms', '200 ms', '500 ms']
 */
export function secondsLogAxis(values: readonly unknown[], title: string): Record<string, unknown> {
  const axis: Record<string, unknown> = { title: { text: title }, type: 'log' };
  const ticks = logTicks(values, formatSeconds);
  return ticks ? { ...axis, ...ticks } : axis;
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

/**
 * Words joined into lines of at most `width` characters (a longer word gets its own
 * line), split by <br>: labels and notes are read whole instead of cut off.
 *
 * @example
 * wrapWords('no bar: even 2 % breaks p99 inter-token latency', 24) // => 'no bar: even 2 % breaks<br>p99 inter-token latency'
 */
export function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join('<br>');
}
