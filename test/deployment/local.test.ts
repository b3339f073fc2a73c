import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, paramCounts, kvBytesPerToken } from '../../lib/models/index.js';
import { loadHardware } from '../../lib/hardware/index.js';
import { listLocalSetups, loadLocalSetup, localDecode, singleDeviceSetup } from '../../lib/deployment/local.js';
import { expectedActiveExperts } from '../../lib/models/ops.js';
import { InputError } from '../../lib/util/errors.js';

const ds = loadModel('deepseek-v3');

test('listLocalSetups(): every number of every setup names its source; devices come from the hardware catalog', () => {
  const all = listLocalSetups();
  assert.ok(all.length >= 4);
  for (const s of all) {
    for (const k of ['hostMemoryBytes', 'hostBytesPerSecond', 'hostLinkBytesPerSecond', 'ssdBytesPerSecond', 'ssdBytes', 'hourlyCostUsd']) assert.ok(s.sources[k]?.source.length > 10, `${s.id} ${k}`);
    assert.ok(s.device.memoryCapacityBytes > 0);
  }
  // Apple Mac Studio (2025) specifications: 512 GB at 819 GB/s.
  const mac = loadLocalSetup('mac-studio-m3-ultra');
  assert.equal(mac.device.memoryCapacityBytes, 512e9);
  assert.equal(mac.device.memoryBytesPerSecond, 819e9);
  assert.throws(() => loadLocalSetup('nope'), (e: unknown) => e instanceof InputError && /rtx-4090-desktop/.test(e.message));
});

test('localDecode(): DeepSeek-V3 without offload on one RTX 4090 is refused, naming the shortfall', () => {
  const s = loadLocalSetup('rtx-4090-desktop');
  // 671.0 B parameters at 8 bits = 671.0 GB + KV of 4096 tokens (70,272 B each in bf16) = 0.29 GB; 24 GB on the card.
  const need = paramCounts(ds).total + 4096 * kvBytesPerToken(ds, 'bf16');
  assert.throws(
    () => localDecode(ds, s, { bitsPerWeight: 8, context: 4096, offload: 'none' }),
    (e: unknown) => e instanceof InputError && e.field === 'memory' && new RegExp(`short by ${((need - 24e9) / 1e9).toFixed(1)} GB`).test(e.message),
  );
  // With offload, a setup whose device + host + SSD cannot hold it either is refused with its own shortfall.
  const tiny = { ...s, ssdBytes: 0, hostMemoryBytes: 64e9 };
  assert.throws(() => localDecode(ds, tiny, { bitsPerWeight: 8, context: 4096 }), (e: unknown) => e instanceof InputError && /short by/.test(e.message));
});

test('localDecode() on unified memory: one tier, bytes per token = always-used weights + reached experts + KV, at 819 GB/s', () => {
  const mac = loadLocalSetup('mac-studio-m3-ultra');
  const bits = 4.8;
  const r = localDecode(ds, mac, { bitsPerWeight: bits, context: 4096, batch: 1 });
  assert.equal(r.tiers.length, 1);
  const p = paramCounts(ds);
  // One token reaches 8 of 256 experts per layer (expectedActiveExperts(256, 8, 1) = 8).
  const bytes = (p.total - p.routedExperts) * (bits / 8) + p.routedExperts * (bits / 8) * (expectedActiveExperts(256, 8, 1) / 256) + 4096 * kvBytesPerToken(ds, 'bf16');
  assert.ok(Math.abs(r.tiers[0].bytesPerStep - bytes) / bytes < 1e-12);
  assert.ok(Math.abs(r.stepSeconds - Math.max(bytes / 819e9, r.tiers[0].seconds)) / r.stepSeconds < 1e-12);
  assert.equal(r.offloadedBytes, 0);
  // $/M output tokens: $0.361 per hour / (3600 s × tokens/s) × 1e6.
  assert.ok(Math.abs(r.usdPerMillionOutput - (0.361 / 3600 / r.tokensPerSecond) * 1e6) < 1e-9);
});

test('localDecode(): offloading to slower tiers slows a token; a larger batch raises total throughput but not per-user speed', () => {
  const s = loadLocalSetup('rtx-4090-desktop');
  const r1 = localDecode(ds, s, { bitsPerWeight: 4.8, context: 2048, batch: 1 });
  assert.deepEqual(r1.tiers.map((t) => t.tier), ['device', 'host', 'ssd']);
  assert.ok(r1.offloadedBytes > 0);
  const stream = localDecode(ds, s, { bitsPerWeight: 4.8, context: 2048, batch: 1, hostCompute: 'stream' });
  // Streaming over PCIe 4.0 (31.5 GB/s) is slower than the CPU reading DDR5 at 89.6 GB/s.
  assert.ok(stream.stepSeconds > r1.stepSeconds);
  const r8 = localDecode(ds, loadLocalSetup('mac-studio-m3-ultra'), { bitsPerWeight: 4.8, context: 2048, batch: 8 });
  const m1 = localDecode(ds, loadLocalSetup('mac-studio-m3-ultra'), { bitsPerWeight: 4.8, context: 2048, batch: 1 });
  assert.ok(r8.tokensPerSecond > m1.tokensPerSecond);
  assert.ok(r8.tokensPerSecondPerUser < m1.tokensPerSecondPerUser);
  assert.throws(() => localDecode(ds, s, { bitsPerWeight: 0, context: 1 }), (e: unknown) => e instanceof InputError && e.field === 'bitsPerWeight');
});

test('singleDeviceSetup(): a catalog device alone holds a small model without offload', () => {
  const r = localDecode(loadModel('llama-3.1-8b'), singleDeviceSetup(loadHardware('rtx-4090')), { bitsPerWeight: 8, context: 1024, offload: 'none' });
  assert.equal(r.offloadedBytes, 0);
  assert.ok(r.tokensPerSecondPerUser > 50 && r.tokensPerSecondPerUser < 200);
});
