import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { batchlabRoot, projectRelativePath } from '../../lib/util/package-root.js';
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
