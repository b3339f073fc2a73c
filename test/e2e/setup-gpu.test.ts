// The GPU route of scripts/setup.mjs, checked on a machine without a GPU: a stand-in
// `nvidia-smi` on PATH reports an H200. Set-up must then pick the CUDA-enabled
// TensorFlow wheel and its CUDA libraries from PyPI, and must refuse loudly when the
// binding it finds does not use the GPU it sees. No wheel is downloaded here: `--plan`
// prints the choice, and the refusal comes from the already-built CPU binding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const setup = join(root, 'scripts', 'setup.mjs');

function fakeNvidiaSmi(): string {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-fake-gpu-'));
  const bin = join(dir, 'nvidia-smi');
  writeFileSync(
    bin,
    '#!/bin/sh\nif [ "$1" = "--query-gpu=name,driver_version" ]; then echo "NVIDIA H200, 570.86.15"; exit 0; fi\necho "| NVIDIA-SMI 570.86.15  Driver Version: 570.86.15  CUDA Version: 12.8 |"\n',
  );
  chmodSync(bin, 0o755);
  return dir;
}

function runSetup(args: string[], env: Record<string, string | undefined>) {
  const clean = { ...process.env };
  delete clean.BATCHLAB_TF_WHEEL;
  delete clean.BATCHLAB_GPU;
  delete clean.BATCHLAB_CUDA_LIBS;
  return spawnSync(process.execPath, [setup, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...clean, ...env } });
}

test('setup --plan picks the CUDA-enabled wheel and CUDA libraries when nvidia-smi sees a GPU, the CPU wheel otherwise', () => {
  const fake = fakeNvidiaSmi();
  const gpu = runSetup(['--plan'], { PATH: `${fake}:${process.env.PATH}` });
  assert.equal(gpu.status, 0, gpu.stderr);
  const plan = JSON.parse(gpu.stdout);
  assert.deepEqual(plan.gpu, { name: 'NVIDIA H200', driver: '570.86.15', cuda: '12.8', count: 1 });
  assert.equal(plan.wheel, 'tensorflow');
  assert.equal(plan.cudaLibraries, true);
  // BATCHLAB_GPU=off builds for the CPU on purpose, GPU or not.
  const off = JSON.parse(runSetup(['--plan'], { PATH: `${fake}:${process.env.PATH}`, BATCHLAB_GPU: 'off' }).stdout);
  assert.equal(off.gpu, null);
  assert.equal(off.wheel, 'tensorflow-cpu');
  assert.equal(off.cudaLibraries, false);
});

test('setup fails loudly, naming the GPU and the way out, when a GPU is visible but the binding runs on the CPU', (t) => {
  if (!existsSync(join(root, '.cache', 'native-tensorflow.json'))) {
    t.skip('no native binding has been built here (BATCHLAB_NATIVE=off?)');
    return;
  }
  // The built CPU binding, kept by naming its wheel: set-up must not accept it silently.
  const r = runSetup([], { PATH: `${fakeNvidiaSmi()}:${process.env.PATH}`, BATCHLAB_TF_WHEEL: 'tensorflow-cpu' });
  assert.notEqual(r.status, 0);
  const said = `${r.stdout}${r.stderr}`;
  assert.match(said, /nvidia-smi sees 1x NVIDIA H200 .* does not use it/);
  assert.match(said, /BATCHLAB_GPU=off node scripts\/setup\.mjs --force-native/);
});
