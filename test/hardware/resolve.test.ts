import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hardwareWithPrice, loadHardware, resolveHardware } from '../../lib/hardware/spec.js';
import { batchlabRoot } from '../../lib/util/package-root.js';
import { InputError } from '../../lib/util/errors.js';

test('resolveHardware(ref): a catalog id is the catalog entry; a file in the same schema is read and validated like one', () => {
  assert.deepEqual(resolveHardware('h100-sxm'), loadHardware('h100-sxm'));
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-hw-'));
  try {
    const j = JSON.parse(readFileSync(join(batchlabRoot(), 'data/hardware/h200.json'), 'utf8'));
    const file = join(dir, 'lab-h200.json');
    writeFileSync(file, JSON.stringify({ ...j, id: 'lab-h200' }));
    const hw = resolveHardware(file, '--hardware');
    assert.equal(hw.id, 'lab-h200');
    // data/hardware/h200.json: 4.8 TB/s HBM3e.
    assert.equal(hw.memoryBytesPerSecond, 4.8e12);
    // A device of one's own need not state a rental price: it reads as 0, and the source says the file gave none.
    const { hourlyPriceUsd: _, ...unpriced } = j;
    writeFileSync(file, JSON.stringify({ ...unpriced, id: 'lab-h200' }));
    const own = resolveHardware(file, '--hardware');
    assert.equal(own.hourlyPriceUsd, 0);
    assert.deepEqual(own.sources.hourlyPriceUsd, { source: 'not stated', notes: 'the hardware file gives no hourly price' });
    writeFileSync(file, JSON.stringify({ ...j, peakFlops: { bf16: { value: 1e15 } } }));
    assert.throws(() => resolveHardware(file, '--hardware'), (e: unknown) => e instanceof InputError && e.field === `--hardware ${file}: peakFlops.bf16.source`);
    writeFileSync(file, '[');
    assert.throws(() => resolveHardware(file, '--hardware'), (e: unknown) => e instanceof InputError && /valid JSON/.test(e.message));
    assert.throws(() => resolveHardware(dir, '--hardware'), (e: unknown) => e instanceof InputError && /it is a folder/.test(e.message));
    assert.throws(() => resolveHardware('h999', '--hardware'), (e: unknown) => e instanceof InputError && e.field === '--hardware' && /catalog id \(a100-80gb/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hardwareWithPrice(hw, usd, by): replaces the price and its source, nothing else; a negative price is an InputError', () => {
  const base = loadHardware('h100-sxm');
  const hw = hardwareWithPrice(base, 1.5, '--usd-per-hour');
  assert.equal(hw.hourlyPriceUsd, 1.5);
  assert.deepEqual(hw.sources.hourlyPriceUsd, { source: 'given by the user', notes: '--usd-per-hour' });
  assert.deepEqual({ ...hw, hourlyPriceUsd: 0, sources: {} }, { ...base, hourlyPriceUsd: 0, sources: {} });
  assert.notEqual(base.hourlyPriceUsd, 1.5, 'the catalog entry is not changed');
  assert.throws(() => hardwareWithPrice(base, -1, 'x'), InputError);
});
