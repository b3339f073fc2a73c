import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineGanttChart, pipelineBubbleChart, pipelineWindowChart } from '../../lib/plot/pipeline.js';
import { pipelineSchedule, pipelineBubbleSweep, pipelineWindowSweep } from '../../lib/pipeline/index.js';
import { InputError } from '../../lib/util/index.js';

test('pipelineGanttChart draws one bar per slot, its bar lengths adding up to busy time', () => {
  const run = pipelineSchedule({ layers: 61, stages: 8, layerSeconds: 1e-4 }, { kind: 'fill-drain', microBatches: 13 });
  const fig = pipelineGanttChart(run);
  const bars = fig.data.flatMap((d) => d.x as number[]);
  assert.equal(bars.length, 13 * 8);
  const busyMs = run.busySeconds.reduce((a, b) => a + b, 0) * 1e3;
  assert.ok(Math.abs(bars.reduce((a, b) => a + b, 0) - busyMs) < 1e-9 * busyMs);
  // Bars end where the run ends: base + width of the latest bar is the makespan.
  const ends = fig.data.flatMap((d) => (d.base as number[]).map((b, i) => b + (d.x as number[])[i]));
  assert.ok(Math.abs(Math.max(...ends) - run.makespanSeconds * 1e3) < 1e-9);
  // One trace coloured by micro-batch index on a colour bar (the bar is the legend).
  assert.equal(fig.data.length, 1);
  const marker = fig.data[0].marker as { color: number[]; showscale: boolean; cmax: number };
  assert.deepEqual([...new Set(marker.color)].sort((a, b) => a - b), Array.from({ length: 13 }, (_, i) => i));
  assert.equal(marker.showscale, true);
  assert.equal(marker.cmax, 12);
  assert.equal((fig.layout.yaxis as { categoryarray: string[] }).categoryarray.length, 8);
  // Stages of 8,8,8,8,8,7,7,7 layers: tick = 61 + 12·8 = 157 layer-times, bubble 1 − 13·61/(8·157) = 36.9 %.
  assert.match((fig.layout.title as { text: string }).text, /bubble 36\.9 %/);
});

test('pipelineGanttChart clips to untilSeconds and refuses a window with too many bars', () => {
  const run = pipelineSchedule({ layers: 8, stages: 4, layerSeconds: 1e-3 }, { kind: 'streaming', requests: 4, tokens: 100 });
  const fig = pipelineGanttChart(run, { untilSeconds: 0.02, title: 'first 20 ms' });
  const n = fig.data.reduce((s, d) => s + (d.x as number[]).length, 0);
  assert.equal(n, run.timeline.filter((s) => s.start < 0.02).length);
  assert.ok(n < run.timeline.length);
  const big = pipelineSchedule({ layers: 16, stages: 16, layerSeconds: 1e-3 }, { kind: 'streaming', requests: 16, tokens: 100 });
  assert.throws(() => pipelineGanttChart(big), (e: unknown) => e instanceof InputError && e.field === 'untilSeconds');
});

test('pipelineBubbleChart plots simulated points and closed-form lines per stage count', () => {
  const rows = pipelineBubbleSweep({ layers: 61, stages: [4, 8, 16], microBatches: [1, 4, 16], layerSeconds: 1e-4 });
  const fig = pipelineBubbleChart(rows, { target: 0.1 });
  assert.equal(fig.data.length, 6);
  assert.deepEqual(fig.data[2].y, rows.filter((r) => r.stages === 8).map((r) => r.bubbleFraction));
  assert.equal((fig.layout.shapes as Array<{ y0: number }>)[0].y0, 0.1);
  assert.throws(() => pipelineBubbleChart([]), (e: unknown) => e instanceof InputError && e.field === 'rows');
});

test('pipelineWindowChart draws the window in seconds against arrival rate, one line per stage count', () => {
  const rows = pipelineWindowSweep({ stages: [4, 8], arrivalRates: [10, 100, 1000], targetBubble: 0.1, microBatchSize: 8 });
  const fig = pipelineWindowChart(rows);
  assert.equal(fig.data.length, 2);
  // S = 4 needs 27 micro-batches of 8: 216 requests, 21.6 s at 10/s.
  assert.ok(Math.abs((fig.data[0].y as number[])[0] - 21.6) < 1e-9);
  assert.equal((fig.layout.yaxis as { type: string }).type, 'log');
});
