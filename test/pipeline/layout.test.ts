import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineLayout, pipelineLayerSeconds } from '../../lib/pipeline/index.js';
import { InputError } from '../../lib/util/index.js';

test('pipelineLayout splits 61 layers evenly, the first stages taking the remainder', () => {
  // 61 = 4·15 + 1 and 61 = 8·7 + 5 and 61 = 16·3 + 13 (DeepSeek-V3's num_hidden_layers = 61).
  assert.deepEqual(pipelineLayout({ layers: 61, stages: 4, layerSeconds: 1 }).virtualLayers, [16, 15, 15, 15]);
  assert.deepEqual(pipelineLayout({ layers: 61, stages: 8, layerSeconds: 1 }).virtualLayers, [8, 8, 8, 8, 8, 7, 7, 7]);
  const l16 = pipelineLayout({ layers: 61, stages: 16, layerSeconds: 1 });
  assert.equal(l16.virtualLayers.filter((n) => n === 4).length, 13);
  assert.equal(l16.virtualLayers.reduce((a, b) => a + b, 0), 61);
});

test('pipelineLayout prices stages from per-layer seconds given as number, array or function', () => {
  const per = [1, 2, 3, 4, 5, 6];
  const fromArray = pipelineLayout({ layers: 6, stages: 3, layerSeconds: per });
  // Stage sums of consecutive layers: 1+2, 3+4, 5+6.
  assert.deepEqual(fromArray.stageSeconds, [3, 7, 11]);
  const fromFn = pipelineLayout({ layers: 6, stages: 3, layerSeconds: (i) => i + 1 });
  assert.deepEqual(fromFn.stageSeconds, fromArray.stageSeconds);
  const byAssignment = pipelineLayout({ layers: 6, stages: 2, layerSeconds: per, assignment: [4, 2] });
  assert.deepEqual(byAssignment.stageSeconds, [10, 11]); // 1+2+3+4 and 5+6
});

test('pipelineLayout with v chunks places virtual stage j on device j mod S', () => {
  // 8 layers, S = 2, v = 2: chunks [0,1] [2,3] [4,5] [6,7]; device 0 holds chunks 0 and 2.
  const l = pipelineLayout({ layers: 8, stages: 2, layerSeconds: (i) => 2 ** i }, 2);
  assert.deepEqual(l.virtualLayers, [2, 2, 2, 2]);
  assert.deepEqual(l.stageSeconds, [1 + 2 + 16 + 32, 4 + 8 + 64 + 128]);
});

test('pipelineLayout rejects bad input naming the field', () => {
  const base = { layers: 8, stages: 4, layerSeconds: 1 };
  assert.throws(() => pipelineLayout({ ...base, stages: 0 }), (e: unknown) => e instanceof InputError && e.field === 'stages');
  assert.throws(() => pipelineLayout({ ...base, layers: 3 }), (e: unknown) => e instanceof InputError && e.field === 'layers');
  assert.throws(() => pipelineLayout({ ...base, layerSeconds: -1 }), /layerSeconds must be a finite number in \[1e-12, 1000000\]/);
  assert.throws(() => pipelineLayout({ ...base, layerSeconds: [1, 2] }), (e: unknown) => e instanceof InputError && e.field === 'layerSeconds');
  assert.throws(() => pipelineLayout({ ...base, layerSeconds: (i) => (i === 3 ? NaN : 1) }), /layerSeconds\(3\) must be/);
  assert.throws(() => pipelineLayout({ ...base, assignment: [2, 2, 2] }), (e: unknown) => e instanceof InputError && e.field === 'assignment');
  assert.throws(() => pipelineLayout({ ...base, assignment: [2, 2, 2, 3] }), /sum to 9/);
  assert.throws(() => pipelineLayout({ ...base, assignment: [4, 4, 0, 0] }), /assignment\[2\] must be an integer in \[1/);
  assert.throws(() => pipelineLayout({ ...base, transferSeconds: Infinity }), (e: unknown) => e instanceof InputError && e.field === 'transferSeconds');
  assert.throws(() => pipelineLayout({ ...base, layerSeconds: 'fast' as never }), (e: unknown) => e instanceof InputError && e.field === 'layerSeconds');
});

test('pipelineLayerSeconds divides a whole-model step cost evenly over the layers', () => {
  const work = { prefillTokens: 0, decodeTokens: 32, contextTokens: 32 * 1024 };
  // A step that costs 1 ms per 16 sequences: 2 ms for 32, so 2/61 ms per layer.
  const cost = (w: typeof work) => 1e-3 * (w.decodeTokens / 16);
  assert.equal(pipelineLayerSeconds(cost, work, 61), 2e-3 / 61);
  assert.throws(() => pipelineLayerSeconds(() => 0, work, 61), /stepCost\(work\) must be/);
  assert.throws(() => pipelineLayerSeconds(cost, work, 0), (e: unknown) => e instanceof InputError && e.field === 'layers');
});
