import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseShard, shardRange } from '../../lib/sweep/shard.js';
import { mergeSweepShards, readSweepShard, runSweepShard, sweepShardContentHash, sweepShardFileName, writeSweepShard, sweepResultText, sweepSpecHash } from '../../lib/sweep/run.js';
import type { SweepDefinition } from '../../lib/sweep/run.js';
import { gemmMachineFingerprint, mergeGemmCsvFiles } from '../../lib/sweep/gemm.js';
import { servingSweepDefinition } from '../../lib/sweep/serving.js';
import { InputError } from '../../lib/util/errors.js';
import { kvCacheCapacity } from '../../lib/roofline/deployment.js';
import { loadModel } from '../../lib/models/spec.js';
import { loadHardware } from '../../lib/hardware/spec.js';

const root = resolve(import.meta.dirname, '../..');

test('parseShard(): "i/n", or "/n" with the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX; conflicts and gaps name the flag', () => {
  assert.deepEqual(parseShard('2/8', {}), { index: 2, count: 8 });
  assert.deepEqual(parseShard('/8', { SLURM_ARRAY_TASK_ID: '5' }), { index: 5, count: 8 });
  assert.deepEqual(parseShard('/4', { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4 });
  assert.deepEqual(parseShard('1/4', { JOB_COMPLETION_INDEX: '1' }), { index: 1, count: 4 });
  const field = (f: string) => (e: unknown): boolean => e instanceof InputError && e.field === f;
  assert.throws(() => parseShard('/4', {}), field('--shard'));
  assert.throws(() => parseShard('1/4', { SLURM_ARRAY_TASK_ID: '2' }), field('--shard i'));
  assert.throws(() => parseShard('4/4', {}), field('--shard i'));
  assert.throws(() => parseShard('/4', { SLURM_ARRAY_TASK_ID: '9' }), field('SLURM_ARRAY_TASK_ID'));
  // Both schedulers' variables set and disagreeing: refused (Slurm's was taken silently); agreeing, fine.
  assert.throws(() => parseShard('/4', { SLURM_ARRAY_TASK_ID: '1', JOB_COMPLETION_INDEX: '2' }), field('JOB_COMPLETION_INDEX'));
  assert.deepEqual(parseShard('/4', { SLURM_ARRAY_TASK_ID: '2', JOB_COMPLETION_INDEX: '2' }), { index: 2, count: 4 });
  // Text no index reads as is quoted back as the scheduler set it (it said "got NaN").
  for (const raw of ['-1', 'abc', '1.0']) {
    assert.throws(() => parseShard('/4', { JOB_COMPLETION_INDEX: raw }), (e: unknown) => e instanceof InputError && e.field === 'JOB_COMPLETION_INDEX' && e.message.endsWith(`got "${raw}"`));
  }
  assert.throws(() => parseShard('a/b', {}), field('--shard'));
});

test('shardRange(): contiguous blocks that tile [0, size) and differ in length by at most one', () => {
  for (const size of [0, 1, 7, 10, 1000]) {
    for (const count of [1, 2, 3, 7, 16]) {
      let next = 0;
      const lengths: number[] = [];
      for (let i = 0; i < count; i++) {
        const r = shardRange(size, { index: i, count });
        assert.equal(r.start, next);
        next = r.end;
        lengths.push(r.end - r.start);
      }
      assert.equal(next, size);
      assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1);
    }
  }
});

const toy: SweepDefinition<{ i: number; v: number }> = { kind: 'toy', spec: { a: 1 }, size: 11, point: (i) => ({ i, v: Math.sqrt(i) / 3 }) };

test('mergeSweepShards(): any sharding merges to the single-shard result; gaps, overlaps and foreign shards are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-sweep-'));
  const one = join(dir, 'one.json');
  await writeSweepShard(one, runSweepShard(toy, { index: 0, count: 1 }));
  const single = sweepResultText(mergeSweepShards([one]));
  const parts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const p = join(dir, sweepShardFileName({ index: i, count: 4 }));
    await writeSweepShard(p, runSweepShard(toy, { index: i, count: 4 }));
    parts.push(p);
  }
  assert.equal(sweepResultText(mergeSweepShards([...parts].reverse())), single);
  assert.throws(() => mergeSweepShards(parts.slice(1)), (e: unknown) => e instanceof InputError && /points 0\.\.2 are missing/.test(e.message));
  assert.throws(() => mergeSweepShards([...parts, parts[1]]), (e: unknown) => e instanceof InputError && /appear twice/.test(e.message));
  const other = join(dir, 'other.json');
  await writeSweepShard(other, runSweepShard({ ...toy, spec: { a: 2 } }, { index: 0, count: 4 }));
  assert.throws(() => mergeSweepShards([other, ...parts.slice(1)]), (e: unknown) => e instanceof InputError && /same sweep/.test(e.message));
  assert.equal(sweepSpecHash({ b: 1, a: [1, 2] }), sweepSpecHash({ a: [1, 2], b: 1 }));
});

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin', 'batchlab.ts'), ...args], { cwd: root, env: { ...process.env, SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '', ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => res({ code: code ?? 1, out, err }));
  });
}

test('batchlab sweep: 3 shards as separate processes (explicit, Slurm and Kubernetes indices) merge bit-identically into the single-process run', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-cli-sweep-'));
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({
    model: 'llama-3.1-70b',
    hardware: ['h100-sxm', 'h200'],
    layouts: [{ tensorParallel: 2 }, { tensorParallel: 4 }, { tensorParallel: 8 }],
    precisions: ['bf16', 'fp8'],
    batches: { pow2: 256 },
    load: { requestsPerSecond: 10, promptTokens: 1000, outputTokens: 300 },
  }));
  const runs = await Promise.all([
    cli(['sweep', '--spec', spec, '--shard', '0/1', '--out', join(dir, 'single')]),
    cli(['sweep', '--spec', spec, '--shard', '0/3', '--out', join(dir, 'sharded')]),
    cli(['sweep', '--spec', spec, '--shard', '/3', '--out', join(dir, 'sharded')], { SLURM_ARRAY_TASK_ID: '1' }),
    cli(['sweep', '--spec', spec, '--shard', '/3', '--out', join(dir, 'sharded')], { JOB_COMPLETION_INDEX: '2' }),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.err);
  assert.equal(readdirSync(join(dir, 'sharded')).length, 3);
  const m1 = await cli(['merge', join(dir, 'single'), '--out', join(dir, 'single.json')]);
  const m3 = await cli(['merge', join(dir, 'sharded'), '--out', join(dir, 'sharded.json'), '--json']);
  assert.equal(m1.code, 0, m1.err);
  assert.equal(m3.code, 0, m3.err);
  // 2 hardware × 3 layouts × 2 precisions × 9 batches.
  assert.equal(JSON.parse(m3.out).size, 108);
  assert.equal(JSON.parse(m3.out).shards, 3);
  const a = readFileSync(join(dir, 'single.json'));
  const b = readFileSync(join(dir, 'sharded.json'));
  assert.ok(a.equals(b), 'merged shards differ from the single-process run');
  // A missing shard is an error naming the gap, exit code 2.
  const bad = await cli(['merge', join(dir, 'sharded', 'shard-0000-of-0003.json'), join(dir, 'sharded', 'shard-0002-of-0003.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /missing/);
});

test('mergeGemmCsvFiles(): rows from two machines keyed by fingerprint, independent of file order, duplicates kept once', () => {
  const src = readFileSync(join(root, 'data', 'examples', 'measured', 'gemm-vm-tensorflow-2026-11-29.csv'), 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-gemm-merge-'));
  const a = join(dir, 'a.csv');
  const b = join(dir, 'b.csv');
  writeFileSync(a, src);
  writeFileSync(b, src.replace(/,vm,/g, ',node-b,'));
  const n = src.trim().split('\n').length - 1;
  const m = mergeGemmCsvFiles([a, b, a]);
  assert.equal(m.machines.length, 2);
  assert.equal(m.rows.length, 2 * n);
  assert.deepEqual(mergeGemmCsvFiles([b, a]).rows, m.rows);
  assert.notEqual(gemmMachineFingerprint(m.rows[0]), gemmMachineFingerprint({ ...m.rows[0], device: 'other' }));
});

test('servingSweepDefinition(): shards of a serving sweep merge into the rows servingSweep computes in one go', async () => {
  const { servingSweepDefinition } = await import('../../lib/sweep/serving.js');
  const spec = JSON.parse(readFileSync(join(root, 'docs', 'serving-sweep.example.json'), 'utf8'));
  spec.requests = 200;
  const def = servingSweepDefinition(spec);
  // 3 rates × (2 windows + 1 continuous) × 3 batch limits.
  assert.equal(def.size, 27);
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-serving-sweep-'));
  const paths: string[] = [];
  for (let i = 0; i < 4; i++) {
    const p = join(dir, sweepShardFileName({ index: i, count: 4 }));
    await writeSweepShard(p, runSweepShard(def, { index: i, count: 4 }));
    paths.push(p);
  }
  const merged = mergeSweepShards(paths);
  const whole = runSweepShard(def, { index: 0, count: 1 });
  assert.equal(JSON.stringify(merged.rows), JSON.stringify(whole.rows));
  assert.equal((merged.rows[5] as { index: number }).index, 5);
  // Every latency column says its unit and that it is simulated, in each shard and in the merge.
  const { SERVING_SWEEP_COLUMNS } = await import('../../lib/sweep/serving.js');
  assert.deepEqual(merged.columns, SERVING_SWEEP_COLUMNS);
  const row = merged.rows[0] as Record<string, unknown>;
  for (const k of Object.keys(row).filter((c) => /^(wait|ttft|tpot|itl|e2e)P\d+$/.test(c))) assert.match(merged.columns![k], /seconds, simulated$/, k);
  // The columns describe every row field, no more and no fewer (mfu, goodputRps, engine, … were undescribed).
  assert.deepEqual(Object.keys(merged.columns!).sort(), Object.keys(row).sort());
});

test('mergeSweepShards() refuses every single-byte change inside the rows of a shard (the content hash; regression: 309 of 450 flips merged)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-tamper-'));
  const path = join(dir, 'shard.json');
  await writeSweepShard(path, runSweepShard(toy, { index: 0, count: 1 }));
  const text = readFileSync(path, 'utf8');
  const good = sweepResultText(mergeSweepShards([path]));
  const rowsAt = text.indexOf('"rows":[') + '"rows":['.length;
  const rowsEnd = text.indexOf(']', rowsAt);
  let refused = 0;
  let flips = 0;
  for (let i = rowsAt; i < rowsEnd; i++) {
    // Each byte replaced by its neighbour code (a digit by another digit: still valid JSON).
    for (const delta of [1, -1]) {
      const b = Buffer.from(text);
      b[i] += delta;
      writeFileSync(path, b);
      flips++;
      try {
        const merged = sweepResultText(mergeSweepShards([path]));
        assert.equal(merged, good, `byte ${i} ${delta > 0 ? '+' : '-'}1 merged different rows`);
      } catch (e) {
        assert.ok(e instanceof InputError, String(e));
        refused++;
      }
    }
  }
  // A flip either is refused or leaves every value as it was: the last of 17 digits of a
  // double can change without changing the double (JSON.stringify writes the shortest
  // digits that round-trip, and a longer neighbour may round to the same value). The
  // assertion inside the loop checks those merged identically; here most flips change a value.
  assert.ok(refused >= flips - 10, `${refused} of ${flips} flips refused`);
  writeFileSync(path, text);
  assert.equal(sweepResultText(mergeSweepShards([path])), good);
});

test('mergeSweepShards() refuses rows set to null or reversed, shards without kind or specHash (an InputError, not a TypeError), a forged range, and format /1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-tamper-'));
  const path = join(dir, 'shard.json');
  const file = runSweepShard(toy, { index: 1, count: 2 });
  const refusedWith = (doc: unknown, field: RegExp, message: RegExp): void => {
    writeFileSync(path, JSON.stringify(doc));
    assert.throws(() => mergeSweepShards([path]), (e: unknown) => e instanceof InputError && field.test(e.field) && message.test(e.message), JSON.stringify(doc).slice(0, 80));
  };
  refusedWith({ ...file, rows: file.rows.map((r, i) => (i === 2 ? null : r)) }, /^shard file /, /content hashes to/);
  refusedWith({ ...file, rows: [...file.rows].reverse() }, /^shard file /, /content hashes to/);
  const { kind: _k, ...noKind } = file;
  refusedWith(noKind, /: kind$/, /a non-empty string/);
  const { specHash: _s, ...noSpec } = file;
  refusedWith(noSpec, /: specHash$/, /SHA-256/);
  const { contentHash: _c, ...noHash } = file;
  refusedWith(noHash, /: contentHash$/, /SHA-256/);
  // A range moved by hand, hash recomputed to match: the shard does not own that range.
  const moved = { ...file, start: file.start - 1 };
  refusedWith({ ...moved, contentHash: sweepShardContentHash(moved) }, /: start$/, /the range shard 1\/2 of 11 points owns: 6\.\.11/);
  const { contentHash: _h, ...v1 } = file;
  refusedWith({ ...v1, format: 'batchlab-sweep-shard/1' }, /^shard file$/, /re-run `batchlab sweep` for this shard/);
  refusedWith([file], /^shard file$/, /it holds a JSON array/);
  // The untouched shard reads back whole.
  writeFileSync(path, JSON.stringify(file));
  assert.deepEqual(readSweepShard(path).rows, file.rows);
});

test('servingSweepDefinition: every row names its step model, and a spec that gives its own KV capacity is priced whatever the memory fit says', () => {
  const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/serving-sweep.example.json'), 'utf8'));
  const def = servingSweepDefinition({ ...spec, requests: 50, ratesPerSecond: [2], maxBatches: [16], windowsMs: [5] });
  // Without a capacity of its own the KV cache is the memory fit's, as `simulate --model` sizes it (kvCacheCapacity).
  const fit = kvCacheCapacity(loadModel('llama-3.1-70b'), loadHardware('h100-sxm'), { precision: 'bf16', parallelism: { tp: 4 } }).tokens;
  // A spec without framework or efficiency is priced from the default engine's tables (data/kernels holds h100_sxm/vllm), as deploy is;
  // "framework": null, or an efficiency without a framework, gives the performance model alone.
  assert.equal(def.point(0).cost, `llama-3.1-70b bf16 on 4× h100-sxm (performance model, calibrated, vllm 0.24.0 kernel tables; KV ${fit} tok (memory fit))`);
  const modelOnly = servingSweepDefinition({ ...spec, framework: null, requests: 50, ratesPerSecond: [2], maxBatches: [16], windowsMs: [5] });
  assert.equal(modelOnly.point(0).cost, `llama-3.1-70b bf16 on 4× h100-sxm (performance model, calibrated; KV ${fit} tok (memory fit))`);
  assert.equal(servingSweepDefinition({ ...spec, efficiency: 'calibrated', requests: 50, ratesPerSecond: [2], maxBatches: [16], windowsMs: [5] }).point(0).cost, modelOnly.point(0).cost);
  assert.notEqual(def.point(0).ttftP99, modelOnly.point(0).ttftP99);
  // The spec hash is of the spec as priced: naming the default engine changes nothing, the model alone does.
  assert.equal(sweepSpecHash(servingSweepDefinition({ ...spec, framework: 'vllm', requests: 50, ratesPerSecond: [2], maxBatches: [16], windowsMs: [5] }).spec), sweepSpecHash(def.spec));
  assert.notEqual(sweepSpecHash(modelOnly.spec), sweepSpecHash(def.spec));
  assert.throws(() => servingSweepDefinition({ ...spec, framework: 'torch' }), (e: unknown) => e instanceof InputError && e.field === 'framework');
  // Llama-3.1-70B in bf16 on one H100 holds no KV cache beside 141 GB of weights; the spec's own capacity stands in.
  const one = servingSweepDefinition({ ...spec, parallelism: { tp: 1 }, kvCapacityTokens: 100000, requests: 20, ratesPerSecond: [2], maxBatches: [16], windowsMs: [5] });
  assert.ok(one.point(0).ttftP99 > 0);
  assert.match(one.point(0).cost, /KV 100000 tok \(the spec's\)\)$/);
  // 120,000-token prompts: the fit holds 5 at once (617,950 tokens), never the 16 the batch limit allows.
  const long = servingSweepDefinition({ ...spec, requests: 20, promptTokens: { kind: 'fixed', tokens: 120000 }, outputTokens: { kind: 'fixed', tokens: 128 }, policies: ['continuous'], ratesPerSecond: [1], maxBatches: [16], windowsMs: undefined });
  assert.ok(long.point(0).meanBatch <= Math.floor(fit / 120128) + 1e-9, `${long.point(0).meanBatch}`);
  // Weights that leave no KV cache (70B in bf16 on one H100) and no capacity given: the refusal names what to change.
  assert.throws(() => servingSweepDefinition({ ...spec, parallelism: { tp: 1 } }), (e: unknown) => e instanceof InputError && e.field === 'spec.parallelism' && /spec\.kvCapacityTokens/.test(e.message));
  // A request past the model's context (131,072 tokens) is refused, as simulate refuses it.
  assert.throws(() => servingSweepDefinition({ ...spec, promptTokens: { kind: 'fixed', tokens: 2_000_000 } }), (e: unknown) => e instanceof InputError && e.field === 'spec.promptTokens + spec.outputTokens' && /131,072 tokens/.test(e.message));
  assert.throws(() => servingSweepDefinition({ ...spec, policy: 'window' }), /spec\.policy must be left out/);
});

test('servingSweepDefinition takes a model\'s HF config.json and a hardware file, as a search spec does, and names the field of a bad one', () => {
  const spec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/serving-sweep.example.json'), 'utf8'));
  const small = { ...spec, requests: 20, ratesPerSecond: [2], maxBatches: [16], windowsMs: [5], parallelism: { tp: 1 } };
  const qwen = join(root, 'data/examples/models/qwen2.5-7b');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-sweep-own-'));
  const hw = { ...JSON.parse(readFileSync(join(root, 'data/hardware/h100-sxm.json'), 'utf8')), id: 'my-h100' };
  writeFileSync(join(dir, 'my-h100.json'), JSON.stringify(hw));
  const own = servingSweepDefinition({ ...small, model: join(qwen, 'config.json'), hardware: join(dir, 'my-h100.json') });
  // The kernel tables are keyed by device id: the user's file is priced by the performance model, and its rows say so.
  assert.match(own.point(0).cost, /^Qwen\/Qwen2\.5-7B-Instruct bf16 on 1× my-h100 \(performance model, calibrated; no vllm kernel tables for my-h100; KV/);
  // The same device under another id, both by the performance model, prices the same rows as the catalog's.
  const cat = servingSweepDefinition({ ...small, model: qwen, hardware: 'h100-sxm', framework: null });
  assert.equal(own.point(0).ttftP99, cat.point(0).ttftP99);
  assert.throws(() => servingSweepDefinition({ ...small, model: 'no-such-model' }), (e: unknown) => e instanceof InputError && e.field === 'model');
  assert.throws(() => servingSweepDefinition({ ...small, hardware: join(dir, 'missing.json') }), (e: unknown) => e instanceof InputError && e.field === 'hardware');
});

test('runSweepShardResumable(): stopped by its signal it keeps the points done in the partial file; the next run resumes them and equals an uninterrupted run', async () => {
  const { runSweepShardResumable, sweepPartialFileName } = await import('../../lib/sweep/run.js');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-partial-'));
  let calls = 0;
  const def: SweepDefinition<{ i: number; sq: number }> = { kind: 'squares', spec: { n: 10 }, size: 10, point: (i) => (calls++, { i, sq: i * i }) };
  const shard = { index: 1, count: 2 }; // points 5..9
  const partialPath = join(dir, sweepPartialFileName(shard));
  const stop = new AbortController();
  const first = await runSweepShardResumable(def, shard, { partialPath, signal: stop.signal, onPoint: (done) => done === 2 && stop.abort() });
  assert.equal(first.file, null);
  assert.deepEqual([first.done, first.total, first.resumed], [2, 5, 0]);
  assert.deepEqual(JSON.parse(readFileSync(partialPath, 'utf8')).rows, [{ i: 5, sq: 25 }, { i: 6, sq: 36 }]);
  calls = 0;
  const second = await runSweepShardResumable(def, shard, { partialPath });
  // Only the three points not done are computed again.
  assert.equal(calls, 3);
  assert.equal(second.resumed, 2);
  assert.deepEqual(second.file, runSweepShard(def, shard));
  // A partial file whose rows changed after the run wrote them is refused: they would enter a shard merge trusts.
  const good = readFileSync(partialPath, 'utf8');
  const junk = JSON.parse(good);
  junk.rows[0] = { bogus: 1 };
  writeFileSync(partialPath, JSON.stringify(junk));
  await assert.rejects(runSweepShardResumable(def, shard, { partialPath }), (e: unknown) => e instanceof InputError && /do not match its rowsHash/.test(e.message));
  writeFileSync(partialPath, good);
  // A partial file of another spec is refused naming --out, not silently mixed in.
  const other: SweepDefinition<{ i: number; sq: number }> = { ...def, spec: { n: 11 } };
  await assert.rejects(runSweepShardResumable(other, shard, { partialPath }), (e: unknown) => e instanceof InputError && e.field === '--out' && /delete it to start the shard afresh/.test(e.message));
  // A long shard also keeps its points while it runs, at most every SWEEP_PARTIAL_EVERY_MS.
  const { SWEEP_PARTIAL_EVERY_MS } = await import('../../lib/sweep/run.js');
  let clock = 0;
  const fresh = join(dir, 'fresh.partial.json');
  await runSweepShardResumable(def, { index: 0, count: 1 }, { partialPath: fresh, now: () => clock, onPoint: (done) => { clock = done * SWEEP_PARTIAL_EVERY_MS; } });
  assert.equal(JSON.parse(readFileSync(fresh, 'utf8')).rows.length, 9);
});

test('batchlab sweep: SIGINT (twice at once, as a wrapper forwards it) stops a shard after the point in progress, exits 130 and keeps its points in the partial file', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-sigint-'));
  const spec = JSON.parse(readFileSync(join(root, 'docs', 'serving-sweep.example.json'), 'utf8'));
  // Points of about a second each here, so that the signal lands mid-shard.
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ ...spec, requests: 20000 }));
  const args = ['--import', 'tsx', join(root, 'bin', 'batchlab.ts'), 'sweep', '--kind', 'serving', '--spec', join(dir, 'spec.json'), '--out', join(dir, 'out')];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, BATCHLAB_DEBUG: '' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  // The first point done: the partial file does not exist yet, so wait for progress by time.
  await new Promise((r) => setTimeout(r, 6000));
  // One Ctrl-C as npx or tsx delivers it: the terminal's SIGINT and the wrapper's forwarded copy, 50 ms apart.
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 130, err);
  assert.match(err, /stopping after the current point/);
  const m = /interrupted after (\d+) of 27 points; they are kept in (\S+shard-0000-of-0001\.partial\.json)/.exec(out);
  assert.ok(m, out);
  assert.equal(JSON.parse(readFileSync(m[2], 'utf8')).rows.length, Number(m[1]));
  assert.deepEqual(readdirSync(join(dir, 'out')), ['shard-0000-of-0001.partial.json']);
});

test('servingSweepDefinition(): spec fields the grid would not read are refused by name (a base rate beside ratesPerSecond, windows or budgets no listed policy reads, rates on closed arrivals)', () => {
  const example = JSON.parse(readFileSync(join(root, 'docs', 'serving-sweep.example.json'), 'utf8'));
  assert.ok(servingSweepDefinition(example).size > 0);
  const refused: Array<[Record<string, unknown>, string]> = [
    [{ ...example, arrivals: { kind: 'poisson', ratePerSecond: 5 } }, 'spec.arrivals.ratePerSecond'],
    [{ ...example, policies: ['continuous'] }, 'spec.windowsMs'],
    [{ ...example, tokenBudgets: [512] }, 'spec.tokenBudgets'],
    [{ ...example, arrivals: { kind: 'closed', clients: 4, thinkSeconds: 0 } }, 'ratesPerSecond'],
  ];
  for (const [spec, field] of refused) {
    assert.throws(() => servingSweepDefinition(spec as never), (e: unknown) => e instanceof InputError && e.field === field, field);
  }
  // Without the windows, continuous alone is a grid of batches × rates.
  const { windowsMs: _w, ...plain } = example;
  assert.equal(servingSweepDefinition({ ...plain, policies: ['continuous'] }).size, example.maxBatches.length * example.ratesPerSecond.length);
});

test('mergeSweepShards() refuses shards of one sweep that describe their columns differently (written by different versions)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-columns-'));
  const def: SweepDefinition<{ i: number }> = { kind: 'ids', spec: { n: 4 }, size: 4, point: (i) => ({ i }), columns: { i: 'the point index' } };
  const a = join(dir, sweepShardFileName({ index: 0, count: 2 }));
  const b = join(dir, sweepShardFileName({ index: 1, count: 2 }));
  await writeSweepShard(a, runSweepShard(def, { index: 0, count: 2 }));
  await writeSweepShard(b, runSweepShard({ ...def, columns: { i: 'another reading' } }, { index: 1, count: 2 }));
  assert.throws(() => mergeSweepShards([a, b]), (e: unknown) => e instanceof InputError && /describe their rows alike/.test(e.message));
  await writeSweepShard(b, runSweepShard(def, { index: 1, count: 2 }));
  assert.deepEqual(mergeSweepShards([a, b]).columns, { i: 'the point index' });
});
