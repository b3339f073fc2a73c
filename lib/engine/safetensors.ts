import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { writeFileSafe } from '../util/files.js';
import type { EngineWeights, HostTensor } from './weights.js';

// The safetensors format (huggingface/safetensors, README "Format"): an 8-byte
// little-endian header length N, N bytes of JSON { name: { dtype, shape, data_offsets:
// [begin, end] } } (plus an optional "__metadata__" of strings), then the raw
// little-endian tensor bytes, offsets relative to the end of the header.

const DTYPE_SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** A header larger than this is refused (the reference implementation caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function decode(dtype: string, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else {
    // bfloat16 is the top half of a float32.
    const u = new Uint32Array(1);
    const f = new Float32Array(u.buffer);
    for (let i = 0; i < count; i++) {
      u[0] = view.getUint16(2 * i, true) << 16;
      out[i] = f[0];
    }
  }
  return out;
}

/**
 * Parses a safetensors file's bytes into float32 host tensors (F32, F64, F16 and BF16
 * are converted). A malformed file is an InputError naming what is wrong: header length,
 * JSON, an unsupported dtype, offsets outside the data or not matching the shape.
 *
 * @example
 * const w = readSafetensors(readFileSync('model.safetensors'));
 * w.get('model.norm.weight')!.shape // => [2048]
 */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): EngineWeights {
  if (!(bytes instanceof Uint8Array)) throw new InputError(source, bytes, 'the bytes of a safetensors file');
  if (bytes.byteLength < 8) throw new InputError(`${source} header length`, bytes.byteLength, 'a file of at least 8 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n < 2 || n > MAX_HEADER_BYTES || 8 + n > bytes.byteLength) {
    throw new InputError(`${source} header length`, n, `an integer in [2, ${Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8)}]`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new InputError(`${source} header`, 'unparsable', 'valid JSON', (e as Error).message);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new InputError(`${source} header`, header, 'a JSON object');
  const data = bytes.subarray(8 + n);
  const out: EngineWeights = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const field = `${source}["${name}"]`;
    if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) throw new InputError(`${field}.dtype`, e?.dtype, `one of ${Object.keys(DTYPE_SIZE).join(', ')}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new InputError(`${field}.shape`, e.shape, 'an array of non-negative integers');
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1] || off[1] > data.byteLength) {
      throw new InputError(`${field}.data_offsets`, JSON.stringify(off), `[begin, end] with 0 ≤ begin ≤ end ≤ ${data.byteLength}`);
    }
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    const size = DTYPE_SIZE[e.dtype];
    if (off[1] - off[0] !== count * size) throw new InputError(`${field}.data_offsets`, JSON.stringify(off), `a span of ${count * size} bytes (shape × ${e.dtype} size)`);
    const shape = (e.shape as number[]).slice();
    out.set(name, { shape, data: decode(e.dtype, data.subarray(off[0], off[1]), count) });
  }
  return out;
}

/**
 * Serialises float32 tensors as a safetensors file (names sorted, data 8-byte aligned
 * as the reference writer does).
 *
 * @example
 * readSafetensors(writeSafetensors(w)).get('model.norm.weight') // same shape and values
 */
export function writeSafetensors(weights: EngineWeights, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...weights.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = weights.get(name) as HostTensor;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.data.length] };
    offset += 4 * t.data.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const name of names) {
    const t = weights.get(name) as HostTensor;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Reads every `*.safetensors` file of a folder (sharded checkpoints included) into one
 * weight map; a name present in two shards is an InputError.
 *
 * @example
 * const w = loadSafetensorsDir('models/tiny-llama');
 */
export function loadSafetensorsDir(dir: string): EngineWeights {
  if (typeof dir !== 'string' || dir === '') throw new InputError('dir', dir, 'a folder holding *.safetensors files');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  } catch (e) {
    throw new InputError('dir', dir, 'a readable folder', (e as Error).message);
  }
  if (files.length === 0) throw new InputError('dir', dir, 'a folder with at least one *.safetensors file');
  const out: EngineWeights = new Map();
  for (const f of files) {
    const path = join(dir, f);
    // A device or FIFO reports size 0 and would be read without end: only regular files are weights.
    const st = statSync(path);
    if (!st.isFile()) throw new InputError(path, f, 'a regular *.safetensors file', 'not a regular file');
    if (st.size > 8 * 2 ** 30) throw new InputError(path, st.size, 'a file of at most 8 GiB');
    for (const [name, t] of readSafetensors(readFileSync(path), f)) {
      if (out.has(name)) throw new InputError(`${f}["${name}"]`, name, 'a tensor name found in one shard only');
      out.set(name, t);
    }
  }
  return out;
}

/**
 * Writes weights to a safetensors file atomically (a reader never sees half a file).
 *
 * @example
 * saveSafetensors('/tmp/tiny/model.safetensors', seededWeights(cfg, 1));
 */
export function saveSafetensors(path: string, weights: EngineWeights, metadata: Record<string, string> = {}): void {
  const bytes = writeSafetensors(weights, metadata);
  writeFileSafe('path', path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
