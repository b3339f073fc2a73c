import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../lib/backend/registry.js';
import { DecodeEngine } from '../../lib/engine/model.js';
import { openSafetensors, openSafetensorsDir, saveSafetensors } from '../../lib/engine/safetensors.js';
import { seededWeights } from '../../lib/engine/weights.js';
import { InputError } from '../../lib/util/errors.js';
import { TINY_DENSE } from './fixtures.js';

const GiB = 2 ** 30;

/** A safetensors file of `size` bytes with its header first and each tensor's bytes written at its own offset; the rest is a hole. */
function sparseFile(path: string, header: Record<string, unknown>, tensors: Array<{ at: number; bytes: Uint8Array }>, size: number): number {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.byteLength));
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    writeSync(fd, len, 0, 8, 0);
    writeSync(fd, head, 0, head.byteLength, 8);
    for (const t of tensors) writeSync(fd, t.bytes, 0, t.bytes.byteLength, 8 + head.byteLength + t.at);
  } finally {
    closeSync(fd);
  }
  return 8 + head.byteLength;
}

test('openSafetensors() reads tensors at offsets past 2 GiB of a sparse 3 GiB file, by offset', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-sparse-'));
  try {
    const path = join(dir, 'model.safetensors');
    const near = Float32Array.of(1.5, -2, 3.25, 4);
    const far = Float32Array.of(-0.5, 7, 8, 9, 10, 11);
    // BF16 0x3f80 = 1.0, 0xc000 = -2.0 (bfloat16: the top half of a float32).
    const bf = Uint16Array.of(0x3f80, 0xc000);
    const farAt = 2.5 * GiB;
    const bfAt = 2.75 * GiB;
    const header = {
      __metadata__: { format: 'pt' },
      near: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      far: { dtype: 'F32', shape: [2, 3], data_offsets: [farAt, farAt + 24] },
      bf: { dtype: 'BF16', shape: [2], data_offsets: [bfAt, bfAt + 4] },
    };
    const size = 3 * GiB + 4096;
    try {
      sparseFile(path, header, [{ at: 0, bytes: new Uint8Array(near.buffer) }, { at: farAt, bytes: new Uint8Array(far.buffer) }, { at: bfAt, bytes: new Uint8Array(bf.buffer) }], size);
    } catch (e) {
      t.skip(`this file system cannot hold a sparse 3 GiB file: ${(e as Error).message}`);
      return;
    }
    assert.ok(statSync(path).size > 2 * GiB);
    const f = openSafetensors(path);
    assert.equal(f.bytes, size);
    assert.deepEqual([...f.shapes.keys()], ['near', 'far', 'bf']);
    assert.deepEqual(f.get('near'), { shape: [2, 2], data: near });
    assert.deepEqual(f.get('far'), { shape: [2, 3], data: far });
    assert.deepEqual([...f.get('bf')!.data], [1, -2]);
    assert.equal(f.get('absent'), undefined);

    // A tensor whose span runs past the end of the file is refused, naming the file.
    const bad = join(dir, 'bad.safetensors');
    sparseFile(bad, { x: { dtype: 'F32', shape: [4], data_offsets: [3 * GiB, 3 * GiB + 16] } }, [], 3 * GiB);
    assert.throws(() => openSafetensors(bad), (e: unknown) => e instanceof InputError && e.message.includes(bad) && /data_offsets/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openSafetensors() refuses a header length past the file or above 100 MB, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-st-'));
  try {
    const path = join(dir, 'short.safetensors');
    // Header length 1e9 in a 64-byte file.
    const fd = openSync(path, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(10n ** 9n);
    writeSync(fd, len, 0, 8, 0);
    ftruncateSync(fd, 64);
    closeSync(fd);
    assert.throws(() => openSafetensors(path), (e: unknown) => e instanceof InputError && e.field === `${path} header length` && /\[2, 56\]/.test(e.message));
    const tiny = join(dir, 'tiny.safetensors');
    closeSync(openSync(tiny, 'w'));
    assert.throws(() => openSafetensors(tiny), (e: unknown) => e instanceof InputError && e.message.includes(tiny));
    assert.throws(() => openSafetensors(dir), (e: unknown) => e instanceof InputError);
    assert.throws(() => openSafetensors(join(dir, 'missing.safetensors')), (e: unknown) => e instanceof InputError && /readable/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DecodeEngine from openSafetensorsDir (read tensor by tensor) gives the logits of the same weights held in a Map', async () => {
  const tf = (await selectBackend('auto', { log: () => {} })).tf;
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-st-'));
  try {
    const w = seededWeights(TINY_DENSE, 5);
    saveSafetensors(join(dir, 'model.safetensors'), w);
    const a = new DecodeEngine(tf, TINY_DENSE, openSafetensorsDir(dir));
    const b = new DecodeEngine(tf, TINY_DENSE, w);
    const la = a.forward([{ seq: 0, tokens: [4, 5, 6] }]);
    const lb = b.forward([{ seq: 0, tokens: [4, 5, 6] }]);
    assert.deepEqual(la.dataSync(), lb.dataSync());
    tf.dispose([la, lb]);
    a.dispose();
    b.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
