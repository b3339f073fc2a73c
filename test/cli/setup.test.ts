import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './run.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('batchlab setup --plan targets the checkout itself and plans the wheel scripts/setup.mjs --plan plans', async () => {
  const r = await run(['--json', 'setup', '--plan']);
  assert.equal(r.code, 0, r.err);
  const plan = JSON.parse(r.out) as { project: string; package: string; installed: boolean; wheel: string; version: string; cudaLibraries: boolean };
  // In a checkout batchlab is its own project, and the binding's package is a devDependency.
  assert.equal(plan.project, root);
  assert.equal(plan.installed, true);
  assert.equal(plan.package, '@tensorflow/tfjs-node-gpu@4.22.0'); // package.json peerDependencies
  const script = spawnSync(process.execPath, [join(root, 'scripts', 'setup.mjs'), '--plan'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(script.status, 0, script.stderr);
  const expected = JSON.parse(script.stdout) as { wheel: string; version: string; cudaLibraries: boolean };
  assert.deepEqual({ wheel: plan.wheel, version: plan.version, cudaLibraries: plan.cudaLibraries }, { wheel: expected.wheel, version: expected.version, cudaLibraries: expected.cudaLibraries });
});

test('batchlab setup --project refuses a missing folder and a folder without package.json, naming the flag', async () => {
  const missing = await run(['setup', '--plan', '--project', join(tmpdir(), 'batchlab-no-such-project')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--project/);
  const empty = mkdtempSync(join(tmpdir(), 'batchlab-setup-'));
  try {
    const r = await run(['setup', '--plan', '--project', empty]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--project.*package\.json/);
    // A package.json that is a folder is no manifest; an empty --project is no folder (it meant the working folder).
    mkdirSync(join(empty, 'package.json'));
    const dir = await run(['setup', '--plan', '--project', empty]);
    assert.equal(dir.code, 2);
    assert.match(dir.err, /a package\.json \(a regular file\)/);
    const blank = await run(['setup', '--plan', '--project', '']);
    assert.equal(blank.code, 2);
    assert.equal(blank.err, 'batchlab: --project must be an existing folder holding a package.json; got ""');
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
