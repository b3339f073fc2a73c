import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { writeFileSafe } from '../util/files.js';
import { engineParamLimit } from './weights.js';
import type { EngineWeightSource, EngineWeights, HostTensor } from './weights.js';

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

/** One tensor of a safetensors header: where its bytes lie, relative to the end of the header. */
interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** The header length from the first 8 bytes, checked against the file's size. */
function headerLength(first8: Uint8Array, fileBytes: number, source: string): number {
  if (fileBytes < 8 || first8.byteLength < 8) throw new InputError(`${source} header length`, fileBytes, 'a file of at least 8 bytes');
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n < 2 || n > MAX_HEADER_BYTES || 8 + n > fileBytes) {
    throw new InputError(`${source} header length`, n, `an integer in [2, ${Math.max(2, Math.min(MAX_HEADER_BYTES, fileBytes - 8))}]`);
  }
  return n;
}

/** Parses and checks a header's JSON: every entry's dtype, shape and offsets within `dataBytes`. */
function parseHeader(json: Uint8Array, dataBytes: number, source: string): HeaderEntry[] {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw new InputError(`${source} header`, 'unparsable', 'valid JSON', (e as Error).message);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new InputError(`${source} header`, header, 'a JSON object');
  const out: HeaderEntry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const field = `${source}["${name}"]`;
    if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) throw new InputError(`${field}.dtype`, e?.dtype, `one of ${Object.keys(DTYPE_SIZE).join(', ')}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new InputError(`${field}.shape`, e.shape, 'an array of non-negative integers');
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1] || off[1] > dataBytes) {
      throw new InputError(`${field}.data_offsets`, JSON.stringify(off), `[begin, end] with 0 ≤ begin ≤ end ≤ ${dataBytes}`);
    }
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    const size = DTYPE_SIZE[e.dtype];
    if (off[1] - off[0] !== count * size) throw new InputError(`${field}.data_offsets`, JSON.stringify(off), `a span of ${count * size} bytes (shape × ${e.dtype} size)`);
    out.push({ name, dtype: e.dtype, shape: (e.shape as number[]).slice(), begin: off[0], end: off[1] });
  }
  return out;
}

/**
 * Parses a safetensors file's bytes into float32 host tensors (F32, F64, F16 and BF16
 * are converted). A malformed file is an InputError naming what is wrong: header length,
 * JSON, an unsupported dtype, offsets outside the data or not matching the shape.
 * Files too large to hold in one buffer are read by offset with `openSafetensors`.
 *
 * @example
 * const w = readSafetensors(readFileSync('model.safetensors'));
 * w.get('model.norm.weight')!.shape // => [2048]
 */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): EngineWeights {
  if (!(bytes instanceof Uint8Array)) throw new InputError(source, bytes, 'the bytes of a safetensors file');
  const n = headerLength(bytes, bytes.byteLength, source);
  const data = bytes.subarray(8 + n);
  const out: EngineWeights = new Map();
  for (const e of parseHeader(bytes.subarray(8, 8 + n), data.byteLength, source)) {
    out.set(e.name, { shape: e.shape, data: decode(e.dtype, data.subarray(e.begin, e.end), (e.end - e.begin) / DTYPE_SIZE[e.dtype]) });
  }
  return out;
}

/** Largest single read (Node refuses reads of 2 GiB or more). */
const READ_CHUNK = 1 << 30;

function readAt(fd: number, into: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < into.byteLength) {
    const want = Math.min(READ_CHUNK, into.byteLength - done);
    const got = readSync(fd, into, done, want, position + done);
    if (got <= 0) throw new InputError(path, `${done + position} bytes`, `a file of at least ${position + into.byteLength} bytes`, 'it ended early');
    done += got;
  }
}

/** A safetensors file opened for reading by offset: its tensors' names and shapes, and each tensor on demand. */
export interface SafetensorsFile extends EngineWeightSource {
  path: string;
  /** Tensor names and shapes, in header order. */
  shapes: Map<string, number[]>;
  /** Bytes of the file. */
  bytes: number;
}

/**
 * Opens a safetensors file of any size the way safetensors readers do: reads the
 * 8-byte header length and the header (both checked against the file's size, the
 * header at most 100 MB), then each tensor, when asked for, by a read at its offset
 * into its own buffer, converted to float32. Every error names the file.
 *
 * @example
 * const f = openSafetensors('Llama-3.2-1B/model.safetensors'); // 2.47 GB of BF16
 * f.get('model.norm.weight')!.data.length // => 2048
 */
export function openSafetensors(path: string): SafetensorsFile {
  if (typeof path !== 'string' || path === '') throw new InputError('path', path, 'a safetensors file');
  // A FIFO would block the open itself, and a device reports size 0: only regular files are weights.
  let kind: Stats;
  try {
    kind = statSync(path);
  } catch (e) {
    throw new InputError('path', path, 'a readable safetensors file', (e as Error).message);
  }
  if (!kind.isFile()) throw new InputError('path', path, 'a regular *.safetensors file', 'not a regular file');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new InputError('path', path, 'a readable safetensors file', (e as Error).message);
  }
  let entries: HeaderEntry[];
  let dataStart: number;
  let size: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError('path', path, 'a regular file');
    size = st.size;
    const first = new Uint8Array(8);
    if (size >= 8) readAt(fd, first, 0, path);
    const n = headerLength(first, size, path);
    const json = new Uint8Array(n);
    readAt(fd, json, 8, path);
    dataStart = 8 + n;
    entries = parseHeader(json, size - dataStart, path);
  } finally {
    closeSync(fd);
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  const little = endianness() === 'LE';
  return {
    path,
    bytes: size,
    shapes: new Map(entries.map((e) => [e.name, e.shape.slice()])),
    get(name: string): HostTensor | undefined {
      const e = byName.get(name);
      if (!e) return undefined;
      const count = (e.end - e.begin) / DTYPE_SIZE[e.dtype];
      const fd2 = openSync(path, 'r');
      try {
        if (e.dtype === 'F32' && little) {
          // Little-endian float32 on a little-endian host: read straight into the tensor.
          const data = new Float32Array(count);
          readAt(fd2, new Uint8Array(data.buffer), dataStart + e.begin, path);
          return { shape: e.shape.slice(), data };
        }
        const raw = new Uint8Array(e.end - e.begin);
        readAt(fd2, raw, dataStart + e.begin, path);
        return { shape: e.shape.slice(), data: decode(e.dtype, raw, count) };
      } finally {
        closeSync(fd2);
      }
    },
  };
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
 * The `*.safetensors` files of a folder (sharded checkpoints included) as one weight
 * source read by offset, tensor by tensor (openSafetensors); a name present in two
 * shards is an InputError naming both files.
 *
 * @example
 * const engine = await DecodeEngine.create(cfg, openSafetensorsDir('models/Llama-3.2-1B'));
 */
export function openSafetensorsDir(dir: string): EngineWeightSource & { shapes: Map<string, number[]>; files: string[] } {
  if (typeof dir !== 'string' || dir === '') throw new InputError('dir', dir, 'a folder holding *.safetensors files');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  } catch (e) {
    throw new InputError('dir', dir, 'a readable folder', (e as Error).message);
  }
  if (files.length === 0) throw new InputError('dir', dir, 'a folder with at least one *.safetensors file');
  const owner = new Map<string, SafetensorsFile>();
  const shapes = new Map<string, number[]>();
  for (const f of files) {
    const file = openSafetensors(join(dir, f));
    for (const [name, shape] of file.shapes) {
      const prior = owner.get(name);
      if (prior) throw new InputError(`${f}["${name}"]`, name, 'a tensor name found in one shard only', `also in ${prior.path}`);
      owner.set(name, file);
      shapes.set(name, shape);
    }
  }
  return { files: files.map((f) => join(dir, f)), shapes, get: (name: string) => owner.get(name)?.get(name) };
}

/**
 * Reads every `*.safetensors` file of a folder into one weight map (openSafetensorsDir,
 * every tensor read); a folder whose float32 weights would not fit in memory
 * (engineParamLimit) is an InputError before anything is read.
 *
 * @example
 * const w = loadSafetensorsDir('models/tiny-llama');
 */
export function loadSafetensorsDir(dir: string): EngineWeights {
  const src = openSafetensorsDir(dir);
  let params = 0;
  for (const s of src.shapes.values()) params += s.reduce((a, b) => a * b, 1);
  const lim = engineParamLimit();
  if (params > lim.params) throw new InputError('dir', dir, `weights of at most ${lim.params} parameters (${lim.reason})`, `${params} parameters`);
  const out: EngineWeights = new Map();
  for (const name of src.shapes.keys()) out.set(name, src.get(name)!);
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
