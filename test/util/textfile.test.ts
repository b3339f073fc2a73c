import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRegularTextFile } from '../../lib/util/textfile.js';
import { InputError } from '../../lib/util/errors.js';

test('readRegularTextFile(): reads a regular file; refuses devices, folders and FIFOs before opening; caps by bytes read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-read-'));
  try {
    const f = join(dir, 'a.json');
    writeFileSync(f, '{"a":1}');
    assert.equal(readRegularTextFile('--x', f, 100), '{"a":1}');
    // 7 bytes against a cap of 6.
    assert.throws(() => readRegularTextFile('--x', f, 6), (e: unknown) => e instanceof InputError && e.field === '--x' && /at most 6 bytes/.test(e.message));
    assert.throws(() => readRegularTextFile('--x', '/dev/zero', 100), (e: unknown) => e instanceof InputError && /regular file/.test(e.message));
    assert.throws(() => readRegularTextFile('--x', dir, 100), (e: unknown) => e instanceof InputError && /a folder/.test(e.message));
    assert.throws(() => readRegularTextFile('--x', join(dir, 'missing'), 100), (e: unknown) => e instanceof InputError && /ENOENT/.test(e.message));
    try {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
    } catch {
      t.skip('mkfifo is not available');
      return;
    }
    // Opening a FIFO with no writer would block: it must be refused before that.
    assert.throws(() => readRegularTextFile('--x', join(dir, 'fifo'), 100), (e: unknown) => e instanceof InputError && /FIFO/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readRegularTextFile(): a /proc file that stat reports as 0 bytes is still read, and capped by what is read', (t) => {
  if (process.platform !== 'linux') {
    t.skip('needs /proc');
    return;
  }
  const text = readRegularTextFile('--x', '/proc/self/status', 1 << 20);
  assert.match(text, /^Name:/);
  assert.throws(() => readRegularTextFile('--x', '/proc/self/status', 10), (e: unknown) => e instanceof InputError && /at most 10 bytes/.test(e.message));
});
