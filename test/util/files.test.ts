import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWritableDir, checkWritableFile, ensureDir, readJsonCapped, readTextCapped, writeFileSafe, writeFileSafeAsync } from '../../lib/util/files.js';
import { InputError } from '../../lib/util/errors.js';

const named = (field: string, detail?: RegExp) => (e: unknown): boolean => e instanceof InputError && e.field === field && (detail === undefined || detail.test(e.message));
const tmp = (): string => mkdtempSync(join(tmpdir(), 'batchlab-files-'));

function fifo(dir: string): string | null {
  const p = join(dir, 'fifo');
  try {
    execFileSync('mkfifo', [p]);
    return p;
  } catch {
    return null;
  }
}

test('checkWritableFile(field, path) refuses character devices, FIFOs, folders and missing folders, naming the field', (t) => {
  const dir = tmp();
  // Only checked, never written: the regression replaced /dev/null through the atomic rename.
  for (const dev of ['/dev/null', '/dev/zero', '/dev/full']) {
    if (existsSync(dev)) assert.throws(() => checkWritableFile('--out', dev), named('--out', /it is a character device/));
  }
  symlinkSync('/dev/null', join(dir, 'link'));
  assert.throws(() => checkWritableFile('--out', join(dir, 'link')), named('--out', /character device/));
  assert.throws(() => checkWritableFile('--out', dir), named('--out', /it is a folder/));
  assert.throws(() => checkWritableFile('--out', join(dir, 'missing', 'x.json')), named('--out', /ENOENT/));
  for (const bad of ['', 'a\0b', 3, undefined]) assert.throws(() => checkWritableFile('--out', bad), named('--out'));
  const f = fifo(dir);
  if (f === null) t.diagnostic('mkfifo unavailable: FIFO case not run');
  else assert.throws(() => checkWritableFile('--out', f), named('--out', /FIFO/));
  assert.equal(checkWritableFile('--out', join(dir, 'new.json')), join(dir, 'new.json'));
  writeFileSync(join(dir, 'old.json'), '{}');
  assert.equal(checkWritableFile('--out', join(dir, 'old.json')), join(dir, 'old.json'));
});

test('writeFileSafe and writeFileSafeAsync write regular files and leave a FIFO a FIFO (regression: replaced by a regular file)', async (t) => {
  const dir = tmp();
  writeFileSafe('--out', join(dir, 'a.txt'), 'one\n');
  await writeFileSafeAsync('--out', join(dir, 'a.txt'), 'two\n');
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two\n');
  const f = fifo(dir);
  if (f === null) return t.skip('mkfifo unavailable');
  assert.throws(() => writeFileSafe('--out', f, 'x'), named('--out', /FIFO/));
  await assert.rejects(writeFileSafeAsync('--out', f, 'x'), named('--out', /FIFO/));
  assert.ok(statSync(f).isFIFO());
});

test('readTextCapped stops at the first NUL byte: /dev/zero is refused at once, not read to the cap', (t) => {
  if (!existsSync('/dev/zero')) return t.skip('no /dev/zero');
  const t0 = performance.now();
  assert.throws(() => readTextCapped('--spec', '/dev/zero', { maxBytes: 1 << 30 }), named('--spec', /NUL byte at offset 0/));
  assert.ok(performance.now() - t0 < 2000);
});

test('readTextCapped counts bytes read: a file of cap + 1 bytes is refused, the cap itself is read whole', () => {
  const dir = tmp();
  const cap = 200_000; // over three 64 KiB chunks, so the count spans reads
  writeFileSync(join(dir, 'at.txt'), 'a'.repeat(cap));
  writeFileSync(join(dir, 'over.txt'), 'a'.repeat(cap + 1));
  assert.equal(readTextCapped('--trace', join(dir, 'at.txt'), { maxBytes: cap }).length, cap);
  assert.throws(() => readTextCapped('--trace', join(dir, 'over.txt'), { maxBytes: cap }), named('--trace', new RegExp(`at most ${cap} bytes.*more than ${cap} bytes read`)));
  assert.throws(() => readTextCapped('--trace', dir, { maxBytes: cap }), named('--trace', /it is a folder/));
  assert.throws(() => readTextCapped('--trace', join(dir, 'none'), { maxBytes: cap, what: 'CSV file' }), named('--trace', /a readable CSV file.*ENOENT/));
  // A multi-byte character split across chunks decodes whole.
  writeFileSync(join(dir, 'utf8.txt'), `${'a'.repeat((1 << 16) - 1)}é`);
  assert.ok(readTextCapped('--trace', join(dir, 'utf8.txt'), { maxBytes: cap }).endsWith('é'));
});

test('readTextCapped on a FIFO fed without end stops at the cap (stat reports size 0 for it)', async (t) => {
  const dir = tmp();
  const f = fifo(dir);
  if (f === null) return t.skip('mkfifo unavailable');
  // `yes` writes "y\n" forever; it dies of SIGPIPE once the reader closes.
  const writer = spawn('sh', ['-c', `exec yes > '${f}'`], { stdio: 'ignore' });
  // The writer counts as attached once it waits in open(); then the read sees its bytes, not an empty FIFO.
  await new Promise((r) => setTimeout(r, 300));
  try {
    const t0 = performance.now();
    assert.throws(() => readTextCapped('--trace', f, { maxBytes: 1 << 20 }), named('--trace', /more than 1048576 bytes read/));
    assert.ok(performance.now() - t0 < 5000);
  } finally {
    writer.kill();
  }
});

test('readJsonCapped: text that is not JSON is an InputError naming the field', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'x.json'), '{"a":');
  assert.throws(() => readJsonCapped('--spec', join(dir, 'x.json'), { maxBytes: 100, what: 'JSON spec file' }), named('--spec', /a JSON spec file; .*not JSON/));
  writeFileSync(join(dir, 'y.json'), '{"a":1}');
  assert.deepEqual(readJsonCapped('--spec', join(dir, 'y.json'), { maxBytes: 100 }), { a: 1 });
});

test('ensureDir and checkWritableDir: /proc/x and a file on the way are refused at once naming the field', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(() => checkWritableDir('--out', join(dir, 'file', 'sub')), named('--out', /is a regular file/));
  assert.throws(() => ensureDir('--out', join(dir, 'file')), named('--out', /is a regular file/));
  if (existsSync('/dev/null')) assert.throws(() => ensureDir('--out', '/dev/null/x'), named('--out', /\/dev\/null is a character device/));
  if (existsSync('/proc/self')) {
    const t0 = performance.now();
    assert.throws(() => ensureDir('--out', '/proc/batchlab-x/y'), named('--out'));
    assert.ok(performance.now() - t0 < 2000);
  }
  assert.equal(checkWritableDir('--out', join(dir, 'a', 'b')), join(dir, 'a', 'b'));
  assert.equal(existsSync(join(dir, 'a')), false, 'checkWritableDir makes nothing');
  ensureDir('--out', join(dir, 'a', 'b'));
  assert.ok(statSync(join(dir, 'a', 'b')).isDirectory());
  mkdirSync(join(dir, 'c'));
  assert.equal(ensureDir('--out', join(dir, 'c')), join(dir, 'c'));
});

test('readTextCapped on a FIFO nobody writes reads as empty at once instead of waiting for a writer', (t) => {
  const f = fifo(tmp());
  if (f === null) return t.skip('mkfifo unavailable');
  const t0 = performance.now();
  assert.equal(readTextCapped('--spec', f, { maxBytes: 100 }), '');
  assert.ok(performance.now() - t0 < 2000);
});
