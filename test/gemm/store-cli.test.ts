import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { activeBackend } from '../../lib/backend/index.js';
import { loadLatestFittedRoofline } from '../../lib/cost/index.js';
import { gemmCsv, parseGemmCsv, readGemmCsv, sweepGemmToFiles, gemmFileStem, gemmRows, readMeasuredGemm, GEMM_COLUMNS } from '../../lib/gemm/index.js';
import type { GemmRow } from '../../lib/gemm/index.js';
import { InputError } from '../../lib/util/errors.js';
import { runBatchlabCli, parseBatchList } from '../../bin/cli.js';

const FAST = { minReps: 2, minTimeMs: 1, warmup: 1 };

test('gemmFileStem names files by host, backend and date', () => {
  assert.equal(gemmFileStem({ host: 'box.local', backend: 'tensorflow', date: '2026-01-02' }), 'gemm-box.local-tensorflow-2026-01-02');
  assert.equal(gemmFileStem({ host: 'a b/c', backend: 'wasm', date: '2026-01-02', tag: 'x' }), 'gemm-a-b-c-wasm-2026-01-02-x');
});

test('gemmCsv and parseGemmCsv round-trip rows, quoting commas; a bad cell names its line and column', () => {
  const row = {
    case: 'grouped-experts', variant: 'separate', m: 9, k: 16, n: 8, batch: 3, calls: 3, dtype: 'fp32', backend: 'tensorflow', device: 'cpu: X (2 cores)',
    host: 'h', versions: 'a=1;b=2', timestamp: '2026-01-02T00:00:00.000Z', sync: 'return', warmup: 1, reps: 5, median_s: 1e-4, p10_s: 9e-5, p90_s: 2e-4,
    mean_s: 1.2e-4, cv: 0.1, flops: 2304, bytes: 1000, weight_bytes: 1536, gflops: 0.023, weight_gbps: 0.015, detail: 'E=3;counts=3,5,1',
  } as GemmRow;
  const text = gemmCsv([row]);
  assert.equal(text.split('\n')[0], GEMM_COLUMNS.join(','));
  assert.deepEqual(parseGemmCsv(text), [row]);
  const broken = text.replace(',0.0001,', ',fast,');
  assert.throws(() => parseGemmCsv(broken, 'f.csv'), (e: unknown) => e instanceof InputError && e.field === 'f.csv line 2 column median_s');
  assert.throws(() => parseGemmCsv('m,k\n1,2\n'), (e: unknown) => e instanceof InputError && /column case/.test(e.field));
  // A time below zero is no measurement; damaged CSV names the file and line, not only csv-parse's words.
  assert.throws(() => parseGemmCsv(text.replace(',0.0001,', ',-1,'), 'f.csv'), (e: unknown) => e instanceof InputError && e.field === 'f.csv line 2 column median_s' && /≥ 0/.test(e.message));
  assert.throws(() => parseGemmCsv(`${GEMM_COLUMNS.join(',')}\n"unclosed,1\n`, 'g.csv'), (e: unknown) => e instanceof InputError && /^g\.csv line \d+$/.test(e.field) && /well-formed CSV/.test(e.message) && /Quote Not Closed/.test(e.message));
});

test('sweepGemmToFiles is resumable: an interrupted sweep keeps its points and a re-run measures only the rest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-gemm-'));
  const opts = { ms: [1, 2, 3, 4], shapes: [{ k: 8, n: 8 }], timing: FAST, dir, stem: 'resume' };
  const ctrl = new AbortController();
  let seen = 0;
  const first = await sweepGemmToFiles({
    ...opts,
    signal: ctrl.signal,
    onPoint: () => {
      if (++seen === 2) ctrl.abort();
    },
  });
  assert.equal(first.complete, false);
  assert.equal(first.measured, 2);
  const kept = readGemmCsv(first.csv);
  assert.deepEqual(kept.map((r) => r.m), [1, 2]);
  const partial = JSON.parse(readFileSync(first.json, 'utf8'));
  assert.equal(partial.complete, false);
  assert.equal(partial.provenance.source, 'measured');
  assert.equal(partial.rows.length, 2);

  const measuredMs: number[] = [];
  const second = await sweepGemmToFiles({ ...opts, onPoint: (r) => void measuredMs.push(r.m), onComplete: () => ({ note: 'done' }) });
  assert.deepEqual(measuredMs, [3, 4]);
  assert.equal(second.resumed, 2);
  assert.equal(second.complete, true);
  assert.deepEqual(gemmRows(second.table).map((r) => r.m), [1, 2, 3, 4]);
  const final = JSON.parse(readFileSync(second.json, 'utf8'));
  assert.equal(final.complete, true);
  assert.equal(final.note, 'done');
  // The first two points are the very rows measured before the interruption.
  assert.deepEqual(readGemmCsv(second.csv).slice(0, 2), kept);
  // The atomic writes leave only the two result files (no temporaries).
  assert.deepEqual(readdirSync(dir).sort(), ['resume.csv', 'resume.json']);
});

test("sweepGemmToFiles refuses to resume another host's or backend's file", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-gemm-'));
  const { name } = await activeBackend();
  const first = await sweepGemmToFiles({ ms: [1], shapes: [{ k: 4, n: 4 }], timing: FAST, dir, stem: 'x' });
  writeFileSync(first.csv, readFileSync(first.csv, 'utf8').replace(`,${name},`, ',elsewhere,'));
  await assert.rejects(sweepGemmToFiles({ ms: [1, 2], shapes: [{ k: 4, n: 4 }], timing: FAST, dir, stem: 'x' }), (e: unknown) => e instanceof InputError && e.field === 'stem');
});

test('parseBatchList reads lists and pow2 ranges and names the bad entry', () => {
  assert.deepEqual(parseBatchList('--m', '1,8,64'), [1, 8, 64]);
  assert.deepEqual(parseBatchList('--m', 'pow2:8'), [1, 2, 3, 4, 6, 8]);
  assert.deepEqual(parseBatchList('--m', 'pow2only:8'), [1, 2, 4, 8]);
  assert.throws(() => parseBatchList('--m', '1,x'), (e: unknown) => e instanceof InputError && e.field === '--m[1]');
  assert.throws(() => parseBatchList('--m', '1,'), (e: unknown) => e instanceof InputError && e.field === '--m[1]');
});

test('batchlab bench gemm: bad arguments exit 2 with the argument named; a run writes CSV and JSON with a fit', async () => {
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-cli-'));
  for (const [args, name] of [
    [['--m', '0'], '--m[0]'],
    [['--m', '2.5'], '--m[0]'],
    [['--k', 'NaN'], '--k'],
    [['--n', '-4'], '--n'],
    [['--min-reps', '0'], '--min-reps'],
    [['--dtype', 'fp64'], '--dtype'],
    // bf16 is a batchlab dtype but no tfjs backend multiplies it: refused before the library's internal dtypes[0].
    [['--dtype', 'bf16'], '--dtype'],
  ] as const) {
    const r = await run(['bench', 'gemm', ...args, '--out', dir]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.ok(r.err.startsWith(`batchlab: ${name} must be`), r.err);
  }
  const refused = await run(['bench', 'gemm', '--m', '4096', '--k', '4096', '--n', '4096', '--memory-budget-gib', '0.01', '--out', dir]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /^batchlab: --memory-budget-gib must be at least the 0\.19 GiB .*; got 0\.01 /);
  // No budget past this machine's memory: a shape it let through failed in the allocator ("Invalid typed array length").
  const huge = await run(['bench', 'gemm', '--m', '1', '--shapes', '100000x100000', '--memory-budget-gib', '1000000', '--out', dir]);
  assert.equal(huge.code, 2);
  assert.equal(huge.err, `batchlab: --memory-budget-gib must be at most this machine's RAM, ${Math.floor((totalmem() / 2 ** 30) * 100) / 100} GiB (the tensors are allocated in it); got 1000000`);

  const ok = await run(['bench', 'gemm', '--m', '1,2,4,8', '--k', '8', '--n', '8', '--min-reps', '2', '--min-time-ms', '1', '--out', dir, '--stem', 'cli']);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /0 points resumed, 4 measured/);
  assert.match(ok.out, /fitted roofline: overhead/);
  const doc = JSON.parse(readFileSync(join(dir, 'cli.json'), 'utf8'));
  assert.equal(doc.complete, true);
  assert.ok(doc.fit.peakFlopsPerSecond > 0);
  assert.equal(readGemmCsv(join(dir, 'cli.csv')).length, 4);
  // The completed sweep's fit is what loadLatestFittedRoofline finds for this host and backend.
  assert.deepEqual(loadLatestFittedRoofline({ dir })?.fit, doc.fit);
  // Another run into the same file: its own points count as resumed, the file's other rows as kept, and the fit says it used them.
  const more = await run(['bench', 'gemm', '--m', '1,16', '--k', '8', '--n', '8', '--min-reps', '2', '--min-time-ms', '1', '--out', dir, '--stem', 'cli']);
  assert.equal(more.code, 0, more.err);
  assert.match(more.out, /1 point resumed, 1 measured; 3 rows of earlier runs in the file kept \(other points\)/);
  assert.match(more.out, /the fit below is over every row of the file: this run's points and the 3 rows kept/);
  assert.equal(JSON.parse((await run(['--json', 'bench', 'gemm', '--m', '1,16', '--k', '8', '--n', '8', '--out', dir, '--stem', 'cli'])).out).kept, 3);
  // A repeated M or shape would be measured twice as one point: refused by name.
  const twice = await run(['bench', 'gemm', '--m', '1,2,1', '--out', dir]);
  assert.equal(twice.err, 'batchlab: --m[2] must be a value the list does not already hold (each is one point); got 1');
  const shapes = await run(['bench', 'gemm', '--m', '1', '--shapes', '64x64,32x64,64x64', '--out', dir]);
  assert.equal(shapes.err, 'batchlab: --shapes[2] must be a shape the list does not already hold (each is one line of points); got "64x64"');
});

test('bench/gpu/torch_gemm_sweep.py writes the harness column format, and its rows parse', () => {
  const py = readFileSync(join(import.meta.dirname, '..', '..', 'bench', 'gpu', 'torch_gemm_sweep.py'), 'utf8');
  const list = /COLUMNS = \[([\s\S]*?)\]/.exec(py)?.[1] ?? '';
  const cols = [...list.matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1]);
  assert.deepEqual(cols, [...GEMM_COLUMNS]);
  // A row as the script writes it (H200 bf16 shape), parsed by the notebook's reader.
  const line = 'sweep,plain,8,4096,4096,1,1,bf16,torch-cuda,gpu: NVIDIA H200,g,torch=2.5,2026-01-01T00:00:00Z,cuda-events,5,20,1e-5,9e-6,1.1e-5,1e-5,0.02,268435456,33685504,33554432,26843.5,3355.4,';
  const [row] = parseGemmCsv(`${cols.join(',')}\n${line}\n`);
  assert.equal(row.dtype, 'bf16');
  assert.equal(row.median_s, 1e-5);
});

test('readMeasuredGemm collects every gemm-*.csv of a folder, filters rows and skips a broken file by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-measured-'));
  const header = GEMM_COLUMNS.join(',');
  const line = (backend: string, m: number) => `sweep,plain,${m},8,8,1,1,fp32,${backend},d,h,v,t,return,1,3,1e-5,1e-5,1e-5,1e-5,0,1,1,1,1,1,`;
  writeFileSync(join(dir, 'gemm-a.csv'), `${header}\n${line('tensorflow', 1)}\n${line('torch-cuda', 2)}\n`);
  writeFileSync(join(dir, 'gemm-b.csv'), `${header}\n${line('torch-cuda', 4)}\n`);
  writeFileSync(join(dir, 'gemm-c.csv'), 'not,a,gemm,file\n1,2,3,4\n');
  writeFileSync(join(dir, 'other.csv'), `${header}\n${line('torch-cuda', 8)}\n`);
  const r = readMeasuredGemm({ dir, where: (x) => x.backend === 'torch-cuda' });
  assert.deepEqual(r.rows.map((x) => x.m), [2, 4]);
  assert.equal(r.files.length, 2);
  assert.equal(r.skipped.length, 1);
  assert.match(r.skipped[0], /gemm-c\.csv/);
});
