import { constants as bufferConstants } from 'node:buffer';
import { chmodSync, closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { chmod, open, rename, rm } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from './errors.js';

// Every file batchlab writes or reads on a user's say-so goes through this module, so a
// path typed by hand (a flag, a spec field) is checked the same way everywhere.

/** What a non-regular file is, for messages. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return st.isFile() ? 'a regular file' : 'not a regular file';
}

function errnoText(err: unknown): string {
  // Node's fs messages start with the code: "ENOENT: no such file or directory, open 'x'".
  return String((err as Error)?.message ?? err);
}

function checkPathString(field: string, path: unknown, allowed: string): string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new InputError(field, path, allowed);
  return path;
}

let probes = 0;

/**
 * Creates and removes an empty file in `folder`: the one test that a folder accepts new
 * entries. Permission bits say nothing to root, and a pseudo file system (/proc, /sys) or a
 * read-only mount refuses only the create itself; an atomic write creates its temporary
 * file there, so this is the create it will need, done before any work.
 */
function probeCreate(field: string, path: string, folder: string, allowed: string): void {
  for (let attempt = 0; attempt < 8; attempt++) {
    const probe = join(folder, `.batchlab-write-probe-${process.pid}-${probes++}`);
    let fd: number;
    try {
      fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new InputError(field, path, allowed, `its folder ${folder} accepts no new file: ${errnoText(err).split(',')[0]}`);
    }
    closeSync(fd);
    unlinkSync(probe);
    return;
  }
  throw new InputError(field, path, allowed, `its folder ${folder} holds stale .batchlab-write-probe-* files`);
}

/**
 * Checks that `path` may be written: an existing regular file (through symbolic links, as
 * a shell's > follows them; a link to nothing is refused) or a new name in an existing
 * folder that accepts new files. Devices (/dev/null, /dev/zero,
 * /dev/full), FIFOs, sockets and folders are refused: an atomic write renames a temporary
 * file over the target, which would replace a device node rather than write to it. The
 * folder is tested by creating and removing an empty file in it, so a name under /proc
 * or on a read-only mount is refused here too. Call it before any work whose result goes
 * to `path`, so that a bad flag fails at once.
 *
 * @example
 * checkWritableFile('--out', '/tmp/merged.json') // => '/tmp/merged.json'
 * checkWritableFile('--out', '/dev/null') // throws "--out must be a regular file or a new file in an existing folder; got "/dev/null" (it is a character device)"
 * checkWritableFile('--out', '/proc/x') // throws "... (its folder /proc accepts no new file: ENOENT: ...)"
 */
export function checkWritableFile(field: string, path: unknown): string {
  const allowed = 'a regular file or a new file in an existing folder';
  const p = checkPathString(field, path, allowed);
  let st: Stats | undefined;
  try {
    st = statSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(field, p, allowed, errnoText(err));
    // A symbolic link to nothing: writing would replace the link, not make what it names.
    let link: string | undefined;
    try {
      link = lstatSync(p).isSymbolicLink() ? readlinkSync(p) : undefined;
    } catch {
      link = undefined;
    }
    if (link !== undefined) throw new InputError(field, p, allowed, `a symbolic link to ${link}, which does not exist`);
  }
  if (st && !st.isFile()) throw new InputError(field, p, allowed, `it is ${kindOf(st)}`);
  const parent = dirname(resolve(p));
  let up: Stats;
  try {
    up = statSync(parent);
  } catch (err) {
    throw new InputError(field, p, allowed, `its folder ${parent}: ${errnoText(err)}`);
  }
  if (!up.isDirectory()) throw new InputError(field, p, allowed, `${parent} is ${kindOf(up)}`);
  // An existing file is replaced by a rename too: its folder must take the temporary file.
  probeCreate(field, p, parent, allowed);
  return p;
}

function writeRefused(field: string, path: string, err: unknown): unknown {
  if (err instanceof InputError) return err;
  return new InputError(field, path, 'a regular file this user can write', errnoText(err));
}

/** Temporary files this process has named (`atomicTarget`): unique with the pid. */
let tempCount = 0;

/**
 * Where an atomic write of `path` goes: the file a symbolic link names (the link stays a
 * link), a temporary name beside it, and the mode to keep (an existing file's permission
 * bits; a new file gets the process's default).
 */
function atomicTarget(field: string, path: string): { target: string; temp: string; mode?: number } {
  let target = resolve(path);
  try {
    target = realpathSync(target);
  } catch {
    // A new file: its own path. A link to nothing is refused: renaming over it would turn
    // the link into a file, where a link to a file writes that file (as a shell's > does).
    let link: string | undefined;
    try {
      link = lstatSync(target).isSymbolicLink() ? readlinkSync(target) : undefined;
    } catch {
      link = undefined;
    }
    if (link !== undefined) throw new InputError(field, path, 'a regular file this user can write, or a symbolic link to one', `a symbolic link to ${link}, which does not exist`);
  }
  let mode: number | undefined;
  try {
    mode = statSync(target).mode & 0o7777;
  } catch {
    mode = undefined;
  }
  // "<target>.<digits>", the name gemm/store's removeOrphanTemps clears after a kill.
  return { target, temp: `${target}.${process.pid}${String(++tempCount).padStart(6, '0')}`, mode };
}

/**
 * Writes `data` to `path` atomically after `checkWritableFile`: every byte into a new
 * temporary file beside it, flushed to disk, then renamed over the target, so a reader
 * never sees half a file and a full disk is an error, never a short file reported as
 * written (write-file-atomic, used before, issues one write and ignores a short count: it
 * renamed a truncated file into place on a nearly full disk). An existing file's
 * permission bits are kept; the temporary file is removed on any failure. A refusal of the
 * file system is an InputError naming `field`.
 *
 * @example
 * writeFileSafe('--out', '/tmp/merged.json', '{}\n');
 */
export function writeFileSafe(field: string, path: string, data: string | Buffer): void {
  checkWritableFile(field, path);
  const { target, temp, mode } = atomicTarget(field, path);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', mode ?? 0o666);
    writeFileSync(fd, data); // loops until every byte is written; a full disk throws ENOSPC
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (mode !== undefined) chmodSync(temp, mode); // the umask narrowed it at open
    renameSync(temp, target);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw writeRefused(field, path, err);
  }
}

/**
 * `writeFileSafe` without blocking the event loop.
 *
 * @example
 * await writeFileSafeAsync('--out', '/tmp/merged.json', '{}\n');
 */
export async function writeFileSafeAsync(field: string, path: string, data: string | Buffer): Promise<void> {
  checkWritableFile(field, path);
  const { target, temp, mode } = atomicTarget(field, path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temp, 'wx', mode ?? 0o666);
    await handle.writeFile(data); // loops until every byte is written; a full disk rejects with ENOSPC
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, target);
  } catch (err) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw writeRefused(field, path, err);
  }
}

/**
 * Checks that `dir` is a folder or can be made one, without making it: the nearest
 * existing ancestor must be a folder that accepts new entries (tested by creating and
 * removing an empty file in it), so /proc/x, a read-only mount and a path under a file
 * or device are refused before any work, naming `field`.
 *
 * @example
 * checkWritableDir('--out', '/tmp/new/sub') // => '/tmp/new/sub'
 * checkWritableDir('--out', '/proc/x') // throws "--out must be a folder this user can create and write; got "/proc/x" (its folder /proc accepts no new file: ...)"
 */
export function checkWritableDir(field: string, dir: unknown): string {
  const d = checkPathString(field, dir, 'a folder path');
  const { at } = nearestExisting(field, d);
  probeCreate(field, d, at, 'a folder this user can create and write');
  return d;
}

/** The nearest existing ancestor of `dir` (itself included) and the missing levels below it, top first. */
function nearestExisting(field: string, dir: string): { at: string; missing: string[] } {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a file on the way (/dev/null/x); walking up names it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new InputError(field, dir, 'a folder this user can create and write', `${at}: ${errnoText(err)}`);
    }
    if (st?.isDirectory()) return { at, missing };
    if (st) throw new InputError(field, dir, 'a folder (or a path whose existing part is a folder)', `${at} is ${kindOf(st)}`);
    const up = dirname(at);
    if (up === at) return { at, missing };
    missing.unshift(at);
    at = up;
  }
}

/**
 * Creates `dir` and its missing parents one level at a time. Node's recursive mkdir
 * spins forever under a path such as /proc/x (procfs answers neither EEXIST nor ENOENT
 * the way it expects); walking up to the nearest existing folder and creating each
 * level with a plain mkdir turns that, and every other refusal, into an InputError.
 *
 * @example
 * ensureDir('--out', '/tmp/batchlab/out') // => '/tmp/batchlab/out'
 */
export function ensureDir(field: string, dir: string): string {
  checkPathString(field, dir, 'a folder path');
  const { missing } = nearestExisting(field, dir);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue;
      throw new InputError(field, dir, 'a folder this user can create and write', errnoText(err));
    }
  }
  return resolve(dir);
}

/** Limits of `readTextCapped`. */
export interface ReadCaps {
  /** Bytes read before the file is refused; counted while reading, never from `stat` (devices report 0). */
  maxBytes: number;
  /** What the file should be, for the refusal, without an article ("JSON spec file"). */
  what?: string;
}

/** Read size of one chunk: small enough that the cap is overrun by at most this much. */
const CHUNK = 1 << 16;

/**
 * Reads a UTF-8 text file, refusing it once more than `maxBytes` have been read or at its
 * first NUL byte (no text batchlab reads holds one). Only a regular file is read: the
 * path is checked with stat, opened without blocking (open(2) on a FIFO would wait for a
 * writer) and the opened descriptor checked again with fstat, so a FIFO, socket,
 * character or block device (/dev/zero, /dev/stdin) or folder is refused at once, naming
 * `field`, before a byte is read; no flag reads standard input. The cap counts bytes
 * actually read, not `stat`'s size, so a file that grows while it is read cannot grow
 * memory without bound. Unreadable paths are InputErrors naming `field` with the errno code.
 *
 * @example
 * readTextCapped('--spec', 'spec.json', { maxBytes: 16 * 2 ** 20 }) // => the file's text
 * readTextCapped('--spec', '/dev/zero', { maxBytes: 16 * 2 ** 20 }) // throws "--spec must be a text file of at most 16777216 bytes; got "/dev/zero" (it is a character device, not a regular file)"
 */
export function readTextCapped(field: string, path: unknown, caps: ReadCaps): string {
  const maxBytes = caps.maxBytes;
  const allowed = `a ${caps.what ?? 'text file'} of at most ${maxBytes} bytes`;
  const p = checkPathString(field, path, allowed);
  const readable = `a readable ${caps.what ?? 'text file'}`;
  let st: Stats;
  try {
    st = statSync(p);
  } catch (err) {
    throw new InputError(field, p, readable, errnoText(err));
  }
  // Refused by the path first, so that a device is not even opened (opening some has effects) ...
  if (!st.isFile()) throw new InputError(field, p, allowed, `it is ${kindOf(st)}, not a regular file`);
  let fd: number;
  try {
    // O_NONBLOCK: were the path swapped for a FIFO meanwhile, open(2) would wait for a writer.
    fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new InputError(field, p, readable, errnoText(err));
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    // ... and by what was opened, which no rename between stat and open can change.
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw new InputError(field, p, allowed, `it is ${kindOf(opened)}, not a regular file`);
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      let n: number;
      try {
        n = readSync(fd, buf, 0, CHUNK, null);
      } catch (err) {
        throw new InputError(field, p, readable, errnoText(err));
      }
      if (n === 0) break;
      const nul = buf.subarray(0, n).indexOf(0);
      if (nul >= 0) throw new InputError(field, p, allowed, `a NUL byte at offset ${total + nul}: not text`);
      total += n;
      if (total > maxBytes) throw new InputError(field, p, allowed, `more than ${maxBytes} bytes read`);
      // A cap above V8's longest string (about 512 MiB) would end in a RangeError at decoding.
      if (total > bufferConstants.MAX_STRING_LENGTH) throw new InputError(field, p, allowed, `more than ${bufferConstants.MAX_STRING_LENGTH} bytes read, the longest text Node can hold`);
      chunks.push(n === CHUNK ? buf : buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/**
 * `readTextCapped` then `JSON.parse`; a parse error is an InputError naming `field`.
 *
 * @example
 * readJsonCapped('--spec', 'spec.json', { maxBytes: 16 * 2 ** 20, what: 'JSON spec file' }) // => the parsed value
 */
export function readJsonCapped(field: string, path: unknown, caps: ReadCaps): unknown {
  const text = readTextCapped(field, path, caps);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(field, path, `a ${caps.what ?? 'JSON file'}`, `not JSON: ${(err as Error).message.split('\n')[0]}; valid JSON is expected`);
  }
}
