import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from './errors.js';

/**
 * The text of a regular file, refused past `maxBytes` as counted while reading (a
 * device or /proc file can report size 0 to stat and still stream without end). A
 * FIFO, device or folder is refused before it is opened, so the read can neither
 * hang nor grow without bound. Errors name `field`, the flag or key the path came from.
 *
 * @example
 * readRegularTextFile('--model', 'qwen2.5-7b/config.json', 4 << 20).startsWith('{') // => true
 */
export function readRegularTextFile(field: string, path: string, maxBytes: number): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new InputError(field, path, 'a readable file', (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  if (!st.isFile()) throw new InputError(field, path, 'a regular file', st.isDirectory() ? 'a folder' : 'a device, FIFO or socket');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 64 << 10)));
    let chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new InputError(field, path, `a file of at most ${maxBytes} bytes`);
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    const text = Buffer.concat(chunks, total).toString('utf8');
    chunks = [];
    return text;
  } finally {
    closeSync(fd);
  }
}
