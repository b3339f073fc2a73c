import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseLayout, formatTick, LOG_TICK_FORMAT, logTicks, secondsLogAxis, withLogTicks } from '../../lib/plot/types.js';

test('baseLayout(title, x, y) sets log axes when asked and leaves other axes to plotly inference', () => {
  const l = baseLayout('t', { title: 'x' }, { title: 'y', log: true }) as { xaxis: { type: string }; yaxis: { type: string } };
  // A forced 'linear' axis would hide bar charts over categories (e.g. operation names).
  assert.equal(l.xaxis.type, '-');
  assert.equal(l.yaxis.type, 'log');
});

test('baseLayout log axes write every tick label in full: a tickformat, so plotly prints neither bare minor digits nor "10m"', () => {
  const l = baseLayout('t', { title: 'x', log: true }, { title: 'y' }) as { xaxis: Record<string, unknown>; yaxis: Record<string, unknown> };
  assert.equal(l.xaxis.tickformat, LOG_TICK_FORMAT);
  assert.equal(l.yaxis.tickformat, undefined, 'a linear axis keeps plotly defaults');
});

test('secondsLogAxis(values) puts ticks on the 1–2–5 grid around the data and labels them µs, ms or s', () => {
  const a = secondsLogAxis([0.012, 0.3], 'p99') as { tickvals: number[]; ticktext: string[]; type: string };
  assert.equal(a.type, 'log');
  // 0.012 … 0.3 s: one grid tick below the data (10 ms) to one above (500 ms), 1–2–5 per decade.
  assert.deepEqual(a.tickvals, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]);
  assert.deepEqual(a.ticktext, ['10 ms', '20 ms', '50 ms', '100 ms', '200 ms', '500 ms']);
  // The axis spans the outer ticks, so both ends are labelled: log10(0.01) = −2, log10(0.5) ≈ −0.301.
  assert.deepEqual((a as unknown as { range: number[] }).range.map((v) => Number(v.toFixed(3))), [-2, -0.301]);
  const wide = secondsLogAxis([2e-5, 30, NaN, -1, 0], 'x') as { tickvals: number[]; ticktext: string[] };
  // More than four decades (1e-5 … 1e2): decades only; NaN, negatives and zero are ignored.
  assert.deepEqual(wide.tickvals, [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100]);
  assert.deepEqual(wide.ticktext, ['10 µs', '100 µs', '1 ms', '10 ms', '100 ms', '1 s', '10 s', '100 s']);
  assert.equal((secondsLogAxis([], 'x') as { tickvals?: unknown }).tickvals, undefined);
});

test('logTicks(values) labels a 1–2–5 grid in full from the tick below the values to the one above; decades beyond four', () => {
  // 3 … 40: one grid tick below (2) to one above (50).
  assert.deepEqual(logTicks([3, 40])!.ticktext, ['2', '5', '10', '20', '50']);
  // 0.002 … 3e9 spans 13 decades (> 10): every second decade, written 0.001 … 100M … with SI letters from 10k.
  const wide = logTicks([0.002, 3e9])!;
  assert.deepEqual(wide.tickvals, [1e-3, 0.1, 10, 1e3, 1e5, 1e7, 1e9, 1e11]);
  assert.deepEqual(wide.ticktext, ['0.001', '0.1', '10', '1,000', '100k', '10M', '1G', '100G']);
  assert.equal(logTicks([0, -1, NaN]), null);
  assert.equal(formatTick(0.05), '0.05');
  assert.equal(formatTick(25_000), '25k');
});

test('withLogTicks(fig) sets ticks on each log axis from the traces drawn on it, and leaves other axes and axes with ticks alone', () => {
  const fig = withLogTicks({
    data: [{ x: [1, 30], y: [5, 7] }, { x: [2], y: [100, 900], yaxis: 'y2' }],
    layout: { xaxis: { type: 'log', tickformat: LOG_TICK_FORMAT }, yaxis: { type: '-' }, yaxis2: { type: 'log', overlaying: 'y' }, xaxis2: { type: 'log', tickvals: [1] } },
  });
  const l = fig.layout as Record<string, Record<string, unknown>>;
  assert.deepEqual(l.xaxis.ticktext, ['1', '2', '5', '10', '20', '50']);
  assert.equal(l.xaxis.tickformat, undefined);
  assert.deepEqual(l.yaxis, { type: '-' });
  // Only the y2 trace's values (100 … 900): 100 is a grid tick itself, 1,000 the one above 900.
  assert.deepEqual(l.yaxis2.tickvals, [100, 200, 500, 1000]);
  assert.deepEqual(l.xaxis2.tickvals, [1]);
});

test('withLogTicks spans error bars: bars from 0.5 to 100 around points at 1 and 10 set the axis, hidden bars do not', () => {
  const fig = withLogTicks({ data: [{ x: [1, 2], y: [1, 10], error_y: { type: 'data', symmetric: false, array: [0, 90], arrayminus: [0.5, 0] } }], layout: { yaxis: { type: 'log' } } });
  const y = fig.layout.yaxis as { tickvals: number[]; range: number[] };
  // Ends of the bars: 1 − 0.5 = 0.5 and 10 + 90 = 100; the axis is logTicks over points and bar ends together.
  assert.deepEqual(fig.layout.yaxis, { type: 'log', ...logTicks([1, 10, 0.5, 100]) });
  assert.ok(10 ** y.range[0] <= 0.5 && 10 ** y.range[1] >= 100);
  // Hidden bars do not count: the axis is that of the points alone.
  const hidden = withLogTicks({ data: [{ y: [1, 10], error_y: { visible: false, array: [100, 100] } }], layout: { yaxis: { type: 'log' } } });
  assert.deepEqual(hidden.layout.yaxis, { type: 'log', ...logTicks([1, 10]) });
});
