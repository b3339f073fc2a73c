import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { notebookProfile } from '../../lib/report/index.js';

const notebooksDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'notebooks');
// Notebooks that still pick sizes by the profile's name; delete an entry once it reads them from the profile.
const STILL_BRANCHING = new Set<string>();

test('notebookProfile(name) gives thorough at least the sizes of quick', () => {
  const q = notebookProfile('quick');
  const t = notebookProfile('thorough');
  assert.ok(t.workbenchK >= q.workbenchK);
  assert.ok(t.gemmTiming.minTimeMs >= q.gemmTiming.minTimeMs && t.gemmTiming.minReps >= q.gemmTiming.minReps);
  assert.ok(t.expertBenchTiming.minTimeMs >= q.expertBenchTiming.minTimeMs);
  for (const key of ['gemmShapes', 'oneVsManyBatches', 'rooflineBatches', 'loads', 'pipelineMicroBatches'] as const) assert.ok(t[key].length >= q[key].length, key);
  for (const key of ['probeReps', 'machineProbeRepeats', 'routingSweepTrials', 'groupRoutingTrials', 'imbalanceSteps', 'trials', 'simRequests'] as const) assert.ok(t[key] >= q[key], key);
});

test('notebookProfile() returns a copy: editing one profile leaves the next call unchanged', () => {
  const a = notebookProfile('quick');
  a.oneVsManyBatches.push(1024);
  a.workbenchK = 1;
  const b = notebookProfile('quick');
  assert.equal(b.workbenchK, 2048);
  assert.ok(!b.oneVsManyBatches.includes(1024));
});

test('notebooks read sizes from the profile instead of branching on profile.name', () => {
  const offenders = readdirSync(notebooksDir)
    .filter((f) => f.endsWith('.ipynb') && !STILL_BRANCHING.has(f))
    .filter((f) => {
      const nb = JSON.parse(readFileSync(join(notebooksDir, f), 'utf8')) as { cells: Array<{ cell_type: string; source: string | string[] }> };
      return nb.cells.some((c) => c.cell_type === 'code' && /profile\.name\s*[!=]==?|profile\.scale/.test(Array.isArray(c.source) ? c.source.join('') : c.source));
    });
  assert.deepEqual(offenders, []);
});
