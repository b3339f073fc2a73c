import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { batchlabRoot, measuredDataDir, measuredDirFor, projectRelativePath } from '../../lib/util/package-root.js';
import { InputError } from '../../lib/util/errors.js';

test('projectRelativePath(path) is relative to the project inside it and the file name alone outside it', () => {
  // The project root is the folder of batchlab's package.json, two levels above this test.
  const root = resolve(import.meta.dirname, '..', '..');
  assert.equal(batchlabRoot(), root);
  assert.equal(projectRelativePath(join(root, 'data', 'measured', 'attention-x.csv')), 'data/measured/attention-x.csv');
  assert.equal(projectRelativePath(join(root, 'notebooks', '..', 'data', 'a.json')), 'data/a.json');
  // Outside: a sibling folder whose name starts with the root's, the root's parent, another tree.
  assert.equal(projectRelativePath(`${root}-other/data/a.csv`), 'a.csv');
  assert.equal(projectRelativePath(join(root, '..', 'b.csv')), 'b.csv');
  assert.equal(projectRelativePath('/tmp/batchlab-measured/c.csv'), 'c.csv');
  for (const bad of ['', undefined, 3]) assert.throws(() => projectRelativePath(bad as string), (e: unknown) => e instanceof InputError && e.field === 'path');
});

test('measuredDirFor(): BATCHLAB_MEASURED_DIR, else data/measured of a checkout, else the user data folder of an installed package', () => {
  assert.equal(measuredDirFor('/src/batchlab', {}, '/home/me'), join('/src/batchlab', 'data', 'measured'));
  assert.equal(measuredDirFor('/src/batchlab', { BATCHLAB_MEASURED_DIR: '/tmp/m' }, '/home/me'), '/tmp/m');
  // Installed as a dependency: a reinstall would delete what was saved inside node_modules.
  assert.equal(measuredDirFor('/app/node_modules/batchlab', {}, '/home/me'), '/home/me/.local/share/batchlab/measured');
  assert.equal(measuredDirFor('/app/node_modules/batchlab', { XDG_DATA_HOME: '/data' }, '/home/me'), '/data/batchlab/measured');
  // A relative XDG_DATA_HOME is ignored, as the XDG base directory specification says; an empty override too.
  assert.equal(measuredDirFor('/app/node_modules/batchlab', { XDG_DATA_HOME: 'rel', BATCHLAB_MEASURED_DIR: '' }, '/home/me'), '/home/me/.local/share/batchlab/measured');
  // This checkout is not installed: its own data/measured.
  assert.equal(measuredDataDir(), process.env.BATCHLAB_MEASURED_DIR || join(batchlabRoot(), 'data', 'measured'));
});
