import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measuredStepLabel, measuredStepsCheck, measuredStepsSummary, readMeasuredSteps } from '../../lib/roofline/measured-steps.js';
import { loadKernelDb } from '../../lib/kernels/index.js';
import { InputError } from '../../lib/util/errors.js';
import { stepTime } from '../../lib/roofline/deployment.js';
import { loadModel } from '../../lib/models/spec.js';
import { loadHardware } from '../../lib/hardware/spec.js';

// Measured on one NVIDIA H200 by bench/gpu/kernel_tables.py (PyTorch 2.11.0, CUDA 13.0,
// data/examples/measured/kernels/h200_sxm/torch/2.11.0/SOURCE.json): kernel tables and whole
// Llama-3.1-8B steps from the same run.
const DB = 'data/examples/measured/kernels';
const STEPS = 'data/examples/measured/steps-h200_sxm-torch-2.11.0.csv';

test('the H200 kernel tables load in the database schema, with their provenance', () => {
  const db = loadKernelDb(DB);
  for (const op of ['gemm', 'compute_scale', 'scale_matrix', 'context_attention', 'generation_attention'] as const) {
    const t = db.table('h200_sxm', 'torch', op);
    assert.ok(t && t.rows.length > 0, op);
    assert.equal(t.version, '2.11.0');
  }
  const src = JSON.parse(readFileSync(join(DB, 'h200_sxm/torch/2.11.0/SOURCE.json'), 'utf8'));
  assert.equal(src.device, 'NVIDIA H200');
  assert.match(src.torch, /^2\.11\.0/);
  assert.deepEqual(src.skipped, []);
  // Every row is a median between its own p10 and p90 over at least 10 replays.
  for (const op of ['gemm', 'context_attention', 'generation_attention']) {
    const [head, ...lines] = readFileSync(join(DB, `h200_sxm/torch/2.11.0/${op}.csv`), 'utf8').trim().split('\n');
    const col = (c: string): number => head.split(',').indexOf(c);
    for (const l of lines) {
      const v = l.split(',');
      assert.ok(+v[col('p10_us')] <= +v[col('time_us')] && +v[col('time_us')] <= +v[col('p90_us')] && +v[col('replays')] >= 10, `${op}: ${l}`);
    }
  }
});

test('a CUDA-graph step of GEMMs and attention alone is the sum of its kernel-table rows within 20 %', () => {
  // Measured: 17 'core' steps (decode at 1–256 sequences over 1,024 and 4,096 cached tokens,
  // prefill of 128–8,192 tokens) were within −10.6 … +16.5 % of their rows' sum.
  const rows = measuredStepsCheck().filter((r) => r.step.variant === 'core');
  assert.equal(rows.length, 17);
  for (const r of rows) assert.ok(Math.abs(r.error) <= 0.2, `${r.step.phase} batch ${r.step.batch} tokens ${r.step.tokens}: ${(r.error * 100).toFixed(1)} %`);
});

test('a whole decode step is its table kernels plus its profiled other kernels at the graph-kernel cost, within 20 %', () => {
  // The other kernels (about 40 per layer in eager PyTorch: norms, rotary, KV writes,
  // residual adds, activation) are counted by the profiler and priced at the calibration's
  // 2 µs graph-kernel cost each (a DeepSeek H800 trace's median gap); measured, they averaged
  // 1.5–3.5 µs of device time each. Nine bf16 decode steps were within −15.1 … −1.0 %, nine
  // FP8 ones (their 896 activation-quantize kernels held by the FP8 GEMM rows, not counted
  // again) within −10.0 … +1.1 %.
  const rows = measuredStepsCheck().filter((r) => r.step.variant === 'full' && r.step.phase === 'decode');
  assert.equal(rows.length, 18);
  for (const r of rows) {
    assert.ok(r.step.otherKernels! > 1000, 'eager PyTorch launches over 1,000 other kernels per step');
    assert.ok(Math.abs(r.error) <= 0.2, `${r.step.dtype} batch ${r.step.batch} context ${r.step.context}: ${(r.error * 100).toFixed(1)} %`);
  }
});

test('readMeasuredSteps() names the file, line and column of a bad row', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steps-'));
  const f = join(dir, 'steps.csv');
  const lines = readFileSync(STEPS, 'utf8').split('\n');
  writeFileSync(f, [lines[0], lines[1].replace(',decode,', ',verify,')].join('\n'));
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === `${f}:2 phase`);
  writeFileSync(f, [lines[0], lines[1].replace(/,bf16,bf16,1,1,1024,/, ',bf16,bf16,0,1,1024,')].join('\n'));
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === `${f}:2 batch`);
  assert.throws(() => readMeasuredSteps(join(dir, 'none.csv')), (e: unknown) => e instanceof InputError && e.field === 'steps file');
  // A decode step of 1 sequence makes 1 token, not 7; a median outside its own p10–p90 is no median.
  writeFileSync(f, [lines[0], lines[1].replace(/,bf16,bf16,1,1,1024,/, ',bf16,bf16,1,7,1024,')].join('\n'));
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === `${f}:2 tokens`);
  const cols = lines[0].split(',');
  const row = lines[1].split(',');
  row[cols.indexOf('p10_us')] = String(Number(row[cols.indexOf('time_us')]) * 1.1);
  writeFileSync(f, [lines[0], row.join(',')].join('\n'));
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === `${f}:2 time_us`);
  // No rows, an underflowing time, a hexadecimal count: each named. A byte-order mark is no column.
  writeFileSync(f, lines[0] + '\n');
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === 'steps file');
  const at = (c: string, v: string): string => { const x = lines[1].split(','); x[cols.indexOf(c)] = v; return [lines[0], x.join(',')].join('\n'); };
  writeFileSync(f, at('time_us', '1e-320'));
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === `${f}:2 time_us`);
  writeFileSync(f, at('other_kernels', '0x10'));
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === `${f}:2 other_kernels`);
  writeFileSync(f, at('batch', '1e9'));
  assert.throws(() => readMeasuredSteps(f), (e: unknown) => e instanceof InputError && e.field === `${f}:2 batch`);
  writeFileSync(f, '\ufeff' + [lines[0], lines[1]].join('\n'));
  assert.equal(readMeasuredSteps(f)[0].model, 'llama-3.1-8b');
  // An unknown model is named with its file and line; hardware without the framework's tables is refused.
  writeFileSync(f, [lines[0], lines[1].replace('llama-3.1-8b,', 'llama-9-1t,')].join('\n'));
  assert.throws(() => measuredStepsCheck({ steps: f }), (e: unknown) => e instanceof InputError && e.field === `${f}:2 model`);
  assert.throws(() => measuredStepsCheck({ hardware: 'h100-sxm' }), (e: unknown) => e instanceof InputError && e.field === 'framework');
});

test('a table call pays no launch under CUDA graphs and only the eager launch beyond a graph\'s under eager launches', () => {
  // Llama-3.1-8B decode of one sequence priced from the H200 torch tables, with no other
  // kernels: the embedding gather is the one call no table prices.
  const db = loadKernelDb(DB);
  const model = loadModel('llama-3.1-8b');
  const hw = loadHardware('h200');
  const cal = hw.calibration!;
  const at = (launch: 'graph' | 'eager') => stepTime(model, hw, { framework: 'torch', kernelDb: db, precision: 'bf16', auxiliaryKernels: 0, launch }, { prefillTokens: 0, decodeTokens: 1, contextTokens: 1024 });
  const graph = at('graph');
  const eager = at('eager');
  const tableCalls = graph.kernels!.filter((k) => k.kind !== 'calibrated' && k.kind !== 'bound').reduce((a, k) => a + k.calls, 0);
  assert.equal(tableCalls, 4 * 32 + 1 + 32, 'four GEMMs per layer, the LM head and one attention call per layer');
  assert.ok(Math.abs(graph.breakdown.launchSeconds - cal.graphKernelSeconds) <= 1e-15);
  const eagerExtra = cal.kernelLaunchSeconds - cal.graphKernelSeconds;
  assert.ok(eagerExtra > 0);
  assert.ok(Math.abs(eager.breakdown.launchSeconds - (cal.kernelLaunchSeconds + tableCalls * eagerExtra)) <= 1e-12);
});

test('measuredStepsSummary() groups the check by what sets its error, and measuredStepLabel() names a step', () => {
  const rows = measuredStepsCheck();
  const groups = measuredStepsSummary(rows);
  assert.deepEqual(groups.map((g) => [g.label, g.steps]), [['GEMMs and attention alone (decode and prefill)', 17], ['whole bf16 decode steps', 9], ['whole bf16 prefill steps', 8], ['whole FP8 decode steps', 9]]);
  for (const g of groups) assert.ok(g.minError <= g.maxError);
  assert.equal(groups.reduce((a, g) => a + g.steps, 0), rows.length);
  assert.equal(measuredStepLabel(rows[0].step), 'decode, 1 sequence at 1,024 tokens (whole step, bf16)');
  assert.equal(measuredStepLabel(rows.find((r) => r.step.phase === 'prefill' && r.step.variant === 'core' && r.step.batch === 4)!.step), 'prefill, 4 prompts of 2,048 tokens (GEMMs and attention alone)');
});
