import { test } from 'node:test';
import assert from 'node:assert/strict';
import { machineFingerprint, machineId, nativeStackVersions, thisMachineFacts } from '../../lib/util/index.js';

const facts = { cpuModel: 'AMD EPYC 9B14', cores: 2, memoryGib: 8, accelerator: 'none' };

test('machineId depends on the hardware facts only: same facts, same id, on any host name', () => {
  assert.equal(machineId(facts), machineId({ ...facts }));
  assert.match(machineId(facts), /^amd-epyc-9b14-2c-8g-[0-9a-f]{8}$/);
  for (const other of [{ cores: 4 }, { memoryGib: 16 }, { accelerator: '1x NVIDIA H200' }, { cpuModel: 'Intel Xeon' }]) {
    assert.notEqual(machineId({ ...facts, ...other }), machineId(facts), JSON.stringify(other));
  }
  assert.match(machineId({ ...facts, accelerator: '8x NVIDIA H200' }), /-nvidia-h200-/);
});

test('machineFingerprint adds backend and the versions that change a GEMM, not node or batchlab', () => {
  const a = machineFingerprint(facts, { backend: 'tensorflow', versions: { 'tfjs-core': '4.22.0', tensorflow: '2.21.0', node: '20.1' } });
  assert.equal(a.machine, machineId(facts));
  assert.ok(a.fingerprint.startsWith(`${a.machine}-`));
  assert.equal(machineFingerprint(facts, { backend: 'tensorflow', versions: { 'tfjs-core': '4.22.0', tensorflow: '2.21.0', node: '22.0' } }).fingerprint, a.fingerprint);
  assert.notEqual(machineFingerprint(facts, { backend: 'wasm', versions: { 'tfjs-core': '4.22.0', tensorflow: '2.21.0' } }).fingerprint, a.fingerprint);
  assert.notEqual(machineFingerprint(facts, { backend: 'tensorflow', versions: { 'tfjs-core': '4.22.0', tensorflow: '2.21.0', cudnn: '9.1' } }).fingerprint, a.fingerprint);
});

test('thisMachineFacts reads this machine: positive cores and memory, a CPU model, an accelerator or "none"', () => {
  const f = thisMachineFacts();
  assert.ok(f.cores >= 1 && f.memoryGib >= 0 && f.cpuModel.length > 0 && f.accelerator.length > 0);
  const v = nativeStackVersions();
  for (const x of Object.values(v)) assert.equal(typeof x, 'string');
});
