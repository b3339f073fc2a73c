import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, utimesSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMeasuredRoofline } from '../../lib/hardware/index.js';

test('findMeasuredRoofline() returns the newest saved fit and skips files that hold none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-measured-'));
  try {
    assert.equal(findMeasuredRoofline(dir), undefined);
    assert.equal(findMeasuredRoofline(join(dir, 'absent')), undefined);
    const fit = { overheadSeconds: 1e-5, peakFlopsPerSecond: 5e10, bytesPerSecond: 1e10, dtype: 'fp32', label: 'old' };
    writeFileSync(join(dir, 'old.json'), JSON.stringify(fit));
    utimesSync(join(dir, 'old.json'), new Date(1000), new Date(1000));
    writeFileSync(join(dir, 'new.json'), JSON.stringify({ fit: { ...fit, label: 'new' }, points: [] }));
    utimesSync(join(dir, 'new.json'), new Date(2000), new Date(2000));
    writeFileSync(join(dir, 'newest-broken.json'), '{ "fit": ');
    writeFileSync(join(dir, 'newest-other.json'), JSON.stringify({ fit: { ...fit, bytesPerSecond: -1 } }));
    assert.equal(findMeasuredRoofline(dir)?.label, 'new');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
