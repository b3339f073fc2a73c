import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineTransferSeconds } from '../../lib/pipeline/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { loadModel } from '../../lib/models/index.js';
import { InputError } from '../../lib/util/errors.js';

test('pipelineTransferSeconds(tokens, hidden, bw) is tokens·hidden·bytes/bw, bf16 by default', () => {
  // 8 tokens · 7168 (DeepSeek-V3 hidden_size, config.json) · 2 B (bf16) / 900e9 B/s = 1.2743e-7 s, by hand.
  assert.ok(Math.abs(pipelineTransferSeconds({ tokens: 8, hiddenSize: 7168, bytesPerSecond: 900e9 }) - (8 * 7168 * 2) / 900e9) < 1e-22);
  // fp8 halves and fp32 doubles the bytes.
  const bf16 = pipelineTransferSeconds({ tokens: 8, hiddenSize: 7168, bytesPerSecond: 900e9 });
  assert.equal(pipelineTransferSeconds({ tokens: 8, hiddenSize: 7168, bytesPerSecond: 900e9, dtype: 'fp8' }), bf16 / 2);
  assert.equal(pipelineTransferSeconds({ tokens: 8, hiddenSize: 7168, bytesPerSecond: 900e9, dtype: 'fp32' }), bf16 * 2);
  assert.equal(pipelineTransferSeconds({ tokens: 0, hiddenSize: 7168, bytesPerSecond: 900e9 }), 0);
});

test('pipelineTransferSeconds takes the model and hardware catalogue values as they are', () => {
  const model = loadModel('deepseek-v3');
  const hw = loadHardware('h200');
  const t = pipelineTransferSeconds({ tokens: 8, hiddenSize: model.hiddenSize, bytesPerSecond: hw.intraNodeBytesPerSecond });
  assert.equal(t, (8 * model.hiddenSize * 2) / hw.intraNodeBytesPerSecond);
});

test('pipelineTransferSeconds rejects bad input naming the field', () => {
  const isInput = (field: string) => (e: unknown) => e instanceof InputError && e.field === field;
  assert.throws(() => pipelineTransferSeconds({ tokens: -1, hiddenSize: 8, bytesPerSecond: 1 }), isInput('tokens'));
  assert.throws(() => pipelineTransferSeconds({ tokens: 1, hiddenSize: 0, bytesPerSecond: 1 }), isInput('hiddenSize'));
  assert.throws(() => pipelineTransferSeconds({ tokens: 1, hiddenSize: 8, bytesPerSecond: 0 }), isInput('bytesPerSecond'));
  assert.throws(() => pipelineTransferSeconds({ tokens: 1, hiddenSize: 8, bytesPerSecond: 1, dtype: 'int4' as never }), isInput('dtype'));
});
