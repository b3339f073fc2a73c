import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

test('checkWritableFile and checkWritableDir refuse a folder that accepts no new file (/proc) at once, and leave no probe file behind', (t) => {
  const dir = tmp();
  writeFileSync(join(dir, 'old.json'), '{}');
  const before = readdirSync(dir).sort();
  checkWritableFile('--out', join(dir, 'new.json'));
  checkWritableFile('--out', join(dir, 'old.json'));
  checkWritableDir('--out', join(dir, 'sub', 'deeper'));
  checkWritableDir('--out', dir);
  // The probe is created and removed: the folder lists what it held before.
  assert.deepEqual(readdirSync(dir).sort(), before);
  if (!existsSync('/proc/self')) return t.skip('no procfs');
  // procfs refuses new names even to root, whose permission bits pass every access() test.
  assert.throws(() => checkWritableFile('--out', '/proc/batchlab-x'), named('--out', /its folder \/proc accepts no new file/));
  assert.throws(() => checkWritableDir('--out', '/proc/batchlab-x/y'), named('--out', /its folder \/proc accepts no new file/));
  // A regular file under /proc is replaced by a rename too, which its folder refuses.
  if (existsSync('/proc/self/environ')) assert.throws(() => checkWritableFile('--out', '/proc/self/environ'), named('--out', /accepts no new file/));
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

test('writeFileSafe and writeFileSafeAsync keep an existing file\'s mode, write through a symbolic link and leave no temporary file', async () => {
  const dir = tmp();
  const f = join(dir, 'kept.txt');
  writeFileSync(f, 'old\n', { mode: 0o640 });
  writeFileSafe('--out', f, 'new\n');
  assert.equal(statSync(f).mode & 0o777, 0o640);
  const link = join(dir, 'link.txt');
  symlinkSync(f, link);
  await writeFileSafeAsync('--out', link, 'through the link\n');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(f, 'utf8'), 'through the link\n');
  assert.deepEqual(readdirSync(dir).sort(), ['kept.txt', 'link.txt']);
  // A link to nothing is refused before and at the write: renaming over it would replace the link with a file.
  const dangling = join(dir, 'dangling.txt');
  symlinkSync(join(dir, 'nowhere', 'x.txt'), dangling);
  assert.throws(() => checkWritableFile('--out', dangling), named('--out', /a symbolic link to .*nowhere\/x\.txt, which does not exist/));
  assert.throws(() => writeFileSafe('--out', dangling, 'x'), named('--out', /which does not exist/));
  await assert.rejects(writeFileSafeAsync('--out', dangling, 'x'), named('--out', /which does not exist/));
  assert.ok(lstatSync(dangling).isSymbolicLink(), 'the link is still a link');
});

test('writeFileSafe and writeFileSafeAsync refuse a write the disk cannot hold, naming the flag, and leave the earlier file whole (regression: a truncated file reported as written)', async (t) => {
  // A 12 KiB tmpfs (mounting needs root; elsewhere the case is skipped): 32 KiB cannot fit.
  const mnt = tmp();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    return t.skip('cannot mount a small tmpfs here (needs root)');
  }
  try {
    const f = join(mnt, 'out.json');
    writeFileSafe('--out', f, 'earlier\n');
    const big = 'x'.repeat(32 * 1024);
    assert.throws(() => writeFileSafe('--out', f, big), named('--out', /ENOSPC/));
    await assert.rejects(writeFileSafeAsync('--out', f, big), named('--out', /ENOSPC/));
    assert.equal(readFileSync(f, 'utf8'), 'earlier\n');
    assert.deepEqual(readdirSync(mnt), ['out.json']);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('readTextCapped refuses /dev/zero, a folder and a socket as not regular files, at once and before reading a byte', async (t) => {
  const dir = tmp();
  if (existsSync('/dev/zero')) {
    const t0 = performance.now();
    assert.throws(() => readTextCapped('--spec', '/dev/zero', { maxBytes: 1 << 30 }), named('--spec', /it is a character device, not a regular file/));
    assert.ok(performance.now() - t0 < 2000);
  } else t.diagnostic('no /dev/zero: device case not run');
  assert.throws(() => readTextCapped('--spec', dir, { maxBytes: 100 }), named('--spec', /it is a folder, not a regular file/));
  const sock = join(dir, 'sock');
  const server = createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    assert.throws(() => readTextCapped('--spec', sock, { maxBytes: 100 }), named('--spec', /it is a socket, not a regular file/));
  } finally {
    server.close();
  }
});

test('readTextCapped stops at the first NUL byte of a regular file: binary is not text', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'bin'), Buffer.from([0x7b, 0x7d, 0x00, 0x41]));
  assert.throws(() => readTextCapped('--spec', join(dir, 'bin'), { maxBytes: 100 }), named('--spec', /NUL byte at offset 2/));
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

test('readTextCapped refuses a FIFO at once, whether its writer streams without end or stays silent (regression: refused after 30 s)', async (t) => {
  const dir = tmp();
  const f = fifo(dir);
  if (f === null) return t.skip('mkfifo unavailable');
  // No writer: open(2) without O_NONBLOCK would wait for one for ever.
  let t0 = performance.now();
  assert.throws(() => readTextCapped('--trace', f, { maxBytes: 1 << 20 }), named('--trace', /it is a FIFO \(named pipe\), not a regular file/));
  assert.ok(performance.now() - t0 < 2000);
  // A silent writer holds the FIFO open and sends nothing; `yes` would send "y\n" for ever.
  for (const cmd of [`exec sleep 30 > '${f}'`, `exec yes > '${f}'`]) {
    const writer = spawn('sh', ['-c', cmd], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    try {
      t0 = performance.now();
      assert.throws(() => readTextCapped('--trace', f, { maxBytes: 1 << 20 }), named('--trace', /FIFO/));
      assert.ok(performance.now() - t0 < 2000, cmd);
    } finally {
      writer.kill();
    }
  }
  // Through a symbolic link it is the same FIFO.
  symlinkSync(f, join(dir, 'link'));
  assert.throws(() => readJsonCapped('--spec', join(dir, 'link'), { maxBytes: 100 }), named('--spec', /FIFO/));
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

