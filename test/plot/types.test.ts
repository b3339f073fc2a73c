import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseLayout, LOG_TICK_FORMAT, secondsLogAxis } from '../../lib/plot/types.js';

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
  const wide = secondsLogAxis([2e-5, 30, NaN, -1, 0], 'x') as { tickvals: number[]; ticktext: string[] };
  // More than four decades (1e-5 … 1e2): decades only; NaN, negatives and zero are ignored.
  assert.deepEqual(wide.tickvals, [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100]);
  assert.deepEqual(wide.ticktext, ['10 µs', '100 µs', '1 ms', '10 ms', '100 ms', '1 s', '10 s', '100 s']);
  assert.equal((secondsLogAxis([], 'x') as { tickvals?: unknown }).tickvals, undefined);
});
