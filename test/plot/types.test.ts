import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseLayout } from '../../lib/plot/types.js';

test('baseLayout(title, x, y) sets log axes when asked and leaves other axes to plotly inference', () => {
  const l = baseLayout('t', { title: 'x' }, { title: 'y', log: true }) as { xaxis: { type: string }; yaxis: { type: string } };
  // A forced 'linear' axis would hide bar charts over categories (e.g. operation names).
  assert.equal(l.xaxis.type, '-');
  assert.equal(l.yaxis.type, 'log');
});
