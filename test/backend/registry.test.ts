import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { detectBackends, selectBackend, deviceInfo, BACKEND_NAMES } from '../../lib/backend/index.js';

test('detectBackends() reports every backend, best first, each with a reason', async () => {
  const s = await detectBackends();
  assert.deepEqual(s.map((b) => b.name), [...BACKEND_NAMES]);
  for (const b of s) assert.ok(b.reason.length > 10, `${b.name} has a reason`);
  // The pure-JS backend ships inside @tensorflow/tfjs: it is always there.
  assert.equal(s.find((b) => b.name === 'cpu')?.available, true);
});

test('the native tensorflow backend is built and selected by default on this machine', async (t) => {
  // scripts/setup.mjs builds the binding; BATCHLAB_NATIVE=off is the documented opt-out.
  if (process.env.BATCHLAB_NATIVE === 'off') return t.skip('BATCHLAB_NATIVE=off: the native binding is opted out');
  const logs: string[] = [];
  const sel = await selectBackend('auto', { log: (l) => logs.push(l) });
  assert.ok(sel.name === 'tensorflow' || sel.name === 'tensorflow-gpu', logs.join('\n'));
  assert.equal(sel.tf.getBackend(), 'tensorflow');
  assert.match(logs.at(-1) ?? '', /using backend tensorflow/);
});

test('selectBackend(name) rejects an unknown backend name', async () => {
  await assert.rejects(selectBackend('tpu' as never), /backend must be one of auto, tensorflow-gpu, tensorflow, wasm, cpu; got "tpu"/);
});

// The per-backend GEMM correctness suite, every layout the harness times, is gemm-layouts.test.ts.

test('deviceInfo() carries host, cores and tfjs versions for provenance', async () => {
  await selectBackend('cpu', { log: () => {} });
  const d = await deviceInfo();
  assert.equal(d.backend, 'cpu');
  assert.ok(d.cores >= 1);
  assert.match(d.versions['tfjs-core'], /^\d+\.\d+\.\d+$/);
  assert.match(d.device, /^cpu: /);
});

test('when the native binding cannot load, batchlab falls back to wasm with a clear message', () => {
  // A real load failure in a fresh process (a process holds one engine, so it cannot be
  // unloaded here): the native package name points at a module that does not exist.
  const script = `import('./lib/backend/index.ts').then(async (b) => { const s = await b.selectBackend(); console.log('CHOSEN=' + s.name); })`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, BATCHLAB_NATIVE_PACKAGE: 'batchlab-no-such-native-package', BATCHLAB_BACKEND: 'auto' },
    timeout: 60_000,
  });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  assert.match(out, /CHOSEN=wasm/);
  assert.match(out, /backend tensorflow unavailable: batchlab-no-such-native-package did not load/);
  assert.match(out, /falling back to wasm/);
});
