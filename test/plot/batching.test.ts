import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowEffectChart, servingLoadLimitChart, concurrencyCurveChart, servingFrontierChart, publishedCurvesChart } from '../../lib/plot/batching.js';
import { InputError } from '../../lib/util/errors.js';

test('windowEffectChart draws latency and cost panels per group over window categories in numeric order', () => {
  const rows = [
    { replica: 'a', loadLabel: '20 % load', windowMs: 50, itlP99: 0.1, busySecondsPer1kTokens: 0.3 },
    { replica: 'a', loadLabel: '20 % load', windowMs: 0, itlP99: 0.02, busySecondsPer1kTokens: 1.1 },
    { replica: 'a', loadLabel: '80 % load', windowMs: 0, itlP99: 0.05, busySecondsPer1kTokens: 0.4 },
    { replica: 'a', loadLabel: '80 % load', windowMs: 50, itlP99: 0.2, busySecondsPer1kTokens: 0.25 },
    { replica: 'a', loadLabel: '80 % load', windowMs: null, itlP99: 9, busySecondsPer1kTokens: 9 }, // not a window row
  ];
  const fig = windowEffectChart(rows, { groupBy: ['replica', 'loadLabel'] });
  assert.equal(fig.data.length, 4);
  assert.deepEqual(fig.data[0].x, ['0 ms', '50 ms']);
  assert.deepEqual(fig.data[0].y, [0.02, 0.1]);
  assert.deepEqual(fig.data[1].y, [1.1, 0.3]);
  assert.equal(fig.data[1].yaxis, 'y2');
  assert.equal(fig.data[0].name, 'a · 20 % load');
  assert.deepEqual((fig.layout.xaxis as { categoryarray: string[] }).categoryarray, ['0 ms', '50 ms']);
  assert.throws(() => windowEffectChart([{ windowMs: null }]), InputError);
});

test('windowEffectChart draws p10–p90 error bars from <column>P10/P90 (servingSweepSpread rows), and none for a single run', () => {
  const rows = [
    { loadLabel: '50 % load', windowMs: 0, itlP99: 1.0, itlP99P10: 0.8, itlP99P90: 1.5, busySecondsPer1kTokens: 20, busySecondsPer1kTokensP10: 18, busySecondsPer1kTokensP90: 25 },
    { loadLabel: '50 % load', windowMs: 200, itlP99: 1.2, itlP99P10: 1.1, itlP99P90: 1.2, busySecondsPer1kTokens: 19, busySecondsPer1kTokensP10: 19, busySecondsPer1kTokensP90: 22 },
  ];
  const fig = windowEffectChart(rows, { groupBy: 'loadLabel' });
  const [lat, cost] = fig.data as Array<{ error_y: { array: number[]; arrayminus: number[]; symmetric: boolean }; customdata: number[][]; hovertemplate: string }>;
  // Bars reach from the median down to p10 and up to p90: 1.0 − 0.8 and 1.5 − 1.0, etc.
  assert.equal(lat.error_y.symmetric, false);
  assert.deepEqual(lat.error_y.arrayminus.map((x) => +x.toFixed(12)), [0.2, 0.1]);
  assert.deepEqual(lat.error_y.array.map((x) => +x.toFixed(12)), [0.5, 0]);
  assert.deepEqual(cost.error_y.arrayminus, [2, 0]);
  assert.deepEqual(cost.error_y.array, [5, 3]);
  assert.deepEqual(lat.customdata, [[0.8, 1.5], [1.1, 1.2]]);
  assert.match(lat.hovertemplate, /p10–p90/);
  // The latency axis (log, seconds) spans the bars: from below p10 = 0.8 s to above p90 = 1.5 s.
  const range = (fig.layout.yaxis as { range?: number[]; tickvals?: number[] });
  if (range.range) assert.ok(10 ** range.range[0] <= 0.8 && 10 ** range.range[1] >= 1.5, JSON.stringify(range.range));
  // Without the P10/P90 columns (one run) there are no bars.
  const single = windowEffectChart(rows.map(({ loadLabel, windowMs, itlP99, busySecondsPer1kTokens }) => ({ loadLabel, windowMs, itlP99, busySecondsPer1kTokens })), { groupBy: 'loadLabel' });
  assert.ok(single.data.every((d) => !('error_y' in d)));
});

test('servingLoadLimitChart shows each row\'s load as a percentage of capacity, one bar series per replica', () => {
  const fig = servingLoadLimitChart([
    { replica: 'a', policy: 'window', windowMs: 0, load: 0.9, ratePerSecond: 9, limits: 'ttftP99 ≤ 1 s' },
    { replica: 'a', policy: 'window', windowMs: 200, load: 0.5, ratePerSecond: 5, limits: 'ttftP99 ≤ 1 s' },
    { replica: 'b', policy: 'chunked', windowMs: null, load: 1.2, ratePerSecond: 40, limits: 'ttftP99 ≤ 1 s' },
  ]);
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0].x, ['window 0 ms', 'window 200 ms']);
  assert.deepEqual(fig.data[0].y, [90, 50]);
  assert.deepEqual(fig.data[1].x, ['chunked']);
  assert.match(String((fig.layout.title as { text: string }).text), /ttftP99 ≤ 1 s/);
});

test('concurrencyCurveChart draws the two asymptotes meeting at N* = X_max·(R(1) + Z)', () => {
  const curve = {
    table: [
      { clients: 1, throughputRps: 20, itlP50: 0.01 },
      { clients: 16, throughputRps: 95, itlP50: 0.02 },
    ],
    maxThroughputRps: 100,
    saturationClients: 5,
  };
  const fig = concurrencyCurveChart(curve);
  const rise = fig.data[1] as { x: number[]; y: number[] };
  // N / (R(1) + Z) with R(1) + Z = N*/X_max = 0.05 s: 20/s at N = 1, 100/s at N* = 5, linear between.
  assert.deepEqual([rise.x[0], rise.x.at(-1)], [1, 5]);
  assert.ok(Math.abs(rise.y[0] - 20) < 1e-9 && Math.abs(rise.y.at(-1)! - 100) < 1e-9);
  rise.x.forEach((v, i) => assert.ok(Math.abs(rise.y[i] - 20 * v) < 1e-9));
  assert.deepEqual((fig.data[2] as { y: number[] }).y, [100, 100]);
  assert.equal((fig.layout.shapes as Array<{ x0: number }>)[0].x0, 5);
});

test('servingLoadLimitChart notes a missing bar at its place with the limit the lightest load broke', () => {
  const fig = servingLoadLimitChart([
    { replica: 'A', policy: 'window', windowMs: 0, load: 0.9, ratePerSecond: 9, brokenAtLoad: null, brokenLimits: '', limits: 'p99 ITL ≤ 250 ms' },
    { replica: 'A', policy: 'window', windowMs: 200, load: 0, ratePerSecond: 0, brokenAtLoad: 0.02, brokenLimits: 'itlP99', limits: 'p99 ITL ≤ 250 ms' },
  ]);
  const notes = fig.layout.annotations as Array<{ x: number; text: string }>;
  assert.equal(notes.length, 1);
  // At the category's index ('window 200 ms' is the second): one replica's bar fills its group's centre.
  assert.equal(notes[0].x, 1);
  // 0.02 of capacity → "2.0 %", as describeLoadUnderLimit writes it (one decimal below 10 %); itlP99 read as a person says it.
  assert.equal(notes[0].text, 'no bar: even 2.0 %<br>breaks p99 inter-token<br>latency');
  assert.deepEqual((fig.data[0] as { text: string[] }).text, ['9.00 req/s', '']);
});

test('servingLoadLimitChart puts a missing bar\'s note in that bar\'s slot of its group, narrow enough to clear its neighbour (it sat across the other replica\'s bar)', () => {
  const row = (replica: string, windowMs: number, load: number) => ({ replica, policy: 'window', windowMs, load, ratePerSecond: 10 * load, brokenAtLoad: load > 0 ? null : 0.02, brokenLimits: load > 0 ? '' : 'itlP99', limits: 'p99 ITL ≤ 250 ms' });
  const fig = servingLoadLimitChart([row('A', 0, 0.9), row('A', 200, 0), row('B', 0, 0.8), row('B', 200, 0.5)]);
  const notes = fig.layout.annotations as Array<{ x: number; text: string }>;
  assert.equal(notes.length, 1);
  // Two bars share 0.8 of category 1: A's slot is centred at 1 − 0.4 + 0.5 · 0.4 = 0.8, B's at 1.2.
  assert.ok(Math.abs(notes[0].x - 0.8) < 1e-12);
  // Wrapped to 12 characters a line (24 over two bars).
  assert.ok(notes[0].text.split('<br>').every((line) => line.length <= 12), notes[0].text);
});

test('servingFrontierChart labels each frontier point with its window, one label for settings on the same point', () => {
  const rows = [
    { replica: 'A', policy: 'window', windowMs: 0, e2eP99: 1, throughputTokS: 10, config: 'w0' },
    { replica: 'A', policy: 'window', windowMs: 5, e2eP99: 1, throughputTokS: 10, config: 'w5' },
    { replica: 'A', policy: 'window', windowMs: 200, e2eP99: 3, throughputTokS: 30, config: 'w200' },
    { replica: 'A', policy: 'chunked', windowMs: null, e2eP99: 0.5, throughputTokS: 5, config: 'c' },
  ];
  const fig = servingFrontierChart(rows, rows, { groupBy: 'replica' });
  assert.deepEqual((fig.data.at(-1) as { text: string[] }).text, ['W = 0, 5 ms', '', 'W = 200 ms', 'chunked']);
});

test('servingFrontierChart gives settings within 3 % of each other one label, and keeps points 10 % apart separate', () => {
  const rows = [
    { replica: 'A', policy: 'window', windowMs: 0, e2eP99: 1, throughputTokS: 100, config: 'w0' },
    { replica: 'A', policy: 'window', windowMs: 10, e2eP99: 1.02, throughputTokS: 101, config: 'w10' },
    { replica: 'A', policy: 'window', windowMs: 50, e2eP99: 1.1, throughputTokS: 110, config: 'w50' },
  ];
  assert.deepEqual((servingFrontierChart(rows, rows).data.at(-1) as { text: string[] }).text, ['W = 0, 10 ms', '', 'W = 50 ms']);
});

test('servingFrontierChart on a benchmark table\'s millisecond column (p99TtftMs) plots seconds, as its axis ticks say, and names the metric', () => {
  const rows = [
    { clients: 1, policy: 'continuous', p99TtftMs: 20, outputThroughput: 100, config: 'n1' },
    { clients: 64, policy: 'continuous', p99TtftMs: 500, outputThroughput: 3000, config: 'n64' },
  ];
  const fig = servingFrontierChart(rows, rows, { latency: 'p99TtftMs', throughput: 'outputThroughput' });
  assert.deepEqual((fig.data[0] as { x: number[] }).x, [0.02, 0.5]);
  const axis = fig.layout.xaxis as { title: { text: string }; ticktext?: string[] };
  assert.equal(axis.title.text, 'p99 time to first token');
  // The ticks read in ms where the values are: 20 ms, not 20 s.
  assert.ok(axis.ticktext?.some((t) => /^\d+ ms$/.test(t)), String(axis.ticktext));
  assert.ok(!axis.ticktext?.some((t) => /^(20|50|100|200|500) s$/.test(t)), String(axis.ticktext));
});

test('publishedCurvesChart draws published markers and predicted lines per curve, ITL on the right axis', () => {
  const pt = (n: number, tok: number) => ({ concurrency: n, published: { itlMs: 10, outputTokensPerSecond: tok }, predicted: { itlMs: 11, outputTokensPerSecond: tok * 0.9 } });
  const fig = publishedCurvesChart([{ label: 'a', points: [pt(1, 100), pt(8, 700)] }, { label: 'b', points: [pt(1, 50)] }]);
  // Four traces per curve: throughput published/predicted, ITL published/predicted; then the two ITL legend keys.
  assert.equal(fig.data.length, 10);
  assert.deepEqual(fig.data.slice(8).map((d) => (d as { name: string }).name), ['ITL published (right axis, each curve in its colour)', 'ITL predicted (right axis, dotted)']);
  // A curve simulated exactly as an earlier one is dashed and names it, instead of hiding under it.
  const twin = publishedCurvesChart([{ label: 'a', points: [pt(1, 100), pt(8, 700), pt(64, 900)] }, { label: 'a again', points: [pt(1, 100), pt(8, 700)] }]).data[5] as { name: string; line: { dash?: string } };
  assert.equal(twin.line.dash, 'dash');
  assert.match(twin.name, /^a again — predicted \(simulated; the same as a's, dashed\)$/);
  const [pub, pred, itlPub] = fig.data as Array<{ mode: string; y: number[]; yaxis?: string }>;
  assert.equal(pub.mode, 'markers');
  assert.equal(pred.mode, 'lines');
  assert.deepEqual(pred.y, [90, 630]);
  assert.equal(itlPub.yaxis, 'y2');
  assert.throws(() => publishedCurvesChart([]), InputError);
  assert.throws(() => publishedCurvesChart([{ label: 'x', points: [] }]), (e: unknown) => e instanceof InputError && e.field === 'curves[0].points');
});
