// One test per defect found by hostile use (issue list), each failing before its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatchlabCli } from '../../bin/cli.js';
import { loadModelConfig } from '../../lib/models/index.js';
import { parseServingTrace, simulateServing, servingSweepPoints, constantStepCost } from '../../lib/batching/index.js';
import { moeRouteCounts } from '../../lib/moe/index.js';
import { pipelineSchedule } from '../../lib/pipeline/index.js';
import { hardwareFromJson, loadHardware } from '../../lib/hardware/index.js';
import { sweepGemmToFiles, checkStem } from '../../lib/gemm/store.js';
import { InputError, rng } from '../../lib/util/index.js';

const isInputError = (field: string | RegExp) => (e: unknown) => e instanceof InputError && (typeof field === 'string' ? e.field === field : field.test(e.field));
const FAST = { minReps: 1, minTimeMs: 0, warmup: 0 };

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBatchlabCli(args, { out: (s) => out.push(s), err: (s) => err.push(s), progress: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('bench gemm --out /proc/x exits 2 naming --out at once (regression: recursive mkdir spun forever on procfs)', async () => {
  const t0 = Date.now();
  const r = await cli(['bench', 'gemm', '--m', '1', '--k', '4', '--n', '4', '--min-time-ms', '0', '--out', '/proc/batchlab-x/y']);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--out must be/);
  assert.ok(Date.now() - t0 < 30_000);
});

test('bench gemm --stem refuses ../x, ., .., and names with a newline (regression: files written outside --out)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-stem-'));
  for (const stem of ['../x', '.', '..', 'a\nb', '.hidden', 'a/b', '']) {
    assert.throws(() => checkStem(stem), isInputError('stem'));
    const r = await cli(['bench', 'gemm', '--m', '1', '--k', '4', '--n', '4', '--out', join(dir, 'out'), '--stem', stem]);
    assert.equal(r.code, 2, `${JSON.stringify(stem)}: ${r.err}`);
    assert.match(r.err, /--stem must be/);
  }
  // A refused run leaves no folder behind (regression: failing runs created --out).
  assert.equal(existsSync(join(dir, 'out')), false);
  assert.deepEqual(readdirSync(dir), []);
});

test('bench gemm --backend tensorflow-gpu without a GPU, and file-system errors, are one line without a stack (regression)', async () => {
  const r = await cli(['bench', 'gemm', '--backend', 'tensorflow-gpu', '--m', '1', '--k', '4', '--n', '4', '--out', join(tmpdir(), 'batchlab-never')]);
  if (r.code !== 0) {
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--backend must be/);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'batchlab-file-')), 'f');
  writeFileSync(file, 'x');
  const f = await cli(['bench', 'gemm', '--m', '1', '--k', '4', '--n', '4', '--out', join(file, 'sub')]);
  assert.equal(f.code, 2);
  assert.doesNotMatch(f.err, /\n\s+at /);
});

test('CLI numbers are decimal: 0x10, 1e3x and empty strings are refused (regression: 0x10 was read as 16)', async () => {
  for (const [flag, v] of [['--k', '0x10'], ['--min-reps', '0x2'], ['--min-time-ms', '0x10'], ['--k', ' '], ['--warmup', '1e0']] as const) {
    const r = await cli(['bench', 'gemm', '--m', '1', flag, v, '--out', join(tmpdir(), 'batchlab-never')]);
    assert.equal(r.code, 2, `${flag} ${v}`);
    assert.match(r.err, new RegExp(`${flag} must be`));
  }
});

test('--version prints the package version; --json gives one parseable document', async () => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  const v = await cli(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.out.trim(), pkg.version);
  const j = await cli(['--json', 'pipeline', '--stages', '4', '--micro-batches', '4', '--layers', '8']);
  assert.equal(j.code, 0, j.err);
  const doc = JSON.parse(j.out) as { closedFormBubble: number; simulatedBubble: number };
  // (S−1)/(m+S−1) = 3/7 for S = 4, m = 4 and equal stages (GPipe, Huang et al. 2019).
  assert.ok(Math.abs(doc.closedFormBubble - 3 / 7) < 1e-12);
  assert.ok(Math.abs(doc.simulatedBubble - 3 / 7) < 1e-9);
});

test('a lagging JSON and orphaned temporaries are repaired on resume (regression: kill between the CSV and JSON renames)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-lag-'));
  const first = await sweepGemmToFiles({ ms: [1, 2], shapes: [{ k: 4, n: 4 }], timing: FAST, dir, stem: 'lag' });
  const doc = JSON.parse(readFileSync(first.json, 'utf8'));
  doc.rows = doc.rows.slice(0, 1);
  doc.complete = false;
  writeFileSync(first.json, JSON.stringify(doc)); // the state after a kill between the two renames
  writeFileSync(join(dir, 'lag.csv.123456'), 'torn');
  writeFileSync(join(dir, 'lag.json.987'), 'torn');
  const ctrl = new AbortController();
  ctrl.abort();
  await sweepGemmToFiles({ ms: [1, 2], shapes: [{ k: 4, n: 4 }], timing: FAST, dir, stem: 'lag', signal: ctrl.signal });
  assert.equal(JSON.parse(readFileSync(first.json, 'utf8')).rows.length, 2);
  assert.deepEqual(readdirSync(dir).sort(), ['lag.csv', 'lag.json']);
});

test('trace token counts above the bound are an InputError naming the line and column (regression: 2^31 wrapped to a negative prompt)', () => {
  assert.throws(() => parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,2147483648,1\n'), isInputError('trace line 2: prompt_tokens'));
  assert.throws(() => parseServingTrace('timestamp,prompt_tokens,output_tokens\n0,1,4294967297\n'), isInputError('trace line 2: output_tokens'));
});

test('the trace row cap is checked as rows arrive: row cap + 1 is refused, naming the row (regression: 10,000,001 rows ran out of memory)', () => {
  const rows = Array.from({ length: 1500 }, (_, i) => `${i},1,1`).join('\n');
  assert.throws(
    () => parseServingTrace(`timestamp,prompt_tokens,output_tokens\n${rows}\n`, 't', { maxRows: 1000 }),
    (e: unknown) => e instanceof InputError && e.field === 'trace' && /row 1001 at line 1002/.test(e.message),
  );
  assert.equal(parseServingTrace(`timestamp,prompt_tokens,output_tokens\n${rows}\n`, 't', { maxRows: 1500 }).timestamps.length, 1500);
});

test('loadModelConfig refuses "constructor", "__proto__" and "toString" architectures and model types (regression: returned undefined)', () => {
  for (const a of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    assert.throws(() => loadModelConfig({ architectures: [a], hidden_size: 64, num_hidden_layers: 2, vocab_size: 10, num_attention_heads: 4, intermediate_size: 8 }), isInputError('architectures'));
    assert.throws(() => loadModelConfig({ model_type: a, hidden_size: 64 }), isInputError('model_type'));
  }
  // A JSON "__proto__" key is data, not a prototype: it may not supply hidden_size.
  assert.throws(() => loadModelConfig(JSON.parse('{"architectures":["LlamaForCausalLM"],"__proto__":{"hidden_size":64}}')), isInputError('hidden_size'));
});

test('servingSweepPoints refuses a 16.7 M-point grid before building it (regression: built every config, then checked)', () => {
  const list = Array.from({ length: 4096 }, (_, i) => i + 1);
  const base = { arrivals: { kind: 'poisson' as const, ratePerSecond: 1 }, requests: 10, promptTokens: { kind: 'fixed' as const, tokens: 1 }, outputTokens: { kind: 'fixed' as const, tokens: 1 }, stepCost: constantStepCost(0.01) };
  const t0 = performance.now();
  assert.throws(() => servingSweepPoints({ base, policies: ['window'], maxBatches: list, windowsMs: list, ratesPerSecond: [1] } as never), isInputError('grid'));
  assert.ok(performance.now() - t0 < 2000);
});

test('simulateServing refuses 2,000 requests × 10^7 output tokens before running (regression: ran for hours)', () => {
  const cfg = { requests: 2000, arrivals: { kind: 'poisson', ratePerSecond: 1 }, promptTokens: { kind: 'fixed', tokens: 1 }, outputTokens: { kind: 'fixed', tokens: 10_000_000 }, policy: { kind: 'continuous', maxBatch: 1 }, stepCost: constantStepCost(0.01) };
  assert.throws(() => simulateServing(cfg as never, 1), isInputError('requests'));
});

test('windowMs 1e-322 and a step cost of 1e308 are InputErrors (regression: NaN tick times, Infinity makespans)', () => {
  const base = { requests: 5, arrivals: { kind: 'poisson', ratePerSecond: 1 }, promptTokens: { kind: 'fixed', tokens: 1 }, outputTokens: { kind: 'fixed', tokens: 2 } };
  assert.throws(() => simulateServing({ ...base, policy: { kind: 'window', windowMs: 1e-322, maxBatch: 4 }, stepCost: constantStepCost(0.01) } as never, 1), isInputError('policy.windowMs'));
  assert.throws(() => simulateServing({ ...base, policy: { kind: 'continuous', maxBatch: 4 }, stepCost: () => 1e308 } as never, 1), isInputError('stepCost'));
});

test('a hardware peak of 1e-300 is an InputError (regression: Infinity seconds)', () => {
  const j = JSON.parse(JSON.stringify(loadHardware('h200'))) as Record<string, unknown>;
  void j;
  const raw = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'data', 'hardware', 'h200.json'), 'utf8')) as { peakFlops: Record<string, { value: number }> };
  const dtype = Object.keys(raw.peakFlops)[0];
  raw.peakFlops[dtype].value = 1e-300;
  assert.throws(() => hardwareFromJson(raw), isInputError(`peakFlops.${dtype}.value`));
});

test('65,536 experts with top-60,000 route in well under a second per token (regression: the sampler hung)', () => {
  const t0 = performance.now();
  for (const spec of [
    { kind: 'uniform', experts: 65_536, topK: 60_000 },
    { kind: 'group-limited', experts: 65_536, topK: 60_000, groups: 8, groupsPerToken: 8 },
    { kind: 'weighted', experts: 65_536, topK: 60_000, popularity: Array.from({ length: 65_536 }, (_, i) => 1 / (i + 1)) },
  ] as const) {
    const counts = moeRouteCounts(spec as never, 2, rng(1));
    assert.equal(counts.reduce((s, c) => s + c, 0), 120_000);
    assert.ok(counts.every((c) => c <= 2), 'each expert at most once per token');
  }
  assert.ok(performance.now() - t0 < 10_000);
});

test('a denormal layer cost is an InputError (found by the fuzz suite: the bubble fraction was NaN)', () => {
  assert.throws(() => pipelineSchedule({ layers: 7, stages: 4, layerSeconds: 1e-320 }, { kind: 'fill-drain', microBatches: 11, ticks: 2 }), isInputError('layerSeconds'));
});

test('moeEfficiencyChart draws coinciding dense curves once, named after every model (regression: legend entries hidden under each other)', async () => {
  const { moeEfficiencyChart } = await import('../../lib/plot/moe.js');
  const rows = [1, 10, 100].map((tokens) => ({ tokens, moeEfficiency: tokens / 200, denseEfficiency: tokens / 100, expertShareAtTarget: 0 }));
  const other = rows.map((r) => ({ ...r, denseEfficiency: r.denseEfficiency / 2 }));
  const fig = moeEfficiencyChart([{ label: 'A', rows: rows as never }, { label: 'B', rows: rows as never }, { label: 'C', rows: other as never }]);
  const names = fig.data.map((d) => d.name as string);
  assert.deepEqual(names.filter((n) => n.includes('dense')), ['A = B dense, equal active (identical curves)', 'C dense, equal active']);
  assert.equal(names.filter((n) => n.includes('routed')).length, 3);
});

test('GEMM results are named and keyed by machine id, not host name; another fingerprint is never resumed (regression: every VM is "vm")', async () => {
  const { machineId, thisMachineFacts } = await import('../../lib/util/machine.js');
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-machine-'));
  const r = await sweepGemmToFiles({ ms: [1], shapes: [{ k: 4, n: 4 }], timing: FAST, dir });
  const id = machineId(thisMachineFacts());
  assert.ok(r.csv.includes(`gemm-${id}-`), r.csv);
  const doc = JSON.parse(readFileSync(r.json, 'utf8'));
  assert.equal(doc.provenance.machine, id);
  assert.ok(doc.provenance.fingerprint.startsWith(`${id}-`));
  assert.ok(doc.provenance.versions['tensorflow-wheel'] === undefined || /^tensorflow(-cpu)? /.test(doc.provenance.versions['tensorflow-wheel']));
  // The same host name with another machine's fingerprint: refused, not resumed.
  doc.provenance.fingerprint = 'another-machine-00000000';
  writeFileSync(r.json, JSON.stringify(doc));
  const stem = r.csv.slice(dir.length + 1, -'.csv'.length);
  await assert.rejects(sweepGemmToFiles({ ms: [1, 2], shapes: [{ k: 4, n: 4 }], timing: FAST, dir, stem }), isInputError('stem'));
});
