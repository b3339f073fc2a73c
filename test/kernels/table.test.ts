import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { compareKernelVersions, kernelTableFromRows, loadKernelDb, lookupKernel, newestKernelVersion, readKernelRows } from '../../lib/kernels/index.js';
import type { KernelRow } from '../../lib/kernels/index.js';
import { InputError } from '../../lib/util/errors.js';

// A synthetic GEMM table: time_us = 2 + m·n·k / 1e9 at m ∈ {1, 16, 256}, n ∈ {1024, 4096}, k = 1024.
const M = [1, 16, 256];
const N = [1024, 4096];
const timeOf = (m: number, n: number, k: number): number => 2 + (m * n * k) / 1e9;
const meta = { device: 'test_gpu', framework: 'fw', version: '1.0', op: 'gemm' as const };
const rows: KernelRow[] = [];
for (const m of M) for (const n of N) rows.push({ ...meta, dims: { dtype: 'bf16', m, n, k: 1024 }, dtype: 'bf16', timeUs: timeOf(m, n, 1024), source: { file: 'gemm.csv', line: rows.length + 2 } });
const table = kernelTableFromRows({ ...meta, file: 'gemm.csv' }, rows);

test('lookupKernel() is exact on every measured shape and says measured', () => {
  for (const m of M) {
    for (const n of N) {
      const a = lookupKernel(table, { dtype: 'bf16', m, n, k: 1024 })!;
      assert.equal(a.kind, 'measured');
      // The row's own time, not a value rebuilt through exp(log(t)).
      assert.equal(a.seconds, timeOf(m, n, 1024) / 1e6);
      assert.equal(a.rows.length, 1);
    }
  }
});

test('lookupKernel() interpolates in log space: the geometric mean of the bracketing times at the geometric mean of their m', () => {
  // Closed form of log-log linear interpolation: at m = sqrt(16·256) = 64 the time is sqrt(t16·t256).
  const a = lookupKernel(table, { dtype: 'bf16', m: 64, n: 1024, k: 1024 })!;
  assert.equal(a.kind, 'interpolated');
  const expected = Math.sqrt(timeOf(16, 1024, 1024) * timeOf(256, 1024, 1024)) / 1e6;
  assert.ok(Math.abs(a.seconds - expected) / expected < 1e-12);
  assert.equal(a.rows.length, 2);
});

test('lookupKernel() is monotone between measured points on every axis', () => {
  let prev = 0;
  for (let m = 1; m <= 256; m += 3) {
    const s = lookupKernel(table, { dtype: 'bf16', m, n: 2000, k: 1024 })!.seconds;
    assert.ok(s >= prev, `m = ${m}: ${s} < ${prev}`);
    prev = s;
  }
  prev = 0;
  for (let n = 1024; n <= 4096; n += 128) {
    const s = lookupKernel(table, { dtype: 'bf16', m: 100, n, k: 1024 })!.seconds;
    assert.ok(s >= prev, `n = ${n}`);
    // Between the values at the bracketing n (both measured at m = 100 by interpolation).
    assert.ok(s <= lookupKernel(table, { dtype: 'bf16', m: 100, n: 4096, k: 1024 })!.seconds * (1 + 1e-12));
    prev = s;
  }
});

test('lookupKernel() flags a shape outside the table as extrapolated and does not clamp it to the edge', () => {
  const edge = lookupKernel(table, { dtype: 'bf16', m: 256, n: 4096, k: 1024 })!;
  const past = lookupKernel(table, { dtype: 'bf16', m: 4096, n: 4096, k: 1024 })!;
  assert.equal(past.kind, 'extrapolated');
  assert.ok(past.seconds > edge.seconds, 'a larger GEMM past the last measured m costs more than the edge');
  // k = 1024 is the only measured k: another k has no slope to follow, so the table does not answer.
  assert.equal(lookupKernel(table, { dtype: 'bf16', m: 16, n: 1024, k: 2048 }), undefined);
  // An unmeasured dtype is not answered at all (the pricer falls back to the datasheet bound).
  assert.equal(lookupKernel(table, { dtype: 'fp8', m: 16, n: 1024, k: 1024 }), undefined);
  assert.throws(() => lookupKernel(table, { dtype: 'bf16', m: 0, n: 1024, k: 1024 }), InputError);
});

test('lookupKernel() with a hold continues a held axis past its range at the boundary row times the roofline ratio, and refuses a singleton underflow', () => {
  // Any roofline will do for the identity: here m·n·k, so past m = 256 the time grows by m / 256.
  const roof = (p: Readonly<Record<string, number>>): number => p.m * p.n * p.k;
  const hold = { axes: ['m'], roofline: roof };
  const edge = lookupKernel(table, { dtype: 'bf16', m: 256, n: 4096, k: 1024 })!;
  assert.equal(edge.kind, 'measured');
  const past = lookupKernel(table, { dtype: 'bf16', m: 1024, n: 4096, k: 1024 }, hold)!;
  assert.equal(past.kind, 'extrapolated');
  // timeOf(256, 4096, 1024) · roof(m = 1024) / roof(m = 256): the edge row's utilization held.
  const want = (timeOf(256, 4096, 1024) / 1e6) * (1024 / 256);
  assert.ok(Math.abs(past.seconds - want) / want < 1e-12, `${past.seconds} vs ${want}`);
  assert.deepEqual(past.rows, edge.rows);
  // Inside the range a hold changes nothing: the log-space interpolation stands.
  assert.equal(lookupKernel(table, { dtype: 'bf16', m: 64, n: 4096, k: 1024 }, hold)!.seconds, lookupKernel(table, { dtype: 'bf16', m: 64, n: 4096, k: 1024 })!.seconds);
  // Below the first m the hold anchors on m = 1: timeOf(1, …) · 0.5 / 1.
  const below = lookupKernel(table, { dtype: 'bf16', m: 0.5, n: 1024, k: 1024 }, hold)!;
  assert.equal(below.kind, 'extrapolated');
  assert.ok(Math.abs(below.seconds - (timeOf(1, 1024, 1024) / 1e6) * 0.5) < 1e-15);
  // One measured k (1024): above it the hold answers, below it a single row defines no floor.
  const held = { axes: ['k'], roofline: roof };
  const kPast = lookupKernel(table, { dtype: 'bf16', m: 16, n: 1024, k: 4096 }, held)!;
  assert.ok(Math.abs(kPast.seconds - (timeOf(16, 1024, 1024) / 1e6) * 4) < 1e-15);
  assert.equal(lookupKernel(table, { dtype: 'bf16', m: 16, n: 1024, k: 512 }, held), undefined);
});

function tableFile(text: string, gz = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdb-'));
  const p = join(dir, gz ? 'gemm.csv.gz' : 'gemm.csv');
  writeFileSync(p, gz ? gzipSync(text) : text);
  return p;
}

test('readKernelRows() names the file and line of a negative, NaN or missing value, and of a header without a column', () => {
  const bad = (text: string, line: number, column: string): void => {
    const p = tableFile(text);
    assert.throws(
      () => readKernelRows(p, meta),
      (e: unknown) => e instanceof InputError && e.field.includes(`gemm.csv:${line}`) && e.field.endsWith(column),
      `${column} at line ${line}`,
    );
  };
  bad('dtype,m,n,k,time_us\nbf16,1,1024,1024,3.1\nbf16,2,1024,1024,-4\n', 3, 'time_us');
  bad('dtype,m,n,k,time_us\nbf16,1,1024,1024,NaN\n', 2, 'time_us');
  bad('dtype,m,n,k,time_us\nbf16,1,1024,1024,3\nbf16,2,,1024,3\n', 3, 'n');
  bad('dtype,m,n,k,time_us\nbf16,1,1024,1024,3\nbf16,2,1024\n', 3, 'k');
  bad('dtype,m,n,k,time_us\n,1,1024,1024,3\n', 2, 'dtype');
  // A value no column holds (it was read as a valid row).
  const extra = tableFile('dtype,m,n,k,time_us\nbf16,1,8192,1024,99999,5\n');
  assert.throws(() => readKernelRows(extra, meta), (e: unknown) => e instanceof InputError && e.field.endsWith('gemm.csv:2') && /at most 5 fields/.test(e.message));
  const p = tableFile('dtype,m,k,time_us\nbf16,1,1024,3\n');
  assert.throws(() => readKernelRows(p, meta), (e: unknown) => e instanceof InputError && e.field.endsWith('gemm.csv:1') && /missing n/.test(e.message));
  // An optional `version` column names the framework version a row was measured under (the folder's: none kept).
  const versioned = readKernelRows(tableFile('dtype,m,n,k,time_us,version\nbf16,1,1024,1024,3,0.9\nbf16,2,1024,1024,4,' + meta.version + '\n'), meta);
  assert.deepEqual(versioned.map((r) => r.measuredVersion), ['0.9', undefined]);
  bad('dtype,m,n,k,time_us,version\nbf16,1,1024,1024,3,0.9\nbf16,2,1024,1024,4,../x\n', 3, 'version');
  bad('dtype,m,n,k,time_us,version\nbf16,1,1024,1024,3,\n', 2, 'version');
  // An optional `measured_on` column names the device folder whose GPU measured a row (the folder's own: none kept).
  const on = readKernelRows(tableFile(`dtype,m,n,k,time_us,measured_on\nbf16,1,1024,1024,3,h100_sxm\nbf16,2,1024,1024,4,${meta.device}\n`), meta);
  assert.deepEqual(on.map((r) => r.measuredOn), ['h100_sxm', undefined]);
  bad('dtype,m,n,k,time_us,measured_on\nbf16,1,1024,1024,3,../h100\n', 2, 'measured_on');
});

test('loadKernelDb() opens a user table in batchlab schema (gzip or plain), and names a checkout whose tables do not convert', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdb-root-'));
  mkdirSync(join(root, 'my_gpu', 'torch', '2.5'), { recursive: true });
  writeFileSync(join(root, 'my_gpu', 'torch', '2.5', 'gemm.csv.gz'), gzipSync('dtype,m,n,k,time_us\nbf16,1,1024,1024,5\nbf16,8,1024,1024,6\n'));
  const db = loadKernelDb(root);
  const t = db.table('my_gpu', 'torch', 'gemm')!;
  assert.equal(t.rows.length, 2);
  assert.equal(lookupKernel(t, { dtype: 'bf16', m: 8, n: 1024, k: 1024 })!.seconds, 6e-6);
  assert.equal(db.table('my_gpu', 'torch', 'moe'), undefined);
  // Two releases of one framework: the newest by release order (2.10 after 2.5, a release after its candidates), which `table` reads.
  for (const v of ['2.10.0rc1', '2.10.0', '2.9.1']) {
    mkdirSync(join(root, 'my_gpu', 'torch', v), { recursive: true });
    writeFileSync(join(root, 'my_gpu', 'torch', v, 'gemm.csv'), 'dtype,m,n,k,time_us\nbf16,1,1024,1024,4\n');
  }
  const db2 = loadKernelDb(root);
  assert.equal(newestKernelVersion(db2, 'my_gpu', 'torch'), '2.10.0');
  assert.equal(db2.table('my_gpu', 'torch', 'gemm')!.version, '2.10.0');
  assert.equal(newestKernelVersion(db2, 'my_gpu', 'vllm'), undefined);
  assert.equal(newestKernelVersion(undefined, 'my_gpu', 'torch'), undefined);
  // Per op: an op filed only under an older release is read there.
  mkdirSync(join(root, 'my_gpu', 'torch', '2.9.1'), { recursive: true });
  writeFileSync(join(root, 'my_gpu', 'torch', '2.9.1', 'nccl.csv'), 'collective,dtype,ranks,bytes,scope,time_us\nall_gather,fp16,2,512,intra,5.36\n');
  const db3 = loadKernelDb(root);
  assert.equal(newestKernelVersion(db3, 'my_gpu', 'torch', 'nccl'), '2.9.1');
  assert.equal(db3.table('my_gpu', 'torch', 'nccl')?.version, '2.9.1');
  // An aiconfigurator layout without any device table: the converter's refusal is reported.
  const checkout = mkdtempSync(join(tmpdir(), 'kdb-aic-'));
  mkdirSync(join(checkout, 'aic-core/src/aiconfigurator_core/systems/data'), { recursive: true });
  assert.throws(() => loadKernelDb(checkout), (e: unknown) => e instanceof InputError && e.field === 'kernelDb' && /no device folders/.test(e.message));
  assert.throws(() => loadKernelDb(join(root, 'nowhere')), InputError);
});

test('loadKernelDb() refuses a folder holding one op twice (gemm.csv beside gemm.csv.gz), naming both, where one was read at random', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdb-twin-'));
  const dir = join(root, 'my_gpu', 'torch', '2.10.0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'gemm.csv'), 'dtype,m,n,k,time_us\nbf16,1,1024,1024,3\n');
  writeFileSync(join(dir, 'gemm.csv.gz'), gzipSync('dtype,m,n,k,time_us\nbf16,1,1024,1024,9\n'));
  assert.throws(() => loadKernelDb(root), (e: unknown) => e instanceof InputError && e.field === 'kernelDb' && /one table per op in a folder \(gemm\.csv(\.gz)? holds gemm too\)/.test(e.message));
});

test('loadKernelDb() refuses a checkout whose table is a device or not parquet, at once, naming the file (regression: a link to /dev/zero was read without end)', () => {
  const make = (fill: (file: string) => void): string => {
    const checkout = mkdtempSync(join(tmpdir(), 'kdb-aic-bad-'));
    const dir = join(checkout, 'aic-core/src/aiconfigurator_core/systems/data/h200_sxm/gemm/trtllm/1.3.0rc20');
    mkdirSync(dir, { recursive: true });
    fill(join(dir, 'gemm_perf.parquet'));
    return checkout;
  };
  const refused = (checkout: string, why: RegExp): void => {
    const t0 = performance.now();
    assert.throws(() => loadKernelDb(checkout, { devices: ['h200_sxm'], frameworks: ['trtllm'] }), (e: unknown) => e instanceof InputError && e.field === 'kernelDb' && /gemm_perf\.parquet/.test(e.message) && why.test(e.message));
    assert.ok(performance.now() - t0 < 20_000, 'refused within seconds');
  };
  // The work folder of a conversion whose process is gone (killed midway) is cleared by the next conversion.
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const stale = join(tmpdir(), `batchlab-kernels-0123456789abcdef.tmp-${gone}`);
  mkdirSync(stale, { recursive: true });
  if (existsSync('/dev/zero')) refused(make((f) => symlinkSync('/dev/zero', f)), /not a regular file/);
  refused(make((f) => writeFileSync(f, 'not parquet at all\n')), /not a readable parquet file/);
  assert.ok(!existsSync(stale), 'stale work folder cleared');
});

test('loadKernelDb() converts an aiconfigurator git directory once and reads its tables', (t) => {
  // The snapshot this repository's tables were converted from, where this machine has it.
  const mirror = '/work/.mirror/ai-dynamo+aiconfigurator/repo';
  if (!existsSync(mirror)) {
    t.skip(`no aiconfigurator snapshot at ${mirror}`);
    return;
  }
  const db = loadKernelDb(mirror, { devices: ['h200_sxm'], frameworks: ['vllm'] });
  const gemm = db.table('h200_sxm', 'vllm', 'gemm')!;
  assert.equal(gemm.version, '0.24.0');
  // Same rows as the shipped conversion of the same commit (data/kernels/h200_sxm/vllm/0.24.0/SOURCE.json: 107225 rows).
  assert.equal(gemm.rows.length, 107225);
  // A second open reuses the cache.
  assert.equal(loadKernelDb(mirror, { devices: ['h200_sxm'], frameworks: ['vllm'] }).root, db.root);
});

test('compareKernelVersions(): releases in PEP 440 order, a local tag aside; a name of another shape before every release', () => {
  // PEP 440 (packaging.python.org, 'Version specifiers', summary of permitted suffixes and relative ordering):
  // X.devN < X.aN < X.bN < X.rcN < X < X.postN; a dev build of a post release just before it; local labels do not order releases here.
  const ordered = ['0.4.3', '0.4.3.post2', '0.5.14', '0.7.4.dev181+gf35f8e22', '0.7.4a1', '0.7.4b2', '0.7.4rc1', '0.7.4', '0.7.4.post1.dev3', '0.7.4.post1', '0.24.0', '1.2.0rc1', '1.3.0rc20', '1.3.0', '1.3.0.1', '1.3.0.10'];
  for (let i = 0; i + 1 < ordered.length; i++) {
    assert.ok(compareKernelVersions(ordered[i], ordered[i + 1]) < 0, `${ordered[i]} < ${ordered[i + 1]}`);
    assert.ok(compareKernelVersions(ordered[i + 1], ordered[i]) > 0, `${ordered[i + 1]} > ${ordered[i]}`);
  }
  assert.equal(compareKernelVersions('0.5.14+cu128', '0.5.14'), 0);
  assert.equal(compareKernelVersions('2.5', '2.5.0'), 0);
  assert.ok(compareKernelVersions('main', '0.1') < 0);
  assert.ok(compareKernelVersions('0.1', 'main') > 0);
  assert.ok(compareKernelVersions('main', 'nightly') < 0);
});

test('readKernelRows() refuses a .gz that is not gzip, and one that unpacks past 256 MiB, naming the file and the limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-gz-'));
  const notGzip = join(dir, 'gemm.csv.gz');
  writeFileSync(notGzip, 'dtype,m,n,k,time_us\nbf16,1,1024,1024,3\n');
  assert.throws(() => readKernelRows(notGzip, meta), (e: unknown) => e instanceof InputError && e.field === 'kernel table' && /gemm\.csv\.gz/.test(e.message) && /incorrect header check/.test(e.message));
  // 257 MiB of one repeated row packs into about 0.3 MB: its unpacked size, not the file's, is the limit.
  const bomb = join(dir, 'bomb', 'gemm.csv.gz');
  mkdirSync(join(dir, 'bomb'));
  writeFileSync(bomb, gzipSync(Buffer.alloc(257 * 2 ** 20, 'bf16,1,1024,1024,3\n')));
  assert.throws(
    () => readKernelRows(bomb, meta),
    (e: unknown) => e instanceof InputError && e.message.includes(bomb) && /at most 268435456 bytes unpacked/.test(e.message) && /it unpacks to more than 268435456 bytes/.test(e.message) && !/Cannot create a Buffer/.test(e.message),
  );
});

test('kernelTableFromRows() keeps the first of a shape measured twice, as aiconfigurator does, and an answer built on it says so with every time', () => {
  const again: KernelRow[] = [...rows, { ...rows[0], timeUs: 7.5, source: { file: 'gemm.csv', line: 99 } }, { ...rows[0], timeUs: 1.5, source: { file: 'gemm.csv', line: 100 } }, { ...rows[1], timeUs: rows[1].timeUs, source: { file: 'gemm.csv', line: 101 } }];
  const t = kernelTableFromRows({ ...meta, file: 'gemm.csv' }, again);
  assert.equal(t.rows.length, rows.length);
  // rows[0] is m = 1, n = 1024: measured at 2.001048576, 7.5 and 1.5 µs; the first answers.
  const a = lookupKernel(t, { dtype: 'bf16', m: 1, n: 1024, k: 1024 })!;
  assert.equal(a.seconds, timeOf(1, 1024, 1024) / 1e6);
  assert.deepEqual(t.remeasured!.get(rows[0]), [timeOf(1, 1024, 1024), 7.5, 1.5]);
  assert.equal(a.from, 'gemm.csv (the row read measured 3 times at its shape, 1.5–7.5 µs: the first kept, as aiconfigurator keeps it)');
  // Between rows, each row's own spread, not one range over different shapes: m = 1 (7.5 / 1.5 = 5×) and m = 16.
  const between = lookupKernel(t, { dtype: 'bf16', m: 4, n: 1024, k: 1024 })!;
  assert.equal(between.from, 'gemm.csv (1 of the 2 rows read measured more than once at their shape, at most 5× apart: the first of each kept, as aiconfigurator keeps it)');
  // An identical repeat (rows[1] again at its own time) is no conflict; a shape measured once says nothing.
  assert.equal(t.remeasured!.has(rows[1]), false);
  assert.equal(lookupKernel(t, { dtype: 'bf16', m: 1, n: 4096, k: 1024 })!.from, 'gemm.csv');
  assert.equal(table.remeasured, undefined);
});
