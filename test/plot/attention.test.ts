import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionStrategiesChart, raggedPredictionChart, decodeTrafficChart, kvBatchLimitChart, disaggregationChart } from '../../lib/plot/attention.js';
import type { AttentionRow } from '../../lib/attention/index.js';
import { gqaShape, raggedStrategyTable } from '../../lib/attention/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { rooflineMatmulCost } from '../../lib/roofline/index.js';
import { loadModel, decodeTraffic, kvBatchLimits } from '../../lib/models/index.js';

const row = (strategy: AttentionRow['strategy'], spread: string, median: number): AttentionRow =>
  ({ case: 'decode-attention', strategy, spread, batch: 8, median_s: median, p10_s: median * 0.9, p90_s: median * 1.2, kernels: 1 }) as AttentionRow;

test('attentionStrategiesChart() plots each strategy relative to padding in the same case', () => {
  const fig = attentionStrategiesChart([row('padded', 'equal', 2e-3), row('exact-shape', 'equal', 1e-3), row('padded', 'wide', 4e-3), row('exact-shape', 'wide', 6e-3)]);
  assert.deepEqual(fig.data.map((d) => d.name), ['exact-shape', 'padded']);
  assert.deepEqual(fig.data[0].y, [0.5, 1.5]);
  assert.deepEqual(fig.data[1].y, [1, 1]);
  assert.deepEqual(fig.data[0].x, ['equal, B=8', 'wide, B=8']);
  assert.equal(fig.layout.barmode, 'group');
  assert.throws(() => attentionStrategiesChart([]), /rows/);
});

test('raggedPredictionChart(), decodeTrafficChart(), kvBatchLimitChart() carry their rows', () => {
  const shape = gqaShape({ hiddenSize: 8192, heads: 64, kvHeads: 8, headDim: 128, layers: 80 });
  const rows = raggedStrategyTable(shape, { lengths: [100, 900, 2000], dtype: 'bf16', cost: rooflineMatmulCost(loadHardware('h100-sxm'), 'bf16'), launchSeconds: 4e-6 });
  const fig = raggedPredictionChart(rows);
  assert.deepEqual(fig.data[0].x, ['per-sequence', 'exact-shape', 'padded', 'bucketed', 'ragged']);
  assert.equal((fig.data[0].y as number[])[4], rows[4].seconds * 1e3);
  const llama = loadModel('llama-3.1-70b');
  const t = decodeTrafficChart(decodeTraffic(llama, { batch: 8, contexts: [1024, 4096], dtype: 'bf16' }));
  assert.deepEqual(t.data[0].x, [1024, 4096]);
  assert.equal((t.layout.xaxis as { type: string }).type, 'log');
  const k = kvBatchLimitChart(kvBatchLimits([{ model: llama, hardware: loadHardware('h200'), devices: 4, dtype: 'bf16' }], { contexts: [2048, 8192] }));
  assert.equal(k.data.length, 1);
  assert.equal((k.data[0].y as number[]).length, 2);
  const d = disaggregationChart([{ layout: 'a', attentionDevices: 1, ffnDevices: 1, batch: 1, stepSeconds: 1, tokensPerSecondPerDevice: 5, maxBatch: 3, bound: 'ffn', linkGBpsToHide: 0, parkedActivationMB: 0 }]);
  assert.deepEqual(d.data[0].y, [5]);
});
