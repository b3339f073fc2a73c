import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from './run.js';

test('batchlab pipeline: the closed form (S−1)/(m+S−1) and the simulated bubble agree on stages of equal layers, and an uneven split is named where they differ', async () => {
  // 64 layers over 8 stages, 8 micro-batches: (8 − 1) / (8 + 8 − 1) = 46.7 % both ways.
  const even = JSON.parse((await run(['--json', 'pipeline', '--layers', '64'])).out);
  assert.ok(Math.abs(even.closedFormBubble - 7 / 15) < 1e-12);
  assert.ok(Math.abs(even.simulatedBubble - even.closedFormBubble) < 1e-9, `${even.simulatedBubble}`);
  assert.doesNotMatch((await run(['pipeline', '--layers', '64'])).out, /do not split evenly/);
  // DeepSeek-V3's 61 layers over 8 stages hold 7 or 8 each: the simulated bubble is the uneven schedule's, and the output says why.
  const uneven = await run(['pipeline']);
  assert.match(uneven.out, /\nthe 61 layers do not split evenly over 8 stages \(7 or 8 each\)/);
});
