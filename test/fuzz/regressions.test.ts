// One test per defect found by hostile use (issue list), each failing before its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
import { runSweepShard, writeSweepShard } from '../../lib/sweep/run.js';

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

// Issue 26, "Hostile input": each reproducer, failing before its fix.

/** The CLI in its own process (source through tsx), killed after `ms`: a hang fails the test instead of stalling it. */
function spawnCli(args: string[], ms = 60_000): Promise<{ code: number | null; err: string; seconds: number }> {
  const root = join(import.meta.dirname, '..', '..');
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin', 'batchlab.ts'), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('close', (code) => {
      clearTimeout(timer);
      res({ code, err: err.trim(), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

test('simulate --trace, search --spec and sweep --spec on /dev/zero exit 2 naming the flag, refused as a device before a byte is read (regression: memory grew to 16.8 GB)', async (t) => {
  if (!existsSync('/dev/zero')) return t.skip('no /dev/zero');
  const out = mkdtempSync(join(tmpdir(), 'batchlab-zero-'));
  for (const [args, flag] of [[['simulate', '--trace', '/dev/zero'], '--trace'], [['search', '--spec', '/dev/zero'], '--spec'], [['sweep', '--spec', '/dev/zero', '--out', out], '--spec']] as const) {
    const r = await spawnCli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`^batchlab: ${flag} must be a .* of at most \\d+ bytes; got "/dev/zero" \\(it is a character device, not a regular file`));
  }
});

test('sweep --out /proc/x and bench attention --out /proc/x exit 2 naming --out (regression: both hung in a recursive mkdir)', async (t) => {
  if (!existsSync('/proc/self')) return t.skip('no procfs');
  const spec = join(import.meta.dirname, '..', '..', 'docs', 'search-spec.example.json');
  for (const args of [['sweep', '--spec', spec, '--out', '/proc/batchlab-x'], ['bench', 'attention', '--batches', '2', '--rounds', '1', '--out', '/proc/batchlab-x']]) {
    const r = await spawnCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^batchlab: --out must be a folder/);
  }
});

test('merge --out refuses devices, a FIFO and a folder, naming --out, and leaves them as they were (regression: the atomic rename replaced /dev/null)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-mergeout-'));
  const shard = join(dir, 'shard.json');
  await writeSweepShard(shard, runSweepShard({ kind: 'toy', spec: {}, size: 2, point: (i) => i }, { index: 0, count: 1 }));
  const fifo = join(dir, 'fifo');
  let targets = [dir];
  try {
    execFileSync('mkfifo', [fifo]);
    targets.push(fifo);
  } catch {
    t.diagnostic('mkfifo unavailable: FIFO case not run');
  }
  // Devices only through the up-front check: were it to fail, the write would replace them (as root).
  targets = [...targets, ...['/dev/null', '/dev/zero', '/dev/full'].filter((p) => existsSync(p))];
  for (const out of targets) {
    const r = await cli(['merge', shard, '--out', out]);
    assert.equal(r.code, 2, `${out}: ${r.err}`);
    assert.match(r.err, /^batchlab: --out must be a regular file or a new file in an existing folder; got .* \(it is a (folder|FIFO|character device)/);
  }
  if (targets.includes(fifo)) assert.ok(statSync(fifo).isFIFO());
  for (const dev of ['/dev/null', '/dev/zero', '/dev/full']) if (existsSync(dev)) assert.ok(statSync(dev).isCharacterDevice());
  const ok = await cli(['merge', shard, '--out', join(dir, 'merged.json')]);
  assert.equal(ok.code, 0, ok.err);
});

test('a shard without specHash is an InputError naming the field (regression: TypeError)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-nospec-'));
  const shard = join(dir, 'shard.json');
  const { specHash: _s, ...rest } = runSweepShard({ kind: 'toy', spec: {}, size: 2, point: (i) => i }, { index: 0, count: 1 });
  writeFileSync(shard, JSON.stringify(rest));
  const r = await cli(['merge', shard]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /specHash must be a SHA-256 hex string/);
});

test('bench attention --json prints one JSON document (regression: --json was ignored)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-attjson-'));
  const r = await cli(['--json', 'bench', 'attention', '--backend', 'cpu', '--heads', '2', '--kv-heads', '1', '--head-dim', '4', '--batches', '2', '--mean', '8', '--spreads', '0,0.5', '--rounds', '1', '--min-time-ms', '0', '--out', dir]);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { csv: string; json: string; comparisons: unknown[] };
  assert.ok(existsSync(doc.csv) && existsSync(doc.json));
  // One comparison per (batch, spread) case: 1 batch × 2 spreads.
  assert.equal(doc.comparisons.length, 2);
});

test('flags of another policy are still checked: --window-ms abc with continuous, --bits NaN without --local, serve --token-budget -1 (regression: ignored)', async () => {
  for (const [args, flag] of [
    [['simulate', '--policy', 'continuous', '--window-ms', 'abc'], '--window-ms'],
    [['simulate', '--policy', 'continuous', '--token-budget', '0'], '--token-budget'],
    [['deploy', '--bits', 'NaN'], '--bits'],
    [['serve', '--token-budget=-1'], '--token-budget'],
  ] as const) {
    const r = await cli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`^batchlab: ${flag} must be`));
  }
});

test('a spec that is a JSON array says so (regression: "must be an object" named a field inside)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-arrayspec-'));
  const p = join(dir, 'spec.json');
  writeFileSync(p, readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'search-spec.example.json'), 'utf8').replace(/^/, '[').concat(']'));
  for (const args of [['search', '--spec', p], ['sweep', '--spec', p, '--out', join(dir, 'out')]]) {
    const r = await cli(args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^batchlab: --spec must be a JSON spec file \(one object; see docs\/sweeps.md\); got .*\(it holds a JSON array of 1 item; one spec per file/);
  }
});

test('a file-system error names the flag whose path it concerns (regression: raw errno text)', async () => {
  const { fsErrorAsFlag } = await import('../../bin/commands/context.js');
  const e = Object.assign(new Error("EACCES: permission denied, open '/data/out/shard-0000-of-0001.json'"), { code: 'EACCES', path: '/data/out/shard-0000-of-0001.json' });
  const named = fsErrorAsFlag(e, ['sweep', '--spec', 's.json', '--out', '/data/out']);
  assert.ok(named instanceof InputError && named.field === '--out', String(named?.message));
  assert.match(named.message, /EACCES/);
  assert.equal(fsErrorAsFlag(e, ['sweep', '--out', '/elsewhere']), null);
  assert.equal(fsErrorAsFlag(new TypeError('x'), ['--out', '/data/out']), null);
});

test('bench gemm resume drops a half-written last CSV line and says so (regression: a cut number was resumed as a measurement)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'batchlab-torn-'));
  const first = await sweepGemmToFiles({ ms: [1, 2], shapes: [{ k: 4, n: 4 }], timing: FAST, dir, stem: 'torn' });
  const lines = readFileSync(first.csv, 'utf8').split('\n'); // header, M=1, M=2, ''
  const torn = lines[2].slice(0, Math.floor(lines[2].length / 2));
  writeFileSync(first.csv, `${lines[0]}\n${lines[1]}\n${torn}`);
  const again = await sweepGemmToFiles({ ms: [1, 2], shapes: [{ k: 4, n: 4 }], timing: FAST, dir, stem: 'torn' });
  assert.equal(again.droppedLine, torn);
  assert.equal(again.resumed, 1);
  assert.equal(again.measured, 1);
  const text = readFileSync(again.csv, 'utf8');
  assert.ok(text.endsWith('\n'));
  assert.equal(text.trim().split('\n').length, 3);
});

test('localDecode with devices: NaN, pipelineTickClosedForm at 1e308, a 5e-324 s step and a MoE config without MoE layers are InputErrors (regression: NaN, Infinity, inconsistent spec)', async () => {
  const { loadLocalSetup, localDecode } = await import('../../lib/deployment/local.js');
  const { pipelineTickClosedForm } = await import('../../lib/pipeline/index.js');
  const { loadModel } = await import('../../lib/models/index.js');
  const setup = loadLocalSetup('rtx-4090-desktop');
  assert.throws(() => localDecode(loadModel('llama-3.1-8b'), { ...setup, devices: NaN }, { bitsPerWeight: 4.8, context: 1024 }), isInputError('setup.devices'));
  assert.throws(() => pipelineTickClosedForm([1e308, 1e308], 2), isInputError('stageSeconds[0]'));
  assert.throws(
    () => simulateServing({ requests: 4, arrivals: { kind: 'burst' }, promptTokens: { kind: 'fixed', tokens: 1 }, outputTokens: { kind: 'fixed', tokens: 1 }, policy: { kind: 'continuous', maxBatch: 4 }, stepCost: constantStepCost(5e-324) }, 1),
    isInputError('stepCost'),
  );
  const cfg = { architectures: ['DeepseekV3ForCausalLM'], hidden_size: 64, num_hidden_layers: 2, vocab_size: 100, num_attention_heads: 4, q_lora_rank: null, kv_lora_rank: 16, qk_nope_head_dim: 8, qk_rope_head_dim: 8, v_head_dim: 8, intermediate_size: 32, moe_intermediate_size: 16, n_routed_experts: 8, num_experts_per_tok: 2, moe_layer_freq: 1 };
  assert.throws(() => loadModelConfig({ ...cfg, first_k_dense_replace: 2 }), isInputError('first_k_dense_replace/moe_layer_freq'));
  // One MoE layer left: a spec whose experts a layer uses (DeepseekV3DecoderLayer: MoE when i >= first_k_dense_replace).
  assert.equal(loadModelConfig({ ...cfg, first_k_dense_replace: 1 }).moeLayers, 1);
});

test('a trace over the row cap is refused before its rows are parsed (regression: 10^7 rows parsed first, 32 s and 609 MB)', () => {
  // Row cap + 1 rows, the last one malformed: a parser reaching it would name its bad cell instead.
  const rows = Array.from({ length: 1000 }, (_, i) => `${i},1,1`).join('\n');
  assert.throws(
    () => parseServingTrace(`timestamp,prompt_tokens,output_tokens\n${rows}\nnot,a,row\n`, 't', { maxRows: 1000 }),
    (e: unknown) => e instanceof InputError && e.field === 'trace' && /row 1001 at line 1002; refused before parsing/.test(e.message),
  );
});

test('a trace line longer than 1 MiB is refused before parsing (regression: one 300 MB line of "a" took 106 s and 1.5 GB to refuse)', () => {
  // 2 MiB on line 3, after a valid header and row: named by its line, and the parser never sees it.
  const long = 'x'.repeat(2 * 2 ** 20);
  assert.throws(
    () => parseServingTrace(`timestamp,prompt_tokens,output_tokens\n0,1,1\n${long}\n`, 't'),
    (e: unknown) => e instanceof InputError && e.field === 'trace line 3' && /at most 1048576 characters; got "t" \(2097152 characters; refused before parsing\)/.test(e.message),
  );
  // A line of exactly the limit is the parser's to judge (here: a row with one field).
  assert.throws(() => parseServingTrace(`timestamp,prompt_tokens,output_tokens\n${'x'.repeat(2 ** 20)}\n`, 't'), (e: unknown) => e instanceof InputError && e.field === 'trace line 2');
});
