import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentFrontierChart, localSetupChart, publishedVsPredictedChart } from '../../lib/plot/deployment.js';
import type { SearchPoint } from '../../lib/deployment/search.js';
import { InputError } from '../../lib/util/errors.js';

const pt = (u: number, d: number): SearchPoint => ({
  index: 0, hardware: 'h800', layout: 0, precision: 0, batch: 8, feasible: true, reason: null, devicesPerUnit: 8,
  tokensPerSecondPerUser: u, tokensPerSecondPerDevice: d, tpotSeconds: 1 / u, ttftSeconds: 0.1, deviceSecondsPerRequest: 1,
  usdPerRequest: 1, usdPerMillionOutput: 0.5, usdPerMillionOutputFullBatch: 0.5, devicesNeeded: 8, usdPerHour: 16, concurrency: 8, slots: 8, utilisation: 1, underfilled: false, loadBatch: 8, pricedBy: null,
});

test('deploymentFrontierChart(series, { marks }) plots tokens/s per user on x and per device on y, log–log, marks as single points', () => {
  const fig = deploymentFrontierChart({ a: [pt(10, 1000), pt(50, 200)] }, { marks: [{ label: 'home', tokensPerSecondPerUser: 5, tokensPerSecondPerDevice: 5 }] });
  assert.deepEqual(fig.data[0].x, [10, 50]);
  assert.deepEqual(fig.data[0].y, [1000, 200]);
  assert.deepEqual(fig.data[1].x, [5]);
  assert.equal((fig.layout.xaxis as { type: string }).type, 'log');
  assert.equal((fig.layout.yaxis as { type: string }).type, 'log');
  assert.throws(() => deploymentFrontierChart({}), InputError);
});

test('publishedVsPredictedChart(rows) draws predicted/published with the ±25 % band from 0.75 to 1.25', () => {
  const rows = [
    { figure: 'decode', published: 100, predicted: 150, ratio: 1.5, within25: false, unit: 'tok/s', bound: 200 },
    { figure: 'cost', published: 10, predicted: 9, ratio: 0.9, within25: true, unit: 'USD', bound: 8 },
  ];
  const fig = publishedVsPredictedChart(rows);
  assert.deepEqual(fig.data[0].x, [1.5, 0.9]);
  assert.deepEqual(fig.data[0].y, ['decode', 'cost']);
  // bound / published: 200/100 and 8/10.
  assert.deepEqual(fig.data[1].x, [2, 0.8]);
  const band = (fig.layout.shapes as Array<{ x0: number; x1: number }>)[0];
  assert.deepEqual([band.x0, band.x1], [0.75, 1.25]);
  assert.equal(fig.data[0].name, 'model / published');
  // Set against measurements, the legend and axis say so.
  const measured = publishedVsPredictedChart(rows, { reference: 'measured' });
  assert.deepEqual([measured.data[0].name, measured.data[1].name], ['model / measured', 'datasheet bound / measured']);
  assert.equal((measured.layout.xaxis as { title: { text: string } }).title.text, 'ratio to the measured figure');
});

test('localSetupChart(points) plots $ per million (y) against tokens/s per user (x), log–log, local and scale apart, each labelled with its basis', () => {
  const fig = localSetupChart([
    { label: 'mac', tokensPerSecondPerUser: 12.34, usdPerMillionOutput: 8.1, basis: 'bound' },
    { label: 'pool', tokensPerSecondPerUser: 20, usdPerMillionOutput: 0.3, kind: 'scale', basis: 'published' },
  ], { note: 'amortised over 3 years' });
  const [local, scale] = fig.data as Array<{ x: number[]; y: number[]; name: string; legendgroup: string; marker: { symbol: string } }>;
  assert.deepEqual([local.x, local.y], [[12.34], [8.1]]);
  assert.deepEqual([scale.x, scale.y], [[20], [0.3]]);
  assert.deepEqual([local.name, scale.name], ['mac (bound)', 'pool (published)']);
  assert.deepEqual([local.legendgroup, scale.legendgroup, local.marker.symbol, scale.marker.symbol], ['local', 'scale', 'circle', 'diamond']);
  const layout = fig.layout as { xaxis: { type: string }; yaxis: { type: string }; annotations: Array<{ text: string }> };
  assert.deepEqual([layout.xaxis.type, layout.yaxis.type], ['log', 'log']);
  assert.equal(layout.annotations[0].text, 'amortised over 3 years');
  assert.throws(() => localSetupChart([]), InputError);
});

test('deploymentFrontierChart puts the label of a mark within a quarter decade of an earlier one below its point, and wraps long labels', () => {
  const marks = [
    { label: 'two-socket Xeon server with one RTX 4090', tokensPerSecondPerUser: 16, tokensPerSecondPerDevice: 17 },
    { label: 'Mac Studio', tokensPerSecondPerUser: 20, tokensPerSecondPerDevice: 20 },
    { label: 'far away', tokensPerSecondPerUser: 200, tokensPerSecondPerDevice: 2000 },
  ];
  const fig = deploymentFrontierChart({ a: [pt(10, 1000), pt(500, 200)] }, { marks });
  const pos = fig.data.slice(1).map((d) => (d as { textposition: string }).textposition);
  // log10(20/16) = 0.10 and log10(20/17) = 0.07: near on both axes, so Mac Studio's label goes below.
  assert.deepEqual(pos.map((p) => p.split(' ')[0]), ['top', 'bottom', 'top']);
  // Below and on the other side: the two labels run apart.
  assert.notEqual(pos[0].split(' ')[1], pos[1].split(' ')[1]);
  assert.deepEqual((fig.data[1] as { text: string[] }).text, ['two-socket Xeon server with<br>one RTX 4090']);
});

test('a local setup takes the same colour in localSetupChart and as a mark of deploymentFrontierChart beside two frontier lines', () => {
  const setups = ['desktop', 'mac', 'cpu'];
  const local = localSetupChart(setups.map((label, i) => ({ label, tokensPerSecondPerUser: 1 + i, usdPerMillionOutput: 10 })));
  const frontier = deploymentFrontierChart({ a: [pt(10, 1000)], b: [pt(20, 500)] }, { marks: setups.map((label, i) => ({ label, tokensPerSecondPerUser: 1 + 10 * i, tokensPerSecondPerDevice: 1 + 10 * i })) });
  const colour = (d: unknown) => (d as { marker: { color: string } }).marker.color;
  assert.deepEqual(local.data.map(colour), frontier.data.slice(2).map(colour));
  // And none of them is a frontier line's.
  const lines = frontier.data.slice(0, 2).map((d) => (d as { line: { color: string } }).line.color);
  assert.ok(local.data.map(colour).every((c) => !lines.includes(c)));
});
