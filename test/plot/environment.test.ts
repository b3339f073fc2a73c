import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchLatencyThroughputChart } from '../../lib/plot/environment.js';

test('batchLatencyThroughputChart(points) plots ms on y and tokens/s = M / median on y2, sorted by M', () => {
  const fig = batchLatencyThroughputChart([
    { m: 8, median_s: 0.004, p10_s: 0.0039, p90_s: 0.0042 },
    { m: 1, median_s: 0.002, p10_s: 0.0019, p90_s: 0.0025 },
  ]);
  const [lat, tps] = fig.data as Array<{ x: number[]; y: number[]; yaxis?: string; error_y: { array: number[]; arrayminus: number[] } }>;
  assert.deepEqual(lat.x, [1, 8]);
  assert.deepEqual(lat.y, [2, 4]); // 0.002 s = 2 ms
  // tokens/s = M / seconds: 1 / 0.002 = 500, 8 / 0.004 = 2000
  assert.deepEqual(tps.y, [500, 2000]);
  assert.equal(tps.yaxis, 'y2');
  assert.ok(Math.abs(lat.error_y.array[0] - 0.5) < 1e-9 && Math.abs(lat.error_y.arrayminus[0] - 0.1) < 1e-9);
  assert.equal((fig.layout.xaxis as { type: string }).type, 'log');
});
